//! The `inventory-service` binary: configuration from the environment (see the library docs), then
//! serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use inventory_service::{Config, DEFAULT_AUDIENCE, build, parse_levels, router};

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INVENTORY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
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
    let (issuer, audience) = (config.issuer.clone(), config.audience.clone());
    let state = build(config).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    tracing::info!(%bind, %issuer, %audience, "inventory-service listening");
    http_serve::serve(listener, router(state), limits, shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
