//! The command line: `serve` (default), `migrate`, `client ...`, `keys ...`.
//!
//! Commands write to a caller-supplied writer so they are testable; `--json` gives output for scripts.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use auth_core::{Alg, Clock, SystemClock};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::app::App;
use crate::config::Config;
use crate::domain::clients::{Client, NewClient, RegistryError};
use crate::domain::keys::{RevocationOutcome, RotationOutcome};
use crate::store::Store;

mod users;

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
}

/// `user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (asks for a password unless `--no-password`).
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// Read the password as one line from standard input instead of prompting.
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// Create the user without a password (cannot sign in until one is set).
        #[arg(long)]
        no_password: bool,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List users.
    List(JsonFlag),
    /// Show one user.
    Show {
        /// Login name.
        username: String,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Refuse sign-in for a user.
    Disable {
        /// Login name.
        username: String,
    },
    /// Allow sign-in again.
    Enable {
        /// Login name.
        username: String,
    },
    /// Set a new password (prompted, or one line from standard input).
    SetPassword {
        /// Login name.
        username: String,
        /// Read the password as one line from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `client ...`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its secret once (a public client has none).
    Create(CreateClient),
    /// List clients.
    List(JsonFlag),
    /// Show one client.
    Show {
        /// Client id.
        id: String,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Disable a client: it can no longer authenticate.
    Disable {
        /// Client id.
        id: String,
    },
    /// Re-enable a disabled client.
    Enable {
        /// Client id.
        id: String,
    },
    /// Issue a new secret; the old one stops working. Prints the new secret once. Refused for a
    /// public client, which has no secret.
    RotateSecret {
        /// Client id.
        id: String,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// `client create` options.
#[derive(Debug, Args)]
pub struct CreateClient {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Client id (default: random).
    #[arg(long)]
    pub id: Option<String>,
    /// Access-token signing algorithm: ES256 or RS256.
    #[arg(long, default_value = "ES256")]
    pub alg: Alg,
    /// A scope the client may request (repeatable).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// A scope granted when the request names none (repeatable; must also be allowed).
    #[arg(long = "default-scope")]
    pub default_scopes: Vec<String>,
    /// A resource indicator (RFC 8707) the client may get tokens for (repeatable).
    #[arg(long = "resource")]
    pub resources: Vec<String>,
    /// A redirection URI for the authorization-code flow (repeatable): https, http only on
    /// 127.0.0.1 / `[::1]` / localhost, or a private-use scheme like com.example.app:/cb; no fragment.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A URI the client may be sent back to after logout (repeatable; same rules).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (browser or native app): no secret, must use PKCE.
    #[arg(long)]
    pub public: bool,
    /// A first-party client: users are not asked for consent.
    #[arg(long)]
    pub first_party: bool,
    /// Issue a refresh token from the authorization code even without the offline_access scope.
    #[arg(long)]
    pub always_refresh: bool,
    /// May introspect any access token (RFC 7662 §4); without it, only tokens issued to this client
    /// or meant for one of its --resource values.
    #[arg(long)]
    pub introspect_any: bool,
    /// Output format.
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `--json`
#[derive(Debug, Args, Clone, Copy)]
pub struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show every key and its lifecycle.
    List(JsonFlag),
    /// Create the next key now; it is published at once and signs after the publish lead.
    Rotate {
        /// Only this algorithm (default: all).
        #[arg(long)]
        alg: Option<Alg>,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Emergency revocation of a compromised key: it leaves the JWKS and stops signing at once (on
    /// this process; running servers at their next key reload), a new key of its algorithm signs at
    /// once (no publication lead: verifiers learn it through their unknown-kid refetch), its
    /// private key is erased, and the revocation feed lists it so that verifiers refuse the tokens
    /// it signed from their next poll.
    Revoke {
        /// The key id.
        kid: String,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
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
        Command::Serve | Command::Migrate => bail!("not an administrative command"),
        Command::Client(c) => client(&app, c, out).await,
        Command::Keys(k) => keys(&app, k, out).await,
        Command::User(u) => users::run(&app, u, &mut input, out).await,
    }
}

fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id, "name": c.name, "enabled": c.enabled, "alg": c.alg,
        "allowed_scopes": c.allowed_scopes, "default_scopes": c.default_scopes,
        "allowed_resources": c.allowed_resources, "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris, "public": c.public,
        "first_party": c.first_party, "always_refresh": c.always_refresh,
        "introspect_any": c.introspect_any,
        "created_at": c.created_at, "updated_at": c.updated_at,
    })
}

fn client_line(c: &Client) -> String {
    format!(
        "{}\t{}\t{}\t{}\tscopes=[{}] default=[{}] resources=[{}] type={} redirect_uris=[{}] \
         post_logout_redirect_uris=[{}] first_party={} always_refresh={} introspect_any={}",
        c.id,
        if c.enabled { "enabled" } else { "DISABLED" },
        c.alg,
        c.name,
        c.allowed_scopes.join(" "),
        c.default_scopes.join(" "),
        c.allowed_resources.join(" "),
        if c.public { "public" } else { "confidential" },
        c.redirect_uris.join(" "),
        c.post_logout_redirect_uris.join(" "),
        c.first_party,
        c.always_refresh,
        c.introspect_any
    )
}

async fn client(app: &App, cmd: ClientCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Create(c) => {
            let new = NewClient {
                id: c.id,
                name: c.name,
                alg: c.alg,
                allowed_scopes: c.scopes,
                default_scopes: c.default_scopes,
                allowed_resources: c.resources,
                redirect_uris: c.redirect_uris,
                post_logout_redirect_uris: c.post_logout_redirect_uris,
                public: c.public,
                first_party: c.first_party,
                always_refresh: c.always_refresh,
                introspect_any: c.introspect_any,
            };
            let (client, secret) = match app.clients.create(new).await {
                Ok(x) => x,
                Err(RegistryError::Store(e)) => return Err(e.into()),
                Err(e) => bail!("{e}"),
            };
            if c.json.json {
                let mut v = client_json(&client);
                if let Some(secret) = &secret {
                    v["client_secret"] = json!(secret);
                }
                writeln!(out, "{v}")?;
            } else {
                writeln!(out, "client_id:     {}", client.id)?;
                match &secret {
                    Some(secret) => {
                        writeln!(out, "client_secret: {secret}")?;
                        writeln!(out, "(the secret is shown only now; store it safely)")?;
                    }
                    None => writeln!(out, "(a public client: it has no secret and must use PKCE)")?,
                }
                for uri in &client.redirect_uris {
                    writeln!(out, "redirect_uri:  {uri}")?;
                }
                for uri in &client.post_logout_redirect_uris {
                    writeln!(out, "post_logout_redirect_uri: {uri}")?;
                }
                if client.first_party {
                    writeln!(out, "(first party: users are not asked for consent)")?;
                }
                if client.always_refresh {
                    writeln!(
                        out,
                        "(always refresh: the code grant issues a refresh token without offline_access)"
                    )?;
                }
            }
        }
        ClientCommand::List(j) => {
            let list = app.clients.list().await?;
            if j.json {
                writeln!(
                    out,
                    "{}",
                    json!(list.iter().map(client_json).collect::<Vec<_>>())
                )?;
            } else {
                for c in &list {
                    writeln!(out, "{}", client_line(c))?;
                }
            }
        }
        ClientCommand::Show { id, json: j } => {
            let Some(c) = app.clients.get(&id).await? else {
                bail!("no client {id:?}");
            };
            if j.json {
                writeln!(out, "{}", client_json(&c))?;
            } else {
                writeln!(out, "{}", client_line(&c))?;
            }
        }
        ClientCommand::Disable { id } => set_enabled(app, &id, false, out).await?,
        ClientCommand::Enable { id } => set_enabled(app, &id, true, out).await?,
        ClientCommand::RotateSecret { id, json: j } => {
            let secret = match app.clients.rotate_secret(&id).await {
                Ok(Some(secret)) => secret,
                Ok(None) => bail!("no client {id:?}"),
                Err(RegistryError::Store(e)) => return Err(e.into()),
                Err(e) => bail!("{e}"),
            };
            if j.json {
                writeln!(out, "{}", json!({"client_id": id, "client_secret": secret}))?;
            } else {
                writeln!(out, "client_id:     {id}\nclient_secret: {secret}")?;
            }
        }
    }
    Ok(())
}

async fn set_enabled(
    app: &App,
    id: &str,
    enabled: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if !app.clients.set_enabled(id, enabled).await? {
        bail!("no client {id:?}");
    }
    let state = if enabled { "enabled" } else { "disabled" };
    writeln!(
        out,
        "client {id} {state} (running servers see it within {} s)",
        app.config.clients.cache_ttl_secs
    )?;
    Ok(())
}

async fn keys(app: &App, cmd: KeysCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::List(j) => {
            let rows = app.store.list_keys().await?;
            let now = app.clock.now();
            let state = |r: &crate::domain::records::KeyRecord| {
                if r.revoked_at.is_some() {
                    "revoked"
                } else if r.removed_at.is_some_and(|t| t <= now) {
                    "removed"
                } else if r.activates_at > now {
                    "pending"
                } else if r.retires_at.is_some_and(|t| t <= now) {
                    "retired"
                } else {
                    "active"
                }
            };
            if j.json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "kid": r.kid, "alg": r.alg, "generation": r.generation, "state": state(r),
                            "published_at": r.published_at, "activates_at": r.activates_at,
                            "retires_at": r.retires_at, "removed_at": r.removed_at,
                            "revoked_at": r.revoked_at,
                        })
                    })
                    .collect();
                writeln!(out, "{}", json!(v))?;
            } else {
                writeln!(
                    out,
                    "ALG\tGEN\tSTATE\tKID\tPUBLISHED\tACTIVATES\tRETIRES\tREMOVED"
                )?;
                let t = |v: Option<i64>| v.map_or("-".to_owned(), fmt_time);
                for r in &rows {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        r.alg,
                        r.generation,
                        state(r),
                        r.kid,
                        fmt_time(r.published_at),
                        fmt_time(r.activates_at),
                        t(r.retires_at),
                        t(r.removed_at)
                    )?;
                }
            }
        }
        KeysCommand::Rotate { alg, json: j } => {
            let algs: Vec<Alg> = alg.map_or_else(|| Alg::ALL.to_vec(), |a| vec![a]);
            let outcomes = app.keys.rotate(&algs).await?;
            let mut v = Vec::new();
            for (alg, o) in outcomes {
                let (status, text) = match &o {
                    RotationOutcome::Created {
                        kid, activates_at, ..
                    } => (
                        "created",
                        format!(
                            "{alg}: created {kid}, published now, signs from {}",
                            fmt_time(*activates_at)
                        ),
                    ),
                    RotationOutcome::AlreadyPending { activates_at } => (
                        "already_pending",
                        format!(
                            "{alg}: a key is already pending; it signs from {}",
                            fmt_time(*activates_at)
                        ),
                    ),
                    RotationOutcome::LostRace => (
                        "created_elsewhere",
                        format!("{alg}: another server created the key"),
                    ),
                    RotationOutcome::NotDue => ("not_due", format!("{alg}: nothing to do")),
                };
                if j.json {
                    let (kid, activates_at) = match o {
                        RotationOutcome::Created {
                            kid, activates_at, ..
                        } => (Some(kid), Some(activates_at)),
                        RotationOutcome::AlreadyPending { activates_at } => {
                            (None, Some(activates_at))
                        }
                        _ => (None, None),
                    };
                    v.push(json!({"alg": alg, "status": status, "kid": kid, "activates_at": activates_at}));
                } else {
                    writeln!(out, "{text}")?;
                }
            }
            if j.json {
                writeln!(out, "{}", json!(v))?;
            }
        }
        KeysCommand::Revoke { kid, json: j } => {
            let outcome = app.keys.revoke(&kid).await?;
            let refresh = app.config.keys.refresh_interval_secs;
            match outcome {
                RevocationOutcome::Revoked { alg, successor } => {
                    if j.json {
                        writeln!(
                            out,
                            "{}",
                            json!({"kid": kid, "alg": alg, "status": "revoked", "successor": successor})
                        )?;
                    } else {
                        writeln!(out, "{alg}: revoked {kid}")?;
                        match successor {
                            Some(s) => writeln!(out, "{alg}: {s} signs from now")?,
                            None => writeln!(out, "{alg}: it had retired; its successor signs")?,
                        }
                        writeln!(
                            out,
                            "running servers drop it within {refresh} s; verifiers polling the \
                             revocation feed refuse its tokens from their next poll"
                        )?;
                    }
                }
                RevocationOutcome::AlreadyRevoked => bail!("key {kid:?} is already revoked"),
                RevocationOutcome::NotFound => bail!("no key {kid:?}"),
            }
        }
    }
    Ok(())
}

fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}
