//! The invariant of token exchange under concurrency, on two replicas sharing one database:
//! no token exchanged from a subject token outlives the subject token's revocation. Before the
//! revocation every exchange succeeds; exchanges racing it either fail or issue a token that the
//! revocation reaches (inactive, listed in the revocation feed); after it has committed, no
//! exchange succeeds on either replica.

use serde_json::{Value, json};
use tests::Backend;
use tests::oauth::{Agent, WebClient};
use tests::replicas::{PARALLEL, Replicas, feed, pick, replicas};
use tests::sso_support::revoke;
use tests::texch::{
    INVENTORY, ORDERS, Policy, exchange, register_exchanger, set_exchange_policy,
    user_access_token, user_app,
};

use crate::texch_flow::SCOPES;

tests::on_both_backends!(no_exchanged_token_outlives_its_subject_token_revocation);
tests::on_both_backends!(no_token_exchanged_by_a_deleted_client_survives_the_deletion);
tests::on_both_backends!(an_exchange_checked_against_a_replaced_policy_is_not_recorded);

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
    let app = user_app(&s, "shop", SCOPES, &[ORDERS]).await;
    let token = user_access_token(&s, &mut Agent::new(), &app, "openid inventory:reserve").await;
    let policy = Policy::delegation(&[ORDERS], &[INVENTORY], &["inventory:reserve"]);
    let orders = register_exchanger(&s, "orders", &policy).await;

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
    let app = user_app(&s, "shop", SCOPES, &[ORDERS]).await;
    let token = user_access_token(&s, &mut Agent::new(), &app, "openid inventory:reserve").await;
    let policy = Policy::delegation(&[ORDERS], &[INVENTORY], &["inventory:reserve"]);
    let orders = register_exchanger(&s, "orders", &policy).await;

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
    for r in during.iter().filter(|r| r.0 == 200) {
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
    let s = tests::TestServer::start(backend).await;
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
