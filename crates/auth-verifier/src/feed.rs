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

use auth_core::UnixTime;
use serde::Deserialize;

use crate::fetch::{self, FetchError};
use crate::revocation::Revocations;

/// Largest feed body read: 100,000 entries of about 60 bytes, with room to spare.
const MAX_FEED_BYTES: usize = 8 * 1024 * 1024;
/// Longest `jti` taken from a feed (ours are 22 characters).
const MAX_JTI_LEN: usize = 256;

/// One issuer's feed.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    pub(crate) issuer: String,
    pub(crate) url: String,
}

#[derive(Deserialize)]
struct Document {
    issuer: String,
    revoked: Vec<Entry>,
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

impl Feed {
    /// Fetches the feed once and records its entries (`exp` plus `leeway`, since a token is
    /// accepted that long past its `exp`). Returns how many entries it listed and the kids of the
    /// revoked keys it listed (for the caller to apply to this issuer's key store).
    pub(crate) async fn poll(
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
        let kids = doc
            .revoked_keys
            .into_iter()
            .filter(|k| !k.is_empty() && k.len() <= MAX_JTI_LEN)
            .collect();
        Ok((doc.revoked.len(), kids))
    }
}
