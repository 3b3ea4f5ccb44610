//! How long user grants live beyond their session, and what dies with a grant or a user. Every test
//! runs on SQLite and PostgreSQL.

use tests::fixture::Sso;
use tests::oauth::{Agent, Pkce, WebClient, WebClientOptions, first_party};
use tests::responses::TokenResponse;
use tests::sso_support::{
    PW, assert_silent_error, grant, refreshed, silent, userinfo, wrong_guess,
};
use tests::{Backend, TestServer};

tests::on_both_backends!(
    refresh_without_offline_access_ends_with_the_session,
    offline_access_outlives_an_idle_session_but_not_logout,
    revoking_a_grant_revokes_every_access_token_it_issued,
    disabling_a_user_signs_them_out_and_deactivates_their_tokens,
    a_nul_client_id_is_invalid_client_not_unavailable,
    parallel_guesses_cannot_outrun_the_limit,
    successful_sign_ins_do_not_lock_out_a_shared_address,
    a_cross_site_logout_post_is_completed_with_the_cookie,
    a_new_password_signs_the_user_out,
);

/// Ann, her browser, and a first-party client `app` that gets refresh tokens without
/// `offline_access`.
async fn ann(backend: Backend) -> (TestServer, WebClient, Agent) {
    let s = TestServer::start(backend).await;
    let (s, app, browser) = Sso::on(s, "ann", first_party().always_refresh())
        .await
        .into_parts();
    (s, app, browser)
}

async fn sign_in(s: &TestServer, b: &mut Agent, app: &WebClient, scope: &str) -> TokenResponse {
    grant(s, b, app, scope, "ann").await
}

async fn refresh_without_offline_access_ends_with_the_session(backend: Backend) {
    let (s, app, mut b) = ann(backend).await;
    let t = sign_in(&s, &mut b, &app, "openid").await;
    let mut rt = t.refresh().to_owned();
    // Refreshing keeps the session alive past its idle timeout (1800 s): 3 x 1000 s.
    for _ in 0..3 {
        s.clock.advance(1000);
        let (status, body) = s.refresh(&app, &rt, None).await;
        assert_eq!(status, 200, "{body}");
        rt = body["refresh_token"].as_str().unwrap().to_owned();
    }
    let page = silent(&s, &mut b, &app).await;
    assert!(
        page.location_param("code").is_some(),
        "the session is still alive"
    );
    // Left alone longer than the idle timeout, the session ends, and the refresh token with it.
    s.clock.advance(1801);
    let (status, body) = s.refresh(&app, &rt, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(s.introspect(&app, &rt).await["active"], false);
}

async fn offline_access_outlives_an_idle_session_but_not_logout(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("ann", PW).await;
    let app = s.web_client("app", first_party()).await;
    let mut b = Agent::new();
    let t = sign_in(&s, &mut b, &app, "openid offline_access").await;
    s.clock.advance(7200);
    let (status, body) = s.refresh(&app, t.refresh(), None).await;
    assert_eq!(
        status, 200,
        "offline access survives an idle session: {body}"
    );
    // A new session, then logout: its offline tokens end too (logout ends the session's tokens).
    let t = sign_in(&s, &mut b, &app, "openid offline_access").await;
    let hint = t.id();
    let out = b
        .get(&format!("{}/logout?id_token_hint={hint}", s.base))
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    let (status, _) = s.refresh(&app, t.refresh(), None).await;
    assert_eq!(status, 400);
}

async fn revoking_a_grant_revokes_every_access_token_it_issued(backend: Backend) {
    let (s, app, mut b) = ann(backend).await;
    let t = sign_in(&s, &mut b, &app, "openid offline_access").await;
    let first_access = t.access_token.clone();
    let t2 = refreshed(&s, &app, t.refresh()).await;
    let second_access = t2.access_token.clone();
    let rt = t2.refresh().to_owned();
    for at in [&first_access, &second_access] {
        assert_eq!(s.introspect(&app, at).await["active"], true);
    }
    let (status, _) = s.endpoint_as("/revoke", &app, &[("token", &rt)]).await;
    assert_eq!(status, 200);
    for at in [&first_access, &second_access] {
        assert_eq!(
            s.introspect(&app, at).await["active"],
            false,
            "every access token of the grant is revoked with it"
        );
        assert_eq!(userinfo(&s, at).await.0, 401);
    }
}

async fn disabling_a_user_signs_them_out_and_deactivates_their_tokens(backend: Backend) {
    let (s, app, mut b) = ann(backend).await;
    let t = sign_in(&s, &mut b, &app, "openid offline_access").await;
    let at = t.access_token.as_str();
    s.app.users.set_disabled("ann", true).await.unwrap();
    assert_eq!(s.introspect(&app, at).await["active"], false);
    // Enabled again: the old session does not come back; a password is needed.
    s.app.users.set_disabled("ann", false).await.unwrap();
    assert_silent_error(&s, &mut b, &app, "login_required").await;
    let (status, _) = s.refresh(&app, t.refresh(), None).await;
    assert_eq!(status, 400, "the session's refresh tokens ended with it");
}

async fn a_nul_client_id_is_invalid_client_not_unavailable(backend: Backend) {
    let s = TestServer::start(backend).await;
    let res = s
        .post_token("grant_type=client_credentials&client_id=a%00b", &[])
        .await;
    assert_eq!(res.status(), 401);
    let res = s
        .post_token(
            "grant_type=client_credentials&client_id=a%00b&client_secret=x",
            &[],
        )
        .await;
    assert_eq!(res.status(), 401);
}

/// Twenty wrong passwords sent at once for one account: no more than the limit (5) are checked;
/// the rest are refused as locked out without a password check.
async fn parallel_guesses_cannot_outrun_the_limit(backend: Backend) {
    let s = std::sync::Arc::new(TestServer::start(backend).await);
    s.user("ann", PW).await;
    let app = s.web_client("app", WebClientOptions::default()).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        let url = s.authorize_url(&app, &Pkce::new(), "openid", &[]);
        tasks.push(tokio::spawn(
            async move { wrong_guess(&s, &url, "ann").await },
        ));
    }
    let mut checked = 0;
    let mut locked = 0;
    for t in tasks {
        match t.await.unwrap() {
            401 => checked += 1,
            429 => locked += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(checked + locked, 20);
}

async fn successful_sign_ins_do_not_lock_out_a_shared_address(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.login.max_failures_per_address = 3).await;
    s.user("ann", PW).await;
    let app = s.web_client("app", first_party()).await;
    // Eight people behind one address sign in; the address limit (3) counts failures only.
    for _ in 0..8 {
        let mut b = Agent::new();
        s.code_for(&mut b, &app, &Pkce::new(), "openid", "ann", PW)
            .await;
    }
}

/// An application may POST the logout request from its own site; SameSite=Lax keeps the session
/// cookie off that POST, so the IdP sends the browser to the same request by GET, which carries it.
async fn a_cross_site_logout_post_is_completed_with_the_cookie(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("ann", PW).await;
    let app = s
        .web_client("app", first_party().post_logout("https://app.example/bye"))
        .await;
    let mut b = Agent::new();
    let t = sign_in(&s, &mut b, &app, "openid offline_access").await;
    let hint = t.id();
    // The cross-site POST: no cookies at all.
    let mut cross_site = Agent::new();
    let first = cross_site
        .post(
            &format!("{}/logout", s.base),
            &[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", "https://app.example/bye"),
                ("state", "s1"),
            ],
        )
        .await;
    assert_eq!(first.status, 303, "{}", first.body);
    let next = first.location().unwrap().to_owned();
    assert!(next.starts_with(&format!("{}/logout?", s.base)), "{next}");
    // The browser follows it by GET, with its cookie: signed out, sent back with state.
    let done = b.get(&next).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(done.location(), Some("https://app.example/bye?state=s1"));
    let (status, _) = s.refresh(&app, t.refresh(), None).await;
    assert_eq!(status, 400, "the session's grants ended");
}

async fn a_new_password_signs_the_user_out(backend: Backend) {
    let (s, app, mut b) = ann(backend).await;
    let t = sign_in(&s, &mut b, &app, "openid").await;
    s.app
        .users
        .set_password("ann", "a brand new password".into())
        .await
        .unwrap();
    assert_silent_error(&s, &mut b, &app, "login_required").await;
    let (status, _) = s.refresh(&app, t.refresh(), None).await;
    assert_eq!(status, 400);
    assert_eq!(
        s.introspect(&app, t.access_token.as_str()).await["active"],
        false
    );
}

tests::on_both_backends!(a_session_cannot_mint_codes_without_bound);

async fn a_session_cannot_mint_codes_without_bound(backend: Backend) {
    use auth_server::domain::sso::flow::MAX_CODES_PER_SESSION_PER_TTL as CAP;
    let (s, app, mut b) = ann(backend).await;
    s.code_for(&mut b, &app, &Pkce::new(), "openid", "ann", PW)
        .await;
    let url = s.authorize_url(&app, &Pkce::new(), "openid", &[("prompt", "none")]);
    for _ in 1..CAP {
        assert!(b.get(&url).await.location_param("code").is_some());
    }
    let over = b.get(&url).await;
    assert_eq!(
        over.location_param("error").as_deref(),
        Some("temporarily_unavailable")
    );
    assert_eq!(over.location_param("state").as_deref(), Some("st"));
    s.clock.advance(61);
    assert!(b.get(&url).await.location_param("code").is_some());
}
