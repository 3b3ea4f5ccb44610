//! The incremental feed: `GET /revocations?since=<cursor>` answers the revocations written since the
//! cursor, and the next cursor.
//!
//! A cursor is a revocation `seq` (migration `m0024_revocation_cursor`) below which every committed
//! revocation was visible when the cursor was read, read *before* the rows it is sent with. So the
//! answer to `since=c` (every live row with `seq >= c`) plus what the verifier already had is
//! everything committed before the answer's cursor, by induction, even on PostgreSQL, where rows
//! become visible out of `seq` order (the cursor is a snapshot's `xmin`: no transaction below it
//! still runs). Rows may come twice (a transaction at or above the cursor that had already
//! committed); verifiers apply them idempotently.
//!
//! Each replica keeps, per rendering (at most one a second), the recent rows: every live row with
//! `seq` at or above its *floor*. The floor only rises, when more than [`TAIL_MAX`] rows are recent,
//! to keep the newest [`TAIL_KEEP`]; a cursor below the floor, or above what this database has
//! handed out (a restored database), gets the whole list instead. A cursor above the rendering's
//! horizon but not the database's comes from a replica that rendered later, and is answered from
//! this rendering ([`handed_out`]). So an answer costs no query of its own, but for that horizon
//! read, at most ten a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::full::{Entry, Subject};
use super::{RevocationFeed, Stamp, if_none_match, not_modified, unavailable};
use crate::domain::random;

/// More recent rows than this (of both kinds together) raise the floor.
const TAIL_MAX: usize = 8192;
/// How many of the newest rows stay above a raised floor.
const TAIL_KEEP: usize = 1024;
/// How often at most the database's horizon is read for cursors above a rendering's.
const HORIZON_EVERY: Duration = Duration::from_millis(100);

/// A position in the revocations: an opaque `v1-<seq>` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

impl Cursor {
    /// Reads a cursor this server made; `None` for anything else (an empty `since` included).
    pub fn parse(text: &str) -> Option<Self> {
        let n: i64 = text.strip_prefix("v1-")?.parse().ok()?;
        (n >= 0).then_some(Self(n))
    }

    /// The cursor as sent.
    pub fn encode(self) -> String {
        format!("v1-{}", self.0)
    }
}

/// The weak `ETag` of the incremental protocol: it names the revoked keys listed, the only part of
/// an answer that is sent whole every time (RFC 9110 §8.8.1: answers with it are equivalent for a
/// verifier that holds what its cursor covers).
pub(super) fn keys_tag(keys: &[String]) -> String {
    let listed = serde_json::to_vec(keys).unwrap_or_default();
    format!("W/{}", random::strong_etag(&listed))
}

/// The replica's floor and its last rendering of the recent rows.
#[derive(Debug, Default)]
pub(super) struct TailState {
    floor: i64,
    current: Option<Arc<Tail>>,
}

/// Every live revocation with `seq >= floor`, as seen by one rendering.
#[derive(Debug)]
struct Tail {
    stamp: Stamp,
    /// Read before the rows: what an answer from this rendering moves a verifier's cursor to.
    cursor: i64,
    /// Read after the rows: a `since` above it was not made by this database.
    horizon: i64,
    floor: i64,
    tokens: Vec<(i64, String, i64)>,
    subjects: Vec<(i64, String, i64)>,
    keys: Vec<String>,
    keys_tag: String,
}

#[derive(Serialize)]
struct Changes<'a> {
    issuer: &'a str,
    revoked: Vec<Entry<'a>>,
    revoked_subjects: Vec<Subject<'a>>,
    revoked_keys: &'a [String],
    complete: bool,
    full: bool,
    cursor: String,
}

/// The answer to `since=cursor`: the changes since it, a 304 when there are none and
/// `If-None-Match` names the keys listed now, or `None` when this replica cannot tell what changed
/// since `cursor` (then the whole list is the answer).
pub(super) async fn answer(
    feed: &RevocationFeed,
    cursor: Cursor,
    headers: &HeaderMap,
) -> Result<Option<Response>, Response> {
    let since = cursor.0;
    let tail = current(feed).await?;
    if since < tail.floor || (since > tail.horizon && !handed_out(feed, since).await?) {
        return Ok(None);
    }
    let revoked: Vec<Entry> = (tail.tokens.iter())
        .filter(|(seq, ..)| *seq >= since)
        .map(|(_, jti, exp)| Entry { jti, exp: *exp })
        .collect();
    let revoked_subjects: Vec<Subject> = (tail.subjects.iter())
        .filter(|(seq, ..)| *seq >= since)
        .map(|(_, sub, before)| Subject {
            sub,
            before: *before,
        })
        .collect();
    if revoked.is_empty() && revoked_subjects.is_empty() && if_none_match(headers, &tail.keys_tag) {
        // Nothing at or above the cursor: it still covers everything, so the verifier keeps it.
        crate::telemetry::revocation_feed_answer("not_modified");
        return Ok(Some(not_modified(&tail.keys_tag)));
    }
    let doc = Changes {
        issuer: &feed.issuer,
        revoked,
        revoked_subjects,
        revoked_keys: &tail.keys,
        complete: true,
        full: false,
        // A cursor made by a replica with a newer snapshot may be ahead of this rendering's: every
        // row below it was delivered already, so it is kept.
        cursor: Cursor(since.max(tail.cursor)).encode(),
    };
    let body = serde_json::to_vec(&doc).unwrap_or_default();
    crate::telemetry::revocation_feed_answer("incremental");
    Ok(Some(super::answer(body.into(), &tail.keys_tag, None)))
}

/// Whether `since`, above the current rendering's horizon, was handed out by this database: a
/// cursor from a replica that rendered later (behind one load balancer a verifier's polls
/// alternate between replicas). Its answer is then cut from this rendering like any other: the
/// rows at or above `since` that it holds, and `since` kept as the cursor, since every row below
/// it was delivered by that replica; rows committed after this rendering come at the next poll.
/// Else (a restored database, or a cursor made up) the whole list is the answer.
///
/// The database's horizon is read at most once per [`HORIZON_EVERY`], and a read is trusted no
/// longer than that (a database restored, or failed over to a standby that lags, has a lower
/// horizon than before): a flood of made-up cursors costs at most that many queries, and a
/// genuine cursor newer than the last read within that time gets the whole list, which is
/// correct, only bigger.
async fn handed_out(feed: &RevocationFeed, since: i64) -> Result<bool, Response> {
    let mut last = feed.cache.horizon.lock().await;
    if let Some((at, horizon)) = *last
        && at.elapsed() < HORIZON_EVERY
    {
        return Ok(since <= horizon);
    }
    let horizon = (feed.token_admin.revocation_horizon().await).map_err(|e| unavailable(&e))?;
    *last = Some((Instant::now(), horizon));
    Ok(since <= horizon)
}

/// The current rendering of the recent rows (made now if the cached one is too old).
async fn current(feed: &RevocationFeed) -> Result<Arc<Tail>, Response> {
    let mut state = feed.cache.changes.lock().await;
    let now = Stamp::now(feed);
    if let Some(t) = &state.current
        && t.stamp.still_fresh(&now)
    {
        return Ok(Arc::clone(t));
    }
    let limit = u64::try_from(TAIL_MAX + 1).unwrap_or(u64::MAX);
    let mut changes = feed
        .token_admin
        .revocation_changes(state.floor, limit)
        .await
        .map_err(|e| unavailable(&e))?;
    let keys = feed
        .keys
        .revoked_kids(feed.longest_token_ttl)
        .await
        .map_err(|e| unavailable(&e))?;
    let floor = raised_floor(state.floor, &changes.tokens, &changes.subjects);
    changes.tokens.retain(|(seq, ..)| *seq >= floor);
    changes.subjects.retain(|(seq, ..)| *seq >= floor);
    let tail = Arc::new(Tail {
        stamp: now,
        cursor: changes.cursor,
        horizon: changes.horizon,
        floor,
        tokens: changes.tokens,
        subjects: changes.subjects,
        keys_tag: keys_tag(&keys),
        keys,
    });
    state.floor = floor;
    state.current = Some(Arc::clone(&tail));
    Ok(tail)
}

/// The floor after a rendering that read `tokens` and `subjects` (each the rows with the highest
/// `seq` at or above `floor`, highest first, at most `TAIL_MAX + 1`): unchanged while they are at
/// most [`TAIL_MAX`] together, else just above the [`TAIL_KEEP`]-th highest `seq`. Every row above
/// the new floor was read: a kind cut by the query limit has `TAIL_MAX + 1` rows, so its lowest
/// `seq` read is at most that `TAIL_KEEP`-th highest.
fn raised_floor(floor: i64, tokens: &[(i64, String, i64)], subjects: &[(i64, String, i64)]) -> i64 {
    if tokens.len() + subjects.len() <= TAIL_MAX {
        return floor;
    }
    let mut seqs: Vec<i64> = tokens.iter().chain(subjects).map(|(s, ..)| *s).collect();
    seqs.sort_unstable_by(|a, b| b.cmp(a));
    seqs.get(TAIL_KEEP)
        .map_or(floor, |s| floor.max(s.saturating_add(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_unknown() {
        assert_eq!(Cursor::parse(&Cursor(42).encode()), Some(Cursor(42)));
        for bad in [
            "",
            "42",
            "v1-",
            "v1--1",
            "v1-x",
            "v2-42",
            "v1-99999999999999999999",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
    }

    fn rows(seqs: impl IntoIterator<Item = i64>) -> Vec<(i64, String, i64)> {
        seqs.into_iter().map(|s| (s, format!("j{s}"), 0)).collect()
    }

    #[test]
    fn the_floor_rises_only_past_the_limit_and_keeps_every_row_above_it() {
        let few = rows((0..100).rev());
        assert_eq!(raised_floor(7, &few, &few), 7);
        // Tokens cut by the limit (seqs 20_000 down), subjects sparse and older.
        let n = i64::try_from(TAIL_MAX).unwrap_or(0);
        let tokens = rows((20_000 - n..=20_000).rev());
        let subjects = rows([19_999, 5]);
        let floor = raised_floor(0, &tokens, &subjects);
        let kept = tokens
            .iter()
            .chain(&subjects)
            .filter(|(s, ..)| *s >= floor)
            .count();
        assert_eq!(kept, TAIL_KEEP, "the newest {TAIL_KEEP} stay");
        assert!(floor > tokens.last().map_or(0, |t| t.0), "above every cut");
        assert_eq!(
            raised_floor(30_000, &tokens, &subjects),
            30_000,
            "never down"
        );
    }
}
