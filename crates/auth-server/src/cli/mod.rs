//! The command line: `serve` (default), `migrate`, `client ...`, `keys ...`, `user ...`,
//! `audit ...`, one module per group of commands.
//!
//! Commands write to a caller-supplied writer so they are testable; `--json` gives output for scripts.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use auth_core::{Clock, SystemClock};
use clap::{Args, Parser, Subcommand};

use crate::app::App;
use crate::config::Config;
use crate::store::Store;

mod audit;
mod backup;
mod client_auth_args;
mod client_secrets;
mod clients;
pub mod healthcheck;
mod keys;
mod mfa;
mod registration;
mod token_exchange;
mod users;

pub use audit::AuditCommand;
pub use clients::{ClientCommand, CreateClient};
pub use keys::KeysCommand;
pub use mfa::MfaCommand;
pub use registration::RegistrationTokenCommand;
pub use users::UserCommand;

/// auth-server: a self-hosted OAuth 2.0 / OpenID Connect identity provider.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Configuration file (default: the embedded defaults, see config/auth-server.toml).
    #[arg(long, global = true, env = "AUTH_SERVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Inspect, rotate and revoke signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage users. Passwords are read from a prompt or standard input, never from the command line.
    #[command(subcommand)]
    User(UserCommand),
    /// Read the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Require, release or reset users' second factors.
    #[command(subcommand)]
    Mfa(MfaCommand),
    /// Initial access tokens for dynamic client registration (RFC 7591).
    #[command(subcommand)]
    RegistrationToken(RegistrationTokenCommand),
    /// Ask the running server whether it is ready (exit 0) or not (exit 1), for a container HEALTHCHECK.
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Copy the SQLite database into a new file while the server runs (PostgreSQL: use pg_dump).
    Backup(backup::BackupArgs),
}

/// `--json`
#[derive(Debug, Args, Clone, Copy)]
pub struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Writes `items` as one JSON array with `--json`, else one line each.
fn print_list<T>(
    out: &mut dyn Write,
    j: JsonFlag,
    items: &[T],
    json: fn(&T) -> serde_json::Value,
    line: fn(&T) -> String,
) -> std::io::Result<()> {
    if j.json {
        writeln!(
            out,
            "{}",
            serde_json::Value::Array(items.iter().map(json).collect())
        )
    } else {
        items.iter().try_for_each(|i| writeln!(out, "{}", line(i)))
    }
}

/// Writes `item` as a JSON object with `--json`, else as a line.
fn print_one<T>(
    out: &mut dyn Write,
    j: JsonFlag,
    item: &T,
    json: fn(&T) -> serde_json::Value,
    line: fn(&T) -> String,
) -> std::io::Result<()> {
    if j.json {
        writeln!(out, "{}", json(item))
    } else {
        writeln!(out, "{}", line(item))
    }
}

/// Where a command reads passwords from.
pub enum PasswordInput<'a> {
    /// Lines of this reader (standard input, or a test's buffer), for `--password-stdin`.
    Lines(&'a mut dyn BufRead),
    /// Nothing: commands that need a password and have no `--password-stdin` prompt on the terminal.
    Terminal,
}

impl std::fmt::Debug for PasswordInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordInput::Lines(_) => "Lines",
            PasswordInput::Terminal => "Terminal",
        })
    }
}

/// Runs an administrative command (anything but `serve`) against the configured database, reading
/// passwords from standard input (`--password-stdin`) or the terminal.
pub async fn run_admin(
    config: Config,
    command: Command,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let input = PasswordInput::Lines(&mut lock);
    run_admin_with(config, command, Arc::new(SystemClock), input, out).await
}

/// As [`run_admin`] with an explicit clock and no password input.
pub async fn run_admin_with_clock(
    config: Config,
    command: Command,
    clock: Arc<dyn Clock>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    run_admin_with(config, command, clock, PasswordInput::Terminal, out).await
}

/// As [`run_admin`] with an explicit clock and password input.
pub async fn run_admin_with(
    config: Config,
    command: Command,
    clock: Arc<dyn Clock>,
    mut input: PasswordInput<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if let Command::Backup(args) = &command {
        return backup::run(&config, args, out).await;
    }
    let store = Store::connect(&config.database)
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("migrating the database")?;
    if matches!(command, Command::Migrate) {
        writeln!(out, "migrations applied")?;
        return Ok(());
    }
    let kek = App::load_kek(&config)?;
    let app = App::from_parts(config, clock, kek, store)?;
    match command {
        Command::Serve | Command::Migrate | Command::Healthcheck(_) | Command::Backup(_) => {
            bail!("not an administrative command")
        }
        Command::Client(c) => clients::client(&app, c, out).await,
        Command::Keys(k) => keys::keys(&app, k, out).await,
        Command::User(u) => users::run(&app, u, &mut input, out).await,
        Command::Audit(a) => audit::run(&app, a, out).await,
        Command::Mfa(m) => mfa::run(&app, m, out).await,
        Command::RegistrationToken(r) => registration::run(&app, r, out).await,
    }
}
