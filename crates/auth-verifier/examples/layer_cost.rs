//! Measurement helper (not part of the crate): N in-process calls of an axum route, bare or behind
//! `RequireBearer(scope)` with a warm cache, to compare two versions of the layer by instruction
//! counts (callgrind) and wall-clock time with one identical token (docs/BENCHMARKS.md, "Quiet
//! re-run (session 11)").
//!
//! `cargo run --release -p auth-verifier --example layer_cost -- x 400000` (both, interleaved in
//! ten rounds) or `-- bare|guarded N` (one of them N times, for `valgrind --tool=callgrind`).
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Instant;

use auth_verifier::{IssuerConfig, Policy, Verifier};
use josekit::jws::{ES256, JwsHeader};
use serde_json::json;
use tower::ServiceExt;

fn now_ready<F: std::future::Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("waited"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_default();
    let n: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iss = format!("http://{}", listener.local_addr().unwrap());
    let es = ES256.generate_key_pair().unwrap();
    let mut public = es.to_jwk_public_key();
    public.set_key_id("es");
    public.set_algorithm("ES256");
    let jwks = json!({ "keys": [public.as_ref()] }).to_string();
    let app = axum::Router::new().route("/jwks", axum::routing::get(move || async move { jwks }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut h = JwsHeader::new();
    h.set_token_type("at+jwt");
    h.set_key_id("es");
    let now = auth_core::Clock::now(&auth_core::SystemClock);
    let claims = json!({"iss": iss, "sub": "bench", "aud": "https://api.bench", "exp": now + 3600,
        "iat": now, "jti": "B59jyLu8bGNI5o_K5CQg0A", "client_id": "bench", "scope": "read write"});
    let signer = ES256.signer_from_jwk(&es.to_jwk_private_key()).unwrap();
    let token =
        josekit::jws::serialize_compact(claims.to_string().as_bytes(), &h, &signer).unwrap();
    let verifier = Verifier::builder(Policy::new("https://api.bench"))
        .issuer(IssuerConfig::new(&iss).jwks_uri(format!("{iss}/jwks")))
        .token_cache(10_000)
        .background_refresh(false)
        .build()
        .await
        .unwrap();
    verifier.verify(&token).await.unwrap();
    let handler = || async { "ok" };
    let bare = axum::Router::new()
        .route("/r", axum::routing::get(handler))
        .with_state(());
    let guarded = axum::Router::new()
        .route("/r", axum::routing::get(handler))
        .route_layer(auth_verifier::axum::RequireBearer::new(verifier.clone()).scope("read"))
        .with_state(());
    let auth = format!("Bearer {token}");
    let call = |app: &axum::Router| {
        let req = axum::http::Request::get("/r").header("authorization", &auth);
        let res = now_ready(
            app.clone()
                .oneshot(req.body(axum::body::Body::empty()).unwrap()),
        )
        .unwrap();
        assert_eq!(res.status(), 200);
    };
    let run = |app: &axum::Router, n: u32| {
        let t = Instant::now();
        for _ in 0..n {
            call(app);
        }
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    };
    match mode.as_str() {
        "bare" => {
            run(&bare, n);
        }
        "guarded" => {
            run(&guarded, n);
        }
        _ => {
            run(&bare, n / 10);
            run(&guarded, n / 10);
            let (mut b, mut g) = (0.0, 0.0);
            for _ in 0..10 {
                b += run(&bare, n / 10);
                g += run(&guarded, n / 10);
            }
            println!(
                "bare {:.3} µs, guarded {:.3} µs, layer {:.3} µs",
                b / 10.0,
                g / 10.0,
                (g - b) / 10.0
            );
        }
    }
}
