//! Admin changes raced by many requests at once, spread over two server instances sharing one
//! database, on both databases: each change applies once, is never lost, and has exactly one audit
//! event per change applied.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::admin::{ADMIN_SCOPES, AdminServer};
use tests::replicas::PARALLEL;
use tests::{Backend, TestServer, decode_segment, on_both_backends};

on_both_backends!(racing_admins_on_one_client, racing_admins_on_the_keys);

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

/// `PARALLEL` calls of `method path` at once, alternating between the two instances: statuses and
/// bodies.
async fn race(
    admins: &(AdminServer, AdminServer),
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Vec<(StatusCode, Value)> {
    // All requests are built first and sent by spawned tasks, so they run at once.
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let admin = if i % 2 == 0 { &admins.0 } else { &admins.1 };
        let mut req = admin
            .s
            .http
            .request(method.clone(), format!("{}{path}", admin.api))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        tasks.push(tokio::spawn(async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

async fn count_events(a: &AdminServer, token: &str, query: &str) -> usize {
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

async fn racing_admins_on_one_client(b: Backend) {
    let admins = two_admins(b).await;
    let a = &admins.0;
    let token = a.token("ops", ADMIN_SCOPES).await;
    let body = json!({"client_id": "svc", "name": "svc", "allowed_scopes": ["x"], "allowed_resources": ["https://x.example"]});
    a.expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;

    // Secret rotations: every answer is 200 (applied) or 409 (lost, nothing written); of all the
    // secrets handed out exactly one is the stored one; one event per applied rotation.
    let answers = race(
        &admins,
        &token,
        Method::POST,
        "/clients/svc/rotate-secret",
        None,
    )
    .await;
    let mut secrets = Vec::new();
    for (status, body) in &answers {
        match status.as_u16() {
            200 => secrets.push(body["client_secret"].as_str().unwrap().to_owned()),
            409 => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!secrets.is_empty(), "at least one rotation applies");
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
    assert_eq!(working, 1, "exactly one returned secret works");
    assert_eq!(
        count_events(a, &token, "client=svc&type=client.secret_rotated").await,
        secrets.len(),
        "one event per applied rotation"
    );

    // Disables: all answer 200, one change, one event.
    let answers = race(&admins, &token, Method::POST, "/clients/svc/disable", None).await;
    assert!(
        answers.iter().all(|(s, _)| s.as_u16() == 200),
        "{answers:?}"
    );
    assert_eq!(
        count_events(a, &token, "client=svc&type=client.disabled").await,
        1
    );
    assert!(
        !a.s.app
            .store
            .find_client("svc")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
}

async fn racing_admins_on_the_keys(b: Backend) {
    let admins = two_admins(b).await;
    let a = &admins.0;
    let token = a.token("ops", ADMIN_SCOPES).await;
    // The admin token is ES256: revoking the RS256 key does not cut the racers off.
    assert_eq!(decode_segment(&token, 0)["alg"], "ES256");

    // Rotations: exactly one creates the next RS256 key; the others find it pending or lost the
    // insert to it (unique (alg, generation)) and created nothing; one event.
    let rotate = json!({"alg": "RS256"});
    let answers = race(&admins, &token, Method::POST, "/keys/rotate", Some(&rotate)).await;
    let outcomes: Vec<&str> = answers
        .iter()
        .map(|(s, body)| {
            assert_eq!(s.as_u16(), 200, "{body}");
            body["results"][0]["outcome"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "created").count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| ["created", "already_pending", "lost_race"].contains(o)),
        "{outcomes:?}"
    );
    assert_eq!(count_events(a, &token, "type=key.rotated").await, 1);

    // Revocations of the signing RS256 key: exactly one applies (200, with one successor), the
    // others get 409; one event; RS256 still has a key that signs.
    let keys = a.expect(Method::GET, "/keys", &token, None, 200).await;
    let signing = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "RS256" && k["state"] == "active")
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/keys/{signing}/revoke");
    let answers = race(&admins, &token, Method::POST, &path, None).await;
    let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| s.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(count_events(a, &token, "type=key.revoked").await, 1);
    let keys = a.expect(Method::GET, "/keys", &token, None, 200).await;
    let rs256: Vec<&Value> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "RS256")
        .collect();
    assert_eq!(rs256.iter().filter(|k| k["state"] == "revoked").count(), 1);
    assert_eq!(
        rs256.iter().filter(|k| k["state"] == "active").count(),
        1,
        "{rs256:?}"
    );
}
