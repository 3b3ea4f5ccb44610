//! Dynamic client registration (RFC 7591) behind an initial access token, on SQLite and
//! PostgreSQL: a confidential client registers and runs client credentials with the secret it was
//! given, a public client registers and runs the code flow with PKCE (and consent: it is never
//! first-party), discovery advertises the endpoint only when it is served, and every refusal of the
//! initial access token and of the metadata writes nothing and spends no use.

use serde_json::{Value, json};
use tests::dcr::{Answer, dcr_server, initial_token, register};
use tests::oauth::{Agent, Pkce, WebClient};
use tests::sso_support::{PW, decide};
use tests::{Backend, TestServer, basic};

tests::on_both_backends!(
    a_confidential_client_registers_and_gets_tokens,
    a_public_client_registers_and_runs_the_code_flow_with_pkce,
    discovery_advertises_registration_only_when_enabled,
    initial_access_tokens_are_refused_when_missing_expired_used_up_or_revoked,
    bad_metadata_is_refused_and_spends_nothing,
);

async fn client_count(s: &TestServer) -> usize {
    s.app.clients.list().await.unwrap().len()
}

async fn uses_of(s: &TestServer, id: &str) -> i64 {
    let all = s.app.clients.registration_tokens().await.unwrap();
    all.iter().find(|t| t.id == id).unwrap().uses
}

async fn a_confidential_client_registers_and_gets_tokens(b: Backend) {
    let s = dcr_server(b).await;
    let (token_id, token) = initial_token(&s, &["api.read", "api.write"], Some(5), None).await;
    let r = register(
        &s,
        Some(&token),
        &json!({
            "client_name": "Partner A",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "token_endpoint_auth_method": "client_secret_post",
            "scope": "api.read",
            // Not stored, so ignored (RFC 7591 §2), like metadata nobody knows.
            "contacts": ["ops@partner.example"],
            "logo_uri": "https://partner.example/logo.png",
            "software_statement_unknown": {"x": 1},
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.cache_control.as_deref(), Some("no-store"));
    let id = r.str("client_id");
    let secret = r.str("client_secret");
    assert!(secret.len() >= 43, "256 bits");
    assert_eq!(r.body["client_secret_expires_at"], 0);
    assert_eq!(r.body["client_id_issued_at"], tests::now(&s.clock));
    assert_eq!(r.body["client_name"], "Partner A");
    assert_eq!(r.body["scope"], "api.read");
    assert_eq!(r.body["grant_types"], json!(["client_credentials"]));
    assert_eq!(r.body["response_types"], json!([]));
    assert_eq!(r.body["redirect_uris"], json!([]));
    assert_eq!(r.body["token_endpoint_auth_method"], "client_secret_post");
    assert!(r.body.get("contacts").is_none() && r.body.get("logo_uri").is_none());
    assert_eq!(
        r.str("registration_client_uri"),
        format!("{}/register/{id}", s.base)
    );
    assert!(r.str("registration_access_token").len() >= 43);
    assert_eq!(uses_of(&s, &token_id).await, 1);

    // The secret works at once, with Basic and with the form (client_secret_post).
    let t = s.cc_token(&id, &secret, "&scope=api.read").await;
    assert_eq!(t["scope"], "api.read");
    let res = s
        .post_token(
            format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
            &[],
        )
        .await;
    assert_eq!(res.status(), 200);
    // Never beyond what it registered.
    let res = s
        .post_token(
            "grant_type=client_credentials&scope=api.write",
            &[("authorization", &basic(&id, &secret))],
        )
        .await;
    assert_eq!(res.status(), 400);
    let c = s.app.clients.get(&id).await.unwrap().unwrap();
    assert!(!c.first_party && !c.public && !c.introspect_any);
    // The audience its tokens may have is the initial access token's policy.
    assert_eq!(c.allowed_resources.to_string(), tests::dcr::RESOURCE);
    let claims = tests::decode_segment(t["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], tests::dcr::RESOURCE);
    assert_eq!(claims["client_id"], id.as_str());
    let events = s
        .app
        .store
        .audit_events(&auth_server::model::audit::AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "client.created")
        .collect();
    assert_eq!(created.len(), 1, "{events:#?}");
    assert_eq!(created[0].client_id.as_deref(), Some(id.as_str()));
    assert_eq!(created[0].actor_kind, "client");
    let detail: Value = serde_json::from_str(created[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["registration_token"], token_id);
}

async fn a_public_client_registers_and_runs_the_code_flow_with_pkce(b: Backend) {
    let s = dcr_server(b).await;
    s.user("erin", PW).await;
    let (_, token) = initial_token(&s, &["openid", "email", "offline_access"], None, None).await;
    let r = register(
        &s,
        Some(&token),
        &json!({
            "client_name": "Partner SPA",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["https://spa.partner.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "openid email offline_access",
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("client_secret").is_none(), "{}", r.body);
    assert!(r.body.get("client_secret_expires_at").is_none());
    assert_eq!(r.body["token_endpoint_auth_method"], "none");
    assert_eq!(
        r.body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(r.body["response_types"], json!(["code"]));
    let app = WebClient {
        id: r.str("client_id"),
        secret: None,
        redirect_uri: "https://spa.partner.example/cb".into(),
    };
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid email offline_access", &[]))
        .await;
    // A dynamically registered client is never first-party: the user is asked.
    let consent = s.sign_in(&mut browser, &page, "erin", PW).await;
    assert!(consent.body.contains("id=\"allow\""), "{}", consent.body);
    assert!(consent.body.contains("Partner SPA"));
    let done = decide(&s, &mut browser, &consent, "allow").await;
    let code = done.location_param("code").expect("a code");
    // Without the verifier the code is refused (PKCE is required of a public client).
    let (status, body) = s
        .redeem_with(
            &app,
            &[("code", &code), ("redirect_uri", &app.redirect_uri)],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let code = {
        let page = browser
            .get(&s.authorize_url(&app, &pkce, "openid email offline_access", &[]))
            .await;
        page.location_param("code")
            .expect("consent remembered: a code")
    };
    let (status, body) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    // A public client cannot use client credentials.
    let (status, _) = s
        .token_as(&app, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 400);
}

async fn discovery_advertises_registration_only_when_enabled(b: Backend) {
    let on = dcr_server(b).await;
    for doc in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let d = on.get_json(doc).await;
        assert_eq!(d["registration_endpoint"], format!("{}/register", on.base));
    }
    let off = TestServer::start(b).await;
    let (_, token) = initial_token(&off, &["a"], None, None).await;
    for doc in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let d = off.get_json(doc).await;
        assert!(d.get("registration_endpoint").is_none(), "{d}");
    }
    let r = register(
        &off,
        Some(&token),
        &json!({"grant_types": ["client_credentials"]}),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(client_count(&off).await, 0);
}

async fn initial_access_tokens_are_refused_when_missing_expired_used_up_or_revoked(b: Backend) {
    let s = dcr_server(b).await;
    let cc = json!({"grant_types": ["client_credentials"]});
    // Missing: 401 with a bare challenge (RFC 6750 §3.1); another scheme or an unknown token: 401
    // with `error="invalid_token"`.
    let r = register(&s, None, &cc).await;
    r.assert_invalid_token();
    assert_eq!(r.challenge.as_deref(), Some("Bearer"));
    let res = s
        .http
        .post(format!("{}/register", s.base))
        .header("authorization", basic("a", "b"))
        .json(&cc)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    for bad in ["not-a-token", &"x".repeat(600)] {
        let r = register(&s, Some(bad), &cc).await;
        r.assert_invalid_token();
        assert_eq!(
            r.challenge.as_deref(),
            Some("Bearer error=\"invalid_token\"")
        );
    }

    // Expired.
    let (_, expiring) = initial_token(&s, &[], None, Some(60)).await;
    s.clock.advance(59);
    assert_eq!(register(&s, Some(&expiring), &cc).await.status, 201);
    s.clock.advance(1);
    register(&s, Some(&expiring), &cc)
        .await
        .assert_invalid_token();

    // Used up.
    let (once_id, once) = initial_token(&s, &[], Some(1), None).await;
    assert_eq!(register(&s, Some(&once), &cc).await.status, 201);
    register(&s, Some(&once), &cc).await.assert_invalid_token();
    assert_eq!(uses_of(&s, &once_id).await, 1);

    // Revoked.
    let (revoked_id, revoked) = initial_token(&s, &[], None, None).await;
    let admin = auth_server::domain::audit::Actor::Admin("test".into());
    let meta = auth_server::domain::audit::RequestMeta::default();
    let flip = s
        .app
        .clients
        .revoke_registration_token(&revoked_id, &admin, &meta)
        .await
        .unwrap();
    assert_eq!(flip, auth_server::domain::clients::Flip::Changed);
    let again = s
        .app
        .clients
        .revoke_registration_token(&revoked_id, &admin, &meta)
        .await
        .unwrap();
    assert_eq!(again, auth_server::domain::clients::Flip::Unchanged);
    register(&s, Some(&revoked), &cc)
        .await
        .assert_invalid_token();
    assert_eq!(uses_of(&s, &revoked_id).await, 0);

    // Only the two accepted registrations made clients.
    assert_eq!(client_count(&s).await, 2);
}

async fn bad_metadata_is_refused_and_spends_nothing(b: Backend) {
    let s = dcr_server(b).await;
    let (id, token) = initial_token(&s, &["openid", "api.read"], Some(1), None).await;
    let cb = json!(["https://app.partner.example/cb"]);
    let redirect_refusals = [
        json!({"redirect_uris": ["http://app.partner.example/cb"]}),
        json!({"redirect_uris": ["https://app.partner.example/cb#x"]}),
        json!({"redirect_uris": ["javascript:alert(1)"]}),
        json!({"redirect_uris": ["https://user@app.partner.example/cb"]}),
        json!({"redirect_uris": ["myapp:/cb"]}),
        json!({"grant_types": ["authorization_code"]}),
    ];
    for m in &redirect_refusals {
        register(&s, Some(&token), m)
            .await
            .assert_refused("invalid_redirect_uri");
    }
    let metadata_refusals = [
        json!({"redirect_uris": cb, "scope": "openid admin"}),
        json!({"grant_types": ["client_credentials"], "scope": "api.write"}),
        json!({"redirect_uris": cb, "token_endpoint_auth_method": "private_key_jwt"}),
        json!({"redirect_uris": cb, "token_endpoint_auth_method": "tls_client_auth"}),
        json!({"redirect_uris": cb, "jwks": {"keys": []}}),
        json!({"redirect_uris": cb, "jwks_uri": "https://partner.example/jwks"}),
        json!({"redirect_uris": cb, "grant_types": ["implicit"]}),
        json!({"redirect_uris": cb, "grant_types": ["password"]}),
        json!({"redirect_uris": cb, "response_types": ["token"]}),
        json!({"redirect_uris": cb, "grant_types": ["authorization_code"], "response_types": []}),
        json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
        json!({"grant_types": ["client_credentials"], "redirect_uris": cb}),
        json!({"grant_types": ["refresh_token"]}),
        json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
        json!({"redirect_uris": "https://app.partner.example/cb"}),
        json!({"redirect_uris": cb, "client_name": ""}),
        json!({"redirect_uris": cb, "client_name": "x".repeat(201)}),
        json!({"redirect_uris": cb, "post_logout_redirect_uris": ["http://evil.example/"]}),
        json!({"redirect_uris": cb, "backchannel_logout_uri": "http://evil.example/bc"}),
        json!({"redirect_uris": (0..51).map(|i| format!("https://a.example/{i}")).collect::<Vec<_>>()}),
        json!(["not", "an", "object"]),
        Value::String("text".into()),
    ];
    for m in &metadata_refusals {
        let r = register(&s, Some(&token), m).await;
        r.assert_refused("invalid_client_metadata");
        assert_eq!(r.cache_control.as_deref(), Some("no-store"));
    }
    // A key URL the IdP would fetch from inside the operator's network (SSRF): refused for what
    // it points at (the same metadata with a public host is registered in dcr_pkjwt.rs).
    for uri in [
        "http://127.0.0.1:9/jwks",
        "https://127.0.0.1/jwks",
        "https://localhost/jwks",
        "https://[::1]/jwks",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.7/jwks",
        "https://[fd00::1]/jwks",
    ] {
        let m = json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": uri,
        });
        let r = register(&s, Some(&token), &m).await;
        r.assert_refused("invalid_client_metadata");
        let why = r.body["error_description"].as_str().unwrap_or_default();
        assert!(why.contains("jwks_uri"), "{uri}: {why}");
    }
    // The same for the back-channel logout URI the IdP POSTs to.
    for uri in [
        "http://127.0.0.1:9/bc",
        "https://localhost/bc",
        "https://169.254.169.254/bc",
        "https://[fd00::1]/bc",
    ] {
        let m = json!({"redirect_uris": cb, "backchannel_logout_uri": uri});
        let r = register(&s, Some(&token), &m).await;
        r.assert_refused("invalid_client_metadata");
        let why = r.body["error_description"].as_str().unwrap_or_default();
        assert!(why.contains("backchannel_logout_uri"), "{uri}: {why}");
    }
    // Not JSON at all.
    let res = s
        .http
        .post(format!("{}/register", s.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    // Nothing was registered and the token's one use is intact.
    assert_eq!(client_count(&s).await, 0);
    assert_eq!(uses_of(&s, &id).await, 0);
    let ok: Answer = register(
        &s,
        Some(&token),
        &json!({"redirect_uris": cb, "scope": "openid"}),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(uses_of(&s, &id).await, 1);
}
