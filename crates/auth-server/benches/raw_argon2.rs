//! Raw password-verification throughput: argon2id at the configured OWASP cost (m = 19456 KiB, t = 2,
//! p = 1), verified on 1 thread and on every core, with the same crate the server uses. The login
//! benchmark (`scripts/bench-login.sh`) reports sign-ins per second as a ratio of this ceiling.
//!
//! `cargo bench -p auth-server --bench raw_argon2 [-- SECONDS]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

/// Verifications per second on `threads` threads; `reuse` keeps each thread's working memory between
/// runs (as the server does) instead of letting the crate allocate it each time.
fn rate(threads: usize, secs: f64, reuse: bool) -> f64 {
    let params = Params::new(19_456, 2, 1, None).unwrap();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let phc = argon
        .hash_password(b"correct horse battery staple")
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let phc = phc.clone();
            let argon = argon.clone();
            std::thread::spawn(move || {
                let hash = argon2::PasswordHash::new(&phc).unwrap();
                let salt = hash.salt.unwrap();
                let expected = hash.hash.unwrap();
                let mut memory = vec![argon2::Block::default(); argon.params().block_count()];
                let mut out = [0u8; 32];
                let mut n = 0u64;
                while Instant::now() < deadline {
                    if reuse {
                        argon
                            .hash_password_into_with_memory(
                                b"correct horse battery staple",
                                &salt,
                                &mut out,
                                &mut memory,
                            )
                            .unwrap();
                        assert_eq!(&out[..], expected.as_bytes());
                    } else {
                        argon
                            .verify_password(b"correct horse battery staple", phc.as_str())
                            .unwrap();
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5.0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (reuse, how) in [
        (false, "verify_password (allocates each time)"),
        (true, "working memory reused per thread"),
    ] {
        println!(
            "| argon2id verify (19456 KiB, t=2, p=1), {how}, 1 thread | {:.1}/s |",
            rate(1, secs, reuse)
        );
        println!(
            "| argon2id verify, {how}, {cores} threads (one per core) | {:.1}/s |",
            rate(cores, secs, reuse)
        );
    }
}
