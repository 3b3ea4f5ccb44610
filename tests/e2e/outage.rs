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
