//! Registering a client that must push its authorization requests (RFC 9126 §6
//! `require_pushed_authorization_requests`), from the CLI and the admin API. SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::json;
use tests::admin::{ADMIN_SCOPES, AdminServer};
use tests::{Backend, TestServer};

use crate::cli::{cli, cli_config};

tests::on_both_backends!(
    the_cli_registers_a_client_that_must_push,
    the_admin_api_sets_and_clears_the_requirement,
);

async fn the_cli_registers_a_client_that_must_push(backend: Backend) {
    let s = TestServer::start(backend).await;
    let config = cli_config(&s.db_url);
    let args = [
        "client",
        "create",
        "--name",
        "Strict",
        "--id",
        "strict",
        "--scope",
        "openid",
        "--redirect-uri",
        "https://strict.example/cb",
        "--require-pushed-authorization-requests",
        "--json",
    ];
    let out = cli(&config, &s.clock, &args).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["require_pushed_authorization_requests"], true, "{v}");
    let stored = s.app.clients.fresh("strict").await.unwrap().unwrap();
    assert!(stored.require_pushed_authorization_requests);
    let line = cli(&config, &s.clock, &["client", "show", "strict"])
        .await
        .unwrap();
    assert!(line.contains("require_par=true"), "{line}");
    // Without the flag, a client is not required to push.
    let args = ["client", "create", "--name", "Lax", "--id", "lax", "--json"];
    let v: serde_json::Value =
        serde_json::from_str(&cli(&config, &s.clock, &args).await.unwrap()).unwrap();
    assert_eq!(v["require_pushed_authorization_requests"], false, "{v}");
}

async fn the_admin_api_sets_and_clears_the_requirement(backend: Backend) {
    let a = AdminServer::start(backend).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let body = json!({
        "client_id": "strict", "name": "Strict", "allowed_scopes": ["openid"],
        "redirect_uris": ["https://strict.example/cb"],
        "require_pushed_authorization_requests": true,
    });
    let created = a
        .expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;
    assert_eq!(
        created["client"]["require_pushed_authorization_requests"],
        true
    );
    let patch = json!({"require_pushed_authorization_requests": false});
    let patched = a
        .expect(Method::PATCH, "/clients/strict", &token, Some(&patch), 200)
        .await;
    assert_eq!(patched["require_pushed_authorization_requests"], false);
    let stored = a.s.app.clients.fresh("strict").await.unwrap().unwrap();
    assert!(!stored.require_pushed_authorization_requests);
    // The change is audited, naming the field.
    let events = a
        .expect(Method::GET, "/audit-events", &token, None, 200)
        .await;
    let named = events["events"].as_array().unwrap().iter().any(|e| {
        e["type"] == "client.updated"
            && e["detail"]
                .to_string()
                .contains("require_pushed_authorization_requests")
    });
    assert!(named, "{events}");
}
