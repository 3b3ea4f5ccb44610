//! The audit trail under concurrency and failure, on SQLite and PostgreSQL: parallel requests over
//! two replicas sharing one database leave exactly the events of what the database did, and a
//! change that rolls back leaves no event (nor an event without its change).

use sea_orm::ConnectionTrait;
use serde_json::Value;
use tests::fixture::{Sso, alice_at_app};
use tests::oauth::{Agent, Pkce, WebClient};
use tests::replicas::{PARALLEL, Replicas, assert_all_dead, pick, replicas, replicas_with};
use tests::sso_support::{OFFLINE, PW, alice_offline, assert_invalid_grant, rotated, try_login};
use tests::{Backend, TestServer};

use crate::audit::{events, of_type, token_with_id};

tests::on_both_backends!(
    parallel_replays_of_one_code_leave_one_event_per_replay,
    parallel_reuses_of_one_refresh_token_leave_one_event,
    parallel_guesses_leave_one_failure_per_check_and_one_lockout,
    a_change_that_rolls_back_leaves_no_event,
);

/// Redeems `code` `PARALLEL` times at once over both replicas; returns every response.
async fn stampede(
    servers: &Replicas,
    app: &WebClient,
    code: &str,
    pkce: &Pkce,
) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, app, code, v) = (
            pick(servers, i),
            app.clone(),
            code.to_owned(),
            pkce.verifier.clone(),
        );
        tasks.push(tokio::spawn(async move { s.redeem(&app, &code, &v).await }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Of `PARALLEL` redemptions of one code, exactly one consumes it and the others are replays: one
/// event each. Whether they revoked tokens is what the database did: all did if the first
/// redemption recorded its tokens (and got them), none did if a replay marked the code first
/// (and nothing was issued).
async fn parallel_replays_of_one_code_leave_one_event_per_replay(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (app, mut browser) = alice_at_app(&a).await;
    for round in 0..3 {
        let pkce = Pkce::new();
        let code = a
            .code_for(&mut browser, &app, &pkce, OFFLINE, "alice", PW)
            .await;
        let before = of_type(&events(&a).await, "authorization_code.replay").len();
        let results = stampede(&servers, &app, &code, &pkce).await;
        let won: Vec<Value> = results
            .iter()
            .filter(|r| r.0 == 200)
            .map(|r| r.1.clone())
            .collect();
        for r in results.iter().filter(|r| r.0 != 200) {
            assert_invalid_grant(r);
        }
        assert!(
            won.len() <= 1,
            "round {round}: {} redemptions won",
            won.len()
        );
        let all = events(&a).await;
        let replays = of_type(&all, "authorization_code.replay");
        assert_eq!(
            replays.len() - before,
            PARALLEL - 1,
            "round {round}: one event per replay"
        );
        let revoked = format!(r#"{{"tokens_revoked":{}}}"#, won.len() == 1);
        for e in &replays[..PARALLEL - 1] {
            assert_eq!(
                e.detail.as_deref(),
                Some(revoked.as_str()),
                "round {round}: {e:#?}"
            );
            assert_eq!(e.client_id.as_deref(), Some("app"));
            assert!(e.request_id.is_some() && e.client_addr.is_some(), "{e:#?}");
        }
        // Distinct requests: one event each, never one request twice.
        let ids: std::collections::HashSet<_> = replays[..PARALLEL - 1]
            .iter()
            .map(|e| e.request_id.clone())
            .collect();
        assert_eq!(ids.len(), PARALLEL - 1, "round {round}");
        assert_all_dead(&servers, &app, &won, &format!("round {round}")).await;
    }
}

/// `PARALLEL` presentations of one retired refresh token past the grace window, over both
/// replicas: the grant is revoked once, and recorded once.
async fn parallel_reuses_of_one_refresh_token_leave_one_event(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (app, mut browser) = alice_at_app(&a).await;
    for round in 0..2 {
        let rt = alice_offline(&a, &mut browser, &app).await;
        let current = rotated(&a, &app, &rt).await;
        a.clock
            .advance(a.app.config.tokens.refresh_reuse_grace_secs + 1);
        let before = of_type(&events(&a).await, "refresh_token.reuse_detected").len();
        let mut tasks = Vec::new();
        for i in 0..PARALLEL {
            let (s, app, rt) = (pick(&servers, i), app.clone(), rt.clone());
            tasks.push(tokio::spawn(
                async move { s.refresh(&app, &rt, None).await },
            ));
        }
        for t in tasks {
            assert_invalid_grant(&t.await.unwrap());
        }
        let all = events(&a).await;
        let reuses = of_type(&all, "refresh_token.reuse_detected");
        assert_eq!(reuses.len() - before, 1, "round {round}: {all:#?}");
        assert_invalid_grant(&a.refresh(&app, &current, None).await);
    }
}

/// `PARALLEL` wrong passwords for one account from one address at once, over both replicas: one
/// `sign_in.failure` per password checked (401), and one `sign_in.lockout`, the pair's counter
/// being at its limit and locked in the database; the refusals (429) record nothing.
async fn parallel_guesses_leave_one_failure_per_check_and_one_lockout(backend: Backend) {
    let servers = replicas_with(backend, |c| {
        c.server.trusted_proxies = "127.0.0.0/8".parse().unwrap();
    })
    .await;
    let a = servers.0.clone();
    let (app, _) = alice_at_app(&a).await;
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let s = pick(&servers, i);
        let url = s.authorize_url(&app, &Pkce::new(), "openid", &[]);
        tasks.push(tokio::spawn(async move {
            let mut agent = Agent::forwarded_for("203.0.113.9");
            let page = agent.get(&url).await;
            try_login(&s, &mut agent, &page, "alice", "wrong password")
                .await
                .status
        }));
    }
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            401 => checked += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    let limit = a.app.config.login.max_failures_per_pair;
    assert_eq!(
        checked,
        usize::try_from(limit).unwrap(),
        "the pair's allowance"
    );
    let all = events(&a).await;
    assert_eq!(of_type(&all, "sign_in.failure").len(), checked, "{all:#?}");
    let lockouts = of_type(&all, "sign_in.lockout");
    assert_eq!(lockouts.len(), 1, "{all:#?}");
    assert_eq!(lockouts[0].client_addr.as_deref(), Some("203.0.113.9"));
    assert_eq!(all.len(), checked + 1, "{all:#?}");
    let pair = a
        .app
        .store
        .find_login_failures("pair:203.0.113.9|user:alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pair.failures, limit);
    assert!(pair.locked_until > tests::now(&a.clock));
}

/// Renames the audit table away (so an event cannot be stored) on `s`'s database, or back.
async fn audit_table(s: &TestServer, available: bool) {
    let (from, to) = match available {
        true => ("audit_events_away", "audit_events"),
        false => ("audit_events", "audit_events_away"),
    };
    s.app
        .store
        .conn()
        .execute_unprepared(&format!("ALTER TABLE {from} RENAME TO {to}"))
        .await
        .unwrap();
}

/// With the audit table gone, a refresh-token reuse and a code replay fail (503) and change
/// nothing: the grants they would have revoked still work; a sign-in fails and starts no session.
/// Back, the same requests revoke and record.
async fn a_change_that_rolls_back_leaves_no_event(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let rt = alice_offline(&s, &mut browser, &app).await;
    let current = rotated(&s, &app, &rt).await;
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, OFFLINE, "alice", PW)
        .await;
    let (status, first) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{first}");
    let first_rt = first["refresh_token"].as_str().unwrap().to_owned();
    s.clock
        .advance(s.app.config.tokens.refresh_reuse_grace_secs + 1);
    let before = events(&s).await;

    audit_table(&s, false).await;
    let reuse = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let (status, body) = token_with_id(&s, &app, &reuse, "r-1").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
    let redirect = app.redirect_uri.clone();
    let replay = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    let (status, _) = token_with_id(&s, &app, &replay, "c-1").await;
    assert_eq!(status, 503);
    let mut fresh = Agent::new();
    let page = fresh
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    let signed = s.sign_in(&mut fresh, &page, "alice", PW).await;
    assert!(signed.status >= 500, "{} {}", signed.status, signed.body);
    assert!(tests::sso_support::set_cookie(&signed, "auth_session").is_none());
    audit_table(&s, true).await;

    assert_eq!(events(&s).await, before, "no event without its change");
    // No change without its event: both grants are alive.
    assert_eq!(s.introspect(&app, &current).await["active"], true);
    assert_eq!(s.introspect(&app, &first_rt).await["active"], true);

    let (status, _) = token_with_id(&s, &app, &reuse, "r-2").await;
    assert_eq!(status, 400);
    let (status, _) = token_with_id(&s, &app, &replay, "c-2").await;
    assert_eq!(status, 400);
    let all = events(&s).await;
    assert_eq!(all.len(), before.len() + 2, "{all:#?}");
    assert_eq!(
        of_type(&all, "refresh_token.reuse_detected")[0]
            .request_id
            .as_deref(),
        Some("r-2")
    );
    assert_eq!(
        of_type(&all, "authorization_code.replay")[0]
            .request_id
            .as_deref(),
        Some("c-2")
    );
    assert_eq!(s.introspect(&app, &current).await["active"], false);
    assert_eq!(s.introspect(&app, &first_rt).await["active"], false);
}
