//! The invariant of token exchange under concurrency, on two replicas sharing one database:
//! no token exchanged from a subject token outlives the subject token's revocation. Before the
//! revocation every exchange succeeds; exchanges racing it either fail or issue a token that the
//! revocation reaches (inactive, listed in the revocation feed); after it has committed, no
//! exchange succeeds on either replica.

use serde_json::{Value, json};
use tests::oauth::{Agent, WebClient};
use tests::replicas::{PARALLEL, Replicas, feed, pick, replicas};
use tests::sso_support::revoke;
use tests::texch::{
    INVENTORY, ORDERS, Policy, exchange, register_exchanger, set_exchange_policy,
    user_access_token, user_app,
};
use tests::{Backend, TestServer};

use crate::texch_flow::SCOPES;

tests::on_both_backends!(no_exchanged_token_outlives_its_subject_token_revocation);
tests::on_both_backends!(no_token_exchanged_by_a_deleted_client_survives_the_deletion);
tests::on_both_backends!(an_exchange_checked_against_a_replaced_policy_is_not_recorded);
tests::on_both_backends!(a_deletion_and_a_revocation_reaching_the_same_tokens_both_commit);
tests::on_both_backends!(a_cut_off_that_revokes_the_subject_token_revokes_its_exchanges);

/// Orders may exchange tokens addressed to it for inventory tokens with `inventory:reserve`.
fn reserve_policy() -> Policy<'static> {
    Policy::delegation(&[ORDERS], &[INVENTORY], &["inventory:reserve"])
}

/// On `s`: the shop app, alice's access token from it for the orders service (`openid
/// inventory:reserve`), and `orders` under [`reserve_policy`].
async fn shop_and_orders(s: &TestServer) -> (WebClient, String, WebClient) {
    let app = user_app(s, "shop", SCOPES, &[ORDERS]).await;
    let token = user_access_token(s, &mut Agent::new(), &app, "openid inventory:reserve").await;
    let orders = register_exchanger(s, "orders", &reserve_policy()).await;
    (app, token, orders)
}

/// `PARALLEL` exchanges of `token` as `client` at once, spread over both replicas.
async fn stampede(servers: &Replicas, client: &WebClient, token: &str) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for i in 0..PARALLEL {
        let (s, client, token) = (pick(servers, i), client.clone(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            exchange(&s, &client, &token, &[("resource", INVENTORY)]).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn access_token(r: &(u16, Value)) -> String {
    r.1["access_token"].as_str().unwrap().to_owned()
}

async fn no_exchanged_token_outlives_its_subject_token_revocation(backend: Backend) {
    let servers = replicas(backend).await;
    let s = servers.0.clone();
    let (app, token, orders) = shop_and_orders(&s).await;

    let before = stampede(&servers, &orders, &token).await;
    assert!(before.iter().all(|r| r.0 == 200), "{before:?}");

    let revoking = {
        let (other, app, token) = (servers.1.clone(), app.clone(), token.clone());
        tokio::spawn(async move { revoke(&other, &app, &token, None).await })
    };
    let during = stampede(&servers, &orders, &token).await;
    assert_eq!(revoking.await.unwrap().0, 200);
    for r in &during {
        assert!(
            r.0 == 200 || (r.0 == 400 && r.1["error"] == "invalid_grant"),
            "{r:?}"
        );
    }

    let after = stampede(&servers, &orders, &token).await;
    for r in &after {
        assert_eq!(
            (r.0, &r.1["error"]),
            (400, &json!("invalid_grant")),
            "{r:?}"
        );
    }

    let listed = feed(&servers).await;
    let issued: Vec<String> = before
        .iter()
        .chain(during.iter().filter(|r| r.0 == 200))
        .map(access_token)
        .collect();
    assert!(issued.len() >= PARALLEL);
    for (i, t) in issued.iter().enumerate() {
        let jti = tests::decode_segment(t, 1)["jti"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            listed.contains(&jti),
            "an exchanged token is missing from the feed"
        );
        let at = pick(&servers, i);
        assert_eq!(at.introspect(&orders, t).await, json!({"active": false}));
    }
}

/// A client deleted while it exchanges tokens (on the other replica): every exchange either fails
/// or issues a token the deletion revokes, and none succeeds after it. The exchange holds the
/// client's policy row in its transaction, which the deletion removes before it lists the
/// client's exchanged tokens.
async fn no_token_exchanged_by_a_deleted_client_survives_the_deletion(backend: Backend) {
    let servers = replicas(backend).await;
    let s = servers.0.clone();
    let (_app, token, orders) = shop_and_orders(&s).await;
    // Tokens exchanged before the deletion: the deletion must reach these whatever the race does.
    let before = stampede(&servers, &orders, &token).await;
    assert!(before.iter().all(|r| r.0 == 200), "{before:?}");

    let deleting = {
        let other = servers.1.clone();
        tokio::spawn(async move {
            let admin = auth_server::domain::audit::Actor::Admin("test".into());
            let meta = auth_server::domain::audit::RequestMeta::default();
            other.app.clients.delete_by("orders", &admin, &meta).await
        })
    };
    let during = stampede(&servers, &orders, &token).await;
    assert!(matches!(deleting.await.unwrap(), Ok(true)));
    let after = stampede(&servers, &orders, &token).await;
    for r in &after {
        assert!(r.0 == 400 || r.0 == 401, "{r:?}");
    }
    let listed = feed(&servers).await;
    for r in before.iter().chain(during.iter().filter(|r| r.0 == 200)) {
        let jti = tests::dpop::claims(&access_token(r))["jti"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            s.app.store.is_access_token_revoked(&jti).await.unwrap(),
            "{jti} outlived its client"
        );
        assert!(listed.contains(&jti), "{jti} is not in the feed");
    }
    for r in &during {
        assert!([200, 400, 401].contains(&r.0), "{r:?}");
    }
}

/// An exchange is checked against the policy it read, and recorded (before its token is signed)
/// only if the policy row still says the same: an administrator's change committed in between
/// (here, narrowing the audiences, as if it landed during the request) makes the recording refuse
/// (`PolicyChanged`, a 503 asking to try again), so no token is issued under rules already
/// replaced; against the policy in force it is recorded, and with no policy it is `PolicyGone`.
async fn an_exchange_checked_against_a_replaced_policy_is_not_recorded(backend: Backend) {
    use auth_server::store::token_exchanges::{Exchanged, Recorded};
    let s = TestServer::start(backend).await;
    let wide = Policy::delegation(&[ORDERS], &[INVENTORY, "https://billing.test"], &["a"]);
    register_exchanger(&s, "orders", &wide).await;
    let read = s.app.store.token_exchange_policy("orders").await.unwrap();
    let read = read.unwrap();
    let narrow = Policy::delegation(&[ORDERS], &[INVENTORY], &["a"]);
    set_exchange_policy(&s, "orders", Some(&narrow)).await;
    let exp = auth_core::Clock::now(&*s.app.clock) + 300;
    let record = |jti: &'static str, policy| {
        let store = s.app.store.clone();
        async move {
            let e = Exchanged {
                jti,
                exp,
                client_id: "orders",
                subject_jti: "subject-1",
                subject_exp: exp,
                policy: &policy,
            };
            store.record_exchange(&e).await.unwrap()
        }
    };
    assert_eq!(record("x-1", read).await, Recorded::PolicyChanged);
    let now = s.app.store.token_exchange_policy("orders").await.unwrap();
    let now = now.unwrap();
    assert_eq!(record("x-2", now.clone()).await, Recorded::Done);
    set_exchange_policy(&s, "orders", None).await;
    assert_eq!(record("x-3", now).await, Recorded::PolicyGone);
}

/// A client's deletion (on one replica) and the revocation of a subject token it exchanged (on
/// the other), at once: both revoke the same exchanged tokens, by `jti`, in their transactions.
/// Both commit (no deadlock: both lock the exchanged rows in `jti` order), and every exchanged
/// token ends revoked. Several rounds, each with a new client and subject token.
async fn a_deletion_and_a_revocation_reaching_the_same_tokens_both_commit(backend: Backend) {
    let servers = replicas(backend).await;
    let s = servers.0.clone();
    let app = user_app(&s, "shop", SCOPES, &[ORDERS]).await;
    let policy = reserve_policy();
    for round in 0..4 {
        let mut browser = Agent::new();
        let token = user_access_token(&s, &mut browser, &app, "openid inventory:reserve").await;
        let id = format!("orders-{round}");
        let orders = register_exchanger(&s, &id, &policy).await;
        let issued = stampede(&servers, &orders, &token).await;
        assert!(issued.iter().all(|r| r.0 == 200), "{issued:?}");
        let deleting = {
            let (other, id) = (servers.1.clone(), id.clone());
            tokio::spawn(async move {
                let admin = auth_server::domain::audit::Actor::Admin("test".into());
                let meta = auth_server::domain::audit::RequestMeta::default();
                other.app.clients.delete_by(&id, &admin, &meta).await
            })
        };
        let revoking = {
            let (s, app, token) = (s.clone(), app.clone(), token.clone());
            tokio::spawn(async move { revoke(&s, &app, &token, None).await })
        };
        let (deleted, revoked) = (deleting.await.unwrap(), revoking.await.unwrap());
        assert!(matches!(deleted, Ok(true)), "round {round}: {deleted:?}");
        assert_eq!(revoked.0, 200, "round {round}: {revoked:?}");
        for r in &issued {
            let jti = tests::decode_segment(&access_token(r), 1)["jti"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(s.app.store.is_access_token_revoked(&jti).await.unwrap());
        }
    }
}

/// A per-user cut-off (a new password, a disabled user: "tokens issued before `before`") that
/// revokes a subject token revokes every token exchanged from it, even one exchanged *after*
/// `before` (a cut-off computed before an exchange and committed while it ran): an exchanged
/// token carries its subject token's `iat`. Here the cut-off row alone is written, as a subject
/// token not tracked by `jti` would leave it; introspection and verifiers refuse both tokens.
async fn a_cut_off_that_revokes_the_subject_token_revokes_its_exchanges(backend: Backend) {
    use auth_server::store::entities::revoked_subject;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let s = TestServer::start(backend).await;
    let (app, token, orders) = shop_and_orders(&s).await;
    let subject = tests::decode_segment(&token, 1);
    let t0 = subject["iat"].as_i64().unwrap();
    s.clock.advance(10);
    let (status, body) = exchange(&s, &orders, &token, &[("resource", INVENTORY)]).await;
    assert_eq!(status, 200, "{body}");
    let exchanged = access_token(&(status, body));
    assert_eq!(tests::decode_segment(&exchanged, 1)["iat"], t0);
    let active = s.introspect(&orders, &exchanged).await;
    assert_eq!(active["active"], true, "{active}");

    let row = revoked_subject::ActiveModel {
        sub: Set(subject["sub"].as_str().unwrap().to_owned()),
        before: Set(t0 + 5),
        expires_at: Set(t0 + 3600),
    };
    revoked_subject::Entity::insert(row)
        .exec_without_returning(s.app.store.conn())
        .await
        .unwrap();
    assert_eq!(
        s.introspect(&orders, &exchanged).await,
        json!({"active": false})
    );
    assert_eq!(s.introspect(&app, &token).await, json!({"active": false}));
    let body: Value = s.get("/revocations").await.json().await.unwrap();
    let listed = &body["revoked_subjects"];
    assert_eq!(listed[0]["before"], t0 + 5, "verifiers are told: {body}");
}
