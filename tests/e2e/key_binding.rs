//! Key rows are trusted only if a holder of the key-encryption key made them: a row written by
//! someone who can write the database but lacks the KEK never reaches the JWKS and never signs; a
//! row sealed before the public key was bound into the associated data (migration m0007) is still
//! used, and re-sealed.

use std::collections::BTreeSet;

use auth_core::jwk::Jwk;
use auth_core::{Alg, Clock, ManualClock};
use auth_server::domain::keys::binding::{AAD_V1, AAD_V2, aad_v1, aad_v2};
use auth_server::domain::keys::kek::Kek;
use auth_server::domain::keys::material;
use auth_server::model::records::KeyRecord;
use auth_server::store::entities::signing_key;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ActiveModelTrait, EntityTrait};
use tests::{Backend, TEST_KEK, TestServer, decode_segment, kids};

tests::on_both_backends!(
    forged_key_rows_never_reach_the_jwks,
    a_pre_migration_row_is_used_and_resealed,
);

/// An ES256 row's public JWK and its private key (PKCS#8 DER), opened with the version-2 associated
/// data (kid|alg|public key).
fn open_v2(kek: &Kek, row: &KeyRecord) -> (Jwk, Vec<u8>) {
    let jwk: Jwk = serde_json::from_str(&row.public_jwk).unwrap();
    let der = kek
        .open(
            &row.private_key_sealed,
            &aad_v2(&row.kid, Alg::Es256, &jwk).unwrap(),
            &row.kid,
        )
        .unwrap();
    (jwk, der)
}

/// A fresh key pair's public JWK (kid = its thumbprint) and PKCS#8 DER.
fn fresh(alg: Alg) -> (Jwk, Vec<u8>) {
    let g = material::generate(alg, 2048).unwrap();
    (g.jwk, g.pkcs8_der)
}

/// A row that would sign for ES256 at once (newest generation, active now) if it were trusted.
fn row(
    kid: &str,
    jwk: &Jwk,
    sealed: Vec<u8>,
    aad_version: i32,
    generation: i64,
    now: i64,
) -> signing_key::Model {
    signing_key::Model {
        kid: kid.to_owned(),
        alg: "ES256".into(),
        generation,
        public_jwk: serde_json::to_string(jwk).unwrap(),
        private_key_sealed: sealed,
        kek_id: Kek::from_bytes(TEST_KEK).id().to_owned(),
        published_at: now,
        activates_at: now,
        retires_at: None,
        removed_at: None,
        aad_version,
        revoked_at: None,
    }
}

async fn insert(s: &TestServer, m: signing_key::Model) {
    signing_key::Entity::insert(signing_key::ActiveModel::from(m))
        .exec_without_returning(s.app.store.conn())
        .await
        .unwrap();
}

async fn signing_kid(s: &TestServer, client: &(String, String)) -> String {
    let body = s.cc_token(&client.0, &client.1, "").await;
    let token = body["access_token"].as_str().unwrap();
    tests::verify(token, &s.jwks().await);
    decode_segment(token, 0)["kid"].as_str().unwrap().to_owned()
}

async fn forged_key_rows_never_reach_the_jwks(backend: Backend) {
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &["https://api"]).await;
    // A pending key (published, not yet signing) for case 4 below, made before any forged row.
    s.app.keys.rotate(&[Alg::Es256]).await.unwrap();
    let pending = s
        .app
        .store
        .newest_key("ES256")
        .await
        .unwrap()
        .filter(|k| k.generation == 2);
    let legit = kids(&s.jwks().await);
    assert_eq!(legit.len(), 3);
    let signer = signing_kid(&s, &client).await;
    let now = s.clock.now();
    let kek = Kek::from_bytes(TEST_KEK);
    let mut forged_public = Vec::new();

    // 1. A valid-looking public key under its own thumbprint, with garbage as its sealed key.
    let (jwk, _) = fresh(Alg::Es256);
    let kid = jwk.kid.clone().unwrap();
    insert(&s, row(&kid, &jwk, vec![7; 80], AAD_V2, 50, now)).await;
    forged_public.push(jwk.x.clone());
    // 2. The same, sealed correctly but under another KEK (the attacker's own).
    let (jwk, der) = fresh(Alg::Es256);
    let kid = jwk.kid.clone().unwrap();
    let sealed = Kek::from_bytes([1; 32])
        .seal(&der, &aad_v2(&kid, Alg::Es256, &jwk).unwrap())
        .unwrap();
    insert(&s, row(&kid, &jwk, sealed, AAD_V2, 51, now)).await;
    forged_public.push(jwk.x.clone());
    // 3. A kid that is not the thumbprint of its public key, even with a blob that opens under the
    //    real KEK (the kid check alone refuses it), under both sealing versions.
    for (version, generation) in [(AAD_V1, 52), (AAD_V2, 53)] {
        let (mut jwk, der) = fresh(Alg::Es256);
        let kid = format!("not-a-thumbprint-{version}");
        jwk.kid = Some(kid.clone());
        let aad = match version {
            AAD_V1 => aad_v1(&kid, Alg::Es256),
            _ => aad_v2(&kid, Alg::Es256, &jwk).unwrap(),
        };
        let sealed = kek.seal(&der, &aad).unwrap();
        insert(&s, row(&kid, &jwk, sealed, version, generation, now)).await;
        forged_public.push(jwk.x.clone());
    }
    // 4. A public key swapped under a real row's kid: a pending key (so the current one still
    //    signs) gets the attacker's public key, its kid and sealed blob left as they were.
    let pending = pending.expect("the rotation created generation 2");
    let (mut jwk, _) = fresh(Alg::Es256);
    jwk.kid = Some(pending.kid.clone());
    forged_public.push(jwk.x.clone());
    signing_key::ActiveModel {
        kid: Set(pending.kid.clone()),
        public_jwk: Set(serde_json::to_string(&jwk).unwrap()),
        ..Default::default()
    }
    .update(s.app.store.conn())
    .await
    .unwrap();
    // ... and the same for a version-1 row (the migration's old sealing): the v1 associated data
    // does not bind the public key, the thumbprint check does.
    let mut downgraded = s.app.store.key(&pending.kid).await.unwrap().unwrap();
    let (_, der) = open_v2(&kek, &pending);
    downgraded.private_key_sealed = kek.seal(&der, &aad_v1(&pending.kid, Alg::Es256)).unwrap();
    downgraded.aad_version = AAD_V1;

    for _ in 0..2 {
        s.app.keys.reload().await.unwrap();
        let jwks = s.jwks().await;
        let published = kids(&jwks);
        assert_eq!(
            published,
            without(&legit, &pending.kid),
            "only the genuine, unaltered keys are published"
        );
        let text = jwks.to_string();
        for x in forged_public.iter().flatten() {
            assert!(
                !text.contains(x.as_str()),
                "a forged public key is published"
            );
        }
        assert_eq!(
            signing_kid(&s, &client).await,
            signer,
            "signing still uses the legitimate key"
        );
        assert!(s.app.keys.algorithms_without_signer().is_empty());
        // Second round: the swapped row as an old (v1) row.
        signing_key::ActiveModel {
            kid: Set(downgraded.kid.clone()),
            private_key_sealed: Set(downgraded.private_key_sealed.clone()),
            aad_version: Set(AAD_V1),
            ..Default::default()
        }
        .update(s.app.store.conn())
        .await
        .unwrap();
    }
    // A second replica starting on this database loads the same, and neither re-seals a forged row.
    let b = TestServer::start_on(&s.db_url, &s.db_name, s.clock.clone(), |_| {}).await;
    assert_eq!(kids(&b.jwks().await), without(&legit, &pending.kid));
    let swapped = s.app.store.key(&pending.kid).await.unwrap().unwrap();
    assert_eq!(
        swapped.aad_version, AAD_V1,
        "a refused row is never re-sealed"
    );
    // Its genuine public key put back (its blob still the v1 sealing): published again, and
    // re-sealed.
    signing_key::ActiveModel {
        kid: Set(pending.kid.clone()),
        public_jwk: Set(pending.public_jwk.clone()),
        ..Default::default()
    }
    .update(s.app.store.conn())
    .await
    .unwrap();
    s.app.keys.reload().await.unwrap();
    assert_eq!(kids(&s.jwks().await), legit);
    let mended = s.app.store.key(&pending.kid).await.unwrap().unwrap();
    assert_eq!(mended.aad_version, AAD_V2);
}

fn without(set: &BTreeSet<String>, kid: &str) -> BTreeSet<String> {
    set.iter().filter(|k| *k != kid).cloned().collect()
}

async fn a_pre_migration_row_is_used_and_resealed(backend: Backend) {
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &["https://api"]).await;
    let jwks_before = s.jwks().await;
    let current = signing_kid(&s, &client).await;
    let kek = Kek::from_bytes(TEST_KEK);

    // Turn the current ES256 row into what the database held before migration m0007: sealed with
    // the version-1 associated data (kid|alg), and the new column left to its default.
    let row = s.app.store.key(&current).await.unwrap().unwrap();
    assert_eq!(row.aad_version, AAD_V2);
    let (jwk, der) = open_v2(&kek, &row);
    let v1 = kek.seal(&der, &aad_v1(&row.kid, Alg::Es256)).unwrap();
    signing_key::Entity::delete_by_id(row.kid.clone())
        .exec(s.app.store.conn())
        .await
        .unwrap();
    // Inserted without `aad_version` (as a pre-m0007 writer would): the column's default is 1.
    signing_key::Entity::insert(signing_key::ActiveModel {
        kid: Set(row.kid.clone()),
        alg: Set(row.alg.clone()),
        generation: Set(row.generation),
        public_jwk: Set(row.public_jwk.clone()),
        private_key_sealed: Set(v1.clone()),
        kek_id: Set(row.kek_id.clone()),
        published_at: Set(row.published_at),
        activates_at: Set(row.activates_at),
        retires_at: Set(row.retires_at),
        removed_at: Set(row.removed_at),
        aad_version: NotSet,
        revoked_at: NotSet,
    })
    .exec_without_returning(s.app.store.conn())
    .await
    .unwrap();
    assert_eq!(
        s.app
            .store
            .key(&current)
            .await
            .unwrap()
            .unwrap()
            .aad_version,
        AAD_V1
    );

    // A replica starting now uses it (it could not start without an ES256 key) and re-seals it.
    let b = TestServer::start_on(
        &s.db_url,
        &s.db_name,
        ManualClock::new(s.clock.now()),
        |_| {},
    )
    .await;
    assert_eq!(b.jwks().await, jwks_before, "still published");
    let b_client = (client.0.clone(), client.1.clone());
    assert_eq!(signing_kid(&b, &b_client).await, current, "still signing");
    let resealed = s.app.store.key(&current).await.unwrap().unwrap();
    assert_eq!(resealed.aad_version, AAD_V2);
    assert_ne!(resealed.private_key_sealed, v1);
    assert_eq!(
        kek.open(
            &resealed.private_key_sealed,
            &aad_v2(&row.kid, Alg::Es256, &jwk).unwrap(),
            &row.kid
        )
        .unwrap(),
        der,
        "the same private key, now bound to its public key"
    );
    assert!(
        kek.open(
            &resealed.private_key_sealed,
            &aad_v1(&row.kid, Alg::Es256),
            &row.kid
        )
        .is_err()
    );
    // The first replica reloads the re-sealed row: nothing changes for it.
    s.app.keys.reload().await.unwrap();
    assert_eq!(s.jwks().await, jwks_before);
    assert_eq!(signing_kid(&s, &client).await, current);
}
