//! `GET /revocations`: the revocation feed that resource servers verifying tokens locally poll in the
//! background (DESIGN.md, "Sessions, refresh tokens, revocation"), so that an access token revoked at
//! the IdP stops working at every service well before its `exp`, without a call per request.
//!
//! The body is `{"issuer": "...", "revoked": [{"jti": "...", "exp": 1700000000}, ...], "complete": true}`:
//! every access token revoked before its expiry that a verifier may still accept (expired less
//! than five minutes ago, for clock leeway). It is the whole current list, not a delta, so a poll
//! that was missed loses nothing; an `ETag` makes an unchanged poll a 304. `complete` is false
//! when the list was cut at 100,000 entries.
//!
//! Known cost: every request runs one query over the live revocations (a small table, purged as
//! tokens expire) and renders it; there is no per-caller rate limit.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::discovery::etag_matches;
use super::error::json_error;
use crate::app::AppState;
use crate::domain::random;

#[derive(Serialize)]
struct Feed<'a> {
    issuer: &'a str,
    revoked: Vec<Entry<'a>>,
    /// False when the list was cut at its limit (verifiers then warn).
    complete: bool,
}

#[derive(Serialize)]
struct Entry<'a> {
    jti: &'a str,
    exp: i64,
}

/// `GET /revocations`.
pub async fn revocations(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let (list, complete) = match app.token_admin.revoked_access_tokens().await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "revocation feed: storage failed");
            let mut res = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the revocation feed is temporarily unavailable",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return res;
        }
    };
    let feed = Feed {
        issuer: &app.config.server.issuer,
        revoked: list
            .iter()
            .map(|(jti, exp)| Entry { jti, exp: *exp })
            .collect(),
        complete,
    };
    let body = serde_json::to_vec(&feed).unwrap_or_default();
    let etag = format!(
        "\"{}\"",
        URL_SAFE_NO_PAD.encode(&random::sha256(&body)[..18])
    );
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| etag_matches(v, &etag));
    let mut res = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Always revalidate: a cached copy would hide a new revocation.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}
