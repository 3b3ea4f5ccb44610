//! The issuer's revocation feed, polled in the background and never on the request path.
//!
//! An access token revoked at the IdP (RFC 7009 `/revoke`, logout, a reused refresh token, a disabled
//! user's grants) would otherwise keep working at a service that verifies locally until its `exp`.
//! The feed (auth-server's `revocation_feed_endpoint`, `GET <issuer>/revocations`) lists every such
//! token that has not expired, as `{"issuer": "...", "revoked": [{"jti": "...", "exp": 1700000000}],
//! "revoked_keys": ["kid"]}`; each poll adds them to the verifier's revocation list, which cache
//! hits honour too. `revoked_keys` names signing keys the operator revoked (`auth-server keys
//! revoke`): from that poll on, the issuer's key store drops them and refuses them, even if a cached
//! or later-fetched JWKS still lists them (`IssuerKeys::revoke_kids`), instead of trusting them
//! until the JWKS `max-age` runs out.
//!
//! Polls are incremental: the first asks `?since=` (empty) and gets the whole list (`"full": true`)
//! with a `cursor`; each later poll sends `?since=<cursor>` with `If-None-Match` (the answer's
//! `ETag`) and gets only what was revoked since (`"full": false`, a new cursor), or a 304 when
//! nothing was, which is a complete poll like any other. A server that cannot serve a cursor answers
//! the whole list again; one that knows nothing of cursors (no `full` member) always does, and works
//! as before. After an incomplete answer (or a full revocation list here) the next poll asks for the
//! whole list again, since changes alone cannot complete it.
//!
//! A failed poll keeps what the earlier polls brought (each entry lives until its token's `exp`) and
//! is logged: revocation fails open during an IdP outage, while the keys themselves fail closed
//! after `max_stale`. An entry already held keeps the later expiry (no feed can shorten a
//! revocation), an `exp` is clamped to two days, and the list holds at most a million `jti`s. The
//! `jti`s of all trusted issuers share one namespace (they are random), so a trusted issuer's feed
//! could revoke another issuer's token whose `jti` it knows: it can deny, never admit.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use auth_core::UnixTime;
use serde::Deserialize;

use crate::fetch::{self, Conditional, FetchError};
use crate::metrics::{FeedAnswer, FeedAnswers, SourceMetrics};
use crate::revocation::Revocations;
use crate::store::IssuerKeys;

/// Largest feed body read: 100,000 entries of about 60 bytes, with room to spare.
const MAX_FEED_BYTES: usize = 8 * 1024 * 1024;
/// Longest `jti` taken from a feed (ours are 22 characters).
const MAX_JTI_LEN: usize = 256;
/// Longest cursor kept (ours are `v1-` and a number).
const MAX_CURSOR_LEN: usize = 128;

/// Where a feed is.
#[derive(Debug, Clone)]
pub(crate) enum FeedUrl {
    /// Given by the host ([`crate::IssuerConfig::revocation_feed`]).
    Configured(String),
    /// The issuer's discovery document's `revocation_feed_endpoint`.
    Discovered,
}

/// One issuer's feed.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) issuer: String,
    pub(crate) url: FeedUrl,
    /// Set when verification fails closed while this feed is stale or incomplete.
    pub(crate) freshness: Option<Arc<Freshness>>,
    /// Polls, failures and the feed's age, for the host's metrics recorder.
    pub(crate) metrics: SourceMetrics,
    /// Full, incremental and not-modified answers.
    pub(crate) answers: FeedAnswers,
    /// Unix time of the last successful poll (`i64::MIN`: none yet).
    pub(crate) last_success: AtomicI64,
    /// Where the last poll left off; held across a poll, so polls of one feed never overlap.
    pub(crate) state: tokio::sync::Mutex<PollState>,
}

/// What a feed's polls carry from one to the next.
#[derive(Debug, Default)]
pub(crate) struct PollState {
    /// The discovered URL, once known.
    url: Option<String>,
    /// The last answer's cursor and `ETag`.
    cursor: Option<String>,
    etag: Option<String>,
    /// Whether everything up to the cursor is held: the last full answer was complete, every
    /// answer since too, and the revocation list had room for all of it.
    complete: bool,
    /// The revoked keys of the last answer (a 304 lists them again).
    kids: Vec<String>,
}

/// When the last complete poll of a feed succeeded, for an issuer whose tokens are refused while
/// it is too old.
#[derive(Debug)]
pub(crate) struct Freshness {
    /// Longest time since the last complete poll before tokens are refused.
    pub(crate) max_age: i64,
    /// Unix time of the last complete poll (`i64::MIN`: none yet).
    complete_at: AtomicI64,
}

impl Freshness {
    pub(crate) fn new(max_age: i64) -> Self {
        Self {
            max_age,
            complete_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether the feed was polled completely within `max_age` of `now`.
    pub(crate) fn is_fresh(&self, now: UnixTime) -> bool {
        now.saturating_sub(self.complete_at.load(Ordering::Acquire)) <= self.max_age
    }
}

#[derive(Deserialize)]
struct Document {
    issuer: String,
    revoked: Vec<Entry>,
    /// Per-subject cut-offs (absent from feeds older than this field).
    #[serde(default)]
    revoked_subjects: Vec<SubjectEntry>,
    /// Kids of revoked signing keys (absent from feeds older than this field).
    #[serde(default)]
    revoked_keys: Vec<String>,
    /// False when the IdP cut the list short: some revoked tokens are missing.
    #[serde(default = "yes")]
    complete: bool,
    /// `false` for the changes since the cursor sent; absent (a server without cursors) or `true`
    /// for the whole list.
    full: Option<bool>,
    /// Where the next poll starts.
    cursor: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Entry {
    jti: String,
    exp: i64,
}

#[derive(Deserialize)]
struct SubjectEntry {
    sub: String,
    before: i64,
}

impl Feed {
    /// [`Feed::poll_once`], counted in the metrics; a success at `now` is remembered for the age.
    pub(crate) async fn poll(
        &self,
        http: &reqwest::Client,
        keys: Option<&IssuerKeys>,
        revocations: &Revocations,
        leeway: i64,
        now: UnixTime,
    ) -> Result<(usize, Vec<String>), FetchError> {
        let outcome = self.poll_once(http, keys, revocations, leeway, now).await;
        if let Ok((_, _, answer)) = &outcome {
            self.last_success.fetch_max(now, Ordering::AcqRel);
            self.answers.count(*answer);
        }
        self.metrics.attempted(&outcome, now);
        outcome.map(|(n, kids, _)| (n, kids))
    }

    /// Unix time of the last successful poll, if any (for readiness checks).
    pub(crate) fn last_success(&self) -> Option<UnixTime> {
        let at = self.last_success.load(Ordering::Acquire);
        (at != i64::MIN).then_some(at)
    }

    /// Sets the age gauge from the time of the last successful poll (see [`crate::metrics`]).
    pub(crate) fn update_age_gauge(&self, now: UnixTime) {
        self.metrics.set_age(self.last_success(), now);
    }

    /// The feed's URL: configured, or from the issuer's discovery document (fetched now if the key
    /// store has not yet). Until discovery answers, polls fail, so a verifier that requires fresh
    /// revocations refuses tokens.
    async fn url(
        &self,
        state: &mut PollState,
        keys: Option<&IssuerKeys>,
    ) -> Result<String, FetchError> {
        match (&self.url, &state.url, keys) {
            (FeedUrl::Configured(url), ..) | (FeedUrl::Discovered, Some(url), _) => Ok(url.clone()),
            (FeedUrl::Discovered, None, Some(keys)) => {
                let url = keys.revocation_feed_endpoint().await?;
                state.url = Some(url.clone());
                Ok(url)
            }
            (FeedUrl::Discovered, None, None) => Err(FetchError::Invalid(
                "no key store to discover the feed with".into(),
            )),
        }
    }

    /// Fetches the feed once and records its entries (`exp` plus `leeway`, since a token is
    /// accepted that long past its `exp`). Returns how many entries it listed, the kids of the
    /// revoked keys it listed (for the caller to apply to this issuer's key store) and the kind of
    /// answer.
    async fn poll_once(
        &self,
        http: &reqwest::Client,
        keys: Option<&IssuerKeys>,
        revocations: &Revocations,
        leeway: i64,
        now: UnixTime,
    ) -> Result<(usize, Vec<String>, FeedAnswer), FetchError> {
        let mut state = self.state.lock().await;
        let url = self.url(&mut state, keys).await?;
        // Changes alone can only complete a list that was complete: otherwise, everything.
        let cursor = state.cursor.as_deref().filter(|_| state.complete);
        let sep = if url.contains('?') { '&' } else { '?' };
        let request = format!("{url}{sep}since={}", cursor.unwrap_or_default());
        // The answer's `ETag`: with a cursor, it stands for "nothing since"; from a server without
        // cursors, for the whole list held.
        let etag = state.etag.as_deref().filter(|_| state.complete);
        let fetched = match fetch::get_if_none_match(http, &request, MAX_FEED_BYTES, etag).await? {
            Conditional::Modified(fetched) => fetched,
            Conditional::NotModified { .. } => {
                // Sent only over a complete list: nothing was revoked since it.
                if let Some(f) = &self.freshness {
                    f.complete_at.store(now, Ordering::Release);
                }
                return Ok((0, state.kids.clone(), FeedAnswer::NotModified));
            }
        };
        let doc: Document = serde_json::from_slice(&fetched.body)
            .map_err(|e| FetchError::Invalid(format!("revocation feed: {e}")))?;
        if doc.issuer != self.issuer {
            return Err(FetchError::Invalid(
                "revocation feed of another issuer".into(),
            ));
        }
        let full = doc.full != Some(false);
        if !doc.complete {
            tracing::error!(issuer = %self.issuer,
                "the revocation feed is incomplete: some revoked tokens may still be accepted until they expire");
        }
        let entries = doc
            .revoked
            .iter()
            .filter(|e| !e.jti.is_empty() && e.jti.len() <= MAX_JTI_LEN)
            .map(|e| (e.jti.as_str(), e.exp.saturating_add(leeway)));
        // One write lock for the whole feed, so a large poll does not contend with every request.
        let dropped = revocations.revoke_jtis(entries, now);
        if dropped > 0 {
            tracing::error!(issuer = %self.issuer, dropped,
                "revocation list full: some revoked tokens may still be accepted until they expire");
        }
        revocations.revoke_subjects_before(
            doc.revoked_subjects
                .iter()
                .filter(|s| !s.sub.is_empty() && s.sub.len() <= MAX_JTI_LEN)
                .map(|s| (s.sub.as_str(), s.before)),
            now,
        );
        // A full answer starts over; changes keep a complete list complete (a delta sent for a
        // cursor not asked for completes nothing).
        let complete_before = full || (state.complete && cursor.is_some());
        state.complete = complete_before && doc.complete && dropped == 0;
        state.cursor = doc.cursor.filter(|c| {
            c.len() <= MAX_CURSOR_LEN
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        });
        state.etag = fetched.etag;
        if let Some(f) = &self.freshness
            && state.complete
        {
            f.complete_at.store(now, Ordering::Release);
        }
        let kids: Vec<String> = doc
            .revoked_keys
            .into_iter()
            .filter(|k| !k.is_empty() && k.len() <= MAX_JTI_LEN)
            .collect();
        state.kids.clone_from(&kids);
        let answer = match full {
            true => FeedAnswer::Full,
            false => FeedAnswer::Incremental,
        };
        Ok((doc.revoked.len(), kids, answer))
    }
}

#[cfg(test)]
mod tests;
