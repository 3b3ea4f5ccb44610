//! The two example services with orders-service calling inventory **on behalf of the caller**
//! (RFC 8693 token exchange), for `tests/e2e/services_obo*.rs`: the IdP, a user-facing app whose
//! users' tokens are addressed to orders, orders-service registered as an exchanging client, and
//! both services started in-process.

use auth_core::Alg;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::oauth::{Agent, WebClient};
use crate::services_env::{INVENTORY, ORDERS, serve};
use crate::texch::{Policy, set_exchange_policy, user_app};
use crate::{Backend, TestServer};

/// The scopes a user's token carries: ordering, and the scope orders-service exchanges it for.
pub const USER_SCOPE: &str = "orders:read orders:write inventory:reserve";

/// The IdP, both services and the user-facing app.
#[allow(missing_debug_implementations)]
pub struct OboEnv {
    pub s: TestServer,
    pub orders: String,
    pub orders_state: orders_service::AppState,
    pub inventory_state: inventory_service::AppState,
    /// The app users sign in to.
    pub app: WebClient,
    /// inventory-service's base URL.
    pub inventory: String,
    /// orders-service's client at the IdP (an exchanging client).
    pub exchanger: WebClient,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for OboEnv {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl OboEnv {
    /// Starts everything; orders-service's exchange policy lets tokens addressed to orders become
    /// tokens for `may_request` with `inventory:reserve`.
    pub async fn start(backend: Backend, may_request: &[&str]) -> Self {
        let s = TestServer::start(backend).await;
        let scopes = ["openid", "orders:read", "orders:write", "inventory:reserve"];
        let app = user_app(&s, "shop", &scopes, &[ORDERS]).await;
        // orders-service's client: its own client-credentials tokens for inventory (for callers
        // that are no user), and an exchange policy (for users).
        let reserve = ["inventory:reserve"];
        let (id, secret) = s
            .client("orders-svc", Alg::Es256, &reserve, &[INVENTORY])
            .await;
        let policy = Policy::delegation(&[ORDERS], may_request, &reserve);
        set_exchange_policy(&s, &id, Some(&policy)).await;
        let exchanger = WebClient {
            id,
            secret: Some(secret),
            redirect_uri: String::new(),
        };

        let inventory_state = inventory_service::build(inventory_service::Config {
            issuer: s.base.clone(),
            audience: INVENTORY.into(),
            stock: inventory_service::parse_levels("widget=10,gadget=3").unwrap(),
            metrics: None,
            external_url: None,
        })
        .await
        .unwrap();
        let (inventory, inv_task) = serve(inventory_service::router(inventory_state.clone())).await;

        let secret = exchanger.secret.clone().unwrap();
        let mut config = orders_service::Config::new(exchanger.id.clone(), secret);
        config.issuer = s.base.clone();
        config.inventory_url = inventory.clone();
        assert_eq!(
            config.inventory_auth,
            orders_service::InventoryAuth::OnBehalfOfCaller,
            "the default"
        );
        let orders_state = orders_service::build(config).await.unwrap();
        let (orders, ord_task) = serve(orders_service::router(orders_state.clone())).await;
        Self {
            s,
            orders,
            orders_state,
            inventory_state,
            app,
            inventory,
            exchanger,
            tasks: vec![inv_task, ord_task],
        }
    }

    /// `user`'s access token for orders-service (the user is created on first use).
    pub async fn user_token(&self, user: &str) -> String {
        if self.s.app.users.find(user).await.unwrap().is_none() {
            self.s.user(user, crate::sso_support::PW).await;
        }
        let mut browser = Agent::new();
        let t = crate::sso_support::grant(&self.s, &mut browser, &self.app, USER_SCOPE, user).await;
        t.raw["access_token"].as_str().unwrap().to_owned()
    }

    /// `POST /orders` with `token`: status and JSON body.
    pub async fn order(&self, token: &str, sku: &str, quantity: u32) -> (u16, Value) {
        let res = self
            .s
            .http
            .post(format!("{}/orders", self.orders))
            .bearer_auth(token)
            .json(&json!({"sku": sku, "quantity": quantity}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        (status, res.json().await.unwrap())
    }

    /// How many tokens orders-service has asked the IdP for.
    pub fn token_fetches(&self) -> u64 {
        self.orders_state.token_source().fetch_count()
    }
}

/// The `sub` claim of a JWT (not verified: the test only reads what the IdP put there).
pub fn sub_of(jwt: &str) -> String {
    crate::decode_segment(jwt, 1)["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}
