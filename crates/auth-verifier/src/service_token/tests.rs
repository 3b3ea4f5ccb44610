//! The token source against a fake token endpoint served in-process (axum on a loopback port),
//! which counts requests and answers what each test sets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use auth_core::ManualClock;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::*;

const NOW: UnixTime = 1_800_000_000;

/// What the fake endpoint answers, and what it saw.
#[derive(Default)]
struct Fake {
    requests: AtomicUsize,
    /// Status and body of the next answers; `None`: a fresh token, `expires_in` 900.
    answer: Mutex<Option<(u16, Value)>>,
    /// The form of each request.
    forms: Mutex<Vec<HashMap<String, String>>>,
    /// Held by the test to keep answers back (for single flight).
    gate: tokio::sync::RwLock<()>,
    /// Signalled when a request arrives.
    arrived: tokio::sync::Notify,
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

async fn token(
    axum::extract::State(fake): axum::extract::State<Arc<Fake>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let n = fake.requests.fetch_add(1, Ordering::SeqCst) + 1;
    fake.arrived.notify_one();
    let _open = fake.gate.read().await;
    // client_secret_basic: "svc:s3cret" (form-encoded first, RFC 6749 §2.3.1).
    let basic = headers["authorization"].to_str().unwrap();
    assert_eq!(basic, "Basic c3ZjOnMzY3JldA==");
    let form: HashMap<String, String> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    fake.forms.lock().unwrap().push(form.clone());
    if let Some((status, body)) = fake.answer.lock().unwrap().clone() {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(body));
    }
    let mut answer = json!({
        "access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": 900,
        "scope": form.get("scope"),
    });
    if form["grant_type"] == TOKEN_EXCHANGE_GRANT {
        answer["issued_token_type"] = ACCESS_TOKEN_TYPE.into();
    }
    (StatusCode::OK, axum::Json(answer))
}

/// Serves the fake; returns it and its base URL.
async fn serve() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = base.clone();
    let discovery = move || {
        let doc = json!({"issuer": issuer, "token_endpoint": format!("{issuer}/token")});
        std::future::ready(axum::Json(doc))
    };
    let app = Router::new()
        .route("/token", post(token))
        .route("/.well-known/openid-configuration", get(discovery))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, base)
}

fn source(base: &str, clock: &ManualClock) -> ServiceTokenSource {
    ServiceTokenSource::builder(
        ClientAuth::secret_basic("svc", "s3cret"),
        TokenEndpoint::Url(format!("{base}/token")),
    )
    .clock(Arc::new(clock.clone()))
    .build()
    .unwrap()
}

const INV: &str = "https://inventory.internal";

#[test]
fn reuse_window() {
    let m = Duration::from_secs(60);
    assert_eq!(reuse_for(900, m), 840);
    assert_eq!(reuse_for(60, m), 30);
    assert_eq!(reuse_for(0, m), 0);
    assert_eq!(reuse_for(-5, m), 0);
}

#[tokio::test]
async fn client_credentials_are_cached_until_the_margin() {
    let (fake, base) = serve().await;
    let clock = ManualClock::new(NOW);
    let src = source(&base, &clock);
    let req = TokenRequest::client_credentials(INV, "inventory:reserve");
    let a = src.token(&req).await.unwrap();
    let b = src.token(&req).await.unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("tok-1", "tok-1"));
    assert_eq!(a.expires_at(), NOW + 900);
    assert_eq!(a.scope(), Some("inventory:reserve"));
    assert_eq!(src.fetch_count(), 1);
    let form = fake.forms.lock().unwrap()[0].clone();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["resource"], INV);
    // Another scope is another token.
    let other = TokenRequest::client_credentials(INV, "inventory:read");
    assert_eq!(src.token(&other).await.unwrap().as_str(), "tok-2");
    // 60 s before expiry the token is replaced.
    clock.advance(839);
    assert_eq!(src.token(&req).await.unwrap().as_str(), "tok-1");
    clock.advance(1);
    assert_eq!(src.token(&req).await.unwrap().as_str(), "tok-3");
    assert_eq!(fake.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_request() {
    let (fake, base) = serve().await;
    let clock = ManualClock::new(NOW);
    let src = source(&base, &clock);
    // Hold every answer back until all the callers are started.
    let gate = fake.gate.write().await;
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let src = src.clone();
            tokio::spawn(async move {
                let req = TokenRequest::exchange("user-token", NOW + 600, INV, "inventory:reserve");
                src.token(&req).await.unwrap()
            })
        })
        .collect();
    fake.arrived.notified().await;
    for _ in 0..32 {
        tokio::task::yield_now().await;
    }
    drop(gate);
    for c in callers {
        assert_eq!(c.await.unwrap().as_str(), "tok-1");
    }
    assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
    assert_eq!(src.fetch_count(), 1);
}

#[tokio::test]
async fn exchanges_are_keyed_by_subject_and_capped_by_its_expiry() {
    let (fake, base) = serve().await;
    let clock = ManualClock::new(NOW);
    let src = source(&base, &clock);
    let alice = TokenRequest::exchange("alice-token", NOW + 100, INV, "inventory:reserve");
    let bob = TokenRequest::exchange("bob-token", NOW + 900, INV, "inventory:reserve");
    let a1 = src.token(&alice).await.unwrap();
    assert_eq!(src.token(&alice).await.unwrap(), a1);
    let b1 = src.token(&bob).await.unwrap();
    assert_ne!(a1, b1);
    assert_eq!(fake.requests.load(Ordering::SeqCst), 2);
    let form = fake.forms.lock().unwrap()[0].clone();
    assert_eq!(form["grant_type"], TOKEN_EXCHANGE_GRANT);
    assert_eq!(form["subject_token"], "alice-token");
    assert_eq!(form["subject_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(form["resource"], INV);
    assert_eq!(form["scope"], "inventory:reserve");
    // Alice's token answered expires_in 900 but her own token ends at NOW + 100: never held past it.
    assert_eq!(a1.expires_at(), NOW + 100);
    clock.advance(39);
    assert_eq!(src.token(&alice).await.unwrap(), a1);
    clock.advance(1); // 60 s before the subject token expires: replaced
    let a2 = src.token(&alice).await.unwrap();
    assert_ne!(a2, a1);
    assert_eq!(src.token(&bob).await.unwrap(), b1);
    // An expired subject token is refused without a request.
    clock.advance(60);
    let before = fake.requests.load(Ordering::SeqCst);
    let err = src.token(&alice).await.unwrap_err();
    assert_eq!(err, ServiceTokenError::SubjectExpired);
    assert_eq!(fake.requests.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn a_response_without_expires_in_is_reused_briefly() {
    let (fake, base) = serve().await;
    let clock = ManualClock::new(NOW);
    let src = source(&base, &clock);
    *fake.answer.lock().unwrap() = Some((
        200,
        json!({"access_token": "short", "token_type": "bearer"}),
    ));
    let req = TokenRequest::client_credentials(INV, "");
    let t = src.token(&req).await.unwrap();
    assert_eq!(t.expires_at(), NOW + 60);
    assert!(!fake.forms.lock().unwrap()[0].contains_key("scope"));
    clock.advance(29);
    src.token(&req).await.unwrap();
    assert_eq!(src.fetch_count(), 1);
    clock.advance(1);
    src.token(&req).await.unwrap();
    assert_eq!(src.fetch_count(), 2);
}

#[tokio::test]
async fn oauth_errors_are_typed_and_not_cached() {
    let (fake, base) = serve().await;
    let clock = ManualClock::new(NOW);
    let src = source(&base, &clock);
    *fake.answer.lock().unwrap() = Some((
        400,
        json!({"error": "invalid_target", "error_description": "not for you"}),
    ));
    let req = TokenRequest::exchange("user", NOW + 600, INV, "inventory:reserve");
    let err = src.token(&req).await.unwrap_err();
    let ServiceTokenError::Refused(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((e.status, &e.code), (400, &OAuthErrorCode::InvalidTarget));
    assert_eq!(e.description.as_deref(), Some("not for you"));
    // Not cached: the next call asks again.
    *fake.answer.lock().unwrap() = Some((401, json!({"error": "invalid_client"})));
    let err = src.token(&req).await.unwrap_err();
    assert!(
        matches!(&err, ServiceTokenError::Refused(e) if e.code == OAuthErrorCode::InvalidClient)
    );
    // Not JSON at all.
    *fake.answer.lock().unwrap() = Some((503, Value::Null));
    let err = src.token(&req).await.unwrap_err();
    assert!(
        matches!(&err, ServiceTokenError::Refused(e) if e.status == 503 && e.code.as_str() == "-")
    );
    // A 200 that is not a bearer access token.
    *fake.answer.lock().unwrap() = Some((
        200,
        json!({"access_token": "x", "token_type": "N_A", "issued_token_type": ACCESS_TOKEN_TYPE}),
    ));
    assert!(matches!(
        src.token(&req).await,
        Err(ServiceTokenError::Invalid(_))
    ));
    // An exchange answer without issued_token_type (RFC 8693 §2.2.1 requires it).
    *fake.answer.lock().unwrap() = Some((
        200,
        json!({"access_token": "x", "token_type": "Bearer", "expires_in": 60}),
    ));
    assert!(matches!(
        src.token(&req).await,
        Err(ServiceTokenError::Invalid(_))
    ));
    assert_eq!(fake.requests.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn invalidation_after_a_401_fetches_anew_once() {
    let (_fake, base) = serve().await;
    let clock = ManualClock::new(NOW);
    let src = source(&base, &clock);
    let req = TokenRequest::client_credentials(INV, "inventory:reserve");
    let t1 = src.token(&req).await.unwrap();
    src.invalidate(&req, &t1).await;
    let t2 = src.token(&req).await.unwrap();
    assert_ne!(t1, t2);
    // A late invalidation of the old token leaves the new one alone.
    src.invalidate(&req, &t1).await;
    assert_eq!(src.token(&req).await.unwrap(), t2);
    assert_eq!(src.fetch_count(), 2);
}

#[tokio::test]
async fn the_token_endpoint_comes_from_discovery() {
    let (fake, base) = serve().await;
    let clock = ManualClock::new(NOW);
    let src = ServiceTokenSource::builder(
        ClientAuth::secret_basic("svc", "s3cret"),
        TokenEndpoint::Discover {
            issuer: base.clone(),
        },
    )
    .clock(Arc::new(clock.clone()))
    .build()
    .unwrap();
    let req = TokenRequest::client_credentials(INV, "inventory:reserve");
    assert_eq!(src.token(&req).await.unwrap().as_str(), "tok-1");
    assert_eq!(fake.requests.load(Ordering::SeqCst), 1);
    // Another issuer's document is refused.
    let wrong = ServiceTokenSource::builder(
        ClientAuth::secret_basic("svc", "s3cret"),
        TokenEndpoint::Discover {
            issuer: format!("{base}/other"),
        },
    )
    .build()
    .unwrap();
    assert!(matches!(
        wrong.token(&req).await,
        Err(ServiceTokenError::Discovery(_))
    ));
}

#[test]
fn secrets_stay_out_of_debug() {
    let auth = ClientAuth::secret_basic("svc", "s3cret-value");
    let src =
        ServiceTokenSource::builder(auth, TokenEndpoint::Url("https://idp.example/token".into()))
            .build()
            .unwrap();
    let token = ServiceToken {
        access_token: "eyJ-secret-token".into(),
        scope: None,
        expires_at: 0,
    };
    let req = TokenRequest::exchange("user-secret-token", 0, INV, "");
    let shown = format!("{src:?} {token:?} {req:?}");
    assert!(shown.contains("svc"), "{shown}");
    for secret in ["s3cret-value", "eyJ-secret-token", "user-secret-token"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    // http to anything but loopback is refused.
    let plain = ServiceTokenSource::builder(
        ClientAuth::secret_basic("svc", "x"),
        TokenEndpoint::Url("http://idp.example/token".into()),
    )
    .build();
    assert!(matches!(plain, Err(ServiceTokenError::Config(_))));
}
