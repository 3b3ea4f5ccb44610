//! The example resource services against the real IdP, for `tests/e2e/services.rs`: the IdP,
//! orders-service and inventory-service started in-process, and the clients every test uses.

use auth_core::Alg;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{Backend, TestServer};
use http_serve::metrics::MetricsRegistry;

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
    /// Base URLs of the services' metrics listeners (`GET /metrics`), each its own registry.
    pub orders_metrics: String,
    pub inventory_metrics: String,
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
            metrics: Some(MetricsRegistry::new()),
            external_url: None,
        })
        .await
        .unwrap();
        let (inventory, inv_task) = serve(inventory_service::router(inventory_state.clone())).await;
        let metrics = inventory_service::metrics_router(&inventory_state).unwrap();
        let (inventory_metrics, inv_metrics_task) = serve(metrics).await;

        let mut config = orders_service::Config::new(svc_id, svc_secret);
        config.issuer = s.base.clone();
        // These tests are about the service's own token; the on-behalf-of path has its own.
        config.inventory_auth = orders_service::InventoryAuth::AsItself;
        config.metrics = Some(MetricsRegistry::new());
        config.inventory_url = if inventory_up {
            inventory.clone()
        } else {
            dead_url().await
        };
        let orders_state = orders_service::build(config).await.unwrap();
        let (orders, ord_task) = serve(orders_service::router(orders_state.clone())).await;
        let metrics = orders_service::metrics_router(&orders_state).unwrap();
        let (orders_metrics, ord_metrics_task) = serve(metrics).await;
        Self {
            s,
            orders,
            inventory,
            orders_state,
            inventory_state,
            partner,
            orders_metrics,
            inventory_metrics,
            tasks: vec![inv_task, ord_task, inv_metrics_task, ord_metrics_task],
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

/// `GET {base}/metrics`: the Prometheus text exposition (checked to be served as such).
pub async fn scrape(http: &reqwest::Client, base: &str) -> String {
    let res = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, http_serve::metrics::CONTENT_TYPE_TEXT);
    res.text().await.unwrap()
}

/// The value of the series `name` whose labels include all of `labels` in a Prometheus text
/// exposition (`inf` reads as infinity); `None` when no series has them. Panics on two matches.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = text.lines().filter_map(|line| {
        if line.starts_with('#') {
            return None;
        }
        let (series, value) = line.rsplit_once(' ')?;
        let (n, set) = series.split_once('{').unwrap_or((series, "}"));
        let set = set.strip_suffix('}')?;
        let pairs: Vec<&str> = set.split(',').collect();
        let has = |(k, v): &(&str, &str)| pairs.contains(&format!("{k}=\"{v}\"").as_str());
        (n == name && labels.iter().all(has)).then(|| value.parse::<f64>().unwrap())
    });
    let first = found.next();
    assert!(
        found.next().is_none(),
        "{name} {labels:?} matches several series"
    );
    first
}
