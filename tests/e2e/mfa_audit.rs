//! Audit events of MFA changes, on SQLite and PostgreSQL: TOTP enrolled, recovery codes
//! regenerated, the factor removed (by the user, or an operator's `mfa reset`), `mfa require` and
//! `mfa release`; each stored with its change, and only when something changed.

use std::sync::Arc;

use auth_server::cli::{Command, MfaCommand, run_admin_with_clock};
use tests::fixture::alice_at_app;
use tests::oauth::{Agent, Pkce};
use tests::sso_support::PW;
use tests::{Backend, TestServer, base_config};

use crate::account::{events, url};
use crate::mfa::alice_id;
use crate::mfa_support::{account_post, code_now, enroll};

tests::on_both_backends!(mfa_changes_are_audited);

async fn cli(s: &TestServer, cmd: MfaCommand) {
    let mut out = Vec::new();
    run_admin_with_clock(
        base_config(&s.db_url),
        Command::Mfa(cmd),
        Arc::new(s.clock.clone()),
        &mut out,
    )
    .await
    .unwrap();
}

/// `(actor_kind, actor_id)` of the events of `event_type` about alice, newest first.
async fn actors(s: &TestServer, event_type: &str) -> Vec<(String, Option<String>)> {
    events(s, &alice_id(s).await, event_type)
        .await
        .into_iter()
        .map(|e| (e.actor_kind, e.actor_id))
        .collect()
}

async fn mfa_changes_are_audited(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (app, mut browser) = alice_at_app(&s).await;
    let alice = alice_id(&s).await;
    let by_alice = ("user".to_owned(), Some(alice.clone()));
    let by_cli = ("admin".to_owned(), Some("cli".to_owned()));
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    assert!(actors(&s, "mfa.totp_enrolled").await.is_empty());
    let (secret, _) = enroll(&s, &mut browser).await;
    assert_eq!(
        actors(&s, "mfa.totp_enrolled").await,
        vec![by_alice.clone()]
    );
    // The first codes come with the enrollment.
    assert_eq!(
        actors(&s, "mfa.recovery_codes_regenerated").await,
        vec![by_alice.clone()]
    );

    // A session that proved the factor (the account sign-in with its code) changes factors.
    let mut browser = Agent::new();
    let form = browser.get(&url(&s, "/account/login")).await;
    let code = code_now(&s, &secret);
    let signed = browser
        .submit(
            &form,
            &url(&s, "/account/login"),
            &[("username", "alice"), ("password", PW), ("code", &code)],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let fresh = account_post(&s, &mut browser, "/account/mfa/recovery", &[]).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(actors(&s, "mfa.recovery_codes_regenerated").await.len(), 2);
    let removed = account_post(&s, &mut browser, "/account/mfa/totp/remove", &[]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        actors(&s, "mfa.factor_removed").await,
        vec![by_alice.clone()]
    );

    // An operator: require (twice: the second changes nothing, records nothing), release.
    let user = || "alice".to_owned();
    cli(&s, MfaCommand::Require { username: user() }).await;
    cli(&s, MfaCommand::Require { username: user() }).await;
    assert_eq!(actors(&s, "mfa.required").await, vec![by_cli.clone()]);
    cli(&s, MfaCommand::Release { username: user() }).await;
    cli(&s, MfaCommand::Release { username: user() }).await;
    assert_eq!(actors(&s, "mfa.released").await, vec![by_cli.clone()]);
    // A reset without a factor records nothing; with one, it records the operator.
    cli(&s, MfaCommand::Reset { username: user() }).await;
    assert_eq!(actors(&s, "mfa.factor_removed").await.len(), 1);
    enroll(&s, &mut browser).await;
    assert_eq!(actors(&s, "mfa.totp_enrolled").await.len(), 2);
    cli(&s, MfaCommand::Reset { username: user() }).await;
    assert_eq!(actors(&s, "mfa.factor_removed").await, [by_cli, by_alice]);
}
