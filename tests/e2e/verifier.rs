//! The verifier library against the real IdP: one JWKS fetch for many requests, rotation under
//! traffic, an IdP outage up to `max_stale`, a flood of random kids, multiple issuers, the cache.
//! Storage is not the subject here, so these run on SQLite only.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Alg, Clock};
use auth_verifier::axum::{Authenticated, RequireBearer, RequireScope};
use auth_verifier::{IssuerConfig, Policy, Verifier, VerifierBuilder, VerifyError};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tests::{Backend, TestServer};
use tower::ServiceExt;

pub const AUD: &str = "https://api.test";

/// A verifier for `s`'s issuer, on `s`'s clock, with no background task (tests drive refreshes).
pub async fn verifier_for(
    s: &TestServer,
    f: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> Verifier {
    let issuer = IssuerConfig::new(&s.base);
    f(on_clock(
        Verifier::builder(Policy::new(AUD)).issuer(issuer),
        &s.clock,
    ))
    .build()
    .await
    .unwrap()
}

/// `b` on `clock`, with no background task (tests drive refreshes and polls).
pub fn on_clock(b: VerifierBuilder, clock: &tests::ManualClock) -> VerifierBuilder {
    b.clock(Arc::new(clock.clone())).background_refresh(false)
}

/// A server, a verifier of its tokens (cache on), and the credentials of its client `svc` (ES256,
/// scope `a`, audience [`AUD`]).
async fn server_verifier_and_client() -> (TestServer, Verifier, (String, String)) {
    let s = TestServer::start(Backend::Sqlite).await;
    let es = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let v = verifier_for(&s, |b| b).await;
    (s, v, es)
}

pub async fn token(s: &TestServer, id: &str, secret: &str) -> String {
    s.cc_token(id, secret, "").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A protected service, as a resource service would build it.
fn service(v: &Verifier) -> Router {
    Router::new()
        .route(
            "/whoami",
            get(|Authenticated(c): Authenticated| async move { c.sub.clone().unwrap_or_default() }),
        )
        .layer(RequireBearer::new(v.clone()))
}

async fn call(app: &Router, token: &str) -> StatusCode {
    call_path(app, "/whoami", token).await
}

async fn call_path(app: &Router, path: &str, token: &str) -> StatusCode {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

/// `RequireScope` route layers inside one `RequireBearer`: each route its own scope (403 without
/// it); outside any `RequireBearer`, a route fails closed (401).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_routes_inside_one_bearer_layer() {
    let (s, v, es) = server_verifier_and_client().await;
    let t = token(&s, &es.0, &es.1).await;
    let ok = || get(|| async { "ok" });
    let scoped = |scope| {
        Router::new()
            .route("/", ok())
            .route_layer(RequireScope::new(scope))
    };
    let app = Router::new()
        .nest("/a", scoped("a"))
        .nest("/b", scoped("b"))
        .layer(RequireBearer::new(v.clone()));
    for _ in 0..2 {
        // The second time, a cache hit.
        assert_eq!(call_path(&app, "/a", &t).await, StatusCode::OK);
        assert_eq!(call_path(&app, "/b", &t).await, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        call_path(&app, "/a", "x.y.z").await,
        StatusCode::UNAUTHORIZED
    );
    let unguarded = scoped("a");
    assert_eq!(
        call_path(&unguarded, "/", &t).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_cost_one_jwks_fetch() {
    let s = TestServer::start(Backend::Sqlite).await;
    let es = s.client("svc-es", Alg::Es256, &["a"], &[AUD]).await;
    let rs = s.client("svc-rs", Alg::Rs256, &["a"], &[AUD]).await;
    // No verified-token cache: every request is a full verification.
    let v = verifier_for(&s, |b| b.token_cache(0)).await;
    assert_eq!(s.jwks_hit_count(), 1, "one fetch when the verifier starts");
    let tokens = [token(&s, &es.0, &es.1).await, token(&s, &rs.0, &rs.1).await];
    let app = service(&v);
    for i in 0..10_000 {
        assert_eq!(call(&app, &tokens[i % 2]).await, StatusCode::OK);
    }
    assert_eq!(
        s.jwks_hit_count(),
        1,
        "10,000 requests, still one JWKS fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_under_traffic_fails_no_request() {
    let s = TestServer::start(Backend::Sqlite).await;
    let es = s.client("svc-es", Alg::Es256, &["a"], &[AUD]).await;
    let rs = s.client("svc-rs", Alg::Rs256, &["a"], &[AUD]).await;
    let v = verifier_for(&s, |b| b).await;
    let app = service(&v);
    let store = v.issuer_keys(&s.base).unwrap().clone();
    let old_kids = store.kids();

    // An operator rotates; the new keys are published now and sign after the publish lead.
    s.app.keys.rotate(&Alg::ALL).await.unwrap();
    let lead = s.app.config.keys.publish_lead_secs;
    let (mut ok, mut refreshes, mut signed_by_new) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut t = 0;
    while t <= lead + 1200 {
        s.clock.advance(30);
        t += 30;
        // What each side's background job does on its schedule.
        if t % s.app.config.keys.refresh_interval_secs == 0 {
            s.app.keys.maintain().await.unwrap();
        }
        if store.refresh_due() {
            v.refresh().await;
            refreshes += 1;
        }
        for (id, secret) in [&es, &rs] {
            let tok = token(&s, id, secret).await;
            let kid = tests::decode_segment(&tok, 0)["kid"]
                .as_str()
                .unwrap()
                .to_owned();
            if !old_kids.contains(&kid) {
                signed_by_new += 1;
            }
            match call(&app, &tok).await {
                StatusCode::OK => ok += 1,
                other => failures.push((t, kid, other)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failed requests during rotation: {failures:?}"
    );
    assert!(
        signed_by_new > 0 && ok > signed_by_new,
        "traffic spanned the switch to the new keys"
    );
    // Every fetch was a scheduled refresh: the new kids were known before they signed anything.
    assert_eq!(store.fetch_count(), 1 + refreshes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_outage_is_survived_until_max_stale_then_fails_closed() {
    let s =
        TestServer::start_with(Backend::Sqlite, |c| c.tokens.access_token_ttl_secs = 86_400).await;
    let es = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let max_stale = 3600;
    let v = verifier_for(&s, |b| b.max_stale(Duration::from_secs(max_stale))).await;
    let t = token(&s, &es.0, &es.1).await;
    assert!(v.verify(&t).await.is_ok());
    let max_age = s.app.config.jwks_max_age_secs();
    let store = v.issuer_keys(&s.base).unwrap().clone();

    let (url, name, clock, addr) = s.stop().await;
    clock.advance(max_age + 10);
    assert!(store.refresh().await.is_err(), "the IdP is down");
    assert!(
        v.verify(&t).await.is_ok(),
        "stale keys still serve within max_stale"
    );
    clock.advance(i64::try_from(max_stale).unwrap() - 20);
    assert!(v.verify(&t).await.is_ok());
    clock.advance(20);
    assert_eq!(
        v.verify(&t).await.err(),
        Some(VerifyError::KeysStale),
        "fails closed after max_stale"
    );

    // The IdP comes back (same port, same database): the verifier recovers by itself on its next refresh.
    let s = TestServer::start_at(&addr, &url, &name, clock, |c| {
        c.tokens.access_token_ttl_secs = 86_400
    })
    .await;
    assert!(store.refresh().await.is_ok());
    assert!(v.verify(&t).await.is_ok());
    assert!(v.verify(&token(&s, &es.0, &es.1).await).await.is_ok());
}

/// A token with a random kid: unknown everywhere.
fn random_kid_token(iss: &str) -> String {
    let kid = auth_server::domain::random::token(12);
    let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{kid}"}}"#));
    let p = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"iss":"{iss}","aud":"{AUD}","exp":9999999999,"iat":1,"sub":"s","client_id":"c","jti":"{kid}"}}"#
    ));
    let sig = URL_SAFE_NO_PAD.encode([7u8; 64]);
    format!("{h}.{p}.{sig}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kid_flood_costs_at_most_one_fetch_per_cooldown() {
    let s = TestServer::start(Backend::Sqlite).await;
    let es = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let v = verifier_for(&s, |b| b.refetch_cooldown(Duration::from_secs(30))).await;
    let start = s.jwks_hit_count();
    for _ in 0..500 {
        assert_eq!(
            v.verify(&random_kid_token(&s.base)).await.err(),
            Some(VerifyError::UnknownKid)
        );
    }
    assert!(
        s.jwks_hit_count() - start <= 1,
        "{} fetches",
        s.jwks_hit_count() - start
    );
    // The same random kid again: remembered, no fetch even after the cooldown.
    let repeated = random_kid_token(&s.base);
    let _ = v.verify(&repeated).await;
    s.clock.advance(31);
    for _ in 0..500 {
        let _ = v.verify(&random_kid_token(&s.base)).await;
    }
    assert!(
        s.jwks_hit_count() - start <= 2,
        "{} fetches over two cooldowns",
        s.jwks_hit_count() - start
    );

    // A real rotation during the flood still gets through: the key activates, the flood goes on,
    // and the real token verifies.
    s.app.keys.rotate(&[Alg::Es256]).await.unwrap();
    s.clock.advance(s.app.config.keys.publish_lead_secs);
    for _ in 0..200 {
        let _ = v.verify(&random_kid_token(&s.base)).await;
    }
    let real = token(&s, &es.0, &es.1).await;
    assert!(v.verify(&real).await.is_ok());
    assert!(s.jwks_hit_count() - start <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuers_are_routed_by_exact_iss() {
    let a = TestServer::start(Backend::Sqlite).await;
    let b = TestServer::start(Backend::Sqlite).await;
    let ca = a.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let cb = b.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let v = verifier_for(&a, |x| x.issuer(IssuerConfig::new(&b.base))).await;
    assert_eq!(
        v.verify(&token(&a, &ca.0, &ca.1).await).await.unwrap().iss,
        a.base
    );
    assert_eq!(
        v.verify(&token(&b, &cb.0, &cb.1).await).await.unwrap().iss,
        b.base
    );

    let only_a = verifier_for(&a, |x| x).await;
    let (hits_a, hits_b) = (a.jwks_hit_count(), b.jwks_hit_count());
    let from_b = token(&b, &cb.0, &cb.1).await;
    assert_eq!(
        only_a.verify(&from_b).await.err(),
        Some(VerifyError::UntrustedIssuer)
    );
    assert_eq!(
        (a.jwks_hit_count(), b.jwks_hit_count()),
        (hits_a, hits_b),
        "no fetch for an unknown issuer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_verifications_still_honour_expiry_and_revocation() {
    let (s, v, es) = server_verifier_and_client().await;
    let t1 = token(&s, &es.0, &es.1).await;
    let t2 = token(&s, &es.0, &es.1).await;
    let c1 = v.verify(&t1).await.unwrap();
    assert!(
        Arc::ptr_eq(&c1, &v.verify(&t1).await.unwrap()),
        "second verification is a cache hit"
    );
    v.revoke_jti(c1.jti.as_deref().unwrap(), c1.exp);
    assert_eq!(v.verify(&t1).await.err(), Some(VerifyError::Revoked));
    assert!(v.verify(&t2).await.is_ok());
    v.revoke_subject_before("svc", s.clock.now() + 1);
    assert_eq!(v.verify(&t2).await.err(), Some(VerifyError::Revoked));
    s.clock.advance(1);
    let t3 = token(&s, &es.0, &es.1).await;
    assert!(
        v.verify(&t3).await.is_ok(),
        "tokens issued after the cutoff are fine"
    );
    s.clock
        .advance(s.app.config.tokens.access_token_ttl_secs + 31);
    assert_eq!(
        v.verify(&t3).await.err(),
        Some(VerifyError::Expired),
        "a cache hit past exp is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_goes_away_cannot_cancel_the_unknown_kid_refetch() {
    let s = TestServer::start(Backend::Sqlite).await;
    let v = verifier_for(&s, |b| b.token_cache(0)).await;
    let store = v.issuer_keys(&s.base).unwrap().clone();
    // A new key is published (not yet signing) after the verifier fetched the JWKS.
    s.app.keys.rotate(&[Alg::Es256]).await.unwrap();
    let snap = s.app.keys.ring().snapshot();
    let pending = snap
        .keys
        .iter()
        .find(|k| !store.kids().contains(&k.kid))
        .unwrap()
        .clone();
    let signer = pending.signer.clone();
    let now = s.clock.now();
    let h = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}"}}"#,
        pending.kid
    ));
    let p = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"iss":"{}","aud":"{AUD}","exp":{},"iat":{now},"sub":"s","client_id":"c","jti":"j-pending"}}"#,
        s.base,
        now + 300
    ));
    let input = format!("{h}.{p}");
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signer.sign(input.as_bytes()).unwrap())
    );

    // The first request with the new kid starts the refetch and is then dropped (client gone). The
    // IdP answers the JWKS slowly, so the request is certainly still waiting when it is dropped.
    s.jwks_delay_ms
        .store(300, std::sync::atomic::Ordering::SeqCst);
    let hits = s.jwks_hit_count();
    {
        let mut fut = Box::pin(v.verify(&token));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    // The fetch completes anyway: the kid becomes known without anyone waiting for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !store.kids().contains(&pending.kid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refetch was cancelled with its caller"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(s.jwks_hit_count(), hits + 1);
    assert!(
        v.verify(&token).await.is_ok(),
        "no second fetch needed, and no cooldown wasted"
    );
    assert_eq!(s.jwks_hit_count(), hits + 1);
}
