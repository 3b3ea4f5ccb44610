//! The `orders-service` binary: configuration from the environment (see the library docs; every
//! variable may also be given as `<NAME>_FILE`), then serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use auth_verifier::service_config::{ConfigError, ServiceConfig, ServiceEnv};
use http_serve::Limits;
use http_serve::metrics::{MetricsBind, MetricsRegistry};
use orders_service::{Config, DEFAULT_AUDIENCE, InventoryAuth, build, metrics_router, router};

/// Where `/metrics` is served unless `ORDERS_METRICS_BIND` says otherwise: loopback only.
const DEFAULT_METRICS_BIND: &str = "127.0.0.1:9091";

fn inventory_auth(env: &ServiceEnv) -> Result<InventoryAuth, ConfigError> {
    match env.get("INVENTORY_AUTH")?.as_deref() {
        None | Some("token_exchange") => Ok(InventoryAuth::OnBehalfOfCaller),
        Some("client_credentials") => Ok(InventoryAuth::AsItself),
        Some(other) => Err(ConfigError::Invalid {
            var: env.name("INVENTORY_AUTH"),
            reason: format!("must be token_exchange or client_credentials, not {other:?}"),
        }),
    }
}

fn config() -> anyhow::Result<(SocketAddr, Config, Limits, MetricsBind)> {
    let env = ServiceEnv::new("ORDERS");
    let bind: SocketAddr = env
        .parse("BIND", "host:port")?
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8081)));
    let service = ServiceConfig::from_env(&env, "http://127.0.0.1:8080", DEFAULT_AUDIENCE)?;
    let (id, secret) = service.client.clone().ok_or_else(|| ConfigError::Missing {
        var: env.name("CLIENT_ID"),
    })?;
    let mut c = Config::new(id, secret);
    c.issuer = service.issuer.clone();
    c.audience = service.audience().to_owned();
    if service.audiences.len() > 1 {
        anyhow::bail!("ORDERS_AUDIENCE: this service accepts one audience");
    }
    if let Some(v) = env.get("INVENTORY_URL")? {
        c.inventory_url = v;
    }
    if let Some(v) = env.get("INVENTORY_AUDIENCE")? {
        c.inventory_audience = v;
    }
    c.inventory_auth = inventory_auth(&env)?;
    c.token_endpoint = service.token_endpoint;
    c.external_url = service.external_url.or_else(|| loopback_url(bind));
    if let Some(secs) = env.parse("TOKEN_REFRESH_MARGIN_SECS", "a number of seconds")? {
        c.token_refresh_margin = Duration::from_secs(secs);
    }
    let limits = Limits::from_env("ORDERS")?;
    let metrics = MetricsBind::from_env("ORDERS", DEFAULT_METRICS_BIND.parse()?, bind)?;
    if metrics.enabled() {
        let registry = MetricsRegistry::new();
        // Anything else recorded through the `metrics` facade in this process lands there too.
        registry.install_global()?;
        c.metrics = Some(registry);
    }
    Ok((bind, c, limits, metrics))
}

/// `http://{bind}` when `bind` is a loopback address (a local run: clients use exactly that);
/// otherwise the external URL must be configured.
fn loopback_url(bind: SocketAddr) -> Option<String> {
    bind.ip().is_loopback().then(|| format!("http://{bind}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    http_serve::init_logging("ORDERS_LOG");
    http_serve::exit_code(run().await)
}

async fn run() -> anyhow::Result<()> {
    let (bind, config, limits, metrics) = config().context("configuration")?;
    tracing::info!(?config, "starting");
    if config.external_url.is_none() {
        tracing::warn!("ORDERS_EXTERNAL_URL is not set: DPoP-bound tokens are refused");
    }
    let state = build(config).await?;
    let mut app = router(state.clone());
    if let Some(m) = metrics_router(&state) {
        app = http_serve::metrics::attach(metrics, app, m).await?;
    }
    http_serve::listen(bind, app, limits, "orders-service").await?;
    Ok(())
}
