//! The invariants of accounts, sessions, sign-in throttling and keys, each raced by many requests
//! at once over two server instances sharing one database, on SQLite and PostgreSQL (the grants'
//! invariants are in `invariants.rs`).

use std::collections::HashSet;

use auth_core::Alg;
use auth_server::domain::keys::{RevocationOutcome, RotationOutcome};
use tests::oauth::{Agent, Pkce, WebClientOptions, first_party};
use tests::replicas::{PARALLEL, assert_all_dead, pick, replicas, replicas_with};
use tests::sso_support::{
    PW, assert_error_page, assert_invalid_grant, has_session, on_consent_page, refs, tokens,
    wrong_guess,
};
use tests::{Backend, TestServer, decode_segment};

tests::on_both_backends!(
    parallel_guesses_on_two_replicas_cannot_outrun_the_limit,
    a_key_is_created_once_per_algorithm_and_generation,
    a_key_is_revoked_once_and_a_successor_signs,
    the_migrations_create_an_index_for_every_lookup_path,
    sessions_per_user_are_capped_under_a_sign_in_stampede,
    no_sign_in_with_the_old_password_outlives_a_new_one,
    a_consent_page_is_answered_once,
);

/// Sign-ins in flight count against the throttle until they succeed: not what these tests are
/// about, so the limits are lifted where many correct sign-ins run at once.
fn lift_throttle(c: &mut auth_server::config::Config) {
    c.login.max_failures_per_account = 1000;
    c.login.max_failures_per_address = 1000;
    c.login.max_failures_per_pair = 1000;
}

/// `PARALLEL` wrong passwords for one account at once, over both replicas: no more than the limit
/// (5) are checked, the rest are refused as locked out without a password check.
async fn parallel_guesses_on_two_replicas_cannot_outrun_the_limit(backend: Backend) {
    let servers = replicas(backend).await;
    servers.0.user("ann", PW).await;
    let app = servers
        .0
        .web_client("app", WebClientOptions::default())
        .await;
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let s = pick(&servers, i);
        let url = s.authorize_url(&app, &Pkce::new(), "openid", &[]);
        tasks.push(tokio::spawn(
            async move { wrong_guess(&s, &url, "ann").await },
        ));
    }
    let (mut checked, mut locked) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            401 => checked += 1,
            429 => locked += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    // Exactly the limit: the guarded count lets the first five through, never fewer.
    assert_eq!(checked, 5, "{checked} guesses were checked");
    assert_eq!(checked + locked, PARALLEL);
}

/// When a rotation falls due, `PARALLEL` maintenance runs at once over both replicas create exactly
/// one new key per algorithm.
async fn a_key_is_created_once_per_algorithm_and_generation(backend: Backend) {
    let servers = replicas(backend).await;
    // keys.rotation_period_secs is 30 days.
    servers.0.clock.advance(31 * 86_400);
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let s = pick(&servers, i);
        tasks.push(tokio::spawn(
            async move { s.app.keys.maintain().await.unwrap() },
        ));
    }
    let mut created = Vec::new();
    for t in tasks {
        for (alg, outcome) in t.await.unwrap() {
            if let RotationOutcome::Created { generation, .. } = outcome {
                created.push((alg, generation));
            }
        }
    }
    created.sort_by_key(|(alg, g)| (alg.as_str(), *g));
    assert_eq!(created, vec![(Alg::Es256, 2), (Alg::Rs256, 2)]);
    let keys = servers.0.app.store.list_keys().await.unwrap();
    let mut seen = HashSet::new();
    for k in &keys {
        assert!(
            seen.insert((k.alg.clone(), k.generation)),
            "{} {}",
            k.alg,
            k.generation
        );
    }
    assert_eq!(keys.len(), 4);
}

/// Every lookup path that enforces an invariant or purges old state has an index, on both databases.
async fn the_migrations_create_an_index_for_every_lookup_path(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement};
    let s = TestServer::start(backend).await;
    let db = s.app.store.conn();
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index'",
        Backend::Postgres => "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'",
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    let names: HashSet<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect();
    for wanted in [
        "idx_sso_sessions_user",
        "idx_sso_sessions_expires",
        "idx_authorization_codes_session",
        "idx_authorization_codes_user",
        "idx_authorization_codes_expires",
        "idx_token_families_session",
        "idx_token_families_user",
        "idx_token_families_expires",
        "idx_refresh_tokens_family",
        "idx_refresh_tokens_expires",
        "idx_revoked_access_tokens_expires",
        "idx_revoked_access_tokens_seq",
        "idx_revoked_subjects_seq",
        "idx_login_failures_window",
    ] {
        assert!(names.contains(wanted), "missing index {wanted}: {names:?}");
    }
}

/// A user has at most `sessions.max_per_user` live sessions: `PARALLEL` sign-ins at once over both
/// replicas leave no more than the cap, the newest sign-in always keeps its session, and an ended
/// session's grants end with it.
async fn sessions_per_user_are_capped_under_a_sign_in_stampede(backend: Backend) {
    const CAP: u64 = 3;
    let servers = replicas_with(backend, |c| {
        c.sessions.max_per_user = CAP;
        lift_throttle(c);
    })
    .await;
    let a = servers.0.clone();
    let sub = a.user("alice", PW).await;
    let app = a.web_client("app", first_party().always_refresh()).await;
    // The first session, with a grant that lives only as long as it.
    let mut first = Agent::new();
    let grant = tokens(&a, &mut first, &app, "openid", "alice").await;
    // A second later: the first session is the oldest (sessions of the same second are ordered by
    // their random id).
    a.clock.advance(1);
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, app) = (pick(&servers, i), app.clone());
        tasks.push(tokio::spawn(async move {
            let mut b = Agent::new();
            s.code_for(&mut b, &app, &Pkce::new(), "openid", "alice", PW)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let now = tests::now(&a.clock);
    let live = a
        .app
        .store
        .live_sessions_beyond(&sub, "", now, 0)
        .await
        .unwrap();
    assert!(
        (1..=CAP as usize).contains(&live.len()),
        "{} live sessions",
        live.len()
    );
    // The oldest session is over, and its grant with it.
    assert!(!tests::sso_support::has_session(&a, &mut first, &app).await);
    assert_all_dead(&servers, &app, &[grant], "the first session's grant").await;
    // A new sign-in always keeps its own session.
    let mut last = Agent::new();
    a.code_for(&mut last, &app, &Pkce::new(), "openid", "alice", PW)
        .await;
    assert!(tests::sso_support::has_session(&a, &mut last, &app).await);
}

/// `PARALLEL` revocations of one signing key at once over both replicas (an operator's double
/// click, two operators): exactly one revokes it and creates one successor, the others find it
/// revoked; both replicas sign with the successor after their reload.
async fn a_key_is_revoked_once_and_a_successor_signs(backend: Backend) {
    let servers = replicas(backend).await;
    let (a, b) = (servers.0.clone(), servers.1.clone());
    let (id, secret) = a
        .client("svc", Alg::Es256, &["s"], &["https://api.test"])
        .await;
    let token = a.cc_token(&id, &secret, "").await;
    let kid = decode_segment(token["access_token"].as_str().unwrap(), 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, kid) = (pick(&servers, i), kid.clone());
        tasks.push(tokio::spawn(async move {
            s.app.keys.revoke(&kid).await.unwrap()
        }));
    }
    let mut successors = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            RevocationOutcome::Revoked { successor, .. } => successors.push(successor),
            RevocationOutcome::AlreadyRevoked => {}
            RevocationOutcome::NotFound => panic!("the key exists"),
        }
    }
    assert_eq!(successors.len(), 1, "{successors:?}");
    let successor = successors[0]
        .clone()
        .expect("a successor for a signing key");
    let keys = a.app.store.list_keys().await.unwrap();
    assert_eq!(
        keys.iter().filter(|k| k.alg == "ES256").count(),
        2,
        "one successor, not one per request"
    );
    for s in [&a, &b] {
        s.app.keys.reload().await.unwrap();
        let t = s.cc_token(&id, &secret, "").await;
        assert_eq!(
            decode_segment(t["access_token"].as_str().unwrap(), 0)["kid"],
            successor.as_str()
        );
    }
}

/// `PARALLEL` sign-ins with the old password over both replicas while a new password is set: none
/// of them outlives the change. Those that finished first have their session ended (and their codes
/// redeem to nothing); those that come after are refused, even when their password check began
/// before the change.
async fn no_sign_in_with_the_old_password_outlives_a_new_one(backend: Backend) {
    let servers = replicas_with(backend, lift_throttle).await;
    let a = servers.0.clone();
    a.user("alice", PW).await;
    let app = a.web_client("app", first_party()).await;
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, app) = (pick(&servers, i), app.clone());
        tasks.push(tokio::spawn(async move {
            let mut agent = Agent::new();
            let pkce = Pkce::new();
            let page = agent
                .get(&s.authorize_url(&app, &pkce, "openid", &[]))
                .await;
            let done = s.sign_in(&mut agent, &page, "alice", PW).await;
            (agent, done.location_param("code"), pkce, done.status)
        }));
    }
    let users = servers.1.app.users.clone();
    users
        .set_password("alice", "a brand new password".into())
        .await
        .unwrap();
    for t in tasks {
        let (mut agent, code, pkce, status) = t.await.unwrap();
        assert!(matches!(status, 303 | 401), "{status}");
        assert!(
            !has_session(&a, &mut agent, &app).await,
            "a session started with the old password is still live"
        );
        if let Some(code) = code {
            assert_invalid_grant(&a.redeem(&app, &code, &pkce.verifier).await);
        }
    }
}

/// `PARALLEL` answers to one consent page at once (the same browser in many tabs, over both
/// replicas): exactly one gets a code, because the page's ticket is taken by one conditional update.
async fn a_consent_page_is_answered_once(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (browser, _partner, consent) = on_consent_page(&a).await;
    let fields = consent.hidden_fields();
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (mut tab, fields) = (browser.clone(), fields.clone());
        let action = format!("{}/consent", pick(&servers, i).base);
        tasks.push(tokio::spawn(async move {
            let mut pairs = refs(&fields);
            pairs.push(("decision", "allow"));
            tab.post(&action, &pairs).await
        }));
    }
    let mut codes = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 303 {
            assert!(r.location_param("code").is_some(), "{:?}", r.location());
            codes += 1;
        } else {
            assert_error_page(&r, 400);
        }
    }
    assert_eq!(codes, 1);
}
