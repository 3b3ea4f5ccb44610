//! Rate limits apply to `private_key_jwt` clients as to secret clients, on both databases: a
//! client authenticating with assertions (RFC 7523 §2.2) is held to its per-client limit, and a
//! refused assertion counts as a failed client authentication against the source address. Time
//! moves on the injected clock: nothing sleeps.

use serde_json::Value;
use tests::pkjwt::{ClientKeyPair, claims, form, register_with_jwks};
use tests::{Backend, TestServer, on_both_backends};

on_both_backends!(
    a_key_authenticated_client_is_rate_limited,
    refused_assertions_count_against_the_address,
);

/// `POST /token` (client credentials) with an assertion for `id` signed by `key` at the clock's
/// now: status, `Retry-After`, JSON body.
async fn token(s: &TestServer, key: &ClientKeyPair, id: &str) -> (u16, Option<u64>, Value) {
    let a = key.sign(&claims(
        id,
        &format!("{}/token", s.base),
        tests::now(&s.clock),
    ));
    let res = s
        .post_raw("/token", form(&a, "&grant_type=client_credentials"), &[])
        .await;
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

async fn a_key_authenticated_client_is_rate_limited(b: Backend) {
    let s = TestServer::start_with(b, |c| c.rate_limits.per_client = "3/min".into()).await;
    let key = ClientKeyPair::new("ES256", Some("k1"));
    register_with_jwks(&s, "partner", &ClientKeyPair::set(&[&key])).await;
    for _ in 0..3 {
        let (status, _, body) = token(&s, &key, "partner").await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, retry, body) = token(&s, &key, "partner").await;
    assert_eq!((status, retry), (429, Some(20)), "{body}");
    assert_eq!(body["error"], "slow_down");
    s.clock.advance(20);
    assert_eq!(token(&s, &key, "partner").await.0, 200);
    assert_eq!(token(&s, &key, "partner").await.0, 429);
}

async fn refused_assertions_count_against_the_address(b: Backend) {
    let s = TestServer::start_with(b, |c| {
        c.rate_limits.failed_auth_per_address = "6/min,burst=2".into();
    })
    .await;
    let key = ClientKeyPair::new("ES256", Some("k1"));
    register_with_jwks(&s, "partner", &ClientKeyPair::set(&[&key])).await;
    // Another key under the client's kid: a forged assertion, refused with invalid_client...
    let forger = ClientKeyPair::new("ES256", Some("k1"));
    for _ in 0..2 {
        let (status, _, body) = token(&s, &forger, "partner").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client");
    }
    // ... and counted: past the burst the address is answered 429, even with a good assertion.
    let (status, retry, body) = token(&s, &forger, "partner").await;
    assert_eq!((status, retry), (429, Some(10)), "{body}");
    assert_eq!(body["error"], "slow_down");
    assert_eq!(token(&s, &key, "partner").await.0, 429);
    s.clock.advance(10);
    let (status, _, body) = token(&s, &key, "partner").await;
    assert_eq!(status, 200, "{body}");
}
