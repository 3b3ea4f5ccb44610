//! The security invariants of the README's security model, each raced by many requests at once
//! (at least 16), spread over two server instances sharing one database, on SQLite and PostgreSQL.
//! SQLite serialises every write and hides races; PostgreSQL's READ COMMITTED does not, so these
//! are the tests that prove the conditional updates and row locks in the store.

use std::collections::HashSet;
use std::sync::Arc;

use auth_core::Alg;
use auth_server::domain::keys::RotationOutcome;
use serde_json::Value;
use tests::oauth::{Agent, Pkce, WebClient, WebClientOptions, first_party};
use tests::sso_support::{OFFLINE, PW, assert_error, field, inactive, tokens};
use tests::{Backend, TestServer, decode_segment};

tests::on_both_backends!(
    concurrent_refreshes_leave_one_live_refresh_token,
    a_code_is_redeemed_at_most_once_under_a_stampede,
    no_access_token_escapes_a_refresh_token_revocation,
    no_access_token_escapes_a_logout,
    no_access_token_escapes_a_password_change,
    no_access_token_escapes_a_disabled_user,
    a_password_change_ends_grants_whose_session_was_purged,
    disable_and_enable_ends_grants_whose_session_was_purged,
    parallel_guesses_on_two_replicas_cannot_outrun_the_limit,
    a_key_is_created_once_per_algorithm_and_generation,
    the_migrations_create_an_index_for_every_lookup_path,
    sessions_per_user_are_capped_under_a_sign_in_stampede,
);

/// How many requests each race sends at once.
const PARALLEL: usize = 24;

/// Two replicas on one database, with one issuer identifier and one clock, and database pools
/// large enough that their transactions really overlap.
async fn replicas(backend: Backend) -> (Arc<TestServer>, Arc<TestServer>) {
    replicas_with(backend, |_| {}).await
}

/// [`replicas`], both configured by `tweak`.
async fn replicas_with(
    backend: Backend,
    tweak: impl Fn(&mut auth_server::config::Config) + Clone + Send + 'static,
) -> (Arc<TestServer>, Arc<TestServer>) {
    let t = tweak.clone();
    let a = TestServer::start_with(backend, move |c| {
        c.database.max_connections = 16;
        t(c);
    })
    .await;
    let issuer = a.base.clone();
    let b = TestServer::start_on(&a.db_url, &a.db_name, a.clock.clone(), move |c| {
        c.server.issuer = issuer;
        c.database.max_connections = 16;
        tweak(c);
    })
    .await;
    (Arc::new(a), Arc::new(b))
}

/// Replica `i % 2`.
fn pick(servers: &(Arc<TestServer>, Arc<TestServer>), i: usize) -> Arc<TestServer> {
    if i.is_multiple_of(2) {
        servers.0.clone()
    } else {
        servers.1.clone()
    }
}

/// Refreshes `rt` `PARALLEL` times at once over both replicas; returns every response.
async fn refresh_stampede(
    servers: &(Arc<TestServer>, Arc<TestServer>),
    app: &WebClient,
    rts: &[String],
) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, app, rt) = (pick(servers, i), app.clone(), rts[i % rts.len()].clone());
        tasks.push(tokio::spawn(
            async move { s.refresh(&app, &rt, None).await },
        ));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// The `jti`s the revocation feeds of both replicas list.
async fn feed(servers: &(Arc<TestServer>, Arc<TestServer>)) -> HashSet<String> {
    let mut jtis = HashSet::new();
    for s in [&servers.0, &servers.1] {
        let body: Value = s.get("/revocations").await.json().await.unwrap();
        for e in body["revoked"].as_array().unwrap() {
            jtis.insert(e["jti"].as_str().unwrap().to_owned());
        }
    }
    jtis
}

/// Every access and refresh token that a successful response gave is dead: refresh tokens inactive
/// and refused, access tokens inactive at introspection and listed in the revocation feed.
async fn assert_all_dead(
    servers: &(Arc<TestServer>, Arc<TestServer>),
    app: &WebClient,
    issued: &[Value],
    what: &str,
) {
    let s = &servers.0;
    let listed = feed(servers).await;
    for t in issued {
        let access = field(t, "access_token");
        let jti = decode_segment(&access, 1)["jti"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            listed.contains(&jti),
            "{what}: an access token issued in the race is missing from the revocation feed"
        );
        assert_eq!(s.introspect(app, &access).await, inactive(), "{what}");
        if let Some(rt) = t["refresh_token"].as_str() {
            assert_eq!(s.introspect(app, rt).await, inactive(), "{what}");
            assert_error(&s.refresh(app, rt, None).await, 400, "invalid_grant");
        }
    }
}

/// `n` grants (refresh-token families) of `user` under one browser session, with `offline_access`.
async fn families(
    s: &TestServer,
    browser: &mut Agent,
    app: &WebClient,
    user: &str,
    n: usize,
) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(tokens(s, browser, app, OFFLINE, user).await);
    }
    out
}

/// A grant has at most one live refresh token: `PARALLEL` refreshes of one token at once, all within
/// the grace window, leave exactly one of the tokens they returned live; the others are retired, and
/// presenting one after the window is a reuse that ends the grant.
async fn concurrent_refreshes_leave_one_live_refresh_token(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    a.user("alice", PW).await;
    let app = a.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let mut rt = field(
        &tokens(&a, &mut browser, &app, OFFLINE, "alice").await,
        "refresh_token",
    );
    let mut retired = Vec::new();
    for round in 0..3 {
        let results = refresh_stampede(&servers, &app, std::slice::from_ref(&rt)).await;
        let mut returned = HashSet::new();
        for (status, body) in &results {
            assert_eq!(
                *status, 200,
                "round {round}: a retry within the grace window: {body}"
            );
            returned.insert(field(body, "refresh_token"));
        }
        assert_eq!(
            returned.len(),
            PARALLEL,
            "round {round}: every token is new"
        );
        let mut live = Vec::new();
        for t in &returned {
            if a.introspect(&app, t).await["active"] == true {
                live.push(t.clone());
            }
        }
        assert_eq!(
            live.len(),
            1,
            "round {round}: {} live refresh tokens in one grant",
            live.len()
        );
        retired.extend(returned.into_iter().filter(|t| *t != live[0]));
        rt = live.remove(0);
        // Every retired token is refused and spends nothing.
        assert_eq!(a.introspect(&app, &retired[0]).await, inactive());
    }
    // Past the grace window, a retired token is a reuse: the whole grant ends.
    a.clock.advance(11);
    assert_error(
        &a.refresh(&app, &retired[5], None).await,
        400,
        "invalid_grant",
    );
    assert_eq!(a.introspect(&app, &rt).await, inactive());
    assert_error(
        &servers.1.refresh(&app, &rt, None).await,
        400,
        "invalid_grant",
    );
}

/// A code is redeemed at most once: `PARALLEL` redemptions of one code at once over both replicas;
/// at most one gets tokens, and since the others are replays, what it got is revoked.
async fn a_code_is_redeemed_at_most_once_under_a_stampede(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    a.user("alice", PW).await;
    let app = a.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    for round in 0..3 {
        let pkce = Pkce::new();
        let code = a
            .code_for(&mut browser, &app, &pkce, OFFLINE, "alice", PW)
            .await;
        let mut tasks = Vec::new();
        for i in 0..PARALLEL {
            let (s, app, code, v) = (
                pick(&servers, i),
                app.clone(),
                code.clone(),
                pkce.verifier.clone(),
            );
            tasks.push(tokio::spawn(async move { s.redeem(&app, &code, &v).await }));
        }
        let mut won = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            if r.0 == 200 {
                won.push(r.1);
            } else {
                assert_error(&r, 400, "invalid_grant");
            }
        }
        assert!(
            won.len() <= 1,
            "round {round}: {} redemptions won",
            won.len()
        );
        assert_all_dead(&servers, &app, &won, &format!("round {round}")).await;
    }
}

/// The race of [`no_access_token_escapes_a_refresh_token_revocation`] and its siblings: while
/// `PARALLEL` refreshes of `rts` run over both replicas, `revoke` runs; afterwards every token
/// the refreshes returned is dead, and the feed lists every access token they returned.
async fn race_refreshes_against<F, Fut>(
    servers: &(Arc<TestServer>, Arc<TestServer>),
    app: &WebClient,
    rts: Vec<String>,
    what: &str,
    revoke: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let revoking = tokio::spawn(revoke());
    let results = refresh_stampede(servers, app, &rts).await;
    revoking.await.unwrap();
    let mut issued = Vec::new();
    for r in results {
        if r.0 == 200 {
            issued.push(r.1);
        } else {
            assert_error(&r, 400, "invalid_grant");
        }
    }
    assert_all_dead(servers, app, &issued, what).await;
    for rt in &rts {
        assert_eq!(servers.0.introspect(app, rt).await, inactive(), "{what}");
    }
}

/// `/revoke` of a refresh token racing refreshes of the same grant.
async fn no_access_token_escapes_a_refresh_token_revocation(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    a.user("alice", PW).await;
    let app = a.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    for round in 0..3 {
        let rt = field(
            &tokens(&a, &mut browser, &app, OFFLINE, "alice").await,
            "refresh_token",
        );
        let (b, app2, rt2) = (servers.1.clone(), app.clone(), rt.clone());
        race_refreshes_against(
            &servers,
            &app,
            vec![rt],
            &format!("round {round}"),
            move || async move {
                let (status, body) = tests::sso_support::revoke(&b, &app2, &rt2, None).await;
                assert_eq!(status, 200, "{body}");
            },
        )
        .await;
    }
}

/// A logout (`id_token_hint`, so it ends the session at once) racing refreshes of the session's
/// grants (without `offline_access`: they live only as long as the session).
async fn no_access_token_escapes_a_logout(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    a.user("alice", PW).await;
    let app = a
        .web_client(
            "app",
            WebClientOptions {
                first_party: true,
                always_refresh: true,
                ..Default::default()
            },
        )
        .await;
    for round in 0..2 {
        let mut browser = Agent::new();
        let mut grants = Vec::new();
        for _ in 0..8 {
            grants.push(tokens(&a, &mut browser, &app, "openid", "alice").await);
        }
        let hint = field(&grants[0], "id_token");
        let rts = grants.iter().map(|g| field(g, "refresh_token")).collect();
        let url = format!("{}/logout?id_token_hint={hint}", servers.1.base);
        race_refreshes_against(
            &servers,
            &app,
            rts,
            &format!("round {round}"),
            move || async move {
                let page = browser.get(&url).await;
                assert_eq!(page.status, 200, "{}", page.body);
            },
        )
        .await;
        // The code grants' access tokens are revoked too.
        assert_all_dead(&servers, &app, &grants, "the grants' first tokens").await;
    }
}

/// A new password racing refreshes of the user's grants, `offline_access` ones included.
async fn no_access_token_escapes_a_password_change(backend: Backend) {
    race_refreshes_against_a_user_change(backend, "password change", |users| async move {
        users
            .set_password("alice", "a brand new password".into())
            .await
            .unwrap();
    })
    .await;
}

/// Disabling the user racing refreshes of their grants; enabling the user again brings no grant
/// back.
async fn no_access_token_escapes_a_disabled_user(backend: Backend) {
    let (servers, app, grants) =
        race_refreshes_against_a_user_change(backend, "user disabled", |users| async move {
            users.set_disabled("alice", true).await.unwrap();
        })
        .await;
    servers
        .0
        .app
        .users
        .set_disabled("alice", false)
        .await
        .unwrap();
    assert_all_dead(&servers, &app, &grants, "after enabling again").await;
}

/// Eight grants of alice refreshed over both replicas while `change` runs on replica B; then every
/// token of the race and every grant's first tokens are dead. Returns the replicas, the client and
/// the grants, for more checks.
async fn race_refreshes_against_a_user_change<F, Fut>(
    backend: Backend,
    what: &str,
    change: F,
) -> ((Arc<TestServer>, Arc<TestServer>), WebClient, Vec<Value>)
where
    F: FnOnce(auth_server::domain::users::Users) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    a.user("alice", PW).await;
    let app = a.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let grants = families(&a, &mut browser, &app, "alice", 8).await;
    let rts = grants.iter().map(|g| field(g, "refresh_token")).collect();
    let users = servers.1.app.users.clone();
    race_refreshes_against(&servers, &app, rts, what, move || change(users)).await;
    assert_all_dead(&servers, &app, &grants, "the grants' first tokens").await;
    (servers, app, grants)
}

/// An `offline_access` grant whose sign-in session has timed out and been purged: refreshing it
/// still works (that is what offline access is), and returns `(servers, app, tokens)`.
async fn grant_outliving_its_session(
    backend: Backend,
) -> ((Arc<TestServer>, Arc<TestServer>), WebClient, Value) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    a.user("alice", PW).await;
    let app = a.web_client("app", first_party()).await;
    let mut browser = Agent::new();
    let t = tokens(&a, &mut browser, &app, OFFLINE, "alice").await;
    // sessions.absolute_timeout_secs is 10 hours; refresh tokens live 14 days idle.
    a.clock.advance(11 * 3600);
    a.app
        .store
        .purge_expired(tests::now(&a.clock))
        .await
        .unwrap();
    let (status, t) = a.refresh(&app, &field(&t, "refresh_token"), None).await;
    assert_eq!(status, 200, "offline access outlives the session: {t}");
    (servers, app, t)
}

async fn a_password_change_ends_grants_whose_session_was_purged(backend: Backend) {
    let (servers, app, t) = grant_outliving_its_session(backend).await;
    servers
        .1
        .app
        .users
        .set_password("alice", "a brand new password".into())
        .await
        .unwrap();
    assert_all_dead(&servers, &app, &[t], "after a new password").await;
}

async fn disable_and_enable_ends_grants_whose_session_was_purged(backend: Backend) {
    let (servers, app, t) = grant_outliving_its_session(backend).await;
    let users = &servers.1.app.users;
    users.set_disabled("alice", true).await.unwrap();
    users.set_disabled("alice", false).await.unwrap();
    assert_all_dead(&servers, &app, &[t], "after disable and enable").await;
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
        tasks.push(tokio::spawn(async move {
            let mut b = Agent::new();
            let page = b.get(&url).await;
            s.sign_in(&mut b, &page, "ann", "wrong password")
                .await
                .status
        }));
    }
    let (mut checked, mut locked) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            401 => checked += 1,
            429 => locked += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(checked <= 5, "{checked} guesses were checked");
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
        // Sign-ins in flight count against the throttle until they succeed: not what this tests.
        c.login.max_failures_per_account = 1000;
        c.login.max_failures_per_address = 1000;
        c.login.max_failures_per_pair = 1000;
    })
    .await;
    let a = servers.0.clone();
    let sub = a.user("alice", PW).await;
    let app = a
        .web_client(
            "app",
            WebClientOptions {
                first_party: true,
                always_refresh: true,
                ..Default::default()
            },
        )
        .await;
    // The first session, with a grant that lives only as long as it.
    let mut first = Agent::new();
    let grant = tokens(&a, &mut first, &app, "openid", "alice").await;
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
