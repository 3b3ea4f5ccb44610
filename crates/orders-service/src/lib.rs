//! `orders-service`: an example user- and partner-facing service. Callers place orders with an
//! access token from the IdP (audience `https://orders.example.com`), verified locally by
//! [`auth_verifier`]; each order is owned by the token's `sub`. To place one, this service reserves
//! stock in `inventory-service` **on behalf of the caller**: it exchanges the caller's token at the
//! IdP (OAuth 2.0 Token Exchange, RFC 8693) for a token addressed to inventory
//! (`resource=https://inventory.internal`, `scope=inventory:reserve`) whose `sub` is still the caller
//! and whose `act.sub` names this service, so inventory records both. The exchanged token is cached
//! per caller token by [`auth_verifier::service_token::ServiceTokenSource`] (never past the caller's
//! `exp`) and never shown to the caller; the caller's own token is never forwarded. A caller's
//! token that names no user (a partner's client-credentials token: `sub` = `client_id`) is not
//! exchanged: for it, and for every order with `ORDERS_INVENTORY_AUTH=client_credentials`, this
//! service uses its *own* client-credentials token, and inventory sees only this service.
//!
//! This service's client at the IdP needs a token-exchange policy: subject tokens addressed to
//! `https://orders.example.com`, the audience `https://inventory.internal`, the scope
//! `inventory:reserve` (delegation). Callers' tokens must carry `inventory:reserve` (an exchange
//! never widens scopes).
//!
//! | route | scope | answer |
//! |---|---|---|
//! | `GET /healthz` | none | liveness: `{"status":"ok"}` |
//! | `GET /readyz` | none | readiness: 200 `{"status":"ready"}` while the verifier holds usable keys and polled the revocation feed within 5 minutes ([`auth_verifier::Verifier::readiness`]); else 503 `{"status":"not_ready","reasons":[...]}` with codes `keys_missing`, `keys_stale`, `revocations_stale` |
//! | `GET /metrics` | none; on the metrics listener (`ORDERS_METRICS_BIND`) | Prometheus text: the verifier's `auth_verifier_*` metrics |
//! | `GET /orders` | `orders:read` | the caller's orders, `[{"id","sku","quantity","reservation_id","owner"}]` |
//! | `GET /orders/{id}` | `orders:read` | one of the caller's orders; 404 `{"error":"not_found"}` otherwise |
//! | `POST /orders` `{"sku","quantity"}` | `orders:write` | 201 the order; 409 `{"error":"insufficient_stock"}`; 404 `unknown_sku`; 400 `invalid_request`; 502 `delegation_refused` (the IdP refused to exchange the caller's token for inventory: no policy, an audience or scope outside it, a revoked token); 503 `inventory_unavailable` (inventory or the IdP unreachable or failing) |
//!
//! Tokens are accepted as bearer tokens (`Authorization: Bearer`) and, when the service knows its
//! external URL (`ORDERS_EXTERNAL_URL`), as DPoP-bound tokens (`Authorization: DPoP` with a `DPoP`
//! proof, RFC 9449 §7); a DPoP-bound token presented as a bearer token is refused. Token failures
//! are RFC 6750 / RFC 9449 §7.1 answers from [`auth_verifier::axum`]: 401 with `WWW-Authenticate:
//! Bearer` (no token) or `error="invalid_token"` (bad signature, expired, wrong audience...), with
//! a `DPoP algs="..."` challenge beside it, or `DPoP error="invalid_dpop_proof"`; 403
//! `error="insufficient_scope", scope="..."`.
//!
//! # Running it against a local IdP
//!
//! Environment variables (read with [`auth_verifier::service_config`]; each of the first eleven may
//! instead be given as `<NAME>_FILE=/path`, the file's contents with trailing whitespace trimmed,
//! for Docker and Kubernetes secrets; setting both forms is an error):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `ORDERS_BIND` | `127.0.0.1:8081` | listening address |
//! | `ORDERS_ISSUER` | `http://127.0.0.1:8080` | the IdP's issuer (https, or http on loopback) |
//! | `ORDERS_AUDIENCE` | `https://orders.example.com` | the `aud` callers' tokens must carry |
//! | `ORDERS_EXTERNAL_URL` | `http://{ORDERS_BIND}` when that is a loopback address, else unset | the URL clients use to reach this service (behind a proxy: the public one, with any path prefix the proxy strips); a DPoP proof's `htu` must be it followed by the request path. Unset: the `DPoP` scheme is refused |
//! | `ORDERS_INVENTORY_URL` | `http://127.0.0.1:8082` | inventory-service's base URL |
//! | `ORDERS_INVENTORY_AUDIENCE` | `https://inventory.internal` | inventory's audience (`resource` of the tokens for it) |
//! | `ORDERS_INVENTORY_AUTH` | `token_exchange` | `token_exchange` (on behalf of the caller, RFC 8693) or `client_credentials` (as this service) |
//! | `ORDERS_CLIENT_ID` | required | this service's client id at the IdP |
//! | `ORDERS_CLIENT_SECRET` | required | its secret (`client_secret_basic`) |
//! | `ORDERS_TOKEN_ENDPOINT` | the issuer's discovery document's `token_endpoint` | the IdP's token endpoint |
//! | `ORDERS_TOKEN_REFRESH_MARGIN_SECS` | `60` | a token for inventory is replaced this long before it expires (at half its lifetime if that is shorter; a response without `expires_in` counts as 60 s) |
//! | `ORDERS_HEADER_READ_TIMEOUT_SECS` | `10` | a client must send a request's line and headers within this long of its first byte |
//! | `ORDERS_IDLE_TIMEOUT_SECS` | `60` | a connection with no request in progress is closed after this long without a new one |
//! | `ORDERS_MAX_CONNECTIONS` | `10000` | connections served at once; beyond it the listener waits for one to close |
//! | `ORDERS_METRICS_BIND` | `127.0.0.1:9091` | where `GET /metrics` (Prometheus) is served: `host:port` (its own listener), `public` (beside the routes above), or `off` |
//! | `ORDERS_LOG` | `info` | log filter (`tracing` env-filter syntax) |
//! | `ORDERS_LOG_FORMAT` | `text` | `text`, or `json` for one JSON object per line |
//!
//! ```sh
//! cargo run -p auth-server &                       # the IdP on http://127.0.0.1:8080
//! # This service's own identity, allowed to reserve stock as itself and on behalf of its callers:
//! cargo run -p auth-server -- client create --name "Orders service" --id orders-service \
//!     --scope inventory:reserve --default-scope inventory:reserve --resource https://inventory.internal
//! cargo run -p auth-server -- client set-token-exchange orders-service \
//!     --subject-audience https://orders.example.com --audience https://inventory.internal \
//!     --scope inventory:reserve
//! # A partner calling this service:
//! cargo run -p auth-server -- client create --name "Partner" --id partner-app \
//!     --scope orders:read --scope orders:write --scope inventory:reserve --default-scope orders:read \
//!     --resource https://orders.example.com
//! cargo run -p inventory-service &                 # http://127.0.0.1:8082
//! ORDERS_CLIENT_ID=orders-service ORDERS_CLIENT_SECRET=$ORDERS_SECRET cargo run -p orders-service &
//! TOKEN=$(curl -s -u "partner-app:$PARTNER_SECRET" -d grant_type=client_credentials \
//!     -d scope="orders:read orders:write inventory:reserve" -d resource=https://orders.example.com \
//!     http://127.0.0.1:8080/token | jq -r .access_token)
//! curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
//!     -d '{"sku":"widget","quantity":2}' http://127.0.0.1:8081/orders
//! # {"id":"ord-1","sku":"widget","quantity":2,"reservation_id":"res-1","owner":"partner-app"}
//! curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/orders
//! ```
#![warn(missing_docs)]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_verifier::service_token::{
    ClientAuth, DEFAULT_REFRESH_MARGIN, ServiceTokenError, ServiceTokenSource, TokenEndpoint,
};
use auth_verifier::{InitError, IssuerConfig, Policy, Verifier};
use http_serve::metrics::MetricsRegistry;

mod http;
pub mod inventory;
pub mod orders;

pub use http::router;
pub use inventory::{Caller, InventoryAuth, InventoryClient, InventoryError, Reserved};
pub use orders::{Order, Orders};

/// The audience this service expects by default.
pub const DEFAULT_AUDIENCE: &str = "https://orders.example.com";
/// inventory-service's default audience.
pub const DEFAULT_INVENTORY_AUDIENCE: &str = "https://inventory.internal";
/// Scope of the `GET` routes.
pub const SCOPE_READ: &str = "orders:read";
/// Scope of `POST /orders`.
pub const SCOPE_WRITE: &str = "orders:write";
/// The scope this service asks for to call inventory.
pub const INVENTORY_SCOPE: &str = "inventory:reserve";
/// The largest quantity one order may take.
pub const MAX_QUANTITY: u32 = 1000;

/// What the service needs to start.
#[derive(Clone)]
pub struct Config {
    /// The trusted issuer.
    pub issuer: String,
    /// This service's audience.
    pub audience: String,
    /// inventory-service's base URL.
    pub inventory_url: String,
    /// inventory-service's audience.
    pub inventory_audience: String,
    /// This service's client id at the IdP.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The token endpoint; `None`: the `token_endpoint` of the issuer's discovery document.
    pub token_endpoint: Option<String>,
    /// How calls to inventory are authenticated: on behalf of the caller (token exchange, the
    /// default) or as this service itself (client credentials).
    pub inventory_auth: InventoryAuth,
    /// Our token is replaced this long before it expires.
    pub token_refresh_margin: Duration,
    /// The URL clients use to reach this service, the base of DPoP proofs' `htu`
    /// ([`auth_verifier::VerifierBuilder::external_url`]); `None` refuses the `DPoP` scheme.
    pub external_url: Option<String>,
    /// Connect and total timeouts of calls to the IdP and inventory.
    pub http_timeouts: (Duration, Duration),
    /// Where the verifier records its metrics (served by [`metrics_router`]); `None` records
    /// nothing.
    pub metrics: Option<MetricsRegistry>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("inventory_url", &self.inventory_url)
            .field("inventory_audience", &self.inventory_audience)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_endpoint", &self.token_endpoint)
            .field("inventory_auth", &self.inventory_auth)
            .field("token_refresh_margin", &self.token_refresh_margin)
            .field("external_url", &self.external_url)
            .field("http_timeouts", &self.http_timeouts)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

impl Config {
    /// The defaults above, with this service's client credentials.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            audience: DEFAULT_AUDIENCE.into(),
            inventory_url: "http://127.0.0.1:8082".into(),
            inventory_audience: DEFAULT_INVENTORY_AUDIENCE.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_endpoint: None,
            inventory_auth: InventoryAuth::default(),
            token_refresh_margin: DEFAULT_REFRESH_MARGIN,
            external_url: None,
            http_timeouts: (Duration::from_secs(2), Duration::from_secs(5)),
            metrics: None,
        }
    }
}

/// Starting failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The verifier's configuration is invalid.
    #[error(transparent)]
    Verifier(#[from] InitError),
    /// The outgoing HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// The token source's configuration is invalid (a token endpoint that is not https).
    #[error(transparent)]
    TokenSource(#[from] ServiceTokenError),
}

/// The shared state of the handlers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    verifier: Verifier,
    orders: Arc<Orders>,
    inventory: InventoryClient,
    metrics: Option<MetricsRegistry>,
}

impl AppState {
    /// State from its parts.
    pub fn new(verifier: Verifier, inventory: InventoryClient) -> Self {
        Self {
            verifier,
            orders: Arc::default(),
            inventory,
            metrics: None,
        }
    }

    /// The token source used to call inventory (to observe token reuse).
    pub fn token_source(&self) -> &ServiceTokenSource {
        self.inventory.tokens()
    }

    /// The orders (for inspection).
    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    /// The token verifier (to poll the revocation feed now rather than at its next interval).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

/// Builds the verifier (fetching the issuer's keys once; an IdP that is not up yet is retried in
/// the background), the token source and the inventory client. No token is fetched until needed.
pub async fn build(config: Config) -> Result<AppState, BuildError> {
    let mut builder = Verifier::builder(Policy::new(config.audience))
        .issuer(IssuerConfig::auth_server(&config.issuer));
    if let Some(m) = &config.metrics {
        builder = builder.metrics_recorder(m.recorder());
    }
    if let Some(url) = &config.external_url {
        builder = builder.external_url(url);
    }
    let verifier = builder.build().await?;
    let (connect, total) = config.http_timeouts;
    let http = reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(total)
        // Never follow a redirect with credentials or a token attached.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let endpoint = match config.token_endpoint {
        Some(url) => TokenEndpoint::Url(url),
        None => TokenEndpoint::Discover {
            issuer: config.issuer,
        },
    };
    let auth = ClientAuth::secret_basic(config.client_id, config.client_secret);
    let tokens = ServiceTokenSource::builder(auth, endpoint)
        .http(http.clone())
        .refresh_margin(config.token_refresh_margin)
        .build()?;
    let inventory = InventoryClient::new(
        http,
        &config.inventory_url,
        tokens,
        config.inventory_auth,
        &config.inventory_audience,
        INVENTORY_SCOPE,
    );
    let mut state = AppState::new(verifier, inventory);
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
