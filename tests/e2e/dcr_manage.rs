//! Client configuration (RFC 7592) with the registration access token, on SQLite and PostgreSQL:
//! read, replace (omitted fields are defaulted, a `client_secret` must match, the token is not
//! rotated, the scope stays within the initial access token's policy), delete (the client and its
//! grants end, as `client delete` does); a token of another client, an unknown client and a
//! disabled one all get the same `invalid_token`; the operator's tokens from the CLI.

use reqwest::Method;
use serde_json::{Value, json};
use tests::dcr::{Answer, call, dcr_server, initial_token, register};
use tests::{Backend, ManualClock, TestServer, basic, fresh_database};

use crate::cli::{cli, cli_config};

tests::on_both_backends!(
    a_client_reads_replaces_and_deletes_its_registration,
    another_clients_token_is_refused_without_saying_whether_the_client_exists,
    registration_tokens_from_the_cli,
);

async fn registered(s: &TestServer, token: &str, metadata: Value) -> (String, String, Answer) {
    let r = register(s, Some(token), &metadata).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (r.str("client_id"), r.str("registration_access_token"), r)
}

async fn a_client_reads_replaces_and_deletes_its_registration(b: Backend) {
    let s = dcr_server(b).await;
    let (_, token) = initial_token(&s, &["openid", "api.read", "api.write"], None, None).await;
    let (id, rat, created) = registered(
        &s,
        &token,
        json!({
            "client_name": "Partner Web",
            "redirect_uris": ["https://web.partner.example/cb"],
            "post_logout_redirect_uris": ["https://web.partner.example/bye"],
            "scope": "openid api.read",
        }),
    )
    .await;
    let secret = created.str("client_secret");
    let uri = created.str("registration_client_uri");

    // Read (§2.1): what was registered, with the same token, and no secret.
    let read = call(&s, Method::GET, &uri, Some(&rat), None).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.cache_control.as_deref(), Some("no-store"));
    assert_eq!(read.str("registration_access_token"), rat);
    assert!(read.body.get("client_secret").is_none());
    for k in [
        "client_id",
        "client_name",
        "redirect_uris",
        "post_logout_redirect_uris",
        "scope",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "registration_client_uri",
    ] {
        assert_eq!(read.body[k], created.body[k], "{k}");
    }
    assert_eq!(
        read.body["grant_types"],
        json!(["authorization_code", "client_credentials"])
    );

    // Replace (§2.2): client_id is required; a client_secret must be the current one.
    let new = json!({
        "client_id": id,
        "client_name": "Partner Web v2",
        "redirect_uris": ["https://web2.partner.example/cb"],
        "scope": "api.read api.write",
    });
    let put = |body: Value| {
        let (s, uri, rat) = (&s, uri.clone(), rat.clone());
        async move { call(s, Method::PUT, &uri, Some(&rat), Some(&body)).await }
    };
    let mut no_id = new.clone();
    no_id.as_object_mut().unwrap().remove("client_id");
    put(no_id).await.assert_refused("invalid_client_metadata");
    let mut other_id = new.clone();
    other_id["client_id"] = json!("someone-else");
    put(other_id)
        .await
        .assert_refused("invalid_client_metadata");
    let mut wrong_secret = new.clone();
    wrong_secret["client_secret"] = json!("not-the-secret");
    put(wrong_secret)
        .await
        .assert_refused("invalid_client_metadata");
    let mut beyond = new.clone();
    beyond["scope"] = json!("api.read admin");
    put(beyond).await.assert_refused("invalid_client_metadata");
    let mut to_public = new.clone();
    to_public["token_endpoint_auth_method"] = json!("none");
    put(to_public)
        .await
        .assert_refused("invalid_client_metadata");
    let mut bad_uri = new.clone();
    bad_uri["redirect_uris"] = json!(["http://web.partner.example/cb"]);
    put(bad_uri).await.assert_refused("invalid_redirect_uri");
    // Nothing of those was applied.
    let c = s.app.clients.fresh(&id).await.unwrap().unwrap();
    assert_eq!(c.name, "Partner Web");

    let mut with_secret = new.clone();
    with_secret["client_secret"] = json!(secret);
    let updated = put(with_secret).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["client_name"], "Partner Web v2");
    assert_eq!(
        updated.body["redirect_uris"],
        json!(["https://web2.partner.example/cb"])
    );
    assert_eq!(updated.body["scope"], "api.read api.write");
    // Omitted fields are deleted (§2.2).
    assert_eq!(updated.body["post_logout_redirect_uris"], json!([]));
    // The registration access token is not rotated: it still works.
    assert_eq!(updated.str("registration_access_token"), rat);
    let c = s.app.clients.fresh(&id).await.unwrap().unwrap();
    assert_eq!(c.name, "Partner Web v2");
    assert!(c.post_logout_redirect_uris.is_empty() && !c.first_party);
    assert_eq!(c.default_scopes.to_string(), "api.read api.write");
    // The secret is unchanged and gets the new scope.
    let t = s.cc_token(&id, &secret, "&scope=api.write").await;
    assert_eq!(t["scope"], "api.write");

    // Delete (§2.3): 204; the client, its secret and its registration access token are gone.
    let del = call(&s, Method::DELETE, &uri, Some(&rat), None).await;
    assert_eq!(del.status, 204, "{}", del.body);
    call(&s, Method::GET, &uri, Some(&rat), None)
        .await
        .assert_invalid_token();
    call(&s, Method::DELETE, &uri, Some(&rat), None)
        .await
        .assert_invalid_token();
    assert!(s.app.clients.fresh(&id).await.unwrap().is_none());
    assert!(
        s.app
            .store
            .client_registration(&id)
            .await
            .unwrap()
            .is_none()
    );
    let res = s
        .post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic(&id, &secret))],
        )
        .await;
    assert_eq!(res.status(), 401);
    // Its access tokens are cut off through the revocation feed, as `client delete` does.
    let feed = s.get_json("/revocations").await;
    assert!(feed.to_string().contains(&id), "{feed}");
    let events = s
        .app
        .store
        .audit_events(&auth_server::model::audit::AuditQuery {
            limit: 100,
            client_id: Some(id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.actor_kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("client.deleted", "client"),
            ("client.updated", "client"),
            ("client.created", "client")
        ]
    );
}

async fn another_clients_token_is_refused_without_saying_whether_the_client_exists(b: Backend) {
    let s = dcr_server(b).await;
    let (_, token) = initial_token(&s, &["api.read"], None, None).await;
    let cc = json!({"grant_types": ["client_credentials"]});
    let (a, a_rat, _) = registered(&s, &token, cc.clone()).await;
    let (_, b_rat, _) = registered(&s, &token, cc.clone()).await;
    let url = |id: &str| format!("{}/register/{id}", s.base);
    let body = json!({"client_id": a, "grant_types": ["client_credentials"], "scope": ""});
    let mut answers = Vec::new();
    for (method, id, tok) in [
        (Method::GET, a.as_str(), b_rat.as_str()),
        (Method::PUT, a.as_str(), b_rat.as_str()),
        (Method::DELETE, a.as_str(), b_rat.as_str()),
        (Method::GET, "no-such-client", b_rat.as_str()),
        (Method::DELETE, "no-such-client", b_rat.as_str()),
        (Method::GET, "bad\u{1}id", b_rat.as_str()),
        (Method::GET, a.as_str(), token.as_str()),
        (Method::GET, a.as_str(), "made-up"),
    ] {
        let r = call(
            &s,
            method.clone(),
            &url(id),
            Some(tok),
            Some(&body).filter(|_| method == Method::PUT),
        )
        .await;
        r.assert_invalid_token();
        answers.push((r.status, r.challenge, r.body));
    }
    // The same answer whether the client exists or not.
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:#?}");
    call(&s, Method::GET, &url(&a), None, None)
        .await
        .assert_invalid_token();
    // A's registration is untouched.
    let c = s.app.clients.fresh(&a).await.unwrap().unwrap();
    assert_eq!(c.allowed_scopes.to_string(), "api.read");
    assert_eq!(
        call(&s, Method::GET, &url(&a), Some(&a_rat), None)
            .await
            .status,
        200
    );

    // An operator's client has no registration: no token manages it.
    let (op, _) = s
        .client("operator-made", auth_core::Alg::Es256, &["api.read"], &[])
        .await;
    call(&s, Method::GET, &url(&op), Some(&a_rat), None)
        .await
        .assert_invalid_token();

    // A client the operator disabled cannot manage itself; deleted by the operator, its
    // registration goes with it.
    assert!(s.app.clients.set_enabled(&a, false).await.unwrap());
    call(&s, Method::GET, &url(&a), Some(&a_rat), None)
        .await
        .assert_invalid_token();
    let admin = auth_server::domain::audit::Actor::Admin("test".into());
    let meta = auth_server::domain::audit::RequestMeta::default();
    assert!(s.app.clients.delete_by(&a, &admin, &meta).await.unwrap());
    assert!(s.app.store.client_registration(&a).await.unwrap().is_none());
}

async fn registration_tokens_from_the_cli(b: Backend) {
    let (url, name) = fresh_database(b).await;
    let config = cli_config(&url);
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    let created = cli(
        &config,
        &clock,
        &[
            "registration-token",
            "create",
            "--expires",
            "1d",
            "--max-uses",
            "2",
            "--scope",
            "openid",
            "api.read",
            "--resource",
            "https://api.partner.example",
            "--json",
        ],
    )
    .await
    .unwrap();
    let created: Value = serde_json::from_str(created.trim()).unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["allowed_scopes"], json!(["openid", "api.read"]));
    assert_eq!(created["max_uses"], 2);
    assert_eq!(
        created["allowed_resources"],
        json!(["https://api.partner.example"])
    );
    assert_eq!(created["expires_at"], tests::now(&clock) + 86_400);
    let plain = cli(&config, &clock, &["registration-token", "create"])
        .await
        .unwrap();
    assert!(
        plain.contains("token: ") && plain.contains("shown only now"),
        "{plain}"
    );
    for bad in [
        &["registration-token", "create", "--expires", "1y"][..],
        &["registration-token", "create", "--max-uses", "0"],
        &["registration-token", "create", "--scope", "bad\"scope"],
        &[
            "registration-token",
            "create",
            "--resource",
            "relative/path",
        ],
    ] {
        assert!(cli(&config, &clock, bad).await.is_err(), "{bad:?}");
    }

    let s = TestServer::start_on(&url, &name, clock.clone(), |cfg| {
        cfg.registration.enabled = true;
    })
    .await;
    let r = register(
        &s,
        Some(&token),
        &json!({"grant_types": ["client_credentials"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["scope"], "openid api.read");

    let list = cli(&config, &clock, &["registration-token", "list", "--json"])
        .await
        .unwrap();
    let list: Value = serde_json::from_str(list.trim()).unwrap();
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["uses"], 1);
    assert!(mine.get("token").is_none() && !list.to_string().contains(&token));
    let revoked = cli(
        &config,
        &clock,
        &["registration-token", "revoke", "--", &id],
    )
    .await
    .unwrap();
    assert!(revoked.contains("revoked"), "{revoked}");
    let again = cli(
        &config,
        &clock,
        &["registration-token", "revoke", "--", &id],
    )
    .await
    .unwrap();
    assert!(again.contains("already"), "{again}");
    assert!(
        cli(&config, &clock, &["registration-token", "revoke", "nope"])
            .await
            .is_err()
    );
    register(
        &s,
        Some(&token),
        &json!({"grant_types": ["client_credentials"]}),
    )
    .await
    .assert_invalid_token();
    let events = s
        .app
        .store
        .audit_events(&auth_server::model::audit::AuditQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let count = |t: &str| events.iter().filter(|e| e.event_type == t).count();
    assert_eq!(count("registration_token.created"), 2);
    assert_eq!(count("registration_token.revoked"), 1);
}
