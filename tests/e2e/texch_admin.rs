//! A client's token-exchange policy set by an administrator: the admin API
//! (`/admin/v1/clients/{client_id}/token-exchange`, with its audit events) and the command line
//! (`client set-token-exchange`).

use reqwest::Method;
use serde_json::json;
use tests::admin::{ADMIN_SCOPES, AdminServer, problem};
use tests::oauth::first_party;
use tests::texch::{INVENTORY, ORDERS};
use tests::{Backend, TestServer};

use crate::cli::{cli, cli_config};

tests::on_both_backends!(policy_through_the_admin_api, policy_from_the_command_line);

const PATH: &str = "/clients/orders/token-exchange";

async fn policy_through_the_admin_api(backend: Backend) {
    let a = AdminServer::start(backend).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    a.s.client("orders", auth_core::Alg::Es256, &[], &[]).await;
    problem(a.call(Method::GET, PATH, Some(&token), None).await, 404).await;

    let body = json!({"subject_audiences": [ORDERS], "audiences": [INVENTORY],
        "scopes": ["inventory:reserve"]});
    let set = a.expect(Method::PUT, PATH, &token, Some(&body), 200).await;
    assert_eq!(set["client_id"], "orders");
    assert_eq!(set["subject_audiences"], json!([ORDERS]));
    assert_eq!(set["audiences"], json!([INVENTORY]));
    assert_eq!(set["scopes"], json!(["inventory:reserve"]));
    assert_eq!(set["impersonation"], false);
    assert_eq!(a.expect(Method::GET, PATH, &token, None, 200).await, set);
    let events = a
        .expect(
            Method::GET,
            "/audit-events?client=orders&type=client.updated",
            &token,
            None,
            200,
        )
        .await;
    let changed = &events["events"][0]["detail"]["changed"];
    assert_eq!(changed, &json!(["token_exchange"]), "{events}");

    // Bad input: 400; unknown clients: 404; a public client cannot have one.
    for bad in [
        json!({"subject_audiences": [], "audiences": [INVENTORY]}),
        json!({"subject_audiences": [ORDERS], "audiences": ["inventory"]}),
        json!({"subject_audiences": [ORDERS], "audiences": [INVENTORY], "scopes": ["a b"]}),
        json!({"subject_audiences": [ORDERS], "audiences": [INVENTORY], "extra": 1}),
        json!({"audiences": [INVENTORY]}),
    ] {
        problem(
            a.call(Method::PUT, PATH, Some(&token), Some(&bad)).await,
            400,
        )
        .await;
    }
    let nobody = "/clients/nobody/token-exchange";
    problem(
        a.call(Method::PUT, nobody, Some(&token), Some(&body)).await,
        404,
    )
    .await;
    problem(
        a.call(Method::DELETE, nobody, Some(&token), None).await,
        404,
    )
    .await;
    a.s.web_client("spa", first_party().public()).await;
    let spa = "/clients/spa/token-exchange";
    problem(
        a.call(Method::PUT, spa, Some(&token), Some(&body)).await,
        400,
    )
    .await;
    // Reading needs admin:read, changing admin:write.
    let reader = a.token("reader", &["admin:read"]).await;
    assert_eq!(
        a.call(Method::PUT, PATH, Some(&reader), Some(&body))
            .await
            .status(),
        403
    );

    a.expect(Method::DELETE, PATH, &token, None, 204).await;
    problem(a.call(Method::GET, PATH, Some(&token), None).await, 404).await;
    a.expect(Method::DELETE, PATH, &token, None, 204).await;
}

async fn policy_from_the_command_line(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.client("orders", auth_core::Alg::Es256, &[], &[]).await;
    let config = cli_config(&s.db_url);
    let args = [
        "client",
        "set-token-exchange",
        "orders",
        "--subject-audience",
        ORDERS,
        "--audience",
        INVENTORY,
        "--scope",
        "inventory:reserve",
        "--impersonation",
        "--json",
    ];
    let out = cli(&config, &s.clock, &args).await.unwrap();
    let set: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(set["audiences"], json!([INVENTORY]));
    assert_eq!(set["impersonation"], true);
    let stored = s
        .app
        .clients
        .token_exchange_policy("orders")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.impersonation);
    assert_eq!(stored.subject_audiences.to_string(), ORDERS);
    // `client show` tells the policy, in words and in JSON.
    let shown = cli(&config, &s.clock, &["client", "show", "orders"])
        .await
        .unwrap();
    assert!(
        shown.contains(&format!("into tokens for {INVENTORY}")) && shown.contains("impersonation"),
        "{shown}"
    );
    let show_json = ["client", "show", "orders", "--json"];
    let shown: serde_json::Value =
        serde_json::from_str(&cli(&config, &s.clock, &show_json).await.unwrap()).unwrap();
    assert_eq!(shown["token_exchange"], set);

    let off = ["client", "set-token-exchange", "orders", "--off"];
    let out = cli(&config, &s.clock, &off).await.unwrap();
    assert!(out.contains("token exchange off"), "{out}");
    let shown = cli(&config, &s.clock, &["client", "show", "orders"])
        .await
        .unwrap();
    assert!(shown.contains("token exchange off"), "{shown}");
    let shown: serde_json::Value =
        serde_json::from_str(&cli(&config, &s.clock, &show_json).await.unwrap()).unwrap();
    assert_eq!(shown["token_exchange"], serde_json::Value::Null);
    assert_eq!(
        s.app.clients.token_exchange_policy("orders").await.unwrap(),
        None
    );

    let missing = [
        "client",
        "set-token-exchange",
        "orders",
        "--audience",
        INVENTORY,
    ];
    assert!(cli(&config, &s.clock, &missing).await.is_err());
    let both = [
        "client",
        "set-token-exchange",
        "orders",
        "--off",
        "--audience",
        INVENTORY,
    ];
    assert!(cli(&config, &s.clock, &both).await.is_err());
    let nobody = ["client", "set-token-exchange", "nobody", "--off"];
    let err = cli(&config, &s.clock, &nobody).await.unwrap_err();
    assert!(err.contains("no client"), "{err}");
    let bad = [
        "client",
        "set-token-exchange",
        "orders",
        "--subject-audience",
        ORDERS,
        "--audience",
        "x",
    ];
    assert!(cli(&config, &s.clock, &bad).await.is_err());
}
