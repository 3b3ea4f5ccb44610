//! The second factor at the account page's own sign-in (`/account/login`) and re-authentication
//! (`/account/reauth`), over HTTP on SQLite and PostgreSQL: a user with TOTP gets no session from
//! the password alone, a right code gives one whose `amr` carries `mfa`, wrong codes are counted
//! like the `/login/mfa` step's, a code is accepted once even when raced over two replicas, and
//! re-authentication asks for the code too.

use std::sync::Arc;

use tests::fixture::alice_at_app;
use tests::oauth::{Agent, Page, Pkce, WebClient};
use tests::replicas::{pick, replicas_with};
use tests::sso_support::PW;
use tests::{Backend, TestServer};
use tokio::sync::Barrier;

use crate::account::{events, url};
use crate::mfa::alice_id;
use crate::mfa_support::{code_now, enroll, id_claims, wrong_code};

tests::on_both_backends!(
    account_sign_in_needs_the_second_factor,
    account_sign_in_codes_are_throttled,
    an_account_sign_in_code_is_accepted_once_across_replicas,
    reauth_needs_the_second_factor,
);

/// Alice with TOTP enrolled (through a sign-in at `app`): the app, the secret, the recovery codes.
async fn enrolled(s: &TestServer) -> (WebClient, Vec<u8>, Vec<String>) {
    let (app, mut browser) = alice_at_app(s).await;
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    let (secret, codes) = enroll(s, &mut browser).await;
    (app, secret, codes)
}

/// Posts the `/account/login` form from `browser` with alice's password and `code` (if any).
async fn account_login(s: &TestServer, browser: &mut Agent, code: Option<&str>) -> Page {
    let form = browser.get(&url(s, "/account/login")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("name=\"code\""), "{}", form.body);
    let mut fields = vec![("username", "alice"), ("password", PW)];
    fields.extend(code.map(|c| ("code", c)));
    browser
        .submit(&form, &url(s, "/account/login"), &fields)
        .await
}

/// Asserts `page` refused with `status` and set no session cookie.
#[track_caller]
fn assert_no_session(page: &Page, status: u16) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(
        !page
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("auth_session=") && !c.contains("Max-Age=0")),
        "no session: {:?}",
        page.set_cookies()
    );
}

/// The ID token claims of a silent sign-in at `app` with the browser's session (no step-up: the
/// session must already carry the second factor).
async fn silent_claims(s: &TestServer, browser: &mut Agent, app: &WebClient) -> serde_json::Value {
    let pkce = Pkce::new();
    let mut done = browser
        .get(&s.authorize_url(app, &pkce, "openid", &[("prompt", "none")]))
        .await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(
        done.location_param("error").is_none(),
        "{:?}",
        done.location()
    );
    done.status = 303;
    id_claims(s, app, &pkce, &done).await
}

fn has(claims: &serde_json::Value, amr: &str) -> bool {
    claims["amr"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == amr))
}

async fn account_sign_in_needs_the_second_factor(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, secret, codes) = enrolled(&s).await;
    let user = alice_id(&s).await;
    // The password alone: no session, the page asks for the code.
    let mut browser = Agent::new();
    let without = account_login(&s, &mut browser, None).await;
    assert_no_session(&without, 401);
    assert!(
        without.body.contains("authenticator app"),
        "{}",
        without.body
    );
    let away = browser.get(&url(&s, "/account")).await;
    assert_eq!(away.status, 302, "still signed out");
    // A wrong code: no session, and the failure is stored.
    let wrong = account_login(&s, &mut browser, Some(&wrong_code(&s, &secret))).await;
    assert_no_session(&wrong, 401);
    let failures = events(&s, &user, "sign_in.failure").await;
    assert!(
        failures.iter().any(|e| e
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("second_factor"))),
        "{failures:?}"
    );
    // The right code: a session whose amr carries the second factor.
    let code = code_now(&s, &secret);
    let done = account_login(&s, &mut browser, Some(&code)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some(url(&s, "/account").as_str()));
    let claims = silent_claims(&s, &mut browser, &app).await;
    assert!(has(&claims, "otp") && has(&claims, "mfa"), "{claims}");
    // The same code again, from another browser: refused (each step is accepted once).
    let mut other = Agent::new();
    let again = account_login(&s, &mut other, Some(&code)).await;
    assert_no_session(&again, 401);
    // A recovery code works once, with amr mfa.
    let mut third = Agent::new();
    let recovered = account_login(&s, &mut third, Some(&codes[0])).await;
    assert_eq!(recovered.status, 303, "{}", recovered.body);
    let claims = silent_claims(&s, &mut third, &app).await;
    assert!(has(&claims, "mfa") && has(&claims, "pwd"), "{claims}");
    let mut fourth = Agent::new();
    let reused = account_login(&s, &mut fourth, Some(&codes[0])).await;
    assert_no_session(&reused, 401);
}

async fn account_sign_in_codes_are_throttled(backend: Backend) {
    let s = TestServer::start(backend).await;
    let limit = s.app.config.login.max_failures_per_pair;
    let (_, secret, _) = enrolled(&s).await;
    let wrong = wrong_code(&s, &secret);
    let mut browser = Agent::new();
    for _ in 0..limit {
        let page = account_login(&s, &mut browser, Some(&wrong)).await;
        assert_no_session(&page, 401);
    }
    // Over the limit even the right code is refused unchecked, and the step stays unused.
    let code = code_now(&s, &secret);
    let locked = account_login(&s, &mut browser, Some(&code)).await;
    assert_no_session(&locked, 429);
    // The `/login/mfa` step shares the count: the same user is locked there too.
    let verdict = s
        .app
        .flow
        .mfa()
        .verify(
            &alice_id(&s).await,
            auth_server::domain::mfa::Answer::Totp(&code),
        )
        .await
        .unwrap();
    assert_eq!(verdict, auth_server::domain::mfa::Verdict::Locked);
}

async fn an_account_sign_in_code_is_accepted_once_across_replicas(backend: Backend) {
    let servers = replicas_with(backend, |c| c.login.max_failures_per_pair = 1000).await;
    let (_, secret, _) = enrolled(&servers.0).await;
    let code = code_now(&servers.0, &secret);
    const N: usize = 8;
    let mut forms = Vec::new();
    for i in 0..N {
        let s = pick(&servers, i);
        let mut browser = Agent::new();
        let form = browser.get(&url(&s, "/account/login")).await;
        assert_eq!(form.status, 200);
        forms.push((browser, form.hidden_fields(), s));
    }
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = forms
        .into_iter()
        .map(|(mut browser, mut fields, s)| {
            let barrier = barrier.clone();
            let code = code.clone();
            tokio::spawn(async move {
                fields.extend([
                    ("username".to_owned(), "alice".to_owned()),
                    ("password".to_owned(), PW.to_owned()),
                    ("code".to_owned(), code),
                ]);
                let pairs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                barrier.wait().await;
                browser
                    .post(&url(&s, "/account/login"), &pairs)
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let won = statuses.iter().filter(|s| **s == 303).count();
    assert_eq!(won, 1, "{statuses:?}");
    // The others were refused: the code already used (401), or the password throttle's
    // slow-down of parallel attempts (429) or a busy hasher (503); never a second session.
    assert!(
        statuses.iter().all(|s| [303, 401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&401),
        "the code was contested: {statuses:?}"
    );
}

async fn reauth_needs_the_second_factor(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, secret, _) = enrolled(&s).await;
    let mut browser = Agent::new();
    let code = code_now(&s, &secret);
    let done = account_login(&s, &mut browser, Some(&code)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    s.clock.advance(301);
    let form = browser
        .get(&url(&s, "/account/reauth?next=/account/mfa"))
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("name=\"code\""), "{}", form.body);
    // The password alone is not enough.
    let without = browser
        .submit(&form, &url(&s, "/account/reauth"), &[("password", PW)])
        .await;
    assert_eq!(without.status, 401, "{}", without.body);
    let stale = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[("max_age", "300")]))
        .await;
    assert_ne!(
        stale.status,
        302,
        "auth_time was not renewed: {:?}",
        stale.location()
    );
    // Password and a fresh code: back to `next`, auth_time now, amr with mfa.
    let code = code_now(&s, &secret);
    let ok = browser
        .submit(
            &form,
            &url(&s, "/account/reauth"),
            &[("password", PW), ("code", &code)],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location(), Some(url(&s, "/account/mfa").as_str()));
    let claims = silent_claims(&s, &mut browser, &app).await;
    assert!(has(&claims, "otp") && has(&claims, "mfa"), "{claims}");
    assert_eq!(claims["auth_time"], tests::now(&s.clock), "{claims}");
}
