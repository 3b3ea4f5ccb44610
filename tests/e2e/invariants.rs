//! The security invariants of the README's security model, each raced by many requests at once
//! (at least 16), spread over two server instances sharing one database, on SQLite and PostgreSQL.
//! SQLite serialises every write and hides races; PostgreSQL's READ COMMITTED does not, so these
//! are the tests that prove the conditional updates and row locks in the store.

use std::collections::HashSet;

use serde_json::Value;
use tests::Backend;
use tests::fixture::alice_at_app;
use tests::oauth::{Agent, Pkce, WebClient, first_party};
use tests::replicas::{
    PARALLEL, Replicas, assert_all_dead, families, pick, race_refreshes_against, refresh_stampede,
    replicas,
};
use tests::sso_support::{
    OFFLINE, PW, alice_offline, assert_invalid_grant, field, inactive, tokens,
};

tests::on_both_backends!(
    concurrent_refreshes_leave_one_live_refresh_token,
    a_code_is_redeemed_at_most_once_under_a_stampede,
    no_access_token_escapes_a_refresh_token_revocation,
    no_access_token_escapes_a_logout,
    no_access_token_escapes_a_password_change,
    no_access_token_escapes_a_disabled_user,
    a_password_change_ends_grants_whose_session_was_purged,
    disable_and_enable_ends_grants_whose_session_was_purged,
);

/// A grant has at most one live refresh token: `PARALLEL` refreshes of one token at once, all within
/// the grace window, leave exactly one of the tokens they returned live; the others are retired, and
/// presenting one after the window is a reuse that ends the grant.
async fn concurrent_refreshes_leave_one_live_refresh_token(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (app, mut browser) = alice_at_app(&a).await;
    let mut rt = alice_offline(&a, &mut browser, &app).await;
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
    assert_invalid_grant(&a.refresh(&app, &retired[5], None).await);
    assert_eq!(a.introspect(&app, &rt).await, inactive());
    assert_invalid_grant(&servers.1.refresh(&app, &rt, None).await);
}

/// A code is redeemed at most once: `PARALLEL` redemptions of one code at once over both replicas;
/// at most one gets tokens, and since the others are replays, what it got is revoked.
async fn a_code_is_redeemed_at_most_once_under_a_stampede(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (app, mut browser) = alice_at_app(&a).await;
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
                assert_invalid_grant(&r);
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

/// `/revoke` of a refresh token racing refreshes of the same grant.
async fn no_access_token_escapes_a_refresh_token_revocation(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (app, mut browser) = alice_at_app(&a).await;
    for round in 0..3 {
        let rt = alice_offline(&a, &mut browser, &app).await;
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
    let app = a.web_client("app", first_party().always_refresh()).await;
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
) -> (Replicas, WebClient, Vec<Value>)
where
    F: FnOnce(auth_server::domain::users::Users) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (app, mut browser) = alice_at_app(&a).await;
    let grants = families(&a, &mut browser, &app, "alice", 8).await;
    let rts = grants.iter().map(|g| field(g, "refresh_token")).collect();
    let users = servers.1.app.users.clone();
    race_refreshes_against(&servers, &app, rts, what, move || change(users)).await;
    assert_all_dead(&servers, &app, &grants, "the grants' first tokens").await;
    (servers, app, grants)
}

/// An `offline_access` grant whose sign-in session has timed out and been purged: refreshing it
/// still works (that is what offline access is), and returns `(servers, app, tokens)`.
async fn grant_outliving_its_session(backend: Backend) -> (Replicas, WebClient, Value) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (app, mut browser) = alice_at_app(&a).await;
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
