//! `/admin/v1/keys` (list, rotate, revoke) with their audit events, and the documented bootstrap:
//! the first admin client made with the CLI, then client credentials, then the admin API.

use reqwest::Method;
use serde_json::json;
use tests::admin::{ADMIN_SCOPES, AdminServer, problem};
use tests::{Backend, on_both_backends};

use crate::cli::{cli, cli_config};

on_both_backends!(keys_rotate_and_revoke, the_cli_bootstraps_the_first_admin);

async fn keys_rotate_and_revoke(b: Backend) {
    let a = AdminServer::start(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let before = a.expect(Method::GET, "/keys", &token, None, 200).await;
    let before = before["keys"].as_array().unwrap().clone();
    assert_eq!(before.len(), 2);
    // Rotate RS256: a pending key, published, one event.
    let r = a
        .expect(
            Method::POST,
            "/keys/rotate",
            &token,
            Some(&json!({"alg": "RS256"})),
            200,
        )
        .await;
    assert_eq!(r["results"][0]["outcome"], "created");
    assert_eq!(r["results"][0]["alg"], "RS256");
    let pending = r["results"][0]["kid"].as_str().unwrap().to_owned();
    // Again: already pending, nothing created, no second event.
    let again = a
        .expect(
            Method::POST,
            "/keys/rotate",
            &token,
            Some(&json!({"alg": "RS256"})),
            200,
        )
        .await;
    assert_eq!(again["results"][0]["outcome"], "already_pending");
    let keys = a.expect(Method::GET, "/keys", &token, None, 200).await;
    let p = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == pending.as_str())
        .unwrap()
        .clone();
    assert_eq!(p["state"], "pending");
    assert!(a.s.jwks().await.to_string().contains(&pending));
    let rotated = a
        .expect(
            Method::GET,
            "/audit-events?type=key.rotated",
            &token,
            None,
            200,
        )
        .await;
    let by_ops: Vec<_> = rotated["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_id"] == "ops")
        .collect();
    assert_eq!(by_ops.len(), 1);
    assert_eq!(by_ops[0]["subject"], pending.as_str());
    problem(
        a.call(
            Method::POST,
            "/keys/rotate",
            Some(&token),
            Some(&json!({"alg": "HS256"})),
        )
        .await,
        400,
    )
    .await;
    // Revoke the signing ES256 key: out of the JWKS, a successor signs, one event.
    let es = before.iter().find(|k| k["alg"] == "ES256").unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let rv = a
        .expect(
            Method::POST,
            &format!("/keys/{es}/revoke"),
            &token,
            None,
            200,
        )
        .await;
    assert_eq!(rv["alg"], "ES256");
    let successor = rv["successor"].as_str().unwrap().to_owned();
    assert!(!a.s.jwks().await.to_string().contains(&es));
    assert!(a.s.jwks().await.to_string().contains(&successor));
    // Twice: 409, and no second event; unknown kid: 404.
    let p = problem(
        a.call(
            Method::POST,
            &format!("/keys/{es}/revoke"),
            Some(&token),
            None,
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["type"], "urn:auth-server:problem:already_revoked");
    problem(
        a.call(Method::POST, "/keys/nope/revoke", Some(&token), None)
            .await,
        404,
    )
    .await;
    let revoked = a
        .expect(
            Method::GET,
            "/audit-events?type=key.revoked",
            &token,
            None,
            200,
        )
        .await;
    let revoked = revoked["events"].as_array().unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["subject"], es.as_str());
    assert_eq!(revoked[0]["detail"]["successor"], successor.as_str());
    let keys = a.expect(Method::GET, "/keys", &token, None, 200).await;
    let k = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == es.as_str())
        .unwrap()
        .clone();
    assert_eq!(k["state"], "revoked");
    assert!(k["revoked_at"].is_i64());
}

async fn the_cli_bootstraps_the_first_admin(b: Backend) {
    let a = AdminServer::start(b).await;
    let config = cli_config(&a.s.db_url);
    let audience = a.audience();
    let out = cli(
        &config,
        &a.s.clock,
        &[
            "client",
            "create",
            "--name",
            "ops",
            "--id",
            "ops",
            "--scope",
            "admin:read",
            "--scope",
            "admin:write",
            "--resource",
            &audience,
            "--json",
        ],
    )
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let secret = v["client_secret"].as_str().unwrap();
    let t =
        a.s.cc_token("ops", secret, "&scope=admin:read%20admin:write")
            .await;
    let token = t["access_token"].as_str().unwrap();
    let list = a.expect(Method::GET, "/clients", token, None, 200).await;
    assert_eq!(list["clients"][0]["client_id"], "ops");
    // The CLI's change is in the trail, by `cli`.
    let ev = a
        .expect(Method::GET, "/audit-events?client=ops", token, None, 200)
        .await;
    assert_eq!(ev["events"][0]["type"], "client.created");
    assert_eq!(ev["events"][0]["actor_id"], "cli");
    // And the CLI deletes a client with its event, too.
    let body = json!({"client_id": "tmp", "name": "tmp"});
    a.expect(Method::POST, "/clients", token, Some(&body), 201)
        .await;
    cli(&config, &a.s.clock, &["client", "delete", "tmp"])
        .await
        .unwrap();
    let ev = a
        .expect(
            Method::GET,
            "/audit-events?client=tmp&type=client.deleted",
            token,
            None,
            200,
        )
        .await;
    assert_eq!(ev["events"][0]["actor_id"], "cli");
    problem(
        a.call(Method::GET, "/clients/tmp", Some(token), None).await,
        404,
    )
    .await;
}
