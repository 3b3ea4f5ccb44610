//! Polls against a scripted loopback issuer: what the verifier sends (`since`, `If-None-Match`) and
//! what it makes of each answer (304, changes, a new full list, a gzip bomb), and the JWKS's
//! conditional refresh.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::ManualClock;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::test_support::{TestIssuer, TestKey};
use crate::{IssuerConfig, Policy, Verifier, VerifyError};

const AUD: &str = "https://api.example";
const START: i64 = 1_900_000_000;

/// What the issuer saw: path and query, and `If-None-Match`.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;
/// Answers a request (path and query, `If-None-Match`) with status, headers and body.
type Script = Arc<dyn Fn(&str, Option<&str>) -> Response + Send + Sync>;

struct Idp {
    iss: String,
    signer: TestKey,
    seen: Seen,
}

fn json_response(status: u16, headers: &[(&'static str, &str)], body: Vec<u8>) -> Response {
    let mut res = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (k, v) in headers {
        res.headers_mut().insert(*k, v.parse().unwrap());
    }
    res
}

impl Idp {
    /// An issuer whose `/jwks` and discovery are fixed, and whose other paths `script` answers.
    async fn start(discovery_feed: Option<&str>, script: Script) -> Idp {
        let TestIssuer {
            listener,
            iss,
            jwks,
            key: signer,
        } = TestIssuer::new().await;
        let mut discovery = json!({"issuer": iss, "jwks_uri": format!("{iss}/jwks")});
        if let Some(path) = discovery_feed {
            discovery["revocation_feed_endpoint"] = json!(format!("{iss}{path}"));
        }
        let discovery = discovery.to_string();
        let seen: Seen = Arc::default();
        let log = Arc::clone(&seen);
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let inm = headers
                .get("if-none-match")
                .map(|v| v.to_str().unwrap().to_owned());
            let pq = uri.path_and_query().map(|p| p.as_str().to_owned());
            let pq = pq.unwrap_or_default();
            log.lock().unwrap().push((pq.clone(), inm.clone()));
            let res = match uri.path() {
                "/.well-known/openid-configuration" => {
                    json_response(200, &[], discovery.clone().into_bytes())
                }
                "/jwks" if inm.as_deref() == Some("\"j1\"") => json_response(
                    304,
                    &[("etag", "\"j1\""), ("cache-control", "max-age=600")],
                    vec![],
                ),
                "/jwks" => json_response(
                    200,
                    &[("etag", "\"j1\""), ("cache-control", "max-age=100")],
                    jwks.clone().into_bytes(),
                ),
                _ => script(&pq, inm.as_deref()),
            };
            async move { res }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Idp { iss, signer, seen }
    }

    fn token(&self, jti: &str) -> String {
        let claims = json!({"iss": self.iss, "sub": "s", "aud": AUD, "exp": START + 3600,
            "iat": START, "jti": jti, "client_id": "c"});
        self.signer.access_token(&claims)
    }

    async fn verifier(&self, issuer: IssuerConfig, clock: &ManualClock) -> Verifier {
        let policy = Policy::new(AUD).require_fresh_revocations(Duration::from_secs(60));
        Verifier::builder(policy)
            .issuer(issuer)
            .clock(Arc::new(clock.clone()))
            .background_refresh(false)
            .build()
            .await
            .unwrap()
    }

    /// The feed requests seen (not discovery or JWKS).
    fn feed_requests(&self) -> Vec<(String, Option<String>)> {
        let seen = self.seen.lock().unwrap().clone();
        seen.into_iter()
            .filter(|(p, _)| !p.starts_with("/jwks") && !p.starts_with("/.well-known"))
            .collect()
    }
}

fn feed(iss: &str, revoked: &[&str], full: bool, cursor: &str) -> Vec<u8> {
    let revoked: Vec<Value> = revoked
        .iter()
        .map(|j| json!({"jti": j, "exp": START + 3600}))
        .collect();
    json!({"issuer": iss, "revoked": revoked, "revoked_subjects": [], "revoked_keys": [],
        "complete": true, "full": full, "cursor": cursor})
    .to_string()
    .into_bytes()
}

/// Answers from a list, one per request, the last one repeated.
fn scripted(
    iss: &Arc<Mutex<String>>,
    answers: Vec<(u16, Vec<&'static str>, bool, &'static str)>,
) -> Script {
    let (iss, next) = (Arc::clone(iss), Arc::new(Mutex::new(0usize)));
    Arc::new(move |_, _| {
        let mut n = next.lock().unwrap();
        let (status, revoked, full, cursor) = answers[(*n).min(answers.len() - 1)].clone();
        *n += 1;
        let etag = format!("W/\"{cursor}\"");
        let body = match status {
            200 => feed(&iss.lock().unwrap(), &revoked, full, cursor),
            _ => vec![],
        };
        json_response(status, &[("etag", &etag)], body)
    })
}

#[tokio::test]
async fn changes_apply_a_304_is_a_complete_poll_and_a_full_answer_resets_the_cursor() {
    let iss = Arc::new(Mutex::new(String::new()));
    let script = scripted(
        &iss,
        vec![
            (200, vec!["a"], true, "v1-1"),
            (200, vec!["b"], false, "v1-2"),
            (304, vec![], false, "v1-2"),
            (200, vec!["c"], true, "v1-9"),
            (304, vec![], false, "v1-9"),
        ],
    );
    let idp = Idp::start(Some("/feed"), script).await;
    *iss.lock().unwrap() = idp.iss.clone();
    let clock = ManualClock::new(START);
    let v = idp
        .verifier(IssuerConfig::auth_server(&idp.iss), &clock)
        .await;
    assert!(matches!(
        v.verify(&idp.token("a")).await,
        Err(VerifyError::Revoked)
    ));
    assert!(v.verify(&idp.token("b")).await.is_ok());
    v.refresh_revocations().await.unwrap();
    assert!(matches!(
        v.verify(&idp.token("b")).await,
        Err(VerifyError::Revoked)
    ));
    // 50 s later a 304 renews the freshness: 50 s after that the feed is still fresh.
    clock.advance(50);
    v.refresh_revocations().await.unwrap();
    clock.advance(50);
    assert!(
        v.verify(&idp.token("ok")).await.is_ok(),
        "the 304 was a complete poll"
    );
    v.refresh_revocations().await.unwrap(); // the IdP lost the cursor: the whole list
    assert!(matches!(
        v.verify(&idp.token("c")).await,
        Err(VerifyError::Revoked)
    ));
    assert!(
        matches!(v.verify(&idp.token("a")).await, Err(VerifyError::Revoked)),
        "kept"
    );
    v.refresh_revocations().await.unwrap();
    let sent: Vec<(String, Option<String>)> = idp.feed_requests();
    let want = [
        ("/feed?since=", None),
        ("/feed?since=v1-1", Some("W/\"v1-1\"")),
        ("/feed?since=v1-2", Some("W/\"v1-2\"")),
        ("/feed?since=v1-2", Some("W/\"v1-2\"")),
        ("/feed?since=v1-9", Some("W/\"v1-9\"")),
    ];
    let want: Vec<(String, Option<String>)> = want
        .iter()
        .map(|(p, e)| ((*p).to_owned(), e.map(str::to_owned)))
        .collect();
    assert_eq!(
        sent, want,
        "the feed URL from discovery, the cursor and the ETag sent back"
    );
}

#[tokio::test]
async fn an_incomplete_answer_asks_for_everything_again() {
    let iss = Arc::new(Mutex::new(String::new()));
    let i = Arc::clone(&iss);
    let script: Script = Arc::new(move |_, _| {
        let mut doc: Value =
            serde_json::from_slice(&feed(&i.lock().unwrap(), &["a"], true, "v1-3")).unwrap();
        doc["complete"] = json!(false);
        json_response(200, &[("etag", "W/\"x\"")], doc.to_string().into_bytes())
    });
    let idp = Idp::start(None, script).await;
    *iss.lock().unwrap() = idp.iss.clone();
    let clock = ManualClock::new(START);
    let config = IssuerConfig::new(&idp.iss).revocation_feed(format!("{}/r?x=1", idp.iss));
    let v = idp.verifier(config, &clock).await;
    v.refresh_revocations().await.unwrap();
    assert!(matches!(
        v.verify(&idp.token("z")).await,
        Err(VerifyError::RevocationsStale)
    ));
    let sent = idp.feed_requests();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .all(|(p, e)| p == "/r?x=1&since=" && e.is_none()),
        "{sent:?}"
    );
}

#[tokio::test]
async fn without_a_feed_in_discovery_polls_fail_clearly_and_fresh_revocations_fail_closed() {
    let script: Script = Arc::new(|_, _| json_response(404, &[], vec![]));
    let idp = Idp::start(None, script).await;
    let clock = ManualClock::new(START);
    let v = idp
        .verifier(IssuerConfig::auth_server(&idp.iss), &clock)
        .await;
    let err = v.refresh_revocations().await.unwrap_err().to_string();
    assert!(err.contains("revocation_feed_endpoint"), "{err}");
    assert!(matches!(
        v.verify(&idp.token("z")).await,
        Err(VerifyError::RevocationsStale)
    ));
    assert!(idp.feed_requests().is_empty(), "no URL was guessed");
}

#[tokio::test]
async fn a_gzip_bomb_is_cut_at_the_decoded_size_cap() {
    // 64 MiB of JSON whitespace, a few dozen KiB compressed.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&spaces).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < super::MAX_FEED_BYTES / 16);
    let script: Script =
        Arc::new(move |_, _| json_response(200, &[("content-encoding", "gzip")], bomb.clone()));
    let idp = Idp::start(Some("/feed"), script).await;
    let clock = ManualClock::new(START);
    let v = idp
        .verifier(IssuerConfig::auth_server(&idp.iss), &clock)
        .await;
    assert_eq!(
        v.refresh_revocations().await,
        Err(crate::FetchError::TooLarge(super::MAX_FEED_BYTES))
    );
}

#[tokio::test]
async fn the_jwks_is_asked_with_if_none_match_and_a_304_renews_its_lifetime() {
    let script: Script = Arc::new(|_, _| json_response(404, &[], vec![]));
    let idp = Idp::start(None, script).await;
    let clock = ManualClock::new(START);
    let config = IssuerConfig::new(&idp.iss).jwks_uri(format!("{}/jwks", idp.iss));
    let v = Verifier::builder(Policy::new(AUD))
        .issuer(config)
        .clock(Arc::new(clock.clone()))
        .background_refresh(false)
        .build()
        .await
        .unwrap();
    let keys = v.issuer_keys(&idp.iss).unwrap();
    assert!(!keys.refresh_due());
    clock.advance(90); // past 80% of max-age=100
    assert!(keys.refresh_due());
    keys.refresh().await.unwrap();
    assert!(
        !keys.refresh_due(),
        "the 304's max-age=600 renewed the keys"
    );
    clock.advance(400);
    assert!(!keys.refresh_due());
    assert_eq!(keys.kids(), ["k1"]);
    assert!(v.verify(&idp.token("t")).await.is_ok());
    let jwks: Vec<Option<String>> = idp
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p == "/jwks")
        .map(|(_, e)| e.clone())
        .collect();
    assert_eq!(jwks, [None, Some("\"j1\"".to_owned())]);
}
