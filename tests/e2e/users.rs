//! Users and passwords: registration, argon2id, sign-in checks, hash upgrades, the `user` CLI.

use std::sync::Arc;

use auth_server::cli::{Cli, PasswordInput, run_admin_with};
use auth_server::domain::passwords::{Cost, PasswordHasher};
use auth_server::domain::users::{LoginError, NewUser, UserError, Users};
use clap::Parser;
use tests::{Backend, ManualClock, TestServer, fresh_database};

tests::on_both_backends!(
    sign_in_checks_and_hash_upgrade,
    user_cli,
    user_cli_changes_sessions_and_deletes_with_cli_audit_events
);

/// Cheap parameters: these tests are about the logic, not the hash's cost.
const CHEAP: Cost = Cost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn users(s: &TestServer, cost: Cost) -> Users {
    Users::new(
        s.app.store.clone(),
        PasswordHasher::new(cost, 2, 16).unwrap(),
        Arc::new(s.clock.clone()),
    )
}

/// Alice's stored password hash (a PHC string).
async fn alice_hash(s: &TestServer) -> String {
    let row = s.app.store.find_user_by_username("alice").await.unwrap();
    row.unwrap().password_hash.unwrap()
}

fn alice(password: Option<&str>) -> NewUser {
    NewUser {
        username: "alice".into(),
        email: Some("alice@example.com".into()),
        display_name: Some("Alice Liddell".into()),
        password: password.map(str::to_owned),
    }
}

async fn sign_in_checks_and_hash_upgrade(backend: Backend) {
    let s = TestServer::start(backend).await;
    let weak = users(&s, CHEAP);
    let created = weak.create(alice(Some("correct horse"))).await.unwrap();
    assert_eq!(created.display_name, "Alice Liddell");
    assert!(created.has_password && !created.disabled);
    assert!(created.id.len() >= 22, "random subject id");
    assert!(matches!(
        weak.create(alice(None)).await,
        Err(UserError::Exists(_))
    ));
    assert!(matches!(
        weak.create(NewUser {
            username: "bob".into(),
            ..alice(Some("short"))
        })
        .await,
        Err(UserError::Invalid(_))
    ));
    assert!(matches!(
        weak.create(NewUser {
            username: "b b".into(),
            ..alice(None)
        })
        .await,
        Err(UserError::Invalid(_))
    ));
    let stored = alice_hash(&s).await;
    assert!(
        stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "PHC string keeps the parameters"
    );
    assert!(!stored.contains("correct horse"));

    assert_eq!(
        weak.authenticate("alice", "correct horse")
            .await
            .unwrap()
            .id,
        created.id
    );
    assert!(matches!(
        weak.authenticate("alice", "wrong horse").await,
        Err(LoginError::Rejected)
    ));
    assert!(matches!(
        weak.authenticate("nobody", "correct horse").await,
        Err(LoginError::Rejected)
    ));
    assert!(matches!(
        weak.authenticate("", "x").await,
        Err(LoginError::Rejected)
    ));

    // A stronger policy: the next successful sign-in replaces the weak hash; a failed one does not.
    let stronger = Cost {
        memory_kib: 128,
        ..CHEAP
    };
    let strong = users(&s, stronger);
    assert!(strong.authenticate("alice", "wrong horse").await.is_err());
    let still = alice_hash(&s).await;
    assert_eq!(still, stored);
    strong.authenticate("alice", "correct horse").await.unwrap();
    let upgraded = alice_hash(&s).await;
    assert_eq!(Cost::of_phc(&upgraded), Some(stronger));
    assert!(strong.authenticate("alice", "correct horse").await.is_ok());

    strong.set_disabled("alice", true).await.unwrap();
    assert!(matches!(
        strong.authenticate("alice", "correct horse").await,
        Err(LoginError::Rejected)
    ));
    strong.set_disabled("alice", false).await.unwrap();
    strong
        .set_password("alice", "battery staple".into())
        .await
        .unwrap();
    assert!(strong.authenticate("alice", "correct horse").await.is_err());
    assert!(strong.authenticate("alice", "battery staple").await.is_ok());
    assert!(matches!(
        strong.set_password("nobody", "whatever1".into()).await,
        Err(UserError::NotFound(_))
    ));
}

async fn cli(
    config: &auth_server::config::Config,
    args: &[&str],
    stdin: &str,
) -> Result<String, String> {
    let parsed = Cli::try_parse_from(std::iter::once("auth-server").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
    let mut out = Vec::new();
    let clock = Arc::new(ManualClock::new(auth_core::Clock::now(
        &auth_core::SystemClock,
    )));
    run_admin_with(
        config.clone(),
        parsed.command.unwrap(),
        clock,
        PasswordInput::Lines(&mut input),
        &mut out,
    )
    .await
    .map_err(|e| format!("{e:#}"))?;
    Ok(String::from_utf8(out).unwrap())
}

async fn user_cli(backend: Backend) {
    let (url, name) = fresh_database(backend).await;
    let mut config = tests::base_config(&url);
    config.keys.kek_file = std::env::temp_dir().join(format!("auth-users-kek-{name}"));
    let created: serde_json::Value = serde_json::from_str(
        &cli(
            &config,
            &[
                "user",
                "create",
                "--username",
                "alice",
                "--email",
                "a@example.com",
                "--password-stdin",
                "--json",
            ],
            "correct horse battery\n",
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(created["username"], "alice");
    assert_eq!(created["has_password"], true);
    assert!(created.get("password_hash").is_none());

    // Hashed at the configured (OWASP) cost, and the server accepts the password.
    let s = TestServer::start_on(
        &url,
        &name,
        ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock)),
        |_| {},
    )
    .await;
    let phc = alice_hash(&s).await;
    assert_eq!(Cost::of_phc(&phc), Some(Cost::OWASP));
    assert!(
        s.app
            .users
            .authenticate("alice", "correct horse battery")
            .await
            .is_ok()
    );

    // Passwords never come from the command line.
    assert!(
        cli(
            &config,
            &["user", "create", "--username", "eve", "--password", "x"],
            ""
        )
        .await
        .is_err()
    );
    // Without --password-stdin and without a terminal, the CLI says how to give one.
    let e = cli(&config, &["user", "set-password", "alice"], "")
        .await
        .unwrap_err();
    assert!(e.contains("--password-stdin"), "{e}");
    assert!(
        cli(
            &config,
            &["user", "set-password", "alice", "--password-stdin"],
            "short\n"
        )
        .await
        .unwrap_err()
        .contains("at least")
    );
    assert!(
        cli(
            &config,
            &["user", "set-password", "alice", "--password-stdin"],
            "a new passphrase\n"
        )
        .await
        .is_ok()
    );
    assert!(
        s.app
            .users
            .authenticate("alice", "a new passphrase")
            .await
            .is_ok()
    );
    assert!(
        s.app
            .users
            .authenticate("alice", "correct horse battery")
            .await
            .is_err()
    );

    assert!(
        cli(
            &config,
            &["user", "create", "--username", "bob", "--no-password"],
            ""
        )
        .await
        .is_ok()
    );
    let list: serde_json::Value =
        serde_json::from_str(&cli(&config, &["user", "list", "--json"], "").await.unwrap())
            .unwrap();
    let names = tests::field_of(&list, "username");
    assert_eq!(names, ["alice", "bob"]);
    assert!(
        s.app
            .users
            .authenticate("bob", "anything at all")
            .await
            .is_err(),
        "no password, no sign-in"
    );
    assert!(
        cli(&config, &["user", "disable", "alice"], "")
            .await
            .unwrap()
            .contains("disabled")
    );
    let shown: serde_json::Value = serde_json::from_str(
        &cli(&config, &["user", "show", "alice", "--json"], "")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(shown["disabled"], true);
    assert!(
        s.app
            .users
            .authenticate("alice", "a new passphrase")
            .await
            .is_err()
    );
    assert!(cli(&config, &["user", "show", "nobody"], "").await.is_err());
}

/// `user update`, `sessions`, `end-sessions`, `delete`, `list --search`: each change has one audit
/// event whose actor is the administrator `cli`, and none carries the password.
async fn user_cli_changes_sessions_and_deletes_with_cli_audit_events(backend: Backend) {
    use auth_server::model::audit::AuditQuery;
    use tests::oauth::{Agent, Pkce, first_party};
    let (url, name) = fresh_database(backend).await;
    let mut config = tests::base_config(&url);
    config.keys.kek_file = std::env::temp_dir().join(format!("auth-users-kek-{name}"));
    let pw = "correct horse battery";
    cli(
        &config,
        &["user", "create", "--username", "alice", "--password-stdin"],
        &format!("{pw}\n"),
    )
    .await
    .unwrap();
    cli(
        &config,
        &["user", "create", "--username", "bob", "--no-password"],
        "",
    )
    .await
    .unwrap();
    let s = TestServer::start_on(
        &url,
        &name,
        ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock)),
        |_| {},
    )
    .await;
    let app = s.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    s.code_for(&mut browser, &app, &Pkce::new(), "openid", "alice", pw)
        .await;
    let listed: serde_json::Value = serde_json::from_str(
        &cli(&config, &["user", "sessions", "alice", "--json"], "")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let out = cli(&config, &["user", "end-sessions", "alice"], "")
        .await
        .unwrap();
    assert!(out.contains("1 session(s)"), "{out}");
    assert!(!tests::sso_support::has_session(&s, &mut browser, &app).await);
    let updated: serde_json::Value = serde_json::from_str(
        &cli(
            &config,
            &[
                "user",
                "update",
                "alice",
                "--name",
                "Alice L",
                "--email",
                "a@x.example",
                "--json",
            ],
            "",
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(updated["display_name"], "Alice L");
    assert_eq!(updated["email"], "a@x.example");
    assert!(
        cli(
            &config,
            &["user", "update", "alice", "--new-username", "bob"],
            ""
        )
        .await
        .unwrap_err()
        .contains("already exists")
    );
    let found: serde_json::Value = serde_json::from_str(
        &cli(
            &config,
            &["user", "list", "--search", "X.EXAMPLE", "--json"],
            "",
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(tests::field_of(&found, "username"), ["alice"]);
    cli(&config, &["user", "delete", "alice"], "")
        .await
        .unwrap();
    assert!(cli(&config, &["user", "show", "alice"], "").await.is_err());
    assert!(
        cli(&config, &["user", "delete", "alice"], "")
            .await
            .is_err()
    );

    let mut events = s
        .app
        .store
        .audit_events(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    events.retain(|e| e.actor_kind == "admin" && !e.event_type.starts_with("client."));
    events.reverse();
    let got: Vec<(&str, Option<&str>)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.actor_id.as_deref()))
        .collect();
    let cli_actor = Some("cli");
    assert_eq!(
        got,
        [
            ("user.created", cli_actor),
            ("user.created", cli_actor),
            ("user.sessions_ended", cli_actor),
            ("user.updated", cli_actor),
            ("user.deleted", cli_actor),
        ]
    );
    for e in &events {
        assert!(!e.detail.clone().unwrap_or_default().contains(pw), "{e:?}");
    }
}
