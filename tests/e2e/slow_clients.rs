//! Slow and idle clients cannot hold the IdP or a resource service: a client trickling its headers is
//! cut off at the header-read timeout, an idle connection at the idle timeout, hundreds of idle
//! connections do not delay anyone else, and the connection cap holds the next connection until a
//! slot frees. Pure HTTP behaviour, so SQLite only.

use std::time::Duration;

use tests::services_env::serve_with;
use tests::{Backend, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The upper bound of every wait: far above any limit configured here, so it only fails a hung test.
const DEADLINE: Duration = Duration::from_secs(20);

/// Reads until the server closes the connection (EOF or reset); returns what it sent, or `None` if
/// it still had not closed it at [`DEADLINE`].
async fn read_until_closed(stream: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let read = timeout(DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| got)
}

/// Opens a connection that sends a request head one byte per second, and asserts the server closes
/// it (without answering) long before the head could be complete.
async fn assert_slowloris_is_cut_off(addr: &str) {
    let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    let trickle = tokio::spawn(async move {
        // A head that would take a minute to arrive (and is never finished).
        let head = format!("GET /jwks HTTP/1.1\r\nhost: {}\r\nx-slow: ", "a".repeat(40));
        for b in head.bytes() {
            if wr.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await; // the client's pace, not a wait
        }
    });
    let answer = read_until_closed(&mut rd).await;
    trickle.abort();
    let answer = answer.expect("the server still holds a connection whose headers are trickling");
    assert!(
        !String::from_utf8_lossy(&answer).contains(" 200 "),
        "an incomplete head must not be answered"
    );
}

/// Sends `GET path` on a kept-alive connection and reads one response; returns its status.
async fn get(stream: &mut TcpStream, path: &str) -> u16 {
    let req = format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    read_response(stream).await
}

/// Reads one response from a kept-alive connection; returns its status.
async fn read_response(stream: &mut TcpStream) -> u16 {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let (status, head_len, body_len) = loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response");
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let status = head[9..12].parse().unwrap();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            break (status, end + 4, len);
        }
    };
    while got.len() < head_len + body_len {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed within the body");
        got.extend_from_slice(&buf[..n]);
    }
    status
}

/// Lets this process open `n` more sockets (each connection here costs two: client and server).
fn allow_open_files(n: u64) {
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let want = (n + 256).min(hard);
        if soft < want {
            setrlimit(Resource::RLIMIT_NOFILE, want, hard).unwrap();
        }
        assert!(want >= n, "the hard open-file limit ({hard}) is below {n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_disconnected_at_the_header_read_timeout() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.server.header_read_timeout_secs = 2;
    })
    .await;
    assert_slowloris_is_cut_off(s.addr()).await;
    // Everyone else is still served.
    assert_eq!(s.get("/jwks").await.status(), 200);
}

/// A server on SQLite with these header-read and idle timeouts (seconds).
async fn with_timeouts(header_read_secs: u64, idle_secs: u64) -> TestServer {
    TestServer::start_with(Backend::Sqlite, |c| {
        c.server.header_read_timeout_secs = header_read_secs;
        c.server.idle_timeout_secs = idle_secs;
    })
    .await
}

/// A request body that arrives after its head (as a POST's often does) is not the head of a next
/// request: once answered, the connection is idle (idle timeout), not cut off at the header-read
/// timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_request_body_does_not_start_a_header_clock() {
    let s = with_timeouts(1, 60).await;
    let mut stream = TcpStream::connect(s.addr()).await.unwrap();
    let body = "grant_type=client_credentials&client_id=nobody&client_secret=x";
    let head = format!(
        "POST /token HTTP/1.1\r\nhost: test\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The client's pace: the body follows once the server has the head.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(body.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut stream).await, 401);
    // Longer than the header-read timeout, far shorter than the idle timeout: a wait to show that
    // nothing happens, which no event could signal.
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    assert_eq!(
        get(&mut stream, "/jwks").await,
        200,
        "the idle connection is still open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_at_the_idle_timeout() {
    // hyper's own timer (idle + header-read, an outer bound) would close them only after the
    // deadline: what closes them here is the idle clock.
    let s = with_timeouts(30, 1).await;
    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(s.addr()).await.unwrap();
    // A kept-alive connection after one answered request.
    let mut kept = TcpStream::connect(s.addr()).await.unwrap();
    assert_eq!(get(&mut kept, "/jwks").await, 200);
    let (silent, kept) = tokio::join!(read_until_closed(&mut silent), read_until_closed(&mut kept));
    assert_eq!(
        silent,
        Some(vec![]),
        "the server must close a connection that sends nothing"
    );
    assert_eq!(
        kept,
        Some(vec![]),
        "the server must close an idle kept-alive connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_is_served_at_once_with_500_idle_connections_open() {
    const IDLE: usize = 500;
    allow_open_files(2 * IDLE as u64);
    let s = TestServer::start(Backend::Sqlite).await;
    let mut held = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        let mut c = TcpStream::connect(s.addr()).await.unwrap();
        // Half say nothing, half start a request and stop.
        if i % 2 == 1 {
            c.write_all(b"GET /jwks HTTP/1.1\r\nhost: te")
                .await
                .unwrap();
        }
        held.push(c);
    }
    let res = timeout(Duration::from_secs(5), s.get("/jwks"))
        .await
        .expect("the JWKS waited behind idle connections");
    assert_eq!(res.status(), 200);
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_the_next_connection_until_a_slot_frees() {
    const CAP: u32 = 3;
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.server.max_connections = CAP;
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..CAP {
        let mut c = TcpStream::connect(s.addr()).await.unwrap();
        assert_eq!(get(&mut c, "/jwks").await, 200);
        open.push(c);
    }
    // The kernel completes the handshake (backlog), but the server does not take the connection.
    let mut next = TcpStream::connect(s.addr()).await.unwrap();
    next.write_all(b"GET /jwks HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    // The one bounded wait for something *not* to happen: it can only pass wrongly, never fail wrongly.
    assert!(
        timeout(Duration::from_millis(500), next.read(&mut byte))
            .await
            .is_err(),
        "a connection beyond the cap was served"
    );
    drop(open.pop());
    let mut buf = [0u8; 64];
    let n = timeout(DEADLINE, next.read(&mut buf))
        .await
        .expect("the held connection was not served when a slot freed")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_service_disconnects_a_client_trickling_its_headers() {
    let s = TestServer::start(Backend::Sqlite).await;
    let state = inventory_service::build(inventory_service::Config {
        issuer: s.base.clone(),
        audience: inventory_service::DEFAULT_AUDIENCE.into(),
        stock: inventory_service::parse_levels("widget=1").unwrap(),
        metrics: None,
        external_url: None,
    })
    .await
    .unwrap();
    // The service's own configuration path: INVENTORY_* variables.
    let limits = http_serve::Limits::from_vars("INVENTORY", |name| {
        (name == "INVENTORY_HEADER_READ_TIMEOUT_SECS").then(|| "2".to_owned())
    })
    .unwrap();
    let (base, task) = serve_with(inventory_service::router(state), limits).await;
    let addr = base.trim_start_matches("http://");
    assert_slowloris_is_cut_off(addr).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get(&mut c, "/healthz").await, 200);
    task.abort();
}
