//! orders-service reserving stock at inventory-service **on behalf of the user** (RFC 8693 token
//! exchange): inventory records the user (`sub`) and orders-service (`act.sub`); a refused exchange
//! fails the order cleanly; the exchanged token is reused per user.

use auth_core::Alg;
use serde_json::{Value, json};
use tests::Backend;
use tests::services_env::{INVENTORY, ORDERS};
use tests::services_obo::{OboEnv, sub_of};
use tests::texch::exchange;

tests::on_both_backends!(
    a_users_order_reserves_stock_on_her_behalf,
    a_refused_exchange_fails_the_order_cleanly,
    a_partners_order_uses_the_services_own_token,
);

async fn a_users_order_reserves_stock_on_her_behalf(backend: Backend) {
    let env = OboEnv::start(backend, &[INVENTORY]).await;
    let orders_client = env.exchanger.id.clone();
    let alice = env.user_token("alice").await;
    let alice_sub = sub_of(&alice);
    assert_eq!(env.token_fetches(), 0);

    let (status, order) = env.order(&alice, "widget", 2).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["owner"], alice_sub.as_str());
    let rid = order["reservation_id"].as_str().unwrap();
    let r = env.inventory_state.stock().reservation(rid).unwrap();
    assert_eq!(
        r.subject.as_deref(),
        Some(alice_sub.as_str()),
        "for the user"
    );
    assert_eq!(
        r.actor.as_deref(),
        Some(orders_client.as_str()),
        "by orders"
    );
    assert_eq!(r.client_id.as_deref(), Some(orders_client.as_str()));
    assert_eq!(env.token_fetches(), 1);

    // The same user again: the exchanged token is reused.
    let (status, again) = env.order(&alice, "widget", 1).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(env.token_fetches(), 1);

    // Another user: a token of its own, recorded for that user.
    let bob = env.user_token("bob").await;
    let (status, order) = env.order(&bob, "gadget", 1).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(env.token_fetches(), 2);
    let rid = order["reservation_id"].as_str().unwrap();
    let r = env.inventory_state.stock().reservation(rid).unwrap();
    assert_eq!(r.subject.as_deref(), Some(sub_of(&bob).as_str()));
    assert_ne!(r.subject.as_deref(), Some(alice_sub.as_str()));
    assert_eq!(r.actor.as_deref(), Some(orders_client.as_str()));
    assert_eq!(env.inventory_state.stock().available("widget"), Some(7));

    // inventory answers who it recorded: exchange as orders-service would, and reserve directly.
    let (status, body) = exchange(
        &env.s,
        &env.exchanger,
        &alice,
        &[("resource", INVENTORY), ("scope", "inventory:reserve")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let exchanged = body["access_token"].as_str().unwrap();
    let res = env
        .s
        .http
        .post(format!("{}/reservations", env.inventory))
        .bearer_auth(exchanged)
        .json(&json!({"sku": "widget", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["subject"], alice_sub.as_str());
    assert_eq!(body["actor"], orders_client.as_str());
}

async fn a_refused_exchange_fails_the_order_cleanly(backend: Backend) {
    // orders-service may exchange only for another audience, not inventory's.
    let env = OboEnv::start(backend, &["https://elsewhere.example"]).await;
    let alice = env.user_token("alice").await;
    let (status, body) = env.order(&alice, "widget", 2).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "delegation_refused");
    let text = body.to_string();
    for internal in ["invalid_target", "orders-svc", INVENTORY, "token"] {
        assert!(!text.contains(internal), "{text}");
    }
    // Nothing reserved, no order recorded, and a refusal is not cached: the next order asks again.
    assert_eq!(env.inventory_state.stock().available("widget"), Some(10));
    assert!(env.orders_state.orders().list(&sub_of(&alice)).is_empty());
    assert_eq!(env.token_fetches(), 1);
    let (status, _) = env.order(&alice, "widget", 2).await;
    assert_eq!(status, 502);
    assert_eq!(env.token_fetches(), 2);
}

async fn a_partners_order_uses_the_services_own_token(backend: Backend) {
    let env = OboEnv::start(backend, &[INVENTORY]).await;
    let scopes = ["orders:write", "inventory:reserve"];
    let (id, secret) = env
        .s
        .client("partner", Alg::Es256, &scopes, &[ORDERS])
        .await;
    let extra = format!("&scope=orders:write+inventory:reserve&resource={ORDERS}");
    let body = env.s.cc_token(&id, &secret, &extra).await;
    let token = body["access_token"].as_str().unwrap();
    // A token that names no user (`sub` = `client_id`) is not exchanged: orders-service reserves
    // with its own client-credentials token (no actor, itself the subject).
    let (status, order) = env.order(token, "widget", 1).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["owner"], id.as_str());
    let rid = order["reservation_id"].as_str().unwrap();
    let r = env.inventory_state.stock().reservation(rid).unwrap();
    assert_eq!(r.subject.as_deref(), Some(env.exchanger.id.as_str()));
    assert_eq!(r.actor, None);
    assert_eq!(env.token_fetches(), 1);
}
