//! The client-credentials grant, happy paths.

use auth_core::Alg;
use tests::{Backend, TestServer, assert_json_no_store, verify};

tests::on_both_backends!(
    es256_token_is_an_rfc9068_jwt,
    rs256_client_gets_rs256,
    post_auth_scopes_and_resources,
);

async fn es256_token_is_an_rfc9068_jwt(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (id, secret) = s
        .client(
            "svc-a",
            Alg::Es256,
            &["orders:read", "orders:write"],
            &["https://orders.example"],
        )
        .await;
    let res = s
        .post_token(
            "grant_type=client_credentials",
            &[("authorization", &tests::basic(&id, &secret))],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_json_no_store(&res);
    assert_eq!(res.headers()["pragma"], "no-cache");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(
        body["scope"], "orders:read",
        "default scope when none requested"
    );

    let token = body["access_token"].as_str().unwrap();
    let (header, claims) = verify(token, &s.jwks().await);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let now = tests::now(&s.clock);
    assert_eq!(claims["iss"], s.base.as_str());
    assert_eq!(claims["sub"], "svc-a");
    assert_eq!(claims["client_id"], "svc-a");
    assert_eq!(claims["aud"], "https://orders.example");
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 900);
    assert_eq!(claims["scope"], "orders:read");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22));

    let again = s.cc_token(&id, &secret, "").await;
    let (_, claims2) = verify(again["access_token"].as_str().unwrap(), &s.jwks().await);
    assert_ne!(claims["jti"], claims2["jti"], "every token has its own jti");
}

async fn rs256_client_gets_rs256(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (id, secret) = s
        .client("svc-rsa", Alg::Rs256, &["a"], &["urn:example:api"])
        .await;
    let body = s.cc_token(&id, &secret, "").await;
    let (header, claims) = verify(body["access_token"].as_str().unwrap(), &s.jwks().await);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["aud"], "urn:example:api");
}

async fn post_auth_scopes_and_resources(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (id, secret) = s
        .client(
            "svc-b",
            Alg::Es256,
            &["r", "w", "x"],
            &["https://one.example", "https://two.example"],
        )
        .await;
    let body = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=w+r&resource=https%3A%2F%2Ftwo.example"
    );
    let res = s.post_token(body, &[]).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "w r");
    let (_, claims) = verify(body["access_token"].as_str().unwrap(), &s.jwks().await);
    assert_eq!(claims["aud"], "https://two.example");
    assert_eq!(claims["scope"], "w r");

    // Two resources: both audiences. No resource: every allowed resource.
    let both = s
        .cc_token(
            &id,
            &secret,
            "&resource=https://one.example&resource=https://two.example",
        )
        .await;
    let (_, claims) = verify(both["access_token"].as_str().unwrap(), &s.jwks().await);
    assert_eq!(
        claims["aud"],
        serde_json::json!(["https://one.example", "https://two.example"])
    );
    let all = s.cc_token(&id, &secret, "").await;
    let (_, claims) = verify(all["access_token"].as_str().unwrap(), &s.jwks().await);
    assert_eq!(
        claims["aud"],
        serde_json::json!(["https://one.example", "https://two.example"])
    );
}
