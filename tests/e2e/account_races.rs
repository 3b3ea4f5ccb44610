//! The account page's invariants under concurrency, raced over two server instances sharing one
//! database, on SQLite and PostgreSQL: a withdrawn consent, a new password and an ended session each
//! leave nothing live that they should have ended, whatever refreshes and code redemptions run at
//! the same time.

use serde_json::Value;
use tests::oauth::{Agent, Pkce, first_party};
use tests::replicas::{
    PARALLEL, Replicas, assert_all_dead, families, pick, race_refreshes_against, replicas,
};
use tests::sso_support::{OFFLINE, PW, assert_error, field, has_session};
use tests::{Backend, TestServer};

use crate::account::{account_page, account_sign_in, listed_sessions, post_account};
use crate::account_apps::erin_at_partner;

tests::on_both_backends!(
    a_withdrawn_consent_leaves_no_live_grant_at_that_app,
    a_new_password_leaves_no_grant_from_before_it,
    an_ended_session_leaves_nothing_live_from_it,
);

/// No live grant of `user_id` at `client_id` (or at any client when `None`) in the database.
async fn assert_no_live_grant(s: &TestServer, user_id: &str, client_id: Option<&str>) {
    let now = tests::now(&s.clock);
    let live = s.app.store.live_grants_of(user_id, now).await.unwrap();
    assert!(
        live.iter()
            .all(|g| client_id.is_some_and(|c| g.client_id != c)),
        "live grants left: {live:?}"
    );
}

/// Redeems `codes` at once over both replicas; returns the token responses that succeeded
/// (the others must be `invalid_grant`).
fn redeem_all(
    servers: &Replicas,
    app: &tests::oauth::WebClient,
    codes: Vec<(Pkce, String)>,
) -> tokio::task::JoinHandle<Vec<Value>> {
    let (servers, app) = (servers.clone(), app.clone());
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for (i, (pkce, code)) in codes.into_iter().enumerate() {
            let (s, app) = (pick(&servers, i), app.clone());
            tasks.push(tokio::spawn(async move {
                s.redeem(&app, &code, &pkce.verifier).await
            }));
        }
        let mut issued = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            if r.0 == 200 {
                issued.push(r.1);
            } else {
                assert_error(&r, 400, "invalid_grant");
            }
        }
        issued
    })
}

/// Erin withdraws `partner` on replica B while `PARALLEL` refreshes of her grants and redemptions
/// of codes issued before the withdrawal run over both replicas: afterwards every token any of them
/// returned is dead, and the database holds no live grant of hers at `partner`.
async fn a_withdrawn_consent_leaves_no_live_grant_at_that_app(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let (mut browser, partner, first) = erin_at_partner(&a).await;
    let sub = a.app.users.find("erin").await.unwrap().unwrap().id;
    let mut grants = families(&a, &mut browser, &partner, "erin", 3).await;
    grants.push(first.raw.clone());
    let rts: Vec<String> = grants.iter().map(|t| field(t, "refresh_token")).collect();
    let mut codes = Vec::new();
    for _ in 0..8 {
        let pkce = Pkce::new();
        let code = a
            .code_for(&mut browser, &partner, &pkce, OFFLINE, "erin", PW)
            .await;
        codes.push((pkce, code));
    }
    let page = account_page(&a, &mut browser).await;
    let redeeming = redeem_all(&servers, &partner, codes);
    let b = servers.1.clone();
    race_refreshes_against(
        &servers,
        &partner,
        rts,
        "withdrawn consent",
        move || async move {
            let r = post_account(
                &b,
                &mut browser,
                &page,
                "/account/consents/withdraw",
                &[("client", "partner")],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
        },
    )
    .await;
    let issued = redeeming.await.unwrap();
    assert_all_dead(
        &servers,
        &partner,
        &issued,
        "a code redeemed during the withdrawal",
    )
    .await;
    assert_all_dead(
        &servers,
        &partner,
        &grants,
        "a grant from before the withdrawal",
    )
    .await;
    assert_no_live_grant(&a, &sub, Some("partner")).await;
    assert!(a.app.store.consents_of(&sub).await.unwrap().is_empty());
}

/// Alice changes her password on the account page (replica B) while `PARALLEL` refreshes of the
/// grants of her other session run over both replicas: afterwards every token they returned is
/// dead, the other session has ended, no grant of hers is live, and her account-page session stays.
async fn a_new_password_leaves_no_grant_from_before_it(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let sub = a.user("alice", PW).await;
    let app = a.web_client("app", first_party()).await;
    let mut laptop = Agent::new();
    let grants = families(&a, &mut laptop, &app, "alice", 4).await;
    let rts: Vec<String> = grants.iter().map(|t| field(t, "refresh_token")).collect();
    let mut phone = Agent::new();
    account_sign_in(&a, &mut phone, "alice", PW).await;
    let page = account_page(&a, &mut phone).await;
    let (b, mut tab) = (servers.1.clone(), phone.clone());
    race_refreshes_against(&servers, &app, rts, "new password", move || async move {
        let new = "the new password";
        let fields = [
            ("current_password", PW),
            ("new_password", new),
            ("repeat_password", new),
        ];
        let r = post_account(&b, &mut tab, &page, "/account/password", &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
    })
    .await;
    assert_all_dead(
        &servers,
        &app,
        &grants,
        "a grant from before the new password",
    )
    .await;
    assert!(!has_session(&a, &mut laptop, &app).await);
    assert_no_live_grant(&a, &sub, None).await;
    account_page(&a, &mut phone).await;
}

/// Alice ends her laptop's session from the account page (replica B) while `PARALLEL` codes issued
/// under it are redeemed over both replicas: afterwards every token a redemption returned is dead,
/// the session has ended, and no grant of hers is live.
async fn an_ended_session_leaves_nothing_live_from_it(backend: Backend) {
    let servers = replicas(backend).await;
    let a = servers.0.clone();
    let sub = a.user("alice", PW).await;
    let app = a.web_client("app", first_party().always_refresh()).await;
    let mut laptop = Agent::new();
    let mut codes = Vec::new();
    for _ in 0..PARALLEL {
        let pkce = Pkce::new();
        let code = a
            .code_for(&mut laptop, &app, &pkce, "openid", "alice", PW)
            .await;
        codes.push((pkce, code));
    }
    let mut phone = Agent::new();
    account_sign_in(&a, &mut phone, "alice", PW).await;
    let page = account_page(&a, &mut phone).await;
    let (ids, current) = listed_sessions(&page);
    let laptop_session = ids
        .into_iter()
        .find(|i| Some(i) != current.as_ref())
        .unwrap();
    let redeeming = redeem_all(&servers, &app, codes);
    let (b, mut tab) = (servers.1.clone(), phone.clone());
    let ending = tokio::spawn(async move {
        let r = post_account(
            &b,
            &mut tab,
            &page,
            "/account/sessions/end",
            &[("session", &laptop_session)],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
    });
    let issued = redeeming.await.unwrap();
    ending.await.unwrap();
    assert_all_dead(
        &servers,
        &app,
        &issued,
        "a code redeemed while its session ended",
    )
    .await;
    assert!(!has_session(&a, &mut laptop, &app).await);
    assert_no_live_grant(&a, &sub, None).await;
    account_page(&a, &mut phone).await;
}
