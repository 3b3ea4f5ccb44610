//! What DPoP costs a resource service per request, in the same run: a DPoP-bound token whose
//! verification is a cache hit plus its proof's check, against a bearer token cache hit and against
//! one ES256 verification; and the cost of refusing a replayed proof.
//!
//! `cargo bench -p auth-verifier --bench dpop [-- ITERATIONS]`
//!
//! Rows (µs per operation, one thread, rounds interleaved so machine noise hits all alike):
//! - `ES256 verification`: `josekit::jws::deserialize_compact` of the access token with its
//!   verifier built once (base64, header parse, the signature check);
//! - `bearer, cache hit`: `Verifier::verify` of an unbound token verified before;
//! - `DPoP, cache hit + proof`: `Verifier::verify_dpop` of a bound token verified before, each call
//!   with a new proof (signed beforehand, outside the timing);
//! - `proof, no key cache`: `Proof::parse` then `Proof::verify` (the key parsed from the JWK each
//!   time), what the proof check would cost without the verifier's key cache;
//! - `proof parse only`: `Proof::parse`, the work done before the replay lookup;
//! - `replayed proof refused`: `Verifier::verify_dpop` with a proof already accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use auth_core::Clock;
use auth_verifier::dpop::{DpopError, Proof, ProofCheck};
use auth_verifier::{IssuerConfig, Policy, Verifier, VerifyError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, JwsHeader, JwsSigner};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const URI: &str = "https://api.bench/items/widget";

fn token(signer: &dyn JwsSigner, iss: &str, jkt: Option<&str>, jti: &str) -> String {
    let mut h = JwsHeader::new();
    h.set_token_type("at+jwt");
    h.set_key_id("es");
    let now = auth_core::SystemClock.now();
    let mut claims = json!({"iss": iss, "sub": "bench", "aud": "https://api.bench",
        "exp": now + 3600, "iat": now, "jti": jti, "client_id": "bench", "scope": "read"});
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    josekit::jws::serialize_compact(claims.to_string().as_bytes(), &h, signer).unwrap()
}

/// A proof for `GET URI` with `token`, jti `i`, by `signer` whose public JWK is `jwk`.
fn proof(signer: &dyn JwsSigner, jwk: &Value, token: &str, i: u32) -> String {
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
    let claims = json!({"jti": format!("proof-{i}"), "htm": "GET", "htu": URI,
        "iat": auth_core::SystemClock.now(), "ath": ath});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = signer.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Microseconds per call of `f` over `n` calls.
fn per_op(n: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

/// Polls a future that is expected to be ready at once (keys loaded, no I/O).
fn now<F: std::future::Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("verification unexpectedly waited"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let rounds = 10;
    let per_round = n / rounds;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iss = format!("http://{}", listener.local_addr().unwrap());
    let idp = ES256.generate_key_pair().unwrap();
    let mut public = idp.to_jwk_public_key();
    public.set_key_id("es");
    public.set_algorithm("ES256");
    let raw = ES256.verifier_from_jwk(&public).unwrap();
    let jwks = json!({ "keys": [public.as_ref()] }).to_string();
    let app = axum::Router::new().route("/jwks", axum::routing::get(move || async move { jwks }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let v = Verifier::builder(Policy::new("https://api.bench"))
        .issuer(IssuerConfig::new(&iss).jwks_uri(format!("{iss}/jwks")))
        .background_refresh(false)
        // Proofs are signed before the timing: let them stay fresh for the whole run.
        .dpop_proof_window(Duration::from_secs(3600), Duration::from_secs(5))
        .dpop_replay_capacity(4 * n as usize)
        .build()
        .await
        .unwrap();

    let client = ES256.generate_key_pair().unwrap();
    let client_signer = ES256.signer_from_jwk(&client.to_jwk_private_key()).unwrap();
    let client_jwk = serde_json::to_value(client.to_jwk_public_key().as_ref()).unwrap();
    let jkt = auth_core::jwk::Jwk::ec_p256(
        client_jwk["x"].as_str().unwrap(),
        client_jwk["y"].as_str().unwrap(),
    )
    .thumbprint()
    .unwrap();
    let idp_signer = ES256.signer_from_jwk(&idp.to_jwk_private_key()).unwrap();
    let bearer = token(&idp_signer, &iss, None, "bearer");
    let bound = token(&idp_signer, &iss, Some(&jkt), "bound");
    // Fresh proofs for every verify_dpop call and every Proof::verify call.
    let proofs: Vec<String> = (0..2 * n)
        .map(|i| proof(&client_signer, &client_jwk, &bound, i))
        .collect();
    let (for_layer, for_plain) = proofs.split_at(n as usize);

    // Warm: both tokens in the cache, the client key in the key cache; one proof already accepted.
    assert!(v.verify(&bearer).await.is_ok());
    let used = proof(&client_signer, &client_jwk, &bound, u32::MAX);
    assert!(v.verify_dpop(&bound, &used, "GET", URI).await.is_ok());
    let replayed = Err(VerifyError::DpopProof(DpopError::Replayed));
    assert_eq!(
        v.verify_dpop(&bound, &used, "GET", URI).await.map(drop),
        replayed
    );
    let check = ProofCheck {
        method: "GET",
        uri: URI,
        access_token: Some(&bound),
        now: auth_core::SystemClock.now(),
        max_age_secs: 3600,
        ..ProofCheck::default()
    };

    let mut t = [0.0f64; 6];
    let (mut layer_it, mut plain_it) = (for_layer.iter(), for_plain.iter());
    for _ in 0..rounds {
        t[0] += per_op(per_round, || {
            std::hint::black_box(josekit::jws::deserialize_compact(&bound, &raw).unwrap());
        });
        t[1] += per_op(per_round, || {
            std::hint::black_box(now(v.verify(&bearer)).unwrap());
        });
        t[2] += per_op(per_round, || {
            let p = layer_it.next().unwrap();
            std::hint::black_box(now(v.verify_dpop(&bound, p, "GET", URI)).unwrap());
        });
        t[3] += per_op(per_round, || {
            let p = plain_it.next().unwrap();
            std::hint::black_box(Proof::parse(p).unwrap().verify(&check).unwrap());
        });
        t[4] += per_op(per_round, || {
            std::hint::black_box(Proof::parse(&used).unwrap());
        });
        t[5] += per_op(per_round, || {
            let r = now(v.verify_dpop(&bound, &used, "GET", URI));
            assert!(r.is_err());
        });
    }
    let [es256, bearer_hit, dpop_hit, no_key_cache, parse, replay] =
        t.map(|x| x / f64::from(rounds));
    println!(
        "DPoP per-request cost, {n} operations per row in {rounds} interleaved rounds, one thread"
    );
    println!("row\tµs\tin ES256 verifications");
    for (name, us) in [
        ("ES256 verification (josekit, raw)", es256),
        ("bearer, cache hit", bearer_hit),
        ("DPoP, cache hit + proof", dpop_hit),
        ("proof, no key cache (parse + verify)", no_key_cache),
        ("proof parse only", parse),
        ("replayed proof refused", replay),
    ] {
        println!("{name}\t{us:.3}\t{:.3}", us / es256);
    }
    println!(
        "DPoP adds {:.3} µs to a bearer cache hit = {:.3} ES256 verifications",
        dpop_hit - bearer_hit,
        (dpop_hit - bearer_hit) / es256
    );
}
