//! Client secret rotation with overlap, on both databases: the previous secret keeps working for
//! the overlap (and its use is counted), stops when it ends or when an operator ends it, `show`
//! tells until when (never a secret), and racing rotations on two instances leave at most two
//! accepted secrets.

use std::sync::Arc;
use std::time::Duration;

use auth_server::domain::clients::ClientRegistry;
use auth_server::domain::random::sha256;
use auth_server::telemetry::PREVIOUS_SECRET_USED;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::admin::{ADMIN_SCOPES, AdminServer};
use tests::replicas::PARALLEL;
use tests::{Backend, TestServer, basic, on_both_backends};

use crate::cli::{cli, cli_config};

on_both_backends!(
    the_previous_secret_works_for_the_overlap,
    racing_rotations_leave_at_most_two_secrets,
    rotation_from_the_cli,
);

/// The status of a client-credentials request of `id` with `secret`.
async fn cc_status(s: &TestServer, id: &str, secret: &str) -> u16 {
    s.post_token(
        "grant_type=client_credentials",
        &[("authorization", &basic(id, secret))],
    )
    .await
    .status()
    .as_u16()
}

async fn events(a: &AdminServer, token: &str, query: &str) -> usize {
    let page = a
        .expect(
            Method::GET,
            &format!("/audit-events?{query}&limit=200"),
            token,
            None,
            200,
        )
        .await;
    page["events"].as_array().unwrap().len()
}

async fn the_previous_secret_works_for_the_overlap(b: Backend) {
    // A configured default overlap shorter than the admin token's lifetime (the embedded default,
    // a day, is checked by the race below).
    let a = AdminServer::start_with(b, |c| c.clients.secret_rotation_overlap_secs = 600).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let metrics = a.s.admin_listener().await;
    let body = json!({"client_id": "partner", "name": "partner", "allowed_scopes": ["x"], "allowed_resources": ["https://api.example"]});
    let created = a
        .expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;
    let first = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        created["client"]["previous_secret_valid_until"],
        Value::Null
    );
    let now = tests::now(&a.s.clock);

    // The default overlap (clients.secret_rotation_overlap_secs): both secrets work.
    let r = a
        .expect(
            Method::POST,
            "/clients/partner/rotate-secret",
            &token,
            None,
            200,
        )
        .await;
    let second = r["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(r["previous_secret_valid_until"], now + 600);
    let before = metrics.scrape().await;
    assert_eq!(cc_status(&a.s, "partner", &first).await, 200);
    assert_eq!(cc_status(&a.s, "partner", &first).await, 200);
    assert_eq!(cc_status(&a.s, "partner", &second).await, 200);
    let after = metrics.scrape().await;
    assert_eq!(
        after.delta(&before, PREVIOUS_SECRET_USED, &[("client_id", "partner")]),
        2.0,
        "each use of the previous secret is counted, the new one's are not"
    );
    // What an operator sees: until when, never a secret or a digest.
    let shown = a
        .expect(Method::GET, "/clients/partner", &token, None, 200)
        .await;
    assert_eq!(shown["previous_secret_valid_until"], now + 600);
    let text = shown.to_string();
    assert!(!text.contains(&first) && !text.contains(&second) && !text.contains("sha256"));

    // The overlap ends: only the new secret works.
    a.s.clock.advance(600);
    assert_eq!(cc_status(&a.s, "partner", &first).await, 401);
    assert_eq!(cc_status(&a.s, "partner", &second).await, 200);
    let shown = a
        .expect(Method::GET, "/clients/partner", &token, None, 200)
        .await;
    assert_eq!(shown["previous_secret_valid_until"], Value::Null);

    // A rotation with its own overlap, ended early by an operator.
    let r = a
        .expect(
            Method::POST,
            "/clients/partner/rotate-secret?overlap_secs=3600",
            &token,
            None,
            200,
        )
        .await;
    let third = r["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        r["previous_secret_valid_until"],
        tests::now(&a.s.clock) + 3_600
    );
    assert_eq!(cc_status(&a.s, "partner", &second).await, 200);
    assert_eq!(
        cc_status(&a.s, "partner", &first).await,
        401,
        "never comes back"
    );
    let ended = a
        .expect(
            Method::POST,
            "/clients/partner/expire-previous-secret",
            &token,
            None,
            200,
        )
        .await;
    assert_eq!(ended["previous_secret_valid_until"], Value::Null);
    assert_eq!(cc_status(&a.s, "partner", &second).await, 401);
    assert_eq!(cc_status(&a.s, "partner", &third).await, 200);
    // Again: nothing to end, no event.
    a.expect(
        Method::POST,
        "/clients/partner/expire-previous-secret",
        &token,
        None,
        200,
    )
    .await;
    assert_eq!(
        events(&a, &token, "client=partner&type=client.secret_rotated").await,
        2
    );
    assert_eq!(
        events(
            &a,
            &token,
            "client=partner&type=client.previous_secret_expired"
        )
        .await,
        1
    );

    // Bad input: an overlap out of range, an unknown client, a public one.
    for q in ["overlap_secs=-1", "overlap_secs=2592001", "overlap_secs=x"] {
        let res = a
            .call(
                Method::POST,
                &format!("/clients/partner/rotate-secret?{q}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q}");
    }
    assert_eq!(cc_status(&a.s, "partner", &third).await, 200, "unchanged");
    a.expect(
        Method::POST,
        "/clients/nobody/expire-previous-secret",
        &token,
        None,
        404,
    )
    .await;
}

/// Two admin instances (each with its own IdP replica) on one database.
async fn two_admins(b: Backend) -> (AdminServer, AdminServer) {
    let one = TestServer::start_with(b, |c| c.database.max_connections = 16).await;
    let issuer = one.base.clone();
    let two = TestServer::start_on(&one.db_url, &one.db_name, one.clock.clone(), move |c| {
        c.server.issuer = issuer;
        c.database.max_connections = 16;
    })
    .await;
    (AdminServer::on(one).await, AdminServer::on(two).await)
}

async fn racing_rotations_leave_at_most_two_secrets(b: Backend) {
    let (a, b2) = two_admins(b).await;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let body = json!({"client_id": "svc", "name": "svc", "allowed_scopes": ["x"], "allowed_resources": ["https://api.example"]});
    let created = a
        .expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;
    let original = created["client_secret"].as_str().unwrap().to_owned();
    // Every rotation keeps its predecessor for the default overlap, so a lost invariant would
    // show as three or more accepted secrets.
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let admin = if i % 2 == 0 { &a } else { &b2 };
        let req = admin
            .s
            .http
            .post(format!("{}/clients/svc/rotate-secret", admin.api))
            .bearer_auth(&token);
        tasks.push(tokio::spawn(async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }));
    }
    let mut printed = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (200, body) => printed.push(body["client_secret"].as_str().unwrap().to_owned()),
            (409, _) => {}
            (other, body) => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!printed.is_empty(), "at least one rotation applies");
    assert_eq!(
        events(&a, &token, "client=svc&type=client.secret_rotated").await,
        printed.len(),
        "one event per applied rotation"
    );

    // Judge every secret against the stored row, through a registry that caches nothing.
    let store = a.s.app.store.clone();
    let row = store.find_client("svc").await.unwrap().unwrap();
    assert_eq!(
        row.previous_secret_expires_at,
        Some(tests::now(&a.s.clock) + 86_400),
        "the embedded default overlap: a day"
    );
    let fresh = ClientRegistry::new(store, Arc::new(a.s.clock.clone()), Duration::ZERO);
    let current: Vec<&String> = printed
        .iter()
        .filter(|s| sha256(s.as_bytes()) == row.secret_sha256)
        .collect();
    assert_eq!(current.len(), 1, "exactly one printed secret is current");
    let mut accepted = 0;
    for s in printed.iter().chain([&original]) {
        if fresh.authenticate("svc", s).await.is_ok() {
            accepted += 1;
            assert!(
                sha256(s.as_bytes()) == row.secret_sha256
                    || Some(sha256(s.as_bytes())) == row.previous_secret_sha256,
                "an accepted secret is the current or the previous one"
            );
        }
    }
    assert!(
        (1..=2).contains(&accepted),
        "{accepted} secrets accepted at once"
    );
    assert_eq!(
        accepted,
        1 + usize::from(
            row.previous_secret_valid_until(tests::now(&a.s.clock))
                .is_some()
        )
    );
}

async fn rotation_from_the_cli(b: Backend) {
    let s = TestServer::start(b).await;
    let config = cli_config(&s.db_url);
    let (id, first) = s
        .client(
            "cli-partner",
            auth_core::Alg::Es256,
            &["x"],
            &["https://api.example"],
        )
        .await;
    let now = tests::now(&s.clock);
    let out = cli(
        &config,
        &s.clock,
        &["client", "rotate-secret", &id, "--overlap", "2h", "--json"],
    )
    .await
    .unwrap();
    let r: Value = serde_json::from_str(&out).unwrap();
    let second = r["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(r["previous_secret_valid_until"], now + 7_200);
    let show = cli(&config, &s.clock, &["client", "show", &id, "--json"])
        .await
        .unwrap();
    let shown: Value = serde_json::from_str(&show).unwrap();
    assert_eq!(shown["previous_secret_valid_until"], now + 7_200);
    assert!(!show.contains(&first) && !show.contains(&second));
    let line = cli(&config, &s.clock, &["client", "show", &id])
        .await
        .unwrap();
    assert!(
        line.contains(&format!("previous_secret=valid until {}", now + 7_200)),
        "{line}"
    );
    // The server reads the database afresh once its cache entry (10 s of real time) is gone; a
    // fresh registry sees the stored row at once.
    let fresh = ClientRegistry::new(
        s.app.store.clone(),
        Arc::new(s.clock.clone()),
        Duration::ZERO,
    );
    assert!(fresh.authenticate(&id, &first).await.is_ok());
    assert!(fresh.authenticate(&id, &second).await.is_ok());
    let out = cli(
        &config,
        &s.clock,
        &["client", "expire-previous-secret", &id],
    )
    .await
    .unwrap();
    assert!(out.contains("no longer works"), "{out}");
    assert!(fresh.authenticate(&id, &first).await.is_err());
    assert!(fresh.authenticate(&id, &second).await.is_ok());
    let out = cli(
        &config,
        &s.clock,
        &["client", "expire-previous-secret", &id],
    )
    .await
    .unwrap();
    assert!(out.contains("nothing changed"), "{out}");
    // Bad input is a clear error, never a panic.
    for bad in ["31d", "-5", "soon"] {
        let err = cli(
            &config,
            &s.clock,
            &["client", "rotate-secret", &id, &format!("--overlap={bad}")],
        )
        .await
        .unwrap_err();
        assert!(err.contains("overlap") || err.contains("30d"), "{err}");
    }
    assert!(
        cli(
            &config,
            &s.clock,
            &["client", "expire-previous-secret", "nobody"]
        )
        .await
        .is_err()
    );
}
