//! In a real headless browser (Chromium through chromedriver): a single-page app on another origin
//! runs the authorization-code flow with PKCE and calls `/token` and `/userinfo` with `fetch`
//! (CORS); a page on an origin no client registered cannot read `/token` but can read discovery;
//! and `response_mode=form_post` delivers the code to a callback by a POST the browser makes.
//!
//! Skipped when `chromedriver` is not installed, unless `AUTH_TEST_REQUIRE_BROWSER` is set. SQLite
//! only: the browser is the subject here; the HTTP-level tests (`cors`, `form_post`) run on both
//! backends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::Alg;
use auth_server::domain::clients::NewClient;
use auth_server::domain::users::NewUser;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::{MethodRouter, get, post};
use serde_json::Value;
use tests::oauth::{Pkce, WebClient};
use tests::webdriver::Driver;
use tests::{Backend, TestServer};

/// How long a page may take to appear (a shared 2-core machine, a debug build, a cold browser).
const PAGE: Duration = Duration::from_secs(20);
const PASSWORD: &str = "correct horse battery staple";

/// The single-page app: one page for the start and the callback. At the start it makes a PKCE pair
/// and a state, keeps them in `sessionStorage` and sends the browser to `/authorize`; back with a
/// code it checks the state, redeems the code with `fetch`, calls `/userinfo`, redeems the same
/// code again (to read the `invalid_grant` error), and writes what it saw into `#done` as JSON.
const SPA_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>SPA</title></head>
<body><h1>SPA</h1>
<script>
const IDP = "__IDP__", REDIRECT = "__REDIRECT__", CLIENT = "spa";
const b64url = (bytes) => btoa(String.fromCharCode(...bytes))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
function done(result) {
  const p = document.createElement("p");
  p.id = "done";
  p.textContent = JSON.stringify(result);
  document.body.appendChild(p);
}
async function main() {
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem("verifier", verifier);
    sessionStorage.setItem("state", state);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    const challenge = b64url(new Uint8Array(digest));
    location.assign(IDP + "/authorize?" + new URLSearchParams({
      response_type: "code", client_id: CLIENT, redirect_uri: REDIRECT, scope: "openid profile",
      state, code_challenge: challenge, code_challenge_method: "S256",
    }));
    return;
  }
  if (q.get("state") !== sessionStorage.getItem("state")) {
    return done({ error: "state mismatch" });
  }
  const form = new URLSearchParams({
    grant_type: "authorization_code", code: q.get("code"), redirect_uri: REDIRECT,
    code_verifier: sessionStorage.getItem("verifier"), client_id: CLIENT,
  });
  const token = await fetch(IDP + "/token", { method: "POST", body: form });
  const tokens = await token.json();
  const info = await fetch(IDP + "/userinfo", {
    headers: { Authorization: "Bearer " + tokens.access_token },
  });
  const claims = await info.json();
  const again = await fetch(IDP + "/token", { method: "POST", body: form });
  const error = await again.json();
  done({
    token_status: token.status, token_type: tokens.token_type, id_token: !!tokens.id_token,
    userinfo_status: info.status, sub: claims.sub, name: claims.name,
    again_status: again.status, again_error: error.error,
  });
}
main().catch((e) => done({ error: String(e) }));
</script></body></html>
"#;

/// A page on an origin no client registered: reads discovery, tries `/token`.
const STRANGER_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Stranger</title></head><body>
<script>
const IDP = "__IDP__";
async function main() {
  const discovery = await (await fetch(IDP + "/.well-known/openid-configuration")).json();
  let token;
  try {
    const r = await fetch(IDP + "/token", { method: "POST",
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "x", client_id: "spa" }) });
    token = "read " + r.status;
  } catch (e) {
    token = "blocked: " + e.name;
  }
  return { issuer: discovery.issuer, token };
}
main().then((r) => r, (e) => ({ error: String(e) })).then((r) => {
  const p = document.createElement("p");
  p.id = "done";
  p.textContent = JSON.stringify(r);
  document.body.appendChild(p);
});
</script></body></html>
"#;

/// What the form-post callback received: each POSTed form, as pairs.
type Posted = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// `GET` answering with the page `body`.
fn html<S: Clone + Send + Sync + 'static>(body: String) -> MethodRouter<S> {
    get(move || async move { Html(body) })
}

async fn posted_callback(State(posted): State<Posted>, body: String) -> Html<String> {
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    posted.lock().unwrap().push(pairs);
    Html("<!doctype html><p id=\"posted\">received</p>".to_owned())
}

/// Serves `router` on a fresh port of 127.0.0.1; returns its origin.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    origin
}

/// The text of `#done` as JSON, once the page's script has written it.
async fn result(browser: &Driver) -> Value {
    let done = browser.wait_for("#done", PAGE).await.unwrap();
    serde_json::from_str(&done.text().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_page_app_on_another_origin_signs_in_with_fetch() {
    let Some(browser) = Driver::start_or_skip().await else {
        return;
    };
    let idp = TestServer::start(Backend::Sqlite).await;
    let alice = idp
        .app
        .users
        .create(NewUser {
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            display_name: Some("Alice Liddell".into()),
            password: Some(PASSWORD.into()),
        })
        .await
        .unwrap();

    // The SPA and the form-post callback on one origin, a stranger's page on another; both differ
    // from the IdP's (other ports of 127.0.0.1).
    let page = |template: &str, redirect: &str| {
        template
            .replace("__IDP__", &idp.base)
            .replace("__REDIRECT__", redirect)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let redirect = format!("{origin}/cb");
    let posted: Posted = Arc::default();
    let app = Router::new()
        .route("/", html(page(SPA_PAGE, &redirect)))
        .route("/cb", html(page(SPA_PAGE, &redirect)))
        .route("/fp", post(posted_callback))
        .with_state(posted.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let stranger = serve(Router::new().route("/", html(page(STRANGER_PAGE, "")))).await;
    assert_ne!(origin, idp.base);

    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for (id, uri) in [("spa", redirect.clone()), ("fp", format!("{origin}/fp"))] {
        idp.app
            .clients
            .create(NewClient {
                id: Some(id.to_owned()),
                name: format!("App {id}"),
                alg: Alg::Es256,
                allowed_scopes: own(&["openid", "profile"]),
                default_scopes: own(&["openid"]),
                redirect_uris: vec![uri],
                public: true,
                first_party: true,
                ..NewClient::default()
            })
            .await
            .unwrap();
    }

    // 1. The SPA sends the browser to the IdP, which asks for the password...
    browser.goto(&format!("{origin}/")).await.unwrap();
    browser.wait_for("#login-form", PAGE).await.unwrap();
    assert!(browser.current_url().await.unwrap().starts_with(&idp.base));
    browser.type_into("#username", "alice").await.unwrap();
    browser.type_into("#password", PASSWORD).await.unwrap();
    browser.submit_by("#sign-in", PAGE).await.unwrap();
    // ...and back on its own origin it redeems the code and reads userinfo through fetch.
    let r = result(&browser).await;
    assert!(
        browser.current_url().await.unwrap().starts_with(&redirect),
        "{r}"
    );
    assert_eq!(r["token_status"], 200, "{r}");
    assert_eq!(r["token_type"], "Bearer", "{r}");
    assert_eq!(r["id_token"], true, "{r}");
    assert_eq!(r["userinfo_status"], 200, "{r}");
    assert_eq!(r["sub"], alice.id.as_str(), "{r}");
    assert_eq!(r["name"], "Alice Liddell", "{r}");
    // The error of a reused code is readable too.
    assert_eq!(r["again_status"], 400, "{r}");
    assert_eq!(r["again_error"], "invalid_grant", "{r}");

    // 2. A page on an origin no client registered reads discovery (`*`) but not /token.
    browser.goto(&format!("{stranger}/")).await.unwrap();
    let r = result(&browser).await;
    assert_eq!(r["issuer"], idp.base.as_str(), "{r}");
    assert_eq!(r["token"], "blocked: TypeError", "{r}");

    // 3. form_post: the IdP's page submits the code to the callback with a POST (its script runs
    // under the page's hash-only CSP); the code it delivered is good.
    let fp = WebClient {
        id: "fp".into(),
        secret: None,
        redirect_uri: format!("{origin}/fp"),
    };
    let pkce = Pkce::new();
    let url = idp.authorize_url(&fp, &pkce, "openid", &[("response_mode", "form_post")]);
    browser.goto(&url).await.unwrap();
    browser.wait_for("#posted", PAGE).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap(), fp.redirect_uri);
    let got = posted.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let field = |name: &str| {
        got[0]
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {got:?}"))
    };
    assert_eq!(field("state"), "st");
    assert_eq!(field("iss"), idp.base);
    let (status, body) = idp.redeem(&fp, &field("code"), &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    browser.quit().await.unwrap();
}
