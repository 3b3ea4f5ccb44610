//! Password hashing: argon2id, off the async workers, with bounded concurrency.
//!
//! Each argon2id hash at the OWASP parameters takes ~20 ms of CPU and 19 MiB of memory. Hashing runs on
//! `max_concurrent` dedicated threads (memory is bounded by that times `m`), fed by a queue of at most
//! `max_waiting` jobs; beyond that the answer is [`PasswordError::Busy`] at once, so a login storm can
//! neither exhaust memory nor starve the token and JWKS endpoints.
//!
//! Why a queue and dedicated threads: with a semaphore in front of the blocking pool, a finished hash
//! released its slot, and the next waiter had to be woken on an async worker before it could start
//! hashing; under load the hashing cores idled in that gap (66% of the raw argon2 rate, measured in
//! docs/BENCHMARKS.md). The threads now take the next job the moment they finish. And blocking-pool
//! threads took turns, each keeping its freed 19 MiB in a glibc arena (~400 MB resident after a login
//! storm); a fixed thread reuses its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::PasswordHasher as _;
use argon2::{Algorithm, Argon2, Params, Version};

use super::signing_pool::{PoolError, SigningPool};

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
    threads: SigningPool,
    /// Jobs queued or running.
    in_flight: Arc<AtomicUsize>,
    /// Most jobs queued or running.
    capacity: usize,
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
            // The channel holds every job the limit allows, so a job is never refused only because a
            // free thread has not yet returned to the queue; `in_flight` enforces the limit.
            threads: SigningPool::named(
                "argon2",
                max_concurrent.max(1),
                max_concurrent.max(1) + max_waiting,
            )
            .map_err(|e| PasswordError::Hash(format!("cannot start hashing threads: {e}")))?,
            in_flight: Arc::new(AtomicUsize::new(0)),
            capacity: max_concurrent.max(1) + max_waiting,
        })
    }

    /// The cost new hashes get.
    pub fn cost(&self) -> Cost {
        self.cost
    }

    /// For the metrics: `(admitted, capacity, waiting)`: the password operations admitted (queued or
    /// running), the most that may be, and those waiting for a hashing thread.
    pub fn load(&self) -> (usize, usize, usize) {
        (
            self.in_flight.load(Ordering::Relaxed),
            self.capacity,
            self.threads.waiting(),
        )
    }

    /// Takes a place among the jobs queued or running, or `None` when they are all taken (the
    /// caller answers "busy"). One atomic increment: a sign-in takes its place *before* any other
    /// work (form, database, throttle), so a storm is refused at the cost of that increment, and at
    /// most `max_concurrent + max_waiting` sign-ins are ever past it. The place is given back when
    /// the [`Admission`] is dropped (also when the caller goes away).
    pub fn admit(&self) -> Option<Admission> {
        let before = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let slot = Admission(self.in_flight.clone());
        (before < self.capacity).then_some(slot)
    }

    /// Runs `f` on a hashing thread under a place already taken. Its job, if still queued when the
    /// caller goes away, is skipped by the pool; the channel's own bound covers such leftovers.
    async fn run_admitted<T: Send + 'static>(
        &self,
        _admission: &Admission,
        f: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        self.threads
            .run(move || f(argon))
            .await
            .map_err(|e| match e {
                PoolError::Busy => PasswordError::Busy,
                PoolError::Stopped => PasswordError::Hash(format!("hashing task: {e}")),
            })
    }

    /// Whether a new operation would be refused as busy right now (for tests: sign-ins take their
    /// place with [`PasswordHasher::admit`], which answers this and reserves in one step).
    #[cfg(test)]
    pub(crate) fn is_saturated(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) >= self.capacity
    }

    /// A PHC string for `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let admission = self.admit().ok_or(PasswordError::Busy)?;
        self.hash_admitted(&admission, password).await
    }

    /// [`PasswordHasher::hash`] under a place already taken with [`PasswordHasher::admit`].
    pub async fn hash_admitted(
        &self,
        admission: &Admission,
        password: String,
    ) -> Result<String, PasswordError> {
        self.run_admitted(admission, move |argon| {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await?
    }

    /// Checks `password` against a stored PHC string (with the parameters stored in it).
    pub async fn verify(&self, password: String, phc: String) -> Result<Verified, PasswordError> {
        let admission = self.admit().ok_or(PasswordError::Busy)?;
        self.verify_admitted(&admission, password, phc).await
    }

    /// [`PasswordHasher::verify`] under a place already taken with [`PasswordHasher::admit`].
    pub async fn verify_admitted(
        &self,
        admission: &Admission,
        password: String,
        phc: String,
    ) -> Result<Verified, PasswordError> {
        let current = self.cost;
        self.run_admitted(admission, move |_| {
            let ok = verify_reusing_memory(password.as_bytes(), &phc);
            let needs_rehash = Cost::of_phc(&phc).is_none_or(|c| !c.at_least(&current));
            Verified { ok, needs_rehash }
        })
        .await
    }
}

/// A place among the hashing jobs queued or running ([`PasswordHasher::admit`]), given back on drop:
/// a guard rather than a bare decrement, so a caller that goes away (client gone, timeout) gives its
/// place back at once.
#[derive(Debug)]
pub struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

thread_local! {
    /// Each hashing thread's argon2 working memory, kept between runs (a fixed thread count bounds
    /// it): allocating and zeroing m KiB per verification cost page faults and, through glibc's
    /// arenas, left ~200 MB resident after a login storm (docs/BENCHMARKS.md).
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Verifies `password` against a PHC string with the parameters stored in it, in this thread's
/// reused working memory, comparing in constant time. Argon2 overwrites every block it reads, so
/// reusing the memory without clearing it does not change the result.
fn verify_reusing_memory(password: &[u8], phc: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(hash) = argon2::PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let done = BLOCKS.with(|cell| {
        let mut memory = cell.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
            .is_ok()
    });
    done && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
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

    /// Occupies the hasher's only thread until the returned sender is dropped or sent to.
    async fn occupy(h: &PasswordHasher) -> std::sync::mpsc::Sender<()> {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let h2 = h.clone();
        tokio::spawn(async move {
            let Some(admission) = h2.admit() else {
                return;
            };
            let _ = h2
                .run_admitted(&admission, move |_| {
                    let _ = started_tx.send(());
                    let _ = release_rx.recv();
                })
                .await;
        });
        let _ = started_rx.await;
        release_tx
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_not_unbounded() {
        let h = PasswordHasher::new(CHEAP, 1, 0).unwrap_or_else(|e| panic!("{e}"));
        let release = occupy(&h).await;
        // The only thread is busy and nothing may wait: refused at once.
        assert!(h.is_saturated());
        assert!(matches!(h.hash("x".into()).await, Err(PasswordError::Busy)));
        drop(release);
    }

    #[tokio::test]
    async fn an_admission_holds_its_place_until_dropped() {
        let h = PasswordHasher::new(CHEAP, 1, 1).unwrap_or_else(|e| panic!("{e}"));
        let a = h.admit();
        let b = h.admit();
        assert!(a.is_some() && b.is_some());
        assert!(h.is_saturated());
        assert!(h.admit().is_none(), "a third place does not exist");
        assert!(h.admit().is_none(), "a refusal does not keep a place");
        drop(a);
        let c = h.admit();
        assert!(c.is_some());
        if let Some(c) = &c {
            assert!(h.verify_admitted(c, "x".into(), "bad".into()).await.is_ok());
        }
        drop((b, c));
        assert!(!h.is_saturated());
    }

    #[tokio::test]
    async fn a_caller_dropped_while_waiting_gives_its_place_back() {
        let h = PasswordHasher::new(CHEAP, 1, 1).unwrap_or_else(|e| panic!("{e}"));
        let release = occupy(&h).await;
        // Queued (polled once), then dropped before its turn: its job is skipped, its place freed.
        let mut waiter = Box::pin(h.hash("x".into()));
        assert!(
            futures_poll_once(waiter.as_mut()).is_none(),
            "it was queued"
        );
        assert!(
            h.is_saturated(),
            "one running and one queued fill a queue of one"
        );
        drop(waiter);
        drop(release);
        assert!(
            h.hash("x".into()).await.is_ok(),
            "the queue is not full of ghosts"
        );
        assert!(!h.is_saturated());
    }

    fn futures_poll_once<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> Option<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }
}
