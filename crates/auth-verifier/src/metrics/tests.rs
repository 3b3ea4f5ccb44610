//! The metrics a verifier records, read back from a real Prometheus recorder given to the builder
//! (no global recorder: each test has its own registry).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use auth_core::{Clock, ManualClock};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};

use crate::test_support::{TestIssuer, TestKey};
use crate::{IssuerConfig, Policy, Verifier, VerifyError};

const AUD: &str = "https://api.example";
const START: i64 = 1_900_000_000;

/// A loopback issuer: a JWKS (answering 500 while `down`) and a revocation feed listing `revoked`.
struct Idp {
    iss: String,
    signer: TestKey,
    down: Arc<AtomicBool>,
    revoked: Arc<Mutex<Vec<Value>>>,
}

impl Idp {
    async fn start() -> Idp {
        let TestIssuer {
            listener,
            iss,
            jwks,
            key: signer,
        } = TestIssuer::new().await;
        let down = Arc::new(AtomicBool::new(false));
        let revoked: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (d, r, i) = (down.clone(), Arc::clone(&revoked), iss.clone());
        let app = axum::Router::new()
            .route(
                "/jwks",
                axum::routing::get(move || {
                    let (down, jwks) = (d.load(Ordering::SeqCst), jwks.clone());
                    async move {
                        match down {
                            true => Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                            false => Ok(jwks),
                        }
                    }
                }),
            )
            .route(
                "/revocations",
                axum::routing::get(move || {
                    let list: Vec<Value> = r.lock().unwrap().clone();
                    let body = json!({"issuer": i, "revoked": list}).to_string();
                    async move { body }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Idp {
            iss,
            signer,
            down,
            revoked,
        }
    }

    fn token(&self, jti: &str, aud: &str, exp: i64) -> String {
        let claims = json!({"iss": self.iss, "sub": "s", "aud": aud, "exp": exp, "iat": START,
            "jti": jti, "client_id": "c"});
        self.signer.access_token(&claims)
    }

    async fn verifier(&self, clock: &ManualClock) -> (Verifier, PrometheusHandle) {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let issuer = IssuerConfig::new(&self.iss)
            .jwks_uri(format!("{}/jwks", self.iss))
            .revocation_feed(format!("{}/revocations", self.iss));
        let verifier = Verifier::builder(Policy::new(AUD))
            .issuer(issuer)
            .clock(Arc::new(clock.clone()))
            .background_refresh(false)
            .metrics_recorder(Arc::new(recorder))
            .build()
            .await
            .unwrap();
        (verifier, handle)
    }
}

/// The value of the series `name` whose labels include every one of `labels`, in Prometheus
/// text exposition (`inf` for +Inf); `None` if no line has them.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, v) = line.rsplit_once(' ')?;
        let (n, set) = series.split_once('{').unwrap_or((series, "}"));
        let set = set.strip_suffix('}')?;
        let has =
            |(k, want): &(&str, &str)| set.split(',').any(|pair| pair == format!("{k}=\"{want}\""));
        (n == name && labels.iter().all(has)).then(|| v.parse().ok())?
    })
}

fn verifications(text: &str, outcome: &str, reason: &str) -> Option<f64> {
    let labels = [("audience", AUD), ("outcome", outcome), ("reason", reason)];
    value(text, "auth_verifier_verifications_total", &labels)
}

#[tokio::test]
async fn verifications_are_counted_by_outcome_and_reason_and_hits_by_the_cache() {
    let idp = Idp::start().await;
    let clock = ManualClock::new(START);
    let (verifier, metrics) = idp.verifier(&clock).await;
    let before = metrics.render();
    for reason in VerifyError::REASONS {
        assert_eq!(
            verifications(&before, "rejected", reason),
            Some(0.0),
            "{reason}"
        );
    }
    assert_eq!(verifications(&before, "ok", "valid"), Some(0.0));

    let good = idp.token("j1", AUD, START + 600);
    assert!(verifier.verify(&good).await.is_ok());
    assert!(verifier.verify(&good).await.is_ok());
    let expired = idp.token("j2", AUD, START - 600);
    assert_eq!(
        verifier.verify(&expired).await.err(),
        Some(VerifyError::Expired)
    );
    // One signature character changed (well inside it: every bit of it is signature).
    let mut forged = good.clone().into_bytes();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(
        verifier.verify(&forged).await.err(),
        Some(VerifyError::BadSignature)
    );
    let other = idp.token("j3", "https://other.example", START + 600);
    assert_eq!(
        verifier.verify(&other).await.err(),
        Some(VerifyError::WrongAudience)
    );
    let garbage = "not-a-token";
    assert!(matches!(
        verifier.verify(garbage).await,
        Err(VerifyError::Malformed(_))
    ));

    // Revoked at the IdP: the next poll makes the cached token a rejected hit.
    idp.revoked
        .lock()
        .unwrap()
        .push(json!({"jti": "j1", "exp": START + 600}));
    verifier.refresh_revocations().await.unwrap();
    assert_eq!(
        verifier.verify(&good).await.err(),
        Some(VerifyError::Revoked)
    );

    let text = metrics.render();
    assert_eq!(verifications(&text, "ok", "valid"), Some(2.0), "{text}");
    for (reason, n) in [
        ("expired", 1.0),
        ("bad_signature", 1.0),
        ("wrong_audience", 1.0),
        ("malformed", 1.0),
        ("revoked", 1.0),
        ("unknown_kid", 0.0),
    ] {
        assert_eq!(
            verifications(&text, "rejected", reason),
            Some(n),
            "{reason}"
        );
    }
    let aud = [("audience", AUD)];
    // Hits: the second verification of `good` and the revoked one. Every other token was looked
    // up and missed (the garbage one too: the cache is asked before any parsing).
    assert_eq!(
        value(&text, "auth_verifier_token_cache_hits_total", &aud),
        Some(2.0)
    );
    assert_eq!(
        value(&text, "auth_verifier_token_cache_misses_total", &aud),
        Some(5.0)
    );
}

#[tokio::test]
async fn fetches_failures_and_ages_are_true_when_rendered() {
    let idp = Idp::start().await;
    let clock = ManualClock::new(START);
    let (verifier, metrics) = idp.verifier(&clock).await;
    let iss = [("audience", AUD), ("issuer", idp.iss.as_str())];
    let fetches = |t: &str| value(t, "auth_verifier_jwks_fetches_total", &iss);
    let failures = |t: &str, reason: &str| {
        let labels = [iss[0], iss[1], ("reason", reason)];
        value(t, "auth_verifier_jwks_fetch_failures_total", &labels)
    };
    let jwks_age = |t: &str| value(t, "auth_verifier_jwks_age_seconds", &iss);
    let feed_age = |t: &str| value(t, "auth_verifier_revocation_feed_age_seconds", &iss);

    // Built: one fetch and one poll, both fine; ages not computed yet (+Inf until asked).
    let text = metrics.render();
    assert_eq!(fetches(&text), Some(1.0));
    assert_eq!(failures(&text, "status"), Some(0.0));
    let last = value(
        &text,
        "auth_verifier_jwks_last_success_timestamp_seconds",
        &iss,
    );
    assert_eq!(last, Some(START as f64));
    verifier.update_age_gauges();
    let text = metrics.render();
    assert_eq!((jwks_age(&text), feed_age(&text)), (Some(0.0), Some(0.0)));

    // The IdP fails: the refresh is counted as a failure, and the age keeps growing (it is
    // derived from the last success when rendered, not frozen at the last success).
    idp.down.store(true, Ordering::SeqCst);
    clock.advance(90);
    verifier.refresh().await;
    verifier.update_age_gauges();
    let text = metrics.render();
    assert_eq!(fetches(&text), Some(2.0));
    assert_eq!(failures(&text, "status"), Some(1.0), "{text}");
    assert_eq!((jwks_age(&text), feed_age(&text)), (Some(90.0), Some(90.0)));

    // Back: the age starts again from the new success.
    idp.down.store(false, Ordering::SeqCst);
    clock.advance(10);
    verifier.refresh().await;
    verifier.refresh_revocations().await.unwrap();
    clock.advance(5);
    verifier.update_age_gauges();
    let text = metrics.render();
    assert_eq!((jwks_age(&text), feed_age(&text)), (Some(5.0), Some(5.0)));
    let polls = value(&text, "auth_verifier_revocation_feed_polls_total", &iss);
    assert_eq!(polls, Some(2.0));
    assert_eq!(clock.now(), START + 105);
}

#[tokio::test]
async fn a_source_never_reached_is_infinitely_old() {
    // Nothing listens on the issuer's port: the first fetch fails, and so does the feed's poll.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let iss = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let verifier = Verifier::builder(Policy::new(AUD))
        .issuer(IssuerConfig::auth_server(&iss).jwks_uri(format!("{iss}/jwks")))
        .background_refresh(false)
        .metrics_recorder(Arc::new(recorder))
        .build()
        .await
        .unwrap();
    verifier.update_age_gauges();
    let text = metrics.render();
    let labels = [("audience", AUD), ("issuer", iss.as_str())];
    let age = value(&text, "auth_verifier_jwks_age_seconds", &labels);
    assert_eq!(age, Some(f64::INFINITY), "{text}");
    let age = value(&text, "auth_verifier_revocation_feed_age_seconds", &labels);
    assert_eq!(age, Some(f64::INFINITY));
    let failed = [labels[0], labels[1], ("reason", "http")];
    assert_eq!(
        value(&text, "auth_verifier_jwks_fetch_failures_total", &failed),
        Some(1.0)
    );
    let failed = value(
        &text,
        "auth_verifier_revocation_feed_failures_total",
        &failed,
    );
    assert_eq!(failed, Some(1.0));
}

#[test]
fn every_reason_is_a_distinct_label() {
    let mut seen = std::collections::HashSet::new();
    for r in VerifyError::REASONS
        .iter()
        .chain(&crate::FetchError::REASONS)
    {
        assert!(
            r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{r}"
        );
    }
    for r in VerifyError::REASONS {
        assert!(seen.insert(r), "{r} twice");
    }
    assert_eq!(VerifyError::Expired.reason(), "expired");
    assert_eq!(VerifyError::RevocationsStale.reason(), "revocations_stale");
    assert_eq!(VerifyError::Malformed("x").reason(), "malformed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_verifications_are_each_counted_once() {
    let idp = Arc::new(Idp::start().await);
    let clock = ManualClock::new(START);
    let (verifier, metrics) = idp.verifier(&clock).await;
    let tokens: Vec<String> = (0..4)
        .map(|i| idp.token(&format!("p{i}"), AUD, START + 600))
        .collect();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (verifier, tokens) = (verifier.clone(), tokens.clone());
            tokio::spawn(async move {
                for i in 0..250 {
                    let token = &tokens[(t + i) % tokens.len()];
                    assert!(verifier.verify(token).await.is_ok());
                    assert!(verifier.verify("x.y.z").await.is_err());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let text = metrics.render();
    assert_eq!(verifications(&text, "ok", "valid"), Some(2000.0), "{text}");
    assert_eq!(verifications(&text, "rejected", "malformed"), Some(2000.0));
    let aud = [("audience", AUD)];
    let hits = value(&text, "auth_verifier_token_cache_hits_total", &aud).unwrap();
    let misses = value(&text, "auth_verifier_token_cache_misses_total", &aud).unwrap();
    assert_eq!(
        hits + misses,
        4000.0,
        "every lookup is a hit or a miss, once"
    );
    assert!(
        hits >= 2000.0 - 8.0 * 4.0,
        "a valid token misses at most once per task"
    );
}
