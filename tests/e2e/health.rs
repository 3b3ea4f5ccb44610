//! Health: `/healthz` (liveness), `/readyz` (keys loaded, the database answered within
//! `health.database_grace_secs` by the server's clock, not draining), shutdown (readiness off at
//! once, requests in flight finish, within `health.drain_secs`), and `auth-server healthcheck`.

use std::sync::Arc;
use std::time::Duration;

use auth_core::Alg;
use auth_server::app::{App, AppState};
use auth_server::cli::{Cli, Command};
use auth_server::config::Config;
use auth_server::domain::health::NotReady;
use auth_server::domain::keys::kek::Kek;
use clap::Parser;
use serde_json::Value;
use tests::{
    Backend, ManualClock, TEST_KEK, TestServer, base_config, basic, fresh_database, new_client,
    now, pg_admin, postgres_available,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};

tests::on_both_backends!(
    readiness_needs_signing_keys_and_ends_with_draining,
    shutdown_turns_readiness_off_and_lets_requests_finish,
    shutdown_cuts_requests_still_running_after_drain_secs,
    shutdown_answers_readyz_503_before_it_stops_accepting,
    healthcheck_command_exits_by_readiness,
);

/// Polls `cond` until it holds, for at most ten seconds.
async fn until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::task::yield_now().await;
    }
}

async fn readyz(s: &TestServer) -> (u16, Value) {
    let res = s.get("/readyz").await;
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn readiness_needs_signing_keys_and_ends_with_draining(backend: Backend) {
    let s = TestServer::start(backend).await;
    assert_eq!(s.get("/healthz").await.status(), 200);
    assert_eq!(
        readyz(&s).await,
        (200, serde_json::json!({"status": "ready"}))
    );
    // A clock set before every key's activation: nothing can sign, so not ready (but alive).
    let started = now(&s.clock);
    s.clock.set(started - 30 * 24 * 3600);
    let (status, body) = readyz(&s).await;
    assert_eq!(
        (status, &body["reason"]),
        (503, &Value::from("keys")),
        "{body}"
    );
    assert_eq!(body["description"], "no signing key for ES256, RS256");
    assert_eq!(s.get("/healthz").await.status(), 200);
    s.clock.set(started);
    assert_eq!(readyz(&s).await.0, 200);
    // Draining is final.
    s.app.health.begin_draining();
    let (status, body) = readyz(&s).await;
    assert_eq!(
        (status, &body["reason"]),
        (503, &Value::from("draining")),
        "{body}"
    );
    assert_eq!(s.get("/healthz").await.status(), 200);
}

/// A short database outage keeps the replica ready; one longer than the grace period does not;
/// readiness returns with the database. PostgreSQL only: an embedded SQLite file cannot go away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_rides_out_a_short_database_outage_only() {
    if !postgres_available() {
        return;
    }
    let s = TestServer::start_with(Backend::Postgres, |c| c.health.database_grace_secs = 30).await;
    assert_eq!(readyz(&s).await.0, 200, "the database answered just now");
    let db = &s.db_name;
    pg_admin(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false")).await;
    pg_admin(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await;
    // Down, but for less than the grace period by the server's clock: still ready.
    assert_eq!(readyz(&s).await.0, 200);
    s.clock.advance(29);
    assert_eq!(readyz(&s).await.0, 200);
    s.clock.advance(1);
    let (status, body) = readyz(&s).await;
    assert_eq!(
        (status, &body["reason"]),
        (503, &Value::from("database")),
        "{body}"
    );
    assert_eq!(
        body["description"],
        "the database has not answered for 30 s"
    );
    let text = body.to_string();
    assert!(
        !text.contains("postgres") && !text.contains("connection"),
        "no internals: {text}"
    );
    // The JWKS is still served from memory.
    assert_eq!(s.get("/jwks").await.status(), 200);

    pg_admin(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true")).await;
    until("readiness returns with the database", async || {
        readyz(&s).await.0 == 200
    })
    .await;
}

/// An IdP served through [`App::serve`] (the production path, with its shutdown sequence), with a
/// client `svc` (ES256, secret returned), until `stop` is sent.
struct Served {
    app: AppState,
    addr: std::net::SocketAddr,
    secret: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn served(backend: Backend, drain_secs: u64) -> Served {
    served_with_delay(backend, drain_secs, 0).await
}

async fn served_with_delay(backend: Backend, drain_secs: u64, delay_secs: u64) -> Served {
    let (url, _) = fresh_database(backend).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = base_config(&url);
    config.server.issuer = format!("http://{addr}");
    config.admin.enabled = false;
    config.health.drain_secs = drain_secs;
    config.health.shutdown_delay_secs = delay_secs;
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    let app = App::start(config, Arc::new(clock), Kek::from_bytes(TEST_KEK))
        .await
        .unwrap();
    let (_, secret) = app
        .clients
        .create(new_client("svc", Alg::Es256, &["x"], &["https://api"]))
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.clone().serve(listener, None, async move {
        let _ = stopped.await;
    }));
    Served {
        app,
        addr,
        secret: secret.unwrap(),
        stop,
        task,
    }
}

const BODY: &str = "grant_type=client_credentials";

/// Opens a connection and starts `POST /token` with `Expect: 100-continue`; returns once the
/// server has answered `100 Continue`, i.e. once the handler is reading the body: a request in
/// flight, waiting for the rest of its body.
async fn slow_token_request(addr: std::net::SocketAddr, secret: &str) -> TcpStream {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\n\r\n",
        basic("svc", secret),
        BODY.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"\r\n\r\n") {
        let n = timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("100 Continue in time")
            .unwrap();
        assert!(n > 0, "closed before 100 Continue");
        got.extend_from_slice(&buf[..n]);
    }
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 100 Continue"), "{got}");
    conn
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(conn: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let read = timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the server closes the connection");
    String::from_utf8_lossy(&got).into_owned()
}

async fn shutdown_turns_readiness_off_and_lets_requests_finish(backend: Backend) {
    // A drain long enough that finishing early can only mean every request was answered.
    let s = served(backend, 600).await;
    assert_eq!(s.app.health.check().await, Ok(()));
    let mut in_flight = slow_token_request(s.addr, &s.secret).await;
    s.stop.send(()).unwrap();
    // The listener stops accepting; by then readiness is already off.
    until("the listener stops accepting", async || {
        TcpStream::connect(s.addr).await.is_err()
    })
    .await;
    assert!(s.app.health.is_draining(), "readiness turned off first");
    assert_eq!(s.app.health.check().await, Err(NotReady::Draining));
    assert!(!s.task.is_finished(), "a request is still in flight");
    // The request in flight completes normally, and its connection is closed after it
    // (`read_to_close` returns only once the server closed it). Whether the answer also says
    // `Connection: close` depends on whether the connection's task saw the shutdown before it
    // wrote the answer: a race inside hyper, not asserted (it failed one CI run).
    in_flight.write_all(BODY.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut in_flight).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("\"access_token\""), "{answer}");
    timeout(Duration::from_secs(20), s.task)
        .await
        .expect("serve returns once the requests in flight are answered")
        .unwrap()
        .unwrap();
}

async fn shutdown_cuts_requests_still_running_after_drain_secs(backend: Backend) {
    let s = served(backend, 1).await;
    let mut stuck = slow_token_request(s.addr, &s.secret).await;
    s.stop.send(()).unwrap();
    // The body never comes; the request would wait for its 30-second timeout. The drain deadline
    // ends it first: the connection is closed without an answer and serve returns.
    timeout(Duration::from_secs(20), s.task)
        .await
        .expect("serve returns at the drain deadline")
        .unwrap()
        .unwrap();
    assert_eq!(
        read_to_close(&mut stuck).await,
        "",
        "no answer, not even a 408"
    );
}

async fn shutdown_answers_readyz_503_before_it_stops_accepting(backend: Backend) {
    // The server waits (not the test): for 2 s after the signal it still accepts and says 503.
    let s = served_with_delay(backend, 600, 2).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/readyz", s.addr);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    s.stop.send(()).unwrap();
    let seen = http.get(&url).send().await.expect("still accepting");
    assert_eq!(seen.status(), 503, "readiness off at once, over HTTP");
    let body: serde_json::Value = seen.json().await.unwrap();
    assert_eq!(body["reason"], "draining", "{body}");
    until("the listener stops accepting after the delay", async || {
        TcpStream::connect(s.addr).await.is_err()
    })
    .await;
    timeout(Duration::from_secs(20), s.task)
        .await
        .expect("serve returns")
        .unwrap()
        .unwrap();
}

async fn healthcheck(config: &Config, args: &[&str]) -> (bool, String) {
    let cli =
        Cli::try_parse_from(std::iter::once("auth-server").chain(args.iter().copied())).unwrap();
    let Some(Command::Healthcheck(args)) = cli.command else {
        panic!("not the healthcheck command");
    };
    let mut out = Vec::new();
    let ok = auth_server::cli::healthcheck::run(config, &args, &mut out)
        .await
        .unwrap();
    (ok, String::from_utf8(out).unwrap())
}

async fn healthcheck_command_exits_by_readiness(backend: Backend) {
    let s = TestServer::start(backend).await;
    let port = s.addr().rsplit_once(':').unwrap().1;
    let mut config = s.app.config.clone();
    // Bound to every interface: the check asks the loopback address.
    config.server.bind = format!("0.0.0.0:{port}").parse().unwrap();
    let (ok, out) = healthcheck(&config, &["healthcheck"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("http://127.0.0.1:{port}/readyz: 200")),
        "{out}"
    );
    s.app.health.begin_draining();
    let (ok, out) = healthcheck(&config, &["healthcheck"]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("503") && out.contains("draining"), "{out}");
    // Alive all the same.
    let (ok, out) = healthcheck(&config, &["healthcheck", "--live", "--timeout-secs", "2"]).await;
    assert!(ok, "{out}");
    assert!(out.contains("/healthz: 200"), "{out}");
    // Nothing listening: exit 1.
    let (_, _, _, addr) = s.stop().await;
    config.server.bind = addr.parse().unwrap();
    let (ok, out) = healthcheck(&config, &["healthcheck"]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("no answer"), "{out}");
    // A bad option is refused by the parser.
    assert!(Cli::try_parse_from(["auth-server", "healthcheck", "--timeout-secs", "0"]).is_err());
}
