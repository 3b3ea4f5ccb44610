//! The admin API's framework: bearer authentication with this IdP's own tokens (audience, scopes,
//! revocation), RFC 9457 problems for every error, where it is served, and its OpenAPI document.

use reqwest::Method;
use serde_json::json;
use tests::admin::{ADMIN_SCOPES, AdminServer, problem};
use tests::{Backend, TestServer, on_both_backends};

on_both_backends!(
    tokens_are_checked,
    a_revoked_admin_token_stops_working,
    errors_are_problems,
);

async fn tokens_are_checked(b: Backend) {
    let a = AdminServer::start(b).await;
    // No token: 401 with a bare challenge (RFC 6750 §3.1: no error code when no credentials).
    let res = a.call(Method::GET, "/keys", None, None).await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"admin\"");
    problem(res, 401).await;
    // A garbage token: invalid_token.
    let res = a
        .call(Method::GET, "/keys", Some("not.a.token"), None)
        .await;
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    problem(res, 401).await;
    // A valid token of this IdP for another audience: refused.
    let (id, secret) =
        a.s.client(
            "orders",
            auth_core::Alg::Es256,
            &["admin:read"],
            &["https://orders.example"],
        )
        .await;
    let other = a.s.cc_access_token(&id, &secret).await;
    problem(a.call(Method::GET, "/keys", Some(&other), None).await, 401).await;
    // Read scope: reads work, writes are 403 insufficient_scope.
    let read = a.token("reader", &["admin:read"]).await;
    let keys = a.expect(Method::GET, "/keys", &read, None, 200).await;
    let list = keys["keys"].as_array().unwrap();
    assert_eq!(list.len(), 2, "one key per algorithm: {keys}");
    assert!(list.iter().all(|k| k["state"] == "active"), "{keys}");
    let res = a
        .call(Method::POST, "/keys/rotate", Some(&read), Some(&json!({})))
        .await;
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"admin:write\""), "{challenge}");
    let body = problem(res, 403).await;
    assert_eq!(body["type"], "urn:auth-server:problem:insufficient_scope");
    // Write scope alone does not read.
    let write = a.token("writer", &["admin:write"]).await;
    problem(a.call(Method::GET, "/keys", Some(&write), None).await, 403).await;
    // Both scopes: reads.
    let both = a.token("both", ADMIN_SCOPES).await;
    a.expect(Method::GET, "/keys", &both, None, 200).await;
}

async fn a_revoked_admin_token_stops_working(b: Backend) {
    let a = AdminServer::start(b).await;
    let secret = a.admin_client("ops", ADMIN_SCOPES).await;
    let token = a.s.cc_access_token("ops", &secret).await;
    a.expect(Method::GET, "/keys", &token, None, 200).await;
    // RFC 7009 revocation by the client itself; the admin verifier learns it from the feed.
    let res =
        a.s.post_raw(
            "/revoke",
            format!("token={token}"),
            &[("authorization", &tests::basic("ops", &secret))],
        )
        .await;
    assert_eq!(res.status(), 200);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let res = a.call(Method::GET, "/keys", Some(&token), None).await;
        if res.status() == 401 {
            problem(res, 401).await;
            break;
        }
        assert_eq!(res.status(), 200);
        assert!(
            tokio::time::Instant::now() < deadline,
            "revoked token still accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn errors_are_problems(b: Backend) {
    let a = AdminServer::start(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    // Unknown path: 404 problem (with or without a token).
    problem(a.call(Method::GET, "/nope", Some(&token), None).await, 404).await;
    problem(a.call(Method::GET, "/nope", None, None).await, 404).await;
    // Known path, wrong method: 405 problem.
    problem(a.call(Method::PUT, "/keys", Some(&token), None).await, 405).await;
    // The request id comes back.
    let res = a.call(Method::GET, "/keys", Some(&token), None).await;
    assert!(res.headers().contains_key("x-request-id"));
}

/// Served on the admin listener by default, on the public one when configured, nowhere when off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placement() {
    use auth_server::config::AdminApiPlacement;
    // Default: the admin listener serves it, the public one does not.
    let a = AdminServer::start(Backend::Sqlite).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    a.expect(Method::GET, "/keys", &token, None, 200).await;
    let res =
        a.s.http
            .get(format!("{}/admin/v1/keys", a.s.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 404);
    // Public: the public listener serves it (under the issuer's path), the admin one does not.
    let a =
        AdminServer::start_with(Backend::Sqlite, |c| c.admin.api = AdminApiPlacement::Public).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let res =
        a.s.http
            .get(format!("{}/admin/v1/keys", a.s.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        a.call(Method::GET, "/keys", Some(&token), None)
            .await
            .status(),
        404
    );
    // Off: neither.
    let s = TestServer::start_with(Backend::Sqlite, |c| c.admin.api = AdminApiPlacement::Off).await;
    let a = AdminServer::on(s).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    assert_eq!(
        a.call(Method::GET, "/keys", Some(&token), None)
            .await
            .status(),
        404
    );
    let res =
        a.s.http
            .get(format!("{}/admin/v1/keys", a.s.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 404);
}
