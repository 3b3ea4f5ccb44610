//! OpenID Connect Back-Channel Logout 1.0, over HTTP on SQLite and PostgreSQL: every way an SSO
//! session ends enqueues, in its own transaction, one logout token for each client that received
//! tokens in it and registered a `backchannel_logout_uri`, and no other; the drainer delivers each
//! once, signed as §2.4 says; registration and discovery. Delivery itself (retries, leases, two
//! replicas) is in `backchannel_logout_delivery.rs`.

use std::collections::BTreeSet;

use auth_server::domain::clients::NewClient;
use auth_server::domain::users::Operator;
use reqwest::Method;
use serde_json::json;
use tests::admin::{ADMIN_SCOPES, AdminServer, problem};
use tests::backchannel::{Receiver, bcl_client, drain, logout_verifier, sign_in_to};
use tests::oauth::{Agent, Pkce, WebClient};
use tests::sso_support::PW;
use tests::{Backend, TestServer, new_client};

tests::on_both_backends!(
    each_way_a_session_ends_tells_exactly_the_clients_that_got_tokens_in_it,
    a_session_past_its_absolute_end_is_noticed_and_told_once,
    the_registration_is_checked_and_discovery_lists_the_support,
    the_admin_api_registers_the_uri_and_ending_sessions_there_tells_the_clients,
);

/// The clients of a test: `a` and `b` registered with the receiver, `n` without a URI, `x` with
/// one but never used in the sessions under test.
struct Apps {
    a: WebClient,
    b: WebClient,
    n: WebClient,
}

async fn apps(s: &TestServer, rx: &Receiver) -> Apps {
    let a = bcl_client(s, "app-a", Some(rx.uri("app-a"))).await;
    let b = bcl_client(s, "app-b", Some(rx.uri("app-b"))).await;
    let n = bcl_client(s, "app-n", None).await;
    bcl_client(s, "app-x", Some(rx.uri("app-x"))).await;
    Apps { a, b, n }
}

/// Drains the outbox, then checks that session `sid` of user `sub` was told to exactly `app-a`
/// and `app-b`, once each, with logout tokens that pass auth-verifier's §2.6 validation.
async fn assert_told(s: &TestServer, rx: &Receiver, sid: &str, sub: &str, how: &str) {
    drain(s).await;
    let got: Vec<_> = rx
        .received()
        .into_iter()
        .filter(|r| r.claims["sid"] == sid)
        .collect();
    let clients: Vec<&str> = got.iter().map(|r| r.client.as_str()).collect();
    let mut sorted = clients.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["app-a", "app-b"], "{how}: told {clients:?}");
    for r in &got {
        assert_eq!(r.header["typ"], "logout+jwt", "{how}");
        assert_eq!(r.claims["aud"], r.client.as_str(), "{how}");
        assert_eq!(r.claims["sub"], sub, "{how}");
        assert_eq!(r.claims["iss"], s.base.as_str(), "{how}");
        assert!(r.claims.get("nonce").is_none(), "{how}");
        let exp = r.claims["exp"].as_i64().unwrap();
        let iat = r.claims["iat"].as_i64().unwrap();
        assert!((1..=300).contains(&(exp - iat)), "{how}: short-lived");
        let checked = logout_verifier(s, &r.client)
            .await
            .verify(&r.token)
            .await
            .unwrap_or_else(|e| panic!("{how}: {e}"));
        assert_eq!(checked.sid.as_deref(), Some(sid), "{how}");
    }
    let rows = s.app.store.outbox_of_session(sid).await.unwrap();
    assert_eq!(rows.len(), 2, "{how}");
    assert!(
        rows.iter()
            .all(|r| r.delivered_at.is_some() && r.attempts == 1),
        "{how}: {rows:?}"
    );
    // Nothing is left to tell for this session.
    assert!(
        s.app.store.session_clients(sid).await.unwrap().is_empty(),
        "{how}"
    );
}

async fn each_way_a_session_ends_tells_exactly_the_clients_that_got_tokens_in_it(backend: Backend) {
    // A small session cap, so that reaching it takes few sign-ins.
    let s = TestServer::start_with(backend, |c| c.sessions.max_per_user = 3).await;
    let rx = Receiver::start().await;
    let apps = apps(&s, &rx).await;
    let all = [&apps.a, &apps.b, &apps.n];
    let hows = [
        "logout with id_token_hint",
        "logout confirmed without a hint",
        "an administrator ending the sessions",
        "an administrator ending one session",
        "a new password",
        "a disabled user",
        "a deleted user",
        "the per-user session cap",
        "idle timeout",
    ];
    let mut seen = BTreeSet::new();
    for (i, how) in hows.into_iter().enumerate() {
        let user = format!("user{i}");
        let sub = s.user(&user, PW).await;
        let mut browser = Agent::new();
        let (tokens, sid) = sign_in_to(&s, &mut browser, &user, &all).await;
        assert_eq!(
            s.app.store.session_clients(&sid).await.unwrap(),
            ["app-a", "app-b", "app-n"],
            "{how}"
        );
        // Nothing is sent while the session lives.
        assert_eq!(drain(&s).await, 0, "{how}");
        let op = Operator::cli();
        match how {
            "logout with id_token_hint" => {
                let url = format!("{}/logout?id_token_hint={}", s.base, tokens[0].id());
                let out = browser.get(&url).await;
                assert!(out.status == 200 || out.status == 302, "{}", out.body);
            }
            "logout confirmed without a hint" => {
                let confirm = browser.get(&format!("{}/logout", s.base)).await;
                assert_eq!(confirm.status, 200);
                let action = format!("{}/logout", s.base);
                let done = browser.submit(&confirm, &action, &[]).await;
                assert!(done.status == 200 || done.status == 302, "{}", done.body);
            }
            "an administrator ending the sessions" => {
                let n = s.app.sessions.end_for(&sub, None, &op).await.unwrap();
                assert_eq!(n, Some(1));
            }
            "an administrator ending one session" => {
                let n = s.app.sessions.end_for(&sub, Some(&sid), &op).await.unwrap();
                assert_eq!(n, Some(1));
            }
            "a new password" => {
                s.app
                    .users
                    .set_password_as(&sub, "another long passphrase".into(), &op)
                    .await
                    .unwrap();
            }
            "a disabled user" => {
                s.app.users.disable_as(&sub, &op).await.unwrap();
            }
            "a deleted user" => {
                s.app.users.delete_as(&sub, &op).await.unwrap();
            }
            "the per-user session cap" => {
                // Newer sign-ins (a second later), so this session is the oldest that goes.
                s.clock.advance(1);
                let cap = s.app.config.sessions.max_per_user;
                for _ in 0..cap {
                    let mut other = Agent::new();
                    s.code_for(&mut other, &apps.n, &Pkce::new(), "openid", &user, PW)
                        .await;
                }
            }
            "idle timeout" => {
                s.clock.advance(s.app.config.sessions.idle_timeout_secs);
                let now = s.app.clock.now();
                let idle = s.app.config.sessions.idle_timeout_secs;
                let n = s.app.store.notify_lapsed_sessions(now, idle).await.unwrap();
                assert_eq!(n, 2, "{how}: one per client with a URI");
                // Noticed once: a second pass (another replica's) finds nothing.
                assert_eq!(
                    s.app.store.notify_lapsed_sessions(now, idle).await.unwrap(),
                    0
                );
            }
            other => unreachable!("{other}"),
        }
        assert_told(&s, &rx, &sid, &sub, how).await;
        seen.insert(sid);
    }
    // Never a client that got no tokens in these sessions, and each session told once per client.
    assert!(rx.for_client("app-x").is_empty());
    assert!(rx.for_client("app-n").is_empty());
    assert_eq!(rx.received().len(), 2 * seen.len());
}

async fn a_session_past_its_absolute_end_is_noticed_and_told_once(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.sessions.idle_timeout_secs = 300;
        c.sessions.absolute_timeout_secs = 600;
    })
    .await;
    let rx = Receiver::start().await;
    let apps = apps(&s, &rx).await;
    let sub = s.user("ann", PW).await;
    let mut browser = Agent::new();
    let (_, sid) = sign_in_to(&s, &mut browser, "ann", &[&apps.a, &apps.b]).await;
    // Kept in use (never idle for 300 s) until past its absolute end.
    for _ in 0..2 {
        s.clock.advance(250);
        let page = browser
            .get(&s.authorize_url(&apps.n, &Pkce::new(), "openid", &[]))
            .await;
        assert_eq!(page.status, 302, "still signed in");
        let now = s.app.clock.now();
        assert_eq!(
            s.app.store.notify_lapsed_sessions(now, 300).await.unwrap(),
            0
        );
    }
    s.clock.advance(150);
    let now = s.app.clock.now();
    assert_eq!(
        s.app.store.notify_lapsed_sessions(now, 300).await.unwrap(),
        2
    );
    assert_told(&s, &rx, &sid, &sub, "absolute timeout").await;
    // Ending it afterwards (an administrator) tells nobody again.
    s.app
        .sessions
        .end_for(&sub, None, &Operator::cli())
        .await
        .unwrap();
    assert_eq!(drain(&s).await, 0);
    assert_eq!(rx.received().len(), 2);
}

async fn the_registration_is_checked_and_discovery_lists_the_support(backend: Backend) {
    let s = TestServer::start(backend).await;
    let d = s.get_json("/.well-known/openid-configuration").await;
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    for bad in [
        "http://app.example.com/bcl",
        "https://app.example.com/bcl#f",
        "com.example.app:/bcl",
        "javascript:alert(1)",
    ] {
        let new = NewClient {
            backchannel_logout_uri: Some(bad.into()),
            ..new_client("bad", auth_core::Alg::Es256, &["openid"], &[])
        };
        let err = s.app.clients.create(new).await.unwrap_err().to_string();
        assert!(err.contains("backchannel logout URI"), "{bad}: {err}");
    }
    let new = NewClient {
        backchannel_logout_uri: Some("https://app.example.com/bcl?x=1".into()),
        backchannel_logout_session_required: true,
        ..new_client("good", auth_core::Alg::Es256, &["openid"], &[])
    };
    let (c, _) = s.app.clients.create(new).await.unwrap();
    let stored = s.app.clients.fresh(&c.id).await.unwrap().unwrap();
    assert_eq!(
        stored.backchannel_logout_uri.as_deref(),
        Some("https://app.example.com/bcl?x=1")
    );
    assert!(stored.backchannel_logout_session_required);
    // An update can remove it (an empty string) and is audited by name.
    let update = auth_server::domain::clients::ClientUpdate {
        backchannel_logout_uri: Some(String::new()),
        ..Default::default()
    };
    let meta = auth_server::domain::audit::RequestMeta::default();
    let actor = auth_server::domain::audit::Actor::Admin("cli".into());
    let updated = s
        .app
        .clients
        .update_by(&c.id, update, &actor, &meta)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.backchannel_logout_uri, None);
}

async fn the_admin_api_registers_the_uri_and_ending_sessions_there_tells_the_clients(b: Backend) {
    let admin = AdminServer::start(b).await;
    let token = admin.token("ops", ADMIN_SCOPES).await;
    let rx = Receiver::start().await;
    let body = json!({
        "client_id": "wiki", "name": "Wiki", "allowed_scopes": ["openid", "profile"],
        "redirect_uris": ["https://wiki.example/cb"], "first_party": true,
        "backchannel_logout_uri": "https://wiki.example/bcl",
        "backchannel_logout_session_required": true,
    });
    let created = admin
        .expect(Method::POST, "/clients", &token, Some(&body), 201)
        .await;
    assert_eq!(
        created["client"]["backchannel_logout_uri"],
        "https://wiki.example/bcl"
    );
    assert_eq!(
        created["client"]["backchannel_logout_session_required"],
        true
    );
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    // A URI the server could not POST to safely is a 400 problem, and changes nothing.
    for bad in [
        "http://wiki.example/bcl",
        "https://wiki.example/bcl#x",
        "not a uri",
    ] {
        let patch = json!({ "backchannel_logout_uri": bad });
        let res = admin
            .call(Method::PATCH, "/clients/wiki", Some(&token), Some(&patch))
            .await;
        let p = problem(res, 400).await;
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("backchannel logout URI"),
            "{p}"
        );
    }
    let patch = json!({ "backchannel_logout_uri": rx.uri("wiki") });
    let p = admin
        .expect(Method::PATCH, "/clients/wiki", &token, Some(&patch), 200)
        .await;
    assert_eq!(p["backchannel_logout_uri"], rx.uri("wiki").as_str());
    // Ending a user's sessions through the API tells the client.
    let s = &admin.s;
    let sub = s.user("ann", PW).await;
    let wiki = WebClient {
        id: "wiki".into(),
        secret: Some(secret),
        redirect_uri: "https://wiki.example/cb".into(),
    };
    let (_, sid) = sign_in_to(s, &mut Agent::new(), "ann", &[&wiki]).await;
    admin
        .expect(
            Method::DELETE,
            &format!("/users/{sub}/sessions"),
            &token,
            None,
            200,
        )
        .await;
    drain(s).await;
    let got = rx.for_client("wiki");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].claims["sid"], sid.as_str());
    assert_eq!(got[0].claims["aud"], "wiki");
}
