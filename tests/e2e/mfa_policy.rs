//! The MFA policy over HTTP, on SQLite and PostgreSQL: required per user (enrollment during
//! sign-in), per client (`require_mfa`) and per request (`acr_values`); step-up of a password-only
//! session; `max_age`; the pending sign-in bound to one browser and one request; throttling.

use auth_server::domain::clients::NewClient;
use tests::fixture::alice_at_app;
use tests::oauth::{Agent, Pkce, WebClient};
use tests::sso_support::{PW, assert_error_redirect};
use tests::{Backend, TestServer};

use crate::mfa::alice_id;
use crate::mfa_support::{
    answer, assert_second_factor_page, code_now, enroll, id_claims, password_step, secret_of,
    wrong_code,
};

tests::on_both_backends!(
    a_required_user_enrolls_during_sign_in,
    a_client_that_requires_mfa_steps_a_session_up,
    acr_values_ask_for_mfa_and_prompt_none_refuses,
    max_age_asks_for_the_password_and_the_second_factor,
    the_pending_sign_in_is_bound_to_browser_request_and_time,
    second_factor_guesses_are_throttled,
);

const MFA: &str = "urn:auth-server:acr:mfa";

/// A first-party client `id` registered with `require_mfa`.
async fn mfa_client(s: &TestServer, id: &str) -> WebClient {
    let redirect_uri = format!("https://{id}.example/cb");
    let new = NewClient {
        name: format!("App {id}"),
        default_scopes: vec!["openid".to_owned()],
        redirect_uris: vec![redirect_uri.clone()],
        first_party: true,
        require_mfa: true,
        ..tests::new_client(id, auth_core::Alg::Es256, &["openid"], &[])
    };
    let (c, secret) = s.app.clients.create(new).await.unwrap();
    WebClient {
        id: c.id,
        secret,
        redirect_uri,
    }
}

async fn a_required_user_enrolls_during_sign_in(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    assert!(
        s.app
            .flow
            .mfa()
            .set_required(
                &alice_id(&s).await,
                true,
                auth_server::domain::audit::Actor::Admin("test".into()),
            )
            .await
            .unwrap()
    );
    let pkce = Pkce::new();
    let page = password_step(&s, &mut browser, &app, &pkce, &[]).await;
    assert_second_factor_page(&page);
    assert!(
        page.body.contains("<svg "),
        "a QR code to enroll: {}",
        page.body
    );
    let secret = secret_of(&page);
    // A wrong first code: the same enrollment is shown again.
    let wrong = answer(
        &s,
        &mut browser,
        &page,
        &[("code", &wrong_code(&s, &secret))],
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(secret_of(&wrong), secret);
    let done = answer(
        &s,
        &mut browser,
        &wrong,
        &[("code", &code_now(&s, &secret))],
    )
    .await;
    let id = id_claims(&s, &app, &pkce, &done).await;
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], MFA);
    let f = s.app.flow.mfa().factors(&alice_id(&s).await).await.unwrap();
    assert!(f.totp, "enrolled: {f:?}");
}

async fn a_client_that_requires_mfa_steps_a_session_up(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    let strict = mfa_client(&s, "strict").await;
    // Password only at the ordinary app.
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    let (secret, _) = enroll(&s, &mut browser).await;
    // The strict app: the second factor only, no password (a step-up of the session).
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&strict, &pkce, "openid", &[]))
        .await;
    assert_second_factor_page(&page);
    assert!(!page.body.contains("id=\"password\""), "{}", page.body);
    let done = answer(&s, &mut browser, &page, &[("code", &code_now(&s, &secret))]).await;
    assert!(
        !done
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("auth_session=")),
        "the session is stepped up, not replaced"
    );
    let id = id_claims(&s, &app_for(&strict), &pkce, &done).await;
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], MFA);
    // The same session now satisfies the ordinary app with MFA too.
    let pkce = Pkce::new();
    let mut silent = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[]))
        .await;
    assert_eq!(silent.status, 302, "{}", silent.body);
    silent.status = 303;
    assert_eq!(id_claims(&s, &app, &pkce, &silent).await["acr"], MFA);
}

fn app_for(c: &WebClient) -> WebClient {
    c.clone()
}

async fn acr_values_ask_for_mfa_and_prompt_none_refuses(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    // prompt=none with a password-only session: login_required, no page.
    let pkce = Pkce::new();
    let none = browser
        .get(&s.authorize_url(
            &app,
            &pkce,
            "openid",
            &[("acr_values", MFA), ("prompt", "none")],
        ))
        .await;
    assert_error_redirect(&none, &s, &app, "login_required", Some("st"));
    // Without prompt=none: enrollment (alice has no factor), then the code.
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[("acr_values", MFA)]))
        .await;
    assert_second_factor_page(&page);
    let secret = secret_of(&page);
    let done = answer(&s, &mut browser, &page, &[("code", &code_now(&s, &secret))]).await;
    assert_eq!(id_claims(&s, &app, &pkce, &done).await["acr"], MFA);
    // A request that prefers one factor is served by the session as it is.
    let pkce = Pkce::new();
    let one = browser
        .get(&s.authorize_url(
            &app,
            &pkce,
            "openid",
            &[("acr_values", &format!("urn:auth-server:acr:sfa {MFA}"))],
        ))
        .await;
    assert_eq!(one.status, 302, "{}", one.body);
}

async fn max_age_asks_for_the_password_and_the_second_factor(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    let (secret, _) = enroll(&s, &mut browser).await;
    s.clock.advance(120);
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[("max_age", "60")]))
        .await;
    assert!(
        page.body.contains("id=\"login-form\""),
        "password again: {}",
        page.body
    );
    let page = s.sign_in(&mut browser, &page, "alice", PW).await;
    assert_second_factor_page(&page);
    let done = answer(&s, &mut browser, &page, &[("code", &code_now(&s, &secret))]).await;
    let id = id_claims(&s, &app, &pkce, &done).await;
    assert_eq!(id["acr"], MFA);
    assert_eq!(id["auth_time"], tests::now(&s.clock));
}

async fn the_pending_sign_in_is_bound_to_browser_request_and_time(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    let (secret, codes) = enroll(&s, &mut browser).await;
    let mut browser = Agent::new();
    let page = password_step(&s, &mut browser, &app, &Pkce::new(), &[]).await;
    assert_second_factor_page(&page);
    // Another browser with its own CSRF cookie, replaying the form with the right code: expired.
    let mut thief = Agent::new();
    let _ = thief
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    let csrf = thief
        .cookies
        .get("auth_csrf")
        .cloned()
        .expect("a CSRF cookie");
    let mut fields = page.hidden_fields();
    for f in &mut fields {
        if f.0 == "csrf" {
            f.1 = csrf.clone();
        }
    }
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push(("recovery_code", &codes[0]));
    let stolen = thief.post(&format!("{}/login/mfa", s.base), &pairs).await;
    assert_eq!(stolen.status, 400, "{}", stolen.body);
    assert!(stolen.body.contains("expired"), "{}", stolen.body);
    // The same browser, another request (a changed scope): expired.
    let mut fields = page.hidden_fields();
    for f in &mut fields {
        if f.0 == "scope" {
            f.1 = "openid profile".to_owned();
        }
    }
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push(("recovery_code", &codes[1]));
    let changed = browser.post(&format!("{}/login/mfa", s.base), &pairs).await;
    assert_eq!(changed.status, 400, "{}", changed.body);
    // Too late: expired.
    s.clock.advance(301);
    let late = answer(&s, &mut browser, &page, &[("code", &code_now(&s, &secret))]).await;
    assert_eq!(late.status, 400, "{}", late.body);
    // No code was spent on any of these.
    let f = s.app.flow.mfa().factors(&alice_id(&s).await).await.unwrap();
    assert_eq!(f.recovery_codes, 10);
    // A completed one cannot be completed again.
    let pkce = Pkce::new();
    let page = password_step(&s, &mut browser, &app, &pkce, &[]).await;
    let done = answer(&s, &mut browser, &page, &[("recovery_code", &codes[2])]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let again = answer(&s, &mut browser, &page, &[("recovery_code", &codes[3])]).await;
    assert_eq!(again.status, 400, "{}", again.body);
}

async fn second_factor_guesses_are_throttled(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    let (secret, _) = enroll(&s, &mut browser).await;
    let limit = s.app.config.login.max_failures_per_pair;
    let mut browser = Agent::new();
    let mut page = password_step(&s, &mut browser, &app, &Pkce::new(), &[]).await;
    for i in 0..limit {
        page = answer(
            &s,
            &mut browser,
            &page,
            &[("code", &wrong_code(&s, &secret))],
        )
        .await;
        assert_eq!(page.status, 401, "guess {i}: {}", page.body);
    }
    let locked = answer(&s, &mut browser, &page, &[("code", &code_now(&s, &secret))]).await;
    assert_eq!(
        locked.status, 429,
        "even the right code waits: {}",
        locked.body
    );
    // A new sign-in with the password does not reset the second factor's count.
    let mut other = Agent::new();
    let page = password_step(&s, &mut other, &app, &Pkce::new(), &[]).await;
    let locked = answer(&s, &mut other, &page, &[("code", &code_now(&s, &secret))]).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    s.clock.advance(s.app.config.login.lockout_secs + 1);
    let page = password_step(&s, &mut other, &app, &Pkce::new(), &[]).await;
    let done = answer(&s, &mut other, &page, &[("code", &code_now(&s, &secret))]).await;
    assert_eq!(done.status, 303, "{}", done.body);
}
