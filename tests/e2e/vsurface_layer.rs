//! auth-verifier's service-facing surface against the real IdP's tokens: the generic tower layer
//! over a plain `tower::service_fn` (no axum), typed claims, optional authentication, several
//! audiences, RFC 9068 strictness and the maximum lifetime. Storage is not the subject here, so
//! these run on SQLite only.

use std::convert::Infallible;
use std::time::Duration;

use auth_core::Alg;
use auth_core::claims::AccessTokenClaims as Caller;
use auth_verifier::layer::{Authenticate, Authenticated, TokenSource};
use auth_verifier::{IssuerConfig, Policy, Verifier, VerifyError};
use axum::http::{Request, Response, StatusCode};
use tests::{Backend, TestServer};
use tower::{Layer, ServiceExt};

use crate::verifier::{AUD, on_clock, token};

async fn verifier(s: &TestServer, policy: Policy) -> Verifier {
    let b = Verifier::builder(policy).issuer(IssuerConfig::new(&s.base));
    on_clock(b, &s.clock).build().await.unwrap()
}

async fn whoami(req: Request<String>) -> Result<Response<String>, Infallible> {
    let body = match req.extensions().get::<Authenticated<Caller>>() {
        // The IdP's own typed claims (auth-core's RFC 9068 type) as the service's custom claims.
        Some(Authenticated(v)) => {
            let scope = v.custom().scope.as_deref().unwrap_or_default();
            format!("{}:{scope}", v.custom().client_id)
        }
        None => "anonymous".into(),
    };
    Ok(Response::new(body))
}

fn get(header: Option<(&str, String)>) -> Request<String> {
    let mut req = Request::get("/whoami");
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.body(String::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generic_layer_serves_a_plain_http_service_with_typed_claims() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (id, secret) = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let t = token(&s, &id, &secret).await;
    let v = verifier(&s, Policy::new(AUD)).await;
    let svc = Authenticate::with_claims::<Caller>(v.clone())
        .scope("a")
        .check(|c| c.custom().client_id == c.client_id.as_deref().unwrap_or_default())
        .layer(tower::service_fn(whoami));
    for _ in 0..2 {
        // In full, then a cache hit.
        let res = svc
            .clone()
            .oneshot(get(Some(("authorization", format!("Bearer {t}")))));
        let res = res.await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.body(), &format!("{id}:a"));
    }
    let res = svc.clone().oneshot(get(None)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");

    // Optional, from a cookie: anonymous without it, refused with a bad one.
    let optional = Authenticate::with_claims::<Caller>(v)
        .optional()
        .token_source(TokenSource::cookie("at"))
        .layer(tower::service_fn(whoami));
    let res = optional.clone().oneshot(get(None)).await.unwrap();
    assert_eq!(
        (res.status(), res.body().as_str()),
        (StatusCode::OK, "anonymous")
    );
    let cookie = Some(("cookie", format!("at={t}")));
    let res = optional.clone().oneshot(get(cookie)).await.unwrap();
    assert_eq!(res.body(), &format!("{id}:a"));
    // A signature character changed well inside the signature (the last one may carry only
    // padding bits, which a decoder ignores).
    let at = t.len() - 10;
    let other = if &t[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("at={}{other}{}", &t[..at], &t[at + 1..]);
    let res = optional
        .oneshot(get(Some(("cookie", tampered))))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idps_tokens_meet_rfc9068_and_the_policy_bounds_audiences_and_lifetime() {
    let s = TestServer::start(Backend::Sqlite).await;
    let (id, secret) = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let t = token(&s, &id, &secret).await;
    // The strict default: the IdP's access tokens carry sub, client_id, iat and jti.
    let strict = verifier(&s, Policy::new(AUD)).await;
    let c = strict.verify(&t).await.unwrap();
    assert!(c.sub.is_some() && c.client_id.is_some() && c.jti.is_some());
    let lifetime = c.exp - c.iat.unwrap();
    assert!(lifetime > 1, "{lifetime}");

    // Another accepted audience.
    let other = "https://elsewhere.test";
    let wrong = verifier(&s, Policy::new(other)).await;
    assert_eq!(
        wrong.verify(&t).await.err(),
        Some(VerifyError::WrongAudience)
    );
    let both = verifier(&s, Policy::new(other).accept_audience(AUD)).await;
    assert!(both.verify(&t).await.is_ok());

    // The maximum lifetime, at the bound and just under it.
    let secs = |n: i64| Duration::from_secs(u64::try_from(n).unwrap());
    let at_bound = verifier(&s, Policy::new(AUD).max_token_lifetime(secs(lifetime))).await;
    assert!(at_bound.verify(&t).await.is_ok());
    let shorter = Policy::new(AUD).max_token_lifetime(secs(lifetime - 1));
    let shorter = verifier(&s, shorter).await;
    assert_eq!(
        shorter.verify(&t).await.err(),
        Some(VerifyError::LifetimeTooLong)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_optional_and_typed_extractors() {
    use auth_verifier::axum::RequireBearer;
    use axum::body::Body;
    use axum::routing::get;

    let s = TestServer::start(Backend::Sqlite).await;
    let (id, secret) = s.client("svc", Alg::Es256, &["a"], &[AUD]).await;
    let t = token(&s, &id, &secret).await;
    let v = verifier(&s, Policy::new(AUD)).await;
    let who = |c: Option<Authenticated<Caller>>| async move {
        c.map_or("anonymous".to_owned(), |Authenticated(v)| {
            v.custom().client_id.clone()
        })
    };
    let app = axum::Router::new()
        .route("/", get(who))
        .route_layer(RequireBearer::with_claims::<Caller>(v).optional());
    let call = |auth: Option<String>| {
        let mut req = Request::get("/");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        app.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let body = |res: Response<Body>| async move {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    let res = call(None).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "anonymous");
    let res = call(Some(format!("Bearer {t}"))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, id);
    // A bad token is refused with the RFC 6750 JSON answer, never served as anonymous.
    let res = call(Some(format!("Bearer {t}x"))).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(body(res).await.contains(r#""error":"invalid_token""#));
}
