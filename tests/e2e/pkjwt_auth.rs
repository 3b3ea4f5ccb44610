//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3) at the token, introspection and
//! revocation endpoints: every allowed algorithm succeeds, forged assertions are refused with
//! `invalid_client`, and a client's registered method is enforced both ways.

use serde_json::{Value, json};
use tests::pkjwt::{ClientKeyPair, b64, claims, form, post, register_with_jwks};
use tests::{Backend, TestServer, basic};

tests::on_both_backends!(
    token_introspection_and_revocation,
    every_allowed_algorithm,
    forged_assertions_are_refused,
    methods_are_enforced,
);

async fn token_introspection_and_revocation(backend: Backend) {
    let s = TestServer::start(backend).await;
    let key = ClientKeyPair::new("ES256", Some("k1"));
    register_with_jwks(&s, "partner", &ClientKeyPair::set(&[&key])).await;
    let now = tests::now(&s.clock);

    let a = key.sign(&claims("partner", &format!("{}/token", s.base), now));
    let (status, body) = post(&s, "/token", form(&a, "&grant_type=client_credentials")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (_, at) = tests::verify(&token, &s.jwks().await);
    assert_eq!(at["client_id"], "partner");

    // Introspection, with an assertion for the introspection endpoint (what authlib sends).
    let a = key.sign(&claims("partner", &format!("{}/introspect", s.base), now));
    let extra = format!("&token={token}");
    let (status, body) = post(&s, "/introspect", form(&a, &extra)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], "partner");

    // Revocation, with the issuer as the audience and the client_id parameter (RFC 7523 §3).
    let a = key.sign(&claims("partner", &s.base, now));
    let extra = format!("&client_id=partner&token={token}");
    let (status, body) = post(&s, "/revoke", form(&a, &extra)).await;
    assert_eq!(status, 200, "{body}");

    let a = key.sign(&claims("partner", &s.base, now));
    let (status, body) = post(&s, "/introspect", form(&a, &format!("&token={token}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false, "revoked");
}

async fn every_allowed_algorithm(backend: Backend) {
    let s = TestServer::start(backend).await;
    let keys = [
        ClientKeyPair::new("ES256", Some("ec")),
        ClientKeyPair::new("RS256", Some("rsa")),
        ClientKeyPair::new("PS256", Some("pss")),
        ClientKeyPair::new("EdDSA", Some("ed")),
    ];
    let kidless = ClientKeyPair::new("ES256", None);
    let set = ClientKeyPair::set(&[&keys[0], &keys[1], &keys[2], &keys[3], &kidless]);
    register_with_jwks(&s, "multi", &set).await;
    let now = tests::now(&s.clock);
    let aud = format!("{}/token", s.base);
    for key in keys.iter().chain([&kidless]) {
        let a = key.sign(&claims("multi", &aud, now));
        let (status, body) = post(&s, "/token", form(&a, "&grant_type=client_credentials")).await;
        assert_eq!(status, 200, "{} {:?}: {body}", key.alg, key.kid);
    }
    // An aud array naming the token endpoint among others.
    let mut c = claims("multi", "x", now);
    c["aud"] = json!(["https://elsewhere.example", aud]);
    let (status, body) = post(
        &s,
        "/token",
        form(&keys[0].sign(&c), "&grant_type=client_credentials"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Asserts `invalid_client` (401, challenge checked by `post`), with `why` in the description.
async fn refused(s: &TestServer, path: &str, body: String, why: &str, what: &str) {
    let (status, body) = post(s, path, body).await;
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(body["error"], "invalid_client", "{what}");
    let d = body["error_description"].as_str().unwrap_or_default();
    assert!(d.contains(why), "{what}: {d:?} should say {why:?}");
}

async fn forged_assertions_are_refused(backend: Backend) {
    let s = TestServer::start(backend).await;
    let key = ClientKeyPair::new("ES256", Some("k1"));
    let rsa = ClientKeyPair::new("RS256", Some("r1"));
    register_with_jwks(&s, "victim", &ClientKeyPair::set(&[&key, &rsa])).await;
    let other = ClientKeyPair::new("ES256", Some("other-k"));
    register_with_jwks(&s, "other", &ClientKeyPair::set(&[&other])).await;
    let now = tests::now(&s.clock);
    let aud = format!("{}/token", s.base);
    let cc = "&grant_type=client_credentials";
    let good = || claims("victim", &aud, now);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = good();
        f(&mut c);
        c
    };

    // A key the client did not register, under its kid.
    let stranger = ClientKeyPair::new("ES256", Some("k1"));
    let a = stranger.sign(&good());
    refused(&s, "/token", form(&a, cc), "signature", "wrong key").await;
    // Another client's key (and kid).
    let a = other.sign(&good());
    refused(
        &s,
        "/token",
        form(&a, cc),
        "no registered key",
        "another client's key",
    )
    .await;
    // Another client's key without a kid: tried against the victim's keys only.
    let other_nokid = ClientKeyPair::new("ES256", None);
    let a = other_nokid.sign(&good());
    refused(
        &s,
        "/token",
        form(&a, cc),
        "signature",
        "unknown kidless key",
    )
    .await;
    for (claims, why, what) in [
        (with(&|c| c["sub"] = json!("other")), "sub", "iss != sub"),
        (
            with(&|c| c["iss"] = json!("other")),
            "",
            "iss of another client",
        ),
        (
            with(&|c| c["aud"] = json!("https://elsewhere.example/token")),
            "aud",
            "wrong aud",
        ),
        (with(&|c| c["aud"] = json!([])), "aud", "empty aud"),
        (with(&|c| c["exp"] = json!(now - 120)), "expired", "expired"),
        (
            with(&|c| c["exp"] = json!(now + 3600)),
            "ahead",
            "exp too far ahead",
        ),
        (
            with(&|c| c["exp"] = json!("9999999999")),
            "exp",
            "exp a string",
        ),
        (
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "exp",
            "no exp",
        ),
        (
            with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "jti",
            "no jti",
        ),
        (
            with(&|c| c["nbf"] = json!(now + 600)),
            "nbf",
            "not yet valid",
        ),
        (
            with(&|c| c["iat"] = json!(now + 600)),
            "iat",
            "issued in the future",
        ),
    ] {
        refused(&s, "/token", form(&key.sign(&claims), cc), why, what).await;
    }

    // Replay: the same assertion twice.
    let a = key.sign(&good());
    let (status, body) = post(&s, "/token", form(&a, cc)).await;
    assert_eq!(status, 200, "{body}");
    refused(&s, "/token", form(&a, cc), "already used", "replayed jti").await;
    // The same jti in a freshly signed assertion is a replay too.
    let again = key.sign(&with(&|c| {
        c["jti"] = json!(tests::decode_segment(&a, 1)["jti"])
    }));
    refused(&s, "/token", form(&again, cc), "already used", "reused jti").await;

    // alg none, unsigned.
    let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&good()));
    refused(&s, "/token", form(&none, cc), "algorithm", "alg none").await;
    // HS256 "signed" with the public key as the HMAC secret.
    let header = json!({"alg": "HS256", "kid": "k1"});
    let msg = format!("{}.{}", b64(&header), b64(&good()));
    let secret = serde_json::to_vec(&key.public).unwrap();
    let hs = josekit::jws::HS256.signer_from_bytes(&secret).unwrap();
    use josekit::jws::JwsSigner;
    let sig = hs.sign(msg.as_bytes()).unwrap();
    let forged = format!("{msg}.{}", tests::pkjwt::b64_bytes(&sig));
    refused(
        &s,
        "/token",
        form(&forged, cc),
        "algorithm",
        "HS256 with the public key",
    )
    .await;
    // An RS256 header over the EC key: the key does not fit the algorithm.
    let a = key.sign_with_header(&json!({"alg": "RS256", "kid": "k1"}), &good());
    refused(
        &s,
        "/token",
        form(&a, cc),
        "algorithm",
        "RS256 header, EC key",
    )
    .await;
    // An RS256 signature presented as PS256.
    let a = rsa.sign_with_header(&json!({"alg": "PS256", "kid": "r1"}), &good());
    refused(
        &s,
        "/token",
        form(&a, cc),
        "signature",
        "RS256 signature as PS256",
    )
    .await;
    // crit, and garbage.
    let a = key.sign_with_header(
        &json!({"alg": "ES256", "kid": "k1", "crit": ["x"]}),
        &good(),
    );
    refused(&s, "/token", form(&a, cc), "crit", "crit").await;
    refused(&s, "/token", form("not-a-jwt", cc), "malformed", "garbage").await;
    // The client_id parameter must name the assertion's client.
    let a = key.sign(&good());
    let body = form(&a, &format!("{cc}&client_id=other"));
    refused(&s, "/token", body, "client_id", "client_id mismatch").await;
    // A wrong assertion type.
    let body = tests::oauth::encode_form(&[
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        ),
        ("client_assertion", &key.sign(&good())),
        ("grant_type", "client_credentials"),
    ]);
    refused(&s, "/token", body, "client_assertion_type", "saml2 type").await;
    // The same checks guard introspection and revocation.
    let a = stranger.sign(&good());
    refused(
        &s,
        "/introspect",
        form(&a, "&token=x"),
        "signature",
        "introspect",
    )
    .await;
    refused(&s, "/revoke", form(&a, "&token=x"), "signature", "revoke").await;
}

async fn methods_are_enforced(backend: Backend) {
    let s = TestServer::start(backend).await;
    let key = ClientKeyPair::new("ES256", Some("k1"));
    register_with_jwks(&s, "keyed", &ClientKeyPair::set(&[&key])).await;
    let (id, secret) = s
        .client(
            "secreted",
            auth_core::Alg::Es256,
            &["read"],
            &["https://api.example"],
        )
        .await;
    let now = tests::now(&s.clock);
    let aud = format!("{}/token", s.base);

    // A private_key_jwt client presenting a secret (any secret: it has none), Basic or post.
    let res = s
        .post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic("keyed", "x"))],
        )
        .await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("private_key_jwt")
    );
    let body = "grant_type=client_credentials&client_id=keyed&client_secret=x".to_owned();
    refused(&s, "/token", body, "private_key_jwt", "secret in the body").await;
    // No credentials at all, only its id.
    refused(
        &s,
        "/token",
        "grant_type=client_credentials&client_id=keyed".into(),
        "",
        "id only",
    )
    .await;

    // A secret client presenting an assertion signed by some key.
    let stranger = ClientKeyPair::new("ES256", Some("k1"));
    let a = stranger.sign(&claims(&id, &aud, now));
    let body = form(&a, "&grant_type=client_credentials");
    refused(
        &s,
        "/token",
        body,
        "does not authenticate with private_key_jwt",
        "secret client",
    )
    .await;
    // Its secret still works.
    s.cc_token(&id, &secret, "").await;

    // Two methods at once is invalid_request (RFC 6749 §2.3).
    let a = key.sign(&claims("keyed", &aud, now));
    let res = s
        .post_token(
            form(&a, "&grant_type=client_credentials"),
            &[("authorization", &basic(&id, &secret))],
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}
