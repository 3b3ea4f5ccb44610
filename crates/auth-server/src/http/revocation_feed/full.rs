//! The whole list, rendered at most once a second per replica: the legacy answer (no `since`) and
//! the incremental protocol's full snapshot share one serialisation, and each is gzip-compressed at
//! most once per rendering, when a client first asks for it compressed.

use std::io::Write;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use super::changes::{Cursor, keys_tag};
use super::{RevocationFeed, Stamp, answer, if_none_match, not_modified, unavailable};
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
pub(super) struct Entry<'a> {
    pub(super) jti: &'a str,
    pub(super) exp: i64,
}

#[derive(Serialize)]
pub(super) struct Subject<'a> {
    pub(super) sub: &'a str,
    pub(super) before: i64,
}

/// One rendering of the whole list.
#[derive(Debug, Clone)]
pub(super) struct Full {
    stamp: Stamp,
    /// Today's shape, for requests without `since`, and its strong `ETag`.
    legacy: Bytes,
    legacy_etag: String,
    legacy_gz: Option<Bytes>,
    /// The same plus `"full": true` and the cursor read before the list.
    snapshot: Bytes,
    snapshot_gz: Option<Bytes>,
    /// The weak `ETag` of the incremental protocol: the revoked keys listed.
    keys_tag: String,
}

/// What a request wants of the whole list.
#[derive(Debug, Clone, Copy)]
pub(super) enum Want {
    Legacy { gzip: bool },
    Snapshot { gzip: bool },
}

/// The current rendering (made now if the cached one is too old), with the compressed body `want`
/// needs.
pub(super) async fn current(feed: &RevocationFeed, want: Want) -> Result<Arc<Full>, Response> {
    // Held while rendering: concurrent requests wait for that one rendering and share it.
    let mut cache = feed.cache.full.lock().await;
    let now = Stamp::now(feed);
    let mut full = match &*cache {
        Some(f) if f.stamp.still_fresh(&now) => Arc::clone(f),
        _ => Arc::new(render(feed, now).await?),
    };
    let missing = match want {
        Want::Legacy { gzip } => gzip && full.legacy_gz.is_none(),
        Want::Snapshot { gzip } => gzip && full.snapshot_gz.is_none(),
    };
    if missing {
        let f = Arc::make_mut(&mut full);
        match want {
            Want::Legacy { .. } => f.legacy_gz = Some(gzip(&f.legacy)),
            Want::Snapshot { .. } => f.snapshot_gz = Some(gzip(&f.snapshot)),
        }
    }
    *cache = Some(Arc::clone(&full));
    Ok(full)
}

impl Full {
    /// The answer without `since`: a 304 when `If-None-Match` names it.
    pub(super) fn legacy(&self, headers: &HeaderMap, gzip: bool) -> Response {
        let (etag, body) = match (&self.legacy_gz, gzip) {
            (Some(gz), true) => (gzip_etag(&self.legacy_etag), Some(gz.clone())),
            _ => (self.legacy_etag.clone(), None),
        };
        if if_none_match(headers, &etag) {
            return not_modified(&etag);
        }
        answer(self.legacy.clone(), &etag, body)
    }

    /// The incremental protocol's full snapshot (never a 304: the client asked for everything).
    pub(super) fn snapshot(&self, gzip: bool) -> Response {
        let body = gzip.then(|| self.snapshot_gz.clone()).flatten();
        answer(self.snapshot.clone(), &self.keys_tag, body)
    }
}

/// A strong `ETag` differs between content codings (RFC 9110 §8.8.3).
fn gzip_etag(etag: &str) -> String {
    match etag.strip_suffix('"') {
        Some(open) => format!("{open}-gzip\""),
        None => etag.to_owned(),
    }
}

fn gzip(body: &[u8]) -> Bytes {
    let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 2), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(body);
    Bytes::from(enc.finish().unwrap_or_default())
}

async fn render(feed: &RevocationFeed, stamp: Stamp) -> Result<Full, Response> {
    let list = feed
        .token_admin
        .revoked_access_tokens()
        .await
        .map_err(|e| unavailable(&e))?;
    let revoked_keys = feed
        .keys
        .revoked_kids(feed.longest_token_ttl)
        .await
        .map_err(|e| unavailable(&e))?;
    let doc = Feed {
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
    // One serialisation for both shapes: the object without its closing brace, then each ending.
    let mut common = serde_json::to_vec(&doc).unwrap_or_default();
    common.pop();
    let mut legacy = common.clone();
    legacy.push(b'}');
    let mut snapshot = common;
    let end = format!(
        ",\"full\":true,\"cursor\":\"{}\"}}",
        Cursor(list.cursor).encode()
    );
    snapshot.extend_from_slice(end.as_bytes());
    crate::telemetry::revocation_feed(
        doc.revoked.len(),
        doc.revoked_subjects.len(),
        revoked_keys.len(),
        legacy.len(),
    );
    Ok(Full {
        stamp,
        legacy_etag: random::strong_etag(&legacy),
        legacy: Bytes::from(legacy),
        legacy_gz: None,
        snapshot: Bytes::from(snapshot),
        snapshot_gz: None,
        keys_tag: keys_tag(&revoked_keys),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn gzip_round_trips_and_tags_differ() {
        let body = br#"{"revoked":[]}"#.repeat(100);
        let gz = gzip(&body);
        assert!(gz.len() < body.len());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap_or_default();
        assert_eq!(out, body);
        assert_eq!(gzip_etag("\"abc\""), "\"abc-gzip\"");
    }
}
