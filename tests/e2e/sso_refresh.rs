//! Refresh tokens over HTTP: issue, rotation, reuse detection, grace window, idle and absolute
//! lifetimes, scope narrowing, client binding, disabled users. Every test runs on SQLite and
//! PostgreSQL.

use tests::oauth::{Agent, WebClientOptions, first_party};
use tests::sso_support::{OFFLINE, PW, assert_error, field, inactive, refreshed, tokens, userinfo};
use tests::{Backend, TestServer, decode_segment, verify};

tests::on_both_backends!(
    refresh_token_needs_offline_access_or_always_refresh,
    refresh_rotates_every_token,
    reuse_after_the_grace_window_revokes_the_family,
    retry_within_the_grace_window_reissues_and_retires_the_previous,
    refresh_token_expires_when_idle,
    refresh_family_has_an_absolute_lifetime,
    refresh_scope_may_narrow_but_not_widen,
    refresh_without_an_audience_does_not_spend_the_token,
    refresh_token_is_bound_to_its_client,
    disabled_user_cannot_refresh,
);

async fn refresh_token_needs_offline_access_or_always_refresh(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let plain = s.web_client("plain", first_party()).await;
    let always = s
        .web_client(
            "always",
            WebClientOptions {
                first_party: true,
                always_refresh: true,
                ..Default::default()
            },
        )
        .await;
    let mut browser = Agent::new();
    let t = tokens(&s, &mut browser, &plain, "openid profile", "alice").await;
    assert!(t.get("refresh_token").is_none(), "{t}");
    let t = tokens(&s, &mut browser, &plain, OFFLINE, "alice").await;
    assert_eq!(t["scope"], OFFLINE);
    let rt = field(&t, "refresh_token");
    assert_eq!(s.introspect(&plain, &rt).await["active"], true);
    let t = tokens(&s, &mut browser, &always, "openid", "alice").await;
    assert_eq!(t["scope"], "openid");
    let rt = field(&t, "refresh_token");
    let again = refreshed(&s, &always, &rt).await;
    assert_eq!(again["scope"], "openid");
    assert!(again["refresh_token"].is_string());
}

async fn refresh_rotates_every_token(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let first = tokens(
        &s,
        &mut browser,
        &app,
        "openid email offline_access",
        "alice",
    )
    .await;
    let jwks = s.jwks().await;
    let (_, id1) = verify(&field(&first, "id_token"), &jwks);
    assert_eq!(id1["nonce"], "n-0S6");
    let signed_in_at = id1["auth_time"].as_i64().unwrap();

    s.clock.advance(30);
    let second = refreshed(&s, &app, &field(&first, "refresh_token")).await;
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["scope"], "openid email offline_access");
    assert_eq!(second["expires_in"], 900);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    let access = field(&second, "access_token");
    let (_, at) = verify(&access, &jwks);
    assert_eq!(at["sub"], sub.as_str());
    assert_eq!(at["client_id"], "app");
    assert_eq!(at["scope"], "openid email offline_access");
    assert_eq!(at["iat"].as_i64(), Some(tests::now(&s.clock)));
    let (header, id2) = verify(&field(&second, "id_token"), &jwks);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(id2["sub"], sub.as_str());
    assert_eq!(id2["aud"], "app");
    assert_eq!(id2["sid"], id1["sid"], "the same session");
    assert_eq!(
        id2["auth_time"].as_i64(),
        Some(signed_in_at),
        "no new sign-in"
    );
    assert_eq!(id2["amr"], id1["amr"]);
    assert_eq!(id2["email"], "alice@example.com");
    assert!(id2.get("nonce").is_none(), "{id2}");
    assert_eq!(id2["iat"].as_i64(), Some(tests::now(&s.clock)));
    assert_eq!(
        id2["at_hash"].as_str().unwrap(),
        auth_server::domain::sso::claims::at_hash(&access)
    );
    // The used token is spent; the new one is live.
    assert_eq!(
        s.introspect(&app, &field(&first, "refresh_token")).await,
        inactive()
    );
    let live = s.introspect(&app, &field(&second, "refresh_token")).await;
    assert_eq!(live["active"], true);
    // And again: each use rotates.
    let third = refreshed(&s, &app, &field(&second, "refresh_token")).await;
    for earlier in [&first, &second] {
        assert_ne!(third["refresh_token"], earlier["refresh_token"]);
        assert_ne!(third["access_token"], earlier["access_token"]);
    }
    assert_eq!(userinfo(&s, &field(&third, "access_token")).await.0, 200);
}

async fn reuse_after_the_grace_window_revokes_the_family(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt1 = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let rt2 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    let rt3 = field(&refreshed(&s, &app, &rt2).await, "refresh_token");
    // Another grant of the same user and client is a different family.
    let other = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    assert_eq!(s.introspect(&app, &rt3).await["active"], true);

    // tokens.refresh_reuse_grace_secs = 10.
    s.clock.advance(11);
    assert_error(&s.refresh(&app, &rt1, None).await, 400, "invalid_grant");
    // The whole family is dead, the newest token included.
    assert_eq!(s.introspect(&app, &rt3).await, inactive());
    assert_error(&s.refresh(&app, &rt3, None).await, 400, "invalid_grant");
    assert_error(&s.refresh(&app, &rt2, None).await, 400, "invalid_grant");
    // The other family is untouched.
    assert_eq!(s.introspect(&app, &other).await["active"], true);
    refreshed(&s, &app, &other).await;
}

/// Within the grace window a rotated token may be presented again (a client retrying after a lost
/// response): it succeeds with a new token, and every token issued before is retired, so only the
/// newest is live. The retired one, presented once the window has passed, is a reuse.
async fn retry_within_the_grace_window_reissues_and_retires_the_previous(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt1 = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let rt2 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");

    s.clock.advance(5);
    let retry = refreshed(&s, &app, &rt1).await;
    let rt3 = field(&retry, "refresh_token");
    assert_ne!(rt3, rt2);
    assert_ne!(rt3, rt1);
    assert!(retry["access_token"].is_string() && retry["id_token"].is_string());
    assert_eq!(s.introspect(&app, &rt1).await, inactive());
    assert_eq!(
        s.introspect(&app, &rt2).await,
        inactive(),
        "retired by the retry"
    );
    assert_eq!(s.introspect(&app, &rt3).await["active"], true);

    // The window is counted from the first use: 5 + 5 = 10 s is still a retry...
    s.clock.advance(5);
    let rt4 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    assert_eq!(
        s.introspect(&app, &rt3).await,
        inactive(),
        "retired by the retry"
    );
    let rt5 = field(&refreshed(&s, &app, &rt4).await, "refresh_token");
    assert_eq!(s.introspect(&app, &rt5).await["active"], true);

    // ...and 11 s is a reuse: the family goes, the newest token with it.
    s.clock.advance(1);
    assert_error(&s.refresh(&app, &rt1, None).await, 400, "invalid_grant");
    assert_eq!(s.introspect(&app, &rt5).await, inactive());
    assert_error(&s.refresh(&app, &rt5, None).await, 400, "invalid_grant");

    // The same with the token retired by a retry, presented after the window.
    let rt1 = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let rt2 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    let rt3 = field(&refreshed(&s, &app, &rt1).await, "refresh_token");
    let rt4 = field(&refreshed(&s, &app, &rt3).await, "refresh_token");
    s.clock.advance(11);
    assert_error(&s.refresh(&app, &rt2, None).await, 400, "invalid_grant");
    assert_eq!(s.introspect(&app, &rt4).await, inactive());
    assert_error(&s.refresh(&app, &rt4, None).await, 400, "invalid_grant");
}

async fn refresh_token_expires_when_idle(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.tokens.refresh_token_idle_secs = 120;
        c.tokens.refresh_token_absolute_secs = 3600;
    })
    .await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let issued = s.introspect(&app, &rt).await;
    assert_eq!(issued["exp"].as_i64(), Some(tests::now(&s.clock) + 120));
    // Each use starts a new idle period.
    s.clock.advance(119);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    s.clock.advance(119);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    assert_eq!(
        s.introspect(&app, &rt).await["exp"].as_i64(),
        Some(tests::now(&s.clock) + 120)
    );
    s.clock.advance(121);
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
}

async fn refresh_family_has_an_absolute_lifetime(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.tokens.refresh_token_idle_secs = 120;
        c.tokens.refresh_token_absolute_secs = 300;
    })
    .await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let start = tests::now(&s.clock);
    let rt = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    s.clock.advance(100);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    s.clock.advance(100);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    // Not now + idle (320): capped by the family's end.
    assert_eq!(
        s.introspect(&app, &rt).await["exp"].as_i64(),
        Some(start + 300)
    );
    s.clock.advance(99);
    let rt = field(&refreshed(&s, &app, &rt).await, "refresh_token");
    assert_eq!(
        s.introspect(&app, &rt).await["exp"].as_i64(),
        Some(start + 300)
    );
    s.clock.advance(1);
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
    // A new sign-in is a new family with a lifetime of its own.
    let mut fresh = Agent::new();
    let rt = field(
        &tokens(&s, &mut fresh, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    refreshed(&s, &app, &rt).await;
}

async fn refresh_scope_may_narrow_but_not_widen(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );

    // profile is allowed for the client but was not granted: widening.
    let got = s.refresh(&app, &rt, Some("openid profile")).await;
    assert_error(&got, 400, "invalid_scope");
    let got = s
        .refresh(&app, &rt, Some("openid offline_access email"))
        .await;
    assert_error(&got, 400, "invalid_scope");
    // A refused request does not spend the token.
    assert_eq!(s.introspect(&app, &rt).await["active"], true);

    let (status, narrow) = s.refresh(&app, &rt, Some("openid")).await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(narrow["scope"], "openid");
    let (_, at) = verify(&field(&narrow, "access_token"), &s.jwks().await);
    assert_eq!(at["scope"], "openid");
    assert!(narrow["id_token"].is_string());
    // The grant itself keeps its scope: the new refresh token still covers all of it.
    let rt = field(&narrow, "refresh_token");
    assert_eq!(s.introspect(&app, &rt).await["scope"], OFFLINE);
    let full = refreshed(&s, &app, &rt).await;
    assert_eq!(full["scope"], OFFLINE);
}

/// A scope narrowed to one that gives the access token no audience (no `openid`, so no userinfo, and
/// no resource registered) is refused, and the refused request does not spend the refresh token
/// (else the client, retrying later with the token it holds, would look like a thief and lose the
/// grant).
async fn refresh_without_an_audience_does_not_spend_the_token(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let rt = field(
        &tokens(&s, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let got = s.refresh(&app, &rt, Some("offline_access")).await;
    assert_error(&got, 400, "invalid_target");
    assert!(got.1.get("refresh_token").is_none());
    assert_eq!(s.introspect(&app, &rt).await["active"], true);
    s.clock.advance(11);
    let next = refreshed(&s, &app, &rt).await;
    assert_eq!(next["scope"], OFFLINE);
}

async fn refresh_token_is_bound_to_its_client(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let a = s.web_client("app-a", first_party()).await;
    let b = s.web_client("app-b", first_party()).await;
    let mut browser = Agent::new();
    let rt = field(
        &tokens(&s, &mut browser, &a, OFFLINE, "alice").await,
        "refresh_token",
    );
    let got = s.refresh(&b, &rt, None).await;
    assert_error(&got, 400, "invalid_grant");
    assert!(got.1.get("access_token").is_none());
    // B learns nothing from introspection either, and A's token is unharmed.
    assert_eq!(s.introspect(&b, &rt).await, inactive());
    assert_eq!(s.introspect(&a, &rt).await["active"], true);
    let next = refreshed(&s, &a, &rt).await;
    assert_eq!(
        decode_segment(&field(&next, "access_token"), 1)["client_id"],
        "app-a"
    );
}

async fn disabled_user_cannot_refresh(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("alice", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let t = tokens(&s, &mut browser, &app, OFFLINE, "alice").await;
    let rt = field(&t, "refresh_token");
    let access = field(&t, "access_token");
    s.app.users.set_disabled("alice", true).await.unwrap();
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
    assert_eq!(userinfo(&s, &access).await.0, 401);
    // The grant was revoked, not just refused: enabling the user again does not revive it.
    s.app.users.set_disabled("alice", false).await.unwrap();
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    assert_error(&s.refresh(&app, &rt, None).await, 400, "invalid_grant");
    // Disabling signed the user out: the session's grants and their access tokens were revoked.
    assert_eq!(userinfo(&s, &access).await.0, 401);
}
