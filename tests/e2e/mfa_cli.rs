//! `auth-server mfa ...` on SQLite and PostgreSQL: an administrator requires a second factor of a
//! user (who then enrolls at the next sign-in), shows it, releases it, and resets a lost factor.

use std::sync::Arc;

use auth_server::cli::{Command, MfaCommand, run_admin_with_clock};
use tests::fixture::alice_at_app;
use tests::oauth::Pkce;
use tests::{Backend, TestServer, base_config};

use crate::mfa::alice_id;
use crate::mfa_support::{assert_second_factor_page, enroll, password_step};

tests::on_both_backends!(an_administrator_requires_shows_releases_and_resets_mfa);

async fn cli(s: &TestServer, cmd: MfaCommand) -> String {
    let mut out = Vec::new();
    let config = base_config(&s.db_url);
    run_admin_with_clock(
        config,
        Command::Mfa(cmd),
        Arc::new(s.clock.clone()),
        &mut out,
    )
    .await
    .unwrap();
    String::from_utf8(out).unwrap()
}

async fn an_administrator_requires_shows_releases_and_resets_mfa(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    let alice = || "alice".to_owned();
    let out = cli(&s, MfaCommand::Require { username: alice() }).await;
    assert_eq!(out, "MFA required for alice\n");
    assert!(
        s.app
            .flow
            .mfa()
            .required_for(&alice_id(&s).await)
            .await
            .unwrap()
    );
    // Required: the next sign-in asks for (here: enrolls) a second factor.
    let page = password_step(&s, &mut browser, &app, &Pkce::new(), &[]).await;
    assert_second_factor_page(&page);
    assert!(page.body.contains("totp-secret"), "{}", page.body);

    let out = cli(&s, MfaCommand::Release { username: alice() }).await;
    assert_eq!(out, "MFA no longer required for alice\n");
    let mut browser = tests::oauth::Agent::new();
    s.code_for(
        &mut browser,
        &app,
        &Pkce::new(),
        "openid",
        "alice",
        tests::sso_support::PW,
    )
    .await;
    enroll(&s, &mut browser).await;
    let out = cli(&s, MfaCommand::Show { username: alice() }).await;
    assert_eq!(
        out,
        "alice\ttotp=true recovery_codes_left=10 required=false\n"
    );
    let out = cli(&s, MfaCommand::Reset { username: alice() }).await;
    assert_eq!(out, "second factors of alice removed\n");
    let out = cli(&s, MfaCommand::Show { username: alice() }).await;
    assert_eq!(
        out,
        "alice\ttotp=false recovery_codes_left=0 required=false\n"
    );
    let mut err = Vec::new();
    let unknown = run_admin_with_clock(
        base_config(&s.db_url),
        Command::Mfa(MfaCommand::Require {
            username: "nobody".into(),
        }),
        Arc::new(s.clock.clone()),
        &mut err,
    )
    .await;
    assert!(unknown.unwrap_err().to_string().contains("no user named"));
}
