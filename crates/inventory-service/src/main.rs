//! The `inventory-service` binary: configuration from the environment (see the library docs; every
//! variable may also be given as `<NAME>_FILE`), then serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use auth_verifier::service_config::{ServiceConfig, ServiceEnv};
use http_serve::metrics::{MetricsBind, MetricsRegistry};
use inventory_service::{Config, DEFAULT_AUDIENCE, build, metrics_router, parse_levels, router};

/// Where `/metrics` is served unless `INVENTORY_METRICS_BIND` says otherwise: loopback only.
const DEFAULT_METRICS_BIND: &str = "127.0.0.1:9092";
/// Stock when `INVENTORY_STOCK` is unset.
const DEFAULT_STOCK: &str = "widget=100,gadget=25,gizmo=0";

#[tokio::main]
async fn main() -> ExitCode {
    http_serve::init_logging("INVENTORY_LOG");
    http_serve::exit_code(run().await)
}

async fn run() -> anyhow::Result<()> {
    let env = ServiceEnv::new("INVENTORY");
    let bind: SocketAddr = env
        .parse("BIND", "host:port")?
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8082)));
    let levels = env.get("STOCK")?;
    let stock =
        parse_levels(levels.as_deref().unwrap_or(DEFAULT_STOCK)).context("INVENTORY_STOCK")?;
    let service = ServiceConfig::from_env(&env, "http://127.0.0.1:8080", DEFAULT_AUDIENCE)?;
    if service.audiences.len() > 1 {
        anyhow::bail!("INVENTORY_AUDIENCE: this service accepts one audience");
    }
    let metrics = MetricsBind::from_env("INVENTORY", DEFAULT_METRICS_BIND.parse()?, bind)?;
    let registry = metrics.enabled().then(MetricsRegistry::new);
    if let Some(r) = &registry {
        // Anything else recorded through the `metrics` facade in this process lands there too.
        r.install_global()?;
    }
    let config = Config {
        issuer: service.issuer.clone(),
        audience: service.audience().to_owned(),
        stock,
        metrics: registry,
        // A local run's clients use the bound address itself; elsewhere it must be configured.
        external_url: service
            .external_url
            .clone()
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
