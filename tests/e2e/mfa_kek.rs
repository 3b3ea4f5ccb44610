//! TOTP secrets and KEK rotation, on SQLite and PostgreSQL: a secret is sealed under the current
//! KEK (the database holds no plain secret), a server without that KEK cannot use it (an error,
//! never a wrong answer), and `mfa rewrap` (`Mfa::rewrap`) re-seals each one under the new KEK once,
//! after which the old KEK can go.

use std::sync::Arc;

use auth_core::{Clock, SystemClock};
use auth_server::domain::keys::kek::Kek;
use auth_server::domain::keys::kek_set::KekSet;
use auth_server::domain::mfa::{Answer, FactorKind, Mfa, Verdict, totp};
use auth_server::store::Store;
use tests::{Backend, ManualClock, base_config, fresh_database};

tests::on_both_backends!(totp_secrets_are_sealed_and_move_to_a_new_kek);

const OLD: [u8; 32] = [21; 32];
const NEW: [u8; 32] = [22; 32];

fn keks(current: [u8; 32], previous: &[[u8; 32]]) -> KekSet {
    KekSet::new(
        Kek::from_bytes(current),
        previous.iter().map(|b| Kek::from_bytes(*b)).collect(),
    )
}

async fn totp_secrets_are_sealed_and_move_to_a_new_kek(backend: Backend) {
    let (db, _) = fresh_database(backend).await;
    let config = base_config(&db);
    let store = Store::connect(&config.database).await.unwrap();
    store.migrate().await.unwrap();
    let clock = ManualClock::new(SystemClock.now());
    let mfa = |k: KekSet| {
        Mfa::new(
            store.clone(),
            k,
            Arc::new(clock.clone()),
            "IdP",
            config.login.clone(),
        )
    };
    let code = |secret: &[u8]| totp::code_at(secret, clock.now()).unwrap();

    let old = mfa(keks(OLD, &[]));
    let e = old.start_totp("u1", "alice").await.unwrap().unwrap();
    let secret = totp::from_base32(&e.secret_base32).unwrap();
    let row = store.find_totp("u1").await.unwrap().unwrap();
    assert!(
        !row.secret_sealed.windows(secret.len()).any(|w| w == secret),
        "sealed at rest"
    );
    assert_eq!(row.kek_id, Kek::from_bytes(OLD).id());
    let confirmed = old
        .confirm_totp("u1", &e.enrollment_id, &code(&secret))
        .await;
    assert_eq!(confirmed.unwrap(), Verdict::Accepted(FactorKind::Totp));

    // A server that holds only the new KEK cannot open it: an error, not a rejection.
    clock.advance(30);
    let c = code(&secret);
    assert!(
        mfa(keks(NEW, &[]))
            .verify("u1", Answer::Totp(&c))
            .await
            .is_err()
    );

    // Mid-rotation: re-sealed once, under the new KEK.
    let mid = mfa(keks(NEW, &[OLD]));
    assert_eq!(mid.rewrap().await.unwrap(), 1);
    assert_eq!(mid.rewrap().await.unwrap(), 0);
    let row = store.find_totp("u1").await.unwrap().unwrap();
    assert_eq!(row.kek_id, Kek::from_bytes(NEW).id());

    // The old KEK gone: the factor still works.
    let verdict = mfa(keks(NEW, &[])).verify("u1", Answer::Totp(&c)).await;
    assert_eq!(verdict.unwrap(), Verdict::Accepted(FactorKind::Totp));
}
