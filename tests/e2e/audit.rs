//! The audit trail of the user-facing flows (issue 10): each sign-in success, failure and lockout,
//! consent, logout, refresh-token reuse and code replay leaves exactly one event, with its actor,
//! user, client, request id and client address; nothing is recorded on the token path. On SQLite
//! and PostgreSQL. The races and the rollback are in `audit_races.rs`, the CLI in `audit_cli.rs`.

use auth_server::model::audit::{AuditQuery, AuditRecord};
use serde_json::Value;
use tests::fixture::Sso;
use tests::oauth::{Agent, Page, Pkce, WebClient, encode_form};
use tests::sso_support::{OFFLINE, PW, alice_offline, on_consent_page, rotated, try_login};
use tests::{Backend, TestServer, basic};

tests::on_both_backends!(
    sign_ins_leave_one_event_each_with_who_and_where,
    a_lockout_is_one_event_when_it_starts,
    consent_and_logout_leave_one_event_each,
    a_refresh_token_reuse_is_one_event,
    a_code_replay_is_one_event_with_what_it_revoked,
    the_token_path_writes_no_events,
);

/// The tests connect from 127.0.0.1: here, that is the load balancer.
const PROXIES: &str = "127.0.0.0/8";

/// Every event, newest first.
pub(crate) async fn events(s: &TestServer) -> Vec<AuditRecord> {
    s.app
        .store
        .audit_events(&AuditQuery {
            limit: 10_000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
}

/// The events of type `t`.
pub(crate) fn of_type<'a>(all: &'a [AuditRecord], t: &str) -> Vec<&'a AuditRecord> {
    all.iter().filter(|e| e.event_type == t).collect()
}

/// The one event of type `t` (asserting there is exactly one).
pub(crate) fn one<'a>(all: &'a [AuditRecord], t: &str) -> &'a AuditRecord {
    let found = of_type(all, t);
    assert_eq!(found.len(), 1, "one {t} expected: {all:#?}");
    found[0]
}

/// The request id the IdP answered `p` with.
fn request_id(p: &Page) -> String {
    p.headers["x-request-id"].to_str().unwrap().to_owned()
}

/// A `/token` request as `client` carrying our own `x-request-id`.
pub(crate) async fn token_with_id(
    s: &TestServer,
    client: &WebClient,
    pairs: &[(&str, &str)],
    id: &str,
) -> (u16, Value) {
    let res = s
        .http
        .post(format!("{}/token", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            basic(&client.id, client.secret.as_ref().unwrap()),
        )
        .header("x-request-id", id)
        .body(encode_form(pairs))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Asserts actor, user, client, address and request id of `e`.
fn assert_about(e: &AuditRecord, actor: (&str, Option<&str>), user: Option<&str>, client: &str) {
    assert_eq!(
        (e.actor_kind.as_str(), e.actor_id.as_deref()),
        actor,
        "{e:#?}"
    );
    assert_eq!(e.user_id.as_deref(), user, "{e:#?}");
    assert_eq!(e.client_id.as_deref(), Some(client), "{e:#?}");
}

async fn login_page(s: &TestServer, browser: &mut Agent, app: &WebClient) -> Page {
    let page = browser
        .get(&s.authorize_url(app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

/// A wrong password, an unknown user and a right password from one browser behind a trusted
/// proxy: one event each, carrying the forwarded client address and the request id of its answer.
async fn sign_ins_leave_one_event_each_with_who_and_where(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.server.trusted_proxies = PROXIES.parse().unwrap();
    })
    .await;
    let Sso { s, sub, app, .. } = Sso::on(s, "alice", tests::oauth::first_party()).await;
    let mut browser = Agent::forwarded_for("198.51.100.7");
    assert!(events(&s).await.is_empty());

    let page = login_page(&s, &mut browser, &app).await;
    let wrong = try_login(&s, &mut browser, &page, "alice", "wrong password").await;
    assert_eq!(wrong.status, 401);
    let all = events(&s).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    let e = one(&all, "sign_in.failure");
    assert_about(e, ("anonymous", None), Some(&sub), "app");
    assert_eq!(e.subject.as_deref(), Some("alice"));
    assert_eq!(e.client_addr.as_deref(), Some("198.51.100.7"));
    assert_eq!(e.request_id.as_deref(), Some(request_id(&wrong).as_str()));
    assert!(e.detail.as_deref().unwrap().contains("rejected"), "{e:#?}");

    let page = login_page(&s, &mut browser, &app).await;
    let unknown = try_login(&s, &mut browser, &page, "nobody", "wrong password").await;
    assert_eq!(unknown.status, 401);
    let all = events(&s).await;
    let e = &all[0];
    assert_eq!(e.event_type, "sign_in.failure");
    assert_about(e, ("anonymous", None), None, "app");
    assert_eq!(e.subject.as_deref(), Some("nobody"));
    assert_eq!(e.request_id.as_deref(), Some(request_id(&unknown).as_str()));

    let page = login_page(&s, &mut browser, &app).await;
    let ok = try_login(&s, &mut browser, &page, "alice", PW).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let all = events(&s).await;
    assert_eq!(all.len(), 3, "{all:#?}");
    let e = one(&all, "sign_in.success");
    assert_about(e, ("user", Some(&sub)), Some(&sub), "app");
    assert_eq!(e.client_addr.as_deref(), Some("198.51.100.7"));
    assert_eq!(e.request_id.as_deref(), Some(request_id(&ok).as_str()));
    // The subject is the new session (the logout of it names the same one).
    assert!(
        e.subject.as_deref().is_some_and(|sid| sid.len() >= 16),
        "{e:#?}"
    );
    assert_eq!(of_type(&all, "sign_in.failure").len(), 2);
}

/// Five failures of one pair lock it: one lockout event, with the fifth failure (the one that
/// reached the limit); the refused attempts after it record nothing.
async fn a_lockout_is_one_event_when_it_starts(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.server.trusted_proxies = PROXIES.parse().unwrap();
    })
    .await;
    let Sso { s, sub, app, .. } = Sso::on(s, "alice", tests::oauth::first_party()).await;
    let limit = s.app.config.login.max_failures_per_pair;
    let mut attacker = Agent::forwarded_for("203.0.113.66");
    let mut last = None;
    for _ in 0..limit {
        let page = login_page(&s, &mut attacker, &app).await;
        let p = try_login(&s, &mut attacker, &page, "alice", "guess").await;
        assert_eq!(p.status, 401, "{}", p.body);
        last = Some(p);
    }
    for _ in 0..3 {
        let page = login_page(&s, &mut attacker, &app).await;
        let p = try_login(&s, &mut attacker, &page, "alice", "guess").await;
        assert_eq!(p.status, 429, "{}", p.body);
    }
    let all = events(&s).await;
    assert_eq!(
        of_type(&all, "sign_in.failure").len(),
        usize::try_from(limit).unwrap()
    );
    assert_eq!(all.len(), usize::try_from(limit).unwrap() + 1, "{all:#?}");
    let e = one(&all, "sign_in.lockout");
    assert_about(e, ("anonymous", None), Some(&sub), "app");
    assert_eq!(e.subject.as_deref(), Some("alice"));
    assert_eq!(e.client_addr.as_deref(), Some("203.0.113.66"));
    assert_eq!(
        e.request_id.as_deref(),
        Some(request_id(last.as_ref().unwrap()).as_str())
    );
    let detail: Value = serde_json::from_str(e.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["counter"], "pair");
    assert_eq!(detail["seconds"], s.app.config.login.lockout_secs);
}

/// Allowing a third-party client is one `consent.given` (a refusal is none); ending the session
/// is one `logout` naming that session; a logout without a session records nothing.
async fn consent_and_logout_leave_one_event_each(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (mut browser, partner, consent) = on_consent_page(&s).await;
    let erin = s.app.users.find("erin").await.unwrap().unwrap().id;
    let denied = tests::sso_support::decide(&s, &mut browser, &consent, "deny").await;
    assert_eq!(
        denied.location_param("error").as_deref(),
        Some("access_denied")
    );
    assert!(of_type(&events(&s).await, "consent.given").is_empty());

    let page = browser
        .get(&s.authorize_url(&partner, &Pkce::new(), "openid email", &[]))
        .await;
    assert!(page.body.contains("id=\"allow\""), "{}", page.body);
    let allowed = tests::sso_support::decide(&s, &mut browser, &page, "allow").await;
    assert!(allowed.location_param("code").is_some(), "{}", allowed.body);
    let all = events(&s).await;
    let e = one(&all, "consent.given");
    assert_about(e, ("user", Some(&erin)), Some(&erin), "partner");
    assert_eq!(e.client_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.request_id.as_deref(), Some(request_id(&allowed).as_str()));
    let detail: Value = serde_json::from_str(e.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["scope"], "openid email");

    // Without an ID token the user confirms on a form; that answer ends the session.
    let logout = format!("{}/logout", s.base);
    let confirm = browser.get(&logout).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let done = browser.submit(&confirm, &logout, &[]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let all = events(&s).await;
    let e = one(&all, "logout");
    assert_eq!(
        (e.actor_kind.as_str(), e.actor_id.as_deref()),
        ("user", Some(erin.as_str()))
    );
    assert_eq!(e.user_id.as_deref(), Some(erin.as_str()));
    assert_eq!(e.request_id.as_deref(), Some(request_id(&done).as_str()));
    assert_eq!(e.client_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        e.subject,
        one(&all, "sign_in.success").subject,
        "the session signed in"
    );

    // Signed out already: nothing ends, nothing is recorded.
    let again = browser.get(&logout).await;
    let _ = browser.submit(&again, &logout, &[]).await;
    assert_eq!(of_type(&events(&s).await, "logout").len(), 1);
}

/// A rotated refresh token presented after the grace window revokes its grant: one event, by the
/// client, about the user and the grant; presenting it again finds the grant revoked and records
/// nothing more.
async fn a_refresh_token_reuse_is_one_event(backend: Backend) {
    let Sso {
        s,
        sub,
        app,
        mut browser,
    } = Sso::start(backend).await;
    let rt = alice_offline(&s, &mut browser, &app).await;
    let _current = rotated(&s, &app, &rt).await;
    s.clock
        .advance(s.app.config.tokens.refresh_reuse_grace_secs + 1);
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let (status, body) = token_with_id(&s, &app, &pairs, "reuse-1").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = token_with_id(&s, &app, &pairs, "reuse-2").await;
    assert_eq!(status, 400);
    let all = events(&s).await;
    let e = one(&all, "refresh_token.reuse_detected");
    assert_about(e, ("client", Some("app")), Some(&sub), "app");
    assert_eq!(e.request_id.as_deref(), Some("reuse-1"));
    assert_eq!(e.client_addr.as_deref(), Some("127.0.0.1"));
    assert!(e.subject.is_some(), "the grant (family) is named: {e:#?}");
}

/// A second redemption of a code revokes what the first issued: one event per replay, saying so.
async fn a_code_replay_is_one_event_with_what_it_revoked(backend: Backend) {
    let Sso {
        s,
        sub,
        app,
        mut browser,
    } = Sso::start(backend).await;
    let pkce = Pkce::new();
    let code = s
        .code_for(&mut browser, &app, &pkce, OFFLINE, "alice", PW)
        .await;
    let (status, first) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{first}");
    let redirect = app.redirect_uri.clone();
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    let (status, _) = token_with_id(&s, &app, &pairs, "replay-1").await;
    assert_eq!(status, 400);
    let all = events(&s).await;
    let e = one(&all, "authorization_code.replay");
    assert_about(e, ("client", Some("app")), Some(&sub), "app");
    assert_eq!(e.request_id.as_deref(), Some("replay-1"));
    assert_eq!(e.client_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.detail.as_deref(), Some(r#"{"tokens_revoked":true}"#));
    let rt = first["refresh_token"].as_str().unwrap();
    assert_eq!(s.introspect(&app, rt).await["active"], false);
    // Every replay is recorded.
    let (status, _) = token_with_id(&s, &app, &pairs, "replay-2").await;
    assert_eq!(status, 400);
    assert_eq!(
        of_type(&events(&s).await, "authorization_code.replay").len(),
        2
    );
}

/// Client credentials (50 times), a code redemption and refreshes add no event: audit writes stay
/// off the token path.
async fn the_token_path_writes_no_events(backend: Backend) {
    let Sso {
        s,
        app,
        mut browser,
        ..
    } = Sso::start(backend).await;
    let (id, secret) = s
        .client(
            "svc",
            auth_core::Alg::Es256,
            &["read"],
            &["https://api.example.com"],
        )
        .await;
    let rt = alice_offline(&s, &mut browser, &app).await;
    let before = events(&s).await;
    assert_eq!(before.len(), 1, "only the sign-in: {before:#?}");
    for _ in 0..50 {
        let _ = s.cc_access_token(&id, &secret).await;
    }
    let mut rt = rt;
    for _ in 0..3 {
        rt = rotated(&s, &app, &rt).await;
    }
    let after = events(&s).await;
    assert_eq!(after, before, "the token path wrote audit events");
}
