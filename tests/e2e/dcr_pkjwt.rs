//! Dynamic registration of a `private_key_jwt` client (RFC 7591 §2 `token_endpoint_auth_method`,
//! `jwks`, `jwks_uri`), on SQLite and PostgreSQL: it gets no secret, authenticates with an
//! assertion signed by its registered key, its keys are answered back, and an update cannot turn it
//! into a secret client (or drop its keys).

use reqwest::Method;
use serde_json::json;
use tests::dcr::{call, dcr_server, initial_token, register};
use tests::pkjwt::{ClientKeyPair, claims, form};
use tests::{Backend, now};

tests::on_both_backends!(a_private_key_jwt_client_registers_and_authenticates_with_its_key);

async fn a_private_key_jwt_client_registers_and_authenticates_with_its_key(b: Backend) {
    let s = dcr_server(b).await;
    let (_, token) = initial_token(&s, &["api.read"], Some(5), None).await;
    let key = ClientKeyPair::new("ES256", Some("k1"));
    let jwks = ClientKeyPair::set(&[&key]);
    let r = register(
        &s,
        Some(&token),
        &json!({
            "grant_types": ["client_credentials"], "response_types": [],
            "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks, "scope": "api.read",
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("client_secret").is_none(), "{}", r.body);
    assert_eq!(r.body["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(r.body["jwks"], jwks);
    let id = r.str("client_id");
    let manage = r.str("registration_access_token");
    let uri = r.str("registration_client_uri");

    // An assertion signed by the registered key gets a token.
    let aud = format!("{}/token", s.base);
    let assertion = key.sign(&claims(&id, &aud, now(&s.clock)));
    let res = s
        .post_token(form(&assertion, "&grant_type=client_credentials"), &[])
        .await;
    assert_eq!(res.status(), 200);
    // Another key, unregistered, does not.
    let other = ClientKeyPair::new("ES256", Some("k1"));
    let forged = other.sign(&claims(&id, &aud, now(&s.clock)));
    let res = s
        .post_token(form(&forged, "&grant_type=client_credentials"), &[])
        .await;
    assert_eq!(res.status(), 401);

    // RFC 7592 read-back shows the keys; an update cannot switch to a secret or drop the keys.
    let read = call(&s, Method::GET, &uri, Some(&manage), None).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["jwks"], jwks);
    let to_secret = json!({
        "client_id": id, "grant_types": ["client_credentials"], "response_types": [],
        "token_endpoint_auth_method": "client_secret_basic", "scope": "api.read",
    });
    call(&s, Method::PUT, &uri, Some(&manage), Some(&to_secret))
        .await
        .assert_refused("invalid_client_metadata");
    let no_keys = json!({
        "client_id": id, "grant_types": ["client_credentials"], "response_types": [],
        "token_endpoint_auth_method": "private_key_jwt", "scope": "api.read",
    });
    call(&s, Method::PUT, &uri, Some(&manage), Some(&no_keys))
        .await
        .assert_refused("invalid_client_metadata");
    // Moving to a key URL is an update like any other.
    let to_uri = json!({
        "client_id": id, "grant_types": ["client_credentials"], "response_types": [],
        "token_endpoint_auth_method": "private_key_jwt", "scope": "api.read",
        "jwks_uri": "https://partner.example/jwks.json",
    });
    let moved = call(&s, Method::PUT, &uri, Some(&manage), Some(&to_uri)).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["jwks_uri"], "https://partner.example/jwks.json");
    assert!(moved.body.get("jwks").is_none());
}
