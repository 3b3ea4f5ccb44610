//! Multi-factor sign-in over HTTP, on SQLite and PostgreSQL: TOTP enrollment at `/account/mfa`,
//! sign-in with password + TOTP or a recovery code, `amr`/`acr` in the ID token, codes computed
//! from the secret the page shows at the server's injected time.

use tests::fixture::alice_at_app;
use tests::oauth::{Agent, Pkce};
use tests::{Backend, TestServer};

use crate::mfa_support::{
    account_post, answer, assert_second_factor_page, code_now, enroll, id_claims, password_step,
    wrong_code,
};

tests::on_both_backends!(
    enrolled_user_signs_in_with_password_and_totp,
    a_recovery_code_signs_in_once,
    account_changes_need_a_session_csrf_and_a_recent_sign_in,
    removing_the_factor_and_new_recovery_codes,
    discovery_lists_the_acr_values,
);

const SFA: &str = "urn:auth-server:acr:sfa";
const MFA: &str = "urn:auth-server:acr:mfa";

async fn enrolled_user_signs_in_with_password_and_totp(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    // Password only: amr pwd, acr single-factor.
    let pkce = Pkce::new();
    let done = password_step(&s, &mut browser, &app, &pkce, &[]).await;
    let id = id_claims(&s, &app, &pkce, &done).await;
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["acr"], SFA);

    let (secret, codes) = enroll(&s, &mut browser).await;
    assert_eq!(codes.len(), 10, "{codes:?}");

    // A new browser: password, then the second factor.
    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let page = password_step(&s, &mut browser, &app, &pkce, &[]).await;
    assert_second_factor_page(&page);
    let wrong = answer(
        &s,
        &mut browser,
        &page,
        &[("code", &wrong_code(&s, &secret))],
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"mfa-error\""), "{}", wrong.body);
    assert!(wrong.location().is_none());
    let code = code_now(&s, &secret);
    let done = answer(&s, &mut browser, &wrong, &[("code", &code)]).await;
    assert!(
        done.set_cookies()
            .iter()
            .any(|c| c.starts_with("auth_session=")),
        "the session starts after the second factor"
    );
    let id = id_claims(&s, &app, &pkce, &done).await;
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], MFA);

    // The same code again (same time step) in another browser: refused.
    let mut other = Agent::new();
    let page = password_step(&s, &mut other, &app, &Pkce::new(), &[]).await;
    assert_second_factor_page(&page);
    let again = answer(&s, &mut other, &page, &[("code", &code)]).await;
    assert_eq!(
        again.status, 401,
        "a TOTP step is accepted once: {}",
        again.body
    );
    // An older step neither.
    s.clock.advance(30);
    let again = answer(&s, &mut other, &again, &[("code", &code)]).await;
    assert_eq!(again.status, 401, "{}", again.body);

    // SSO: the session with MFA serves the next request without any page.
    let pkce = Pkce::new();
    let silent = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[]))
        .await;
    let id = id_claims(&s, &app, &pkce, &silent_redirect(silent)).await;
    assert_eq!(id["acr"], MFA);
}

/// Alice's subject id.
pub async fn alice_id(s: &TestServer) -> String {
    s.app.users.find("alice").await.unwrap().unwrap().id
}

/// A 302 from `/authorize`, as the 303 [`id_claims`] expects.
fn silent_redirect(mut p: tests::oauth::Page) -> tests::oauth::Page {
    assert_eq!(p.status, 302, "{}", p.body);
    p.status = 303;
    p
}

async fn a_recovery_code_signs_in_once(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    s.code_for(
        &mut browser,
        &app,
        &Pkce::new(),
        "openid",
        "alice",
        tests::sso_support::PW,
    )
    .await;
    let (_, codes) = enroll(&s, &mut browser).await;

    let mut browser = Agent::new();
    let pkce = Pkce::new();
    let page = password_step(&s, &mut browser, &app, &pkce, &[]).await;
    assert_second_factor_page(&page);
    // Typed in upper case, without dashes: still the code.
    let typed = codes[3].to_uppercase().replace('-', "");
    let done = answer(&s, &mut browser, &page, &[("recovery_code", &typed)]).await;
    let id = id_claims(&s, &app, &pkce, &done).await;
    assert_eq!(id["amr"], serde_json::json!(["pwd", "mfa"]));
    assert_eq!(id["acr"], MFA);

    let mut other = Agent::new();
    let page = password_step(&s, &mut other, &app, &Pkce::new(), &[]).await;
    let again = answer(&s, &mut other, &page, &[("recovery_code", &codes[3])]).await;
    assert_eq!(
        again.status, 401,
        "a recovery code works once: {}",
        again.body
    );
    let f = s.app.flow.mfa().factors(&alice_id(&s).await).await.unwrap();
    assert_eq!(f.recovery_codes, 9);
}

async fn account_changes_need_a_session_csrf_and_a_recent_sign_in(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    // No session: sent to the account page (which signs in).
    let page = Agent::new().get(&format!("{}/account/mfa", s.base)).await;
    assert_eq!(page.status, 302);
    assert_eq!(page.location(), Some("/account"));
    s.code_for(
        &mut browser,
        &app,
        &Pkce::new(),
        "openid",
        "alice",
        tests::sso_support::PW,
    )
    .await;
    let page = browser.get(&format!("{}/account/mfa", s.base)).await;
    assert_eq!(page.status, 200);
    tests::sso_support::assert_locked_page(&page);
    assert!(
        page.body.contains("id=\"totp-status\">Off<"),
        "{}",
        page.body
    );
    // No CSRF token: refused.
    let refused = browser
        .post(&format!("{}/account/mfa/totp/start", s.base), &[])
        .await;
    assert_eq!(refused.status, 403);
    // An old sign-in: sent to re-authenticate, then back here.
    s.clock.advance(301);
    let stale = account_post(&s, &mut browser, "/account/mfa/totp/start", &[]).await;
    assert_eq!(stale.status, 303);
    assert_eq!(stale.location(), Some("/account/reauth?next=/account/mfa"));
    let f = s.app.flow.mfa().factors(&alice_id(&s).await).await.unwrap();
    assert!(!f.totp && !f.totp_pending, "nothing enrolled: {f:?}");
    // A German page in German.
    let cookies: Vec<String> = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let de = s
        .http
        .get(format!("{}/account/mfa", s.base))
        .header("cookie", cookies.join("; "))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert_eq!(de.headers()["content-language"], "de");
    assert!(de.text().await.unwrap().contains("Zweistufige Anmeldung"));
}

async fn removing_the_factor_and_new_recovery_codes(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    s.code_for(
        &mut browser,
        &app,
        &Pkce::new(),
        "openid",
        "alice",
        tests::sso_support::PW,
    )
    .await;
    let (secret, old) = enroll(&s, &mut browser).await;
    // The session signed in with the password only: changes to the factor need one with it.
    let refused = account_post(&s, &mut browser, "/account/mfa/totp/remove", &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"totp-status\">On<"),
        "{}",
        refused.body
    );
    // Its next authorization request steps it up: the second factor, no password.
    let pkce = Pkce::new();
    let page = browser
        .get(&s.authorize_url(&app, &pkce, "openid", &[]))
        .await;
    assert_second_factor_page(&page);
    let done = answer(&s, &mut browser, &page, &[("code", &code_now(&s, &secret))]).await;
    assert_eq!(id_claims(&s, &app, &pkce, &done).await["acr"], MFA);
    let page = account_post(&s, &mut browser, "/account/mfa/recovery", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let new = crate::mfa_support::codes_of(&page);
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    // The old codes no longer work.
    let mut other = Agent::new();
    let p = password_step(&s, &mut other, &app, &Pkce::new(), &[]).await;
    let refused = answer(&s, &mut other, &p, &[("recovery_code", &old[0])]).await;
    assert_eq!(refused.status, 401);
    // Starting another enrollment while one factor is active changes nothing.
    let again = account_post(&s, &mut browser, "/account/mfa/totp/start", &[]).await;
    assert!(!again.body.contains("totp-secret"), "{}", again.body);
    // Removed: the password alone signs in again.
    let removed = account_post(&s, &mut browser, "/account/mfa/totp/remove", &[]).await;
    assert!(
        removed.body.contains("id=\"totp-status\">Off<"),
        "{}",
        removed.body
    );
    let mut other = Agent::new();
    let pkce = Pkce::new();
    let done = password_step(&s, &mut other, &app, &pkce, &[]).await;
    let id = id_claims(&s, &app, &pkce, &done).await;
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
}

async fn discovery_lists_the_acr_values(backend: Backend) {
    let s = TestServer::start(backend).await;
    let d = s.get_json("/.well-known/openid-configuration").await;
    assert_eq!(d["acr_values_supported"], serde_json::json!([SFA, MFA]));
    let claims = d["claims_supported"].as_array().unwrap();
    assert!(claims.iter().any(|c| c == "acr") && claims.iter().any(|c| c == "amr"));
}
