//! The `inventory-service` binary: configuration from the environment (see the library docs), then
//! serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use http_serve::metrics::{MetricsBind, MetricsRegistry};
use inventory_service::{Config, DEFAULT_AUDIENCE, build, metrics_router, parse_levels, router};

/// Where `/metrics` is served unless `INVENTORY_METRICS_BIND` says otherwise: loopback only.
const DEFAULT_METRICS_BIND: &str = "127.0.0.1:9092";

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    http_serve::init_logging("INVENTORY_LOG");
    http_serve::exit_code(run().await)
}

async fn run() -> anyhow::Result<()> {
    let bind: SocketAddr = var("INVENTORY_BIND", "127.0.0.1:8082")
        .parse()
        .context("INVENTORY_BIND must be host:port")?;
    let stock = parse_levels(&var("INVENTORY_STOCK", "widget=100,gadget=25,gizmo=0"))
        .context("INVENTORY_STOCK")?;
    let metrics = MetricsBind::from_env("INVENTORY", DEFAULT_METRICS_BIND.parse()?, bind)?;
    let registry = metrics.enabled().then(MetricsRegistry::new);
    if let Some(r) = &registry {
        // Anything else recorded through the `metrics` facade in this process lands there too.
        r.install_global()?;
    }
    let config = Config {
        issuer: var("INVENTORY_ISSUER", "http://127.0.0.1:8080"),
        audience: var("INVENTORY_AUDIENCE", DEFAULT_AUDIENCE),
        stock,
        metrics: registry,
        // A local run's clients use the bound address itself; elsewhere it must be configured.
        external_url: std::env::var("INVENTORY_EXTERNAL_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| bind.ip().is_loopback().then(|| format!("http://{bind}"))),
    };
    let limits = http_serve::Limits::from_env("INVENTORY")?;
    tracing::info!(issuer = %config.issuer, audience = %config.audience,
        external_url = ?config.external_url, "starting");
    if config.external_url.is_none() {
        tracing::warn!("INVENTORY_EXTERNAL_URL is not set: DPoP-bound tokens are refused");
    }
    let state = build(config).await?;
    let mut app = router(state.clone());
    if let Some(m) = metrics_router(&state) {
        app = http_serve::metrics::attach(metrics, app, m).await?;
    }
    http_serve::listen(bind, app, limits, "inventory-service").await?;
    Ok(())
}
