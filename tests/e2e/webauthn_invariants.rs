//! The WebAuthn invariant of stored credentials, raced over two server instances sharing one
//! database, on SQLite and PostgreSQL: a credential's signature counter never goes backwards, and
//! a counter value is accepted at most once (W3C WebAuthn §6.1.1: a counter that does not move
//! forward signals a possibly cloned authenticator, and the sign-in is refused). The single use of
//! ceremonies is raced in `webauthn.rs`.

use auth_server::store::webauthn::{CounterUpdate, WebauthnCredentialRecord};
use tests::Backend;
use tests::replicas::{PARALLEL, pick, replicas};

tests::on_both_backends!(
    a_signature_counter_never_goes_backwards,
    a_credential_without_a_counter_keeps_none,
);

fn credential(id: &str, counter: i64) -> WebauthnCredentialRecord {
    WebauthnCredentialRecord {
        id: id.to_owned(),
        user_id: "u1".to_owned(),
        credential_id: format!("cred-{id}"),
        name: "Key".to_owned(),
        passkey: "{}".to_owned(),
        counter,
        backup_eligible: false,
        backup_state: false,
        created_at: 0,
        last_used_at: None,
    }
}

fn update(id: &str, counter: i64) -> CounterUpdate<'_> {
    CounterUpdate {
        id,
        counter,
        passkey: "{}",
        backup_state: false,
        at: counter,
    }
}

/// `PARALLEL` sign-ins with counters 6 to 9 at once: each value is accepted at most once, the
/// counter ends at the highest, and afterwards nothing at or below it is accepted.
async fn a_signature_counter_never_goes_backwards(backend: Backend) {
    let servers = replicas(backend).await;
    assert!(
        servers
            .0
            .app
            .store
            .insert_webauthn_credential(credential("k", 5))
            .await
            .unwrap()
    );
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let s = pick(&servers, i);
        let counter = 6 + (i as i64 % 4);
        tasks.push(tokio::spawn(async move {
            let moved = s
                .app
                .store
                .advance_webauthn_counter(update("k", counter))
                .await;
            (counter, moved.unwrap())
        }));
    }
    let mut accepted = Vec::new();
    for t in tasks {
        let (counter, moved) = t.await.unwrap();
        if moved {
            accepted.push(counter);
        }
    }
    accepted.sort_unstable();
    let mut distinct = accepted.clone();
    distinct.dedup();
    assert_eq!(accepted, distinct, "a counter value was accepted twice");
    assert!(accepted.contains(&9), "{accepted:?}");
    let stored = servers
        .1
        .app
        .store
        .webauthn_credential_by_cred_id("cred-k")
        .await
        .unwrap();
    assert_eq!(stored.unwrap().counter, 9);
    for stale in [9, 8, 5, 0] {
        assert!(
            !servers
                .0
                .app
                .store
                .advance_webauthn_counter(update("k", stale))
                .await
                .unwrap()
        );
    }
    assert!(
        servers
            .1
            .app
            .store
            .advance_webauthn_counter(update("k", 10))
            .await
            .unwrap()
    );
}

/// A credential whose authenticator keeps no counter (0, as synced passkeys do) may be used again
/// at 0; once a counter was seen, 0 is a step backwards.
async fn a_credential_without_a_counter_keeps_none(backend: Backend) {
    let servers = replicas(backend).await;
    let store = &servers.0.app.store;
    assert!(
        store
            .insert_webauthn_credential(credential("z", 0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_webauthn_credential(credential("z", 0))
            .await
            .unwrap(),
        "duplicate"
    );
    for _ in 0..3 {
        assert!(
            store
                .advance_webauthn_counter(update("z", 0))
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .advance_webauthn_counter(update("z", 1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_webauthn_counter(update("z", 0))
            .await
            .unwrap()
    );
}
