//! The shared replay cache (`Store::remember_once`), on SQLite and PostgreSQL: of many concurrent
//! uses of one identifier through two stores on one database (two replicas), exactly one is new;
//! scopes are independent; an identifier may come back only after its entry expired; the purge
//! removes only expired entries.

use auth_server::store::Store;
use tests::{Backend, base_config, fresh_database};

tests::on_both_backends!(one_use_per_identifier_across_replicas);

async fn one_use_per_identifier_across_replicas(backend: Backend) {
    let (db, _) = fresh_database(backend).await;
    let config = base_config(&db);
    let a = Store::connect(&config.database).await.unwrap();
    a.migrate().await.unwrap();
    let b = Store::connect(&config.database).await.unwrap();
    let now = 1_000_000;

    for round in 0..4 {
        let id = format!("jti-{round}");
        let calls = (0..24).map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let id = id.clone();
            tokio::spawn(async move { store.remember_once("dpop", &id, now + 60, now).await })
        });
        let mut firsts = 0;
        for call in calls.collect::<Vec<_>>() {
            if call.await.unwrap().unwrap() {
                firsts += 1;
            }
        }
        assert_eq!(firsts, 1, "round {round}: exactly one use is the first");
    }

    // Another scope is another namespace.
    assert!(
        a.remember_once("client_assertion:x", "jti-0", now + 60, now)
            .await
            .unwrap()
    );
    assert!(
        !b.remember_once("client_assertion:x", "jti-0", now + 60, now)
            .await
            .unwrap()
    );
    // Still remembered up to its expiry, that second included (a checker accepting `now <= until`
    // still accepts it then), forgotten after it.
    for (expires, at, first) in [
        (60, 59, false),
        (60, 60, false),
        (200, 61, true),
        (200, 62, false),
    ] {
        let seen = a
            .remember_once("dpop", "jti-0", now + expires, now + at)
            .await;
        assert_eq!(seen.unwrap(), first, "at now + {at}");
    }

    // The purge takes only what expired before then: dpop jti-1..3 and the other scope's jti-0
    // (all expiring at now + 60) go at now + 61, not at now + 60; dpop jti-0, renewed until
    // now + 200, stays.
    assert_eq!(a.purge_seen_ids(now + 60).await.unwrap(), 0);
    assert_eq!(a.purge_seen_ids(now + 61).await.unwrap(), 4);
    let after = |id: &'static str| a.remember_once("dpop", id, now + 300, now + 62);
    assert!(!after("jti-0").await.unwrap());
    assert!(after("jti-1").await.unwrap());
}
