//! The `inventory-service` binary: configuration from the environment (see the library docs), then
//! serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use inventory_service::{Config, DEFAULT_AUDIENCE, build, parse_levels, router};

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
    let config = Config {
        issuer: var("INVENTORY_ISSUER", "http://127.0.0.1:8080"),
        audience: var("INVENTORY_AUDIENCE", DEFAULT_AUDIENCE),
        stock,
    };
    let limits = http_serve::Limits::from_env("INVENTORY")?;
    tracing::info!(issuer = %config.issuer, audience = %config.audience, "starting");
    let state = build(config).await?;
    http_serve::listen(bind, router(state), limits, "inventory-service").await?;
    Ok(())
}
