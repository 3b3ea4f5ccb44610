//! `GET /readyz` of both example services: 503 with reason codes while the verifier has no usable
//! keys (or no recent revocation feed), 200 once it has; `/healthz` (liveness) answers 200 all along.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use serde_json::{Value, json};
use tests::services_env::{INVENTORY, ORDERS, serve};

/// An issuer that answers 503 to everything until `up`: then discovery, a JWKS with one ES256 key,
/// and an empty revocation feed.
async fn issuer(up: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let iss = format!("http://{}", listener.local_addr().unwrap());
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("k1");
    let documents = [
        (
            "/.well-known/openid-configuration",
            json!({"issuer": iss, "jwks_uri": format!("{iss}/jwks"),
                "revocation_feed_endpoint": format!("{iss}/revocations")}),
        ),
        ("/jwks", json!({"keys": [public.as_ref()]})),
        ("/revocations", json!({"issuer": iss, "revoked": []})),
    ];
    let mut app = axum::Router::new();
    for (path, doc) in documents {
        let up = up.clone();
        app = app.route(
            path,
            axum::routing::get(move || {
                let (up, doc) = (up.load(Ordering::SeqCst), doc.clone());
                async move {
                    match up {
                        true => Ok(axum::Json(doc)),
                        false => Err(StatusCode::SERVICE_UNAVAILABLE),
                    }
                }
            }),
        );
    }
    tokio::spawn(async move { axum::serve(listener, app).await });
    iss
}

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let res = http.get(url).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_waits_for_keys_and_the_feed() {
    let up = Arc::new(AtomicBool::new(false));
    let iss = issuer(up.clone()).await;
    let inventory = inventory_service::build(inventory_service::Config {
        issuer: iss.clone(),
        audience: INVENTORY.into(),
        stock: inventory_service::parse_levels("widget=1").unwrap(),
        metrics: None,
        external_url: None,
    })
    .await
    .unwrap();
    let (inv_url, inv_task) = serve(inventory_service::router(inventory.clone())).await;
    let mut config = orders_service::Config::new("orders-svc", "secret");
    config.issuer = iss.clone();
    config.audience = ORDERS.into();
    let orders = orders_service::build(config).await.unwrap();
    let (ord_url, ord_task) = serve(orders_service::router(orders.clone())).await;
    let http = reqwest::Client::new();

    let not_ready =
        json!({"status": "not_ready", "reasons": ["keys_missing", "revocations_stale"]});
    for base in [&inv_url, &ord_url] {
        assert_eq!(
            get(&http, format!("{base}/readyz")).await,
            (503, not_ready.clone())
        );
        assert_eq!(get(&http, format!("{base}/healthz")).await.0, 200);
    }

    // The IdP comes up; the services pick up keys and feed (here at once rather than at the next
    // background refresh).
    up.store(true, Ordering::SeqCst);
    for verifier in [inventory.verifier(), orders.verifier()] {
        verifier.refresh().await;
        verifier.refresh_revocations().await.unwrap();
    }
    let ready = json!({"status": "ready"});
    for base in [&inv_url, &ord_url] {
        assert_eq!(
            get(&http, format!("{base}/readyz")).await,
            (200, ready.clone())
        );
    }
    inv_task.abort();
    ord_task.abort();
}
