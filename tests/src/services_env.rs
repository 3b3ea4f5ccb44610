//! The example resource services against the real IdP, for `tests/e2e/services.rs`: the IdP,
//! orders-service and inventory-service started in-process, and the clients every test uses.

use auth_core::Alg;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{Backend, TestServer};

/// orders-service's audience.
pub const ORDERS: &str = orders_service::DEFAULT_AUDIENCE;
/// inventory-service's audience.
pub const INVENTORY: &str = inventory_service::DEFAULT_AUDIENCE;

/// The IdP, both services, and the clients every test uses.
#[allow(missing_debug_implementations)]
pub struct Env {
    pub s: TestServer,
    pub orders: String,
    pub inventory: String,
    pub orders_state: orders_service::AppState,
    pub inventory_state: inventory_service::AppState,
    pub partner: (String, String),
    pub tasks: Vec<JoinHandle<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A status, the `WWW-Authenticate` header, and the JSON body (every answer must be JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub body: Value,
}

/// Serves `router` on a loopback port with http-serve and its default limits, as the services'
/// binaries do: its base URL and the task (abort it to stop).
pub async fn serve(router: axum::Router) -> (String, JoinHandle<()>) {
    serve_with(router, http_serve::Limits::default()).await
}

/// [`serve`] within `limits`.
pub async fn serve_with(
    router: axum::Router,
    limits: http_serve::Limits,
) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let forever = std::future::pending();
    let task = tokio::spawn(http_serve::serve(listener, router, limits, forever));
    (base, task)
}

/// A loopback URL nothing listens on.
pub async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

impl Env {
    /// Starts everything; `inventory_up: false` points orders-service at a closed port.
    pub async fn start(backend: Backend, inventory_up: bool) -> Self {
        let s = TestServer::start(backend).await;
        let (svc_id, svc_secret) = s
            .client(
                "orders-svc",
                Alg::Es256,
                &["inventory:reserve"],
                &[INVENTORY],
            )
            .await;
        let partner = s
            .client(
                "partner",
                Alg::Es256,
                &["orders:read", "orders:write"],
                &[ORDERS],
            )
            .await;

        let inventory_state = inventory_service::build(inventory_service::Config {
            issuer: s.base.clone(),
            audience: INVENTORY.into(),
            stock: inventory_service::parse_levels("widget=10,gadget=3").unwrap(),
            metrics: None,
        })
        .await
        .unwrap();
        let (inventory, inv_task) = serve(inventory_service::router(inventory_state.clone())).await;

        let mut config = orders_service::Config::new(svc_id, svc_secret);
        config.issuer = s.base.clone();
        config.inventory_url = if inventory_up {
            inventory.clone()
        } else {
            dead_url().await
        };
        let orders_state = orders_service::build(config).await.unwrap();
        let (orders, ord_task) = serve(orders_service::router(orders_state.clone())).await;
        Self {
            s,
            orders,
            inventory,
            orders_state,
            inventory_state,
            partner,
            tasks: vec![inv_task, ord_task],
        }
    }

    /// A token from the IdP for a registered client.
    pub async fn token(
        &self,
        (id, secret): &(String, String),
        scope: &str,
        resource: &str,
    ) -> String {
        let body = self
            .s
            .cc_token(
                id,
                secret,
                &format!("&scope={}&resource={resource}", scope.replace(' ', "+")),
            )
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// The partner's token for orders-service.
    pub async fn partner_token(&self, scope: &str) -> String {
        self.token(&self.partner, scope, ORDERS).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder, token: Option<&str>) -> Reply {
        let req = match token {
            Some(t) => req.header("authorization", format!("Bearer {t}")),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let www_authenticate = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{status}: {content_type}"
        );
        let body = res.json().await.unwrap();
        Reply {
            status,
            www_authenticate,
            body,
        }
    }

    pub async fn get(&self, url: String, token: Option<&str>) -> Reply {
        self.send(self.s.http.get(url), token).await
    }

    pub async fn post(&self, url: String, token: Option<&str>, body: Value) -> Reply {
        self.send(self.s.http.post(url).json(&body), token).await
    }

    pub async fn order(&self, token: &str, sku: &str, quantity: u32) -> Reply {
        let body = json!({"sku": sku, "quantity": quantity});
        self.post(format!("{}/orders", self.orders), Some(token), body)
            .await
    }

    pub fn available(&self, sku: &str) -> Option<u32> {
        self.inventory_state.stock().available(sku)
    }

    /// How many tokens orders-service has fetched from the IdP for its calls to inventory.
    pub fn token_fetches(&self) -> u64 {
        self.orders_state.token_source().fetch_count()
    }
}
