//! The verifier's DPoP check called directly, on the IdP's injected clock: the proof window, the
//! replay cache (checked before any signature, exact under concurrency, bounded and failing
//! closed), the key binding, the verified-token cache still used, and the external URL.

use std::sync::Arc;

use auth_core::Clock;
use auth_verifier::axum::RequireBearer;
use auth_verifier::dpop::DpopError;
use auth_verifier::{Verifier, VerifyError};
use axum::body::Body;
use axum::http::Request;
use http_serve::metrics::MetricsRegistry;
use serde_json::json;
use tests::dpop_verifier_support::{DpopKey, fresh_jti, mint, sign};
use tests::services_env::metric;
use tests::{Backend, TestServer};
use tower::ServiceExt;

use crate::verifier::{AUD, verifier_for};

const URI: &str = "https://api.test/things/1";

fn proof_at(key: &DpopKey, token: &str, iat: i64) -> String {
    key.sign(&key.header(), &key.claims("GET", URI, Some(token), iat))
}

async fn dpop(v: &Verifier, token: &str, proof: &str) -> Result<(), VerifyError> {
    v.verify_dpop(token, proof, "GET", URI).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proof_window_follows_the_clock_and_replays_are_refused_before_the_signature() {
    let s = TestServer::start(Backend::Sqlite).await;
    let registry = MetricsRegistry::new();
    let v = verifier_for(&s, |b| b.metrics_recorder(registry.recorder())).await;
    let key = DpopKey::es256();
    let token = mint(&s, AUD, "a", Some(&key.jkt()));
    let t0 = s.clock.now();
    let first = proof_at(&key, &token, t0);
    assert_eq!(dpop(&v, &token, &first).await, Ok(()));
    let replayed = Err(VerifyError::DpopProof(DpopError::Replayed));
    assert_eq!(dpop(&v, &token, &first).await, replayed);
    // With its signature broken, it is still refused as a replay: the signature was not checked.
    let broken = format!("{}.{}", first.rsplit_once('.').unwrap().0, "A".repeat(86));
    assert_eq!(dpop(&v, &token, &broken).await, replayed);

    // The token is verified once; each later request is a cache hit plus the proof check.
    let second = proof_at(&key, &token, t0);
    assert_eq!(dpop(&v, &token, &second).await, Ok(()));
    let hits = metric(
        &registry.render(),
        "auth_verifier_token_cache_hits_total",
        &[("audience", AUD)],
    );
    assert!(hits.unwrap_or(0.0) >= 1.0, "{hits:?}");

    // 60 s of age and 5 s of skew: at t0 + 65 a proof of t0 passes, at t0 + 66 it is stale.
    let at_edge = proof_at(&key, &token, t0);
    let too_old = proof_at(&key, &token, t0);
    s.clock.advance(65);
    assert_eq!(dpop(&v, &token, &at_edge).await, Ok(()));
    s.clock.advance(1);
    let stale = Err(VerifyError::DpopProof(DpopError::Stale));
    assert_eq!(dpop(&v, &token, &too_old).await, stale);
    // The first proof has left the replay cache with its window: it is refused as stale.
    assert_eq!(dpop(&v, &token, &first).await, stale);
    // 5 s of skew ahead is accepted, 6 s is not.
    let now = s.clock.now();
    assert_eq!(
        dpop(&v, &token, &proof_at(&key, &token, now + 5)).await,
        Ok(())
    );
    let future = Err(VerifyError::DpopProof(DpopError::Future));
    assert_eq!(
        dpop(&v, &token, &proof_at(&key, &token, now + 6)).await,
        future
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_proof_sent_many_times_at_once_is_accepted_once() {
    let s = TestServer::start(Backend::Sqlite).await;
    let v = verifier_for(&s, |b| b).await;
    let key = DpopKey::es256();
    let token = mint(&s, AUD, "a", Some(&key.jkt()));
    // The token in the cache first, so that every racer takes the same (fast) path.
    let warm = proof_at(&key, &token, s.clock.now());
    assert_eq!(dpop(&v, &token, &warm).await, Ok(()));
    for _ in 0..5 {
        let proof = Arc::new(proof_at(&key, &token, s.clock.now()));
        let barrier = Arc::new(tokio::sync::Barrier::new(16));
        let racers: Vec<_> = (0..16)
            .map(|_| {
                let (v, token, proof, barrier) =
                    (v.clone(), token.clone(), proof.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    dpop(&v, &token, &proof).await
                })
            })
            .collect();
        let mut accepted = 0;
        for r in racers {
            match r.await.unwrap() {
                Ok(()) => accepted += 1,
                Err(e) => assert_eq!(e, VerifyError::DpopProof(DpopError::Replayed)),
            }
        }
        assert_eq!(accepted, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scheme_refuses_the_other_kind_of_token_and_other_keys() {
    let s = TestServer::start(Backend::Sqlite).await;
    let v = verifier_for(&s, |b| b).await;
    let key = DpopKey::es256();
    let bound = mint(&s, AUD, "a", Some(&key.jkt()));
    let unbound = mint(&s, AUD, "a", None);
    let now = s.clock.now();
    assert_eq!(v.verify(&bound).await.err(), Some(VerifyError::DpopBound));
    assert!(v.verify(&unbound).await.is_ok());
    assert_eq!(
        dpop(&v, &bound, &proof_at(&key, &bound, now)).await,
        Ok(()),
        "the bound token is now cached: the bearer refusal holds on a cache hit too"
    );
    assert_eq!(v.verify(&bound).await.err(), Some(VerifyError::DpopBound));
    let p = proof_at(&key, &unbound, now);
    assert_eq!(dpop(&v, &unbound, &p).await, Err(VerifyError::NotDpopBound));
    let other = DpopKey::es256();
    let p = proof_at(&other, &bound, now);
    assert_eq!(
        dpop(&v, &bound, &p).await,
        Err(VerifyError::DpopKeyMismatch)
    );

    // A confirmation method this library cannot check (RFC 8705 x5t#S256) is no bearer token.
    let snap = s.app.keys.ring().snapshot();
    let (k, signer) = snap.signing_key(auth_core::Alg::Es256, now).unwrap();
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": k.kid});
    let claims = json!({"iss": s.base, "sub": "p", "aud": AUD, "exp": now + 300, "iat": now,
        "jti": fresh_jti(), "client_id": "p", "cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}});
    let mtls = sign(&header, &claims, &**signer);
    assert_eq!(
        v.verify(&mtls).await.err(),
        Some(VerifyError::InvalidClaim("cnf"))
    );
    let p = proof_at(&key, &mtls, now);
    assert_eq!(
        dpop(&v, &mtls, &p).await,
        Err(VerifyError::InvalidClaim("cnf"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_replay_cache_refuses_new_proofs_rather_than_forget_live_ones() {
    let s = TestServer::start(Backend::Sqlite).await;
    let v = verifier_for(&s, |b| b.dpop_replay_capacity(1)).await;
    let key = DpopKey::es256();
    let token = mint(&s, AUD, "a", Some(&key.jkt()));
    // One entry per shard (16): among 17 proofs two share a shard, and the second is refused.
    let mut answers = Vec::new();
    for _ in 0..17 {
        answers.push(dpop(&v, &token, &proof_at(&key, &token, s.clock.now())).await);
    }
    let full = Err(VerifyError::DpopProof(DpopError::ReplayCacheFull));
    assert!(answers.contains(&full), "{answers:?}");
    assert!(
        answers.iter().all(|a| a.is_ok() || *a == full),
        "{answers:?}"
    );
    // Once the live entries' window has passed, there is room again.
    s.clock.advance(66);
    let later = proof_at(&key, &token, s.clock.now());
    assert_eq!(dpop(&v, &token, &later).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_takes_the_dpop_scheme_only_with_an_external_url() {
    let s = TestServer::start(Backend::Sqlite).await;
    for bad in [
        "https://api.test/?x=1",
        "ftp://api.test",
        "https://user@api.test",
        "/relative",
    ] {
        let built = Verifier::builder(auth_verifier::Policy::new(AUD))
            .issuer(auth_verifier::IssuerConfig::new(&s.base))
            .external_url(bad)
            .background_refresh(false)
            .build()
            .await;
        assert!(built.is_err(), "{bad}");
    }
    let with = verifier_for(&s, |b| b.external_url("HTTPS://API.test:443/")).await;
    assert_eq!(with.external_url(), Some("https://api.test"));
    let without = verifier_for(&s, |b| b).await;
    assert_eq!(without.external_url(), None);

    let key = DpopKey::es256();
    let token = mint(&s, AUD, "a", Some(&key.jkt()));
    let call = |v: &Verifier, proof: String| {
        let app = axum::Router::new()
            .route("/things/1", axum::routing::get(|| async { "ok" }))
            .layer(RequireBearer::new(v.clone()));
        let req = Request::get("/things/1")
            .header("host", "evil.example")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .body(Body::empty())
            .unwrap();
        async move {
            let res = app.oneshot(req).await.unwrap();
            let challenges: Vec<String> = res
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            (res.status().as_u16(), challenges)
        }
    };
    let now = s.clock.now();
    // The htu is the external URL and the path, whatever the Host header says.
    assert_eq!(call(&with, proof_at(&key, &token, now)).await.0, 200);
    // Without an external URL the DPoP scheme is not taken: as if no token was sent.
    let (status, challenges) = call(&without, proof_at(&key, &token, now)).await;
    assert_eq!((status, challenges), (401, vec!["Bearer".to_owned()]));
}

/// `verify_dpop_as::<T>`: the service's own claims with a bound token and its proof, parsed once
/// per token (a cache hit plus a new proof returns the same `T`); the proof is still checked on
/// every call (a replay, another key), and claims that do not fit `T` make the token invalid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_claims_come_with_a_bound_token_and_its_proof() {
    #[derive(Clone, Debug, serde::Deserialize)]
    struct Tenant {
        tenant: String,
    }
    #[derive(Clone, Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Region {
        region: String,
    }
    let s = TestServer::start(Backend::Sqlite).await;
    let v = verifier_for(&s, |b| b).await;
    let key = DpopKey::es256();
    let now = s.clock.now();
    let snap = s.app.keys.ring().snapshot();
    let (k, signer) = snap.signing_key(auth_core::Alg::Es256, now).unwrap();
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": k.kid});
    let mint_typed = |jkt: Option<String>| {
        let mut claims = json!({"iss": s.base, "sub": "ann", "aud": AUD, "exp": now + 300,
            "iat": now, "jti": fresh_jti(), "client_id": "app", "scope": "a", "tenant": "acme"});
        if let Some(jkt) = jkt {
            claims["cnf"] = json!({ "jkt": jkt });
        }
        sign(&header, &claims, &**signer)
    };
    let token = mint_typed(Some(key.jkt()));
    let typed = |proof: String| {
        let (v, token) = (v.clone(), token.clone());
        async move { v.verify_dpop_as::<Tenant>(&token, &proof, "GET", URI).await }
    };

    let first = typed(proof_at(&key, &token, now)).await.unwrap();
    assert_eq!(first.custom().tenant, "acme");
    assert_eq!(
        (first.sub.as_deref(), first.jkt()),
        (Some("ann"), Some(key.jkt().as_str()))
    );
    let second = typed(proof_at(&key, &token, now)).await.unwrap();
    assert!(std::ptr::eq(first.custom(), second.custom()), "parsed once");

    let proof = proof_at(&key, &token, now);
    assert!(typed(proof.clone()).await.is_ok());
    let replayed = typed(proof).await.err();
    assert_eq!(replayed, Some(VerifyError::DpopProof(DpopError::Replayed)));
    let other = DpopKey::es256();
    let by_other = other.sign(
        &other.header(),
        &other.claims("GET", URI, Some(&token), now),
    );
    assert_eq!(
        typed(by_other).await.err(),
        Some(VerifyError::DpopKeyMismatch)
    );
    let misfit = v
        .verify_dpop_as::<Region>(&token, &proof_at(&key, &token, now), "GET", URI)
        .await
        .err();
    assert_eq!(misfit, Some(VerifyError::InvalidClaim("custom claims")));
    // A token without `cnf.jkt` is not a DPoP token.
    let bearer = mint_typed(None);
    let unbound = v
        .verify_dpop_as::<Tenant>(&bearer, &proof_at(&key, &bearer, now), "GET", URI)
        .await
        .err();
    assert_eq!(unbound, Some(VerifyError::NotDpopBound));
}
