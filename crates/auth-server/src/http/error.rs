//! Error responses: RFC 6749 §5.2 JSON bodies for OAuth endpoints, plain JSON elsewhere. The one
//! place where the domain services' error enums become HTTP responses.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::clients::ClientError;
use crate::domain::oauth_error::OAuthError;
use crate::domain::sso::tokens_admin::TokenAdminError;

/// `WWW-Authenticate` for a failed client authentication (RFC 6749 §5.2, RFC 7617).
const BASIC_CHALLENGE: &str = "Basic realm=\"auth-server\", charset=\"UTF-8\"";

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
}

/// An [`OAuthError`] as an HTTP response.
///
/// RFC 6749 §5.2: "The authorization server responds with an HTTP 400 (Bad Request) status code
/// ... If the client attempted to authenticate via the "Authorization" request header field, the
/// authorization server MUST respond with an HTTP 401 (Unauthorized) status code and include the
/// "WWW-Authenticate" response header field". We send the challenge with every 401.
#[derive(Debug)]
pub struct OAuthResponse(pub OAuthError);

impl From<OAuthError> for OAuthResponse {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl IntoResponse for OAuthResponse {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = Body {
            error: e.code.as_str(),
            error_description: e.description.as_deref(),
        };
        let mut res = (status, Json(body)).into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BASIC_CHALLENGE),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

/// A JSON error for non-OAuth endpoints: `{"error": "...", "error_description": "..."}`.
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(Body {
            error,
            error_description: Some(description),
        }),
    )
        .into_response()
}

/// Client lookup and authentication at an OAuth endpoint: a refusal is `invalid_client` (RFC 6749
/// §5.2), a storage failure 503 (logged here).
impl From<ClientError> for OAuthError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Rejected => OAuthError::invalid_client(),
            ClientError::Store(e) => {
                tracing::warn!(error = %e, "client lookup failed");
                OAuthError::unavailable()
            }
            // An operator's errors; no endpoint registers clients.
            other => {
                tracing::error!(error = %other, "unexpected client registry error");
                OAuthError::server_error()
            }
        }
    }
}

/// Introspection and userinfo at their endpoints: a token refused by userinfo is answered with its
/// RFC 6750 challenge by the handler before this; what is left is a storage failure, 503 (logged
/// here).
impl From<TokenAdminError> for OAuthError {
    fn from(e: TokenAdminError) -> Self {
        tracing::warn!(error = %e, "token administration failed");
        OAuthError::unavailable()
    }
}
