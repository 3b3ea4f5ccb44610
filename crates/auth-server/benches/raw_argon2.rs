//! Raw password-verification throughput: argon2id at the configured OWASP cost (m = 19456 KiB, t = 2,
//! p = 1), verified on 1 thread and on every core, with the same crate the server uses. The login
//! benchmark (`scripts/bench-login.sh`) reports sign-ins per second as a ratio of this ceiling.
//!
//! `cargo bench -p auth-server --bench raw_argon2 [-- SECONDS]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "common/throughput.rs"]
mod throughput;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

const PASSWORD: &[u8] = b"correct horse battery staple";

/// Verifications per second on `threads` threads; `reuse` keeps each thread's working memory between
/// runs (as the server does) instead of letting the crate allocate it each time.
fn rate(threads: usize, secs: f64, reuse: bool) -> f64 {
    let params = Params::new(19_456, 2, 1, None).unwrap();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let phc = argon.hash_password(PASSWORD).unwrap().to_string();
    let hash = argon2::PasswordHash::new(&phc).unwrap();
    let salt = hash.salt.unwrap();
    let expected = hash.hash.unwrap();
    let memory = || vec![argon2::Block::default(); argon.params().block_count()];
    throughput::per_second(threads, secs, memory, |memory| {
        if reuse {
            let mut out = [0u8; 32];
            argon
                .hash_password_into_with_memory(PASSWORD, &salt, &mut out, memory)
                .unwrap();
            assert_eq!(&out[..], expected.as_bytes());
        } else {
            argon.verify_password(PASSWORD, phc.as_str()).unwrap();
        }
    })
}

fn main() {
    let (secs, cores) = throughput::seconds_and_cores(5.0);
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
