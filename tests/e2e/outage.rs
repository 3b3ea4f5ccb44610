//! A broken database: 503 with a JSON error, keys and cached clients keep working, and recovery once
//! the database returns. PostgreSQL only: an embedded SQLite file cannot go away in the same way.

use auth_core::Alg;
use tests::{Backend, TestServer, basic, pg_admin, postgres_available};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_503_and_recovers() {
    if !postgres_available() {
        return;
    }
    let s = TestServer::start(Backend::Postgres).await;
    let (cached, cached_secret) = s
        .client("cached", Alg::Es256, &["x"], &["https://api"])
        .await;
    let (cold, cold_secret) = s.client("cold", Alg::Es256, &["x"], &["https://api"]).await;
    s.cc_token(&cached, &cached_secret, "").await;

    let db = &s.db_name;
    pg_admin(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false")).await;
    pg_admin(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await;

    let res = s
        .post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic(&cold, &cold_secret))],
        )
        .await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let text = body.to_string();
    assert!(
        !text.contains("postgres") && !text.contains("connection"),
        "no internals: {text}"
    );

    assert_eq!(s.get("/readyz").await.status(), 503);
    assert_eq!(
        s.get("/jwks").await.status(),
        200,
        "the JWKS is served from memory"
    );
    // A cached client needs no database at all to get a token.
    s.cc_token(&cached, &cached_secret, "").await;
    // Key maintenance fails without harming the keys in service.
    assert!(s.app.keys.maintain().await.is_err());
    s.cc_token(&cached, &cached_secret, "").await;

    pg_admin(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true")).await;
    s.cc_until(
        &cold,
        &cold_secret,
        200,
        Some(503),
        20,
        "the server did not recover",
    )
    .await;
    assert_eq!(s.get("/readyz").await.status(), 200);
}

/// A replica started before its PostgreSQL accepts connections waits for it (with backoff, within
/// `database.connect_wait_secs`) instead of exiting. The database sits behind a forwarder that drops
/// the first connections, as a PostgreSQL still starting up would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_waits_for_postgres_at_start() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use auth_server::app::App;
    use auth_server::domain::keys::kek::Kek;
    use tests::{ManualClock, TEST_KEK, base_config, fresh_database};

    if !postgres_available() {
        return;
    }
    let (url, _) = fresh_database(Backend::Postgres).await;
    let (head, rest) = url.split_once('@').unwrap();
    let (real, db) = rest.split_once('/').unwrap();
    let real = real.to_owned();
    let real_for_missing = real.clone();
    let real_addr = move || real_for_missing.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = listener.local_addr().unwrap();
    let refused = Arc::new(AtomicUsize::new(0));
    let counted = refused.clone();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            if counted.load(Ordering::SeqCst) < 2 {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(conn); // not accepting yet
                continue;
            }
            let real = real.clone();
            tokio::spawn(async move {
                let mut pg = tokio::net::TcpStream::connect(real).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut conn, &mut pg).await;
            });
        }
    });
    let mut config = base_config(&format!("{head}@{front}/{db}"));
    config.database.connect_wait_secs = 60;
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    let app = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        App::start(config, Arc::new(clock), Kek::from_bytes(TEST_KEK)),
    )
    .await
    .expect("started within the wait")
    .expect("started once the database answered");
    assert_eq!(
        refused.load(Ordering::SeqCst),
        2,
        "it retried after refusals"
    );
    app.health.check().await.expect("ready");

    // With no wait configured, the same start fails at the first refusal.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let mut once = base_config(&format!("{head}@{dead_addr}/{db}"));
    once.database.connect_wait_secs = 0;
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    assert!(
        App::start(once, Arc::new(clock), Kek::from_bytes(TEST_KEK))
            .await
            .is_err()
    );

    // An error that no wait can cure (here a database that does not exist, SQLSTATE 3D000) fails
    // at once even with a long wait configured: the bound below is far below the wait, and a
    // retrying start would run into it.
    let mut missing = base_config(&format!("{head}@{}/no_such_database_here", real_addr()));
    missing.database.connect_wait_secs = 3600;
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    let started = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        App::start(missing, Arc::new(clock), Kek::from_bytes(TEST_KEK)),
    )
    .await
    .expect("a missing database is not waited for");
    let Err(err) = started else {
        panic!("a missing database fails the start")
    };
    assert!(err.to_string().contains("no_such_database_here"), "{err}");
}
