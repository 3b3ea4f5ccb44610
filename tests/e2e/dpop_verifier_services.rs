//! Both example services accept DPoP-bound tokens (RFC 9449 §7) next to bearer tokens: reads and
//! writes on orders-service (which then reserves stock in inventory with its own bearer token)
//! and inventory-service, scope checks answered in the scheme used, and both challenges offered
//! to a request without a token.

use serde_json::json;
use tests::dpop_verifier_support::{DpopKey, DpopServices, mint};
use tests::services_env::{INVENTORY, ORDERS};
use tests::{Backend, TestServer};

use crate::dpop_verifier_attacks::{ALGS, Reply, send};

async fn dpop_call(s: &TestServer, key: &DpopKey, token: &str, method: &str, url: &str) -> Reply {
    let proof = key.proof(method, url, token);
    send(
        &s.http,
        method,
        url,
        Some(format!("DPoP {token}")),
        &[&proof],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_and_inventory_serve_dpop_bound_tokens() {
    let s = TestServer::start(Backend::Sqlite).await;
    let svc = DpopServices::start(&s).await;
    let key = DpopKey::es256();

    let orders = format!("{}/orders", svc.orders);
    let token = mint(&s, ORDERS, "orders:read orders:write", Some(&key.jkt()));
    let placed = dpop_call(&s, &key, &token, "POST", &orders).await;
    assert_eq!(placed.status, 201, "{placed:?}");
    assert_eq!(
        (&placed.body["sku"], &placed.body["owner"]),
        (&json!("widget"), &json!("partner"))
    );
    let listed = dpop_call(&s, &key, &token, "GET", &orders).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
    let one = format!("{orders}/{}", placed.body["id"].as_str().unwrap());
    assert_eq!(dpop_call(&s, &key, &token, "GET", &one).await.status, 200);
    // orders-service reserved the stock in inventory (its own call, with its own token).
    assert_eq!(svc.inventory_state.stock().available("widget"), Some(9));

    let reservations = format!("{}/reservations", svc.inventory);
    let token = mint(&s, INVENTORY, "inventory:reserve", Some(&key.jkt()));
    let reserved = dpop_call(&s, &key, &token, "POST", &reservations).await;
    assert_eq!(reserved.status, 201, "{reserved:?}");
    assert_eq!(svc.inventory_state.stock().available("widget"), Some(8));

    // Scope refusals come in the scheme the request used.
    let item = format!("{}/items/widget", svc.inventory);
    let r = dpop_call(&s, &key, &token, "GET", &item).await;
    assert_eq!(r.status, 403, "{r:?}");
    let expected = format!(r#"DPoP error="insufficient_scope", scope="inventory:read", {ALGS}"#);
    assert_eq!(r.challenges, [expected, "Bearer".to_owned()]);
    let bearer = mint(&s, INVENTORY, "inventory:reserve", None);
    let r = send(&s.http, "GET", &item, Some(format!("Bearer {bearer}")), &[]).await;
    assert_eq!(r.status, 403, "{r:?}");
    let expected = r#"Bearer error="insufficient_scope", scope="inventory:read""#;
    assert_eq!(r.challenges, [expected.to_owned(), format!("DPoP {ALGS}")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_services_still_take_bearer_tokens_and_offer_both_schemes() {
    let s = TestServer::start(Backend::Sqlite).await;
    let svc = DpopServices::start(&s).await;
    let cases = [
        (format!("{}/orders", svc.orders), ORDERS, "orders:read"),
        (
            format!("{}/items/widget", svc.inventory),
            INVENTORY,
            "inventory:read",
        ),
    ];
    for (url, aud, scope) in cases {
        let r = send(&s.http, "GET", &url, None, &[]).await;
        assert_eq!(r.status, 401, "{url}: {r:?}");
        assert_eq!(
            r.challenges,
            ["Bearer".to_owned(), format!("DPoP {ALGS}")],
            "{url}"
        );
        let bearer = mint(&s, aud, scope, None);
        let r = send(&s.http, "GET", &url, Some(format!("Bearer {bearer}")), &[]).await;
        assert_eq!(r.status, 200, "{url}: {r:?}");
    }
}
