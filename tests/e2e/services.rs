//! The example resource services against the real IdP: orders-service and inventory-service run
//! in-process, verify tokens locally through auth-verifier, and orders-service calls inventory with
//! its own client-credentials token.

use auth_core::Alg;
use serde_json::json;
use tests::Backend;

use tests::services_env::{Env, INVENTORY, ORDERS};

tests::on_both_backends!(
    order_flow_with_service_token,
    service_token_is_reused,
    concurrent_orders_share_one_token_fetch,
    missing_garbage_and_insufficient_scope,
    audiences_are_enforced,
    insufficient_stock_changes_nothing,
    inventory_validates_reservations,
    inventory_down_is_503,
    an_emergency_key_revocation_reaches_the_service_at_its_next_poll,
);

async fn order_flow_with_service_token(backend: Backend) {
    let env = Env::start(backend, true).await;
    let token = env.partner_token("orders:read orders:write").await;
    assert_eq!(env.token_fetches(), 0);

    let created = env.order(&token, "widget", 2).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let order = created.body;
    assert_eq!(order["sku"], "widget");
    assert_eq!(order["quantity"], 2);
    assert_eq!(order["owner"], "partner", "owned by the token's sub");
    let id = order["id"].as_str().unwrap();
    let reservation_id = order["reservation_id"].as_str().unwrap();

    // orders-service got its own token from the IdP, and inventory recorded it as the reserver.
    assert_eq!(env.token_fetches(), 1);
    let r = env
        .inventory_state
        .stock()
        .reservation(reservation_id)
        .unwrap();
    assert_eq!((r.sku.as_str(), r.quantity), ("widget", 2));
    assert_eq!(r.client_id.as_deref(), Some("orders-svc"));

    // Stock went down, as an inventory reader sees it over HTTP.
    let ops = env
        .s
        .client("ops", Alg::Rs256, &["inventory:read"], &[INVENTORY])
        .await;
    let ops_token = env.token(&ops, "inventory:read", INVENTORY).await;
    let item = env
        .get(format!("{}/items/widget", env.inventory), Some(&ops_token))
        .await;
    assert_eq!(item.status, 200);
    assert_eq!(item.body, json!({"sku": "widget", "available": 8}));

    let list = env
        .get(format!("{}/orders", env.orders), Some(&token))
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body, json!([order.clone()]));
    let one = env
        .get(format!("{}/orders/{id}", env.orders), Some(&token))
        .await;
    assert_eq!((one.status, &one.body), (200, &order));
    let missing = env
        .get(format!("{}/orders/ord-999", env.orders), Some(&token))
        .await;
    assert_eq!(
        (missing.status, missing.body),
        (404, json!({"error": "not_found"}))
    );

    // Another caller sees none of it.
    let other = env
        .s
        .client("partner-b", Alg::Es256, &["orders:read"], &[ORDERS])
        .await;
    let other_token = env.token(&other, "orders:read", ORDERS).await;
    let theirs = env
        .get(format!("{}/orders", env.orders), Some(&other_token))
        .await;
    assert_eq!((theirs.status, theirs.body), (200, json!([])));
    let not_theirs = env
        .get(format!("{}/orders/{id}", env.orders), Some(&other_token))
        .await;
    assert_eq!(not_theirs.status, 404);
}

async fn service_token_is_reused(backend: Backend) {
    let env = Env::start(backend, true).await;
    let token = env.partner_token("orders:write").await;
    let first = env.order(&token, "widget", 1).await;
    let second = env.order(&token, "widget", 2).await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_ne!(first.body["reservation_id"], second.body["reservation_id"]);
    assert_ne!(first.body["id"], second.body["id"]);
    assert_eq!(
        env.token_fetches(),
        1,
        "the second call reuses the cached inventory token"
    );
    assert_eq!(env.available("widget"), Some(7));
}

async fn concurrent_orders_share_one_token_fetch(backend: Backend) {
    let env = Env::start(backend, true).await;
    let token = env.partner_token("orders:write").await;
    let (a, b, c, d) = tokio::join!(
        env.order(&token, "widget", 1),
        env.order(&token, "widget", 1),
        env.order(&token, "widget", 1),
        env.order(&token, "widget", 1),
    );
    for r in [a, b, c, d] {
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    assert_eq!(
        env.token_fetches(),
        1,
        "one refresh at a time; the others wait for it and share its token"
    );
    assert_eq!(env.available("widget"), Some(6));
}

async fn missing_garbage_and_insufficient_scope(backend: Backend) {
    let env = Env::start(backend, true).await;
    let health = env.get(format!("{}/healthz", env.orders), None).await;
    assert_eq!((health.status, health.body), (200, json!({"status": "ok"})));

    // No token: 401 with a bare challenge, no error code (RFC 6750 §3.1).
    for reply in [
        env.get(format!("{}/orders", env.orders), None).await,
        env.post(
            format!("{}/orders", env.orders),
            None,
            json!({"sku": "widget", "quantity": 1}),
        )
        .await,
    ] {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.www_authenticate.as_deref(), Some("Bearer"));
        assert_ne!(reply.body["error"], "invalid_token");
    }

    let garbage = env
        .get(format!("{}/orders", env.orders), Some("not.a.jwt"))
        .await;
    assert_eq!(garbage.status, 401);
    let challenge = garbage.www_authenticate.unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert_eq!(garbage.body["error"], "invalid_token");

    // orders:read only: can list, cannot order.
    let read_only = env.partner_token("orders:read").await;
    let list = env
        .get(format!("{}/orders", env.orders), Some(&read_only))
        .await;
    assert_eq!((list.status, list.body), (200, json!([])));

    // Malformed Authorization headers are 400 invalid_request, also once the token is cached (a
    // cache hit is looked up by the exact bytes, before the syntax check).
    let url = format!("{}/orders", env.orders);
    let malformed: [Vec<(&str, Vec<u8>)>; 3] = [
        vec![(
            "authorization",
            format!("Bearer {read_only} x").into_bytes(),
        )],
        vec![("authorization", b"Bearer \xff\xfe.a.b".to_vec())],
        vec![
            ("authorization", format!("Bearer {read_only}").into_bytes()),
            ("authorization", format!("Bearer {read_only}").into_bytes()),
        ],
    ];
    for headers in malformed {
        let mut req = env.s.http.get(url.clone());
        for (name, value) in &headers {
            let value = reqwest::header::HeaderValue::from_bytes(value).unwrap();
            req = req.header(*name, value);
        }
        let reply = env.send(req, None).await;
        assert_eq!(reply.status, 400, "{headers:?}: {reply:?}");
        assert_eq!(reply.body["error"], "invalid_request", "{headers:?}");
        let challenge = reply.www_authenticate.unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
    }
    // Surrounding whitespace is not part of the token: still the cached token, still admitted.
    let spaced = env
        .send(
            env.s
                .http
                .get(url.clone())
                .header("authorization", format!("bearer   {read_only}  ")),
            None,
        )
        .await;
    assert_eq!(spaced.status, 200, "{spaced:?}");
    let denied = env.order(&read_only, "widget", 1).await;
    assert_eq!(denied.status, 403);
    let challenge = denied.www_authenticate.unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"orders:write\""), "{challenge}");
    assert_eq!(denied.body["error"], "insufficient_scope");
    assert_eq!(
        env.available("widget"),
        Some(10),
        "inventory was not called"
    );
    assert_eq!(env.token_fetches(), 0);
}

async fn audiences_are_enforced(backend: Backend) {
    let env = Env::start(backend, true).await;
    // The right scopes, but issued for inventory: orders-service refuses it.
    let confused = env
        .s
        .client(
            "confused",
            Alg::Es256,
            &["orders:read", "orders:write"],
            &[INVENTORY],
        )
        .await;
    let for_inventory = env
        .token(&confused, "orders:read orders:write", INVENTORY)
        .await;
    let reply = env
        .get(format!("{}/orders", env.orders), Some(&for_inventory))
        .await;
    assert_eq!(reply.status, 401);
    let challenge = reply.www_authenticate.unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    // The reason (wrong audience) is logged, not told to the caller.
    assert!(
        challenge.contains("the access token is invalid"),
        "{challenge}"
    );

    // The reserve scope, but issued for orders: inventory refuses it, and nothing is reserved.
    let sneaky = env
        .s
        .client("sneaky", Alg::Rs256, &["inventory:reserve"], &[ORDERS])
        .await;
    let for_orders = env.token(&sneaky, "inventory:reserve", ORDERS).await;
    let reply = env
        .post(
            format!("{}/reservations", env.inventory),
            Some(&for_orders),
            json!({"sku": "widget", "quantity": 1}),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["error"], "invalid_token");
    assert!(
        reply
            .www_authenticate
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    // A partner's orders token cannot be replayed at inventory either.
    let partner = env.partner_token("orders:write").await;
    let reply = env
        .get(format!("{}/items/widget", env.inventory), Some(&partner))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(env.available("widget"), Some(10));
}

async fn insufficient_stock_changes_nothing(backend: Backend) {
    let env = Env::start(backend, true).await;
    let token = env.partner_token("orders:read orders:write").await;
    let refused = env.order(&token, "gadget", 4).await;
    assert_eq!(
        (refused.status, refused.body),
        (409, json!({"error": "insufficient_stock"}))
    );
    assert_eq!(env.available("gadget"), Some(3), "stock unchanged");
    let list = env
        .get(format!("{}/orders", env.orders), Some(&token))
        .await;
    assert_eq!(list.body, json!([]), "no order stored");

    let unknown = env.order(&token, "nope", 1).await;
    assert_eq!(
        (unknown.status, unknown.body),
        (404, json!({"error": "unknown_sku"}))
    );

    // Exactly the stock is fine, and then there is none.
    assert_eq!(env.order(&token, "gadget", 3).await.status, 201);
    assert_eq!(env.available("gadget"), Some(0));
    assert_eq!(env.order(&token, "gadget", 1).await.status, 409);
}

async fn inventory_validates_reservations(backend: Backend) {
    let env = Env::start(backend, true).await;
    let (id, secret) = env
        .s
        .client(
            "inv-client",
            Alg::Es256,
            &["inventory:reserve", "inventory:read"],
            &[INVENTORY],
        )
        .await;
    let creds = (id, secret);
    let token = env.token(&creds, "inventory:reserve", INVENTORY).await;
    let url = format!("{}/reservations", env.inventory);

    for (body, why) in [
        (json!({"sku": "widget", "quantity": 0}), "quantity 0"),
        (
            json!({"sku": "widget", "quantity": 1001}),
            "quantity over 1000",
        ),
        (
            json!({"sku": "widget", "quantity": -1}),
            "negative quantity",
        ),
        (
            json!({"sku": "widget", "quantity": 1, "price": 0}),
            "unknown field",
        ),
        (json!({"sku": "widget"}), "missing field"),
    ] {
        let reply = env.post(url.clone(), Some(&token), body).await;
        assert_eq!(reply.status, 400, "{why}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "invalid_request", "{why}");
        assert!(reply.body["error_description"].is_string(), "{why}");
    }
    let malformed = env
        .send(
            env.s
                .http
                .post(url.clone())
                .header("content-type", "application/json")
                .body("{\"sku\": "),
            Some(&token),
        )
        .await;
    assert_eq!(
        (malformed.status, &malformed.body["error"]),
        (400, &json!("invalid_request"))
    );
    let not_json = env
        .send(
            env.s.http.post(url.clone()).body("sku=widget"),
            Some(&token),
        )
        .await;
    assert_eq!(not_json.status, 415);

    let unknown = env
        .post(
            url.clone(),
            Some(&token),
            json!({"sku": "nope", "quantity": 1}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body),
        (404, json!({"error": "unknown_sku"}))
    );
    assert_eq!(env.available("widget"), Some(10), "nothing reserved so far");

    let ok = env
        .post(
            url.clone(),
            Some(&token),
            json!({"sku": "widget", "quantity": 4}),
        )
        .await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.body["sku"], "widget");
    assert_eq!(ok.body["quantity"], 4);
    let rid = ok.body["reservation_id"].as_str().unwrap();
    let r = env.inventory_state.stock().reservation(rid).unwrap();
    assert_eq!(r.client_id.as_deref(), Some("inv-client"));
    assert_eq!(env.available("widget"), Some(6));

    // inventory:read cannot reserve.
    let reader = env.token(&creds, "inventory:read", INVENTORY).await;
    let denied = env
        .post(url, Some(&reader), json!({"sku": "widget", "quantity": 1}))
        .await;
    assert_eq!(denied.status, 403);
    assert!(
        denied
            .www_authenticate
            .unwrap()
            .contains("scope=\"inventory:reserve\"")
    );
    let missing = env
        .get(format!("{}/items/nope", env.inventory), Some(&reader))
        .await;
    assert_eq!(
        (missing.status, missing.body),
        (404, json!({"error": "unknown_sku"}))
    );
}

async fn inventory_down_is_503(backend: Backend) {
    let env = Env::start(backend, false).await;
    let token = env.partner_token("orders:read orders:write").await;
    let reply = env.order(&token, "widget", 1).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["error"], "inventory_unavailable");
    let text = reply.body.to_string();
    assert!(
        !text.contains("127.0.0.1") && !text.contains("connect"),
        "no internals: {text}"
    );
    assert_eq!(
        env.token_fetches(),
        1,
        "the IdP was reached, inventory was not"
    );
    let list = env
        .get(format!("{}/orders", env.orders), Some(&token))
        .await;
    assert_eq!(list.body, json!([]));

    // Bad input is refused before any call.
    let bad = env.order(&token, "widget", 0).await;
    assert_eq!(
        (bad.status, &bad.body["error"]),
        (400, &json!("invalid_request"))
    );
}

/// `keys revoke` of the key that signed a partner's token: orders-service refuses the token from
/// its next revocation-feed poll (not after the JWKS `max-age`), and a new token, signed by the
/// successor that signs at once, is accepted through the service's unknown-kid refetch.
async fn an_emergency_key_revocation_reaches_the_service_at_its_next_poll(backend: Backend) {
    let env = Env::start(backend, true).await;
    let old = env.partner_token("orders:read").await;
    let url = format!("{}/orders", env.orders);
    assert_eq!(env.get(url.clone(), Some(&old)).await.status, 200);
    let kid = tests::decode_segment(&old, 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    env.s.app.keys.revoke(&kid).await.unwrap();
    // Until the service polls, it knows nothing (no call to the IdP per request).
    assert_eq!(env.get(url.clone(), Some(&old)).await.status, 200);
    env.orders_state
        .verifier()
        .refresh_revocations()
        .await
        .unwrap();
    let refused = env.get(url.clone(), Some(&old)).await;
    assert_eq!(refused.status, 401, "{:?}", refused.body);
    assert!(
        refused
            .www_authenticate
            .as_deref()
            .is_some_and(|h| h.contains("invalid_token")),
        "{refused:?}"
    );
    let new = env.partner_token("orders:read").await;
    assert_ne!(tests::decode_segment(&new, 0)["kid"], kid.as_str());
    assert_eq!(env.get(url, Some(&new)).await.status, 200);
}
