//! What the admin API's user changes do to grants, on SQLite and PostgreSQL: a deleted user leaves
//! no row behind and their tokens stop working; disabling a user or setting their password while
//! sign-ins run on two replicas leaves no live session.

use std::sync::Arc;

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tests::admin::{ADMIN_SCOPES, AdminServer};
use tests::oauth::{Agent, Pkce, WebClientOptions, first_party};
use tests::replicas::PARALLEL;
use tests::sso_support::{
    OFFLINE, PW, assert_invalid_grant, consent_page, decide, field, has_session, inactive, tokens,
};
use tests::{Backend, TestServer, decode_segment};

tests::on_both_backends!(
    deleting_a_user_leaves_none_of_their_rows_and_ends_their_tokens,
    no_session_outlives_a_disable_through_the_api,
    no_session_outlives_a_new_password_through_the_api,
);

/// `SELECT COUNT(*) FROM table WHERE column IN (values)`.
async fn count(s: &TestServer, table: &str, column: &str, values: &[String]) -> i64 {
    if values.is_empty() {
        return 0;
    }
    let db = s.app.store.conn();
    let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    let sql = format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE {column} IN ({})",
        list.join(", ")
    );
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// The ids in `column` of the rows of `table` whose `user_id` is `user`.
async fn ids(s: &TestServer, table: &str, column: &str, user: &str) -> Vec<String> {
    let db = s.app.store.conn();
    let sql = format!("SELECT {column} AS id FROM {table} WHERE user_id = '{user}'");
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "id").unwrap())
        .collect()
}

/// How many rows each table holds for `user`.
async fn rows_of(s: &TestServer, user: &str) -> Vec<(&'static str, i64)> {
    let me = vec![user.to_owned()];
    let sessions = ids(s, "sso_sessions", "id", user).await;
    let families = ids(s, "token_families", "id", user).await;
    vec![
        ("users", count(s, "users", "id", &me).await),
        (
            "sso_sessions",
            count(s, "sso_sessions", "user_id", &me).await,
        ),
        (
            "authorization_codes",
            count(s, "authorization_codes", "user_id", &me).await,
        ),
        ("token_families", families.len() as i64),
        (
            "refresh_tokens",
            count(s, "refresh_tokens", "family_id", &families).await,
        ),
        ("consents", count(s, "consents", "user_id", &me).await),
        (
            "pending_consents",
            count(s, "pending_consents", "session_id", &sessions).await,
        ),
    ]
}

async fn deleting_a_user_leaves_none_of_their_rows_and_ends_their_tokens(backend: Backend) {
    let admin = AdminServer::start(backend).await;
    let s = &admin.s;
    let token = admin.token("ops", ADMIN_SCOPES).await;
    let alice = s.user("alice", PW).await;
    let bob = s.user("bob", PW).await;
    let app = s.web_client("app", first_party()).await;
    let partner = s.web_client("partner", WebClientOptions::default()).await;
    // Alice: an offline grant, and a consent to a third party (with its pending page answered).
    let mut browser = Agent::new();
    let grant = tokens(s, &mut browser, &app, OFFLINE, "alice").await;
    let mut other = Agent::new();
    let page = consent_page(s, &mut other, &partner, "openid email", "alice").await;
    let allowed = decide(s, &mut other, &page, "allow").await;
    assert!(
        allowed.location_param("code").is_some(),
        "{:?}",
        allowed.location()
    );
    let kept = tokens(s, &mut Agent::new(), &app, OFFLINE, "bob").await;
    let before = rows_of(s, &alice).await;
    for (table, n) in &before {
        assert!(
            *n > 0,
            "alice has no row in {table}: the test proves nothing"
        );
    }
    let bob_before = rows_of(s, &bob).await;

    admin
        .expect(
            Method::DELETE,
            &format!("/users/{alice}"),
            &token,
            None,
            204,
        )
        .await;

    for (table, n) in rows_of(s, &alice).await {
        assert_eq!(n, 0, "a deleted user's rows remain in {table}");
    }
    assert_eq!(
        rows_of(s, &bob).await,
        bob_before,
        "another user's rows were touched"
    );
    // Her refresh token stops working, her access token is inactive and listed in the feed, with
    // a cut-off for her subject.
    let rt = field(&grant, "refresh_token");
    assert_invalid_grant(&s.refresh(&app, &rt, None).await);
    assert_eq!(s.introspect(&app, &rt).await, inactive());
    let access = field(&grant, "access_token");
    assert_eq!(s.introspect(&app, &access).await, inactive());
    let feed: Value = s.get_json("/revocations").await;
    let jti = decode_segment(&access, 1)["jti"].clone();
    assert!(
        feed["revoked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["jti"] == jti),
        "{feed}"
    );
    assert!(
        feed["revoked_subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["sub"] == alice.as_str()),
        "{feed}"
    );
    assert!(!has_session(s, &mut browser, &app).await);
    // Bob's grant is untouched.
    let (status, body) = s.refresh(&app, &field(&kept, "refresh_token"), None).await;
    assert_eq!(status, 200, "{body}");
}

/// Sign-ins in flight count against the throttle until they succeed: lifted here.
fn lift_throttle(c: &mut auth_server::config::Config) {
    c.login.max_failures_per_account = 1000;
    c.login.max_failures_per_address = 1000;
    c.login.max_failures_per_pair = 1000;
    c.database.max_connections = 16;
}

async fn no_session_outlives_a_disable_through_the_api(backend: Backend) {
    race_sign_ins_against(backend, Method::POST, "disable", None, true).await;
}

async fn no_session_outlives_a_new_password_through_the_api(backend: Backend) {
    let body = json!({"password": "a brand new password"});
    // Hashing the new password delays the change already: it is sent at once.
    race_sign_ins_against(backend, Method::PUT, "password", Some(body), false).await;
}

/// `PARALLEL` sign-ins of alice with her password over two replicas, and `method
/// /users/{alice}/<action>` on the first one's admin API meanwhile (`after_first`: as soon as one
/// of them has finished): afterwards none of them has a live
/// session, their codes redeem to nothing, the API lists no session, and the change has exactly
/// one audit event.
async fn race_sign_ins_against(
    backend: Backend,
    method: Method,
    action: &str,
    body: Option<Value>,
    after_first: bool,
) {
    let a = TestServer::start_with(backend, lift_throttle).await;
    let issuer = a.base.clone();
    let b = TestServer::start_on(&a.db_url, &a.db_name, a.clock.clone(), move |c| {
        c.server.issuer = issuer;
        lift_throttle(c);
    })
    .await;
    let admin = Arc::new(AdminServer::on(a).await);
    let b = Arc::new(b);
    let token = admin.token("ops", ADMIN_SCOPES).await;
    let alice = admin.s.user("alice", PW).await;
    let app = admin.s.web_client("app", first_party()).await;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (admin, b, app, done) = (admin.clone(), b.clone(), app.clone(), done_tx.clone());
        tasks.push(tokio::spawn(async move {
            let s: &TestServer = if i % 2 == 0 { &admin.s } else { &b };
            let mut agent = Agent::new();
            let pkce = Pkce::new();
            let page = agent
                .get(&s.authorize_url(&app, &pkce, "openid", &[]))
                .await;
            let answer = s.sign_in(&mut agent, &page, "alice", PW).await;
            let _ = done.send(());
            (agent, answer.location_param("code"), pkce, answer.status)
        }));
    }
    if after_first {
        // Once the first sign-in has finished, while the others are in flight.
        done_rx.recv().await;
    }
    let path = format!("/users/{alice}/{action}");
    let res = admin.call(method, &path, Some(&token), body.as_ref()).await;
    assert!(res.status().is_success(), "{}", res.status());
    let mut signed_in = 0;
    for t in tasks {
        let (mut agent, code, pkce, status) = t.await.unwrap();
        assert!(matches!(status, 303 | 401), "{status}");
        signed_in += usize::from(status == 303);
        assert!(
            !has_session(&admin.s, &mut agent, &app).await,
            "a session started before the change is still live"
        );
        if let Some(code) = code {
            assert_invalid_grant(&admin.s.redeem(&app, &code, &pkce.verifier).await);
        }
    }
    eprintln!("{action}: {signed_in} of {PARALLEL} sign-ins got a session before the change");
    let listed = admin
        .expect(
            Method::GET,
            &format!("/users/{alice}/sessions"),
            &token,
            None,
            200,
        )
        .await;
    assert_eq!(listed, json!({"sessions": []}));
    let events = crate::admin_users::events(&admin).await;
    let wanted = if action == "disable" {
        "user.disabled"
    } else {
        "password.changed"
    };
    assert_eq!(
        events.iter().filter(|e| e.event_type == wanted).count(),
        1,
        "{events:?}"
    );
}
