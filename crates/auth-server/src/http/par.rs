//! `POST /par`: the pushed authorization request endpoint (RFC 9126 §2). Thin: authenticate the
//! client as the token endpoint does, read the authorization parameters as `/authorize` does, and
//! let the flow validate and store them ([`Flow::push`](crate::domain::sso::flow::Flow::push)).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::HttpState;
use super::access_log::with_client;
use super::authorize::params_from;
use super::client_addr::ClientAddr;
use super::error::OAuthResponse;
use super::form::OAuthForm;
use super::rate_limit::limited_client;
use crate::domain::oauth_error::OAuthError;

/// RFC 9126 §2.2 success body.
#[derive(Serialize)]
struct ParResponse<'a> {
    request_uri: &'a str,
    expires_in: i64,
}

/// `POST /par`: `201 Created` with the `request_uri` (RFC 9126 §2.2), or an RFC 6749 §5.2 JSON
/// error (§2.3): `invalid_client` for a failed client authentication, the authorization
/// endpoint's error codes for a request it would refuse, `invalid_request` where `/authorize`
/// would show an error page instead (an unregistered `redirect_uri`). Other methods get 405 from
/// the router, bodies over the form cap 413 (§2.3). The client's rate limit and the per-address
/// limit of failed authentications apply as at the token endpoint: a push is a stored row.
pub async fn par(
    State(state): State<HttpState>,
    headers: HeaderMap,
    addr: ClientAddr,
    OAuthForm(form): OAuthForm,
) -> Response {
    let client = match limited_client(&state.oauth, "par", &headers, &form, addr).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let answer = match state.browser.flow.push(&client, params_from(&form)).await {
        Ok(Ok(pushed)) => {
            let body = ParResponse {
                request_uri: &pushed.request_uri,
                expires_in: pushed.expires_in,
            };
            let mut res = (StatusCode::CREATED, Json(body)).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Ok(Err(e)) => OAuthResponse(e).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "storing a pushed authorization request failed");
            OAuthResponse(OAuthError::unavailable()).into_response()
        }
    };
    with_client(&client.id, answer)
}
