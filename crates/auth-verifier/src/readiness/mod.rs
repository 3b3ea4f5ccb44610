//! Readiness: can this verifier accept tokens now? For a service's `/readyz` (a load balancer
//! or Kubernetes sends traffic only to ready replicas), as opposed to liveness (`/healthz`).
//!
//! Ready when every trusted issuer's keys are held and still usable (fetched, and not past their
//! lifetime plus `max_stale`, after which verification fails closed with `KeysStale`) and, for
//! each issuer whose revocation feed is polled, the last successful poll is no older than a bound
//! ([`DEFAULT_FEED_MAX_AGE`], or the one given to [`Verifier::readiness_within`]).
//!
//! Every replica depends on the same IdP: while it is down, all of them become unready at about
//! the same time once the bound passes. The keys keep verifying for `max_stale` (2 h by default)
//! meanwhile, so the default feed bound is generous; a service that would rather keep serving
//! through an IdP outage can pass a longer one.

use std::fmt;
use std::time::Duration;

use crate::verifier::Verifier;

/// Default bound on the age of the last successful revocation-feed poll (20 polls at the default
/// 15 s interval).
pub const DEFAULT_FEED_MAX_AGE: Duration = Duration::from_secs(300);

/// Why a verifier is not ready. Carries only the issuer (no URL, no error text), so it may be
/// shown to a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotReady {
    /// No key of this issuer has been fetched yet, or the last fetch held no usable key.
    KeysMissing {
        /// The issuer.
        issuer: String,
    },
    /// This issuer's keys are past their lifetime plus `max_stale`: tokens are refused.
    KeysStale {
        /// The issuer.
        issuer: String,
    },
    /// This issuer's revocation feed has not been polled successfully within the bound (or ever).
    FeedStale {
        /// The issuer.
        issuer: String,
    },
}

impl NotReady {
    /// A short code for a probe's answer: `keys_missing`, `keys_stale` or `revocations_stale`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeysMissing { .. } => "keys_missing",
            Self::KeysStale { .. } => "keys_stale",
            Self::FeedStale { .. } => "revocations_stale",
        }
    }
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeysMissing { issuer } => write!(f, "no signing keys of {issuer} yet"),
            Self::KeysStale { issuer } => write!(f, "the signing keys of {issuer} are stale"),
            Self::FeedStale { issuer } => {
                write!(f, "the revocation feed of {issuer} is not recent")
            }
        }
    }
}

/// The answer of [`Verifier::readiness`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Readiness {
    /// Why not ready; empty when ready.
    pub reasons: Vec<NotReady>,
}

impl Readiness {
    /// Whether the verifier can accept tokens.
    pub fn is_ready(&self) -> bool {
        self.reasons.is_empty()
    }
}

impl Verifier {
    /// [`Verifier::readiness_within`] [`DEFAULT_FEED_MAX_AGE`].
    pub fn readiness(&self) -> Readiness {
        self.readiness_within(DEFAULT_FEED_MAX_AGE)
    }

    /// Whether every issuer's keys are present and usable and every revocation feed was polled
    /// successfully within `feed_max_age`; with the reasons when not. Reads only in-memory state
    /// (no I/O), so a probe may call it as often as it likes.
    pub fn readiness_within(&self, feed_max_age: Duration) -> Readiness {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let mut reasons = Vec::new();
        let mut issuers: Vec<_> = inner.issuers.values().collect();
        issuers.sort_by(|a, b| a.issuer().cmp(b.issuer()));
        for store in issuers {
            let issuer = store.issuer().to_owned();
            if store.kids().is_empty() {
                reasons.push(NotReady::KeysMissing { issuer });
            } else if store.ensure_not_stale(now).is_err() {
                reasons.push(NotReady::KeysStale { issuer });
            }
        }
        let max_age = i64::try_from(feed_max_age.as_secs()).unwrap_or(i64::MAX);
        for feed in &inner.feeds {
            if feed
                .last_success()
                .is_none_or(|at| now.saturating_sub(at) > max_age)
            {
                reasons.push(NotReady::FeedStale {
                    issuer: feed.issuer.clone(),
                });
            }
        }
        Readiness { reasons }
    }
}

#[cfg(test)]
mod tests;
