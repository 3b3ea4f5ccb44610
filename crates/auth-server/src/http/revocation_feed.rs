//! `GET /revocations`: the revocation feed that resource servers verifying tokens locally poll in the
//! background (DESIGN.md, "Sessions, refresh tokens, revocation"), so that an access token revoked at
//! the IdP stops working at every service well before its `exp`, without a call per request.
//!
//! The body is `{"issuer": "...", "revoked": [{"jti": "...", "exp": 1700000000}, ...],
//! "revoked_subjects": [{"sub": "...", "before": 1700000000}], "revoked_keys": ["kid", ...],
//! "complete": true}`: every access token revoked before its expiry that a verifier may still
//! accept (expired less than five minutes ago, for clock leeway); the users whose tokens issued
//! before a moment are all revoked (a new password, a disabled user); and every signing key
//! revoked by an operator (`auth-server keys revoke`) recently enough that a token it signed may
//! still be unexpired (a refresh interval + the longest token lifetime + five minutes). A verifier
//! stops trusting a listed key at once, whatever its cached JWKS says. It is the whole current
//! list, not a delta, so a poll that was missed loses nothing; an `ETag` makes an unchanged poll a
//! 304. `complete` is false when the users' tokens were cut at 100,000 entries; each client's
//! revocations of its own tokens get a share of 1,000 on top, so no client can push other
//! revocations out.
//!
//! The rendered feed is reused for up to a second (one query and one rendering per second at most,
//! whoever asks, with concurrent requests waiting for the one in flight), and re-rendered at once
//! when this replica revokes a token; another replica's revocation shows within that second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

use super::error::json_error;
use super::response::conditional;
use super::state::RevocationFeed;
use crate::domain::random;

#[derive(Serialize)]
struct Feed<'a> {
    issuer: &'a str,
    revoked: Vec<Entry<'a>>,
    /// Per-subject cut-offs: tokens of `sub` issued before `before` are revoked.
    revoked_subjects: Vec<Subject<'a>>,
    /// Revoked signing keys, by kid.
    revoked_keys: &'a [String],
    /// False when the list was cut at its limit (verifiers then warn).
    complete: bool,
}

#[derive(Serialize)]
struct Entry<'a> {
    jti: &'a str,
    exp: i64,
}

#[derive(Serialize)]
struct Subject<'a> {
    sub: &'a str,
    before: i64,
}

/// How long a rendered feed is reused when nothing was revoked here meanwhile.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The last rendered feed.
#[derive(Debug, Default)]
pub struct FeedCache(tokio::sync::Mutex<Option<Rendered>>);

#[derive(Debug, Clone)]
struct Rendered {
    /// The store's revocation epoch and the clock's second it was rendered at.
    epoch: u64,
    second: i64,
    at: Instant,
    body: Bytes,
    etag: String,
}

/// `GET /revocations`.
pub async fn revocations(State(feed): State<Arc<RevocationFeed>>, headers: HeaderMap) -> Response {
    // Held while rendering: concurrent requests wait for that one rendering and share it.
    let mut cache = feed.cache.0.lock().await;
    let (epoch, second) = (feed.token_admin.revocation_epoch(), feed.clock.now());
    let rendered = match &*cache {
        Some(r) if r.epoch == epoch && r.second == second && r.at.elapsed() < FRESH_FOR => {
            r.clone()
        }
        _ => match render(&feed, epoch, second).await {
            Ok(r) => {
                *cache = Some(r.clone());
                r
            }
            Err(res) => return res,
        },
    };
    drop(cache);
    // Always revalidate: a cached copy would hide a new revocation.
    conditional(
        &headers,
        &rendered.etag,
        "application/json",
        rendered.body,
        HeaderValue::from_static("no-cache"),
    )
}

async fn render(feed: &RevocationFeed, epoch: u64, second: i64) -> Result<Rendered, Response> {
    let list = match feed.token_admin.revoked_access_tokens().await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "revocation feed: storage failed");
            return Err(unavailable());
        }
    };
    let revoked_keys = match feed.keys.revoked_kids(feed.longest_token_ttl).await {
        Ok(kids) => kids,
        Err(e) => {
            tracing::warn!(error = %e, "revocation feed: storage failed");
            return Err(unavailable());
        }
    };
    let feed = Feed {
        issuer: &feed.issuer,
        revoked: list
            .tokens
            .iter()
            .map(|(jti, exp)| Entry { jti, exp: *exp })
            .collect(),
        revoked_subjects: list
            .subjects
            .iter()
            .map(|(sub, before)| Subject {
                sub,
                before: *before,
            })
            .collect(),
        revoked_keys: &revoked_keys,
        complete: list.complete,
    };
    let body = serde_json::to_vec(&feed).unwrap_or_default();
    crate::telemetry::revocation_feed(
        feed.revoked.len(),
        feed.revoked_subjects.len(),
        revoked_keys.len(),
        body.len(),
    );
    let etag = random::strong_etag(&body);
    Ok(Rendered {
        epoch,
        second,
        at: Instant::now(),
        body: Bytes::from(body),
        etag,
    })
}

fn unavailable() -> Response {
    let mut res = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the revocation feed is temporarily unavailable",
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}
