//! Helpers shared by the `sso_*` end-to-end modules: the token endpoints (codes, refresh,
//! revocation, introspection) and the browser pages under attack (error pages, authorization
//! requests, sign-in forms).

use serde_json::{Value, json};

use crate::TestServer;
use crate::oauth::{Agent, Page, Pkce, WebClient, WebClientOptions, encode_form};
use crate::responses::{ErrorBody, TokenResponse};

pub const PW: &str = "correct horse battery";

// Tokens -----------------------------------------------------------------------------------------

pub const OFFLINE: &str = "openid offline_access";

pub fn inactive() -> Value {
    json!({ "active": false })
}

/// A string field of a JSON body.
pub fn field(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("no string {k} in {v}"))
        .to_owned()
}

/// Asserts a `400 invalid_grant` error response (RFC 6749 §5.2).
#[track_caller]
pub fn assert_invalid_grant(got: &(u16, Value)) {
    assert_error(got, 400, "invalid_grant");
}

/// Asserts an error response (RFC 6749 §5.2) with `status` and `error`.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, error: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(ErrorBody::parse(&got.1).error, error, "{}", got.1);
}

/// Gets a code for `scope` (signing `user` in unless the browser has a session) and redeems it.
pub async fn grant(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    scope: &str,
    user: &str,
) -> TokenResponse {
    let pkce = Pkce::new();
    let code = s.code_for(browser, app, &pkce, scope, user, PW).await;
    let (status, body) = s.redeem(app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    TokenResponse::parse(&body)
}

/// A code for alice to `app` (signing her in unless the browser has a session), with its PKCE pair.
pub async fn alice_code(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    scope: &str,
) -> (Pkce, String) {
    let pkce = Pkce::new();
    let code = s.code_for(browser, app, &pkce, scope, "alice", PW).await;
    (pkce, code)
}

/// As [`grant`], the body as JSON.
pub async fn tokens(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    scope: &str,
    user: &str,
) -> Value {
    grant(s, browser, app, scope, user).await.raw
}

/// Alice's refresh token from a new `openid offline_access` grant to `app`.
pub async fn alice_offline(s: &TestServer, browser: &mut Agent, app: &WebClient) -> String {
    let t = grant(s, browser, app, OFFLINE, "alice").await;
    t.refresh().to_owned()
}

/// Asserts the refresh token `rt` of `app` is dead: introspection says inactive (RFC 7662 §2.2) and
/// refreshing is `invalid_grant`.
pub async fn assert_refresh_dead(s: &TestServer, app: &WebClient, rt: &str) {
    assert_eq!(s.introspect(app, rt).await, inactive());
    assert_invalid_grant(&s.refresh(app, rt, None).await);
}

/// Refreshes, asserting success.
pub async fn refreshed(s: &TestServer, app: &WebClient, rt: &str) -> TokenResponse {
    let (status, body) = s.refresh(app, rt, None).await;
    assert_eq!(status, 200, "{body}");
    TokenResponse::parse(&body)
}

/// Refreshes, asserting success; returns the new refresh token.
pub async fn rotated(s: &TestServer, app: &WebClient, rt: &str) -> String {
    refreshed(s, app, rt).await.refresh().to_owned()
}

/// `POST /revoke` as `app`.
pub async fn revoke(
    s: &TestServer,
    app: &WebClient,
    token: &str,
    hint: Option<&str>,
) -> (u16, Value) {
    let mut pairs = vec![("token", token)];
    if let Some(hint) = hint {
        pairs.push(("token_type_hint", hint));
    }
    s.endpoint_as("/revoke", app, &pairs).await
}

/// A form POST to `path` with an optional `Authorization` header, as is.
pub async fn post_form(
    s: &TestServer,
    path: &str,
    authorization: Option<&str>,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| ("authorization", a))
        .into_iter()
        .collect();
    s.post_raw(path, encode_form(pairs), &headers).await
}

/// Status, `WWW-Authenticate` and body of a response.
pub async fn read(res: reqwest::Response) -> (u16, String, Value) {
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null);
    (status, challenge, body)
}

/// Asserts a failed client authentication: `401 invalid_client` with the Basic challenge (RFC 6749
/// §5.2). Returns the body.
pub async fn assert_client_refused(res: reqwest::Response) -> Value {
    let (status, challenge, body) = read(res).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(ErrorBody::parse(&body).error, "invalid_client", "{body}");
    assert!(challenge.starts_with("Basic "), "{challenge}");
    body
}

/// `GET /userinfo` with a bearer token: status and `WWW-Authenticate`.
pub async fn userinfo(s: &TestServer, access: &str) -> (u16, String) {
    let res = s
        .http
        .get(format!("{}/userinfo", s.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let (status, challenge, _) = read(res).await;
    (status, challenge)
}

// Pages ------------------------------------------------------------------------------------------

/// Strings that would mean a page shows the server's internals.
pub const INTERNALS: &[&str] = &[
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

pub fn header<'a>(p: &'a Page, name: &str) -> &'a str {
    p.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The `Set-Cookie` line for cookie `name`, if the response sets it.
pub fn set_cookie(p: &Page, name: &str) -> Option<String> {
    p.set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

pub fn assert_no_internals(p: &Page) {
    assert!(p.status < 500, "{} {}", p.status, p.body);
    for bad in INTERNALS {
        assert!(!p.body.contains(bad), "the page shows {bad:?}: {}", p.body);
    }
}

/// Every IdP page: HTML, not framable, not cached, nothing internal.
pub fn assert_locked_page(p: &Page) {
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
pub fn assert_error_page(p: &Page, status: u16) {
    assert_eq!(p.status, status, "{}", p.body);
    assert!(p.location().is_none(), "{:?}", p.location());
    assert!(p.body.contains("id=\"error-title\""), "{}", p.body);
    assert!(!p.body.contains("<form"), "{}", p.body);
    assert!(!p.body.contains("http-equiv"), "{}", p.body);
    assert!(set_cookie(p, "auth_session").is_none());
    assert_locked_page(p);
}

/// An error redirect to exactly `app`'s registered URI, with `error`, `state` (if given) and `iss`,
/// and no code.
pub fn assert_error_redirect(
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
pub type Params = Vec<(String, String)>;

/// The parameters of a good authorization request for `app`.
pub fn good_params(app: &WebClient, pkce: &Pkce) -> Params {
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
pub fn with(params: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        params.iter().filter(|(k, _)| k != name).cloned().collect();
    if let Some(v) = value {
        out.push((name.to_owned(), v.to_owned()));
    }
    out
}

pub fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// `GET /authorize` from `agent` for `app`, scope `openid`, with a fresh PKCE pair: the login page
/// when the agent has no session.
pub async fn authorize_openid(s: &TestServer, agent: &mut Agent, app: &WebClient) -> Page {
    agent
        .get(&s.authorize_url(app, &Pkce::new(), "openid", &[]))
        .await
}

/// The RP-initiated logout URL for `hint` (an ID token), back to `redirect` with `state`.
pub fn logout_url(s: &TestServer, hint: &str, redirect: &str, state: &str) -> String {
    let back = encode_form(&[("post_logout_redirect_uri", redirect), ("state", state)]);
    format!("{}/logout?id_token_hint={hint}&{back}", s.base)
}

pub fn authorize(s: &TestServer, params: &[(String, String)]) -> String {
    format!("{}/authorize?{}", s.base, encode_form(&refs(params)))
}

/// Submits the login form on `page` (whatever its status).
pub async fn try_login(
    s: &TestServer,
    agent: &mut Agent,
    page: &Page,
    user: &str,
    pw: &str,
) -> Page {
    assert!(page.body.contains("id=\"login-form\""), "{}", page.body);
    agent
        .submit(
            page,
            &format!("{}/login", s.base),
            &[("username", user), ("password", pw)],
        )
        .await
}

/// Signs `user` in from `browser` on `app`'s authorization request for `scope`; asserts that the
/// consent page follows and returns it.
pub async fn consent_page(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    scope: &str,
    user: &str,
) -> Page {
    let page = browser
        .get(&s.authorize_url(app, &Pkce::new(), scope, &[]))
        .await;
    let consent = s.sign_in(browser, &page, user, PW).await;
    assert!(consent.body.contains("id=\"allow\""), "{}", consent.body);
    consent
}

/// `erin`, signed in, on the consent page of a third-party client `partner` for `openid email`:
/// her browser, the client, the page.
pub async fn on_consent_page(s: &TestServer) -> (Agent, WebClient, Page) {
    s.user("erin", PW).await;
    let partner = s.web_client("partner", WebClientOptions::default()).await;
    let mut browser = Agent::new();
    let consent = consent_page(s, &mut browser, &partner, "openid email", "erin").await;
    (browser, partner, consent)
}

/// Answers the consent page `page` with `decision` (`allow` or `deny`).
pub async fn decide(s: &TestServer, agent: &mut Agent, page: &Page, decision: &str) -> Page {
    let action = format!("{}/consent", s.base);
    agent.submit(page, &action, &[("decision", decision)]).await
}

/// One guess from a fresh browser: loads the login page at `url` and signs `user` in with a wrong
/// password; returns the status of the answer.
pub async fn wrong_guess(s: &TestServer, url: &str, user: &str) -> u16 {
    let mut b = Agent::new();
    let page = b.get(url).await;
    s.sign_in(&mut b, &page, user, "wrong password")
        .await
        .status
}

pub fn is_login_page(p: &Page) -> bool {
    p.body.contains("id=\"login-form\"")
}

/// `GET /authorize` for `openid` with `prompt=none` (OIDC Core §3.1.2.1): no page may be shown.
pub async fn silent(s: &TestServer, agent: &mut Agent, app: &WebClient) -> Page {
    let url = s.authorize_url(app, &Pkce::new(), "openid", &[("prompt", "none")]);
    agent.get(&url).await
}

/// Asserts that `prompt=none` sends the browser back to `app` with `error`.
pub async fn assert_silent_error(s: &TestServer, agent: &mut Agent, app: &WebClient, error: &str) {
    let page = silent(s, agent, app).await;
    assert_eq!(page.location_param("error").as_deref(), Some(error));
}

/// Whether `agent` has a live session: `prompt=none` gets a code rather than `login_required`.
pub async fn has_session(s: &TestServer, agent: &mut Agent, app: &WebClient) -> bool {
    let p = silent(s, agent, app).await;
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
