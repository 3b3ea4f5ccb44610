//! The end-to-end test harness: a fresh database per test (SQLite file or PostgreSQL database), the IdP
//! started in-process on an ephemeral port with a [`ManualClock`], and helpers that talk to it over HTTP
//! as real clients do. The tests themselves are in `e2e/`.
//!
//! PostgreSQL comes from `AUTH_TEST_PG_URL` (an admin URL; `scripts/test.sh` starts a throwaway cluster
//! and sets it). Without it the PostgreSQL variants are skipped, unless `AUTH_TEST_REQUIRE_PG` is set,
//! in which case they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use auth_core::ManualClock;
use auth_core::{Clock, SystemClock};
use auth_server::app::{App, AppState};
use auth_server::config::{Config, DEFAULT_TOML};
use auth_server::domain::clients::NewClient;
use auth_server::domain::keys::kek::Kek;
use auth_server::domain::random;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub mod admin;
pub mod admin_listener;
pub mod backchannel;
pub mod dcr;
pub mod dpop;
pub mod dpop_verifier_support;
pub mod fixture;
mod jws;
#[cfg(unix)]
pub mod nginx;
pub mod oauth;
pub mod par;
pub mod pkjwt;
#[cfg(unix)]
pub mod process;
#[cfg(unix)]
pub mod proxy_cluster;
pub mod replicas;
pub mod responses;
pub mod rp;
pub mod services_env;
pub mod services_obo;
pub mod sso_support;
pub mod texch;
pub mod webdriver;

pub use jws::{decode_segment, field_of, kids, verify};

/// The test key-encryption key. Never use a constant KEK outside tests.
pub const TEST_KEK: [u8; 32] = [42; 32];

/// A storage backend to run a test on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on the test PostgreSQL cluster.
    Postgres,
}

/// Whether the PostgreSQL variant can run here; panics if it is required but not configured.
pub fn postgres_available() -> bool {
    if std::env::var("AUTH_TEST_PG_URL").is_ok() {
        return true;
    }
    assert!(
        std::env::var("AUTH_TEST_REQUIRE_PG").is_err(),
        "AUTH_TEST_REQUIRE_PG is set but AUTH_TEST_PG_URL is not"
    );
    eprintln!("AUTH_TEST_PG_URL is not set: PostgreSQL variant skipped (scripts/test.sh sets it)");
    false
}

/// For each `async fn NAME(Backend)` listed, defines `mod NAME { sqlite, postgres }` tests running it
/// on each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(::tests::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if ::tests::postgres_available() {
                    super::$name(::tests::Backend::Postgres).await;
                }
            }
        }
    )+};
}

fn unique_name() -> String {
    random::token(12)
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_ascii_lowercase()
            } else {
                'x'
            }
        })
        .collect()
}

/// The admin URL of the test PostgreSQL cluster.
pub fn pg_admin_url() -> String {
    std::env::var("AUTH_TEST_PG_URL").expect("AUTH_TEST_PG_URL")
}

/// A URL for a new, empty database, with the database's name (for PostgreSQL).
pub async fn fresh_database(backend: Backend) -> (String, String) {
    let name = format!("t_{}", unique_name());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("auth-test-{name}"));
            std::fs::create_dir_all(&dir).unwrap();
            (format!("sqlite://{}/auth.db?mode=rwc", dir.display()), name)
        }
        Backend::Postgres => {
            let admin = pg_admin_url();
            let db = sea_orm::Database::connect(admin.as_str()).await.unwrap();
            db.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            db.close().await.unwrap();
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            (format!("{base}/{name}"), name)
        }
    }
}

/// Runs SQL on the PostgreSQL admin database (to break and mend a test database).
pub async fn pg_admin(sql: &str) {
    let db = sea_orm::Database::connect(pg_admin_url().as_str())
        .await
        .unwrap();
    db.execute_unprepared(sql).await.unwrap();
    db.close().await.unwrap();
}

/// The configuration tests start from: embedded defaults, small pools, 2048-bit RSA.
pub fn base_config(db_url: &str) -> Config {
    let mut c = Config::from_toml_and_env(DEFAULT_TOML, Vec::new()).unwrap();
    c.database.url = db_url.to_owned();
    c.database.max_connections = 4;
    c.database.acquire_timeout_secs = 2;
    c.keys.rsa_bits = 2048;
    c.keys.kek_file = std::env::temp_dir().join("auth-test-unused-kek");
    // A server stopped in a test stops at once (health.rs tests the delay itself).
    c.health.shutdown_delay_secs = 0;
    c
}

/// The IdP running in-process on an ephemeral port.
#[allow(missing_debug_implementations)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT` (also the issuer).
    pub base: String,
    /// The application, for direct access to its registries.
    pub app: AppState,
    /// The clock the server reads.
    pub clock: ManualClock,
    /// The database URL.
    pub db_url: String,
    /// The database name.
    pub db_name: String,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// How many `GET .../jwks` requests the server has received.
    pub jwks_hits: Arc<AtomicU64>,
    /// Milliseconds the server waits before answering `GET .../jwks` (0: none).
    pub jwks_delay_ms: Arc<AtomicU64>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// `GET .../jwks` requests received so far.
    pub fn jwks_hit_count(&self) -> u64 {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    /// The `host:port` the server listens on.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Stops the server for real: it stops accepting, closes idle keep-alive connections, and the
    /// port is free when this returns.
    pub async fn stop(mut self) -> (String, String, ManualClock, String) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        (
            self.db_url.clone(),
            self.db_name.clone(),
            self.clock.clone(),
            self.addr().to_owned(),
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts on a fresh database with the base configuration.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts on a fresh database, letting the test adjust the configuration.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let (db_url, db_name) = fresh_database(backend).await;
        Self::start_on(
            &db_url,
            &db_name,
            ManualClock::new(SystemClock.now()),
            tweak,
        )
        .await
    }

    /// Starts on an existing database (a second replica), with its own clock.
    pub async fn start_on(
        db_url: &str,
        db_name: &str,
        clock: ManualClock,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_at("127.0.0.1:0", db_url, db_name, clock, tweak).await
    }

    /// As [`TestServer::start_on`], listening on `addr` (to restart an IdP on the port it had).
    pub async fn start_at(
        addr: &str,
        db_url: &str,
        db_name: &str,
        clock: ManualClock,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = base_config(db_url);
        config.server.issuer = base.clone();
        tweak(&mut config);
        let app = App::start(config, Arc::new(clock.clone()), Kek::from_bytes(TEST_KEK))
            .await
            .unwrap();
        let jwks_hits = Arc::new(AtomicU64::new(0));
        let jwks_delay_ms = Arc::new(AtomicU64::new(0));
        let (hits, delay) = (jwks_hits.clone(), jwks_delay_ms.clone());
        let router = auth_server::http::router(app.http_state()).layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let is_jwks = req.uri().path().ends_with("/jwks");
                if is_jwks {
                    hits.fetch_add(1, Ordering::SeqCst);
                }
                let delay = if is_jwks {
                    delay.load(Ordering::SeqCst)
                } else {
                    0
                };
                async move {
                    // A slow IdP, when a test asks for one (the server waits, not the test).
                    if delay > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                    }
                    next.run(req).await
                }
            },
        ));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        // The production serving path (timeouts, connection cap, graceful shutdown).
        let limits = app.config.server.limits();
        let task = tokio::spawn(async move {
            auth_server::http::serve(listener, router, limits, async move {
                let _ = stopped.await;
            })
            .await;
        });
        Self {
            base,
            app,
            clock,
            db_url: db_url.to_owned(),
            db_name: db_name.to_owned(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            jwks_hits,
            jwks_delay_ms,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// Registers a client; returns `(client_id, secret)`.
    pub async fn client(
        &self,
        id: &str,
        alg: auth_core::Alg,
        scopes: &[&str],
        resources: &[&str],
    ) -> (String, String) {
        let new = NewClient {
            default_scopes: owned(&scopes[..scopes.len().min(1)]),
            ..new_client(id, alg, scopes, resources)
        };
        let (c, secret) = self.app.clients.create(new).await.unwrap();
        (c.id, secret.unwrap())
    }

    /// POSTs a raw body to `/token`.
    pub async fn post_token(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        self.post_raw("/token", body, headers).await
    }

    /// POSTs a raw form body to `path`, with `headers` added.
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// GETs a path and returns the response.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// GETs a path and reads the response as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    /// The JWKS as JSON.
    pub async fn jwks(&self) -> Value {
        self.get_json("/jwks").await
    }

    /// The access token of a client-credentials grant (as [`TestServer::cc_token`], no parameters).
    pub async fn cc_access_token(&self, id: &str, secret: &str) -> String {
        let body = self.cc_token(id, secret, "").await;
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// Gets a client-credentials token with Basic authentication, asserting success.
    pub async fn cc_token(&self, id: &str, secret: &str, extra: &str) -> Value {
        let res = self
            .post_token(
                format!("grant_type=client_credentials{extra}"),
                &[("authorization", &basic(id, secret))],
            )
            .await;
        assert_eq!(
            res.status(),
            200,
            "token request failed: {:?}",
            res.text().await
        );
        res.json().await.unwrap()
    }

    /// Polls a client-credentials request with Basic authentication until it answers `want`, for at
    /// most `secs` seconds (panicking with `what` after that); when `meanwhile` is given, every
    /// other answer must be that status.
    pub async fn cc_until(
        &self,
        id: &str,
        secret: &str,
        want: u16,
        meanwhile: Option<u16>,
        secs: u64,
        what: &str,
    ) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let res = self
                .post_token(
                    "grant_type=client_credentials",
                    &[("authorization", &basic(id, secret))],
                )
                .await;
            if res.status() == want {
                break;
            }
            if let Some(status) = meanwhile {
                assert_eq!(res.status(), status);
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::task::yield_now().await;
        }
    }
}

/// Owned copies of `v`.
pub fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// A confidential client `id` for `scopes` (every one a default) and `resources`: no redirect URIs,
/// third-party, no refresh without `offline_access`, introspecting only its own tokens.
pub fn new_client(id: &str, alg: auth_core::Alg, scopes: &[&str], resources: &[&str]) -> NewClient {
    NewClient {
        id: Some(id.to_owned()),
        name: format!("test client {id}"),
        alg,
        allowed_scopes: owned(scopes),
        default_scopes: owned(scopes),
        allowed_resources: owned(resources),
        ..NewClient::default()
    }
}

/// Asserts a response is JSON that must not be cached (RFC 6749 §5.1): `application/json` and
/// `Cache-Control: no-store`.
#[track_caller]
pub fn assert_json_no_store(res: &reqwest::Response) {
    let h = res.headers();
    let content_type = h["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(h["cache-control"], "no-store");
}

/// `Basic base64(id:secret)`.
pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The current time of a clock, for assertions.
pub fn now(clock: &ManualClock) -> i64 {
    clock.now()
}
