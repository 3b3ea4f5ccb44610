//! The incremental revocation feed at the IdP: `GET /revocations?since=<cursor>` answers only what
//! was revoked since the cursor (and the next cursor), a 304 when nothing was, the whole list
//! (`"full": true`) for an empty, unknown or too old cursor, gzip-compressed when the client accepts
//! it; a request without `since` keeps today's shape. A verifier polls it incrementally.

use std::io::Read;
use std::time::{Duration, Instant};

use auth_core::{Alg, Clock};
use auth_verifier::{IssuerConfig, Policy, Verifier, VerifyError};
use serde_json::Value;
use tests::{Backend, TestServer, basic};

use crate::verifier::on_clock;

tests::on_both_backends!(
    changes_come_alone_and_nothing_new_is_a_304,
    a_cursor_unknown_or_too_old_gets_the_whole_list,
    whole_lists_are_gzipped_for_clients_that_accept_it,
    a_verifier_polls_incrementally_from_the_discovered_feed,
);

const AUD: &str = "https://api.test";

/// One answer: status, `ETag`, body (`Null` for a 304).
pub struct Answer {
    pub status: u16,
    pub etag: String,
    pub body: Value,
}

/// `GET /revocations?since=<since>` with `If-None-Match` when given.
pub async fn poll(s: &TestServer, since: &str, inm: Option<&str>) -> Answer {
    let mut req = s.http.get(format!("{}/revocations?since={since}", s.base));
    if let Some(etag) = inm {
        req = req.header("if-none-match", etag);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body = match status {
        200 => res.json().await.unwrap(),
        _ => Value::Null,
    };
    Answer { status, etag, body }
}

/// The `jti`s an answer lists.
pub fn jtis(body: &Value) -> Vec<String> {
    body["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["jti"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `since` until `done` holds for the answer, for at most 10 s (a rendering is reused for a
/// second, and on PostgreSQL a cursor may stay below a transaction that is still running
/// elsewhere on the cluster for a moment).
async fn poll_until(
    s: &TestServer,
    since: &str,
    inm: Option<&str>,
    done: impl Fn(&Answer) -> bool,
) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = poll(s, since, inm).await;
        if done(&a) {
            return a;
        }
        assert!(Instant::now() < deadline, "no such answer: {}", a.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls from `cursor` (moving it with each answer) until an incremental answer lists nothing, and
/// returns the cursor then. On PostgreSQL a cursor is the `xmin` of a snapshot of the whole cluster:
/// while a transaction of another database that holds a transaction id (another test's) still
/// runs, a cursor stays below it, so answers repeat rows committed after it began (rows may come
/// twice, by design), or are the whole list again once more than a replica keeps are above it.
/// Once an incremental answer lists nothing, every row committed so far is below the cursor and
/// never comes again.
pub async fn settled(s: &TestServer, cursor: &str) -> String {
    let mut cursor = cursor.to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = poll(s, &cursor, None).await;
        assert_eq!(a.status, 200);
        cursor = a.body["cursor"].as_str().unwrap().to_owned();
        if a.body["full"] == false && jtis(&a.body).is_empty() {
            return cursor;
        }
        assert!(Instant::now() < deadline, "never settled: {}", a.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn revoked_token(s: &TestServer, client: &(String, String)) -> String {
    let token = s.cc_access_token(&client.0, &client.1).await;
    let res = s
        .http
        .post(format!("{}/revoke", s.base))
        .header("authorization", basic(&client.0, &client.1))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    tests::decode_segment(&token, 1)["jti"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn changes_come_alone_and_nothing_new_is_a_304(backend: Backend) {
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let first = revoked_token(&s, &client).await;
    let start = poll(&s, "", None).await;
    assert_eq!(start.status, 200);
    assert_eq!(start.body["full"], true);
    assert_eq!(jtis(&start.body), std::slice::from_ref(&first));
    assert!(start.etag.starts_with("W/"), "{}", start.etag);
    let cursor = settled(&s, start.body["cursor"].as_str().unwrap()).await;

    let second = revoked_token(&s, &client).await;
    let changes = poll_until(&s, &cursor, Some(&start.etag), |a| {
        a.status == 200 && jtis(&a.body).contains(&second)
    })
    .await;
    assert_eq!(changes.body["full"], false);
    assert_eq!(changes.body["complete"], true);
    assert_eq!(
        jtis(&changes.body),
        std::slice::from_ref(&second),
        "only what changed since the cursor: {}",
        changes.body
    );
    let cursor = changes.body["cursor"].as_str().unwrap().to_owned();
    // Once the cursor is past the second revocation, nothing is new: 304.
    let mut cursor = cursor;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = poll(&s, &cursor, Some(&changes.etag)).await;
        if a.status == 304 {
            assert_eq!(a.etag, changes.etag);
            break;
        }
        assert_eq!(a.status, 200);
        assert!(jtis(&a.body).iter().all(|j| *j == second), "{}", a.body);
        cursor = a.body["cursor"].as_str().unwrap().to_owned();
        assert!(Instant::now() < deadline, "never a 304");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Without the ETag there is no 304: an answer listing nothing, with a cursor.
    let a = poll(&s, &cursor, None).await;
    assert_eq!((a.status, jtis(&a.body).len()), (200, 0));
    // Without `since`, today's shape.
    let legacy: Value = s.get("/revocations").await.json().await.unwrap();
    assert!(legacy.get("full").is_none() && legacy.get("cursor").is_none());
    assert_eq!(jtis(&legacy).len(), 2);
}

async fn a_cursor_unknown_or_too_old_gets_the_whole_list(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let first = revoked_token(&s, &client).await;
    for unknown in ["nonsense", "v1-", "v1-99999999999999", "v2-1"] {
        let a = poll(&s, unknown, None).await;
        assert_eq!(a.body["full"], true, "{unknown}");
        assert_eq!(jtis(&a.body), std::slice::from_ref(&first));
    }
    let res = s.get("/revocations?since=a&since=b").await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let old = poll(&s, "", None).await.body["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // More revocations than a replica keeps for cursors (8,192): the old cursor is too old.
    let exp = s.clock.now() + 3600;
    let sql = match backend {
        Backend::Postgres => format!(
            "INSERT INTO revoked_access_tokens (jti, expires_at) \
             SELECT 'bulk-' || g, {exp} FROM generate_series(1, 9000) g"
        ),
        Backend::Sqlite => format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 9000) \
             INSERT INTO revoked_access_tokens (jti, expires_at) SELECT 'bulk-' || n, {exp} FROM g"
        ),
    };
    s.app.store.conn().execute_unprepared(&sql).await.unwrap();
    let a = poll_until(&s, &old, None, |a| a.body["full"] == true).await;
    assert_eq!(jtis(&a.body).len(), 9001, "the whole list");
    assert_eq!(a.body["complete"], true);
    // Its cursor is recent enough for the changes alone.
    let fresh = settled(&s, a.body["cursor"].as_str().unwrap()).await;
    let second = revoked_token(&s, &client).await;
    let a = poll_until(&s, &fresh, None, |a| jtis(&a.body).contains(&second)).await;
    assert_eq!(a.body["full"], false);
    assert_eq!(jtis(&a.body), std::slice::from_ref(&second));
}

async fn whole_lists_are_gzipped_for_clients_that_accept_it(backend: Backend) {
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let jti = revoked_token(&s, &client).await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    for path in ["/revocations?since=", "/revocations"] {
        let url = format!("{}{path}", s.base);
        let res = raw
            .get(&url)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(res.headers()["vary"], "accept-encoding");
        let zipped_etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let zipped = res.bytes().await.unwrap();
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&zipped[..])
            .read_to_end(&mut json)
            .unwrap();
        let body: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(jtis(&body), std::slice::from_ref(&jti), "{path}");
        // Identity for a client that does not accept gzip, the same document.
        let res = raw.get(&url).send().await.unwrap();
        assert!(res.headers().get("content-encoding").is_none());
        let plain_etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let plain: Value = res.json().await.unwrap();
        assert_eq!(plain, body);
        if path == "/revocations" {
            assert_ne!(zipped_etag, plain_etag, "a strong ETag names one encoding");
            let again = raw
                .get(&url)
                .header("accept-encoding", "gzip")
                .header("if-none-match", &zipped_etag)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 304);
        }
    }
}

async fn a_verifier_polls_incrementally_from_the_discovered_feed(backend: Backend) {
    let s = TestServer::start(backend).await;
    let client = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let builder =
        Verifier::builder(Policy::new(AUD).require_fresh_revocations(Duration::from_secs(60)))
            .issuer(IssuerConfig::auth_server(&s.base));
    let v = on_clock(builder, &s.clock).build().await.unwrap();
    let (revoked, kept) = (
        s.cc_access_token(&client.0, &client.1).await,
        s.cc_access_token(&client.0, &client.1).await,
    );
    assert!(
        v.verify(&revoked).await.is_ok(),
        "the first poll was complete"
    );
    let res = s
        .http
        .post(format!("{}/revoke", s.base))
        .header("authorization", basic(&client.0, &client.1))
        .form(&[("token", revoked.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    v.refresh_revocations().await.unwrap();
    assert_eq!(v.verify(&revoked).await.err(), Some(VerifyError::Revoked));
    assert!(v.verify(&kept).await.is_ok());
    // Polls that bring nothing new (incremental answers, then 304s) keep the feed fresh.
    for _ in 0..3 {
        s.clock.advance(40);
        v.refresh_revocations().await.unwrap();
        assert!(v.verify(&kept).await.is_ok());
    }
    assert_eq!(v.verify(&revoked).await.err(), Some(VerifyError::Revoked));
}
