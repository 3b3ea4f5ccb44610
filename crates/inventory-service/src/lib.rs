//! `inventory-service`: an example *internal* service. It keeps stock levels per SKU in memory and
//! lets other services reserve stock. Every protected request carries an access token from the IdP,
//! verified locally by [`auth_verifier`] (cached JWKS, no call to the IdP per request): audience
//! `https://inventory.internal`, plus a scope per route.
//!
//! | route | scope | answer |
//! |---|---|---|
//! | `GET /healthz` | none | liveness: `{"status":"ok"}` |
//! | `GET /readyz` | none | readiness: 200 `{"status":"ready"}` while the verifier holds usable keys and polled the revocation feed within 5 minutes ([`auth_verifier::Verifier::readiness`]); else 503 `{"status":"not_ready","reasons":[...]}` with codes `keys_missing`, `keys_stale`, `revocations_stale` |
//! | `GET /metrics` | none; on the metrics listener (`INVENTORY_METRICS_BIND`) | Prometheus text: the verifier's `auth_verifier_*` metrics |
//! | `GET /items/{sku}` | `inventory:read` | `{"sku","available"}`, or 404 `{"error":"unknown_sku"}` |
//! | `POST /reservations` `{"sku","quantity"}` | `inventory:reserve` | 201 `{"reservation_id","sku","quantity","subject","actor"}`; 409 `{"error":"insufficient_stock"}`; 404 unknown SKU; 400 `invalid_request` (quantity not in 1..=1000, unknown field, bad JSON) |
//!
//! Tokens are accepted as bearer tokens and, when the service knows its external URL
//! (`INVENTORY_EXTERNAL_URL`), as DPoP-bound tokens with their proof (RFC 9449 §7); a DPoP-bound
//! token presented as a bearer token is refused. Token failures are RFC 6750 / RFC 9449 §7.1
//! answers from [`auth_verifier::axum`]: 401 with `WWW-Authenticate: Bearer` (no token) or
//! `error="invalid_token"` (with a `DPoP algs="..."` challenge beside it), or `DPoP
//! error="invalid_dpop_proof"`; 403 `error="insufficient_scope"`. Each reservation records the
//! client that made it (the token's `client_id`), for whom (`sub`: the user when orders-service
//! calls on a user's behalf) and the acting service of a delegated token (`act.sub`, RFC 8693
//! §4.1), and answers with the last two as `subject` and `actor` (`null` when absent).
//!
//! # Running it against a local IdP
//!
//! Environment variables (all optional; read with [`auth_verifier::service_config`]; each of the
//! first five may instead be given as `<NAME>_FILE=/path`, the file's contents with trailing
//! whitespace trimmed; setting both forms is an error):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `INVENTORY_BIND` | `127.0.0.1:8082` | listening address |
//! | `INVENTORY_ISSUER` | `http://127.0.0.1:8080` | the IdP's issuer (https, or http on loopback) |
//! | `INVENTORY_AUDIENCE` | `https://inventory.internal` | the `aud` tokens must carry |
//! | `INVENTORY_EXTERNAL_URL` | `http://{INVENTORY_BIND}` when that is a loopback address, else unset | the URL clients use to reach this service (behind a proxy: the public one, with any path prefix the proxy strips); a DPoP proof's `htu` must be it followed by the request path. Unset: the `DPoP` scheme is refused |
//! | `INVENTORY_STOCK` | `widget=100,gadget=25,gizmo=0` | initial stock, `sku=units,...` |
//! | `INVENTORY_HEADER_READ_TIMEOUT_SECS` | `10` | a client must send a request's line and headers within this long of its first byte |
//! | `INVENTORY_IDLE_TIMEOUT_SECS` | `60` | a connection with no request in progress is closed after this long without a new one |
//! | `INVENTORY_MAX_CONNECTIONS` | `10000` | connections served at once; beyond it the listener waits for one to close |
//! | `INVENTORY_METRICS_BIND` | `127.0.0.1:9092` | where `GET /metrics` (Prometheus) is served: `host:port` (its own listener), `public` (beside the routes above), or `off` |
//! | `INVENTORY_LOG` | `info` | log filter (`tracing` env-filter syntax) |
//! | `INVENTORY_LOG_FORMAT` | `text` | `text`, or `json` for one JSON object per line |
//!
//! ```sh
//! cargo run -p auth-server &                       # the IdP on http://127.0.0.1:8080
//! cargo run -p auth-server -- client create --name "Inventory ops" --id inventory-ops \
//!     --scope inventory:read --default-scope inventory:read --resource https://inventory.internal
//! cargo run -p inventory-service &                 # http://127.0.0.1:8082
//! TOKEN=$(curl -s -u "inventory-ops:$SECRET" -d grant_type=client_credentials \
//!     -d resource=https://inventory.internal http://127.0.0.1:8080/token | jq -r .access_token)
//! curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8082/items/widget
//! # {"sku":"widget","available":100}
//! ```
//!
//! In-process (as the end-to-end tests do):
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let state = inventory_service::build(inventory_service::Config {
//!     issuer: "http://127.0.0.1:8080".into(),
//!     audience: inventory_service::DEFAULT_AUDIENCE.into(),
//!     stock: inventory_service::parse_levels("widget=10")?,
//!     metrics: None,
//!     external_url: Some("http://127.0.0.1:8082".into()),
//! })
//! .await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8082").await?;
//! let limits = http_serve::Limits::default();
//! http_serve::serve(listener, inventory_service::router(state), limits, std::future::pending()).await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::Arc;

use auth_verifier::{InitError, IssuerConfig, Policy, Verifier};
use http_serve::metrics::MetricsRegistry;

mod http;
pub mod stock;

pub use http::{item_routes, router};
pub use stock::{LevelsError, Reservation, ReserveError, ReservedBy, Stock, parse_levels};

/// The audience this service expects by default.
pub const DEFAULT_AUDIENCE: &str = "https://inventory.internal";
/// Scope of `GET /items/{sku}`.
pub const SCOPE_READ: &str = "inventory:read";
/// Scope of `POST /reservations`.
pub const SCOPE_RESERVE: &str = "inventory:reserve";
/// The largest quantity one reservation may take.
pub const MAX_QUANTITY: u32 = 1000;

/// What the service needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// The trusted issuer.
    pub issuer: String,
    /// This service's audience.
    pub audience: String,
    /// Initial stock per SKU.
    pub stock: HashMap<String, u32>,
    /// Where the verifier records its metrics (served by [`metrics_router`]); `None` records
    /// nothing.
    pub metrics: Option<MetricsRegistry>,
    /// The URL clients use to reach this service, the base of DPoP proofs' `htu`
    /// ([`auth_verifier::VerifierBuilder::external_url`]); `None` refuses the `DPoP` scheme.
    pub external_url: Option<String>,
}

/// The shared state of the handlers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    verifier: Verifier,
    stock: Arc<Stock>,
    metrics: Option<MetricsRegistry>,
}

impl AppState {
    /// State from a verifier and stock.
    pub fn new(verifier: Verifier, stock: Stock) -> Self {
        Self {
            verifier,
            stock: Arc::new(stock),
            metrics: None,
        }
    }

    /// The stock (for inspection).
    pub fn stock(&self) -> &Stock {
        &self.stock
    }

    /// The token verifier (to refresh its keys or poll the revocation feed now).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

/// Builds the verifier (fetching the issuer's keys once; an IdP that is not up yet is retried in
/// the background) and the stock.
pub async fn build(config: Config) -> Result<AppState, InitError> {
    let mut builder = Verifier::builder(Policy::new(config.audience))
        .issuer(IssuerConfig::auth_server(&config.issuer));
    if let Some(m) = &config.metrics {
        builder = builder.metrics_recorder(m.recorder());
    }
    if let Some(url) = &config.external_url {
        builder = builder.external_url(url);
    }
    let mut state = AppState::new(builder.build().await?, Stock::new(config.stock));
    state.metrics = config.metrics;
    Ok(state)
}

/// `GET /metrics`: the Prometheus exposition of [`Config::metrics`] (the verifier's
/// `auth_verifier_*` metrics, see [`auth_verifier::metrics`]), its age gauges computed at each
/// scrape. `None` when the service records no metrics.
pub fn metrics_router(state: &AppState) -> Option<axum::Router> {
    let verifier = state.verifier.clone();
    let registry = state.metrics.as_ref()?;
    Some(registry.router(move || verifier.update_age_gauges()))
}
