//! The issuer's revocation feed, polled in the background and never on the request path.
//!
//! An access token revoked at the IdP (RFC 7009 `/revoke`, logout, a reused refresh token, a disabled
//! user's grants) would otherwise keep working at a service that verifies locally until its `exp`.
//! The feed (`GET <issuer>/revocations` on auth-server) lists every such token that has not expired,
//! as `{"issuer": "...", "revoked": [{"jti": "...", "exp": 1700000000}], "revoked_keys": ["kid"]}`;
//! each poll adds them to the verifier's revocation list, which cache hits honour too.
//! `revoked_keys` names signing keys the operator revoked (`auth-server keys revoke`): from that
//! poll on, the issuer's key store drops them and refuses them, even if a cached or later-fetched
//! JWKS still lists them (`IssuerKeys::revoke_kids`), instead of trusting them
//! until the JWKS `max-age` runs out.
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

use crate::fetch::{self, FetchError};
use crate::metrics::SourceMetrics;
use crate::revocation::Revocations;

/// Largest feed body read: 100,000 entries of about 60 bytes, with room to spare.
const MAX_FEED_BYTES: usize = 8 * 1024 * 1024;
/// Longest `jti` taken from a feed (ours are 22 characters).
const MAX_JTI_LEN: usize = 256;

/// One issuer's feed.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) issuer: String,
    pub(crate) url: String,
    /// Set when verification fails closed while this feed is stale or incomplete.
    pub(crate) freshness: Option<Arc<Freshness>>,
    /// Polls, failures and the feed's age, for the host's metrics recorder.
    pub(crate) metrics: SourceMetrics,
    /// Unix time of the last successful poll (`i64::MIN`: none yet).
    pub(crate) last_success: AtomicI64,
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
        revocations: &Revocations,
        leeway: i64,
        now: UnixTime,
    ) -> Result<(usize, Vec<String>), FetchError> {
        let outcome = self.poll_once(http, revocations, leeway, now).await;
        if outcome.is_ok() {
            self.last_success.fetch_max(now, Ordering::AcqRel);
        }
        self.metrics.attempted(&outcome, now);
        outcome
    }

    /// Sets the age gauge from the time of the last successful poll (see [`crate::metrics`]).
    pub(crate) fn update_age_gauge(&self, now: UnixTime) {
        let at = self.last_success.load(Ordering::Acquire);
        self.metrics.set_age((at != i64::MIN).then_some(at), now);
    }

    /// Fetches the feed once and records its entries (`exp` plus `leeway`, since a token is
    /// accepted that long past its `exp`). Returns how many entries it listed and the kids of the
    /// revoked keys it listed (for the caller to apply to this issuer's key store).
    async fn poll_once(
        &self,
        http: &reqwest::Client,
        revocations: &Revocations,
        leeway: i64,
        now: UnixTime,
    ) -> Result<(usize, Vec<String>), FetchError> {
        let fetched = fetch::get(http, &self.url, MAX_FEED_BYTES).await?;
        let doc: Document = serde_json::from_slice(&fetched.body)
            .map_err(|e| FetchError::Invalid(format!("revocation feed: {e}")))?;
        if doc.issuer != self.issuer {
            return Err(FetchError::Invalid(
                "revocation feed of another issuer".into(),
            ));
        }
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
        if let Some(f) = &self.freshness
            && doc.complete
            && dropped == 0
        {
            f.complete_at.store(now, Ordering::Release);
        }
        let kids = doc
            .revoked_keys
            .into_iter()
            .filter(|k| !k.is_empty() && k.len() <= MAX_JTI_LEN)
            .collect();
        Ok((doc.revoked.len(), kids))
    }
}
