//! Refresh tokens over HTTP: issue, rotation, reuse detection, grace window, idle and absolute
//! lifetimes, scope narrowing, client binding, disabled users. Every test runs on SQLite and
//! PostgreSQL.

use tests::fixture::{Sso, two_apps};
use tests::oauth::{Agent, WebClient, first_party};
use tests::responses::TokenResponse;
use tests::sso_support::{
    OFFLINE, PW, alice_offline, assert_error, assert_invalid_grant, assert_refresh_dead, grant,
    inactive, refreshed, rotated, userinfo,
};
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
    let always = s.web_client("always", first_party().always_refresh()).await;
    let mut browser = Agent::new();
    let t = grant(&s, &mut browser, &plain, "openid profile", "alice").await;
    assert!(t.refresh_token.is_none(), "{t:?}");
    let t = grant(&s, &mut browser, &plain, OFFLINE, "alice").await;
    assert_eq!(t.scope.as_deref(), Some(OFFLINE));
    assert_eq!(s.introspect(&plain, t.refresh()).await["active"], true);
    let t = grant(&s, &mut browser, &always, "openid", "alice").await;
    assert_eq!(t.scope.as_deref(), Some("openid"));
    let again = refreshed(&s, &always, t.refresh()).await;
    assert_eq!(again.scope.as_deref(), Some("openid"));
    assert!(again.refresh_token.is_some());
}

async fn refresh_rotates_every_token(backend: Backend) {
    let sso = Sso::start(backend).await;
    let (sub, (s, app, mut browser)) = (sso.sub.clone(), sso.into_parts());
    let first = grant(
        &s,
        &mut browser,
        &app,
        "openid email offline_access",
        "alice",
    )
    .await;
    let jwks = s.jwks().await;
    let (_, id1) = verify(first.id(), &jwks);
    assert_eq!(id1["nonce"], "n-0S6");
    let signed_in_at = id1["auth_time"].as_i64().unwrap();

    s.clock.advance(30);
    let second = refreshed(&s, &app, first.refresh()).await;
    assert_eq!(second.token_type, "Bearer");
    assert_eq!(second.scope.as_deref(), Some("openid email offline_access"));
    assert_eq!(second.expires_in, 900);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    let access = &second.access_token;
    let (_, at) = verify(access, &jwks);
    assert_eq!(at["sub"], sub.as_str());
    assert_eq!(at["client_id"], "app");
    assert_eq!(at["scope"], "openid email offline_access");
    assert_eq!(at["iat"].as_i64(), Some(tests::now(&s.clock)));
    let (header, id2) = verify(second.id(), &jwks);
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
        auth_server::domain::sso::claims::at_hash(access)
    );
    // The used token is spent; the new one is live.
    assert_eq!(s.introspect(&app, first.refresh()).await, inactive());
    let live = s.introspect(&app, second.refresh()).await;
    assert_eq!(live["active"], true);
    // And again: each use rotates.
    let third = refreshed(&s, &app, second.refresh()).await;
    for earlier in [&first, &second] {
        assert_ne!(third.refresh_token, earlier.refresh_token);
        assert_ne!(third.access_token, earlier.access_token);
    }
    assert_eq!(userinfo(&s, &third.access_token).await.0, 200);
}

async fn reuse_after_the_grace_window_revokes_the_family(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let rt1 = alice_offline(&s, &mut browser, &app).await;
    let rt2 = rotated(&s, &app, &rt1).await;
    let rt3 = rotated(&s, &app, &rt2).await;
    // Another grant of the same user and client is a different family.
    let other = alice_offline(&s, &mut browser, &app).await;
    assert_eq!(s.introspect(&app, &rt3).await["active"], true);

    // tokens.refresh_reuse_grace_secs = 10.
    s.clock.advance(11);
    assert_invalid_grant(&s.refresh(&app, &rt1, None).await);
    // The whole family is dead, the newest token included.
    assert_refresh_dead(&s, &app, &rt3).await;
    assert_invalid_grant(&s.refresh(&app, &rt2, None).await);
    // The other family is untouched.
    assert_eq!(s.introspect(&app, &other).await["active"], true);
    refreshed(&s, &app, &other).await;
}

/// Within the grace window a rotated token may be presented again (a client retrying after a lost
/// response): it succeeds with a new token, and every token issued before is retired, so only the
/// newest is live. The retired one, presented once the window has passed, is a reuse.
async fn retry_within_the_grace_window_reissues_and_retires_the_previous(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let rt1 = alice_offline(&s, &mut browser, &app).await;
    let rt2 = rotated(&s, &app, &rt1).await;

    s.clock.advance(5);
    let retry = refreshed(&s, &app, &rt1).await;
    let rt3 = retry.refresh().to_owned();
    assert_ne!(rt3, rt2);
    assert_ne!(rt3, rt1);
    assert!(!retry.access_token.is_empty() && retry.id_token.is_some());
    assert_eq!(s.introspect(&app, &rt1).await, inactive());
    assert_eq!(
        s.introspect(&app, &rt2).await,
        inactive(),
        "retired by the retry"
    );
    assert_eq!(s.introspect(&app, &rt3).await["active"], true);

    // The window is counted from the first use: 5 + 5 = 10 s is still a retry...
    s.clock.advance(5);
    let rt4 = rotated(&s, &app, &rt1).await;
    assert_eq!(
        s.introspect(&app, &rt3).await,
        inactive(),
        "retired by the retry"
    );
    let rt5 = rotated(&s, &app, &rt4).await;
    assert_eq!(s.introspect(&app, &rt5).await["active"], true);

    // ...and 11 s is a reuse: the family goes, the newest token with it.
    s.clock.advance(1);
    assert_invalid_grant(&s.refresh(&app, &rt1, None).await);
    assert_refresh_dead(&s, &app, &rt5).await;

    // The same with the token retired by a retry, presented after the window.
    let rt1 = alice_offline(&s, &mut browser, &app).await;
    let rt2 = rotated(&s, &app, &rt1).await;
    let rt3 = rotated(&s, &app, &rt1).await;
    let rt4 = rotated(&s, &app, &rt3).await;
    s.clock.advance(11);
    assert_invalid_grant(&s.refresh(&app, &rt2, None).await);
    assert_refresh_dead(&s, &app, &rt4).await;
}

/// Alice and `app` on a server whose refresh tokens live `idle` seconds unused and `absolute`
/// seconds in all.
async fn lifetimes(backend: Backend, idle: i64, absolute: i64) -> Sso {
    Sso::start_with(backend, |c| {
        c.tokens.refresh_token_idle_secs = idle;
        c.tokens.refresh_token_absolute_secs = absolute;
    })
    .await
}

/// Rotates `rt` once after each wait (seconds on the clock) in `waits`; returns the last refresh
/// token and the `exp` introspection reports for it.
async fn rotated_after(
    s: &TestServer,
    app: &WebClient,
    mut rt: String,
    waits: &[i64],
) -> (String, Option<i64>) {
    for &secs in waits {
        s.clock.advance(secs);
        rt = rotated(s, app, &rt).await;
    }
    let exp = s.introspect(app, &rt).await["exp"].as_i64();
    (rt, exp)
}

async fn refresh_token_expires_when_idle(backend: Backend) {
    let (s, app, mut browser) = lifetimes(backend, 120, 3600).await.into_parts();
    let rt = alice_offline(&s, &mut browser, &app).await;
    let issued = s.introspect(&app, &rt).await;
    assert_eq!(issued["exp"].as_i64(), Some(tests::now(&s.clock) + 120));
    // Each use starts a new idle period.
    let (rt, exp) = rotated_after(&s, &app, rt, &[119, 119]).await;
    assert_eq!(exp, Some(tests::now(&s.clock) + 120));
    s.clock.advance(121);
    assert_refresh_dead(&s, &app, &rt).await;
}

async fn refresh_family_has_an_absolute_lifetime(backend: Backend) {
    let (s, app, mut browser) = lifetimes(backend, 120, 300).await.into_parts();
    let start = tests::now(&s.clock);
    let rt = alice_offline(&s, &mut browser, &app).await;
    // Not now + idle (320): capped by the family's end.
    let (rt, exp) = rotated_after(&s, &app, rt, &[100, 100]).await;
    assert_eq!(exp, Some(start + 300));
    let (rt, exp) = rotated_after(&s, &app, rt, &[99]).await;
    assert_eq!(exp, Some(start + 300));
    s.clock.advance(1);
    assert_refresh_dead(&s, &app, &rt).await;
    // A new sign-in is a new family with a lifetime of its own.
    let rt = alice_offline(&s, &mut Agent::new(), &app).await;
    refreshed(&s, &app, &rt).await;
}

async fn refresh_scope_may_narrow_but_not_widen(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let rt = alice_offline(&s, &mut browser, &app).await;

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
    let narrow = TokenResponse::parse(&narrow);
    assert_eq!(narrow.scope.as_deref(), Some("openid"));
    let (_, at) = verify(&narrow.access_token, &s.jwks().await);
    assert_eq!(at["scope"], "openid");
    assert!(narrow.id_token.is_some());
    // The grant itself keeps its scope: the new refresh token still covers all of it.
    let rt = narrow.refresh();
    assert_eq!(s.introspect(&app, rt).await["scope"], OFFLINE);
    let full = refreshed(&s, &app, rt).await;
    assert_eq!(full.scope.as_deref(), Some(OFFLINE));
}

/// A scope narrowed to one that gives the access token no audience (no `openid`, so no userinfo, and
/// no resource registered) is refused, and the refused request does not spend the refresh token
/// (else the client, retrying later with the token it holds, would look like a thief and lose the
/// grant).
async fn refresh_without_an_audience_does_not_spend_the_token(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let rt = alice_offline(&s, &mut browser, &app).await;
    let got = s.refresh(&app, &rt, Some("offline_access")).await;
    assert_error(&got, 400, "invalid_target");
    assert!(got.1.get("refresh_token").is_none());
    assert_eq!(s.introspect(&app, &rt).await["active"], true);
    s.clock.advance(11);
    let next = refreshed(&s, &app, &rt).await;
    assert_eq!(next.scope.as_deref(), Some(OFFLINE));
}

async fn refresh_token_is_bound_to_its_client(backend: Backend) {
    let (s, a, b, _) = two_apps(backend, "alice").await;
    let rt = alice_offline(&s, &mut Agent::new(), &a).await;
    let got = s.refresh(&b, &rt, None).await;
    assert_invalid_grant(&got);
    assert!(got.1.get("access_token").is_none());
    // B learns nothing from introspection either, and A's token is unharmed.
    assert_eq!(s.introspect(&b, &rt).await, inactive());
    assert_eq!(s.introspect(&a, &rt).await["active"], true);
    let next = refreshed(&s, &a, &rt).await;
    assert_eq!(decode_segment(&next.access_token, 1)["client_id"], "app-a");
}

async fn disabled_user_cannot_refresh(backend: Backend) {
    let (s, app, mut browser) = Sso::start(backend).await.into_parts();
    let t = grant(&s, &mut browser, &app, OFFLINE, "alice").await;
    let (rt, access) = (t.refresh(), &t.access_token);
    s.app.users.set_disabled("alice", true).await.unwrap();
    assert_invalid_grant(&s.refresh(&app, rt, None).await);
    assert_eq!(userinfo(&s, access).await.0, 401);
    // The grant was revoked, not just refused: enabling the user again does not revive it.
    s.app.users.set_disabled("alice", false).await.unwrap();
    assert_refresh_dead(&s, &app, rt).await;
    // Disabling signed the user out: the session's grants and their access tokens were revoked.
    assert_eq!(userinfo(&s, access).await.0, 401);
}
