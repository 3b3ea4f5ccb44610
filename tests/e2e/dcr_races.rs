//! Dynamic client registration raced across two server instances on one database, on SQLite and
//! PostgreSQL: an initial access token with `max_uses` N registers exactly N clients however many
//! registrations race for it (each use is a conditional update in the client's transaction), with
//! exactly one `client.created` event each; racing deletions of one client delete it once.

use reqwest::Method;
use serde_json::json;
use tests::dcr::{Answer, call, initial_token, register, send};
use tests::replicas::PARALLEL;
use tests::{Backend, TestServer};

tests::on_both_backends!(
    an_initial_token_registers_exactly_max_uses_clients_across_replicas,
    racing_deletions_delete_a_client_once,
);

/// Two instances with registration on, sharing one database.
async fn two_instances(b: Backend) -> (TestServer, TestServer) {
    let one = TestServer::start_with(b, |c| {
        c.registration.enabled = true;
        c.database.max_connections = 16;
    })
    .await;
    let two = TestServer::start_on(&one.db_url, &one.db_name, one.clock.clone(), |c| {
        c.registration.enabled = true;
        c.database.max_connections = 16;
    })
    .await;
    (one, two)
}

/// `PARALLEL` calls at once, alternating between the instances; `call(i, server)` builds each.
async fn race<F, Fut>(servers: &(TestServer, TestServer), call: F) -> Vec<Answer>
where
    F: Fn(usize, &TestServer) -> Fut,
    Fut: std::future::Future<Output = Answer> + Send + 'static,
{
    let tasks: Vec<_> = (0..PARALLEL)
        .map(|i| {
            let s = if i % 2 == 0 { &servers.0 } else { &servers.1 };
            tokio::spawn(call(i, s))
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn an_initial_token_registers_exactly_max_uses_clients_across_replicas(b: Backend) {
    const MAX: usize = 5;
    let servers = two_instances(b).await;
    let (token_id, token) = initial_token(&servers.0, &["api.read"], Some(MAX as i64), None).await;
    let answers = race(&servers, |i, s| {
        let body = json!({"grant_types": ["client_credentials"], "client_name": format!("c{i}")});
        send(
            s.http
                .post(format!("{}/register", s.base))
                .bearer_auth(&token)
                .json(&body),
        )
    })
    .await;
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(ok.len(), MAX, "{answers:#?}");
    for a in answers.iter().filter(|a| a.status != 201) {
        a.assert_invalid_token();
    }
    let s = &servers.0;
    let tokens = s.app.clients.registration_tokens().await.unwrap();
    assert_eq!(
        tokens.iter().find(|t| t.id == token_id).unwrap().uses,
        MAX as i64
    );
    // Exactly the answered clients exist, each with its registration and one event.
    let clients = s.app.clients.list().await.unwrap();
    assert_eq!(clients.len(), MAX);
    for a in &ok {
        let id = a.str("client_id");
        assert!(clients.iter().any(|c| c.id == id));
        let reg = s.app.store.client_registration(&id).await.unwrap().unwrap();
        assert_eq!(reg.registration_token_id, token_id);
    }
    let events = s
        .app
        .store
        .audit_events(&auth_server::model::audit::AuditQuery {
            limit: 1000,
            event_type: Some("client.created".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), MAX);
    // Used up for every instance.
    register(
        &servers.1,
        Some(&token),
        &json!({"grant_types": ["client_credentials"]}),
    )
    .await
    .assert_invalid_token();
}

async fn racing_deletions_delete_a_client_once(b: Backend) {
    let servers = two_instances(b).await;
    let (_, token) = initial_token(&servers.0, &[], None, None).await;
    let r = register(
        &servers.0,
        Some(&token),
        &json!({"grant_types": ["client_credentials"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (id, rat) = (r.str("client_id"), r.str("registration_access_token"));
    let answers = race(&servers, |_, s| {
        send(
            s.http
                .delete(format!("{}/register/{id}", s.base))
                .bearer_auth(&rat),
        )
    })
    .await;
    let deleted = answers.iter().filter(|a| a.status == 204).count();
    assert_eq!(deleted, 1, "{answers:#?}");
    for a in answers.iter().filter(|a| a.status != 204) {
        a.assert_invalid_token();
    }
    let events = servers
        .0
        .app
        .store
        .audit_events(&auth_server::model::audit::AuditQuery {
            limit: 1000,
            event_type: Some("client.deleted".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let gone = call(
        &servers.1,
        Method::GET,
        &format!("{}/register/{id}", servers.1.base),
        Some(&rat),
        None,
    )
    .await;
    gone.assert_invalid_token();
}
