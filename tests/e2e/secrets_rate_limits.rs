//! Per-client rate limits at `/token`, `/introspect`, `/revoke` and `/par`, on both databases: a client
//! over its limit gets 429 with `Retry-After` and a JSON error while another client is unaffected,
//! a client's own limit overrides the default, the three endpoints share one budget, failed client
//! authentications are limited per address, and refusals are counted. Time moves on the injected
//! clock: nothing sleeps.

use auth_server::telemetry::RATE_LIMITED;
use reqwest::Method;
use serde_json::{Value, json};
use tests::admin::{ADMIN_SCOPES, AdminServer};
use tests::{Backend, TestServer, basic, on_both_backends};

on_both_backends!(
    a_client_over_its_limit_waits_and_others_do_not,
    a_clients_own_limit_overrides_the_default,
    the_three_endpoints_share_one_budget,
    failed_authentications_are_limited_per_address,
);

/// `POST path` authenticated as `id`:`secret` with `body`: status, `Retry-After`, JSON body.
async fn call(
    s: &TestServer,
    path: &str,
    id: &str,
    secret: &str,
    body: &str,
) -> (u16, Option<u64>, Value) {
    let res = s
        .post_raw(
            path,
            body.to_owned(),
            &[("authorization", &basic(id, secret))],
        )
        .await;
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    if status == 429 {
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
    }
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

async fn token(s: &TestServer, id: &str, secret: &str) -> (u16, Option<u64>, Value) {
    call(s, "/token", id, secret, "grant_type=client_credentials").await
}

async fn a_client_over_its_limit_waits_and_others_do_not(b: Backend) {
    let s = TestServer::start_with(b, |c| c.rate_limits.per_client = "3/min".into()).await;
    let metrics = s.admin_listener().await;
    let (a, a_secret) = s
        .client("a", auth_core::Alg::Es256, &["x"], &["https://api.example"])
        .await;
    let (other, other_secret) = s
        .client(
            "other",
            auth_core::Alg::Es256,
            &["x"],
            &["https://api.example"],
        )
        .await;
    for _ in 0..3 {
        assert_eq!(token(&s, &a, &a_secret).await.0, 200);
    }
    let before = metrics.scrape().await;
    let (status, retry, body) = token(&s, &a, &a_secret).await;
    assert_eq!(status, 429);
    assert_eq!(retry, Some(20), "3/min: the next one in 20 s");
    assert_eq!(body["error"], "slow_down");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Retry-After")
    );
    let after = metrics.scrape().await;
    assert_eq!(
        after.delta(
            &before,
            RATE_LIMITED,
            &[("endpoint", "token"), ("limit", "client")]
        ),
        1.0
    );
    // Another client is unaffected.
    for _ in 0..3 {
        assert_eq!(token(&s, &other, &other_secret).await.0, 200);
    }
    // After Retry-After, one more.
    s.clock.advance(19);
    assert_eq!(token(&s, &a, &a_secret).await.0, 429);
    s.clock.advance(1);
    assert_eq!(token(&s, &a, &a_secret).await.0, 200);
    assert_eq!(token(&s, &a, &a_secret).await.0, 429);
}

async fn a_clients_own_limit_overrides_the_default(b: Backend) {
    let a = AdminServer::start_with(b, |c| c.rate_limits.per_client = "2/min".into()).await;
    let admin = a.token("ops", ADMIN_SCOPES).await;
    let create = |id: &str, limit: Option<&str>| json!({"client_id": id, "name": id, "allowed_scopes": ["x"], "allowed_resources": ["https://api.example"], "rate_limit": limit});
    let mut secrets = Vec::new();
    for (id, limit) in [
        ("free", Some("off")),
        ("slow", Some("1/h")),
        ("plain", None),
    ] {
        let c = a
            .expect(
                Method::POST,
                "/clients",
                &admin,
                Some(&create(id, limit)),
                201,
            )
            .await;
        assert_eq!(c["client"]["rate_limit"], json!(limit));
        secrets.push(c["client_secret"].as_str().unwrap().to_owned());
    }
    let (free, slow, plain) = (&secrets[0], &secrets[1], &secrets[2]);
    for _ in 0..10 {
        assert_eq!(token(&a.s, "free", free).await.0, 200);
    }
    assert_eq!(token(&a.s, "slow", slow).await.0, 200);
    let (status, retry, _) = token(&a.s, "slow", slow).await;
    assert_eq!((status, retry), (429, Some(3600)));
    // The default applies to a client without its own.
    assert_eq!(token(&a.s, "plain", plain).await.0, 200);
    assert_eq!(token(&a.s, "plain", plain).await.0, 200);
    assert_eq!(token(&a.s, "plain", plain).await.0, 429);
    // Back to the default, then a limit of its own again, through the admin API.
    let patched = a
        .expect(
            Method::PATCH,
            "/clients/slow",
            &admin,
            Some(&json!({"rate_limit": "default"})),
            200,
        )
        .await;
    assert_eq!(patched["rate_limit"], Value::Null);
    assert_eq!(token(&a.s, "slow", slow).await.0, 200);
    assert_eq!(token(&a.s, "slow", slow).await.0, 200);
    assert_eq!(token(&a.s, "slow", slow).await.0, 429);
    a.expect(
        Method::PATCH,
        "/clients/slow",
        &admin,
        Some(&json!({"rate_limit": "5/s,burst=4"})),
        200,
    )
    .await;
    for _ in 0..4 {
        assert_eq!(token(&a.s, "slow", slow).await.0, 200);
    }
    assert_eq!(token(&a.s, "slow", slow).await.0, 429);
    // Bad input is a 400 naming the syntax.
    for bad in ["fast", "0/s", "10/d", "5/s,burst=0"] {
        let p = a
            .call(
                Method::PATCH,
                "/clients/slow",
                Some(&admin),
                Some(&json!({ "rate_limit": bad })),
            )
            .await;
        assert_eq!(p.status(), 400, "{bad}");
        let text = p.text().await.unwrap();
        assert!(text.contains("<requests>/<s|min|h>"), "{text}");
    }
}

async fn the_three_endpoints_share_one_budget(b: Backend) {
    let s = TestServer::start_with(b, |c| c.rate_limits.per_client = "3/min".into()).await;
    let (id, secret) = s
        .client(
            "rs",
            auth_core::Alg::Es256,
            &["x"],
            &["https://api.example"],
        )
        .await;
    let (status, _, body) = token(&s, &id, &secret).await;
    assert_eq!(status, 200);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let form = format!("token={access}");
    assert_eq!(call(&s, "/introspect", &id, &secret, &form).await.0, 200);
    assert_eq!(
        call(&s, "/revoke", &id, &secret, "token=unknown").await.0,
        200
    );
    // Spent: each endpoint now refuses with Retry-After.
    for (path, body) in [
        ("/token", "grant_type=client_credentials"),
        ("/introspect", form.as_str()),
        ("/revoke", "token=unknown"),
        // A pushed authorization request is a stored row: /par spends the same budget.
        ("/par", "response_type=code&client_id=rs"),
    ] {
        let (status, retry, json) = call(&s, path, &id, &secret, body).await;
        assert_eq!((status, retry), (429, Some(20)), "{path}");
        assert_eq!(json["error"], "slow_down", "{path}");
    }
    // The default of the embedded configuration is no limit.
    let open = TestServer::start(b).await;
    let (id, secret) = open
        .client(
            "open",
            auth_core::Alg::Es256,
            &["x"],
            &["https://api.example"],
        )
        .await;
    for _ in 0..50 {
        assert_eq!(token(&open, &id, &secret).await.0, 200);
    }
}

async fn failed_authentications_are_limited_per_address(b: Backend) {
    let s = TestServer::start_with(b, |c| {
        c.rate_limits.failed_auth_per_address = "6/min,burst=2".into();
    })
    .await;
    let metrics = s.admin_listener().await;
    let (id, secret) = s
        .client(
            "good",
            auth_core::Alg::Es256,
            &["x"],
            &["https://api.example"],
        )
        .await;
    // Failures from this address (made-up ids, a wrong secret) are answered 401 up to the burst...
    assert_eq!(token(&s, "made-up", "x").await.0, 401);
    assert_eq!(token(&s, &id, "wrong").await.0, 401);
    let before = metrics.scrape().await;
    // ... then 429, and the address is refused before any lookup until Retry-After, even with good
    // credentials, at every endpoint.
    let (status, retry, body) = token(&s, "made-up-2", "x").await;
    assert_eq!((status, retry), (429, Some(10)));
    assert_eq!(body["error"], "slow_down");
    assert_eq!(token(&s, &id, &secret).await.0, 429);
    assert_eq!(call(&s, "/revoke", &id, &secret, "token=x").await.0, 429);
    let after = metrics.scrape().await;
    assert_eq!(
        after.delta(&before, RATE_LIMITED, &[("limit", "address")]),
        3.0
    );
    s.clock.advance(10);
    assert_eq!(token(&s, &id, &secret).await.0, 200);
    // Successes cost the address nothing: the client has no limit of its own here.
    for _ in 0..10 {
        assert_eq!(token(&s, &id, &secret).await.0, 200);
    }
}
