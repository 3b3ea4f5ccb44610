//! The administrative CLI, against the same database a running server uses.

use std::sync::Arc;

use auth_server::cli::{Cli, run_admin_with_clock};
use auth_server::config::Config;
use base64::Engine;
use clap::Parser;
use tests::{Backend, ManualClock, TEST_KEK, TestServer, basic, fresh_database};

tests::on_both_backends!(
    clients_and_keys_from_the_cli,
    public_clients_and_redirect_uris_from_the_cli,
    replicas_see_cli_changes_within_the_cache_ttl,
);

pub(crate) async fn cli(
    config: &Config,
    clock: &ManualClock,
    args: &[&str],
) -> Result<String, String> {
    let parsed = Cli::try_parse_from(std::iter::once("auth-server").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    run_admin_with_clock(
        config.clone(),
        parsed.command.unwrap(),
        Arc::new(clock.clone()),
        &mut out,
    )
    .await
    .map_err(|e| format!("{e:#}"))?;
    Ok(String::from_utf8(out).unwrap())
}

/// Runs the admin CLI with `args` (ending in `--json`), asserting success; parses its output.
async fn cli_json(config: &Config, clock: &ManualClock, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&cli(config, clock, args).await.unwrap()).unwrap()
}

/// As [`cli`], the arguments written as one line (split at whitespace).
async fn cli_line(config: &Config, clock: &ManualClock, line: &str) -> Result<String, String> {
    cli(config, clock, &line.split_whitespace().collect::<Vec<_>>()).await
}

pub(crate) fn cli_config(url: &str) -> Config {
    let mut c = tests::base_config(url);
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-{}",
        auth_server::domain::random::token(8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let kek = dir.join("kek");
    std::fs::write(
        &kek,
        base64::engine::general_purpose::STANDARD.encode(TEST_KEK),
    )
    .unwrap();
    c.keys.kek_file = kek;
    c
}

async fn clients_and_keys_from_the_cli(backend: Backend) {
    let (url, name) = fresh_database(backend).await;
    let config = cli_config(&url);
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    let migrated = cli(&config, &clock, &["migrate"]).await.unwrap();
    assert_eq!(migrated.trim(), "migrations applied");
    let empty = cli(&config, &clock, &["client", "list", "--json"])
        .await
        .unwrap();
    assert_eq!(empty.trim(), "[]");
    let created = cli_line(
        &config,
        &clock,
        "client create --name Partner --id partner --alg RS256 --scope p:read \
         --scope p:write --default-scope p:read --resource https://partner-api --json",
    )
    .await
    .unwrap();
    let created: serde_json::Value = serde_json::from_str(created.trim()).unwrap();
    assert_eq!(created["client_id"], "partner");
    assert_eq!(created["alg"], "RS256");
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "at least 256 bits");

    let dup = cli_line(&config, &clock, "client create --name x --id partner").await;
    assert!(dup.unwrap_err().contains("already exists"));
    let bad = cli_line(
        &config,
        &clock,
        "client create --name x --scope a --default-scope b",
    )
    .await;
    assert!(bad.unwrap_err().contains("default scope"));
    assert!(
        cli_line(&config, &clock, "client create --name x --alg HS256")
            .await
            .is_err()
    );

    let list = cli_json(&config, &clock, &["client", "list", "--json"]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("client_secret").is_none() && list[0].get("secret_sha256").is_none());
    let show = cli(&config, &clock, &["client", "show", "partner"])
        .await
        .unwrap();
    assert!(show.contains("partner") && show.contains("enabled"));
    assert!(
        cli(&config, &clock, &["client", "show", "nobody"])
            .await
            .is_err()
    );

    // A server on the same database issues tokens to the CLI-made client.
    let s = TestServer::start_on(&url, &name, clock.clone(), |_| {}).await;
    let body = s.cc_token("partner", &secret, "").await;
    let (header, _) = tests::verify(body["access_token"].as_str().unwrap(), &s.jwks().await);
    assert_eq!(header["alg"], "RS256");

    let rotated = cli_json(
        &config,
        &clock,
        &["client", "rotate-secret", "partner", "--json"],
    )
    .await;
    assert_ne!(rotated["client_secret"], secret.as_str());
    assert!(
        cli(&config, &clock, &["client", "disable", "partner"])
            .await
            .unwrap()
            .contains("disabled")
    );
    let show = cli_json(&config, &clock, &["client", "show", "partner", "--json"]).await;
    assert_eq!(show["enabled"], false);

    // Keys: the server created one per algorithm; the CLI rotates and lists.
    let keys = cli_json(&config, &clock, &["keys", "list", "--json"]).await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k["state"] == "active")
    );
    let rotated = cli_json(&config, &clock, &["keys", "rotate", "--json"]).await;
    assert!(
        rotated
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "created"),
        "{rotated}"
    );
    let keys = cli_json(&config, &clock, &["keys", "list", "--json"]).await;
    let states = tests::field_of(&keys, "state");
    assert_eq!(states.iter().filter(|s| **s == "pending").count(), 2);
    assert_eq!(states.iter().filter(|s| **s == "active").count(), 2);
    let human = cli(&config, &clock, &["keys", "list"]).await.unwrap();
    assert!(human.starts_with("ALG\tGEN\tSTATE"));
    // The running server publishes the CLI's keys after its next reload, and can sign with them.
    s.app.keys.reload().await.unwrap();
    assert_eq!(s.jwks().await["keys"].as_array().unwrap().len(), 4);
}

async fn public_clients_and_redirect_uris_from_the_cli(backend: Backend) {
    let (url, name) = fresh_database(backend).await;
    let config = cli_config(&url);
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    let created = cli(
        &config,
        &clock,
        &[
            "client",
            "create",
            "--name",
            "Mobile app",
            "--id",
            "mobile",
            "--scope",
            "openid",
            "--public",
            "--first-party",
            "--always-refresh",
            "--redirect-uri",
            "com.example.app:/oauth2redirect",
            "--redirect-uri",
            "http://127.0.0.1:51004/cb",
            "--post-logout-redirect-uri",
            "https://app.example.com/bye",
            "--json",
        ],
    )
    .await
    .unwrap();
    let created: serde_json::Value = serde_json::from_str(created.trim()).unwrap();
    assert_eq!(created["public"], true);
    assert!(
        created.get("client_secret").is_none(),
        "a public client has no secret: {created}"
    );

    let show = cli_json(&config, &clock, &["client", "show", "mobile", "--json"]).await;
    assert_eq!(
        show["redirect_uris"],
        serde_json::json!([
            "com.example.app:/oauth2redirect",
            "http://127.0.0.1:51004/cb"
        ])
    );
    assert_eq!(
        show["post_logout_redirect_uris"],
        serde_json::json!(["https://app.example.com/bye"])
    );
    assert_eq!(show["public"], true);
    assert_eq!(show["first_party"], true);
    assert_eq!(show["always_refresh"], true);
    let human = cli(&config, &clock, &["client", "show", "mobile"])
        .await
        .unwrap();
    assert!(
        human.contains("type=public")
            && human.contains(
                "redirect_uris=[com.example.app:/oauth2redirect http://127.0.0.1:51004/cb]"
            ),
        "{human}"
    );

    // Text output of a public create: no secret line, and it says so.
    let text = cli_line(
        &config,
        &clock,
        "client create --name SPA --id spa --public --redirect-uri \
         https://spa.example.com/cb",
    )
    .await
    .unwrap();
    assert!(!text.contains("client_secret"), "{text}");
    assert!(text.contains("public client"), "{text}");
    assert!(
        text.contains("redirect_uri:  https://spa.example.com/cb"),
        "{text}"
    );

    // A public client has no secret to rotate, and cannot use client credentials.
    let err = cli(&config, &clock, &["client", "rotate-secret", "mobile"])
        .await
        .unwrap_err();
    assert!(err.contains("public"), "{err}");
    let s = TestServer::start_on(&url, &name, clock.clone(), |_| {}).await;
    for secret in ["", "x"] {
        let r = s
            .post_token(
                "grant_type=client_credentials",
                &[("authorization", &basic("mobile", secret))],
            )
            .await;
        assert_eq!(r.status(), 401);
    }

    // Invalid redirect URIs are refused, and nothing is stored.
    for (flag, uri, why) in [
        (
            "--redirect-uri",
            "https://app.example.com/cb#frag",
            "fragment",
        ),
        ("--redirect-uri", "http://example.com/cb", "must use https"),
        ("--redirect-uri", "javascript:alert(1)", "javascript:"),
        ("--redirect-uri", "myapp:/cb", "private-use scheme"),
        ("--post-logout-redirect-uri", "/relative", "absolute URI"),
    ] {
        let err = cli(
            &config,
            &clock,
            &[
                "client", "create", "--name", "Bad", "--id", "bad", flag, uri,
            ],
        )
        .await
        .unwrap_err();
        assert!(err.contains(uri) && err.contains(why), "{uri}: {err}");
    }
    assert!(
        cli(&config, &clock, &["client", "show", "bad"])
            .await
            .is_err()
    );
}

async fn replicas_see_cli_changes_within_the_cache_ttl(backend: Backend) {
    let (url, name) = fresh_database(backend).await;
    let clock = ManualClock::new(auth_core::Clock::now(&auth_core::SystemClock));
    let a =
        TestServer::start_on(&url, &name, clock.clone(), |c| c.clients.cache_ttl_secs = 1).await;
    let b =
        TestServer::start_on(&url, &name, clock.clone(), |c| c.clients.cache_ttl_secs = 1).await;
    let (id, secret) = a
        .client("svc", auth_core::Alg::Es256, &["x"], &["https://api"])
        .await;
    b.cc_token(&id, &secret, "").await; // now cached on b
    assert!(a.app.clients.set_enabled(&id, false).await.unwrap());
    // b may serve its cached copy for at most cache_ttl_secs; poll with a deadline well beyond it.
    b.cc_until(
        &id,
        &secret,
        401,
        None,
        10,
        "replica b never saw the change",
    )
    .await;
}

tests::on_both_backends!(a_client_id_cannot_be_a_user_subject);

/// Client-credentials tokens have the client id as `sub`; a client named after a user's subject id
/// would get tokens that look like that user's. Registration refuses it.
async fn a_client_id_cannot_be_a_user_subject(backend: tests::Backend) {
    let s = tests::TestServer::start(backend).await;
    let sub = s.user("victim", "correct horse battery").await;
    let refused = s
        .app
        .clients
        .create(auth_server::domain::clients::NewClient {
            name: "impostor".into(),
            ..tests::new_client(&sub, auth_core::Alg::Es256, &[], &["https://api.example"])
        })
        .await;
    let err = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("subject id of a user"), "{err}");
}
