//! DPoP (RFC 9449) invariants at the IdP: a public client's refresh tokens are bound to the key
//! of the proof they were issued with (§5), one proof yields at most one token across replicas
//! (§11.1), and server nonces (§8) are issued and accepted by every replica.

use std::sync::Arc;

use tests::dpop::{Answer, DpopKey, assert_bound, cc_client, cc_with, token_with};
use tests::fixture::Sso;
use tests::oauth::{WebClient, first_party};
use tests::replicas::{PARALLEL, pick, replicas, replicas_with};
use tests::sso_support::{OFFLINE, alice_code};
use tests::{Backend, TestServer, on_both_backends};

on_both_backends!(
    public_refresh_tokens_are_bound_to_the_key,
    one_proof_one_token_across_replicas,
    nonces_are_demanded_issued_and_expire,
);

async fn refresh(s: &TestServer, app: &WebClient, rt: &str, proof: Option<&str>) -> Answer {
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    token_with(s, app, &pairs, proof.as_slice()).await
}

async fn public_refresh_tokens_are_bound_to_the_key(backend: Backend) {
    let s = TestServer::start(backend).await;
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::on(s, "alice", first_party().public()).await;
    let key = DpopKey::new();
    let (pkce, code) = alice_code(&s, &mut browser, &app, OFFLINE).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    let first = token_with(&s, &app, &pairs, &[&key.for_token(&s, None)]).await;
    assert_bound(&s, &first, &key).await;
    let rt = first.body["refresh_token"].as_str().unwrap().to_owned();

    // Another key, or no proof: invalid_grant, and the refresh token is not spent.
    let other = DpopKey::new();
    for (what, proof) in [
        ("other key", Some(other.for_token(&s, None))),
        ("no proof", None),
    ] {
        let a = refresh(&s, &app, &rt, proof.as_deref()).await;
        assert_eq!(
            (a.status, a.error()),
            (400, "invalid_grant"),
            "{what}: {}",
            a.body
        );
    }
    // The same key: a new bound token; rotation keeps the binding.
    let second = refresh(&s, &app, &rt, Some(&key.for_token(&s, None))).await;
    assert_bound(&s, &second, &key).await;
    let rt2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt, rt2);
    let a = refresh(&s, &app, &rt2, Some(&other.for_token(&s, None))).await;
    assert_eq!((a.status, a.error()), (400, "invalid_grant"), "{}", a.body);
    let a = refresh(&s, &app, &rt2, None).await;
    assert_eq!((a.status, a.error()), (400, "invalid_grant"), "{}", a.body);
    assert_bound(
        &s,
        &refresh(&s, &app, &rt2, Some(&key.for_token(&s, None))).await,
        &key,
    )
    .await;
}

async fn one_proof_one_token_across_replicas(backend: Backend) {
    let servers = replicas(backend).await;
    let partner = Arc::new(cc_client(&servers.0, "partner").await);
    let key = DpopKey::new();
    // Both replicas have one issuer, so one `htu`.
    let proof = Arc::new(key.for_token(&servers.0, None));
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, partner, proof) = (pick(&servers, i), partner.clone(), proof.clone());
        tasks.push(tokio::spawn(async move {
            cc_with(&s, &partner, &[&proof]).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let a = t.await.unwrap();
        match a.status {
            200 => ok += 1,
            _ => assert_eq!(
                (a.status, a.error()),
                (400, "invalid_dpop_proof"),
                "{}",
                a.body
            ),
        }
    }
    assert_eq!(ok, 1, "exactly one request with the proof gets a token");
}

async fn nonces_are_demanded_issued_and_expire(backend: Backend) {
    let slot = 60;
    let servers = replicas_with(backend, move |c| {
        c.dpop.require_nonce = true;
        c.dpop.nonce_slot_secs = slot;
    })
    .await;
    let (a, b) = (&servers.0, &servers.1);
    let partner = cc_client(a, "partner").await;
    let key = DpopKey::new();

    // Without a nonce: use_dpop_nonce (400) with one in DPoP-Nonce.
    let first = cc_with(a, &partner, &[&key.for_token(a, None)]).await;
    assert_eq!(
        (first.status, first.error()),
        (400, "use_dpop_nonce"),
        "{}",
        first.body
    );
    let nonce = first.nonce.clone().expect("a DPoP-Nonce header");
    // With it, on the other replica (no shared state but the KEK): a bound token, and a nonce
    // for the next proof.
    let retried = cc_with(b, &partner, &[&key.for_token(a, Some(&nonce))]).await;
    assert_bound(b, &retried, &key).await;
    assert!(retried.nonce.is_some());
    // A made-up nonce: use_dpop_nonce.
    let made_up = cc_with(a, &partner, &[&key.for_token(a, Some("bm90LWEtbm9uY2U"))]).await;
    assert_eq!(
        (made_up.status, made_up.error()),
        (400, "use_dpop_nonce"),
        "{}",
        made_up.body
    );
    // Still fine within the next slot; refused two slots later, with a fresh nonce that works.
    a.clock.advance(slot);
    assert_bound(
        a,
        &cc_with(a, &partner, &[&key.for_token(a, Some(&nonce))]).await,
        &key,
    )
    .await;
    a.clock.advance(slot);
    let stale = cc_with(a, &partner, &[&key.for_token(a, Some(&nonce))]).await;
    assert_eq!(
        (stale.status, stale.error()),
        (400, "use_dpop_nonce"),
        "{}",
        stale.body
    );
    let fresh = stale.nonce.expect("a fresh DPoP-Nonce");
    assert_ne!(fresh, nonce);
    assert_bound(
        a,
        &cc_with(a, &partner, &[&key.for_token(a, Some(&fresh))]).await,
        &key,
    )
    .await;
}
