//! A small pool of threads for CPU-heavy work: RSA signatures, and (a second pool) password hashes.
//!
//! An RS256 signature takes most of a millisecond of CPU, too long for an async worker. Measured on the
//! 2-core machine (docs/BENCHMARKS.md), `spawn_blocking` per signature reached 78% of the raw signing
//! rate (dozens of blocking threads contending for two cores), and a semaphore in front of it 55% (each
//! slot idles while the finished task is woken). Dedicated threads, one per core, that take the next job
//! from a queue as soon as they finish, keep the cores signing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool could not run the job.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The queue is full: shed load rather than queue without bound.
    #[error("signing queue is full")]
    Busy,
    /// The pool's threads are gone.
    #[error("signing pool stopped")]
    Stopped,
}

/// Fixed threads consuming a bounded queue.
#[derive(Debug, Clone)]
pub struct SigningPool {
    tx: SyncSender<Job>,
    /// Its threads' name, the `pool` label of its metrics.
    name: &'static str,
    /// Jobs sent and not yet taken by a thread.
    waiting: Arc<AtomicUsize>,
}

impl SigningPool {
    /// `threads` workers and a queue of `queue` waiting jobs.
    ///
    /// # Errors
    /// If the operating system refuses to start a thread.
    pub fn new(threads: usize, queue: usize) -> std::io::Result<Self> {
        Self::named("rsa-sign", threads, queue)
    }

    /// As [`SigningPool::new`], with threads named `{name}-{i}`.
    ///
    /// # Errors
    /// If the operating system refuses to start a thread.
    pub fn named(name: &'static str, threads: usize, queue: usize) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || worker(&rx))?;
        }
        Ok(Self {
            tx,
            name,
            waiting: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Its name (`rsa-sign`, `argon2`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Jobs waiting for a thread right now (not counting those running).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// One thread per available core, and a queue of 4096.
    pub fn per_core() -> std::io::Result<Self> {
        Self::new(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            4096,
        )
    }

    /// Runs `f` on a pool thread and awaits its result.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (name, waiting, queued_at) = (self.name, self.waiting.clone(), Instant::now());
        let job: Job = Box::new(move || {
            waiting.fetch_sub(1, Ordering::Relaxed);
            crate::telemetry::pool_wait(name, queued_at.elapsed());
            // The caller went away while the job waited in the queue: skip the work.
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(f());
        });
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.tx.try_send(job).map_err(|e| {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            match e {
                TrySendError::Full(_) => PoolError::Busy,
                TrySendError::Disconnected(_) => PoolError::Stopped,
            }
        })?;
        rx.await.map_err(|_| PoolError::Stopped)
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while running one.
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            // A panicking job drops its result sender (the caller sees an error); the thread lives on.
            Ok(job) => drop(catch_unwind(AssertUnwindSafe(job))),
            Err(_) => return, // every sender is gone: the pool was dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panicking_one() {
        let pool = SigningPool::new(2, 32).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pool.run(|| 2 + 2).await.ok(), Some(4));
        #[allow(clippy::panic)]
        let failed = pool.run(|| -> u8 { panic!("boom") }).await;
        assert!(matches!(failed, Err(PoolError::Stopped)));
        let results = futures_join(&pool).await;
        assert_eq!(results, (0..16).map(|i| i * 2).collect::<Vec<_>>());
    }

    async fn futures_join(pool: &SigningPool) -> Vec<i32> {
        let mut handles = Vec::new();
        for i in 0..16 {
            let p = pool.clone();
            handles.push(tokio::spawn(async move { p.run(move || i * 2).await }));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.ok().and_then(Result::ok).unwrap_or(-1));
        }
        out
    }

    #[tokio::test]
    async fn a_full_queue_sheds_load() {
        let pool = SigningPool::new(1, 1).unwrap_or_else(|e| panic!("{e}"));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let blocker = {
            let p = pool.clone();
            tokio::spawn(async move {
                p.run(move || {
                    let _ = started_tx.send(());
                    let _ = release_rx.recv();
                })
                .await
            })
        };
        let _ = started_rx.await; // the only worker is busy
        // Two more jobs, one queue slot: one of them must be refused at once.
        let a = tokio::spawn({
            let p = pool.clone();
            async move { p.run(|| 1).await }
        });
        let b = tokio::spawn({
            let p = pool.clone();
            async move { p.run(|| 1).await }
        });
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !a.is_finished() && !b.is_finished() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "neither job was refused"
            );
            tokio::task::yield_now().await;
        }
        let _ = release_tx.send(());
        assert!(blocker.await.is_ok());
        let results = [a.await.ok(), b.await.ok()];
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Some(Err(PoolError::Busy)))),
            "{results:?}"
        );
        assert!(
            results.iter().any(|r| matches!(r, Some(Ok(1)))),
            "{results:?}"
        );
    }

    #[tokio::test]
    async fn counts_the_jobs_waiting_for_a_thread() {
        let pool = SigningPool::named("test", 1, 4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((pool.name(), pool.waiting()), ("test", 0));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let p = pool.clone();
        let blocker = tokio::spawn(async move {
            p.run(move || {
                let _ = started_tx.send(());
                let _ = release_rx.recv();
            })
            .await
        });
        let _ = started_rx.await; // the only thread is busy: the blocker is running, not waiting
        assert_eq!(pool.waiting(), 0);
        let p = pool.clone();
        let queued = tokio::spawn(async move { p.run(|| 7).await });
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while pool.waiting() != 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the job never queued"
            );
            tokio::task::yield_now().await;
        }
        let _ = release_tx.send(());
        assert!(blocker.await.is_ok());
        assert_eq!(queued.await.ok().and_then(Result::ok), Some(7));
        assert_eq!(pool.waiting(), 0, "a job taken by a thread no longer waits");
    }
}
