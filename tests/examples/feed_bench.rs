//! Bytes and CPU per revocation-feed poll, at the IdP and at a service, for 0, 1,000 and 100,000
//! revoked tokens: before (the whole list every poll, no `If-None-Match`) and after (a 304 for an
//! unchanged feed, an incremental answer with 5 new entries, the gzip-compressed full snapshot a
//! starting verifier gets).
//!
//! The IdP runs in-process on a fresh SQLite file seeded with N revoked tokens; its clock moves one
//! second before every poll, so every poll pays a rendering (the worst case: the IdP reuses a
//! rendering for a second). IdP CPU: process CPU time (getrusage) around polls made with a bare
//! client that only reads the bytes. Service CPU: process CPU time around
//! `Verifier::refresh_revocations()` (fetch, decode, parse, apply) against a loopback server that
//! replays bodies captured from the IdP, so the IdP's work is not counted.
//!
//! cargo run --release -p tests --example feed_bench [-- N...]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth_core::Clock;
use auth_verifier::{IssuerConfig, Policy, Verifier};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use nix::sys::resource::{UsageWho, getrusage};
use sea_orm::ConnectionTrait;
use serde_json::Value;
use tests::{Backend, TestServer};

/// Process CPU time (user + system) in microseconds.
fn cpu_us() -> i64 {
    let u = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() * 1_000_000 + t.tv_usec();
    us(u.user_time()) + us(u.system_time())
}

struct Row {
    case: &'static str,
    bytes: usize,
    idp_us: f64,
}

/// One poll with a bare client; returns (status, body bytes as sent, ETag, body).
async fn raw_poll(
    http: &reqwest::Client,
    url: &str,
    inm: Option<&str>,
    gzip: bool,
) -> (u16, Bytes, String, HeaderMap) {
    let mut req = http.get(url);
    if let Some(e) = inm {
        req = req.header("if-none-match", e);
    }
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let etag = headers
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, res.bytes().await.unwrap(), etag, headers)
}

async fn seed(s: &TestServer, n: usize) {
    let exp = s.clock.now() + 86_400;
    let sql = format!(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {n}) \
         INSERT INTO revoked_access_tokens (jti, expires_at) \
         SELECT substr('seed-' || n || '-' || hex(randomblob(12)), 1, 22), {exp} FROM g"
    );
    if n > 0 {
        s.app.store.conn().execute_unprepared(&sql).await.unwrap();
    }
}

/// Bodies captured from the IdP, replayed to a verifier.
#[derive(Clone, Default)]
struct Captured {
    issuer: String,
    legacy: Bytes,
    snapshot_gz: Bytes,
}

/// An incremental answer like the captured one, with 5 `jti`s never sent before (so that the
/// verifier really adds them, as it would in production).
fn fresh_changes(issuer: &str) -> Bytes {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let exp = auth_core::SystemClock.now() + 3600;
    let revoked: Vec<Value> = (0..5)
        .map(|_| {
            let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            serde_json::json!({"jti": format!("replay-{k:015}"), "exp": exp})
        })
        .collect();
    let doc = serde_json::json!({"issuer": issuer, "revoked": revoked, "revoked_subjects": [],
        "revoked_keys": [], "complete": true, "full": false, "cursor": "v1-1"});
    Bytes::from(doc.to_string())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Legacy,
    NotModified,
    Incremental,
    FullGzip,
}

async fn replay_server(bodies: Captured, mode: Mode) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let b = bodies.clone();
        async move {
            let first = uri.query() == Some("since=");
            let json = [("content-type", "application/json")];
            let tag = [("etag", "W/\"k\"")];
            match mode {
                Mode::Legacy => (json, b.legacy).into_response(),
                Mode::NotModified if headers.contains_key("if-none-match") => {
                    (StatusCode::NOT_MODIFIED, tag).into_response()
                }
                Mode::Incremental if !first => {
                    (json, tag, fresh_changes(&b.issuer)).into_response()
                }
                _ => (json, tag, [("content-encoding", "gzip")], b.snapshot_gz).into_response(),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Service CPU per poll (µs) against a replay of `bodies` in `mode`. For the full snapshot, the
/// first poll of a starting verifier (made in `build()`, with its JWKS fetch).
async fn service_cpu(s: &TestServer, bodies: &Captured, mode: Mode, polls: usize) -> f64 {
    let feed = replay_server(bodies.clone(), mode).await;
    let build = || async {
        let issuer = IssuerConfig::new(&s.base)
            .jwks_uri(format!("{}/jwks", s.base))
            .revocation_feed(format!("{feed}/revocations"));
        Verifier::builder(Policy::new("https://api.bench"))
            .issuer(issuer)
            .background_refresh(false)
            .build()
            .await
            .unwrap()
    };
    let mut total = 0;
    if mode == Mode::FullGzip {
        for _ in 0..polls {
            let t = cpu_us();
            let v = build().await;
            total += cpu_us() - t;
            drop(v);
        }
    } else {
        let v = build().await;
        let t = cpu_us();
        for _ in 0..polls {
            v.refresh_revocations().await.unwrap();
        }
        total = cpu_us() - t;
    }
    total as f64 / polls as f64
}

async fn measure(n: usize) -> Vec<(Row, f64)> {
    let s = TestServer::start(Backend::Sqlite).await;
    seed(&s, n).await;
    let http = reqwest::Client::builder().no_gzip().build().unwrap();
    let legacy_url = format!("{}/revocations", s.base);
    let polls = if n >= 100_000 { 10 } else { 100 };
    let mut before = Vec::new();
    let mut bodies = Captured {
        issuer: s.base.clone(),
        ..Captured::default()
    };

    // Before: the whole list, every poll.
    let (mut cpu, mut bytes) = (0, 0);
    for _ in 0..polls {
        s.clock.advance(1);
        let t = cpu_us();
        let (status, body, ..) = raw_poll(&http, &legacy_url, None, false).await;
        cpu += cpu_us() - t;
        assert_eq!(status, 200);
        bytes = body.len();
        bodies.legacy = body;
    }
    before.push(Row {
        case: "before: whole list, no If-None-Match",
        bytes,
        idp_us: cpu as f64 / polls as f64,
    });

    // After, a starting verifier: the gzip-compressed full snapshot.
    let (mut cpu, mut bytes) = (0, 0);
    let (mut cursor, mut etag) = (String::new(), String::new());
    for _ in 0..polls {
        s.clock.advance(1);
        let t = cpu_us();
        let (status, body, tag, headers) =
            raw_poll(&http, &format!("{legacy_url}?since="), None, true).await;
        cpu += cpu_us() - t;
        assert_eq!(
            (status, &headers["content-encoding"]),
            (200, &"gzip".parse().unwrap())
        );
        bytes = body.len();
        let mut json = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut json)
            .unwrap();
        let doc: Value = serde_json::from_slice(&json).unwrap();
        cursor = doc["cursor"].as_str().unwrap().to_owned();
        etag = tag;
        bodies.snapshot_gz = body;
    }
    let full_row = Row {
        case: "after: full snapshot, gzip (start)",
        bytes,
        idp_us: cpu as f64 / polls as f64,
    };

    // After, nothing new: 304.
    let url = |c: &str| format!("{legacy_url}?since={c}");
    let (status, body, ..) = raw_poll(&http, &url(&cursor), Some(&etag), false).await;
    if status == 200 {
        let doc: Value = serde_json::from_slice(&body).unwrap();
        cursor = doc["cursor"].as_str().unwrap().to_owned();
    }
    let mut cpu = 0;
    for _ in 0..polls {
        s.clock.advance(1);
        let t = cpu_us();
        let (status, body, ..) = raw_poll(&http, &url(&cursor), Some(&etag), false).await;
        cpu += cpu_us() - t;
        assert_eq!((status, body.len()), (304, 0));
    }
    let nm_row = Row {
        case: "after: unchanged (304)",
        bytes: 0,
        idp_us: cpu as f64 / polls as f64,
    };

    // After, 5 new revocations since the last poll.
    let (mut cpu, mut bytes) = (0, 0);
    let mut k = 0;
    for _ in 0..polls {
        s.clock.advance(1);
        for _ in 0..5 {
            k += 1;
            let jti = format!("new-{k:018}");
            s.app
                .store
                .revoke_access_token(&jti, s.clock.now() + 900, None)
                .await
                .unwrap();
        }
        let t = cpu_us();
        let (status, body, tag, _) = raw_poll(&http, &url(&cursor), Some(&etag), false).await;
        cpu += cpu_us() - t;
        assert_eq!(status, 200);
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["revoked"].as_array().unwrap().len(), 5, "{doc}");
        cursor = doc["cursor"].as_str().unwrap().to_owned();
        etag = tag;
        bytes = body.len();
    }
    let inc_row = Row {
        case: "after: 5 new (incremental)",
        bytes,
        idp_us: cpu as f64 / polls as f64,
    };

    let mut rows = Vec::new();
    for (row, mode) in [
        (before.pop().unwrap(), Mode::Legacy),
        (nm_row, Mode::NotModified),
        (inc_row, Mode::Incremental),
        (full_row, Mode::FullGzip),
    ] {
        let svc = service_cpu(&s, &bodies, mode, polls).await;
        rows.push((row, svc));
    }
    let _ = s.stop().await;
    rows
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of revoked tokens"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![0, 1_000, 100_000]
    } else {
        sizes
    };
    println!(
        "| revoked tokens | poll | response body bytes | IdP CPU per poll (µs) | service CPU per poll (µs) |"
    );
    println!("|---:|---|---:|---:|---:|");
    for n in sizes {
        for (row, svc) in measure(n).await {
            println!(
                "| {n} | {} | {} | {:.0} | {:.0} |",
                row.case, row.bytes, row.idp_us, svc
            );
        }
    }
}
