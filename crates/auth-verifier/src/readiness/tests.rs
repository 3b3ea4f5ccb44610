//! Readiness against a loopback issuer whose JWKS and feed can be taken down.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use auth_core::ManualClock;
use axum::http::StatusCode;
use serde_json::json;

use super::*;
use crate::test_support::TestIssuer;
use crate::{IssuerConfig, Policy};

const START: i64 = 1_900_000_000;

/// Serves `/jwks` (one ES256 key) and `/revocations`, both answering 500 while `down`.
async fn idp(down: Arc<AtomicBool>) -> String {
    let TestIssuer {
        listener,
        iss,
        jwks,
        ..
    } = TestIssuer::new().await;
    let feed = json!({"issuer": iss, "revoked": []}).to_string();
    let answer = move |body: String, down: Arc<AtomicBool>| async move {
        match down.load(Ordering::SeqCst) {
            true => Err(StatusCode::INTERNAL_SERVER_ERROR),
            false => Ok(body),
        }
    };
    let d = down.clone();
    let app = axum::Router::new()
        .route(
            "/jwks",
            axum::routing::get(move || answer(jwks.clone(), down.clone())),
        )
        .route(
            "/revocations",
            axum::routing::get(move || answer(feed.clone(), d.clone())),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    iss
}

#[tokio::test]
async fn ready_only_with_usable_keys_and_a_recent_feed() {
    let down = Arc::new(AtomicBool::new(true));
    let iss = idp(down.clone()).await;
    let clock = ManualClock::new(START);
    let issuer = IssuerConfig::new(&iss)
        .jwks_uri(format!("{iss}/jwks"))
        .revocation_feed(format!("{iss}/revocations"));
    let verifier = Verifier::builder(Policy::new("https://api.example"))
        .issuer(issuer)
        .clock(Arc::new(clock.clone()))
        .background_refresh(false)
        .build()
        .await
        .unwrap();
    // The IdP was down at start: no keys, no feed.
    let r = verifier.readiness();
    assert!(!r.is_ready());
    let keys_missing = NotReady::KeysMissing {
        issuer: iss.clone(),
    };
    let feed_stale = NotReady::FeedStale {
        issuer: iss.clone(),
    };
    assert_eq!(r.reasons, [keys_missing, feed_stale.clone()]);
    assert_eq!(
        r.reasons[0].to_string(),
        format!("no signing keys of {iss} yet")
    );

    down.store(false, Ordering::SeqCst);
    verifier.refresh().await;
    verifier.refresh_revocations().await.unwrap();
    assert!(verifier.readiness().is_ready());

    // The feed fails from now on: ready until the bound, then not.
    down.store(true, Ordering::SeqCst);
    clock.advance(300);
    assert!(verifier.refresh_revocations().await.is_err());
    assert!(verifier.readiness().is_ready());
    clock.advance(1);
    assert_eq!(verifier.readiness().reasons, [feed_stale]);
    assert!(
        verifier
            .readiness_within(Duration::from_secs(3600))
            .is_ready()
    );

    // Keys past their lifetime (5 min without max-age) plus max_stale (2 h): stale.
    clock.advance(2 * 3600);
    assert_eq!(
        verifier
            .readiness_within(Duration::from_secs(86400))
            .reasons,
        [NotReady::KeysStale {
            issuer: iss.clone()
        }]
    );
}
