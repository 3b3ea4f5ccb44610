//! The admin API's users and sessions endpoints, on SQLite and PostgreSQL: each endpoint, its
//! problems, its audit events (one per change, none for a failed change, never a password), and
//! keyset paging while users are being created. Deletion and the races with sign-in are in
//! `admin_users_grants.rs`.

use auth_server::model::audit::{AuditQuery, AuditRecord};
use reqwest::Method;
use serde_json::{Value, json};
use tests::Backend;
use tests::admin::{ADMIN_SCOPES, AdminServer, problem};
use tests::oauth::{Agent, Pkce, first_party};
use tests::sso_support::PW;

tests::on_both_backends!(
    each_user_endpoint_does_its_change_with_one_audit_event,
    failed_changes_write_no_audit_event,
    paging_returns_every_user_once_while_users_are_created,
    search_matches_substrings_and_escapes_wildcards,
);

/// Every audit event by an administrator, oldest first (sign-in events and the like, which other
/// parts of the server record, are not what these tests count).
pub async fn events(admin: &AdminServer) -> Vec<AuditRecord> {
    let mut all = admin
        .s
        .app
        .store
        .audit_events(&AuditQuery {
            limit: 10_000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    all.retain(|e| e.actor_kind == "admin" && !e.event_type.starts_with("client."));
    all.reverse();
    all
}

/// `(type, actor id)` of the events after the first `skip`.
fn kinds(events: &[AuditRecord], skip: usize) -> Vec<(String, String)> {
    events[skip..]
        .iter()
        .map(|e| (e.event_type.clone(), e.actor_id.clone().unwrap_or_default()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

async fn each_user_endpoint_does_its_change_with_one_audit_event(backend: Backend) {
    let admin = AdminServer::start(backend).await;
    let s = &admin.s;
    let token = admin.token("ops", ADMIN_SCOPES).await;
    let before = events(&admin).await.len();

    // Create: 201 with Location, no password in the answer.
    let body = json!({"username": "alice", "email": "alice@example.com",
                      "display_name": "Alice", "password": PW});
    let res = admin
        .call(Method::POST, "/users", Some(&token), Some(&body))
        .await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let text = res.text().await.unwrap();
    assert!(!text.contains(PW), "{text}");
    let alice: Value = serde_json::from_str(&text).unwrap();
    let id = alice["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("users/{id}"));
    assert_eq!(
        (
            &alice["username"],
            &alice["has_password"],
            &alice["disabled"]
        ),
        (&json!("alice"), &json!(true), &json!(false))
    );
    assert!(alice.get("password").is_none() && alice.get("password_hash").is_none());
    let path = format!("/users/{id}");
    let shown = admin.expect(Method::GET, &path, &token, None, 200).await;
    assert_eq!(shown, alice);
    assert!(s.app.users.authenticate("alice", PW).await.is_ok());

    // Update the profile: the e-mail address removed with null.
    let patch = json!({"display_name": "Alice Liddell", "email": null});
    let updated = admin
        .expect(Method::PATCH, &path, &token, Some(&patch), 200)
        .await;
    assert_eq!(updated["display_name"], "Alice Liddell");
    assert_eq!(updated["email"], Value::Null);

    // A new password: the old one stops working, the new one works.
    let new_pw = "a brand new passphrase";
    let set = json!({"password": new_pw});
    let pw_path = format!("{path}/password");
    admin
        .expect(Method::PUT, &pw_path, &token, Some(&set), 204)
        .await;
    assert!(s.app.users.authenticate("alice", PW).await.is_err());
    assert!(s.app.users.authenticate("alice", new_pw).await.is_ok());

    // Disable, then enable again with PATCH.
    let disabled = admin
        .expect(Method::POST, &format!("{path}/disable"), &token, None, 200)
        .await;
    assert_eq!(disabled["disabled"], true);
    assert!(s.app.users.authenticate("alice", new_pw).await.is_err());
    let enable = json!({"disabled": false});
    let enabled = admin
        .expect(Method::PATCH, &path, &token, Some(&enable), 200)
        .await;
    assert_eq!(enabled["disabled"], false);

    // Sessions: two sign-ins, listed newest first; one ended, then the rest.
    let app = s.web_client("app", first_party()).await;
    let (mut first, mut second) = (Agent::new(), Agent::new());
    s.code_for(&mut first, &app, &Pkce::new(), "openid", "alice", new_pw)
        .await;
    s.clock.advance(1);
    s.code_for(&mut second, &app, &Pkce::new(), "openid", "alice", new_pw)
        .await;
    let sessions_path = format!("{path}/sessions");
    let listed = admin
        .expect(Method::GET, &sessions_path, &token, None, 200)
        .await;
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    assert!(sessions[0]["created_at"].as_i64() > sessions[1]["created_at"].as_i64());
    assert_eq!(sessions[0]["amr"], json!(["pwd"]));
    let oldest = sessions[1]["id"].as_str().unwrap().to_owned();
    let one = format!("{sessions_path}/{oldest}");
    admin.expect(Method::DELETE, &one, &token, None, 204).await;
    assert!(!tests::sso_support::has_session(s, &mut first, &app).await);
    assert!(tests::sso_support::has_session(s, &mut second, &app).await);
    problem(
        admin.call(Method::DELETE, &one, Some(&token), None).await,
        404,
    )
    .await;
    let ended = admin
        .expect(Method::DELETE, &sessions_path, &token, None, 200)
        .await;
    assert_eq!(ended, json!({"ended": 1}));
    assert!(!tests::sso_support::has_session(s, &mut second, &app).await);
    let listed = admin
        .expect(Method::GET, &sessions_path, &token, None, 200)
        .await;
    assert_eq!(listed, json!({"sessions": []}));

    // Delete: gone, and a second delete finds nothing.
    admin.expect(Method::DELETE, &path, &token, None, 204).await;
    problem(
        admin.call(Method::GET, &path, Some(&token), None).await,
        404,
    )
    .await;
    problem(
        admin.call(Method::DELETE, &path, Some(&token), None).await,
        404,
    )
    .await;

    // One event per change, by the caller, with the request's id and address; no password.
    let all = events(&admin).await;
    assert_eq!(
        kinds(&all, before),
        pairs(&[
            ("user.created", "ops"),
            ("user.updated", "ops"),
            ("password.changed", "ops"),
            ("user.disabled", "ops"),
            ("user.updated", "ops"),
            ("user.sessions_ended", "ops"),
            ("user.sessions_ended", "ops"),
            ("user.deleted", "ops"),
        ])
    );
    for e in &all[before..] {
        assert_eq!(e.user_id.as_deref(), Some(id.as_str()), "{e:?}");
        assert!(e.request_id.is_some(), "{e:?}");
        assert_eq!(e.client_addr.as_deref(), Some("127.0.0.1"), "{e:?}");
        let detail = e.detail.clone().unwrap_or_default();
        assert!(!detail.contains(PW) && !detail.contains(new_pw), "{e:?}");
        assert!(!detail.contains("argon2"), "{e:?}");
    }
    let detail = |i: usize| -> Value {
        serde_json::from_str(all[before + i].detail.as_deref().unwrap()).unwrap()
    };
    assert_eq!(detail(1)["changed"], json!(["email", "display_name"]));
    assert_eq!(detail(4)["changed"], json!(["disabled"]));
    assert_eq!(detail(5), json!({"ended": 1, "session": oldest}));
    assert_eq!(detail(6), json!({"ended": 1}));
    assert_eq!(detail(7), json!({"username": "alice"}));
}

async fn failed_changes_write_no_audit_event(backend: Backend) {
    let admin = AdminServer::start(backend).await;
    // Every users and sessions operation is in the OpenAPI document.
    let doc: Value = admin
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .json()
        .await
        .unwrap();
    for (path, verbs) in [
        ("/admin/v1/users", &["get", "post"][..]),
        ("/admin/v1/users/{id}", &["get", "patch", "delete"]),
        ("/admin/v1/users/{id}/disable", &["post"]),
        ("/admin/v1/users/{id}/password", &["put"]),
        ("/admin/v1/users/{id}/sessions", &["get", "delete"]),
        ("/admin/v1/users/{id}/sessions/{sid}", &["delete"]),
    ] {
        for verb in verbs {
            assert!(
                doc["paths"][path][verb].is_object(),
                "{verb} {path} undocumented"
            );
        }
    }
    let token = admin.token("ops", ADMIN_SCOPES).await;
    let reader = admin.token("auditor", &["admin:read"]).await;
    let bob = json!({"username": "bob"});
    let created = admin
        .expect(Method::POST, "/users", &token, Some(&bob), 201)
        .await;
    assert_eq!(created["has_password"], false);
    let carol = json!({"username": "carol"});
    let carol = admin
        .expect(Method::POST, "/users", &token, Some(&carol), 201)
        .await;
    let carol_path = format!("/users/{}", carol["id"].as_str().unwrap());
    let before = events(&admin).await.len();
    let call = |m: Method, p: &str, b: Option<Value>, t: &str| {
        let (m, p, t) = (m, p.to_owned(), t.to_owned());
        let admin = &admin;
        async move { admin.call(m, &p, Some(&t), b.as_ref()).await }
    };
    let taken = call(
        Method::POST,
        "/users",
        Some(json!({"username": "bob"})),
        &token,
    )
    .await;
    assert_eq!(
        problem(taken, 409).await["type"],
        "urn:auth-server:problem:username_taken"
    );
    for bad in [
        json!({"username": "b b"}),
        json!({"username": "dave", "password": "short"}),
        json!({"username": "dave", "email": "not-an-address"}),
        json!({"username": "dave", "display_name": "\u{7}"}),
        json!({"username": "dave", "role": "root"}),
        json!({"name": "dave"}),
    ] {
        problem(call(Method::POST, "/users", Some(bad), &token).await, 400).await;
    }
    let rename = Some(json!({"username": "bob"}));
    problem(call(Method::PATCH, &carol_path, rename, &token).await, 409).await;
    for bad in [
        json!({}),
        json!({"username": null}),
        json!({"disabled": "yes"}),
    ] {
        problem(
            call(Method::PATCH, &carol_path, Some(bad), &token).await,
            400,
        )
        .await;
    }
    let short = Some(json!({"password": "short"}));
    problem(
        call(
            Method::PUT,
            &format!("{carol_path}/password"),
            short,
            &token,
        )
        .await,
        400,
    )
    .await;
    let unknown = "/users/no-such-user";
    let profile = Some(json!({"display_name": "X"}));
    problem(call(Method::PATCH, unknown, profile, &token).await, 404).await;
    let pw = Some(json!({"password": "long enough password"}));
    problem(
        call(Method::PUT, &format!("{unknown}/password"), pw, &token).await,
        404,
    )
    .await;
    for (m, p) in [
        (Method::POST, format!("{unknown}/disable")),
        (Method::DELETE, unknown.to_owned()),
        (Method::DELETE, format!("{unknown}/sessions")),
        (
            Method::DELETE,
            format!("{carol_path}/sessions/no-such-session"),
        ),
        (Method::GET, format!("{unknown}/sessions")),
        (Method::GET, unknown.to_owned()),
    ] {
        problem(call(m, &p, None, &token).await, 404).await;
    }
    // A read-only token reads but changes nothing.
    admin
        .expect(Method::GET, &carol_path, &reader, None, 200)
        .await;
    problem(
        call(
            Method::POST,
            &format!("{carol_path}/disable"),
            None,
            &reader,
        )
        .await,
        403,
    )
    .await;
    problem(call(Method::DELETE, &carol_path, None, &reader).await, 403).await;
    assert_eq!(
        events(&admin).await.len(),
        before,
        "a failed change wrote an event"
    );
    let carol_now = admin
        .expect(Method::GET, &carol_path, &token, None, 200)
        .await;
    assert_eq!(carol_now["disabled"], false);
    assert_eq!(carol_now["username"], "carol");
}

/// Lists every user with pages of `limit`; returns the usernames in order.
async fn all_pages(admin: &AdminServer, token: &str, query: &str, limit: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/users?limit={limit}{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = admin.expect(Method::GET, &path, token, None, 200).await;
        let users = page["users"].as_array().unwrap();
        assert!(users.len() as u64 <= limit);
        out.extend(
            users
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

async fn paging_returns_every_user_once_while_users_are_created(backend: Backend) {
    let admin = AdminServer::start(backend).await;
    let token = admin.token("ops", ADMIN_SCOPES).await;
    let users = admin.s.app.users.clone();
    let new = |name: String| auth_server::domain::users::NewUser {
        username: name,
        email: None,
        display_name: None,
        password: None,
    };
    for i in 0..40 {
        users.create(new(format!("u{i:02}"))).await.unwrap();
    }
    // Users are created (before, between and after the existing names) while the pages are read.
    let creating = tokio::spawn({
        let users = users.clone();
        async move {
            for i in 0..40 {
                let name = format!("{}{i:02}x", ["a", "u", "z"][i % 3]);
                users.create(new(name)).await.unwrap();
                tokio::task::yield_now().await;
            }
        }
    });
    let seen = all_pages(&admin, &token, "", 7).await;
    creating.await.unwrap();
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "pages repeat a user or are out of order");
    for i in 0..40 {
        let name = format!("u{i:02}");
        assert!(seen.contains(&name), "{name} missing from the pages");
    }
    // Once the creation has stopped, the pages hold exactly every user.
    let all = all_pages(&admin, &token, "", 9).await;
    assert_eq!(all.len(), 80);
    let one_page = admin
        .expect(Method::GET, "/users?limit=200", &token, None, 200)
        .await;
    assert_eq!(one_page["next_cursor"], Value::Null);
    assert_eq!(one_page["users"].as_array().unwrap().len(), 80);
    for bad in [
        "/users?limit=0",
        "/users?limit=201",
        "/users?cursor=%21%21",
        "/users?limit=x",
    ] {
        problem(admin.call(Method::GET, bad, Some(&token), None).await, 400).await;
    }
}

async fn search_matches_substrings_and_escapes_wildcards(backend: Backend) {
    let admin = AdminServer::start(backend).await;
    let token = admin.token("ops", ADMIN_SCOPES).await;
    for (name, email) in [
        ("ann_lee", Some("ann@corp.example")),
        ("annabel", Some("Bel@Home.Example")),
        ("bob", None),
        ("joanna", Some("jo@corp.example")),
    ] {
        let mut body = json!({"username": name});
        if let Some(e) = email {
            body["email"] = e.into();
        }
        admin
            .expect(Method::POST, "/users", &token, Some(&body), 201)
            .await;
    }
    let found = |q: &str| {
        let q = q.to_owned();
        let (admin, token) = (&admin, &token);
        async move {
            let q = percent_encoding::utf8_percent_encode(&q, percent_encoding::NON_ALPHANUMERIC);
            all_pages(admin, token, &format!("&q={q}"), 2).await
        }
    };
    assert_eq!(found("ann").await, ["ann_lee", "annabel", "joanna"]);
    assert_eq!(found("ANN").await, ["ann_lee", "annabel", "joanna"]);
    assert_eq!(found("home.EXAMPLE").await, ["annabel"]);
    assert_eq!(found("corp").await, ["ann_lee", "joanna"]);
    // `_` and `%` are characters, not wildcards.
    assert_eq!(found("_").await, ["ann_lee"]);
    assert_eq!(found("%").await, Vec::<String>::new());
    assert_eq!(found("").await.len(), 4);
}
