//! In a real headless browser (Chromium through chromedriver): single sign-on across two internal apps
//! and logout from both; and a self-contained check of the WebDriver client and the relying-party app
//! against a stub IdP, which needs nothing of the real IdP's browser endpoints; and the IdP's own
//! pages in German and, with `AUTH_TEST_SCREENSHOTS=docs/screenshots`, their screenshots (light and
//! dark) for the README.
//!
//! Skipped when `chromedriver` is not installed, unless `AUTH_TEST_REQUIRE_BROWSER` is set
//! (`scripts/test.sh` installs Chromium and sets it). SQLite only: the browser flow is the subject
//! here; storage of sessions and codes is covered on both backends by the HTTP-level tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::Alg;
use auth_server::domain::clients::NewClient;
use auth_server::domain::random;
use auth_server::domain::users::NewUser;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use tests::rp::{BoundRp, LOGOUT_STATE, Rp};
use tests::webdriver::{Driver, Screenshots, WebDriverError};
use tests::{Backend, TestServer, decode_segment};

/// How long a page may take to appear (a shared 2-core machine, a debug build, a cold browser).
const PAGE: Duration = Duration::from_secs(20);
/// The IdP's SSO session cookie.
const SESSION_COOKIE: &str = "auth_session";
const PASSWORD: &str = "correct horse battery staple";

/// Registers `rp` as a confidential first-party client `id` (redirect URI `{base}/callback`,
/// post-logout redirect URI `{base}/logged-out`, scopes `openid profile`) and starts it.
async fn register(idp: &TestServer, id: &str, rp: BoundRp) -> Rp {
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (client, secret) = idp
        .app
        .clients
        .create(NewClient {
            id: Some(id.to_owned()),
            name: rp.name.clone(),
            alg: Alg::Es256,
            allowed_scopes: own(&["openid", "profile"]),
            default_scopes: own(&["openid"]),
            redirect_uris: vec![format!("{}/callback", rp.base_url)],
            post_logout_redirect_uris: vec![format!("{}/logged-out", rp.base_url)],
            public: false,
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    let secret = secret.expect("a confidential client has a secret");
    rp.serve(&idp.base, &client.id, &secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sso_across_two_apps_and_logout() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let idp = TestServer::start(Backend::Sqlite).await;
    idp.app
        .users
        .create(NewUser {
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            display_name: Some("Alice Liddell".into()),
            password: Some(PASSWORD.into()),
        })
        .await
        .unwrap();
    let wiki = register(&idp, "wiki", Rp::bind("Wiki").await).await;
    let dash = register(&idp, "dashboard", Rp::bind("Dashboard").await).await;
    // Every page a step might end on, so a wrong turn fails at once with that page.
    let pages = [
        "#login-form",
        "#welcome",
        "#app-logged-out",
        "#consent-form",
        "#logout-form",
        "#logged-out",
        "#error-title",
        "#rp-error",
    ];

    // 1. The wiki sends the browser to the IdP, which asks for a password.
    browser.goto(&format!("{}/", wiki.base_url)).await.unwrap();
    browser.expect_page("#login-form", &pages, PAGE).await;
    let at = browser.current_url().await.unwrap();
    assert!(
        at.starts_with(&idp.base),
        "the login page is the IdP's: {at}"
    );
    browser.type_into("#username", "alice").await.unwrap();
    browser.type_into("#password", PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    let at = expect_welcome(&browser, &pages, "Signed in to Wiki as alice").await;
    assert!(
        at.starts_with(&format!("{}/callback?", wiki.base_url)),
        "{at}"
    );

    // The SSO session cookie: HttpOnly, SameSite=Lax (read on a page of the IdP's origin).
    browser
        .goto(&format!("{}/.well-known/openid-configuration", idp.base))
        .await
        .unwrap();
    let cookie = browser
        .cookie(SESSION_COOKIE)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {SESSION_COOKIE} cookie after sign-in"));
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Lax", "{cookie}");

    // 2. The dashboard: straight through, no password asked. `goto` returns once the final page has
    // loaded, and only redirects lie between the dashboard and its callback.
    browser.goto(&format!("{}/", dash.base_url)).await.unwrap();
    let welcome = browser.expect_page("#welcome", &pages, PAGE).await;
    assert_eq!(
        welcome.text().await.unwrap(),
        "Signed in to Dashboard as alice"
    );
    let at = browser.current_url().await.unwrap();
    assert!(
        at.starts_with(&format!("{}/callback?", dash.base_url)),
        "{at}"
    );
    assert!(browser.try_find("#login-form").await.unwrap().is_none());
    // Two ID tokens, one per app (each app checked its `aud`), for the same user.
    let (t1, t2) = (wiki.last_id_token().unwrap(), dash.last_id_token().unwrap());
    assert_ne!(t1, t2);
    assert_eq!(decode_segment(&t1, 1)["sub"], decode_segment(&t2, 1)["sub"]);

    // 3. Logout from the wiki: with a valid id_token_hint the IdP does not ask, and sends the browser
    // back to the wiki with its state.
    browser
        .goto(&format!("{}/logout", wiki.base_url))
        .await
        .unwrap();
    let bye = browser.expect_page("#app-logged-out", &pages, PAGE).await;
    assert_eq!(bye.text().await.unwrap(), "Logged out of Wiki");
    let state = browser.find("#logout-state").await.unwrap();
    assert_eq!(state.text().await.unwrap(), LOGOUT_STATE);
    let at = browser.current_url().await.unwrap();
    assert!(
        at.starts_with(&format!("{}/logged-out", wiki.base_url)),
        "{at}"
    );

    // 4. The SSO session is gone for both apps: each asks for the password again.
    for app in [&dash, &wiki] {
        browser.goto(&format!("{}/", app.base_url)).await.unwrap();
        browser.expect_page("#login-form", &pages, PAGE).await;
        let at = browser.current_url().await.unwrap();
        assert!(at.starts_with(&idp.base), "{}: {at}", app.name);
    }
    browser.quit().await.unwrap();
}

/// The IdP's pages as a browser shows them: German for a German `Accept-Language` or
/// `ui_locales=de`, English otherwise; and, when `AUTH_TEST_SCREENSHOTS` names a directory, the
/// sign-in, consent, sign-out and error pages saved there in light and dark (`docs/screenshots`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_pages_in_two_languages_and_screenshots() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let shots = Screenshots::from_env();
    let idp = TestServer::start(Backend::Sqlite).await;
    let user = NewUser {
        username: "alice".into(),
        email: None,
        display_name: Some("Alice Liddell".into()),
        password: Some(PASSWORD.into()),
    };
    idp.app.users.create(user).await.unwrap();
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let shop = NewClient {
        id: Some("shop".into()),
        name: "Example Shop".into(),
        alg: Alg::Es256,
        allowed_scopes: own(&["openid", "profile", "email", "orders:read"]),
        default_scopes: own(&["openid"]),
        redirect_uris: own(&["https://shop.example/callback"]),
        public: true,
        ..NewClient::default()
    };
    idp.app.clients.create(shop).await.unwrap();
    let authorize = format!(
        "{}/authorize?response_type=code&client_id=shop&state=s1&code_challenge={}\
         &code_challenge_method=S256&scope=openid%20profile%20email%20orders%3Aread\
         &redirect_uri=https%3A%2F%2Fshop.example%2Fcallback",
        idp.base, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let pages = [
        "#login-form",
        "#consent-form",
        "#logout-form",
        "#error-title",
    ];
    let lang = "return document.documentElement.lang;";
    browser.set_window_size(520, 820).await.unwrap();
    browser.set_accept_language("en-US,en;q=0.9").await.unwrap();

    // English by default; German from Accept-Language; ui_locales beats Accept-Language.
    for (accept, extra, expected, button) in [
        ("de-DE,de;q=0.9,en;q=0.5", "", "de", "Anmelden"),
        ("de-DE,de;q=0.9", "&ui_locales=en", "en", "Sign in"),
        ("en-US,en;q=0.9", "&ui_locales=fr%20de", "de", "Anmelden"),
        ("en-US,en;q=0.9", "", "en", "Sign in"),
    ] {
        browser.set_accept_language(accept).await.unwrap();
        browser.goto(&format!("{authorize}{extra}")).await.unwrap();
        browser.expect_page("#login-form", &pages, PAGE).await;
        assert_eq!(browser.execute(lang, Vec::new()).await.unwrap(), expected);
        let sign_in = browser.find("#sign-in").await.unwrap();
        assert_eq!(sign_in.text().await.unwrap(), button, "{accept} {extra}");
    }
    shots.take(&browser, "login").await.unwrap();

    // Signed in, the third-party client asks for consent.
    browser.type_into("#username", "alice").await.unwrap();
    browser.type_into("#password", PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    browser.expect_page("#consent-form", &pages, PAGE).await;
    let allow = browser.find("#allow").await.unwrap();
    assert_eq!(allow.text().await.unwrap(), "Allow");
    shots.take(&browser, "consent").await.unwrap();

    // Sign-out without an id_token_hint asks first; an unknown client gets the error page.
    browser.goto(&format!("{}/logout", idp.base)).await.unwrap();
    browser.expect_page("#logout-form", &pages, PAGE).await;
    shots.take(&browser, "logout").await.unwrap();
    let unknown = authorize.replace("client_id=shop", "client_id=nobody");
    browser.goto(&unknown).await.unwrap();
    let title = browser.expect_page("#error-title", &pages, PAGE).await;
    assert_eq!(
        title.text().await.unwrap(),
        "This sign-in link is not valid"
    );
    shots.take(&browser, "error").await.unwrap();
    browser.quit().await.unwrap();
}

/// The stub IdP of the self-contained test: just enough of one to drive the relying party.
#[derive(Debug, Default)]
struct Stub {
    base: String,
    /// Issued codes: `(code_challenge, nonce)`.
    codes: Mutex<HashMap<String, (String, String)>>,
}

/// Waits for the relying party's welcome page (one of `pages`), asserts it reads `text`; returns
/// the URL it is on.
async fn expect_welcome(browser: &Driver, pages: &[&str], text: &str) -> String {
    let welcome = browser.expect_page("#welcome", pages, PAGE).await;
    assert_eq!(welcome.text().await.unwrap(), text);
    browser.current_url().await.unwrap()
}

const STUB_CLIENT: &str = "stub-app";
const STUB_SECRET: &str = "stub-secret";

fn form(body: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// `GET /authorize`: a sign-in form carrying the request's parameters.
async fn stub_authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], STUB_CLIENT);
    assert_eq!(q["scope"], "openid profile");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["code_challenge"].len() == 43 && q["state"].len() >= 16 && !q["nonce"].is_empty());
    let hidden: String = ["redirect_uri", "state", "nonce", "code_challenge"]
        .iter()
        .map(|k| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", q[*k]))
        .collect();
    Html(format!(
        "<!doctype html><title>Sign in</title><form id=\"login-form\" method=\"post\" \
         action=\"/login\">{hidden}<input id=\"username\" name=\"username\">\
         <input id=\"password\" name=\"password\" type=\"password\">\
         <button id=\"sign-in\" type=\"submit\">Sign in</button></form>"
    ))
    .into_response()
}

/// `POST /login`: any password but "wrong"; sets an HttpOnly session cookie, redirects with a code.
async fn stub_login(State(stub): State<Arc<Stub>>, body: String) -> Response {
    let f = form(&body);
    if f["password"] == "wrong" {
        return (
            StatusCode::UNAUTHORIZED,
            Html("<h1 id=\"error-title\">no</h1>"),
        )
            .into_response();
    }
    let code = random::token(16);
    stub.codes.lock().unwrap().insert(
        code.clone(),
        (f["code_challenge"].clone(), f["nonce"].clone()),
    );
    let to = reqwest::Url::parse_with_params(
        &f["redirect_uri"],
        &[("code", code.as_str()), ("state", f["state"].as_str())],
    )
    .unwrap();
    (
        [(
            header::SET_COOKIE,
            format!(
                "stub_session={}; Path=/; HttpOnly; SameSite=Lax",
                f["username"]
            ),
        )],
        Redirect::to(to.as_str()),
    )
        .into_response()
}

/// `POST /token`: checks the client, the code and PKCE; returns an (unsigned) ID token.
async fn stub_token(State(stub): State<Arc<Stub>>, headers: HeaderMap, body: String) -> Response {
    let f = form(&body);
    assert_eq!(
        headers[header::AUTHORIZATION],
        tests::basic(STUB_CLIENT, STUB_SECRET)
    );
    assert_eq!(f["grant_type"], "authorization_code");
    let Some((challenge, nonce)) = stub.codes.lock().unwrap().remove(&f["code"]) else {
        return (StatusCode::BAD_REQUEST, r#"{"error":"invalid_grant"}"#).into_response();
    };
    let verifier = &f["code_verifier"];
    assert!(verifier.len() >= 43);
    assert_eq!(
        URL_SAFE_NO_PAD.encode(random::sha256(verifier.as_bytes())),
        challenge,
        "S256 PKCE"
    );
    let seg = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let id_token = format!(
        "{}.{}.c2ln",
        seg(json!({"alg": "ES256", "typ": "JWT"})),
        seg(json!({
            "iss": stub.base, "aud": STUB_CLIENT, "sub": "u1", "nonce": nonce,
            "preferred_username": "carol",
        }))
    );
    axum::Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
        .into_response()
}

/// `GET /logout`: back to the app with its state.
async fn stub_logout(Query(q): Query<HashMap<String, String>>) -> Redirect {
    assert_eq!(decode_segment(&q["id_token_hint"], 1)["sub"], "u1");
    let to = reqwest::Url::parse_with_params(
        &q["post_logout_redirect_uri"],
        &[("state", q["state"].as_str())],
    )
    .unwrap();
    Redirect::to(to.as_str())
}

/// The WebDriver client and the relying party, against a stub IdP serving a static sign-in form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdriver_drives_a_local_page() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stub = Arc::new(Stub {
        base: base.clone(),
        ..Stub::default()
    });
    let router = Router::new()
        .route("/authorize", get(stub_authorize))
        .route("/login", post(stub_login))
        .route("/token", post(stub_token))
        .route("/logout", get(stub_logout))
        .with_state(stub);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let app = Rp::start("Notes", &base, STUB_CLIENT, STUB_SECRET).await;
    let pages = ["#login-form", "#welcome", "#error-title", "#rp-error"];

    browser.goto(&format!("{}/", app.base_url)).await.unwrap();
    browser.expect_page("#login-form", &pages, PAGE).await;
    assert!(browser.current_url().await.unwrap().starts_with(&base));
    assert!(browser.try_find("#welcome").await.unwrap().is_none());
    let user = browser.find("#username").await.unwrap();
    user.send_keys("carol").await.unwrap();
    assert_eq!(user.property("value").await.unwrap(), "carol");
    browser.type_into("#password", "hunter22").await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    let at = expect_welcome(&browser, &pages, "Signed in to Notes as carol").await;
    assert!(
        at.starts_with(&format!("{}/callback?code=", app.base_url)),
        "{at}"
    );
    assert!(
        browser
            .page_source()
            .await
            .unwrap()
            .contains("Signed in to Notes")
    );

    // Cookies: HttpOnly ones are visible to WebDriver, with their attributes; and can be deleted.
    let cookie = browser.cookie("stub_session").await.unwrap().unwrap();
    assert_eq!(cookie["value"], "carol");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Lax", "{cookie}");
    browser.delete_cookies().await.unwrap();
    assert!(browser.cookie("stub_session").await.unwrap().is_none());

    // Reloading the callback replays a used state: the app refuses it.
    browser.goto(&at).await.unwrap();
    browser.expect_page("#rp-error", &pages, PAGE).await;

    // Logout round trip.
    browser
        .goto(&format!("{}/logout", app.base_url))
        .await
        .unwrap();
    let bye = browser.wait_for("#app-logged-out", PAGE).await.unwrap();
    assert_eq!(bye.text().await.unwrap(), "Logged out of Notes");
    let state = browser.find("#logout-state").await.unwrap();
    assert_eq!(state.text().await.unwrap(), LOGOUT_STATE);

    // A wait that cannot succeed ends at its deadline with the page it saw.
    match browser.wait_for("#never", Duration::from_millis(200)).await {
        Err(WebDriverError::Timeout(m)) => assert!(m.contains("Logged out of Notes"), "{m}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(
        browser
            .execute("return document.title;", Vec::new())
            .await
            .unwrap(),
        "Notes"
    );
    browser.quit().await.unwrap();
    server.abort();
}
