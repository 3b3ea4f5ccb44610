//! Registering `private_key_jwt` clients through the admin API and the CLI: the method and keys are
//! stored and shown, bad registrations are refused cleanly, and a switch of method takes effect.

use reqwest::Method;
use serde_json::{Value, json};
use tests::admin::{ADMIN_SCOPES, AdminServer, problem};
use tests::pkjwt::{ClientKeyPair, claims, form, post};
use tests::{Backend, ManualClock, TestServer, basic, fresh_database};

use crate::cli::{cli, cli_config};

tests::on_both_backends!(admin_api_registers_keys, cli_registers_and_switches);

async fn admin_api_registers_keys(b: Backend) {
    let a = AdminServer::start(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let key = ClientKeyPair::new("ES256", Some("k"));
    let body = json!({
        "client_id": "keyed", "name": "Keyed", "allowed_scopes": ["read"],
        "allowed_resources": ["https://api.example"],
        "token_endpoint_auth_method": "private_key_jwt", "jwks": ClientKeyPair::set(&[&key]),
    });
    let created = a
        .expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;
    assert_eq!(created["client_secret"], Value::Null);
    assert_eq!(
        created["client"]["token_endpoint_auth_method"],
        "private_key_jwt"
    );
    assert_eq!(created["client"]["jwks"], ClientKeyPair::set(&[&key]));
    assert_eq!(created["client"]["jwks_uri"], Value::Null);
    let a2 = key.sign(&claims(
        "keyed",
        &format!("{}/token", a.s.base),
        tests::now(&a.s.clock),
    ));
    let (status, res) = post(&a.s, "/token", form(&a2, "&grant_type=client_credentials")).await;
    assert_eq!(status, 200, "{res}");

    for (bad, why) in [
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "jwks",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_jwt"}),
            "unknown",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}}),
            "usable",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": [1]}),
            "JWK Set",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt",
                   "jwks_uri": "http://partner.example/jwks"}),
            "https",
        ),
        (
            json!({"jwks_uri": "https://partner.example/jwks"}),
            "private_key_jwt",
        ),
        (
            json!({"public": true, "token_endpoint_auth_method": "private_key_jwt",
                "jwks": ClientKeyPair::set(&[&key])}),
            "public",
        ),
    ] {
        let mut body = bad.clone();
        body["name"] = json!("Bad");
        let res = a
            .call(Method::POST, "/clients", Some(&token), Some(&body))
            .await;
        let p = problem(res, 400).await;
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(why), "{bad}: {detail:?} should say {why:?}");
    }
    // A private key in the set is refused: only public keys are registered.
    let mut private = ClientKeyPair::set(&[&key]);
    private["keys"][0]["d"] = json!("AAAA");
    let body =
        json!({"name": "P", "token_endpoint_auth_method": "private_key_jwt", "jwks": private});
    let p = problem(
        a.call(Method::POST, "/clients", Some(&token), Some(&body))
            .await,
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("private"), "{p}");

    // Switching to jwks_uri drops the inline set.
    let patch = json!({"jwks_uri": "https://partner.example/jwks"});
    let p = a
        .expect(Method::PATCH, "/clients/keyed", &token, Some(&patch), 200)
        .await;
    assert_eq!(p["jwks"], Value::Null);
    assert_eq!(p["jwks_uri"], "https://partner.example/jwks");
}

async fn cli_registers_and_switches(backend: Backend) {
    let (url, name) = fresh_database(backend).await;
    let config = cli_config(&url);
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    cli(&config, &clock, &["migrate"]).await.unwrap();
    let key = ClientKeyPair::new("EdDSA", Some("ed"));
    let dir = std::env::temp_dir().join(format!("pkjwt-{}", auth_server::domain::random::token(6)));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    std::fs::write(&file, ClientKeyPair::set(&[&key]).to_string()).unwrap();
    let created = cli(
        &config,
        &clock,
        &[
            "client",
            "create",
            "--name",
            "Partner",
            "--id",
            "partner",
            "--scope",
            "read",
            "--resource",
            "https://api.example",
            "--auth-method",
            "private_key_jwt",
            "--jwks-file",
            file.to_str().unwrap(),
            "--json",
        ],
    )
    .await
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let created: Value = serde_json::from_str(created.trim()).unwrap();
    assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt");
    assert!(
        created.get("client_secret").is_none(),
        "no secret: {created}"
    );

    let s = TestServer::start_on(&url, &name, clock.clone(), |_| {}).await;
    let aud = format!("{}/token", s.base);
    let a = key.sign(&claims("partner", &aud, tests::now(&clock)));
    let (status, body) = post(&s, "/token", form(&a, "&grant_type=client_credentials")).await;
    assert_eq!(status, 200, "{body}");

    // Back to a secret: the keys go, a new secret is issued, and assertions stop working.
    let out = cli(
        &config,
        &clock,
        &[
            "client",
            "update",
            "partner",
            "--auth-method",
            "client_secret_basic",
        ],
    )
    .await
    .unwrap();
    assert!(out.contains("rotate-secret"), "{out}");
    let rotated = cli(
        &config,
        &clock,
        &["client", "rotate-secret", "partner", "--json"],
    )
    .await
    .unwrap();
    let secret = serde_json::from_str::<Value>(rotated.trim()).unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let s2 = TestServer::start_on(&url, &name, clock.clone(), |_| {}).await;
    s2.cc_token("partner", &secret, "").await;
    let a = key.sign(&claims(
        "partner",
        &format!("{}/token", s2.base),
        tests::now(&clock),
    ));
    let (status, _) = post(&s2, "/token", form(&a, "&grant_type=client_credentials")).await;
    assert_eq!(status, 401);
    // And to keys by URL: the secret stops working.
    cli(
        &config,
        &clock,
        &[
            "client",
            "update",
            "partner",
            "--auth-method",
            "private_key_jwt",
            "--jwks-uri",
            "https://partner.example/jwks",
        ],
    )
    .await
    .unwrap();
    let s3 = TestServer::start_on(&url, &name, clock.clone(), |_| {}).await;
    let res = s3
        .post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic("partner", &secret))],
        )
        .await;
    assert_eq!(res.status(), 401);
    let bad = cli(
        &config,
        &clock,
        &[
            "client",
            "update",
            "partner",
            "--jwks-uri",
            "http://partner.example/jwks",
        ],
    )
    .await;
    assert!(bad.unwrap_err().contains("https"));
}
