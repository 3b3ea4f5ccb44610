//! `/admin/v1/clients` and `/admin/v1/audit-events`: every change does what it says, is refused
//! cleanly when it cannot, and leaves exactly one audit event by the calling administrator (none
//! when refused); two admin instances racing on one client apply one change.

use reqwest::Method;
use serde_json::{Value, json};
use tests::admin::{ADMIN_SCOPES, AdminServer, problem};
use tests::{Backend, TestServer, basic, on_both_backends};

on_both_backends!(
    clients_round_trip,
    refused_changes_change_nothing,
    audit_events_are_queried_and_paged,
    racing_admins_apply_one_change,
    deleting_a_client_ends_its_tokens,
);

async fn events(a: &AdminServer, token: &str, query: &str) -> Vec<Value> {
    let v = a
        .expect(
            Method::GET,
            &format!("/audit-events?{query}"),
            token,
            None,
            200,
        )
        .await;
    v["events"].as_array().unwrap().clone()
}

async fn clients_round_trip(b: Backend) {
    let a = AdminServer::start(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let body = json!({
        "client_id": "billing", "name": "Billing", "alg": "RS256",
        "allowed_scopes": ["billing:read", "billing:write"], "default_scopes": ["billing:read"],
        "allowed_resources": ["https://billing.example"], "introspect_any": true,
    });
    let res = a
        .call(Method::POST, "/clients", Some(&token), Some(&body))
        .await;
    assert_eq!(res.status(), 201);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["client"]["client_id"], "billing");
    assert_eq!(created["client"]["alg"], "RS256");
    assert_eq!(created["client"]["enabled"], true);
    assert_eq!(created["client"]["introspect_any"], true);
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    // The secret works, for the registered scopes and audience.
    let t = a.s.cc_token("billing", &secret, "").await;
    assert_eq!(t["scope"], "billing:read");
    // Its audit event: by the caller, with the request's id and address.
    let ev = events(&a, &token, "client=billing&type=client.created").await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["actor_kind"], "admin");
    assert_eq!(ev[0]["actor_id"], "ops");
    assert_eq!(ev[0]["request_id"], request_id.as_str());
    assert_eq!(ev[0]["client_addr"], "127.0.0.1");
    // Show.
    let shown = a
        .expect(Method::GET, "/clients/billing", &token, None, 200)
        .await;
    assert_eq!(shown, created["client"]);
    assert!(shown.get("secret_sha256").is_none());
    // Patch scopes, redirect URIs and flags.
    let patch = json!({
        "allowed_scopes": ["billing:read"], "redirect_uris": ["https://billing.example/cb"],
        "first_party": true, "name": "Billing v2",
    });
    let p = a
        .expect(Method::PATCH, "/clients/billing", &token, Some(&patch), 200)
        .await;
    assert_eq!(p["allowed_scopes"], json!(["billing:read"]));
    assert_eq!(p["redirect_uris"], json!(["https://billing.example/cb"]));
    assert_eq!(p["first_party"], true);
    assert_eq!(p["name"], "Billing v2");
    assert_eq!(p["alg"], "RS256");
    let ev = events(&a, &token, "client=billing&type=client.updated").await;
    assert_eq!(ev.len(), 1);
    let changed = &ev[0]["detail"]["changed"];
    for f in ["allowed_scopes", "redirect_uris", "first_party", "name"] {
        assert!(changed.as_array().unwrap().contains(&json!(f)), "{changed}");
    }
    // The scope taken away is no longer granted.
    let res =
        a.s.post_token(
            "grant_type=client_credentials&scope=billing:write",
            &[("authorization", &basic("billing", &secret))],
        )
        .await;
    assert_eq!(res.status(), 400);
    // Disable: it can no longer authenticate; twice is one event.
    let d = a
        .expect(Method::POST, "/clients/billing/disable", &token, None, 200)
        .await;
    assert_eq!(d["enabled"], false);
    a.expect(Method::POST, "/clients/billing/disable", &token, None, 200)
        .await;
    assert_eq!(
        events(&a, &token, "client=billing&type=client.disabled")
            .await
            .len(),
        1
    );
    let res =
        a.s.post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic("billing", &secret))],
        )
        .await;
    assert_eq!(res.status(), 401);
    let e = a
        .expect(Method::POST, "/clients/billing/enable", &token, None, 200)
        .await;
    assert_eq!(e["enabled"], true);
    a.s.cc_token("billing", &secret, "").await;
    // Rotate the secret with no overlap: the old one stops working at once, the new one works.
    let r = a
        .expect(
            Method::POST,
            "/clients/billing/rotate-secret?overlap_secs=0",
            &token,
            None,
            200,
        )
        .await;
    let new_secret = r["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let res =
        a.s.post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic("billing", &secret))],
        )
        .await;
    assert_eq!(res.status(), 401);
    a.s.cc_token("billing", new_secret, "").await;
    assert_eq!(
        events(&a, &token, "client=billing&type=client.secret_rotated")
            .await
            .len(),
        1
    );
    // Paging: every client once, in id order.
    for id in ["c1", "c2", "c3", "c4"] {
        let body = json!({"client_id": id, "name": id});
        a.expect(Method::POST, "/clients", &token, Some(&body), 201)
            .await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let q = if after.is_empty() {
            "/clients?limit=2".to_owned()
        } else {
            format!("/clients?limit=2&after={after}")
        };
        let page = a.expect(Method::GET, &q, &token, None, 200).await;
        let ids: Vec<String> = page["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap().to_owned())
            .collect();
        assert!(ids.len() <= 2);
        seen.extend(ids);
        match page["next"].as_str() {
            Some(n) => after = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["billing", "c1", "c2", "c3", "c4", "ops"]);
    // Delete: gone, one event.
    let res = a
        .call(Method::DELETE, "/clients/billing", Some(&token), None)
        .await;
    assert_eq!(res.status(), 204);
    problem(
        a.call(Method::GET, "/clients/billing", Some(&token), None)
            .await,
        404,
    )
    .await;
    problem(
        a.call(Method::DELETE, "/clients/billing", Some(&token), None)
            .await,
        404,
    )
    .await;
    assert_eq!(
        events(&a, &token, "client=billing&type=client.deleted")
            .await
            .len(),
        1
    );
}

async fn refused_changes_change_nothing(b: Backend) {
    let a = AdminServer::start(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let body = json!({"client_id": "app", "name": "App", "allowed_scopes": ["a"]});
    a.expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;
    let before = a
        .expect(Method::GET, "/audit-events", &token, None, 200)
        .await;
    let url = format!("{}/clients/app", a.api);
    let raw = |m: Method, body: &'static str, ct: &'static str| {
        a.s.http
            .request(m, &url)
            .bearer_auth(&token)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    // Bad bodies: not JSON 400, wrong media type 415, unknown field 400, wrong type 400.
    problem(
        raw(Method::PATCH, "{", "application/json").await.unwrap(),
        400,
    )
    .await;
    problem(raw(Method::PATCH, "{}", "text/plain").await.unwrap(), 415).await;
    problem(
        raw(Method::PATCH, r#"{"secret":"x"}"#, "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    problem(
        raw(Method::PATCH, r#"{"enabled":"yes"}"#, "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    // Invalid values: a default scope not allowed, a bad redirect URI, a bad resource, a bad alg.
    for bad in [
        json!({"default_scopes": ["b"]}),
        json!({"redirect_uris": ["javascript:alert(1)"]}),
        json!({"allowed_resources": ["not a uri"]}),
        json!({"alg": "HS256"}),
        json!({"name": ""}),
    ] {
        let res = a
            .call(Method::PATCH, "/clients/app", Some(&token), Some(&bad))
            .await;
        problem(res, 400).await;
    }
    // Taken id, public client's secret, unknown and impossible ids.
    problem(
        a.call(Method::POST, "/clients", Some(&token), Some(&body))
            .await,
        409,
    )
    .await;
    let public = json!({"client_id": "spa", "name": "SPA", "public": true, "redirect_uris": ["https://spa.example/cb"]});
    let created = a
        .expect(Method::POST, "/clients", &token, Some(&public), 201)
        .await;
    assert_eq!(created["client_secret"], Value::Null);
    let p = problem(
        a.call(
            Method::POST,
            "/clients/spa/rotate-secret",
            Some(&token),
            None,
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["type"], "urn:auth-server:problem:public_client");
    problem(
        a.call(Method::GET, "/clients/nobody", Some(&token), None)
            .await,
        404,
    )
    .await;
    problem(
        a.call(Method::GET, "/clients/%00", Some(&token), None)
            .await,
        404,
    )
    .await;
    problem(
        a.call(Method::GET, "/clients?limit=0", Some(&token), None)
            .await,
        400,
    )
    .await;
    problem(
        a.call(Method::GET, "/audit-events?type=nope", Some(&token), None)
            .await,
        400,
    )
    .await;
    problem(
        a.call(Method::GET, "/audit-events?cursor=abc", Some(&token), None)
            .await,
        400,
    )
    .await;
    // Nothing changed, and the only new event is the public client's creation.
    let shown = a
        .expect(Method::GET, "/clients/app", &token, None, 200)
        .await;
    assert_eq!(shown["allowed_scopes"], json!(["a"]));
    assert_eq!(shown["name"], "App");
    let after = a
        .expect(Method::GET, "/audit-events", &token, None, 200)
        .await;
    let new: Vec<&Value> = after["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !before["events"].as_array().unwrap().contains(e))
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["type"], "client.created");
    assert_eq!(new[0]["client_id"], "spa");
}

async fn audit_events_are_queried_and_paged(b: Backend) {
    let a = AdminServer::start(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    for i in 0..5 {
        let body = json!({"client_id": format!("p{i}"), "name": "x"});
        a.expect(Method::POST, "/clients", &token, Some(&body), 201)
            .await;
    }
    // Newest first, two at a time, each once.
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/audit-events?type=client.created&limit=2&cursor={c}"),
            None => "/audit-events?type=client.created&limit=2".into(),
        };
        let page = a.expect(Method::GET, &q, &token, None, 200).await;
        for e in page["events"].as_array().unwrap() {
            assert_eq!(e["type"], "client.created");
            ids.push(e["client_id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_owned()),
            None => break,
        }
    }
    // `ops` was registered from code (the test's set-up), which records no event.
    assert_eq!(ids, ["p4", "p3", "p2", "p1", "p0"]);
    // Filters: since in the future selects nothing; client selects one.
    let future = auth_core::Clock::now(&a.s.clock) + 3600;
    assert!(
        events(&a, &token, &format!("since={future}"))
            .await
            .is_empty()
    );
    assert_eq!(events(&a, &token, "client=p2").await.len(), 1);
    // Key rotation through the API is audited too.
    let r = a
        .expect(
            Method::POST,
            "/keys/rotate",
            &token,
            Some(&json!({"alg": "ES256"})),
            200,
        )
        .await;
    assert_eq!(r["results"][0]["outcome"], "created");
    let kid = r["results"][0]["kid"].as_str().unwrap();
    let ev = events(&a, &token, "type=key.rotated").await;
    assert_eq!(ev[0]["subject"], kid);
    assert_eq!(ev[0]["actor_id"], "ops");
}

async fn racing_admins_apply_one_change(b: Backend) {
    let one = TestServer::start_with(b, |c| c.database.max_connections = 16).await;
    let issuer = one.base.clone();
    let two = TestServer::start_on(&one.db_url, &one.db_name, one.clock.clone(), move |c| {
        c.server.issuer = issuer;
        c.database.max_connections = 16;
    })
    .await;
    let (a, b2) = (AdminServer::on(one).await, AdminServer::on(two).await);
    let token = a.token("ops", ADMIN_SCOPES).await;
    let body = json!({"client_id": "svc", "name": "svc", "allowed_scopes": ["x"], "allowed_resources": ["https://x.example"]});
    a.expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;
    let mut applied = 0;
    for round in 0..3 {
        let (r1, r2) = tokio::join!(
            a.call(
                Method::POST,
                "/clients/svc/rotate-secret",
                Some(&token),
                None
            ),
            b2.call(
                Method::POST,
                "/clients/svc/rotate-secret",
                Some(&token),
                None
            ),
        );
        let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
        statuses.sort_unstable();
        // Both may succeed one after the other; a loser is told 409 and changed nothing.
        assert!(
            statuses == [200, 409] || statuses == [200, 200],
            "round {round}: {statuses:?}"
        );
        let bodies: Vec<Value> = vec![r1.json().await.unwrap(), r2.json().await.unwrap()];
        let secrets: Vec<&str> = bodies
            .iter()
            .filter_map(|b| b["client_secret"].as_str())
            .collect();
        applied += secrets.len();
        // Exactly one of the returned secrets is the stored one: never two that both work.
        let stored =
            a.s.app
                .store
                .find_client("svc")
                .await
                .unwrap()
                .unwrap()
                .secret_sha256;
        let working = secrets
            .iter()
            .filter(|s| auth_server::domain::random::sha256(s.as_bytes()) == stored)
            .count();
        assert_eq!(working, 1, "round {round}");
    }
    let rotated = events(&a, &token, "client=svc&type=client.secret_rotated").await;
    assert_eq!(rotated.len(), applied, "one event per applied rotation");
    // Racing disables: one change, one event.
    let (r1, r2) = tokio::join!(
        a.call(Method::POST, "/clients/svc/disable", Some(&token), None),
        b2.call(Method::POST, "/clients/svc/disable", Some(&token), None),
    );
    assert_eq!((r1.status().as_u16(), r2.status().as_u16()), (200, 200));
    assert_eq!(
        events(&a, &token, "client=svc&type=client.disabled")
            .await
            .len(),
        1
    );
}

async fn deleting_a_client_ends_its_tokens(b: Backend) {
    let a = AdminServer::start(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let body = json!({"client_id": "gone", "name": "gone", "allowed_scopes": ["x"], "allowed_resources": ["https://x.example"]});
    let created = a
        .expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;
    let secret = created["client_secret"].as_str().unwrap();
    a.s.cc_token("gone", secret, "").await;
    let res = a
        .call(Method::DELETE, "/clients/gone", Some(&token), None)
        .await;
    assert_eq!(res.status(), 204);
    // Its tokens are cut off in the revocation feed (by subject), and it cannot authenticate.
    let feed = a.s.get_json("/revocations").await;
    assert!(feed.to_string().contains("\"gone\""), "{feed}");
    let res =
        a.s.post_token(
            "grant_type=client_credentials",
            &[("authorization", &basic("gone", secret))],
        )
        .await;
    assert_eq!(res.status(), 401);
}
