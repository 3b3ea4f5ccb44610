//! The `orders-service` binary: configuration from the environment (see the library docs), then
//! serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use http_serve::Limits;
use orders_service::{Config, build, router};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> anyhow::Result<String> {
    var(name).with_context(|| format!("{name} is required"))
}

fn config() -> anyhow::Result<(SocketAddr, Config, Limits)> {
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
    if let Some(v) = var("ORDERS_TOKEN_REFRESH_MARGIN_SECS") {
        let secs = v
            .parse()
            .context("ORDERS_TOKEN_REFRESH_MARGIN_SECS must be a number of seconds")?;
        c.token_refresh_margin = Duration::from_secs(secs);
    }
    let limits = Limits::from_env("ORDERS")?;
    Ok((bind, c, limits))
}

#[tokio::main]
async fn main() -> ExitCode {
    http_serve::init_logging("ORDERS_LOG");
    http_serve::exit_code(run().await)
}

async fn run() -> anyhow::Result<()> {
    let (bind, config, limits) = config()?;
    tracing::info!(?config, "starting");
    let state = build(config).await?;
    http_serve::listen(bind, router(state), limits, "orders-service").await?;
    Ok(())
}
