//! Password hashing: argon2id, off the async workers, with bounded concurrency.
//!
//! Each argon2id hash at the OWASP parameters takes ~20 ms of CPU and 19 MiB of memory. Hashing runs on
//! the blocking pool, at most `max_concurrent` at a time (memory is bounded by that times `m`), and at
//! most `max_waiting` more may queue; beyond that the answer is [`PasswordError::Busy`] at once, so a
//! login storm can neither exhaust memory nor starve the token and JWKS endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

use super::signing_pool::SigningPool;
use tokio::sync::Semaphore;

/// OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1 (the minimum accepted).
pub const OWASP_MEMORY_KIB: u32 = 19_456;
/// See [`OWASP_MEMORY_KIB`].
pub const OWASP_ITERATIONS: u32 = 2;
/// See [`OWASP_MEMORY_KIB`].
pub const OWASP_PARALLELISM: u32 = 1;

/// Hashing failed or was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too many hashes are running and queued: retry later.
    #[error("too many password operations in progress")]
    Busy,
    /// The parameters or the stored hash are invalid.
    #[error("password hashing: {0}")]
    Hash(String),
}

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub ok: bool,
    /// The stored hash uses weaker parameters (or another algorithm) than the current ones: hash the
    /// password again and store the new hash.
    pub needs_rehash: bool,
}

/// The argon2id parameters in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Cost {
    /// The OWASP minimum.
    pub const OWASP: Cost = Cost {
        memory_kib: OWASP_MEMORY_KIB,
        iterations: OWASP_ITERATIONS,
        parallelism: OWASP_PARALLELISM,
    };

    /// Reads `m`, `t`, `p` from an argon2id PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`);
    /// `None` for any other algorithm or a malformed string.
    pub fn of_phc(phc: &str) -> Option<Cost> {
        let mut parts = phc.split('$');
        if parts.next() != Some("") || parts.next() != Some("argon2id") {
            return None;
        }
        let params = parts.find(|p| p.starts_with("m="))?;
        let mut cost = Cost {
            memory_kib: 0,
            iterations: 0,
            parallelism: 0,
        };
        for kv in params.split(',') {
            let (k, v) = kv.split_once('=')?;
            let v: u32 = v.parse().ok()?;
            match k {
                "m" => cost.memory_kib = v,
                "t" => cost.iterations = v,
                "p" => cost.parallelism = v,
                _ => {}
            }
        }
        Some(cost)
    }

    fn at_least(&self, other: &Cost) -> bool {
        self.memory_kib >= other.memory_kib
            && self.iterations >= other.iterations
            && self.parallelism >= other.parallelism
    }
}

/// Hashes and verifies passwords with bounded concurrency. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    cost: Cost,
    params: Params,
    running: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    threads: SigningPool,
}

impl PasswordHasher {
    /// A hasher with `cost`, running at most `max_concurrent` hashes with `max_waiting` queued.
    /// Production code passes at least [`Cost::OWASP`] (the configuration enforces it); tests may pass
    /// cheaper costs where hashing is not what they test.
    pub fn new(
        cost: Cost,
        max_concurrent: usize,
        max_waiting: usize,
    ) -> Result<Self, PasswordError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        Ok(Self {
            cost,
            params,
            running: Arc::new(Semaphore::new(max_concurrent.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
            // Dedicated threads, not the blocking pool: each argon2 run allocates m KiB, and glibc
            // keeps freed blocks in per-thread arenas, so dozens of blocking threads took turns and held
            // ~400 MB after a login storm (docs/BENCHMARKS.md). A fixed thread per slot reuses its own.
            threads: SigningPool::named("argon2", max_concurrent.max(1), max_concurrent.max(1))
                .map_err(|e| PasswordError::Hash(format!("cannot start hashing threads: {e}")))?,
        })
    }

    /// The cost new hashes get.
    pub fn cost(&self) -> Cost {
        self.cost
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        // A guard, not a bare decrement: a caller dropped while it waits (client gone, timeout) must
        // give its place back, or the queue would fill up with ghosts and refuse every sign-in.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let already = self.waiting.fetch_add(1, Ordering::SeqCst);
        let waiting = Waiting(&self.waiting);
        if already >= self.max_waiting + self.running.available_permits() {
            return Err(PasswordError::Busy);
        }
        let permit = self.running.clone().acquire_owned().await;
        drop(waiting);
        let permit = permit.map_err(|_| PasswordError::Busy)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let out = self
            .threads
            .run(move || {
                let _permit = permit;
                f(argon)
            })
            .await
            .map_err(|e| PasswordError::Hash(format!("hashing task: {e}")))?;
        Ok(out)
    }

    /// Whether a new operation would be refused as busy right now (a cheap check, so a storm of
    /// sign-ins can be answered before any database work).
    pub fn is_saturated(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) >= self.max_waiting + self.running.available_permits()
    }

    /// A PHC string for `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move |argon| {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await?
    }

    /// Checks `password` against a stored PHC string (with the parameters stored in it).
    pub async fn verify(&self, password: String, phc: String) -> Result<Verified, PasswordError> {
        let current = self.cost;
        self.run(move |argon| {
            let ok = argon
                .verify_password(password.as_bytes(), phc.as_str())
                .is_ok();
            let needs_rehash = Cost::of_phc(&phc).is_none_or(|c| !c.at_least(&current));
            Verified { ok, needs_rehash }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Cost = Cost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[tokio::test]
    async fn hash_verify_and_rehash_detection() {
        let weak = PasswordHasher::new(CHEAP, 2, 8).unwrap_or_else(|e| panic!("{e}"));
        let phc = weak.hash("correct horse".into()).await.unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let v = weak.verify("correct horse".into(), phc.clone()).await.ok();
        assert_eq!(
            v,
            Some(Verified {
                ok: true,
                needs_rehash: false
            })
        );
        let v = weak.verify("wrong".into(), phc.clone()).await.ok();
        assert_eq!(
            v,
            Some(Verified {
                ok: false,
                needs_rehash: false
            })
        );
        let stronger = Cost {
            memory_kib: 128,
            ..CHEAP
        };
        let strong = PasswordHasher::new(stronger, 2, 8).unwrap_or_else(|e| panic!("{e}"));
        let v = strong.verify("correct horse".into(), phc).await.ok();
        assert_eq!(
            v,
            Some(Verified {
                ok: true,
                needs_rehash: true
            })
        );
    }

    #[test]
    fn phc_costs() {
        assert_eq!(
            Cost::of_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
            Some(Cost::OWASP)
        );
        assert_eq!(
            Cost::of_phc("$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
            None
        );
        assert_eq!(Cost::of_phc("$2b$12$abc"), None);
        assert_eq!(Cost::of_phc("garbage"), None);
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_not_unbounded() {
        let h = PasswordHasher::new(CHEAP, 1, 0).unwrap_or_else(|e| panic!("{e}"));
        // Hold the only slot: with no room to wait, the next operation is refused at once.
        let _slot = h.running.clone().acquire_owned().await;
        assert!(matches!(h.hash("x".into()).await, Err(PasswordError::Busy)));
    }

    #[tokio::test]
    async fn a_caller_dropped_while_waiting_gives_its_place_back() {
        let h = PasswordHasher::new(CHEAP, 1, 1).unwrap_or_else(|e| panic!("{e}"));
        let slot = h.running.clone().acquire_owned().await;
        for _ in 0..5 {
            // Polled once (it queues for the slot), then dropped before it gets it.
            let mut waiter = Box::pin(h.hash("x".into()));
            let polled = futures_poll_once(waiter.as_mut());
            assert!(polled.is_none(), "it was waiting");
        }
        assert_eq!(h.waiting.load(Ordering::SeqCst), 0);
        drop(slot);
        assert!(
            h.hash("x".into()).await.is_ok(),
            "the queue is not full of ghosts"
        );
    }

    fn futures_poll_once<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> Option<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }
}
