//! The browser endpoints under attack: open redirects, errors that must (or must not) go back to the
//! client, CSRF on every form, session fixation, framing and caching, brute force, hostile input and
//! disabled users (RFC 6749 §4.1.2.1 and §10, RFC 9700, OIDC Core §3.1.2, OIDC RP-Initiated Logout).
//! Every test runs on SQLite and PostgreSQL.

use tests::oauth::{Agent, Page, Pkce, WebClient, WebClientOptions, encode_form, first_party};
use tests::{Backend, TestServer, decode_segment};

const PW: &str = "correct horse battery";
const TOO_MANY: &str = "Too many failed attempts. Wait a few minutes, then try again.";
const REJECTED: &str = "Invalid username or password.";

/// Strings that would mean a page shows the server's internals.
const INTERNALS: &[&str] = &[
    "sqlx",
    "panicked",
    "DbErr",
    "Error(",
    "sea_orm",
    "SeaORM",
    "StoreError",
    "backtrace",
    ".rs:",
    "SQLSTATE",
    "syntax error",
];

tests::on_both_backends!(
    untrusted_redirect_uris_and_clients_get_a_page_never_a_redirect,
    errors_go_back_to_the_exact_registered_uri_with_state_and_iss,
    login_consent_and_logout_forms_refuse_a_missing_or_wrong_csrf_token,
    a_foreign_id_token_hint_does_not_sign_the_browser_out,
    sign_in_never_adopts_a_planted_session_and_always_renews_it,
    every_page_refuses_framing_and_caching_and_cookies_are_locked_down,
    lockout_after_repeated_failures_looks_the_same_for_unknown_users,
    per_address_throttling_locks_every_username,
    hostile_input_gets_a_plain_page_never_a_500,
    disabled_users_cannot_sign_in_and_lose_their_session,
);

fn header<'a>(p: &'a Page, name: &str) -> &'a str {
    p.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The `Set-Cookie` line for cookie `name`, if the response sets it.
fn set_cookie(p: &Page, name: &str) -> Option<String> {
    p.set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

fn assert_no_internals(p: &Page) {
    assert!(p.status < 500, "{} {}", p.status, p.body);
    for bad in INTERNALS {
        assert!(!p.body.contains(bad), "the page shows {bad:?}: {}", p.body);
    }
}

/// Every IdP page: HTML, not framable, not cached, nothing internal.
fn assert_locked_page(p: &Page) {
    assert_eq!(header(p, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(p, "x-frame-options"), "DENY");
    let csp = header(p, "content-security-policy");
    assert!(
        csp.split(';').any(|d| d.trim() == "frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(header(p, "cache-control"), "no-store");
    assert_eq!(header(p, "x-content-type-options"), "nosniff");
    assert_eq!(header(p, "referrer-policy"), "no-referrer");
    assert_no_internals(p);
}

/// An error page: `status`, no redirect, no form, no session started.
fn assert_error_page(p: &Page, status: u16) {
    assert_eq!(p.status, status, "{}", p.body);
    assert!(p.location().is_none(), "{:?}", p.location());
    assert!(p.body.contains("id=\"error-title\""), "{}", p.body);
    assert!(!p.body.contains("<form"), "{}", p.body);
    assert!(!p.body.contains("http-equiv"), "{}", p.body);
    assert!(set_cookie(p, "auth_session").is_none());
    assert_locked_page(p);
}

/// The error page for an untrusted redirect URI or client: 400, and nothing of the attacker's URI.
fn assert_refused(p: &Page, attacker_uri: Option<&str>) {
    assert_error_page(p, 400);
    assert!(
        p.body.contains("This sign-in link is not valid")
            || p.body.contains("This request is not valid"),
        "{}",
        p.body
    );
    for leak in ["evil", "app.example", "APP.example", "https://", "http://"] {
        assert!(
            !p.body.contains(leak),
            "the page echoes {leak:?}: {}",
            p.body
        );
    }
    if let Some(uri) = attacker_uri {
        assert!(!p.body.contains(uri), "{}", p.body);
        let escaped = uri.replace('&', "&amp;").replace('"', "&quot;");
        assert!(!p.body.contains(&escaped), "{}", p.body);
    }
}

/// An error redirect to exactly `app`'s registered URI, with `error`, `state` (if given) and `iss`,
/// and no code.
fn assert_error_redirect(
    p: &Page,
    s: &TestServer,
    app: &WebClient,
    error: &str,
    state: Option<&str>,
) {
    assert!(matches!(p.status, 302 | 303), "{} {}", p.status, p.body);
    let loc = p.location().expect("a Location");
    let (target, _) = loc.split_once('?').expect("a query");
    assert_eq!(target, app.redirect_uri, "{loc}");
    assert_eq!(p.location_param("error").as_deref(), Some(error), "{loc}");
    assert_eq!(p.location_param("state").as_deref(), state, "{loc}");
    assert_eq!(
        p.location_param("iss").as_deref(),
        Some(s.base.as_str()),
        "{loc}"
    );
    assert!(p.location_param("code").is_none(), "{loc}");
    assert!(!loc.contains('#'), "{loc}");
    assert_eq!(header(p, "cache-control"), "no-store");
    assert!(set_cookie(p, "auth_session").is_none());
}

/// Authorization request parameters, in order (a name may repeat).
type Params = Vec<(String, String)>;

/// The parameters of a good authorization request for `app`.
fn good_params(app: &WebClient, pkce: &Pkce) -> Params {
    [
        ("response_type", "code"),
        ("client_id", app.id.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("scope", "openid"),
        ("state", "st"),
        ("nonce", "n-0S6"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// `params` with `name` set to `value` (replacing it), or removed when `value` is `None`.
fn with(params: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        params.iter().filter(|(k, _)| k != name).cloned().collect();
    if let Some(v) = value {
        out.push((name.to_owned(), v.to_owned()));
    }
    out
}

/// `params` with one more `name=value` (a repeat when `name` is already there).
fn plus(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out = params.to_vec();
    out.push((name.to_owned(), value.to_owned()));
    out
}

fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn authorize(s: &TestServer, params: &[(String, String)]) -> String {
    format!("{}/authorize?{}", s.base, encode_form(&refs(params)))
}

/// Posts the form on `page` to `action` with the `csrf` field replaced (`None`: left out).
async fn submit_with_csrf(
    agent: &mut Agent,
    page: &Page,
    action: &str,
    csrf: Option<&str>,
    extra: &[(&str, &str)],
) -> Page {
    let hidden: Vec<(String, String)> = page
        .hidden_fields()
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .collect();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(c) = csrf {
        pairs.push(("csrf", c));
    }
    pairs.extend(refs(&hidden));
    pairs.extend_from_slice(extra);
    agent.post(action, &pairs).await
}

/// Submits the login form on `page` (whatever its status).
async fn try_login(s: &TestServer, agent: &mut Agent, page: &Page, user: &str, pw: &str) -> Page {
    assert!(page.body.contains("id=\"login-form\""), "{}", page.body);
    agent
        .submit(
            page,
            &format!("{}/login", s.base),
            &[("username", user), ("password", pw)],
        )
        .await
}

fn is_login_page(p: &Page) -> bool {
    p.body.contains("id=\"login-form\"")
}

/// Whether `agent` has a live session: `prompt=none` gets a code rather than `login_required`.
async fn has_session(s: &TestServer, agent: &mut Agent, app: &WebClient) -> bool {
    let p = agent
        .get(&s.authorize_url(app, &Pkce::new(), "openid", &[("prompt", "none")]))
        .await;
    assert_eq!(p.status, 302, "{}", p.body);
    match p.location_param("error").as_deref() {
        None => {
            assert!(p.location_param("code").is_some(), "{:?}", p.location());
            true
        }
        Some("login_required") => false,
        Some(other) => panic!("unexpected error {other}"),
    }
}

/// The `sid` of the ID token a code redeems to.
async fn sid_of_code(s: &TestServer, app: &WebClient, code: &str, pkce: &Pkce) -> String {
    let (status, body) = s.redeem(app, code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    decode_segment(body["id_token"].as_str().unwrap(), 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

// 1. Open redirect -------------------------------------------------------------------------------

async fn untrusted_redirect_uris_and_clients_get_a_page_never_a_redirect(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let pkce = Pkce::new();
    let good = good_params(&app, &pkce);
    let mut browser = Agent::new();

    // RFC 9700 §4.1.3: exact string matching; anything else is an error page, never a redirect.
    for uri in [
        "https://evil.example/cb",
        "https://app.example/cb/extra",
        "https://app.example/cb/",
        "https://app.example/cb?next=https://evil.example/",
        "https://app.example/cb#evil",
        "https://APP.example/cb",
        "http://app.example/cb",
        "https://app.example:443/cb",
        "https://app.example@evil.example/cb",
        "https://app.example.evil.example/cb",
        "https://app.example/cb/../../evil",
        "https://app.example/CB",
        " https://app.example/cb",
        "https://app.example/cb%00",
        "//evil.example/cb",
        "/cb",
    ] {
        let bad = with(&good, "redirect_uri", Some(uri));
        let page = browser.get(&authorize(&s, &bad)).await;
        assert_refused(&page, Some(uri));
        // Even for errors that would otherwise go back to the client (RFC 6749 §4.1.2.1).
        for (name, value) in [
            ("response_type", "token"),
            ("prompt", "none"),
            ("scope", "admin"),
        ] {
            let worse = with(&bad, name, Some(value));
            let page = browser.get(&authorize(&s, &worse)).await;
            assert_refused(&page, Some(uri));
        }
        // POST /authorize the same.
        let page = browser
            .post(&format!("{}/authorize", s.base), &refs(&bad))
            .await;
        assert_refused(&page, Some(uri));
    }

    // Missing or repeated redirect_uri / client_id (a repeat is never guessed at).
    let cases = [
        with(&good, "redirect_uri", None),
        with(&good, "redirect_uri", Some("")),
        plus(&good, "redirect_uri", &app.redirect_uri),
        plus(&good, "redirect_uri", "https://evil.example/cb"),
        with(&good, "client_id", None),
        with(&good, "client_id", Some("")),
        with(&good, "client_id", Some("nope")),
        with(&good, "client_id", Some("APP")),
        plus(&good, "client_id", "app"),
        plus(&good, "client_id", "other"),
    ];
    for params in &cases {
        let page = browser.get(&authorize(&s, params)).await;
        assert_refused(&page, None);
        let page = browser
            .get(&authorize(&s, &with(params, "prompt", Some("none"))))
            .await;
        assert_refused(&page, None);
    }

    // A client with another client's redirect URI.
    let other = s.web_client("other", first_party()).await;
    let page = browser
        .get(&authorize(
            &s,
            &with(&good, "redirect_uri", Some(&other.redirect_uri)),
        ))
        .await;
    assert_refused(&page, None);

    // Tampering with the redirect URI carried by the login form: refused, and no session.
    let login = browser.get(&authorize(&s, &good)).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let hidden: Vec<(String, String)> = login
        .hidden_fields()
        .into_iter()
        .map(|(k, v)| {
            if k == "redirect_uri" {
                (k, "https://evil.example/cb".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    let mut pairs = refs(&hidden);
    pairs.extend_from_slice(&[("username", "alice"), ("password", PW)]);
    let page = browser.post(&format!("{}/login", s.base), &pairs).await;
    assert_refused(&page, Some("https://evil.example/cb"));
    assert!(!browser.cookies.contains_key("auth_session"));

    // A disabled client: an error page, even with prompt=none, even with a session.
    let done = s.sign_in(&mut browser, &login, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(browser.cookies.contains_key("auth_session"));
    assert!(s.app.clients.set_enabled("app", false).await.unwrap());
    for params in [good.clone(), with(&good, "prompt", Some("none"))] {
        let page = browser.get(&authorize(&s, &params)).await;
        assert_refused(&page, None);
    }
}

// 2. Errors by redirect once the redirect URI is trusted ------------------------------------------

async fn errors_go_back_to_the_exact_registered_uri_with_state_and_iss(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.authorize.require_pkce = true).await;
    let app = s.web_client("app", first_party()).await;
    let pkce = Pkce::new();
    let good = good_params(&app, &pkce);
    let mut browser = Agent::new();
    let plain_verifier = "a".repeat(43);

    let cases: Vec<(&str, Params, &str)> = vec![
        (
            "implicit",
            with(&good, "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            "hybrid",
            with(&good, "response_type", Some("code id_token")),
            "unsupported_response_type",
        ),
        (
            "no response_type",
            with(&good, "response_type", None),
            "invalid_request",
        ),
        (
            "scope not allowed",
            with(&good, "scope", Some("openid admin")),
            "invalid_scope",
        ),
        (
            "malformed scope",
            with(&good, "scope", Some("openid \"x\"")),
            "invalid_scope",
        ),
        (
            "no PKCE",
            with(
                &with(&good, "code_challenge", None),
                "code_challenge_method",
                None,
            ),
            "invalid_request",
        ),
        (
            "PKCE plain",
            with(
                &with(&good, "code_challenge_method", Some("plain")),
                "code_challenge",
                Some(&plain_verifier),
            ),
            "invalid_request",
        ),
        (
            "challenge without method (plain by default)",
            with(&good, "code_challenge_method", None),
            "invalid_request",
        ),
        (
            "method without challenge",
            with(&good, "code_challenge", None),
            "invalid_request",
        ),
        (
            "short challenge",
            with(&good, "code_challenge", Some("abc")),
            "invalid_request",
        ),
        (
            "prompt=none with login",
            with(&good, "prompt", Some("none login")),
            "invalid_request",
        ),
        (
            "prompt=none with consent",
            with(&good, "prompt", Some("consent none")),
            "invalid_request",
        ),
        (
            "request object",
            with(&good, "request", Some("eyJhbGciOiJub25lIn0.e30.")),
            "request_not_supported",
        ),
        (
            "request_uri",
            with(&good, "request_uri", Some("https://evil.example/req")),
            "request_uri_not_supported",
        ),
        (
            "fragment response mode",
            with(&good, "response_mode", Some("fragment")),
            "invalid_request",
        ),
        (
            "negative max_age",
            with(&good, "max_age", Some("-1")),
            "invalid_request",
        ),
        (
            "repeated nonce",
            plus(&good, "nonce", "n2"),
            "invalid_request",
        ),
        (
            "repeated response_type",
            plus(&good, "response_type", "code"),
            "invalid_request",
        ),
        (
            "repeated scope",
            plus(&good, "scope", "openid"),
            "invalid_request",
        ),
        (
            "repeated code_challenge",
            plus(&good, "code_challenge", &pkce.challenge),
            "invalid_request",
        ),
        (
            "oversized nonce",
            with(&good, "nonce", Some(&"n".repeat(3000))),
            "invalid_request",
        ),
    ];
    for (what, params, error) in &cases {
        let page = browser.get(&authorize(&s, params)).await;
        assert_eq!(page.status, 302, "{what}: {}", page.body);
        assert_error_redirect(&page, &s, &app, error, Some("st"));
        // The same by POST: 303, so the browser follows with GET.
        let page = browser
            .post(&format!("{}/authorize", s.base), &refs(params))
            .await;
        assert_eq!(page.status, 303, "{what}: {}", page.body);
        assert_error_redirect(&page, &s, &app, error, Some("st"));
    }

    // A repeated state is invalid_request; neither value is echoed, as neither is "the" state.
    let page = browser
        .get(&authorize(&s, &plus(&good, "state", "attacker")))
        .await;
    assert_error_redirect(&page, &s, &app, "invalid_request", None);
    assert!(!page.location().unwrap().contains("attacker"));

    // state round-trips exactly, however odd, and without state there is none.
    let odd = "a b&c=d/é?#";
    let page = browser
        .get(&authorize(
            &s,
            &with(
                &with(&good, "state", Some(odd)),
                "response_type",
                Some("token"),
            ),
        ))
        .await;
    assert_error_redirect(&page, &s, &app, "unsupported_response_type", Some(odd));
    let page = browser
        .get(&authorize(
            &s,
            &with(&with(&good, "state", None), "response_type", Some("token")),
        ))
        .await;
    assert_error_redirect(&page, &s, &app, "unsupported_response_type", None);

    // A public client needs PKCE even when the server does not require it of every client.
    let s = TestServer::start_with(backend, |c| c.authorize.require_pkce = false).await;
    let public = s
        .web_client(
            "spa",
            WebClientOptions {
                public: true,
                first_party: true,
                ..Default::default()
            },
        )
        .await;
    let confidential = s.web_client("web", first_party()).await;
    let no_pkce = |c: &WebClient| {
        with(
            &with(&good_params(c, &Pkce::new()), "code_challenge", None),
            "code_challenge_method",
            None,
        )
    };
    let page = browser.get(&authorize(&s, &no_pkce(&public))).await;
    assert_error_redirect(&page, &s, &public, "invalid_request", Some("st"));
    let page = browser.get(&authorize(&s, &no_pkce(&confidential))).await;
    assert_eq!(page.status, 200, "optional for a confidential client");
    assert!(is_login_page(&page));
    // ...but plain is refused for both.
    for c in [&public, &confidential] {
        let params = with(
            &with(
                &good_params(c, &Pkce::new()),
                "code_challenge_method",
                Some("plain"),
            ),
            "code_challenge",
            Some(&plain_verifier),
        );
        let page = browser.get(&authorize(&s, &params)).await;
        assert_error_redirect(&page, &s, c, "invalid_request", Some("st"));
    }
}

// 3. CSRF ----------------------------------------------------------------------------------------

/// A refused form: 403, a plain page, no redirect, no session cookie.
fn assert_csrf_refused(p: &Page) {
    assert_error_page(p, 403);
    assert!(p.body.contains("This form has expired"), "{}", p.body);
}

async fn login_consent_and_logout_forms_refuse_a_missing_or_wrong_csrf_token(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let partner = s.web_client("partner", WebClientOptions::default()).await;
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[]))
        .await;
    assert_eq!(page.status, 200);
    let token = browser
        .cookies
        .get("auth_csrf")
        .cloned()
        .expect("a csrf cookie");
    assert!(token.len() >= 32, "{token}");
    assert_eq!(page.hidden("csrf").as_deref(), Some(token.as_str()));
    // Another browser's token: valid somewhere, not here.
    let mut other = Agent::new();
    other
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    let foreign = other.cookies.get("auth_csrf").cloned().unwrap();
    assert_ne!(foreign, token);

    let creds = [("username", "alice"), ("password", PW)];
    let login = format!("{}/login", s.base);

    // POST /login: no cookie (a cross-site post), a wrong field, no field, an empty field.
    browser.cookies.remove("auth_csrf");
    let r = browser.submit(&page, &login, &creds).await;
    assert_csrf_refused(&r);
    browser.cookies.insert("auth_csrf".into(), token.clone());
    for csrf in [Some(foreign.as_str()), Some("x"), None, Some("")] {
        let r = submit_with_csrf(&mut browser, &page, &login, csrf, &creds).await;
        assert_csrf_refused(&r);
        assert!(!browser.cookies.contains_key("auth_session"));
    }
    // The field repeated (the right token and another): refused too.
    let r = browser
        .submit(
            &page,
            &login,
            &[("csrf", foreign.as_str()), creds[0], creds[1]],
        )
        .await;
    assert_csrf_refused(&r);
    // With the right pair the same sign-in works.
    assert!(!browser.cookies.contains_key("auth_session"));
    let r = browser.submit(&page, &login, &creds).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location_param("code").is_some());
    assert!(set_cookie(&r, "auth_session").is_some());

    // POST /consent for a third-party client.
    let consent = browser
        .get(&s.authorize_url(&partner, &Pkce::new(), "openid email", &[]))
        .await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("id=\"allow\""));
    let action = format!("{}/consent", s.base);
    let allow = [("decision", "allow")];
    browser.cookies.remove("auth_csrf");
    let r = browser.submit(&consent, &action, &allow).await;
    assert_csrf_refused(&r);
    browser.cookies.insert("auth_csrf".into(), token.clone());
    for csrf in [Some(foreign.as_str()), None, Some("")] {
        let r = submit_with_csrf(&mut browser, &consent, &action, csrf, &allow).await;
        assert_csrf_refused(&r);
    }
    // Nothing was granted: the consent page is asked again (prompt=none: consent_required).
    let again = browser
        .get(&s.authorize_url(
            &partner,
            &Pkce::new(),
            "openid email",
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(
        again.location_param("error").as_deref(),
        Some("consent_required")
    );
    let r = browser.submit(&consent, &action, &allow).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location_param("code").is_some());

    // The logout confirmation form.
    let confirm = browser.get(&format!("{}/logout", s.base)).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("id=\"logout-form\""));
    assert_eq!(confirm.hidden("confirm").as_deref(), Some("yes"));
    let action = format!("{}/logout", s.base);
    let session = browser.cookies.get("auth_session").cloned().unwrap();
    browser.cookies.remove("auth_csrf");
    let r = browser.submit(&confirm, &action, &[]).await;
    assert_not_logged_out(&r);
    browser.cookies.insert("auth_csrf".into(), token.clone());
    for csrf in [Some(foreign.as_str()), None, Some("")] {
        let r = submit_with_csrf(&mut browser, &confirm, &action, csrf, &[]).await;
        assert_not_logged_out(&r);
    }
    // A cross-site form with confirm=yes and nothing else.
    let r = browser.post(&action, &[("confirm", "yes")]).await;
    assert_not_logged_out(&r);
    assert_eq!(browser.cookies.get("auth_session"), Some(&session));
    assert!(has_session(&s, &mut browser, &app).await, "still signed in");
    // The real confirmation ends it.
    let r = browser.submit(&confirm, &action, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("id=\"logged-out\""), "{}", r.body);
    assert!(!browser.cookies.contains_key("auth_session"));
    browser.cookies.insert("auth_session".into(), session);
    assert!(
        !has_session(&s, &mut browser, &app).await,
        "ended server-side"
    );
}

/// The logout form was not accepted: the confirmation page again, the cookie untouched.
fn assert_not_logged_out(p: &Page) {
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("id=\"logout-form\""), "{}", p.body);
    assert!(!p.body.contains("id=\"logged-out\""), "{}", p.body);
    assert!(
        set_cookie(p, "auth_session").is_none(),
        "{:?}",
        p.set_cookies()
    );
    assert!(p.location().is_none());
    assert_locked_page(p);
}

async fn a_foreign_id_token_hint_does_not_sign_the_browser_out(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("victim", PW).await;
    s.user("mallory", PW).await;
    let app = s
        .web_client(
            "app",
            WebClientOptions {
                first_party: true,
                post_logout: Some("https://app.example/bye".into()),
                ..Default::default()
            },
        )
        .await;
    // Mallory signs in on her own browser and keeps her (valid, signed) ID token.
    let mut mallory = Agent::new();
    let pm = Pkce::new();
    let code = s
        .code_for(&mut mallory, &app, &pm, "openid", "mallory", PW)
        .await;
    let (_, tokens) = s.redeem(&app, &code, &pm.verifier).await;
    let mallory_hint = tokens["id_token"].as_str().unwrap().to_owned();
    // The victim is signed in.
    let mut victim = Agent::new();
    let pv = Pkce::new();
    let code = s
        .code_for(&mut victim, &app, &pv, "openid", "victim", PW)
        .await;
    let (_, tokens) = s.redeem(&app, &code, &pv.verifier).await;
    let victim_hint = tokens["id_token"].as_str().unwrap().to_owned();
    // A link (or an auto-submitted form) with Mallory's hint: OIDC RP-Initiated Logout §2 "MUST ask
    // the End-User ... if the supplied ID Token does not belong to the current OP session".
    let link = format!(
        "{}/logout?id_token_hint={mallory_hint}&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye&state=x",
        s.base
    );
    let r = victim.get(&link).await;
    assert_not_logged_out(&r);
    let r = victim
        .post(
            &format!("{}/logout", s.base),
            &[("id_token_hint", mallory_hint.as_str())],
        )
        .await;
    assert_not_logged_out(&r);
    assert!(has_session(&s, &mut victim, &app).await, "still signed in");
    // Mallory's own session is untouched by all this, and her hint still signs her out.
    assert!(has_session(&s, &mut mallory, &app).await);
    // The victim's own hint signs the victim out at once.
    let r = victim
        .get(&format!(
            "{}/logout?id_token_hint={victim_hint}&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye&state=x",
            s.base
        ))
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.location(), Some("https://app.example/bye?state=x"));
    assert!(!has_session(&s, &mut victim, &app).await);
    assert!(has_session(&s, &mut mallory, &app).await);
}

// 4. Session fixation ----------------------------------------------------------------------------

async fn sign_in_never_adopts_a_planted_session_and_always_renews_it(backend: Backend) {
    let s = TestServer::start(backend).await;
    let alice = s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let planted = "attacker-chosen";
    let mut browser = Agent::new();
    browser
        .cookies
        .insert("auth_session".into(), planted.to_owned());
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[]))
        .await;
    assert!(is_login_page(&page), "a planted cookie is not a session");
    let done = s.sign_in(&mut browser, &page, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(set_cookie(&done, "auth_session").is_some());
    let first = browser.cookies.get("auth_session").cloned().unwrap();
    assert_ne!(first, planted);
    assert!(first.len() >= 32, "{first}");
    let sid1 = sid_of_code(&s, &app, &done.location_param("code").unwrap(), &pkce).await;
    // The attacker's copy of the planted value gives nothing.
    let mut attacker = Agent::new();
    attacker
        .cookies
        .insert("auth_session".into(), planted.to_owned());
    let page = attacker
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(page.status, 200);
    assert!(is_login_page(&page));
    assert!(!has_session(&s, &mut attacker, &app).await);

    // Signing in again (prompt=login) replaces the session: new cookie, new sid; the old one is dead.
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[("prompt", "login")]))
        .await;
    let done = s.sign_in(&mut browser, &page, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let second = browser.cookies.get("auth_session").cloned().unwrap();
    assert_ne!(second, first);
    assert_ne!(second, planted);
    let sid2 = sid_of_code(&s, &app, &done.location_param("code").unwrap(), &pkce).await;
    assert_ne!(sid1, sid2);
    let mut stale = Agent::new();
    stale.cookies.insert("auth_session".into(), first.clone());
    let page = stale
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert!(
        is_login_page(&page),
        "the old session value no longer works"
    );
    assert!(!has_session(&s, &mut stale, &app).await);
    assert!(has_session(&s, &mut browser, &app).await);
    // A session cookie stolen before a re-login is useless after it, including a valid session of
    // someone else planted in the browser: the sign-in replaces it.
    s.user("mallory", PW).await;
    let mut mallory = Agent::new();
    s.code_for(&mut mallory, &app, &Pkce::new(), "openid", "mallory", PW)
        .await;
    let mallory_session = mallory.cookies.get("auth_session").cloned().unwrap();
    let mut victim = Agent::new();
    victim
        .cookies
        .insert("auth_session".into(), mallory_session.clone());
    let pkce = Pkce::new();
    let page = victim
        .get(&s.authorize_url(&app, &pkce, "openid", &[("prompt", "login")]))
        .await;
    let done = s.sign_in(&mut victim, &page, "alice", PW).await;
    assert_eq!(done.status, 303);
    assert_ne!(victim.cookies.get("auth_session"), Some(&mallory_session));
    let (_, t) = s
        .redeem(&app, &done.location_param("code").unwrap(), &pkce.verifier)
        .await;
    assert_eq!(
        decode_segment(t["id_token"].as_str().unwrap(), 1)["sub"],
        alice.as_str(),
        "signed in as the victim, not as the planted session's user"
    );
}

// 5. Clickjacking and headers --------------------------------------------------------------------

async fn every_page_refuses_framing_and_caching_and_cookies_are_locked_down(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let partner = s.web_client("partner", WebClientOptions::default()).await;
    let mut browser = Agent::new();

    let login = browser
        .get(&s.authorize_url(&partner, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(login.status, 200);
    assert_locked_page(&login);
    let csrf = set_cookie(&login, "auth_csrf").expect("a csrf cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(csrf.split("; ").any(|a| a == attr), "{attr}: {csrf}");
    }
    assert!(!csrf.contains("Domain"), "{csrf}");

    let wrong = try_login(&s, &mut browser, &login, "alice", "wrong").await;
    assert_eq!(wrong.status, 401);
    assert_locked_page(&wrong);

    let consent = s.sign_in(&mut browser, &login, "alice", PW).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("id=\"consent-form\""));
    assert_locked_page(&consent);
    let session = set_cookie(&consent, "auth_session").expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.split("; ").any(|a| a == attr), "{attr}: {session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    assert!(
        !session.contains("Expires") && !session.contains("Max-Age"),
        "{session}"
    );

    let error = browser
        .get(&format!("{}/authorize?client_id=nope", s.base))
        .await;
    assert_error_page(&error, 400);

    let redirect = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(redirect.status, 302);
    assert_eq!(header(&redirect, "cache-control"), "no-store");

    let confirm = browser.get(&format!("{}/logout", s.base)).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("id=\"logout-form\""));
    assert_locked_page(&confirm);

    let forbidden = browser.post(&format!("{}/logout", s.base), &[]).await;
    assert_locked_page(&forbidden);
    let forbidden = browser.post(&format!("{}/login", s.base), &[]).await;
    assert_error_page(&forbidden, 403);

    let out = browser
        .submit(&confirm, &format!("{}/logout", s.base), &[])
        .await;
    assert!(out.body.contains("id=\"logged-out\""));
    assert_locked_page(&out);
    let cleared = set_cookie(&out, "auth_session").expect("the session cookie is cleared");
    assert!(cleared.starts_with("auth_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

// 6. Brute force ---------------------------------------------------------------------------------

/// The login page with `username`'s echo replaced, to compare pages for different usernames.
fn without_username(p: &Page, username: &str) -> String {
    p.body
        .replace(&format!("value=\"{username}\""), "value=\"USER\"")
}

/// Fails `n` sign-ins as `user` from `page`, each answered 401; returns the last answer.
async fn fail_n(s: &TestServer, agent: &mut Agent, page: &Page, user: &str, n: usize) -> Page {
    let mut last = None;
    for _ in 0..n {
        let r = try_login(s, agent, page, user, "wrong password").await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains(REJECTED), "{}", r.body);
        assert!(!r.body.contains(TOO_MANY));
        assert!(set_cookie(&r, "auth_session").is_none());
        assert_locked_page(&r);
        last = Some(r);
    }
    last.unwrap()
}

fn assert_locked_out(p: &Page) {
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains(TOO_MANY), "{}", p.body);
    assert!(!p.body.contains(REJECTED), "{}", p.body);
    assert!(is_login_page(p));
    assert!(p.location().is_none());
    assert!(set_cookie(p, "auth_session").is_none());
    assert_locked_page(p);
}

async fn lockout_after_repeated_failures_looks_the_same_for_unknown_users(backend: Backend) {
    let s = TestServer::start(backend).await;
    let lockout = s.app.config.login.lockout_secs;
    assert_eq!(s.app.config.login.max_failures_per_account, 5);
    s.user("known-user", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;

    let known_401 = fail_n(&s, &mut browser, &page, "known-user", 5).await;
    let ghost_401 = fail_n(&s, &mut browser, &page, "ghost-user", 5).await;
    assert_eq!(
        without_username(&known_401, "known-user"),
        without_username(&ghost_401, "ghost-user"),
        "a wrong password reads the same for known and unknown usernames"
    );
    // The 6th attempt, even with the right password: locked, no session.
    let known_429 = try_login(&s, &mut browser, &page, "known-user", PW).await;
    assert_locked_out(&known_429);
    let ghost_429 = try_login(&s, &mut browser, &page, "ghost-user", PW).await;
    assert_locked_out(&ghost_429);
    assert_eq!(
        without_username(&known_429, "known-user"),
        without_username(&ghost_429, "ghost-user"),
        "a lockout does not tell which usernames exist"
    );
    // Usernames are case-sensitive: another case is another (unknown) account, which signs nobody in.
    let other_case = try_login(&s, &mut browser, &page, "KNOWN-USER", PW).await;
    assert_eq!(other_case.status, 401, "{}", other_case.body);
    assert!(!browser.cookies.contains_key("auth_session"));
    // Other accounts are not affected.
    s.user("bystander", PW).await;
    let mut other = Agent::new();
    let page2 = other
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    let ok = try_login(&s, &mut other, &page2, "bystander", PW).await;
    assert_eq!(ok.status, 303, "{}", ok.body);

    // Still locked one second before the lockout ends...
    s.clock.advance(lockout - 1);
    assert_locked_out(&try_login(&s, &mut browser, &page, "known-user", PW).await);
    // ...and not after.
    s.clock.advance(2);
    let done = try_login(&s, &mut browser, &page, "known-user", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location_param("code").is_some());
    assert!(set_cookie(&done, "auth_session").is_some());
}

async fn per_address_throttling_locks_every_username(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.login.max_failures_per_address = 3).await;
    let lockout = s.app.config.login.lockout_secs;
    s.user("real-user", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    for user in ["spray-1", "spray-2", "real-user"] {
        fail_n(&s, &mut browser, &page, user, 1).await;
    }
    // A 4th username, known or not, right password or not: locked out at this address.
    assert_locked_out(&try_login(&s, &mut browser, &page, "spray-4", "guess").await);
    assert_locked_out(&try_login(&s, &mut browser, &page, "real-user", PW).await);
    // A second browser on the same address gets no fresh allowance.
    let mut second = Agent::new();
    let page2 = second
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert_locked_out(&try_login(&s, &mut second, &page2, "real-user", PW).await);
    s.clock.advance(lockout + 1);
    let done = try_login(&s, &mut browser, &page, "real-user", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
}

// 7. Hostile input -------------------------------------------------------------------------------

async fn hostile_input_gets_a_plain_page_never_a_500(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(page.status, 200);
    let csrf = page.hidden("csrf").unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let cookie = format!("auth_csrf={csrf}");
    let raw = |path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut req = http
            .post(format!("{}{path}", s.base))
            .header("cookie", cookie.as_str())
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        async move {
            let res = req.send().await.unwrap();
            Page {
                status: res.status().as_u16(),
                headers: res.headers().clone(),
                body: res.text().await.unwrap(),
            }
        }
    };
    let form = "application/x-www-form-urlencoded";

    // A 100 KB form body.
    let mut big = format!("csrf={csrf}&username=alice&password=");
    big.push_str(&"p".repeat(100 * 1024));
    let r = raw("/login", Some(form), big.clone().into_bytes()).await;
    assert_error_page(&r, 400);
    // Bodies that are not forms.
    let creds = format!("csrf={csrf}&username=alice&password=x");
    for path in ["/login", "/consent", "/authorize", "/logout"] {
        for ct in [
            Some("application/json"),
            Some("text/plain"),
            Some("multipart/form-data; boundary=x"),
            Some("application/x-www-form-urlencoded-evil"),
            None,
        ] {
            let r = raw(path, ct, creds.clone().into_bytes()).await;
            assert_error_page(&r, 400);
        }
        let r = raw(
            path,
            Some("application/json"),
            br#"{"username":"alice"}"#.to_vec(),
        )
        .await;
        assert_error_page(&r, 400);
        // Invalid percent-encoding / not UTF-8.
        for body in [
            &b"csrf=%ff%fe&username=alice"[..],
            b"username=\xff\xfe",
            b"a=%c3%28",
        ] {
            let r = raw(path, Some(form), body.to_vec()).await;
            assert_error_page(&r, 400);
        }
        // Too many parameters.
        let r = raw(path, Some(form), "a=1&".repeat(100).into_bytes()).await;
        assert_error_page(&r, 400);
    }
    // The form content type with a charset is still a form (the wrong CSRF token still fails).
    let r = raw(
        "/login",
        Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        b"csrf=nope&username=alice&password=x".to_vec(),
    )
    .await;
    assert_error_page(&r, 403);

    // Garbage queries to /authorize and /logout.
    for query in [
        "%%%&&==&=&a",
        "client_id=%ff%fe",
        "client_id=app&redirect_uri=%E0%A4",
        "client_id=%00",
        "client_id=%00app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        "client_id=app%0d%0aSet-Cookie:%20x=1&redirect_uri=x",
        "client_id=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "client_id=' OR '1'='1",
        "=&=&=",
        "client_id",
    ] {
        let p = browser.get(&format!("{}/authorize?{query}", s.base)).await;
        assert_error_page(&p, 400);
        assert!(!p.body.contains("<script>"), "{}", p.body);
        assert!(set_cookie(&p, "x").is_none());
    }
    let long_id = format!("{}/authorize?client_id={}", s.base, "a".repeat(5000));
    assert_error_page(&browser.get(&long_id).await, 400);
    let many = format!("{}/authorize?{}", s.base, "a=1&".repeat(100));
    assert_error_page(&browser.get(&many).await, 400);
    for query in [
        "id_token_hint=garbage",
        "id_token_hint=%ff",
        "id_token_hint=a.b.c",
        "id_token_hint=%00",
    ] {
        let p = browser.get(&format!("{}/logout?{query}", s.base)).await;
        assert_error_page(&p, 400);
    }

    // Control characters in free-text parameters (a NUL cannot even be stored by PostgreSQL):
    // invalid_request, back to the client.
    let good = good_params(&app, &Pkce::new());
    for (name, value) in [
        ("nonce", "n\0nce"),
        ("nonce", "n\r\nonce"),
        ("login_hint", "a\0b"),
        ("state", "st\0"),
    ] {
        let p = browser
            .get(&authorize(&s, &with(&good, name, Some(value))))
            .await;
        let state = if name == "state" {
            Some(value)
        } else {
            Some("st")
        };
        assert_error_redirect(&p, &s, &app, "invalid_request", state);
    }
    // Sign-in with hostile usernames and passwords: the same 401 as any wrong password.
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    for (user, pw) in [
        ("a\0b", "x"),
        ("alice\0", PW),
        (&*"u".repeat(5000), "x"),
        ("alice", &*"p".repeat(10_000)),
        ("' OR '1'='1", "' OR '1'='1"),
        ("alice\r\nx", PW),
        ("ålice", PW),
        ("", PW),
        ("alice", ""),
    ] {
        let r = try_login(&s, &mut browser, &page, user, pw).await;
        assert_eq!(r.status, 401, "{user:?}: {}", r.body);
        assert!(r.body.contains(REJECTED));
        assert_locked_page(&r);
        assert!(!browser.cookies.contains_key("auth_session"));
    }
    // A hostile cookie header is ignored.
    let mut odd = Agent::new();
    odd.cookies.insert("auth_session".into(), "%%%\"".into());
    odd.cookies.insert("auth_csrf".into(), "=;=".into());
    let p = odd
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(p.status, 200);
    assert!(is_login_page(&p));
    assert_locked_page(&p);
    let long = "s".repeat(4000);
    odd.cookies.insert("auth_session".into(), long);
    let p = odd
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(p.status, 200);
    // After all this, the real user can still sign in (the hostile attempts stayed under the
    // per-account limit for "alice": one with a long password, one empty).
    let done = s.sign_in(&mut browser, &page, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
}

// 8. Disabled users ------------------------------------------------------------------------------

async fn disabled_users_cannot_sign_in_and_lose_their_session(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("bob", PW).await;
    s.user("carol", PW).await;
    s.user("dave", PW).await;
    let app = s.web_client("app", first_party()).await;
    let partner = s.web_client("partner", WebClientOptions::default()).await;

    // Disabled before signing in: the same 401 as a wrong password.
    let mut browser = Agent::new();
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    let wrong = try_login(&s, &mut browser, &page, "bob", "wrong").await;
    s.app.users.set_disabled("bob", true).await.unwrap();
    let disabled = try_login(&s, &mut browser, &page, "bob", PW).await;
    assert_eq!(disabled.status, 401, "{}", disabled.body);
    assert!(disabled.body.contains(REJECTED));
    assert_eq!(
        disabled.body, wrong.body,
        "indistinguishable from a wrong password"
    );
    assert!(set_cookie(&disabled, "auth_session").is_none());
    assert!(!browser.cookies.contains_key("auth_session"));

    // Signed in, then disabled: the next /authorize asks for the password again.
    let mut carol = Agent::new();
    s.code_for(&mut carol, &app, &Pkce::new(), "openid", "carol", PW)
        .await;
    assert!(has_session(&s, &mut carol, &app).await);
    s.app.users.set_disabled("carol", true).await.unwrap();
    let page = carol
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(is_login_page(&page));
    assert!(!has_session(&s, &mut carol, &app).await);
    let again = try_login(&s, &mut carol, &page, "carol", PW).await;
    assert_eq!(again.status, 401);

    // Disabled while the consent page is open: allowing gives no code.
    let mut dave = Agent::new();
    let page = dave
        .get(&s.authorize_url(&partner, &Pkce::new(), "openid", &[]))
        .await;
    let consent = s.sign_in(&mut dave, &page, "dave", PW).await;
    assert!(consent.body.contains("id=\"allow\""), "{}", consent.body);
    s.app.users.set_disabled("dave", true).await.unwrap();
    let r = dave
        .submit(
            &consent,
            &format!("{}/consent", s.base),
            &[("decision", "allow")],
        )
        .await;
    assert!(r.location_param("code").is_none(), "{:?}", r.location());
    assert!(is_login_page(&r), "{} {}", r.status, r.body);
    assert_locked_page(&r);
}
