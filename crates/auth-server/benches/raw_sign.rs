//! Raw signing throughput: how many JWS signatures per second this machine's cores can make with the
//! same josekit (OpenSSL) signers the server uses, on 1 thread and on every core. `scripts/bench.sh`
//! runs it next to the load test so the token endpoint can be reported as a ratio of this ceiling.
//!
//! `cargo bench -p auth-server --bench raw_sign [-- SECONDS]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "common/throughput.rs"]
mod throughput;

use auth_core::Alg;
use auth_server::domain::keys::material;
use josekit::jws::JwsHeader;

fn rate(alg: Alg, bits: usize, threads: usize, secs: f64) -> f64 {
    let key = material::generate(alg, bits).unwrap();
    let kid = key.jwk.kid.clone().unwrap();
    let signer = material::signer(alg, &key.pkcs8_der, &kid).unwrap();
    // A payload of the size the server signs (an RFC 9068 claim set).
    let payload = br#"{"iss":"http://127.0.0.1:8080","sub":"bench-es","aud":"https://api.example","exp":1795432725,"iat":1795431825,"jti":"B59jyLu8bGNI5o_K5CQg0A","client_id":"bench-es","scope":"read"}"#;
    let header = || {
        let mut header = JwsHeader::new();
        header.set_token_type("at+jwt");
        header
    };
    throughput::per_second(threads, secs, header, |header| {
        let t = josekit::jws::serialize_compact(payload, header, &*signer).unwrap();
        std::hint::black_box(t);
    })
}

fn main() {
    let (secs, cores) = throughput::seconds_and_cores(3.0);
    println!("raw JWS signing (josekit/OpenSSL), {secs} s per row, {cores} cores");
    println!("alg\tkey\tthreads\tsignatures/s");
    for (alg, bits) in [(Alg::Es256, 256), (Alg::Rs256, 2048), (Alg::Rs256, 3072)] {
        for threads in [1, cores] {
            println!(
                "{alg}\t{bits}\t{threads}\t{:.0}",
                rate(alg, bits, threads, secs)
            );
        }
    }
}
