//! The browser side of single sign-on over HTTP: code + PKCE, SSO across clients, prompt, max_age,
//! consent, logout. Every test runs on SQLite and PostgreSQL.

use tests::fixture::{Sso, two_apps};
use tests::oauth::{Agent, Pkce, WebClientOptions, first_party};
use tests::sso_support::{
    PW, assert_silent_error, authorize_openid, decide, grant, logout_url, on_consent_page, silent,
};
use tests::{Backend, TestServer, decode_segment, verify};

tests::on_both_backends!(
    code_with_pkce_gives_verified_id_and_access_tokens,
    sso_across_two_clients_with_one_password,
    prompt_none_with_and_without_a_session,
    prompt_login_and_max_age_ask_again,
    consent_is_asked_remembered_and_can_be_denied,
    logout_with_id_token_hint_ends_the_session_everywhere,
);

async fn code_with_pkce_gives_verified_id_and_access_tokens(backend: Backend) {
    let s = TestServer::start(backend).await;
    let sub = s.user("alice", PW).await;
    let app = s.web_client("app1", first_party()).await;
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(
            &app,
            &pkce,
            "openid profile email",
            &[("login_hint", "alice")],
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"alice\""), "login_hint prefills");
    let done = s.sign_in(&mut browser, &page, "alice", PW).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        done.location()
            .unwrap()
            .starts_with("https://app1.example/cb?code=")
    );
    assert_eq!(done.location_param("state").as_deref(), Some("st"));
    assert_eq!(done.location_param("iss").as_deref(), Some(s.base.as_str()));
    let session_cookie = done
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("auth_session="))
        .expect("a session cookie");
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(session_cookie.contains("Path=/"), "{session_cookie}");

    let code = done.location_param("code").unwrap();
    let (status, body) = s.redeem(&app, &code, &pkce.verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid profile email");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let jwks = s.jwks().await;
    let access = body["access_token"].as_str().unwrap();
    let (header, at) = verify(access, &jwks);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(at["sub"], sub.as_str());
    assert_eq!(at["client_id"], "app1");
    assert_eq!(at["aud"], format!("{}/userinfo", s.base).as_str());
    let (header, id) = verify(body["id_token"].as_str().unwrap(), &jwks);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(id["iss"], s.base.as_str());
    assert_eq!(id["sub"], sub.as_str());
    assert_eq!(id["aud"], "app1");
    assert_eq!(id["azp"], "app1");
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["preferred_username"], "alice");
    assert_eq!(id["name"], "User alice");
    assert_eq!(id["email"], "alice@example.com");
    assert!(id["sid"].is_string());
    let now = tests::now(&s.clock);
    assert!((now - id["auth_time"].as_i64().unwrap()).abs() <= 1);
    assert_eq!(
        id["at_hash"].as_str().unwrap(),
        auth_server::domain::sso::claims::at_hash(access)
    );

    // userinfo, GET and POST.
    let info: serde_json::Value = s
        .http
        .get(format!("{}/userinfo", s.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["email"], "alice@example.com");
    let res = s
        .http
        .post(format!("{}/userinfo", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = s
        .http
        .get(format!("{}/userinfo", s.base))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let res = s
        .http
        .get(format!("{}/userinfo", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
}

async fn sso_across_two_clients_with_one_password(backend: Backend) {
    let (s, a, b, mut browser) = two_apps(backend, "bob").await;
    let pa = Pkce::new();
    let code_a = s.code_for(&mut browser, &a, &pa, "openid", "bob", PW).await;
    // The second app: no login page, straight back with a code.
    let pb = Pkce::new();
    let page = browser.get(&s.authorize_url(&b, &pb, "openid", &[])).await;
    assert_eq!(page.status, 302, "{}", page.body);
    let code_b = page
        .location_param("code")
        .expect("a code without a password");
    let (sa, ta) = s.redeem(&a, &code_a, &pa.verifier).await;
    let (sb, tb) = s.redeem(&b, &code_b, &pb.verifier).await;
    assert_eq!((sa, sb), (200, 200), "{ta} {tb}");
    let ida = decode_segment(ta["id_token"].as_str().unwrap(), 1);
    let idb = decode_segment(tb["id_token"].as_str().unwrap(), 1);
    assert_eq!(ida["sid"], idb["sid"], "one session");
    assert_eq!(ida["auth_time"], idb["auth_time"], "one password entry");
    // A different browser has no session.
    let mut other = Agent::new();
    let page = other
        .get(&s.authorize_url(&b, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"login-form\""));
}

async fn prompt_none_with_and_without_a_session(backend: Backend) {
    let (s, app, mut browser) = Sso::on(TestServer::start(backend).await, "carol", first_party())
        .await
        .into_parts();
    let page = silent(&s, &mut browser, &app).await;
    assert_eq!(page.status, 302);
    assert!(
        page.location()
            .unwrap()
            .starts_with("https://app.example/cb?")
    );
    assert_eq!(
        page.location_param("error").as_deref(),
        Some("login_required")
    );
    assert_eq!(page.location_param("state").as_deref(), Some("st"));
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "carol", PW)
        .await;
    let page = silent(&s, &mut browser, &app).await;
    assert_eq!(page.status, 302);
    assert!(
        page.location_param("code").is_some(),
        "{:?}",
        page.location()
    );
    // A third-party client without consent: consent_required, never a page.
    let third = s.web_client("third", WebClientOptions::default()).await;
    assert_silent_error(&s, &mut browser, &third, "consent_required").await;
}

async fn prompt_login_and_max_age_ask_again(backend: Backend) {
    let (s, app, mut browser) = Sso::on(TestServer::start(backend).await, "dan", first_party())
        .await
        .into_parts();
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "dan", PW)
        .await;
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[("prompt", "login")]))
        .await;
    assert_eq!(page.status, 200, "prompt=login shows the login page");
    assert!(page.body.contains("id=\"login-form\""));
    s.clock.advance(120);
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[("max_age", "60")]))
        .await;
    assert_eq!(page.status, 200, "an older sign-in than max_age asks again");
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[("max_age", "600")]))
        .await;
    assert_eq!(page.status, 302, "a recent enough sign-in is reused");
    // After signing in again, auth_time moves.
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[("prompt", "login")]))
        .await;
    let done = s.sign_in(&mut browser, &page, "dan", PW).await;
    let (_, t) = s
        .redeem(&app, &done.location_param("code").unwrap(), &pkce.verifier)
        .await;
    let id = decode_segment(t["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["auth_time"].as_i64(), Some(tests::now(&s.clock)));
}

async fn consent_is_asked_remembered_and_can_be_denied(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (mut browser, app, consent) = on_consent_page(&s).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    let denied = decide(&s, &mut browser, &consent, "deny").await;
    assert_eq!(denied.status, 303);
    assert_eq!(
        denied.location_param("error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(denied.location_param("state").as_deref(), Some("st"));
    // Ask again: the consent page again (nothing was remembered); allow.
    let consent = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid email", &[]))
        .await;
    assert!(consent.body.contains("id=\"allow\""));
    let allowed = decide(&s, &mut browser, &consent, "allow").await;
    assert_eq!(allowed.status, 303);
    assert!(allowed.location_param("code").is_some());
    // Remembered for the same scopes (and a subset)...
    let again = authorize_openid(&s, &mut browser, &app).await;
    assert_eq!(again.status, 302, "remembered consent");
    // ...but not for a wider set, nor with prompt=consent.
    let wider = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid email profile", &[]))
        .await;
    assert_eq!(wider.status, 200);
    assert!(wider.body.contains("id=\"allow\""));
    let forced = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[("prompt", "consent")]))
        .await;
    assert!(forced.body.contains("id=\"allow\""));
}

async fn logout_with_id_token_hint_ends_the_session_everywhere(backend: Backend) {
    let s = TestServer::start(backend).await;
    s.user("fay", PW).await;
    let a = s
        .web_client(
            "app-a",
            first_party().post_logout("https://app-a.example/bye"),
        )
        .await;
    let b = s.web_client("app-b", first_party()).await;
    let mut browser = Agent::new();
    let tokens = grant(&s, &mut browser, &a, "openid offline_access", "fay").await;
    let (refresh, id_token) = (tokens.refresh(), tokens.id());
    assert_eq!(s.introspect(&a, refresh).await["active"], true);
    // An unregistered post-logout URI is refused with a page, not followed.
    let bad = browser
        .get(&format!(
            "{}/logout?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
            s.base
        ))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.location().is_none());
    // Without a hint, a confirmation page (nothing ends yet).
    let confirm = browser.get(&format!("{}/logout", s.base)).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("id=\"logout\""));
    let still = browser
        .get(&s.authorize_url(&b, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(still.status, 302, "the session is still there");
    // With the hint: logged out at once, redirected with state.
    let out = browser
        .get(&logout_url(&s, id_token, "https://app-a.example/bye", "s9"))
        .await;
    assert_eq!(out.status, 302, "{}", out.body);
    assert_eq!(out.location(), Some("https://app-a.example/bye?state=s9"));
    assert!(
        !browser.cookies.contains_key("auth_session"),
        "cookie cleared"
    );
    // Both apps now need a password; the session's refresh token is dead.
    for app in [&a, &b] {
        assert_silent_error(&s, &mut browser, app, "login_required").await;
    }
    assert_eq!(s.introspect(&a, refresh).await["active"], false);
    let (status, body) = s
        .token_as(
            &a,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
