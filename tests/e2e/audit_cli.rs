//! `auth-server audit list` against the database a running server writes, on SQLite and
//! PostgreSQL: each filter (`--type`, `--user` by username or id, `--client`, `--since`), paging
//! (`--limit`, `--before`), JSON and text output, and refusals of bad arguments.

use auth_server::cli::Cli;
use clap::Parser;
use serde_json::Value;
use tests::Backend;
use tests::fixture::Sso;
use tests::oauth::{Agent, Pkce};
use tests::sso_support::{PW, on_consent_page, try_login};

use crate::cli::{cli, cli_config};

tests::on_both_backends!(audit_list_filters_and_pages);

/// The ids of a `--json` listing, in order.
fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

async fn audit_list_filters_and_pages(backend: Backend) {
    let Sso { s, sub, app, .. } = Sso::start(backend).await;
    // alice: one failure, one success at `app`; erin: a sign-in and a consent at `partner`.
    let mut browser = Agent::new();
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    let wrong = try_login(&s, &mut browser, &page, "alice", "wrong password").await;
    assert_eq!(wrong.status, 401);
    let start = tests::now(&s.clock);
    s.clock.advance(100);
    let page = browser
        .get(&s.authorize_url(&app, &Pkce::new(), "openid", &[]))
        .await;
    assert_eq!(
        try_login(&s, &mut browser, &page, "alice", PW).await.status,
        303
    );
    let (mut erin_browser, _, consent) = on_consent_page(&s).await;
    let allowed = tests::sso_support::decide(&s, &mut erin_browser, &consent, "allow").await;
    assert!(allowed.location_param("code").is_some());

    let config = cli_config(&s.db_url);
    let list = |args: &'static [&'static str]| {
        let (config, clock) = (config.clone(), s.clock.clone());
        async move {
            let mut all = vec!["audit", "list"];
            all.extend_from_slice(args);
            all.push("--json");
            let out = cli(&config, &clock, &all).await.unwrap();
            serde_json::from_str::<Value>(&out).unwrap()
        }
    };
    let everything = list(&[]).await;
    let types: Vec<&str> = everything
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "consent.given",
            "sign_in.success",
            "sign_in.success",
            "sign_in.failure"
        ],
        "newest first"
    );
    let all_ids = ids(&everything);

    let failures = list(&["--type", "sign_in.failure"]).await;
    assert_eq!(ids(&failures), [all_ids[3]]);
    assert_eq!(failures[0]["user_id"], sub.as_str());
    assert_eq!(failures[0]["detail"]["reason"], "rejected");

    // A user id may start with '-' (random base64url): still read as the value of --user.
    let dash = Cli::try_parse_from(["auth-server", "audit", "list", "--user", "-Uabc"]);
    assert!(dash.is_ok(), "{dash:?}");
    // A username is resolved to its id; the id works as well.
    let by_name = list(&["--user", "alice"]).await;
    assert_eq!(ids(&by_name), [all_ids[2], all_ids[3]]);
    let by_id = cli(
        &config,
        &s.clock,
        &["audit", "list", "--user", &sub, "--json"],
    )
    .await;
    assert_eq!(
        ids(&serde_json::from_str(&by_id.unwrap()).unwrap()),
        ids(&by_name)
    );
    assert_eq!(
        ids(&list(&["--user", "erin"]).await),
        [all_ids[0], all_ids[1]]
    );

    assert_eq!(
        ids(&list(&["--client", "partner"]).await),
        [all_ids[0], all_ids[1]]
    );
    assert_eq!(
        ids(&list(&["--client", "app", "--type", "sign_in.success"]).await),
        [all_ids[2]]
    );

    // --since: Unix seconds or RFC 3339.
    let since = (start + 50).to_string();
    let later = cli(
        &config,
        &s.clock,
        &["audit", "list", "--since", &since, "--json"],
    )
    .await;
    assert_eq!(
        ids(&serde_json::from_str(&later.unwrap()).unwrap()),
        all_ids[..3]
    );
    assert_eq!(
        ids(&list(&["--since", "2999-01-01T00:00:00Z"]).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&list(&["--since", "1970-01-01T00:00:00Z"]).await),
        all_ids
    );

    // Paging: newest first, then the page before the last id seen.
    assert_eq!(ids(&list(&["--limit", "2"]).await), all_ids[..2]);
    let before = all_ids[1].to_string();
    let next = cli(
        &config,
        &s.clock,
        &[
            "audit", "list", "--limit", "2", "--before", &before, "--json",
        ],
    )
    .await;
    assert_eq!(
        ids(&serde_json::from_str(&next.unwrap()).unwrap()),
        all_ids[2..]
    );

    // Text: one tab-separated line per event.
    let text = cli(
        &config,
        &s.clock,
        &["audit", "list", "--type", "consent.given"],
    )
    .await
    .unwrap();
    let fields: Vec<&str> = text.trim_end().split('\t').collect();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(fields[2], "consent.given");
    assert!(fields[3].starts_with("user:"), "{text}");
    assert_eq!(fields[5], "partner");
    assert_eq!(fields[7], "127.0.0.1");

    for bad in [
        &["audit", "list", "--type", "sign_in"][..],
        &["audit", "list", "--since", "yesterday"],
        &["audit", "list", "--limit", "0"],
    ] {
        let err = cli(&config, &s.clock, bad).await.unwrap_err();
        assert!(err.contains("invalid value"), "{bad:?}: {err}");
    }
}
