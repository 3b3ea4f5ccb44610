//! Readiness: whether this replica can serve its main job, for `/readyz`.
//!
//! Ready means all three of:
//!
//! - **not draining**: once shutdown begins ([`Health::begin_draining`], on SIGTERM) the replica is
//!   never ready again, so a load balancer stops sending it work while requests in flight finish;
//! - **keys loaded**: the key ring has a key that signs *now* for every algorithm
//!   ([`KeyManager::algorithms_without_signer`]);
//! - **the database answered recently**: every check pings it (for at most [`PING_TIMEOUT`]); a
//!   failed ping still counts as ready while the last successful one is less than
//!   `health.database_grace_secs` old by the injected [`Clock`]. A short database blip therefore
//!   does not pull every replica out of the load balancer at once, while the JWKS, the metadata and
//!   tokens for cached clients keep working from memory; a long outage does.
//!
//! Liveness (`/healthz`) is not here: it only says the process answers.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use auth_core::{Alg, Clock, UnixTime};

use crate::domain::keys::KeyManager;
use crate::store::Store;

/// How long one readiness check waits for the database before counting it as not answering.
/// Shorter than a typical load-balancer probe timeout (Kubernetes: 1 s), so `/readyz` answers
/// within the probe's time even when the database hangs.
pub const PING_TIMEOUT: Duration = Duration::from_millis(500);

/// `last_answer` before the database ever answered.
const NEVER: UnixTime = UnixTime::MIN;

/// Why the replica is not ready. Its `Display` is the short reason `/readyz` reports (no
/// internals: the database's own error is logged, not shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// Shutting down: requests in flight finish, new work should go elsewhere.
    Draining,
    /// No key signs now for these algorithms.
    NoSigningKey(Vec<Alg>),
    /// The database has not answered within the grace period.
    Database {
        /// Seconds since its last answer; `None` if it never answered.
        silent_for: Option<i64>,
    },
}

impl NotReady {
    /// A stable, machine-readable name of the reason: `draining`, `keys` or `database`.
    pub fn code(&self) -> &'static str {
        match self {
            NotReady::Draining => "draining",
            NotReady::NoSigningKey(_) => "keys",
            NotReady::Database { .. } => "database",
        }
    }
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::Draining => f.write_str("shutting down"),
            NotReady::NoSigningKey(algs) => {
                let names: Vec<&str> = algs.iter().map(|a| a.as_str()).collect();
                write!(f, "no signing key for {}", names.join(", "))
            }
            NotReady::Database {
                silent_for: Some(s),
            } => write!(f, "the database has not answered for {s} s"),
            NotReady::Database { silent_for: None } => {
                f.write_str("the database has not answered yet")
            }
        }
    }
}

/// Readiness of this replica. Cheap to clone; clones share the state.
#[derive(Debug, Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    keys: Arc<KeyManager>,
    clock: Arc<dyn Clock>,
    grace_secs: i64,
    /// When the database last answered a ping ([`NEVER`] before the first).
    last_answer: AtomicI64,
    draining: AtomicBool,
}

impl Health {
    /// Readiness over `store` and `keys`, the database allowed to be silent for `grace_secs`.
    pub fn new(
        store: Store,
        keys: Arc<KeyManager>,
        clock: Arc<dyn Clock>,
        grace_secs: u64,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                keys,
                clock,
                grace_secs: i64::try_from(grace_secs).unwrap_or(i64::MAX),
                last_answer: AtomicI64::new(NEVER),
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// From now on the replica is not ready (shutdown has begun). Idempotent.
    pub fn begin_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`Health::begin_draining`] was called.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// `Ok` when this replica can serve its main job (see the module documentation).
    pub async fn check(&self) -> Result<(), NotReady> {
        let inner = &self.inner;
        if self.is_draining() {
            return Err(NotReady::Draining);
        }
        let missing = inner.keys.algorithms_without_signer();
        if !missing.is_empty() {
            return Err(NotReady::NoSigningKey(missing));
        }
        let ping = tokio::time::timeout(PING_TIMEOUT, inner.store.ping()).await;
        let now = inner.clock.now();
        match ping {
            Ok(Ok(())) => {
                inner.last_answer.fetch_max(now, Ordering::SeqCst);
                return Ok(());
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "readiness: the database did not answer"),
            Err(_) => tracing::warn!(
                timeout_ms = PING_TIMEOUT.as_millis(),
                "readiness: the database did not answer in time"
            ),
        }
        let last = inner.last_answer.load(Ordering::SeqCst);
        if last == NEVER {
            return Err(NotReady::Database { silent_for: None });
        }
        let silent_for = now.saturating_sub(last);
        if silent_for < inner.grace_secs {
            Ok(())
        } else {
            Err(NotReady::Database {
                silent_for: Some(silent_for),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_no_internals() {
        assert_eq!(NotReady::Draining.to_string(), "shutting down");
        assert_eq!(
            NotReady::NoSigningKey(vec![Alg::Es256, Alg::Rs256]).to_string(),
            "no signing key for ES256, RS256"
        );
        let db = NotReady::Database {
            silent_for: Some(45),
        };
        assert_eq!(db.to_string(), "the database has not answered for 45 s");
        assert_eq!(db.code(), "database");
    }
}
