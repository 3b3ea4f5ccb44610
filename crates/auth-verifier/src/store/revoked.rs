//! The signing keys the issuer's revocation feed lists as revoked: dropped from the key set at once,
//! kept out of every later fetch while remembered. They live in the key snapshot, so the check is
//! part of the one snapshot read a key lookup makes, and a poll that changes nothing only reads.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use auth_core::UnixTime;

use super::{IssuerKeys, Snapshot};

/// Most revoked kids remembered at once (an issuer revokes a handful in its lifetime).
const MAX_REVOKED_KIDS: usize = 1024;
/// How long a revoked kid is remembered at least after the feed last listed it: longer than any
/// access token lives, so it cannot come back while a token it signed is unexpired.
const REVOKED_KID_KEEP_SECS: i64 = crate::revocation::MAX_KEEP_SECS;
/// How long a listing remembers a kid for. A poll that lists it again extends that only once less
/// than [`REVOKED_KID_KEEP_SECS`] is left, so most polls change nothing and take no write lock.
const REVOKED_KID_RENEW_SECS: i64 = 2 * REVOKED_KID_KEEP_SECS;

impl IssuerKeys {
    /// Whether the issuer's revocation feed listed `kid` as revoked (one read of the snapshot).
    #[cfg(test)]
    fn is_revoked(&self, kid: &str) -> bool {
        self.snapshot().revoked.contains_key(kid)
    }

    /// Stops trusting the keys `kids` (listed as revoked by the issuer's revocation feed at `now`):
    /// they leave the key set at once, cached verifications made with the old key set are verified
    /// again (and refused), and no later JWKS fetch brings them back while they are remembered
    /// (at least [`REVOKED_KID_KEEP_SECS`] after the feed last listed them).
    ///
    /// Called on every feed poll: a poll that adds, renews and forgets nothing only reads the
    /// snapshot. Returns whether it changed anything.
    pub(crate) fn revoke_kids(&self, kids: &[String], now: UnixTime) -> bool {
        if !revocations_change(&self.snapshot().revoked, kids, now) {
            return false;
        }
        let mut current = match self.current.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut revoked = HashMap::clone(&current.revoked);
        revoked.retain(|_, until| *until > now);
        let until = now.saturating_add(REVOKED_KID_RENEW_SECS);
        let mut added = false;
        for kid in kids {
            if let Some(u) = revoked.get_mut(kid) {
                *u = (*u).max(until);
            } else if revoked.len() < MAX_REVOKED_KIDS {
                revoked.insert(kid.clone(), until);
                added = true;
            } else {
                tracing::error!(issuer = %self.issuer, %kid,
                    "too many revoked keys remembered; this one is not refused");
            }
        }
        let keys = current.keys.without(|k| revoked.contains_key(k));
        if keys.len() != current.keys.len() {
            tracing::warn!(issuer = %self.issuer, "revoked signing keys dropped from the key set");
        }
        *current = Arc::new(Snapshot {
            keys,
            revoked: Arc::new(revoked),
            fetched_at: current.fetched_at,
            fresh_until: current.fresh_until,
            generation: current.generation,
        });
        if added {
            // Published while `current` is still locked: a verification that read the old version
            // before this point is cached under it and verified again at its next hit.
            self.keyset_version.fetch_add(1, Ordering::AcqRel);
        }
        true
    }
}

/// Whether a poll listing `kids` at `now` would change `revoked`: a kid to add, one whose memory
/// needs renewing, or one to forget.
fn revocations_change(revoked: &HashMap<String, UnixTime>, kids: &[String], now: UnixTime) -> bool {
    let renew_before = now.saturating_add(REVOKED_KID_KEEP_SECS);
    revoked.values().any(|until| *until <= now)
        || kids
            .iter()
            .any(|k| revoked.get(k).is_none_or(|until| *until < renew_before))
}

#[cfg(test)]
mod tests {
    use auth_core::{Alg, Clock};

    use super::super::StorePolicy;
    use super::*;

    fn store(clock: &auth_core::ManualClock) -> IssuerKeys {
        let policy = StorePolicy {
            algorithms: Alg::ALL.to_vec(),
            refetch_cooldown: 30,
            unknown_kid_ttl: 300,
            min_ttl: 30,
            max_ttl: 86_400,
            default_ttl: 300,
            max_stale: 3600,
            max_document_bytes: 1024,
        };
        let http = reqwest::Client::new();
        let clock = Arc::new(clock.clone());
        let metrics = crate::metrics::SourceMetrics::noop();
        IssuerKeys::new(
            "https://i".into(),
            None,
            http,
            Arc::new(policy),
            clock,
            metrics,
        )
    }

    #[test]
    fn a_poll_that_changes_nothing_only_reads() {
        let clock = auth_core::ManualClock::new(1_000_000);
        let s = store(&clock);
        let kids = vec!["k1".to_owned()];
        assert!(
            !s.revoke_kids(&[], clock.now()),
            "an empty feed writes nothing"
        );
        assert!(!s.is_revoked("k1"));
        let version = s.keyset_version();
        assert!(s.revoke_kids(&kids, clock.now()));
        assert!(s.is_revoked("k1") && !s.is_revoked("k2"));
        assert_eq!(
            s.keyset_version(),
            version + 1,
            "cached verifications are redone"
        );
        // The same list again, for as long as the memory needs no renewal: not one write.
        let before = s.snapshot();
        for _ in 0..10 {
            clock.advance(REVOKED_KID_KEEP_SECS / 10);
            assert!(!s.revoke_kids(&kids, clock.now()));
        }
        assert!(
            Arc::ptr_eq(&before, &s.snapshot()),
            "the snapshot was not replaced"
        );
        assert_eq!(s.keyset_version(), version + 1);
        // Then one renewal (the kid stays out, the key set version stays), and it is remembered
        // long after the last listing.
        clock.advance(1);
        assert!(s.revoke_kids(&kids, clock.now()));
        assert_eq!(s.keyset_version(), version + 1, "a renewal adds no kid");
        clock.advance(REVOKED_KID_KEEP_SECS);
        assert!(!s.revoke_kids(&[], clock.now()));
        assert!(s.is_revoked("k1"));
        // Forgotten once no listing renewed it for long enough.
        clock.advance(REVOKED_KID_RENEW_SECS);
        assert!(s.revoke_kids(&[], clock.now()), "the expired kid is pruned");
        assert!(!s.is_revoked("k1"));
    }
}
