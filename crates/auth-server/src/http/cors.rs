//! CORS (the WHATWG Fetch standard, §3.2 "CORS protocol") for single-page apps: public clients
//! that call `/token`, `/revoke` and `/userinfo` from the browser.
//!
//! - **Preflight** (`OPTIONS` with `Access-Control-Request-Method`): a preflight names no client,
//!   so it is allowed for an origin that some enabled client registered (its redirect URIs'
//!   origins and its `allowed_origins`; the cached set of
//!   [`ClientRegistry::is_registered_origin`]), for the endpoint's methods and the request headers
//!   these calls need (`Authorization`, `Content-Type`), cached by the browser for
//!   [`MAX_AGE_SECS`]. Anything else gets 403 without CORS headers, which the browser reports as a
//!   failed preflight.
//! - **The actual response** carries `Access-Control-Allow-Origin: <origin>` only when the origin
//!   belongs to the client the request turned out to be from: the client the token endpoint or
//!   the revocation endpoint identified (noted by the handler with
//!   [`with_client`](super::access_log::with_client)), or the client the userinfo token was
//!   issued to ([`with_token_client`]). Errors answered for that client carry it too (an SPA must
//!   be able to read `invalid_grant`). An error answered before any client is known (an unknown
//!   client, an invalid token) says nothing about any client or user, so it carries the header for
//!   any registered origin; a success never does without its client.
//! - Never `*` on these endpoints, never `Access-Control-Allow-Credentials` (these calls use no
//!   cookies: the browser sends none cross-origin without it), and `Vary: Origin` on every answer
//!   so a cache never hands one origin's answer to another.
//!
//! Why a small middleware rather than tower-http's `CorsLayer`: its origin predicate sees only the
//! request, before the handler ran, so it can say "some client registered this origin" but not
//! "the client making this request did" (the client is known only once the form was read and the
//! client identified, or the token verified). The public documents (discovery, JWKS) do use one
//! fixed header, `*` (see `http::mod`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::access_log::LoggedClient;
use super::error::json_error;
use crate::domain::clients::ClientRegistry;

/// How long a browser may cache a preflight's answer (`Access-Control-Max-Age`), in seconds.
pub const MAX_AGE_SECS: u32 = 600;

/// The request headers these calls need: `Authorization` (a bearer token at `/userinfo`, or
/// `client_secret_basic`) and `Content-Type` (a form body that a library labels explicitly).
/// and `DPoP` (a proof, RFC 9449 §4.1).
const ALLOWED_HEADERS: [&str; 3] = ["authorization", "content-type", "dpop"];

/// The per-endpoint CORS policy: which client registry to ask, and the endpoint's methods.
#[derive(Debug, Clone)]
pub struct Cors {
    clients: ClientRegistry,
    methods: &'static [Method],
}

impl Cors {
    /// The policy for an endpoint answering `methods`.
    pub fn new(clients: ClientRegistry, methods: &'static [Method]) -> Self {
        Self { clients, methods }
    }
}

/// The client a userinfo token was issued to, for CORS: put in the response's extensions.
#[derive(Debug, Clone)]
pub struct TokenClient(pub Arc<str>);

/// `res` marked as answered for the client `token` was issued to (its `client_id` claim, RFC 9068
/// §2.2). Only for a token the handler has just verified: the claim is read, not checked, here.
pub fn with_token_client(token: &str, res: impl IntoResponse) -> Response {
    let mut res = res.into_response();
    if let Some(id) = client_id_claim(token) {
        res.extensions_mut().insert(TokenClient(id.into()));
    }
    res
}

/// The `client_id` claim of a compact JWS's payload.
fn client_id_claim(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("client_id")?.as_str().map(str::to_owned)
}

/// The middleware (`axum::middleware::from_fn_with_state(Cors::new(..), cors::per_client)`).
pub async fn per_client(State(cors): State<Cors>, req: Request, next: Next) -> Response {
    let Some(origin) = origin(req.headers()) else {
        let mut res = next.run(req).await;
        vary(res.headers_mut(), false);
        return res;
    };
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(&cors, &origin, req.headers()).await;
    }
    let mut res = next.run(req).await;
    let ext = res.extensions();
    let client = ext
        .get::<TokenClient>()
        .map(|c| c.0.clone())
        .or_else(|| ext.get::<LoggedClient>().map(|c| c.0.clone()));
    if allowed(&cors, &origin, client, res.status()).await
        && let Ok(v) = HeaderValue::from_str(&origin)
    {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate, DPoP-Nonce"),
        );
    }
    vary(res.headers_mut(), false);
    res
}

/// The request's single `Origin`, if it is one ("null" and repeated headers are none).
fn origin(headers: &HeaderMap) -> Option<String> {
    let mut all = headers.get_all(header::ORIGIN).iter();
    let first = all.next()?;
    if all.next().is_some() {
        return None;
    }
    first
        .to_str()
        .ok()
        .filter(|o| *o != "null")
        .map(str::to_owned)
}

/// Whether the actual response may be read by `origin` (see the module documentation).
/// `client` is the one the response was for, if known.
async fn allowed(cors: &Cors, origin: &str, client: Option<Arc<str>>, status: StatusCode) -> bool {
    match client {
        Some(id) => matches!(
            cors.clients.get(&id).await,
            Ok(Some(c)) if c.allows_origin(origin)
        ),
        None if status.is_client_error() => {
            matches!(cors.clients.is_registered_origin(origin).await, Ok(true))
        }
        None => false,
    }
}

/// The answer to a preflight from `origin`.
async fn preflight(cors: &Cors, origin: &str, headers: &HeaderMap) -> Response {
    let method_ok = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| cors.methods.iter().any(|allowed| allowed.as_str() == m));
    let headers_ok = headers
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .all(|v| {
            v.to_str().is_ok_and(|list| {
                list.split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .all(|h| h.is_empty() || ALLOWED_HEADERS.contains(&h.as_str()))
            })
        });
    let registered = match cors.clients.is_registered_origin(origin).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "storage failed answering a CORS preflight");
            let mut res = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again later",
            );
            vary(res.headers_mut(), true);
            return res;
        }
    };
    let mut res = if registered && method_ok && headers_ok {
        let mut res = StatusCode::NO_CONTENT.into_response();
        let methods = cors
            .methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let h = res.headers_mut();
        for (name, value) in [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.to_owned()),
            (header::ACCESS_CONTROL_ALLOW_METHODS, methods),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type, DPoP".to_owned(),
            ),
            (header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        res
    } else {
        json_error(
            StatusCode::FORBIDDEN,
            "cors_refused",
            "this origin, method or header is not allowed here",
        )
    };
    vary(res.headers_mut(), true);
    res
}

/// Adds `Vary: Origin` (and, for a preflight, the request headers it depends on).
fn vary(h: &mut HeaderMap, preflight: bool) {
    let names: &[HeaderName] = if preflight {
        &[
            header::ORIGIN,
            header::ACCESS_CONTROL_REQUEST_METHOD,
            header::ACCESS_CONTROL_REQUEST_HEADERS,
        ]
    } else {
        &[header::ORIGIN]
    };
    for name in names {
        h.append(header::VARY, HeaderValue::from(name.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_id_claim_is_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u","client_id":"spa"}"#);
        assert_eq!(
            client_id_claim(&format!("e30.{payload}.sig")).as_deref(),
            Some("spa")
        );
        assert_eq!(client_id_claim("not-a-jwt"), None);
        assert_eq!(client_id_claim("e30.!!!.x"), None);
    }

    #[test]
    fn only_one_real_origin_counts() {
        let mut h = HeaderMap::new();
        assert_eq!(origin(&h), None);
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert_eq!(origin(&h), None);
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://a.example"),
        );
        assert_eq!(origin(&h).as_deref(), Some("https://a.example"));
        h.append(
            header::ORIGIN,
            HeaderValue::from_static("https://b.example"),
        );
        assert_eq!(origin(&h), None);
    }
}
