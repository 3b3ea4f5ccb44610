//! The `auth-server` binary: parses the command line, loads configuration, sets up logging, runs
//! the command.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use auth_core::SystemClock;
use auth_server::app::App;
use auth_server::cli::{Cli, Command};
use auth_server::config::{Config, LogFormat};
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return failure(&e.into()),
    };
    init_logging(&cli, &config);
    match run(cli, config).await {
        Ok(code) => code,
        Err(e) => failure(&e),
    }
}

fn failure(e: &anyhow::Error) -> std::process::ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {e:#}");
    std::process::ExitCode::FAILURE
}

/// Logs to stderr in `log.format`, filtered by `AUTH_SERVER_LOG` (env-filter syntax). The server
/// logs at info; administrative commands keep their output clean for scripts.
fn init_logging(cli: &Cli, config: &Config) {
    let default_level = match cli.command {
        None | Some(Command::Serve) => "info",
        Some(_) => "warn",
    };
    let filter = std::env::var("AUTH_SERVER_LOG").unwrap_or_else(|_| default_level.to_owned());
    let format = match config.log.format {
        LogFormat::Text => http_serve::LogFormat::Text,
        LogFormat::Json => http_serve::LogFormat::Json,
    };
    // The only subscriber of this process: installing it cannot find another.
    let _ = http_serve::install_logging(format, &filter, std::io::stderr);
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<std::process::ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config)
            .await
            .map(|()| std::process::ExitCode::SUCCESS),
        Command::Healthcheck(args) => {
            let mut out = std::io::stdout().lock();
            let ok = auth_server::cli::healthcheck::run(&config, &args, &mut out).await?;
            Ok(if ok {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
        other => {
            let mut out = std::io::stdout().lock();
            auth_server::cli::run_admin(config, other, &mut out).await?;
            Ok(std::process::ExitCode::SUCCESS)
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
