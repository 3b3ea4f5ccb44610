//! The client registration endpoint (RFC 7591 §3) and the client configuration endpoint
//! (RFC 7592 §2), served only when `registration.enabled` is set. Both are protected by bearer
//! tokens (RFC 6750): an initial access token for `POST /register`, the client's registration
//! access token for `GET`, `PUT` and `DELETE /register/{client_id}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::json;

use super::HttpState;
use super::client_addr::{ClientAddr, request_meta};
use super::state::{BrowserEndpoints, OAuthEndpoints};
use crate::domain::clients::{
    Client, ClientMetadata, MetadataError, RegisteredMetadata, RegistrationError,
};

/// The largest metadata document accepted.
const MAX_BODY: usize = 64 * 1024;

/// The routes, or none when registration is disabled.
pub fn routes(enabled: bool) -> Router<HttpState> {
    if !enabled {
        return Router::new();
    }
    Router::new().route("/register", post(register)).route(
        "/register/{client_id}",
        axum::routing::get(read).put(update).delete(delete),
    )
}

/// A client information response (RFC 7591 §3.2.1, RFC 7592 §3).
#[derive(Serialize)]
struct Information {
    #[serde(flatten)]
    metadata: RegisteredMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    /// "REQUIRED if "client_secret" is issued" (§3.2.1); 0: it does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<i64>,
    registration_access_token: String,
    registration_client_uri: String,
}

fn information(
    browser: &BrowserEndpoints,
    client: &Client,
    secret: Option<String>,
    access_token: String,
) -> Information {
    Information {
        metadata: RegisteredMetadata::from(client),
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        registration_access_token: access_token,
        registration_client_uri: format!("{}/{}", browser.issuer.registration(), client.id),
    }
}

/// An answer that must not be cached (RFC 7591 §3.2.1: `Cache-Control: no-store`).
fn no_store(status: StatusCode, body: impl Serialize) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// A refusal, as RFC 7591 §3.2.2 (metadata) and RFC 6750 §3 (tokens) write it.
fn refusal(e: RegistrationError, presented: bool) -> Response {
    let (status, error, description) = match &e {
        RegistrationError::InvalidToken => {
            (StatusCode::UNAUTHORIZED, "invalid_token", e.to_string())
        }
        RegistrationError::Metadata(MetadataError::RedirectUri(m)) => {
            (StatusCode::BAD_REQUEST, "invalid_redirect_uri", m.clone())
        }
        RegistrationError::Metadata(MetadataError::Metadata(m)) => (
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            m.clone(),
        ),
        RegistrationError::Conflict => (StatusCode::CONFLICT, "concurrent_update", e.to_string()),
        RegistrationError::Store(s) => {
            tracing::warn!(error = %s, "client registration failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable".to_owned(),
            )
        }
    };
    let mut res = no_store(
        status,
        json!({"error": error, "error_description": description}),
    );
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750 §3.1: no error code when the request carried no token.
        let challenge = if presented {
            "Bearer error=\"invalid_token\""
        } else {
            "Bearer"
        };
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}

/// The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is
/// case-insensitive), or the refusal: without a challenge's error code when there is no header.
fn bearer(headers: &HeaderMap) -> Result<&str, Box<Response>> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = value.and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
    });
    token.ok_or_else(|| Box::new(refusal(RegistrationError::InvalidToken, value.is_some())))
}

/// The body as client metadata: a JSON object of at most [`MAX_BODY`] bytes.
fn metadata(body: &[u8]) -> Result<ClientMetadata, Box<Response>> {
    let bad = |m: String| Box::new(refusal(MetadataError::Metadata(m).into(), true));
    if body.len() > MAX_BODY {
        return Err(bad(format!(
            "the metadata must be at most {MAX_BODY} bytes"
        )));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| bad("the body must be a JSON object of client metadata".into()))?;
    if !value.is_object() {
        return Err(bad(
            "the body must be a JSON object of client metadata".into()
        ));
    }
    serde_json::from_value(value).map_err(|e| bad(format!("malformed client metadata: {e}")))
}

/// `POST /register` (RFC 7591 §3.1): 201 with the client information response.
async fn register(
    State(oauth): State<Arc<OAuthEndpoints>>,
    State(browser): State<Arc<BrowserEndpoints>>,
    addr: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match bearer(&headers) {
        Ok(t) => t,
        Err(res) => return *res,
    };
    let m = match metadata(&body) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    let meta = request_meta(&headers, addr);
    match oauth.clients.register_dynamic(token, m, &meta).await {
        Ok(r) => no_store(
            StatusCode::CREATED,
            information(
                &browser,
                &r.client,
                r.client_secret,
                r.registration_access_token,
            ),
        ),
        Err(e) => refusal(e, true),
    }
}

/// `GET /register/{client_id}` (RFC 7592 §2.1).
async fn read(
    State(oauth): State<Arc<OAuthEndpoints>>,
    State(browser): State<Arc<BrowserEndpoints>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = match bearer(&headers) {
        Ok(t) => t,
        Err(res) => return *res,
    };
    match oauth.clients.read_dynamic(&client_id, token).await {
        Ok(c) => no_store(
            StatusCode::OK,
            information(&browser, &c, None, token.to_owned()),
        ),
        Err(e) => refusal(e, true),
    }
}

/// `PUT /register/{client_id}` (RFC 7592 §2.2): the registration access token is not rotated.
async fn update(
    State(oauth): State<Arc<OAuthEndpoints>>,
    State(browser): State<Arc<BrowserEndpoints>>,
    Path(client_id): Path<String>,
    addr: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match bearer(&headers) {
        Ok(t) => t,
        Err(res) => return *res,
    };
    let m = match metadata(&body) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    let meta = request_meta(&headers, addr);
    match oauth
        .clients
        .update_dynamic(&client_id, token, m, &meta)
        .await
    {
        Ok(c) => no_store(
            StatusCode::OK,
            information(&browser, &c, None, token.to_owned()),
        ),
        Err(e) => refusal(e, true),
    }
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3): 204.
async fn delete(
    State(oauth): State<Arc<OAuthEndpoints>>,
    Path(client_id): Path<String>,
    addr: ClientAddr,
    headers: HeaderMap,
) -> Response {
    let token = match bearer(&headers) {
        Ok(t) => t,
        Err(res) => return *res,
    };
    let meta = request_meta(&headers, addr);
    match oauth.clients.delete_dynamic(&client_id, token, &meta).await {
        Ok(()) => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => refusal(e, true),
    }
}
