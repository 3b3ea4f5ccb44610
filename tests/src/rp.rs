//! A tiny relying party: a web app that signs its users in with the IdP, as an internal app of the
//! company would (OpenID Connect authorization-code flow with PKCE, a confidential client). It runs
//! in-process on an ephemeral port and keeps its pending logins, the last ID token and its own
//! sessions in memory. Its session cookie is named after its port (`rp_session_PORT`): the browser
//! tests run every app on 127.0.0.1, where cookies ignore the port, so each app needs its own name.
//!
//! Routes:
//! - `GET /`: a fresh `state`, `nonce` and PKCE `code_verifier`; `303` to `{issuer}/authorize`.
//! - `GET /callback?code&state`: redeems the code at `{issuer}/token` (HTTP Basic client
//!   authentication, the `code_verifier`), checks the ID token's `iss`, `aud` and `nonce` (not its
//!   signature: that is the verifier tests' subject), and shows
//!   `<h1 id="welcome">Signed in to {name} as {preferred_username}</h1>`, and starts the app's own
//!   session (its cookie) for the ID token's `sid` and `sub`. Any failure shows
//!   `<h1 id="rp-error">` with the reason; an unknown `state` is a `400`.
//! - `GET /me`: whether the app's own session is alive: `<h1 id="me">Signed in to {name} as
//!   {preferred_username}</h1>`, or `401` with `<h1 id="me-signed-out">Not signed in to {name}</h1>`.
//! - `POST /backchannel-logout` (OpenID Connect Back-Channel Logout 1.0 §2.5): validates the
//!   form field `logout_token` with auth-verifier's [`LogoutTokenVerifier`] (keys from the IdP's
//!   discovery, `aud` this client, replay refused) and ends the app's sessions of its `sid` (or,
//!   without one, of its `sub`): `200` with `Cache-Control: no-store`, or `400` with
//!   `{"error":"invalid_request"}` (§2.8).
//! - `GET /logout`: ends the app's own session, and `303` to `{issuer}/logout` with its ID token
//!   (without a session, the last ID token) as `id_token_hint`,
//!   `post_logout_redirect_uri={base}/logged-out` and `state=xyz`.
//! - `GET /logged-out`: `<h1 id="app-logged-out">Logged out of {name}</h1>`, and the `state` it was
//!   given back in `<p id="logout-state">`.
//!
//! Register the client with redirect URI `{base}/callback`, post-logout redirect URI
//! `{base}/logged-out` and back-channel logout URI `{base}/backchannel-logout`: [`Rp::bind`] gives
//! the base URL before the app serves.

mod app_session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use auth_core::{Clock, SystemClock};
use auth_server::domain::random;
use auth_verifier::{LogoutToken, LogoutTokenVerifier};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The `state` the app sends with its logout request.
pub const LOGOUT_STATE: &str = "xyz";

/// An app bound to its port, not yet serving (its client is registered in between).
#[derive(Debug)]
pub struct BoundRp {
    /// The app's display name.
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
}

/// A running relying party; it stops when dropped.
#[derive(Debug)]
pub struct Rp {
    /// The app's display name.
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    state: Arc<RpState>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct RpState {
    name: String,
    base_url: String,
    issuer: String,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
    /// Logins under way, by `state`.
    pending: Mutex<HashMap<String, Pending>>,
    /// The ID token of the last sign-in.
    last_id_token: Mutex<Option<String>>,
    /// The app's own sessions, by cookie value.
    sessions: Mutex<HashMap<String, AppSession>>,
    /// `rp_session_PORT`.
    cookie: String,
    /// The clock logout tokens are checked against (the IdP's, in tests that move it).
    clock: Arc<dyn Clock>,
    /// Built at the first logout token (the IdP is up by then).
    logout_verifier: tokio::sync::OnceCell<LogoutTokenVerifier>,
    /// The logout tokens accepted, in order.
    logouts: Mutex<Vec<LogoutToken>>,
}

#[derive(Debug, Clone)]
struct AppSession {
    sid: Option<String>,
    sub: String,
    username: String,
    id_token: String,
}

#[derive(Debug)]
struct Pending {
    nonce: String,
    code_verifier: String,
}

impl Rp {
    /// Binds an app named `name` on 127.0.0.1 (an ephemeral port).
    pub async fn bind(name: &str) -> BoundRp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        BoundRp {
            name: name.to_owned(),
            base_url,
            listener,
            clock: Arc::new(SystemClock),
        }
    }

    /// Binds and serves at once (when the client is registered with another redirect URI).
    pub async fn start(name: &str, issuer: &str, client_id: &str, client_secret: &str) -> Self {
        Self::bind(name)
            .await
            .serve(issuer, client_id, client_secret)
    }

    /// The ID token of the last sign-in, if any.
    pub fn last_id_token(&self) -> Option<String> {
        self.state.last_id_token.lock().unwrap().clone()
    }

    /// The logout tokens this app accepted, in order.
    pub fn logouts(&self) -> Vec<LogoutToken> {
        self.state.logouts.lock().unwrap().clone()
    }

    /// How many of the app's own sessions are alive.
    pub fn live_sessions(&self) -> usize {
        self.state.sessions.lock().unwrap().len()
    }

    /// The name of the app's session cookie.
    pub fn cookie_name(&self) -> &str {
        &self.state.cookie
    }
}

impl BoundRp {
    /// Checks logout tokens against `clock` (the IdP's, when a test moves it) instead of the
    /// system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Starts serving, as client `client_id` of the IdP at `issuer`.
    pub fn serve(self, issuer: &str, client_id: &str, client_secret: &str) -> Rp {
        let port = self
            .base_url
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let state = Arc::new(RpState {
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            pending: Mutex::new(HashMap::new()),
            last_id_token: Mutex::new(None),
            sessions: Mutex::new(HashMap::new()),
            cookie: format!("rp_session_{port}"),
            clock: self.clock,
            logout_verifier: tokio::sync::OnceCell::new(),
            logouts: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/", get(start_login))
            .route("/callback", get(callback))
            .route("/logout", get(logout))
            .route("/logged-out", get(logged_out))
            .route("/me", get(app_session::me))
            .route("/backchannel-logout", post(app_session::backchannel_logout))
            .with_state(state.clone());
        let listener = self.listener;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Rp {
            name: self.name,
            base_url: self.base_url,
            state,
            task,
        }
    }
}

impl Drop for Rp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = State<Arc<RpState>>;
type Params = Query<HashMap<String, String>>;

/// `url` with `params` as its query, spaces as `%20` (`+` is what form encoding makes of a space,
/// and a literal `+` is `%2B`, so the swap is exact).
fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(url).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    let query = url.query().unwrap_or_default().replace('+', "%20");
    url.set_query(Some(&query));
    url.into()
}

/// RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
fn form_encode(s: &str) -> String {
    let mut url = Url::parse("http://x/").unwrap();
    url.query_pairs_mut().append_pair("v", s);
    url.query().unwrap_or_default()["v=".len()..].to_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
        escape(title)
    ))
}

fn error_page(status: StatusCode, name: &str, what: &str) -> Response {
    (
        status,
        page(
            name,
            &format!(
                "<h1 id=\"rp-error\">{} could not sign you in</h1><pre>{}</pre>",
                escape(name),
                escape(what)
            ),
        ),
    )
        .into_response()
}

async fn start_login(State(rp): Shared) -> Redirect {
    let state = random::token(16);
    let nonce = random::token(16);
    // RFC 7636 §4.1: 32 random bytes, base64url: 43 characters.
    let code_verifier = random::token(32);
    let code_challenge = URL_SAFE_NO_PAD.encode(random::sha256(code_verifier.as_bytes()));
    rp.pending.lock().unwrap().insert(
        state.clone(),
        Pending {
            nonce: nonce.clone(),
            code_verifier,
        },
    );
    let redirect_uri = format!("{}/callback", rp.base_url);
    Redirect::to(&with_query(
        &format!("{}/authorize", rp.issuer),
        &[
            ("response_type", "code"),
            ("client_id", &rp.client_id),
            ("redirect_uri", &redirect_uri),
            ("scope", "openid profile"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &code_challenge),
            ("code_challenge_method", "S256"),
        ],
    ))
}

async fn callback(State(rp): Shared, Query(q): Params) -> Response {
    let Some(pending) = q
        .get("state")
        .and_then(|s| rp.pending.lock().unwrap().remove(s))
    else {
        return error_page(StatusCode::BAD_REQUEST, &rp.name, "unknown state");
    };
    if let Some(error) = q.get("error") {
        let description = q.get("error_description").map_or("", String::as_str);
        return error_page(
            StatusCode::BAD_REQUEST,
            &rp.name,
            &format!("the IdP answered {error}: {description}"),
        );
    }
    let Some(code) = q.get("code") else {
        return error_page(StatusCode::BAD_REQUEST, &rp.name, "no code");
    };
    match redeem(&rp, code, &pending).await {
        Ok(session) => {
            let welcome = page(
                &rp.name,
                &format!(
                    "<h1 id=\"welcome\">Signed in to {} as {}</h1>",
                    escape(&rp.name),
                    escape(&session.username)
                ),
            );
            let secret = random::token(32);
            rp.sessions.lock().unwrap().insert(secret.clone(), session);
            let cookie = format!("{}={secret}; Path=/; HttpOnly; SameSite=Lax", rp.cookie);
            ([(header::SET_COOKIE, cookie)], welcome).into_response()
        }
        Err(why) => error_page(StatusCode::BAD_GATEWAY, &rp.name, &why),
    }
}

/// Redeems the code, checks the ID token, keeps it for logout; returns the app's new session.
async fn redeem(rp: &RpState, code: &str, pending: &Pending) -> Result<AppSession, String> {
    let redirect_uri = format!("{}/callback", rp.base_url);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            form_encode(&rp.client_id),
            form_encode(&rp.client_secret)
        ))
    );
    let res = rp
        .http
        .post(format!("{}/token", rp.issuer))
        .header("authorization", basic)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &pending.code_verifier),
        ])
        .send()
        .await
        .map_err(|e| format!("token request failed: {e}"))?;
    let status = res.status();
    let body = res.text().await.map_err(|e| e.to_string())?;
    if status != StatusCode::OK {
        return Err(format!("token endpoint answered {status}: {body}"));
    }
    let tokens: Value =
        serde_json::from_str(&body).map_err(|e| format!("token response {body}: {e}"))?;
    if tokens["access_token"].as_str().is_none_or(str::is_empty) {
        return Err(format!("no access_token in {body}"));
    }
    let id_token = tokens["id_token"]
        .as_str()
        .ok_or_else(|| format!("no id_token in {body}"))?;
    let claims = payload(id_token)?;
    if claims["iss"] != rp.issuer.as_str() {
        return Err(format!("ID token iss is not {}: {claims}", rp.issuer));
    }
    // OIDC Core §3.1.3.7: aud is the client id, or an array containing it.
    let aud_ok = match &claims["aud"] {
        Value::String(a) => *a == rp.client_id,
        Value::Array(all) => all.iter().any(|a| *a == rp.client_id.as_str()),
        _ => false,
    };
    if !aud_ok {
        return Err(format!("ID token aud is not {}: {claims}", rp.client_id));
    }
    if claims["nonce"] != pending.nonce.as_str() {
        return Err(format!("ID token nonce is not {}: {claims}", pending.nonce));
    }
    if claims["sub"].as_str().is_none_or(str::is_empty) {
        return Err(format!("ID token has no sub: {claims}"));
    }
    let username = claims["preferred_username"]
        .as_str()
        .ok_or_else(|| format!("ID token has no preferred_username: {claims}"))?
        .to_owned();
    *rp.last_id_token.lock().unwrap() = Some(id_token.to_owned());
    Ok(AppSession {
        sid: claims["sid"].as_str().map(str::to_owned),
        sub: claims["sub"].as_str().unwrap_or_default().to_owned(),
        username,
        id_token: id_token.to_owned(),
    })
}

/// The claims of a compact JWS, not verified.
fn payload(jwt: &str) -> Result<Value, String> {
    let mut parts = jwt.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("the ID token is not a compact JWS: {jwt}"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| format!("ID token payload: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("ID token payload: {e}"))
}

async fn logout(State(rp): Shared, headers: HeaderMap) -> Response {
    let own = app_session::session_cookie(&rp, &headers)
        .and_then(|s| rp.sessions.lock().unwrap().remove(&s));
    let hint = own
        .map(|s| s.id_token)
        .or_else(|| rp.last_id_token.lock().unwrap().clone());
    let Some(id_token) = hint else {
        return error_page(StatusCode::CONFLICT, &rp.name, "nobody is signed in here");
    };
    let back = format!("{}/logged-out", rp.base_url);
    Redirect::to(&with_query(
        &format!("{}/logout", rp.issuer),
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", &back),
            ("state", LOGOUT_STATE),
        ],
    ))
    .into_response()
}

async fn logged_out(State(rp): Shared, Query(q): Params) -> Html<String> {
    rp.last_id_token.lock().unwrap().take();
    let state = q.get("state").map_or("", String::as_str);
    page(
        &rp.name,
        &format!(
            "<h1 id=\"app-logged-out\">Logged out of {}</h1><p id=\"logout-state\">{}</p>",
            escape(&rp.name),
            escape(state)
        ),
    )
}
