//! The `orders-service` binary: configuration from the environment (see the library docs), then
//! serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use http_serve::Limits;
use http_serve::metrics::{MetricsBind, MetricsRegistry};
use orders_service::{Config, build, metrics_router, router};

/// Where `/metrics` is served unless `ORDERS_METRICS_BIND` says otherwise: loopback only.
const DEFAULT_METRICS_BIND: &str = "127.0.0.1:9091";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> anyhow::Result<String> {
    var(name).with_context(|| format!("{name} is required"))
}

fn config() -> anyhow::Result<(SocketAddr, Config, Limits, MetricsBind)> {
    let bind = var("ORDERS_BIND")
        .as_deref()
        .unwrap_or("127.0.0.1:8081")
        .parse()
        .context("ORDERS_BIND must be host:port")?;
    let mut c = Config::new(
        required("ORDERS_CLIENT_ID")?,
        required("ORDERS_CLIENT_SECRET")?,
    );
    if let Some(v) = var("ORDERS_ISSUER") {
        c.issuer = v;
    }
    if let Some(v) = var("ORDERS_AUDIENCE") {
        c.audience = v;
    }
    if let Some(v) = var("ORDERS_INVENTORY_URL") {
        c.inventory_url = v;
    }
    if let Some(v) = var("ORDERS_INVENTORY_AUDIENCE") {
        c.inventory_audience = v;
    }
    c.token_endpoint = var("ORDERS_TOKEN_ENDPOINT");
    c.external_url = var("ORDERS_EXTERNAL_URL").or_else(|| loopback_url(bind));
    if let Some(v) = var("ORDERS_TOKEN_REFRESH_MARGIN_SECS") {
        let secs = v
            .parse()
            .context("ORDERS_TOKEN_REFRESH_MARGIN_SECS must be a number of seconds")?;
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
    let (bind, config, limits, metrics) = config()?;
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
