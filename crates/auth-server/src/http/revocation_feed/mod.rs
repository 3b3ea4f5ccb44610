//! `GET /revocations`: the revocation feed that resource servers verifying tokens locally poll in the
//! background (DESIGN.md, "Sessions, refresh tokens, revocation"), so that an access token revoked at
//! the IdP stops working at every service well before its `exp`, without a call per request.
//!
//! Without a `since` parameter it answers the whole list, as it always has: `{"issuer": "...",
//! "revoked": [{"jti": "...", "exp": 1700000000}, ...], "revoked_subjects": [{"sub": "...",
//! "before": 1700000000}], "revoked_keys": ["kid", ...], "complete": true}`: every access token
//! revoked before its expiry that a verifier may still accept (expired less than five minutes ago,
//! for clock leeway); the users whose tokens issued before a moment are all revoked (a new password,
//! a disabled user); and every signing key revoked by an operator (`auth-server keys revoke`)
//! recently enough that a token it signed may still be unexpired (a refresh interval + the longest
//! token lifetime + five minutes). A strong `ETag` makes an unchanged poll a 304. `complete` is
//! false when the users' tokens were cut at 100,000 entries; each client's revocations of its own
//! tokens get a share of 1,000 on top, so no client can push other revocations out.
//!
//! The incremental protocol (`?since=<cursor>`, module `changes`): `since=` (empty, or a cursor this
//! server cannot serve from) answers that whole list plus `"full": true` and a `"cursor"`; a cursor
//! answers only the revocations written since it (`"full": false`) and the next cursor, or a 304
//! when there are none and `If-None-Match` names the current revoked keys. Whole lists are sent
//! gzip-compressed to a client that accepts it (compressed once per rendering).
//!
//! A rendering is reused for up to a second (one set of queries per second at most, whoever asks,
//! with concurrent requests waiting for the one in flight), and redone at once when this replica
//! revokes a token; another replica's revocation shows within that second.

mod changes;
mod full;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::json_error;
use super::state::RevocationFeed;

pub use changes::Cursor;

/// How long a rendering is reused when nothing was revoked here meanwhile.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The last renderings of the whole list and of the recent changes.
#[derive(Debug, Default)]
pub struct FeedCache {
    full: tokio::sync::Mutex<Option<Arc<full::Full>>>,
    changes: tokio::sync::Mutex<changes::TailState>,
    /// The database's revocation horizon as last read, and when (module `changes`).
    horizon: tokio::sync::Mutex<Option<(Instant, i64)>>,
}

/// When a rendering was made: the store's revocation epoch, the clock's second, the instant.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    epoch: u64,
    second: i64,
    at: Instant,
}

impl Stamp {
    fn now(feed: &RevocationFeed) -> Self {
        Self {
            epoch: feed.token_admin.revocation_epoch(),
            second: feed.clock.now(),
            at: Instant::now(),
        }
    }

    /// Whether a rendering made at `self` may still be served at `now`.
    fn still_fresh(&self, now: &Stamp) -> bool {
        self.epoch == now.epoch && self.second == now.second && self.at.elapsed() < FRESH_FOR
    }
}

/// The query of `GET /revocations`.
#[derive(Debug, Deserialize)]
pub struct FeedQuery {
    /// The cursor of the verifier's last answer; empty for a verifier that has nothing yet.
    since: Option<String>,
}

/// `GET /revocations`.
pub async fn revocations(
    State(feed): State<Arc<RevocationFeed>>,
    query: Result<Query<FeedQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Query(query)) = query else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the query takes one optional since parameter",
        );
    };
    let gzip = accepts_gzip(&headers);
    let Some(since) = query.since else {
        return match full::current(&feed, full::Want::Legacy { gzip }).await {
            Ok(full) => {
                crate::telemetry::revocation_feed_answer("full");
                full.legacy(&headers, gzip)
            }
            Err(res) => res,
        };
    };
    if let Some(cursor) = Cursor::parse(&since) {
        match changes::answer(&feed, cursor, &headers).await {
            Ok(Some(res)) => return res,
            Ok(None) => {} // too old for this replica: the whole list
            Err(res) => return res,
        }
    }
    match full::current(&feed, full::Want::Snapshot { gzip }).await {
        Ok(full) => {
            crate::telemetry::revocation_feed_answer("full");
            full.snapshot(gzip)
        }
        Err(res) => res,
    }
}

/// Whether `Accept-Encoding` admits gzip (RFC 9110 §12.5.3; `gzip;q=0` refuses it).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// A JSON answer with its `ETag`, never cached without revalidation; gzip-encoded if `gzip` is
/// given (`Vary: Accept-Encoding` either way, since the feed varies by it).
fn answer(body: Bytes, etag: &str, gzip: Option<Bytes>) -> Response {
    let compressed = gzip.is_some();
    let mut res = Response::new(Body::from(gzip.unwrap_or(body)));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if compressed {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    finish(res, etag)
}

/// A 304 for `etag`.
fn not_modified(etag: &str) -> Response {
    finish(StatusCode::NOT_MODIFIED.into_response(), etag)
}

fn finish(mut res: Response, etag: &str) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\"")),
    );
    // Always revalidate: a cached copy would hide a new revocation.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// RFC 9110 §13.1.2: `If-None-Match` uses the weak comparison, and `*` matches any current
/// representation.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let tag = etag.strip_prefix("W/").unwrap_or(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|c| c == "*" || c.strip_prefix("W/").unwrap_or(c) == tag)
}

fn unavailable(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "revocation feed: storage failed");
    let mut res = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the revocation feed is temporarily unavailable",
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        let ae = |v| accepts_gzip(&with(header::ACCEPT_ENCODING, v));
        assert!(ae("gzip"));
        assert!(ae("br, GZIP;q=0.5"));
        assert!(ae("*"));
        assert!(!ae("gzip;q=0"));
        assert!(!ae("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match_is_weak() {
        let inm = |v, tag| if_none_match(&with(header::IF_NONE_MATCH, v), tag);
        assert!(inm("W/\"a\"", "W/\"a\""));
        assert!(inm("\"a\"", "W/\"a\""));
        assert!(inm("\"b\", W/\"a\"", "\"a\""));
        assert!(inm("*", "\"a\""));
        assert!(!inm("\"b\"", "\"a\""));
    }
}
