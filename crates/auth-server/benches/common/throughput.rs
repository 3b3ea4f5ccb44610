//! What the raw-throughput benches share: run an operation on N threads until a deadline and
//! count, and read the seconds per row from the command line.

use std::time::{Duration, Instant};

/// Operations per second of `op` on `threads` threads for `secs` seconds; `setup` makes each
/// thread's own state first (outside the timed loop's work, inside its time).
pub fn per_second<S>(
    threads: usize,
    secs: f64,
    setup: impl Fn() -> S + Sync,
    op: impl Fn(&mut S) + Sync,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = setup();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        op(&mut state);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// The first numeric argument (seconds per row), else `default`; and the machine's core count.
pub fn seconds_and_cores(default: f64) -> (f64, usize) {
    let secs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(default);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (secs, cores)
}
