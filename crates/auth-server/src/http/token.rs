//! `POST /token` (RFC 6749 §3.2).

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::client_auth::credentials;
use super::error::OAuthResponse;
use super::form::Form;
use crate::app::AppState;
use crate::domain::clients::AuthnError;
use crate::domain::grants::client_credentials::{self, ClientCredentialsRequest};
use crate::domain::oauth_error::{ErrorCode, OAuthError};

/// Largest token request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// RFC 6749 §5.1 success body.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

/// The token endpoint.
pub async fn token(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match handle(&app, &headers, body).await {
        Ok(res) => res,
        Err(e) => OAuthResponse(e).into_response(),
    }
}

async fn handle(app: &AppState, headers: &HeaderMap, body: Body) -> Result<Response, OAuthError> {
    // Read the body first (up to the cap), so the connection stays usable whatever we answer.
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return Ok(too_large());
    };
    // RFC 6749 §3.2: the client MUST use POST with application/x-www-form-urlencoded.
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let form = Form::parse(&bytes)?;
    let creds = credentials(headers, &form)?;
    let grant_type = form
        .single("grant_type")?
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let client = match app
        .clients
        .authenticate(&creds.client_id, &creds.secret)
        .await
    {
        Ok(c) => c,
        Err(AuthnError::Rejected) => return Err(OAuthError::invalid_client()),
        Err(AuthnError::Store(e)) => {
            tracing::warn!(error = %e, "client lookup failed");
            return Err(OAuthError::unavailable());
        }
    };
    match grant_type {
        "client_credentials" => {
            let req = ClientCredentialsRequest {
                scope: form.single("scope")?.map(str::to_owned),
                resources: form.all("resource").map(str::to_owned).collect(),
            };
            let grant = client_credentials::grant(&app.issuer, &client, &req).await?;
            Ok(success(&TokenResponse {
                access_token: &grant.access_token,
                token_type: "Bearer",
                expires_in: grant.expires_in,
                scope: grant.scope.as_deref(),
            }))
        }
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type is not supported",
        )),
    }
}

/// RFC 6749 §5.1: "The authorization server MUST include the HTTP "Cache-Control" response header
/// field with a value of "no-store" in any response containing tokens".
fn success(body: &TokenResponse<'_>) -> Response {
    let mut res = axum::Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// 413 with `Connection: close`: the rest of the body was not read, so the connection cannot be
/// reused (RFC 9110 §15.5.14).
fn too_large() -> Response {
    let mut res =
        OAuthResponse(OAuthError::invalid_request("the request body is too large")).into_response();
    *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}
