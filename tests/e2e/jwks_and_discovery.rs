//! The JWKS and the two metadata documents.

use auth_core::jwk::Jwk;
use tests::{Backend, TestServer};

tests::on_both_backends!(
    jwks_is_public_cached_and_conditional,
    discovery_lists_what_is_implemented,
    issuer_with_a_path,
);

async fn jwks_is_public_cached_and_conditional(backend: Backend) {
    let s = TestServer::start(backend).await;
    let res = s.get("/jwks").await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/jwk-set+json");
    let etag = h["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    let max_age = s.app.config.jwks_max_age_secs();
    assert_eq!(
        h["cache-control"],
        format!("public, max-age={max_age}").as_str()
    );
    // A verifier honouring max-age learns of a key before it signs.
    let k = &s.app.config.keys;
    assert!(max_age > 0 && max_age + k.refresh_interval_secs < k.publish_lead_secs);

    let body: serde_json::Value = res.json().await.unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "one ES256 and one RS256 key on first start");
    for key in keys {
        let mut members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected: &[&str] = match key["kty"].as_str().unwrap() {
            "EC" => &["alg", "crv", "kid", "kty", "use", "x", "y"],
            "RSA" => &["alg", "e", "kid", "kty", "n", "use"],
            other => panic!("unexpected kty {other}"),
        };
        members.sort_unstable();
        assert_eq!(members, expected, "public members only");
        assert_eq!(key["use"], "sig");
        let jwk: Jwk = serde_json::from_value(key.clone()).unwrap();
        assert_eq!(
            jwk.thumbprint().ok().as_deref(),
            key["kid"].as_str(),
            "kid is the RFC 7638 thumbprint"
        );
    }
    let rsa = keys.iter().find(|k| k["kty"] == "RSA").unwrap();
    assert_eq!(rsa["alg"], "RS256");
    assert!(
        rsa["n"].as_str().unwrap().len() >= 342,
        "at least 2048 bits"
    );
    assert_eq!(
        keys.iter().find(|k| k["kty"] == "EC").unwrap()["alg"],
        "ES256"
    );

    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
    ] {
        let r = s
            .http
            .get(format!("{}/jwks", s.base))
            .header("if-none-match", inm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(r.headers()["etag"], etag.as_str());
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = s
        .http
        .get(format!("{}/jwks", s.base))
        .header("if-none-match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A rotation changes the document and so its ETag.
    s.app.keys.rotate(&[auth_core::Alg::Es256]).await.unwrap();
    let r = s
        .http
        .get(format!("{}/jwks", s.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["etag"], etag.as_str());
}

async fn discovery_lists_what_is_implemented(backend: Backend) {
    let s = TestServer::start(backend).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let res = s.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let doc: serde_json::Value = res.json().await.unwrap();
        assert_eq!(doc["issuer"], s.base.as_str());
        assert_eq!(doc["token_endpoint"], format!("{}/token", s.base).as_str());
        assert_eq!(doc["jwks_uri"], format!("{}/jwks", s.base).as_str());
        assert_eq!(
            doc["grant_types_supported"],
            serde_json::json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            serde_json::json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none"
            ])
        );
        assert_eq!(
            doc["token_endpoint_auth_signing_alg_values_supported"],
            serde_json::json!(["ES256", "RS256", "PS256", "EdDSA"])
        );
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        for (name, path) in [
            ("authorization_endpoint", "/authorize"),
            ("revocation_endpoint", "/revoke"),
            ("introspection_endpoint", "/introspect"),
        ] {
            assert_eq!(doc[name], format!("{}{path}", s.base).as_str(), "{name}");
        }
        let jwks = s
            .http
            .get(doc["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(jwks.status(), 200);
    }
    let oidc: serde_json::Value = s.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        oidc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        oidc["userinfo_endpoint"],
        format!("{}/userinfo", s.base).as_str()
    );
    assert_eq!(
        oidc["end_session_endpoint"],
        format!("{}/logout", s.base).as_str()
    );
    // Every endpoint the document names answers (none is a 404).
    for name in [
        "authorization_endpoint",
        "userinfo_endpoint",
        "end_session_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        let res = s
            .http
            .get(oidc[name].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 404, "{name}");
    }

    let missing = s.get("/nope").await;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

async fn issuer_with_a_path(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.server.issuer.push_str("/realms/main")).await;
    let issuer = format!("{}/realms/main", s.base);
    let doc: serde_json::Value = s
        .get_json("/realms/main/.well-known/openid-configuration")
        .await;
    assert_eq!(doc["issuer"], issuer.as_str());
    // RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
    let rfc8414: serde_json::Value = s
        .get_json("/.well-known/oauth-authorization-server/realms/main")
        .await;
    assert_eq!(rfc8414["issuer"], issuer.as_str());
    assert_eq!(s.get("/realms/main/jwks").await.status(), 200);
    assert_eq!(s.get("/jwks").await.status(), 404);
    let (id, secret) = s
        .client("c", auth_core::Alg::Es256, &["a"], &["https://api"])
        .await;
    let res = s
        .http
        .post(format!("{issuer}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", tests::basic(&id, &secret))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let jwks: serde_json::Value = s.get_json("/realms/main/jwks").await;
    let (_, claims) = tests::verify(body["access_token"].as_str().unwrap(), &jwks);
    assert_eq!(claims["iss"], issuer.as_str());
}
