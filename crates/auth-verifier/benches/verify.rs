//! Per-verification cost through the public API against raw josekit verification of the same token,
//! in the same run, and the cost of a verified-token cache hit, without and with a metrics recorder.
//!
//! Then the per-request cost of the layers on a cache hit: axum's `RequireBearer`, untyped and
//! with typed claims (`with_claims::<T>`), and the generic tower layer (`layer::Authenticate`)
//! over a bare `tower::service_fn` taking `http::Request<String>`.
//!
//! `cargo bench -p auth-verifier --bench verify [-- ITERATIONS]`
//!
//! It serves a JWKS on a loopback port, builds a [`Verifier`] against it (cache off for the
//! comparison, on for the hit), and times N verifications of one token per algorithm. "raw" is
//! `josekit::jws::deserialize_compact` with the verifier built once: base64 decoding, header parse
//! and the signature check, with no claim validation at all.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use auth_verifier::{IssuerConfig, Policy, Verifier};
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsHeader, JwsSigner, JwsVerifier, RS256};
use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::json;

/// A service's own claims, as a typed layer would parse them.
#[derive(Clone, serde::Deserialize)]
struct BenchClaims {
    tenant: String,
    roles: Vec<String>,
}

struct Case {
    name: &'static str,
    token: String,
    raw: Box<dyn JwsVerifier>,
}

fn sign(signer: &dyn JwsSigner, kid: &str, iss: &str) -> String {
    let mut h = JwsHeader::new();
    h.set_token_type("at+jwt");
    h.set_key_id(kid);
    let now = auth_core::Clock::now(&auth_core::SystemClock);
    let claims = json!({"iss": iss, "sub": "bench", "aud": "https://api.bench", "exp": now + 3600,
        "iat": now, "jti": "B59jyLu8bGNI5o_K5CQg0A", "client_id": "bench", "scope": "read write",
        "tenant": "acme", "roles": ["clerk", "viewer"]});
    josekit::jws::serialize_compact(claims.to_string().as_bytes(), &h, signer).unwrap()
}

/// The case for JWS algorithm `name` (ES256 or RS256) with the key pair `private`/`public`; the
/// public key, labelled with `kid` and `name`, goes into `jwks`.
fn case(
    name: &'static str,
    kid: &str,
    private: &Jwk,
    mut public: Jwk,
    iss: &str,
    jwks: &mut Vec<Jwk>,
) -> Case {
    public.set_key_id(kid);
    public.set_algorithm(name);
    let (signer, raw): (Box<dyn JwsSigner>, Box<dyn JwsVerifier>) = if name == "ES256" {
        let signer = ES256.signer_from_jwk(private).unwrap();
        (
            Box::new(signer),
            Box::new(ES256.verifier_from_jwk(&public).unwrap()),
        )
    } else {
        let signer = RS256.signer_from_jwk(private).unwrap();
        (
            Box::new(signer),
            Box::new(RS256.verifier_from_jwk(&public).unwrap()),
        )
    };
    jwks.push(public);
    Case {
        name,
        token: sign(&*signer, kid, iss),
        raw,
    }
}

fn time_per_op(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f(); // warm-up
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iss = format!("http://{}", listener.local_addr().unwrap());

    let es = ES256.generate_key_pair().unwrap();
    let rs = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let mut keys = Vec::new();
    let cases = [
        case(
            "ES256",
            "es",
            &es.to_jwk_private_key(),
            es.to_jwk_public_key(),
            &iss,
            &mut keys,
        ),
        case(
            "RS256",
            "rs",
            &rs.to_jwk_private_key(),
            rs.to_jwk_public_key(),
            &iss,
            &mut keys,
        ),
    ];
    let keys: Vec<&serde_json::Map<String, serde_json::Value>> =
        keys.iter().map(|k| k.as_ref()).collect();
    let jwks = json!({ "keys": keys }).to_string();
    let app = axum::Router::new().route("/jwks", axum::routing::get(move || async move { jwks }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let builder = |cache: u64| {
        Verifier::builder(Policy::new("https://api.bench"))
            .issuer(IssuerConfig::new(&iss).jwks_uri(format!("{iss}/jwks")))
            .token_cache(cache)
            .background_refresh(false)
    };
    let uncached = builder(0).build().await.unwrap();
    let cached = builder(10_000).build().await.unwrap();
    // The same, recording its metrics into a real Prometheus registry (the other two have no
    // recorder: their metric handles are no-ops).
    let registry = Arc::new(PrometheusBuilder::new().build_recorder());
    let metrics = registry.handle();
    let measured = builder(10_000).metrics_recorder(registry);
    let measured = measured.build().await.unwrap();

    println!("verification cost, {n} iterations per row, one thread");
    println!("alg\traw josekit µs\tauth-verifier µs\tratio\tcache hit µs");
    for c in &cases {
        assert!(uncached.verify(&c.token).await.is_ok());
        assert!(cached.verify(&c.token).await.is_ok());
        // Interleaved in rounds, so that noise from the rest of the machine hits both alike.
        let (mut raw, mut lib) = (0.0, 0.0);
        for _ in 0..10 {
            raw += time_per_op(n / 10, || {
                std::hint::black_box(josekit::jws::deserialize_compact(&c.token, &*c.raw).unwrap());
            });
            // verify() is async but completes without awaiting once keys are loaded; poll it inline so
            // the timing is the verification, not the executor.
            lib += time_per_op(n / 10, || {
                std::hint::black_box(futures_now(uncached.verify(&c.token)).unwrap());
            });
        }
        let (raw, lib) = (raw / 10.0, lib / 10.0);
        let hit = time_per_op(n * 10, || {
            std::hint::black_box(futures_now(cached.verify(&c.token)).unwrap());
        });
        println!("{}\t{raw:.2}\t{lib:.2}\t{:.3}\t{hit:.3}", c.name, lib / raw);
    }

    // A cache hit without and with a metrics recorder, interleaved in rounds.
    println!(
        "\ncache hit, metrics off / on (Prometheus recorder), {} hits each:",
        n * 10
    );
    for c in &cases {
        assert!(measured.verify(&c.token).await.is_ok());
        let (mut off, mut on) = (0.0, 0.0);
        for _ in 0..10 {
            off += time_per_op(n, || {
                std::hint::black_box(futures_now(cached.verify(&c.token)).unwrap());
            });
            on += time_per_op(n, || {
                std::hint::black_box(futures_now(measured.verify(&c.token)).unwrap());
            });
        }
        let (off, on) = (off / 10.0, on / 10.0);
        println!(
            "{}\toff {off:.3} µs\ton {on:.3} µs\tdifference {:.3} µs",
            c.name,
            on - off
        );
    }
    let ok = metrics.render();
    let ok = ok.lines().find(|l| l.contains("outcome=\"ok\""));
    assert!(
        ok.is_some_and(|l| !l.ends_with(" 0")),
        "the hits were counted"
    );

    // The same axum handler called in-process (no socket), bare and behind RequireBearer with a
    // scope, cache warm: the per-request cost of the layer itself.
    use tower::ServiceExt;
    let handler = || async { "ok" };
    let bare = axum::Router::new().route("/r", axum::routing::get(handler));
    let guarded = axum::Router::new()
        .route("/r", axum::routing::get(handler))
        .route_layer(auth_verifier::axum::RequireBearer::new(cached.clone()).scope("read"));
    let auth = format!("Bearer {}", cases[0].token);
    let call = |app: &axum::Router, with_token: bool| {
        let mut req = axum::http::Request::get("/r");
        if with_token {
            req = req.header("authorization", &auth);
        }
        let res = futures_now(
            app.clone()
                .oneshot(req.body(axum::body::Body::empty()).unwrap()),
        )
        .unwrap();
        assert_eq!(res.status(), 200);
    };
    let with_metrics = axum::Router::new()
        .route("/r", axum::routing::get(handler))
        .route_layer(auth_verifier::axum::RequireBearer::new(measured.clone()).scope("read"));
    let (mut b, mut g, mut m) = (0.0, 0.0, 0.0);
    for _ in 0..10 {
        b += time_per_op(n, || call(&bare, true));
        g += time_per_op(n, || call(&guarded, true));
        m += time_per_op(n, || call(&with_metrics, true));
    }
    println!(
        "\naxum router in-process, same request with its Authorization header, {} calls each:",
        n * 10
    );
    println!(
        "bare handler {:.3} µs, behind RequireBearer(scope) {:.3} µs, layer cost {:.3} µs",
        b / 10.0,
        g / 10.0,
        (g - b) / 10.0
    );
    println!(
        "behind RequireBearer(scope) recording metrics {:.3} µs, layer cost {:.3} µs",
        m / 10.0,
        (m - b) / 10.0
    );

    // Typed claims: the cache hit of verify_as::<T> against verify, and the axum layer with
    // typed claims and a closure check against the untyped one.
    let (mut plain, mut typed) = (0.0, 0.0);
    for _ in 0..10 {
        plain += time_per_op(n, || {
            std::hint::black_box(futures_now(cached.verify(&cases[0].token)).unwrap());
        });
        typed += time_per_op(n, || {
            let v = futures_now(cached.verify_as::<BenchClaims>(&cases[0].token)).unwrap();
            std::hint::black_box(v.custom().roles.len() + v.custom().tenant.len());
        });
    }
    println!(
        "\ncache hit, {} each: verify {:.3} µs, verify_as::<T> {:.3} µs",
        n * 10,
        plain / 10.0,
        typed / 10.0
    );
    use auth_verifier::axum::{Authenticated, RequireBearer};
    let typed_handler = |Authenticated(v): Authenticated<BenchClaims>| async move {
        std::hint::black_box(v.custom().tenant.len());
        "ok"
    };
    let guarded_typed = axum::Router::new()
        .route("/r", axum::routing::get(typed_handler))
        .route_layer(
            RequireBearer::with_claims::<BenchClaims>(cached.clone())
                .scope("read")
                .check(|v| v.custom().roles.iter().any(|r| r == "clerk")),
        );
    let (mut b, mut g, mut t) = (0.0, 0.0, 0.0);
    for _ in 0..10 {
        b += time_per_op(n, || call(&bare, true));
        g += time_per_op(n, || call(&guarded, true));
        t += time_per_op(n, || call(&guarded_typed, true));
    }
    println!(
        "axum, {} calls each: bare {:.3} µs, RequireBearer(scope) {:.3} µs (layer {:.3} µs), \
         with_claims::<T>(scope, check) {:.3} µs (layer {:.3} µs)",
        n * 10,
        b / 10.0,
        g / 10.0,
        (g - b) / 10.0,
        t / 10.0,
        (t - b) / 10.0
    );

    // The generic layer over a plain tower service (no axum), cache warm.
    use auth_verifier::layer::Authenticate;
    use tower::Layer;
    let plain_svc = tower::service_fn(|req: http::Request<String>| {
        std::hint::black_box(&req);
        std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(
            String::new(),
        )))
    });
    let generic = Authenticate::new(cached.clone())
        .scope("read")
        .layer(plain_svc);
    let generic_typed = Authenticate::with_claims::<BenchClaims>(cached.clone())
        .scope("read")
        .layer(plain_svc);
    let req = || {
        http::Request::get("/r")
            .header("authorization", &auth)
            .body(String::new())
            .unwrap()
    };
    let (mut b, mut g, mut t) = (0.0, 0.0, 0.0);
    for _ in 0..10 {
        b += time_per_op(n, || {
            let res = futures_now(plain_svc.oneshot(req())).unwrap();
            assert_eq!(res.status(), 200);
        });
        g += time_per_op(n, || {
            let res = futures_now(generic.clone().oneshot(req())).unwrap();
            assert_eq!(res.status(), 200);
        });
        t += time_per_op(n, || {
            let res = futures_now(generic_typed.clone().oneshot(req())).unwrap();
            assert_eq!(res.status(), 200);
        });
    }
    println!(
        "generic tower layer over service_fn(http::Request<String>), {} calls each: bare {:.3} µs, \
         Authenticate(scope) {:.3} µs (layer {:.3} µs), with_claims::<T>(scope) {:.3} µs (layer {:.3} µs)",
        n * 10,
        b / 10.0,
        g / 10.0,
        (g - b) / 10.0,
        t / 10.0,
        (t - b) / 10.0
    );
}

/// Polls a future that is expected to be ready at once.
fn futures_now<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("verification unexpectedly waited"),
    }
}
