//! The signing-key lifecycle: publish ahead, activate by the clock, retire, remove; races between
//! replicas; sealing at rest.

use auth_core::{Alg, Clock, SystemClock};
use auth_server::domain::keys::RotationOutcome;
use auth_server::domain::keys::binding::aad_v2;
use auth_server::domain::keys::kek::Kek;
use tests::{Backend, ManualClock, TEST_KEK, TestServer, decode_segment, fresh_database};

tests::on_both_backends!(
    a_replica_with_another_kek_refuses_to_start,
    operator_rotation_publishes_ahead_then_switches,
    automatic_rotation_follows_the_schedule,
    replicas_never_both_create_a_key,
    private_keys_are_sealed_at_rest,
);

fn es256_kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "ES256")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn signing_kid(s: &TestServer, id: &str, secret: &str) -> String {
    let body = s.cc_token(id, secret, "").await;
    let token = body["access_token"].as_str().unwrap();
    tests::verify(token, &s.jwks().await);
    decode_segment(token, 0)["kid"].as_str().unwrap().to_owned()
}

async fn operator_rotation_publishes_ahead_then_switches(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (id, secret) = s.client("svc", Alg::Es256, &["a"], &["https://api"]).await;
    let first = es256_kids(&s.jwks().await);
    assert_eq!(first.len(), 1);
    assert_eq!(signing_kid(&s, &id, &secret).await, first[0]);

    let lead = s.app.config.keys.publish_lead_secs;
    let outcome = s.app.keys.rotate(&[Alg::Es256]).await.unwrap();
    let RotationOutcome::Created {
        kid: next,
        activates_at,
        generation,
    } = outcome[0].1.clone()
    else {
        panic!("expected a new key, got {outcome:?}");
    };
    assert_eq!(generation, 2);
    assert_eq!(activates_at, s.clock.now() + lead);
    // Published at once, not yet signing.
    assert_eq!(
        es256_kids(&s.jwks().await),
        vec![first[0].clone(), next.clone()]
    );
    assert_eq!(signing_kid(&s, &id, &secret).await, first[0]);
    // A second rotation while one is pending does not stack keys.
    let again = s.app.keys.rotate(&[Alg::Es256]).await.unwrap();
    assert_eq!(again[0].1, RotationOutcome::AlreadyPending { activates_at });

    s.clock.advance(lead - 1);
    assert_eq!(
        signing_kid(&s, &id, &secret).await,
        first[0],
        "not before activates_at"
    );
    s.clock.advance(1);
    assert_eq!(
        signing_kid(&s, &id, &secret).await,
        next,
        "every replica switches by the clock alone"
    );
    // The old key stays published while tokens it signed can still be valid...
    s.app.keys.maintain().await.unwrap();
    assert!(es256_kids(&s.jwks().await).contains(&first[0]));
    let ttl = s.app.config.tokens.access_token_ttl_secs;
    s.clock.advance(ttl);
    s.app.keys.maintain().await.unwrap();
    assert!(es256_kids(&s.jwks().await).contains(&first[0]));
    // ...and leaves once the last of them has expired (plus refresh interval and skew allowance).
    s.clock
        .advance(s.app.config.keys.refresh_interval_secs + 300);
    s.app.keys.maintain().await.unwrap();
    assert_eq!(es256_kids(&s.jwks().await), vec![next.clone()]);
    assert_eq!(signing_kid(&s, &id, &secret).await, next);
}

async fn automatic_rotation_follows_the_schedule(backend: Backend) {
    let s = TestServer::start(backend).await;
    let k = s.app.config.keys.clone();
    let start = s.clock.now();
    s.clock
        .advance(k.rotation_period_secs - k.publish_lead_secs - 1);
    let none = s.app.keys.maintain().await.unwrap();
    assert!(
        none.iter().all(|(_, o)| *o == RotationOutcome::NotDue),
        "{none:?}"
    );
    s.clock.advance(1);
    let made = s.app.keys.maintain().await.unwrap();
    assert_eq!(made.len(), 2);
    for (alg, o) in made {
        match o {
            RotationOutcome::Created {
                activates_at,
                generation,
                ..
            } => {
                assert_eq!(generation, 2, "{alg}");
                assert_eq!(activates_at, start + k.rotation_period_secs, "{alg}");
            }
            other => panic!("{alg}: {other:?}"),
        }
    }
    let rows = s.app.store.list_keys().await.unwrap();
    assert_eq!(rows.len(), 4);
    let old_es = rows
        .iter()
        .find(|r| r.alg == "ES256" && r.generation == 1)
        .unwrap();
    assert_eq!(old_es.retires_at, Some(start + k.rotation_period_secs));
    assert!(
        old_es.removed_at.unwrap()
            > old_es.retires_at.unwrap() + s.app.config.tokens.access_token_ttl_secs
    );
}

async fn replicas_never_both_create_a_key(backend: Backend) {
    let (url, name) = fresh_database(backend).await;
    let now = SystemClock.now();
    // Two replicas start at once on an empty database: both try to create the first keys.
    let (a, b) = tokio::join!(
        TestServer::start_on(&url, &name, ManualClock::new(now), |_| {}),
        TestServer::start_on(&url, &name, ManualClock::new(now), |_| {}),
    );
    b.app.keys.reload().await.unwrap();
    a.app.keys.reload().await.unwrap();
    assert_eq!(
        a.app.store.list_keys().await.unwrap().len(),
        2,
        "one key per algorithm, not two"
    );
    assert_eq!(a.jwks().await, b.jwks().await);

    // Both decide to rotate at the same moment: exactly one key is created.
    let (ra, rb) = tokio::join!(
        a.app.keys.rotate(&[Alg::Es256]),
        b.app.keys.rotate(&[Alg::Es256])
    );
    let outcomes = [ra.unwrap()[0].1.clone(), rb.unwrap()[0].1.clone()];
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, RotationOutcome::Created { .. }))
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(
        o,
        RotationOutcome::Created { .. }
            | RotationOutcome::LostRace
            | RotationOutcome::AlreadyPending { .. }
    )));
    let es: Vec<_> = a
        .app
        .store
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.alg == "ES256")
        .collect();
    assert_eq!(es.len(), 2);
    a.app.keys.reload().await.unwrap();
    b.app.keys.reload().await.unwrap();
    assert_eq!(
        a.get("/jwks").await.headers()["etag"],
        b.get("/jwks").await.headers()["etag"]
    );

    // Once it activates, both replicas sign with it.
    let (id, secret) = a.client("svc", Alg::Es256, &["x"], &["https://api"]).await;
    a.clock.advance(a.app.config.keys.publish_lead_secs);
    b.clock.advance(b.app.config.keys.publish_lead_secs);
    assert_eq!(signing_kid(&a, &id, &secret).await, es[1].kid);
    assert_eq!(signing_kid(&b, &id, &secret).await, es[1].kid);
}

async fn private_keys_are_sealed_at_rest(backend: Backend) {
    let s = TestServer::start(backend).await;
    let rows = s.app.store.list_keys().await.unwrap();
    assert_eq!(rows.len(), 2);
    let kek = Kek::from_bytes(TEST_KEK);
    for row in rows {
        let alg: Alg = row.alg.parse().unwrap();
        assert!(
            !row.public_jwk.contains("\"d\""),
            "no private member in the stored JWK"
        );
        assert_eq!(row.kek_id, kek.id());
        assert_eq!(row.aad_version, 2, "new keys bind their public key");
        let jwk: auth_core::jwk::Jwk = serde_json::from_str(&row.public_jwk).unwrap();
        let aad = |kid: &str| aad_v2(kid, alg, &jwk).unwrap();
        let der = kek
            .open(&row.private_key_sealed, &aad(&row.kid), &row.kid)
            .unwrap();
        assert!(der.len() > 60);
        // The stored blob is not the key: neither it nor any long run of the key's bytes appears.
        assert!(
            !row.private_key_sealed
                .windows(32)
                .any(|w| der.windows(32).any(|d| d == w))
        );
        // Nor does it start like the DER key (a PKCS#8 SEQUENCE header). It is not handed to a DER
        // parser: josekit's aborts the process on some random input (it trusts a length field).
        assert_ne!(row.private_key_sealed[..4], der[..4]);
        // Another KEK, or the blob moved to another row, does not open it.
        assert!(
            Kek::from_bytes([1; 32])
                .open(&row.private_key_sealed, &aad(&row.kid), &row.kid)
                .is_err()
        );
        assert!(
            kek.open(&row.private_key_sealed, &aad("other-kid"), &row.kid)
                .is_err()
        );
    }
}

async fn a_replica_with_another_kek_refuses_to_start(backend: Backend) {
    let s = TestServer::start(backend).await;
    let config = tests::base_config(&s.db_url);
    let other = auth_server::app::App::start(
        config,
        std::sync::Arc::new(s.clock.clone()),
        Kek::from_bytes([9; 32]),
    )
    .await;
    let err = other.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("AUTH_SERVER_KEYS_KEK"), "{err}");
    // The keys were not touched: the first replica still signs.
    assert_eq!(s.app.keys.algorithms_without_signer(), vec![]);
}
