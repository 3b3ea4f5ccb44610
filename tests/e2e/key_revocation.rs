//! Emergency key revocation (`auth-server keys revoke KID`): the key leaves the JWKS and a successor
//! signs at once; the revocation feed lists it, and a verifier polling the feed refuses the tokens it
//! signed (cached verifications included) and keeps it out of every later JWKS fetch; every replica
//! drops it at its next key reload; a revocation racing a rotation never leaves an algorithm
//! without a signing key.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth_core::Alg;
use auth_server::domain::keys::{RevocationOutcome, RotationOutcome};
use auth_verifier::{IssuerConfig, Policy, Verifier, VerifyError, revocation_feed};
use serde_json::{Value, json};
use tests::{Backend, TestServer, decode_segment, kids};

use crate::cli::{cli, cli_config};

tests::on_both_backends!(
    a_revoked_key_is_out_at_once_and_refused_after_the_next_poll,
    every_replica_stops_signing_with_a_revoked_key_at_its_reload,
    a_revocation_racing_a_rotation_leaves_a_signing_key,
);

const AUD: &str = "https://api.test";

async fn token(s: &TestServer, (id, secret): &(String, String)) -> String {
    s.cc_access_token(id, secret).await
}

fn kid_of(token: &str) -> String {
    decode_segment(token, 0)["kid"].as_str().unwrap().to_owned()
}

async fn feed(s: &TestServer) -> Value {
    s.get_json("/revocations").await
}

/// A verifier of `issuer`'s tokens that fetches keys from `jwks_base`'s JWKS and polls `feed_base`'s
/// revocation feed, with no background work.
async fn verifier(s: &TestServer, jwks_base: &str, feed_base: &str) -> Verifier {
    Verifier::builder(Policy::new(AUD))
        .issuer(
            IssuerConfig::new(&s.base)
                .jwks_uri(format!("{jwks_base}/jwks"))
                .revocation_feed(revocation_feed(feed_base)),
        )
        .clock(Arc::new(s.clock.clone()))
        .background_refresh(false)
        .build()
        .await
        .unwrap()
}

async fn a_revoked_key_is_out_at_once_and_refused_after_the_next_poll(backend: Backend) {
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let v = verifier(&s, &s.base, &s.base).await;
    let old = token(&s, &client).await;
    let revoked = kid_of(&old);
    assert!(v.verify(&old).await.is_ok());
    assert!(v.verify(&old).await.is_ok(), "now a cached verification");
    let rs256 = kids(&s.jwks().await)
        .into_iter()
        .find(|k| *k != revoked)
        .unwrap();
    assert_eq!(feed(&s).await["revoked_keys"], json!([]));

    let outcome = s.app.keys.revoke(&revoked).await.unwrap();
    let RevocationOutcome::Revoked {
        alg,
        successor: Some(successor),
    } = outcome
    else {
        panic!("expected a successor, got {outcome:?}");
    };
    assert_eq!(alg, "ES256");
    // Out of the JWKS at once, and the successor signs at once (no publication lead).
    assert_eq!(
        kids(&s.jwks().await),
        BTreeSet::from([rs256.clone(), successor.clone()])
    );
    let new = token(&s, &client).await;
    assert_eq!(kid_of(&new), successor);
    tests::verify(&new, &s.jwks().await);
    assert!(s.app.keys.algorithms_without_signer().is_empty());
    // The feed lists the key (the feed this replica rendered a moment ago is not reused).
    assert_eq!(feed(&s).await["revoked_keys"], json!([revoked]));

    // The verifier learns of it at its next poll, not when its cached JWKS expires.
    v.refresh_revocations().await.unwrap();
    assert_eq!(
        v.verify(&old).await.err(),
        Some(VerifyError::KeyRevoked),
        "refused after the poll, although its verification was cached"
    );
    let store = v.issuer_keys(&s.base).unwrap();
    assert!(!store.kids().contains(&revoked));
    // The successor is fetched through the unknown-kid refetch.
    assert!(v.verify(&new).await.is_ok());
    assert!(store.kids().contains(&successor));
    v.refresh().await;
    assert_eq!(v.verify(&old).await.err(), Some(VerifyError::KeyRevoked));

    // Again, or an unknown kid: nothing happens.
    assert_eq!(
        s.app.keys.revoke(&revoked).await.unwrap(),
        RevocationOutcome::AlreadyRevoked
    );
    assert_eq!(
        s.app.keys.revoke("no-such-kid").await.unwrap(),
        RevocationOutcome::NotFound
    );
    // The private key is erased from the database.
    let row = s.app.store.key(&revoked).await.unwrap().unwrap();
    assert!(row.private_key_sealed.is_empty());
    assert!(row.revoked_at.is_some());

    // Listed while a token it signed may still be unexpired anywhere, then no longer.
    let window = s.app.config.keys.refresh_interval_secs
        + s.app
            .config
            .tokens
            .access_token_ttl_secs
            .max(s.app.config.tokens.id_token_ttl_secs)
        + 300;
    s.clock.advance(window - 1);
    assert_eq!(feed(&s).await["revoked_keys"], json!([revoked]));
    s.clock.advance(1);
    assert_eq!(feed(&s).await["revoked_keys"], json!([]));
}

async fn every_replica_stops_signing_with_a_revoked_key_at_its_reload(backend: Backend) {
    let a = TestServer::start(backend).await;
    let issuer = a.base.clone();
    let b = TestServer::start_on(&a.db_url, &a.db_name, a.clock.clone(), |c| {
        c.server.issuer = issuer;
    })
    .await;
    let client = a.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let from_b = token(&b, &client).await;
    let revoked = kid_of(&from_b);
    assert_eq!(kid_of(&token(&a, &client).await), revoked);
    // The verifier fetches keys from replica B and polls A's feed.
    let v = verifier(&a, &b.base, &a.base).await;
    assert!(v.verify(&from_b).await.is_ok());

    // The operator revokes it from the command line (a third process on the same database).
    let config = cli_config(&a.db_url);
    let out = cli(
        &config,
        &a.clock,
        &["keys", "revoke", "--json", "--", &revoked],
    )
    .await
    .unwrap();
    let out: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(out["status"], "revoked");
    let successor = out["successor"].as_str().unwrap().to_owned();
    let listed = cli(&config, &a.clock, &["keys", "list", "--json"])
        .await
        .unwrap();
    let listed: Value = serde_json::from_str(listed.trim()).unwrap();
    let state = |kid: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .map(|k| k["state"].clone())
    };
    assert_eq!(state(&revoked), Some(json!("revoked")));
    assert_eq!(state(&successor), Some(json!("active")));
    assert!(
        cli(&config, &a.clock, &["keys", "revoke", "--", &revoked])
            .await
            .is_err()
    );

    // Each replica drops it at its next key reload (called here instead of waiting for it).
    a.app.keys.reload().await.unwrap();
    assert_eq!(kid_of(&token(&a, &client).await), successor);
    assert!(!kids(&a.jwks().await).contains(&revoked));
    let stale = token(&b, &client).await;
    assert_eq!(kid_of(&stale), revoked, "B has not reloaded yet");
    assert!(kids(&b.jwks().await).contains(&revoked));

    // The verifier refuses the key from its next poll, and B's JWKS, which still lists it, cannot
    // bring it back. (A's feed is re-rendered at most once a second when another process
    // revoked: let its clock's second move.)
    a.clock.advance(1);
    v.refresh_revocations().await.unwrap();
    v.refresh().await;
    assert_eq!(v.verify(&from_b).await.err(), Some(VerifyError::KeyRevoked));
    assert_eq!(v.verify(&stale).await.err(), Some(VerifyError::KeyRevoked));

    b.app.keys.reload().await.unwrap();
    let fresh = token(&b, &client).await;
    assert_eq!(kid_of(&fresh), successor, "B signs with the successor");
    assert!(!kids(&b.jwks().await).contains(&revoked));
    assert_eq!(a.jwks().await, b.jwks().await);
    v.refresh().await;
    assert!(v.verify(&fresh).await.is_ok());
    assert_eq!(v.verify(&from_b).await.err(), Some(VerifyError::KeyRevoked));
}

async fn a_revocation_racing_a_rotation_leaves_a_signing_key(backend: Backend) {
    let a = TestServer::start(backend).await;
    let b = TestServer::start_on(&a.db_url, &a.db_name, a.clock.clone(), |_| {}).await;
    let client = a.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    for round in 0..3 {
        let current = kid_of(&token(&a, &client).await);
        // Revoke on A while B rotates: whichever commits second sees the other's key.
        let (revoked, rotated) = tokio::join!(
            a.app.keys.revoke(&current),
            b.app.keys.rotate(&[Alg::Es256])
        );
        assert!(
            matches!(revoked.unwrap(), RevocationOutcome::Revoked { .. }),
            "round {round}"
        );
        let rotated = rotated.unwrap();
        assert!(
            matches!(
                rotated[0].1,
                RotationOutcome::Created { .. }
                    | RotationOutcome::LostRace
                    | RotationOutcome::AlreadyPending { .. }
                    | RotationOutcome::NotDue
            ),
            "round {round}: {rotated:?}"
        );
        // Two replicas revoking the same key at once: one does it.
        let next = {
            a.app.keys.reload().await.unwrap();
            kid_of(&token(&a, &client).await)
        };
        let (x, y) = tokio::join!(a.app.keys.revoke(&next), b.app.keys.revoke(&next));
        let outcomes = [x.unwrap(), y.unwrap()];
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, RevocationOutcome::Revoked { .. }))
                .count(),
            1,
            "round {round}: {outcomes:?}"
        );
        for s in [&a, &b] {
            s.app.keys.reload().await.unwrap();
            assert!(
                s.app.keys.algorithms_without_signer().is_empty(),
                "round {round}"
            );
            let kid = kid_of(&token(s, &client).await);
            assert!(kid != current && kid != next, "round {round}");
            let published = kids(&s.jwks().await);
            assert!(!published.contains(&current) && !published.contains(&next));
        }
        // Every later moment too: the pending key from the rotation, if any, was retired.
        a.clock.advance(a.app.config.keys.publish_lead_secs);
        for s in [&a, &b] {
            s.app.keys.reload().await.unwrap();
            assert!(s.app.keys.algorithms_without_signer().is_empty());
        }
    }
}
