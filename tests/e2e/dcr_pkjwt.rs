//! Dynamic registration of a `private_key_jwt` client (RFC 7591 §2 `token_endpoint_auth_method`,
//! `jwks`, `jwks_uri`), on SQLite and PostgreSQL: it gets no secret, authenticates with an
//! assertion signed by its registered key, its keys are answered back, and an update cannot turn it
//! into a secret client (or drop its keys).

use reqwest::Method;
use serde_json::json;
use tests::dcr::{call, dcr_server, initial_token, register};
use tests::pkjwt::{ClientKeyPair, claims, form};
use tests::{Backend, now};

tests::on_both_backends!(
    a_private_key_jwt_client_registers_and_authenticates_with_its_key,
    dpop_and_par_requirements_are_registered,
);

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

/// RFC 9449 §5.2 `dpop_bound_access_tokens` and RFC 9126 §6 `require_pushed_authorization_requests`
/// become the client's policies: a token request without a proof is refused, and so is a plain
/// authorization request.
async fn dpop_and_par_requirements_are_registered(b: Backend) {
    let s = dcr_server(b).await;
    let (_, token) = initial_token(&s, &["openid", "api.read"], Some(5), None).await;
    let r = register(
        &s,
        Some(&token),
        &json!({
            "redirect_uris": ["https://app.partner.example/cb"],
            "grant_types": ["authorization_code"], "scope": "openid api.read",
            "dpop_bound_access_tokens": true, "require_pushed_authorization_requests": true,
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["dpop_bound_access_tokens"], true);
    assert_eq!(r.body["require_pushed_authorization_requests"], true);
    let id = r.str("client_id");
    let secret = r.str("client_secret");
    let res = s
        .post_token(
            format!(
                "grant_type=client_credentials&scope=api.read&client_id={id}&client_secret={secret}"
            ),
            &[],
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
    // A plain authorization request is refused (sent back to the registered redirect URI).
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects
        .get(format!(
            "{}/authorize?client_id={id}&response_type=code&redirect_uri=https://app.partner.example/cb&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            s.base
        ))
        .send()
        .await
        .unwrap();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        location.starts_with("https://app.partner.example/cb?error=invalid_request"),
        "{} {location}",
        res.status()
    );
}
