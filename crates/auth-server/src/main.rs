//! The `auth-server` binary: parses the command line, loads configuration, runs the command.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use auth_core::SystemClock;
use auth_server::app::App;
use auth_server::cli::{Cli, Command};
use auth_server::config::Config;
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The server logs at info; administrative commands keep their output clean for scripts.
    let default_level = match cli.command {
        None | Some(Command::Serve) => "info",
        Some(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AUTH_SERVER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        other => {
            let mut out = std::io::stdout().lock();
            auth_server::cli::run_admin(config, other, &mut out).await
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.server.bind;
    let issuer = config.server.issuer.clone();
    let kek = App::load_kek(&config)?;
    let app = App::start(config, Arc::new(SystemClock), kek).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let admin = if app.config.admin.enabled {
        let admin_bind = app.config.admin.bind;
        let admin = tokio::net::TcpListener::bind(admin_bind)
            .await
            .with_context(|| format!("binding the admin listener {admin_bind}"))?;
        tracing::info!(bind = %admin_bind, "admin listener (metrics, admin API)");
        Some(admin)
    } else {
        None
    };
    tracing::info!(%bind, %issuer, "auth-server listening");
    app.serve(listener, admin, http_serve::shutdown_signal())
        .await?;
    Ok(())
}
