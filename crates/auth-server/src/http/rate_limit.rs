//! Rate limits at the client-authenticated endpoints (`/token`, `/introspect`, `/revoke`): client
//! authentication wrapped in the limits of `domain::rate_limits`, and their `429 Too Many Requests`
//! answer (RFC 6585 §4) with `Retry-After` (RFC 9110 §10.2.3) and an OAuth-style JSON error body.
//!
//! RFC 6749 defines no error code for this. The body's `error` is `slow_down`, the code the OAuth
//! Extensions Error Registry already holds for the token endpoint (RFC 8628 §3.5: "the client ...
//! should ... increase the interval"): a registered code with that meaning, which clients that know
//! it already handle by backing off, rather than a new one no client knows.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::access_log::with_client;
use super::client_addr::ClientAddr;
use super::client_auth::authenticate_client;
use super::error::{OAuthResponse, json_error};
use super::form::Form;
use super::state::OAuthEndpoints;
use crate::domain::clients::Client;
use crate::domain::oauth_error::ErrorCode;
use crate::domain::rate_limits::Refused;

/// The `error` of a 429 answer.
pub const RATE_LIMITED_ERROR: &str = "slow_down";

/// Authenticates the client of a request to `endpoint` (`"token"`, `"introspect"`, `"revoke"`)
/// within the rate limits, or the response to send:
///
/// 1. an address out of failed-authentication budget is answered 429 before any lookup;
/// 2. the client authenticates ([`authenticate_client`]); a failure (`invalid_client`) counts
///    against the address, and the one past its limit is answered 429;
/// 3. the authenticated client's request counts against its own limit (or the default): 429 when
///    over it, naming the client in the access log.
pub async fn limited_client(
    oauth: &OAuthEndpoints,
    endpoint: &'static str,
    headers: &HeaderMap,
    form: &Form,
    addr: ClientAddr,
) -> Result<Arc<Client>, Response> {
    let limits = &oauth.rate_limits;
    limits
        .address_blocked(addr.0)
        .await
        .map_err(|r| too_many(endpoint, "address", r))?;
    let client = match authenticate_client(&oauth.clients, headers, form).await {
        Ok(c) => c,
        Err(e) => {
            if e.code == ErrorCode::InvalidClient {
                limits
                    .failed_auth(addr.0)
                    .await
                    .map_err(|r| too_many(endpoint, "address", r))?;
            }
            return Err(OAuthResponse(e).into_response());
        }
    };
    match limits.admit_client(&client).await {
        Ok(()) => Ok(client),
        Err(r) => Err(with_client(&client.id, too_many(endpoint, "client", r))),
    }
}

/// `429 Too Many Requests` with `Retry-After` and `{"error": "slow_down", ...}`, counted by
/// `endpoint` and `limit`.
fn too_many(endpoint: &'static str, limit: &'static str, r: Refused) -> Response {
    crate::telemetry::rate_limited(endpoint, limit);
    let mut res = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        RATE_LIMITED_ERROR,
        "too many requests; retry after the number of seconds in Retry-After",
    );
    let h = res.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(r.retry_after_secs));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
