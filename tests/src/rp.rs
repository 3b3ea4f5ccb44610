//! A tiny relying party: a web app that signs its users in with the IdP, as an internal app of the
//! company would (OpenID Connect authorization-code flow with PKCE, a confidential client). It runs
//! in-process on an ephemeral port, keeps its pending logins and the last ID token in memory, and uses
//! no cookies of its own (the browser tests all run on 127.0.0.1, where cookies ignore the port).
//!
//! Routes:
//! - `GET /`: a fresh `state`, `nonce` and PKCE `code_verifier`; `303` to `{issuer}/authorize`.
//! - `GET /callback?code&state`: redeems the code at `{issuer}/token` (HTTP Basic client
//!   authentication, the `code_verifier`), checks the ID token's `iss`, `aud` and `nonce` (not its
//!   signature: that is the verifier tests' subject), and shows
//!   `<h1 id="welcome">Signed in to {name} as {preferred_username}</h1>`. Any failure shows
//!   `<h1 id="rp-error">` with the reason; an unknown `state` is a `400`.
//! - `GET /logout`: `303` to `{issuer}/logout` with the last ID token as `id_token_hint`,
//!   `post_logout_redirect_uri={base}/logged-out` and `state=xyz`.
//! - `GET /logged-out`: `<h1 id="app-logged-out">Logged out of {name}</h1>`, and the `state` it was
//!   given back in `<p id="logout-state">`.
//!
//! Register the client with redirect URI `{base}/callback` and post-logout redirect URI
//! `{base}/logged-out`: [`Rp::bind`] gives the base URL before the app serves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use auth_server::domain::random;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
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
}

impl BoundRp {
    /// Starts serving, as client `client_id` of the IdP at `issuer`.
    pub fn serve(self, issuer: &str, client_id: &str, client_secret: &str) -> Rp {
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
        });
        let router = Router::new()
            .route("/", get(start_login))
            .route("/callback", get(callback))
            .route("/logout", get(logout))
            .route("/logged-out", get(logged_out))
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
        Ok(username) => page(
            &rp.name,
            &format!(
                "<h1 id=\"welcome\">Signed in to {} as {}</h1>",
                escape(&rp.name),
                escape(&username)
            ),
        )
        .into_response(),
        Err(why) => error_page(StatusCode::BAD_GATEWAY, &rp.name, &why),
    }
}

/// Redeems the code, checks the ID token, keeps it for logout; returns `preferred_username`.
async fn redeem(rp: &RpState, code: &str, pending: &Pending) -> Result<String, String> {
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
    Ok(username)
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

async fn logout(State(rp): Shared) -> Response {
    let Some(id_token) = rp.last_id_token.lock().unwrap().clone() else {
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
