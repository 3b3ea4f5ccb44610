//! A client's `jwks_uri`: fetched over http on 127.0.0.1 (loopback is the only place plain http is
//! allowed), cached, refetched for a new `kid` at most once per cooldown, and refused when it
//! redirects, is too large or has too many keys.

use serde_json::json;
use tests::pkjwt::{ClientKeyPair, JwksAnswer, JwksServer, claims, form, post, register};
use tests::{Backend, TestServer};

tests::on_both_backends!(rotation_and_cooldown, bad_documents_are_refused);

/// The cooldown of `JwksSettings::default()`.
const COOLDOWN: i64 = 30;

async fn token(s: &TestServer, key: &ClientKeyPair, id: &str) -> (u16, serde_json::Value) {
    let a = key.sign(&claims(
        id,
        &format!("{}/token", s.base),
        tests::now(&s.clock),
    ));
    post(s, "/token", form(&a, "&grant_type=client_credentials")).await
}

async fn rotation_and_cooldown(backend: Backend) {
    let s = TestServer::start(backend).await;
    let old = ClientKeyPair::new("ES256", Some("2026-01"));
    let new = ClientKeyPair::new("RS256", Some("2026-02"));
    let server = JwksServer::start(JwksAnswer::Keys(ClientKeyPair::set(&[&old]))).await;
    register(&s, "rotating", None, Some(server.url.clone())).await;

    let (status, body) = token(&s, &old, "rotating").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.hits(), 1);
    let (status, _) = token(&s, &old, "rotating").await;
    assert_eq!(status, 200);
    assert_eq!(server.hits(), 1, "served from the cache");

    // The partner rotates: the new key is published and used at once.
    server.set(JwksAnswer::Keys(ClientKeyPair::set(&[&old, &new])));
    s.clock.advance(COOLDOWN + 1);
    let (status, body) = token(&s, &new, "rotating").await;
    assert_eq!(status, 200, "new kid picked up by a refetch: {body}");
    assert_eq!(server.hits(), 2);

    // Another unknown kid right after: no refetch within the cooldown.
    let newer = ClientKeyPair::new("ES256", Some("2026-03"));
    server.set(JwksAnswer::Keys(ClientKeyPair::set(&[&new, &newer])));
    let (status, body) = token(&s, &newer, "rotating").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(server.hits(), 2, "cooldown honoured");
    s.clock.advance(COOLDOWN - 1);
    let (status, _) = token(&s, &newer, "rotating").await;
    assert_eq!(status, 401);
    assert_eq!(server.hits(), 2, "still cooling down");
    s.clock.advance(2);
    let (status, body) = token(&s, &newer, "rotating").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.hits(), 3);
    // The old key is gone from the set now.
    s.clock.advance(COOLDOWN + 1);
    let (status, _) = token(&s, &old, "rotating").await;
    assert_eq!(status, 401, "a key removed by the partner stops working");
}

async fn bad_documents_are_refused(backend: Backend) {
    let s = TestServer::start(backend).await;
    let key = ClientKeyPair::new("ES256", Some("k"));
    let good = JwksServer::start(JwksAnswer::Keys(ClientKeyPair::set(&[&key]))).await;

    let redirecting = JwksServer::start(JwksAnswer::Redirect(good.url.clone())).await;
    register(&s, "redirected", None, Some(redirecting.url.clone())).await;
    let (status, body) = token(&s, &key, "redirected").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(redirecting.hits(), 1);
    assert_eq!(good.hits(), 0, "the redirect was not followed");

    let big = JwksServer::start(JwksAnswer::Oversized(70 * 1024)).await;
    register(&s, "oversized", None, Some(big.url.clone())).await;
    let (status, body) = token(&s, &key, "oversized").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(big.hits(), 1);

    let many: Vec<ClientKeyPair> = (0..21)
        .map(|i| ClientKeyPair::new("ES256", Some(&format!("k{i}"))))
        .collect();
    let doc = json!({"keys": many.iter().map(|k| k.public.clone()).collect::<Vec<_>>()});
    let crowded = JwksServer::start(JwksAnswer::Keys(doc)).await;
    register(&s, "crowded", None, Some(crowded.url.clone())).await;
    let (status, body) = token(&s, &many[0], "crowded").await;
    assert_eq!(status, 401, "more keys than the cap: {body}");

    // A failed fetch is not retried before the cooldown, even when the document is fixed.
    redirecting.set(JwksAnswer::Keys(ClientKeyPair::set(&[&key])));
    let (status, _) = token(&s, &key, "redirected").await;
    assert_eq!(status, 401);
    assert_eq!(redirecting.hits(), 1);
    s.clock.advance(COOLDOWN + 1);
    let (status, body) = token(&s, &key, "redirected").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(redirecting.hits(), 2);

    // Unusable keys in a fetched set are skipped, the usable ones work.
    let mixed = json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "kid": "p384"},
        key.public,
    ]});
    let skipping = JwksServer::start(JwksAnswer::Keys(mixed)).await;
    register(&s, "skipping", None, Some(skipping.url.clone())).await;
    let (status, body) = token(&s, &key, "skipping").await;
    assert_eq!(status, 200, "{body}");
}
