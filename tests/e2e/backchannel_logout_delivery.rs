//! Delivery of back-channel logout tokens from the outbox, on SQLite and PostgreSQL: retries with
//! bounded exponential backoff then giving up (audited), leases that keep two replicas from
//! sending a row twice and let a row claimed by a replica that died be sent by another, one
//! outbox row per client however many places end a session at once, and the purge. The clock is
//! the tests' manual clock: no test waits for a backoff or a lease to pass.

use std::collections::HashMap;

use auth_server::domain::users::Operator;
use auth_server::model::audit::AuditQuery;
use tests::backchannel::{Receiver, bcl_client, drain, sign_in_to};
use tests::oauth::Agent;
use tests::replicas::{PARALLEL, pick, replicas_with};
use tests::sso_support::PW;
use tests::{Backend, TestServer};

tests::on_both_backends!(
    a_failing_endpoint_is_retried_with_backoff_then_given_up,
    two_replicas_deliver_each_logout_token_exactly_once,
    a_row_claimed_by_a_replica_that_died_is_sent_after_its_lease,
    a_session_ended_from_many_places_at_once_yields_one_token_per_client,
    a_dynamically_registered_client_is_never_sent_inside,
);

async fn a_failing_endpoint_is_retried_with_backoff_then_given_up(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.backchannel_logout.max_attempts = 3;
        c.backchannel_logout.backoff_initial_secs = 10;
        c.backchannel_logout.backoff_max_secs = 15;
    })
    .await;
    let rx = Receiver::start().await;
    let a = bcl_client(&s, "app-a", Some(rx.uri("app-a"))).await;
    let b = bcl_client(&s, "app-b", Some(rx.uri("app-b"))).await;
    // Nothing listens on port 1: the connection is refused.
    let c = bcl_client(&s, "app-c", Some("http://127.0.0.1:1/bcl".into())).await;
    rx.answer("app-a", 500);
    let sub = s.user("ann", PW).await;
    let (_, sid) = sign_in_to(&s, &mut Agent::new(), "ann", &[&a, &b, &c]).await;
    s.app
        .sessions
        .end_for(&sub, None, &Operator::cli())
        .await
        .unwrap();

    let rows = |s: &TestServer| {
        let (store, sid) = (s.app.store.clone(), sid.clone());
        async move {
            let all = store.outbox_of_session(&sid).await.unwrap();
            all.into_iter()
                .map(|r| (r.client_id.clone(), r))
                .collect::<HashMap<_, _>>()
        }
    };
    let t0 = s.app.clock.now();
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 3);
    let r = rows(&s).await;
    assert!(r["app-b"].delivered_at.is_some());
    for client in ["app-a", "app-c"] {
        assert_eq!(r[client].attempts, 1);
        assert_eq!(r[client].next_attempt_at, t0 + 10, "{client}");
        assert!(r[client].failed_at.is_none() && r[client].claimed_until.is_none());
    }
    assert_eq!(
        r["app-a"].last_error.as_deref(),
        Some("the client answered HTTP 500")
    );
    assert!(
        r["app-c"]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("request failed")
    );
    // Not due before its backoff has passed.
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 0);
    s.clock.advance(9);
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 0);
    s.clock.advance(1);
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 2);
    let t1 = s.app.clock.now();
    // Doubled, but capped at backoff_max_secs.
    assert_eq!(rows(&s).await["app-a"].next_attempt_at, t1 + 15);
    s.clock.advance(14);
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 0);
    s.clock.advance(1);
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 2);
    // The third attempt was the last: given up, never tried again.
    let r = rows(&s).await;
    for client in ["app-a", "app-c"] {
        assert_eq!(r[client].attempts, 3, "{client}");
        assert!(r[client].failed_at.is_some(), "{client}");
    }
    s.clock.advance(100_000);
    assert_eq!(drain(&s).await, 0);
    assert_eq!(rx.for_client("app-a").len(), 3);
    assert_eq!(rx.for_client("app-b").len(), 1);
    // Each attempt is a new token (its own jti), for the same session.
    let jtis: std::collections::HashSet<_> = rx
        .for_client("app-a")
        .iter()
        .map(|r| r.claims["jti"].to_string())
        .collect();
    assert_eq!(jtis.len(), 3);
    // Every give-up is audited, with the client and the session.
    let failed = s
        .app
        .store
        .audit_events(&AuditQuery {
            event_type: Some("backchannel_logout.failed".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let mut clients: Vec<_> = failed.iter().filter_map(|e| e.client_id.clone()).collect();
    clients.sort();
    assert_eq!(clients, ["app-a", "app-c"]);
    assert!(
        failed
            .iter()
            .all(|e| e.subject.as_deref() == Some(sid.as_str()))
    );
    // Settled rows are purged after keep_days, not before.
    let now = s.app.clock.now();
    assert_eq!(
        s.app
            .store
            .purge_outbox(now - 86_400 * 7 - 100_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.app.store.purge_outbox(now + 1).await.unwrap(), 3);
    assert!(rows(&s).await.is_empty());
}

async fn two_replicas_deliver_each_logout_token_exactly_once(backend: Backend) {
    let servers = replicas_with(backend, |c| {
        c.backchannel_logout.poll_interval_ms = 10;
        c.backchannel_logout.batch = 3;
    })
    .await;
    let s = &servers.0;
    let rx = Receiver::start().await;
    let a = bcl_client(s, "app-a", Some(rx.uri("app-a"))).await;
    let b = bcl_client(s, "app-b", Some(rx.uri("app-b"))).await;
    let mut sids = Vec::new();
    for i in 0..8 {
        let user = format!("user{i}");
        let sub = s.user(&user, PW).await;
        let (_, sid) = sign_in_to(s, &mut Agent::new(), &user, &[&a, &b]).await;
        s.app
            .sessions
            .end_for(&sub, None, &Operator::cli())
            .await
            .unwrap();
        sids.push(sid);
    }
    // Both replicas drain the same outbox at once.
    let drainers = [
        servers.0.app.backchannel.spawn(),
        servers.1.app.backchannel.spawn(),
    ];
    rx.wait_until("16 logout tokens", |r| r.len() >= 16).await;
    // Once every row is marked delivered nothing can be sent again (a claim needs an unsettled row).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut settled = true;
        for sid in &sids {
            let rows = s.app.store.outbox_of_session(sid).await.unwrap();
            settled &= rows.len() == 2 && rows.iter().all(|r| r.delivered_at.is_some());
        }
        if settled {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rows not all delivered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for d in drainers {
        d.abort();
    }
    let mut count: HashMap<(String, String), usize> = HashMap::new();
    for r in rx.received() {
        let sid = r.claims["sid"].as_str().unwrap().to_owned();
        *count.entry((sid, r.client)).or_default() += 1;
    }
    assert_eq!(count.len(), 16, "{count:?}");
    assert!(
        count.values().all(|n| *n == 1),
        "a token was sent twice: {count:?}"
    );
    for sid in &sids {
        for row in s.app.store.outbox_of_session(sid).await.unwrap() {
            assert_eq!(row.attempts, 1, "{row:?}");
        }
    }
}

async fn a_row_claimed_by_a_replica_that_died_is_sent_after_its_lease(backend: Backend) {
    let servers = replicas_with(backend, |_| {}).await;
    let (s, other) = (&servers.0, &servers.1);
    let rx = Receiver::start().await;
    let a = bcl_client(s, "app-a", Some(rx.uri("app-a"))).await;
    let b = bcl_client(s, "app-b", Some(rx.uri("app-b"))).await;
    let sub = s.user("ann", PW).await;
    let (_, sid) = sign_in_to(s, &mut Agent::new(), "ann", &[&a, &b]).await;
    s.app
        .sessions
        .end_for(&sub, None, &Operator::cli())
        .await
        .unwrap();
    // The other replica claims both rows and dies before sending them.
    let lease = other.app.config.backchannel_logout.lease_secs;
    let now = other.app.clock.now();
    let dead = other
        .app
        .store
        .claim_outbox(now, lease, 10, "dead")
        .await
        .unwrap();
    assert_eq!(dead.len(), 2);
    // While the lease holds nobody else sends them.
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 0);
    s.clock.advance(lease - 1);
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 0);
    assert!(rx.received().is_empty());
    // Then they are claimed again and sent, once each.
    s.clock.advance(1);
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 2);
    assert_eq!(rx.for_client("app-a").len(), 1);
    assert_eq!(rx.for_client("app-b").len(), 1);
    for row in s.app.store.outbox_of_session(&sid).await.unwrap() {
        assert_eq!(row.attempts, 2, "{row:?}");
        assert!(row.delivered_at.is_some());
    }
    // The dead replica's claim can settle nothing any more.
    let late = s.app.clock.now();
    assert!(
        !other
            .app
            .store
            .outbox_delivered(&dead[0], late)
            .await
            .unwrap()
    );
    assert_eq!(drain(s).await, 0);
    assert_eq!(rx.received().len(), 2);
}

async fn a_session_ended_from_many_places_at_once_yields_one_token_per_client(backend: Backend) {
    let servers = replicas_with(backend, |_| {}).await;
    let s = &servers.0;
    let rx = Receiver::start().await;
    let a = bcl_client(s, "app-a", Some(rx.uri("app-a"))).await;
    let b = bcl_client(s, "app-b", Some(rx.uri("app-b"))).await;
    let sub = s.user("ann", PW).await;
    let (_, sid) = sign_in_to(s, &mut Agent::new(), "ann", &[&a, &b]).await;
    // Idle for long enough that the maintenance jobs notice it, while administrators end it.
    let idle = s.app.config.sessions.idle_timeout_secs;
    s.clock.advance(idle);
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let server = pick(&servers, i);
        let sub = sub.clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                let now = server.app.clock.now();
                server
                    .app
                    .store
                    .notify_lapsed_sessions(now, idle)
                    .await
                    .unwrap();
            } else {
                server
                    .app
                    .sessions
                    .end_for(&sub, None, &Operator::cli())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rows = s.app.store.outbox_of_session(&sid).await.unwrap();
    let clients: Vec<_> = rows.iter().map(|r| r.client_id.as_str()).collect();
    assert_eq!(clients, ["app-a", "app-b"]);
    drain(&servers.1).await;
    drain(s).await;
    assert_eq!(rx.for_client("app-a").len(), 1);
    assert_eq!(rx.for_client("app-b").len(), 1);
}

/// Marks `client_id` as registered dynamically (RFC 7591), as `/register` does: a row in
/// `client_registrations`.
async fn mark_dynamic(s: &TestServer, backend: Backend, client_id: &str, n: u8) {
    use sea_orm::ConnectionTrait;
    let digest = match backend {
        Backend::Postgres => format!("decode('{n:02x}', 'hex')"),
        Backend::Sqlite => format!("X'{n:02x}'"),
    };
    let sql = format!(
        "INSERT INTO client_registrations (client_id, access_token_sha256, registration_token_id, \
         allowed_scopes, client_created_at, created_at) VALUES ('{client_id}', {digest}, 'iat', \
         'openid', 0, 0)"
    );
    s.app.store.conn().execute_unprepared(&sql).await.unwrap();
}

/// A client registered dynamically (by whoever holds an initial access token) is sent its logout
/// tokens at public addresses only, checked at each POST: an internal literal or `localhost` in
/// its URI (a row older than the registration check, or written past it) is never contacted, and
/// the row is given up at once (audited like any give-up). A client an operator registered is still reached on
/// an internal address: internal apps are what it is for.
async fn a_dynamically_registered_client_is_never_sent_inside(backend: Backend) {
    let s = TestServer::start(backend).await;
    let rx = Receiver::start().await;
    let ops = bcl_client(&s, "ops-app", Some(rx.uri("ops-app"))).await;
    let literal = bcl_client(&s, "dyn-literal", Some(rx.uri("dyn-literal"))).await;
    let by_name = rx.uri("dyn-name").replace("127.0.0.1", "localhost");
    let named = bcl_client(&s, "dyn-name", Some(by_name)).await;
    mark_dynamic(&s, backend, "dyn-literal", 1).await;
    mark_dynamic(&s, backend, "dyn-name", 2).await;
    let sub = s.user("ann", PW).await;
    let (_, sid) = sign_in_to(&s, &mut Agent::new(), "ann", &[&ops, &literal, &named]).await;
    s.app
        .sessions
        .end_for(&sub, None, &Operator::cli())
        .await
        .unwrap();
    assert_eq!(s.app.backchannel.drain_once().await.unwrap(), 3);
    let rows: HashMap<_, _> = (s.app.store.outbox_of_session(&sid).await.unwrap())
        .into_iter()
        .map(|r| (r.client_id.clone(), r))
        .collect();
    assert!(rows["ops-app"].delivered_at.is_some());
    assert_eq!(rx.for_client("ops-app").len(), 1);
    for client in ["dyn-literal", "dyn-name"] {
        let row = &rows[client];
        assert!(row.delivered_at.is_none(), "{client}");
        assert_eq!(row.attempts, 1, "{client}");
        assert!(
            row.last_error
                .as_deref()
                .unwrap()
                .contains("public address"),
            "{client}: {:?}",
            row.last_error
        );
        assert!(
            row.failed_at.is_some(),
            "{client}: given up at once, never deliverable"
        );
        assert!(rx.for_client(client).is_empty(), "{client} was contacted");
    }
    s.clock.advance(100_000);
    assert_eq!(drain(&s).await, 0, "never tried again");
}
