//! The generic layer over a plain `tower::service_fn` taking `http::Request<String>`: no web
//! framework anywhere (the issuer's JWKS is served by a hand-written loopback HTTP responder).
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{Layer, Service, ServiceExt};

use super::{Authenticate, Authenticated, Authorize, Refusal, TokenSource};
use crate::test_support::{TestIssuer, TestKey};
use crate::{IssuerConfig, Policy, Verifier};

const AUD: &str = "https://api.example";

#[derive(Clone, Debug, serde::Deserialize)]
struct Tenant {
    tenant: String,
    #[serde(default)]
    roles: Vec<String>,
}

struct Idp {
    iss: String,
    signer: TestKey,
}

impl Idp {
    /// Serves the JWKS at `/jwks` for every connection: one HTTP/1.1 answer, then close.
    async fn start() -> Idp {
        let TestIssuer {
            listener,
            iss,
            jwks,
            key: signer,
        } = TestIssuer::new().await;
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let jwks = jwks.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut read = 0;
                    while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") && read < buf.len() {
                        match conn.read(&mut buf[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        jwks.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(jwks.as_bytes()).await;
                });
            }
        });
        Idp { iss, signer }
    }

    /// An RFC 9068 token for `AUD` with `more` claims added (or replaced).
    fn token(&self, more: Value) -> String {
        let now = auth_core::Clock::now(&auth_core::SystemClock);
        let mut claims = json!({"iss": self.iss, "sub": "alice", "aud": AUD, "exp": now + 600,
            "iat": now, "jti": format!("j{}", rand_suffix()), "client_id": "web",
            "scope": "orders:read"});
        if let (Some(c), Value::Object(more)) = (claims.as_object_mut(), more) {
            c.extend(more);
        }
        self.signer.access_token(&claims)
    }

    async fn verifier(&self) -> Verifier {
        let issuer = IssuerConfig::new(&self.iss).jwks_uri(format!("{}/jwks", self.iss));
        Verifier::builder(Policy::new(AUD))
            .issuer(issuer)
            .background_refresh(false)
            .build()
            .await
            .unwrap()
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A handler answering who called: `sub/tenant/roles`, or `anonymous`.
async fn whoami(req: Request<String>) -> Result<Response<String>, Infallible> {
    let who = match req.extensions().get::<Authenticated<Tenant>>() {
        Some(Authenticated(v)) => format!(
            "{}/{}/{}",
            v.sub.as_deref().unwrap_or_default(),
            v.custom().tenant,
            v.custom().roles.join(",")
        ),
        None => match req.extensions().get::<Authenticated>() {
            Some(Authenticated(v)) => v.sub.clone().unwrap_or_default(),
            None => "anonymous".into(),
        },
    };
    Ok(Response::new(who))
}

fn get(headers: &[(&str, &str)]) -> Request<String> {
    let mut req = Request::get("/orders");
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    req.body(String::new()).unwrap()
}

async fn call<S>(svc: &S, req: Request<String>) -> Response<String>
where
    S: Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
{
    svc.clone().oneshot(req).await.unwrap()
}

fn challenge(res: &Response<String>) -> &str {
    res.headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn plain_tower_service_with_typed_claims_scope_and_checks() {
    let idp = Idp::start().await;
    let verifier = idp.verifier().await;
    let layer = Authenticate::with_claims::<Tenant>(verifier.clone())
        .scope("orders:read")
        .check(|v| v.custom().tenant != "blocked")
        .check_with(|v| match v.custom().roles.iter().any(|r| r == "clerk") {
            true => Ok(()),
            false => Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "not_a_clerk",
                "clerks only",
            )),
        });
    let svc = layer.layer(tower::service_fn(whoami));

    let good = idp.token(json!({"tenant": "acme", "roles": ["clerk"]}));
    let auth = format!("Bearer {good}");
    for _ in 0..2 {
        // The first call verifies in full, the second is a cache hit: the same answer.
        let res = call(&svc, get(&[("authorization", &auth)])).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.body(), "alice/acme/clerk");
    }

    let res = call(&svc, get(&[])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&res), "Bearer");
    assert!(
        res.body().is_empty(),
        "the default refusal has an empty body"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");

    // A character well inside the signature (the last one may carry only padding bits).
    let at = good.len() - 10;
    let other = if &good[at..=at] == "x" { "y" } else { "x" };
    let forged = format!("Bearer {}{other}{}", &good[..at], &good[at + 1..]);
    let res = call(&svc, get(&[("authorization", &forged)])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        challenge(&res).contains("invalid_token"),
        "{}",
        challenge(&res)
    );

    let no_scope = idp.token(json!({"tenant": "acme", "roles": ["clerk"], "scope": "other"}));
    let res = call(
        &svc,
        get(&[("authorization", &format!("Bearer {no_scope}"))]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&res).contains(r#"scope="orders:read""#));

    let blocked = idp.token(json!({"tenant": "blocked", "roles": ["clerk"]}));
    let res = call(
        &svc,
        get(&[("authorization", &format!("Bearer {blocked}"))]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&res).contains("insufficient_scope"));

    let not_clerk = idp.token(json!({"tenant": "acme"}));
    let res = call(
        &svc,
        get(&[("authorization", &format!("Bearer {not_clerk}"))]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&res).contains(r#"error="not_a_clerk""#));

    // Custom claims of the wrong type make the token invalid, in full and on a hit alike.
    let bad_custom = idp.token(json!({"tenant": 42}));
    assert!(
        verifier.verify(&bad_custom).await.is_ok(),
        "valid as a token"
    );
    for _ in 0..2 {
        let res = call(
            &svc,
            get(&[("authorization", &format!("Bearer {bad_custom}"))]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn typed_claims_are_parsed_once_per_token() {
    let idp = Idp::start().await;
    let verifier = idp.verifier().await;
    let token = idp.token(json!({"tenant": "acme"}));
    let first = verifier.verify_as::<Tenant>(&token).await.unwrap();
    let second = verifier.verify_as::<Tenant>(&token).await.unwrap();
    assert_eq!(second.custom().tenant, "acme");
    assert!(
        Arc::ptr_eq(first.claims(), second.claims()),
        "the second is this thread's cache hit"
    );
    assert!(
        std::ptr::eq(first.custom(), second.custom()),
        "the hit hands out the T parsed at verification, not a new one"
    );
    // A token first verified without T gets its T parsed once, then cached.
    let other = idp.token(json!({"tenant": "globex"}));
    verifier.verify(&other).await.unwrap();
    let a = verifier.verify_as::<Tenant>(&other).await.unwrap();
    let b = verifier.verify_as::<Tenant>(&other).await.unwrap();
    assert!(std::ptr::eq(a.custom(), b.custom()));
    assert_eq!(b.custom().tenant, "globex");
    // An untyped use in between (another route of the same service) keeps the cached T.
    let untyped = verifier.verify_as::<()>(&other).await.unwrap();
    assert_eq!(untyped.sub.as_deref(), Some("alice"));
    let c = verifier.verify_as::<Tenant>(&other).await.unwrap();
    assert!(std::ptr::eq(a.custom(), c.custom()), "not parsed again");
}

#[tokio::test]
async fn optional_authentication_never_makes_a_bad_token_anonymous() {
    let idp = Idp::start().await;
    let svc = Authenticate::new(idp.verifier().await)
        .optional()
        .layer(tower::service_fn(whoami));
    let res = call(&svc, get(&[])).await;
    assert_eq!(
        (res.status(), res.body().as_str()),
        (StatusCode::OK, "anonymous")
    );
    let good = format!("Bearer {}", idp.token(json!({})));
    let res = call(&svc, get(&[("authorization", &good)])).await;
    assert_eq!(
        (res.status(), res.body().as_str()),
        (StatusCode::OK, "alice")
    );
    for bad in ["Bearer not.a.token", "Basic YTpi", "Bearer a b"] {
        let res = call(&svc, get(&[("authorization", bad)])).await;
        assert_ne!(res.status(), StatusCode::OK, "{bad}");
    }
    // An inner Authorize refuses the anonymous request.
    let inner = Authorize::scope("orders:read").layer(tower::service_fn(whoami));
    let svc = Authenticate::new(idp.verifier().await)
        .optional()
        .layer(inner);
    assert_eq!(
        call(&svc, get(&[])).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = call(&svc, get(&[("authorization", &good)])).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn cookie_and_custom_sources() {
    let idp = Idp::start().await;
    let verifier = idp.verifier().await;
    let token = idp.token(json!({}));
    let svc = Authenticate::new(verifier.clone())
        .token_source(TokenSource::cookie("at"))
        .layer(tower::service_fn(whoami));
    let cookie = format!("theme=dark; at={token}");
    let res = call(&svc, get(&[("cookie", &cookie)])).await;
    assert_eq!(
        (res.status(), res.body().as_str()),
        (StatusCode::OK, "alice")
    );
    // The header is not this layer's source.
    let res = call(&svc, get(&[("authorization", &format!("Bearer {token}"))])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = call(&svc, get(&[("cookie", "at=bogus")])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let twice = format!("at={token}; at={token}");
    assert_eq!(
        call(&svc, get(&[("cookie", &twice)])).await.status(),
        StatusCode::BAD_REQUEST
    );
    // A DPoP-bound token is refused from a cookie (DPoP needs the Authorization header).
    let bound = idp.token(json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}));
    let res = call(&svc, get(&[("cookie", &format!("at={bound}"))])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let svc = Authenticate::new(verifier)
        .token_source(TokenSource::custom(|parts| {
            parts.headers.get("x-token")?.to_str().ok()
        }))
        .layer(tower::service_fn(whoami));
    let res = call(&svc, get(&[("x-token", &token)])).await;
    assert_eq!(
        (res.status(), res.body().as_str()),
        (StatusCode::OK, "alice")
    );
    assert_eq!(
        call(&svc, get(&[])).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_refusal_hook_answers_grpc() {
    let idp = Idp::start().await;
    let layer = Authenticate::new(idp.verifier().await).refusal(|r: Refusal| {
        let mut res = Response::new(String::new());
        res.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("application/grpc"),
        );
        let status = if r.status() == StatusCode::FORBIDDEN {
            "7"
        } else {
            "16"
        };
        res.headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static(status));
        r.write_headers(res.headers_mut());
        res
    });
    let svc = layer.scope("admin").layer(tower::service_fn(whoami));
    let res = call(&svc, get(&[])).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["grpc-status"], "16");
    assert_eq!(challenge(&res), "Bearer");
    let token = format!("Bearer {}", idp.token(json!({})));
    let res = call(&svc, get(&[("authorization", &token)])).await;
    assert_eq!(res.headers()["grpc-status"], "7");
}
