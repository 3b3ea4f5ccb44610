//! `auth-server client ...`: registering, listing, enabling and disabling clients, and rotating
//! their secrets.

use std::io::Write;

use anyhow::bail;
use auth_core::Alg;
use clap::{Args, Subcommand};
use serde_json::json;

use super::client_auth_args::KeyAuthArgs;
use super::{JsonFlag, print_list};
use crate::app::App;
use crate::domain::clients::{Client, ClientError, ClientUpdate, NewClient};
use crate::domain::values::DpopPolicy;

/// `client ...`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its secret once (a public client has none).
    Create(Box<CreateClient>),
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
    /// Delete a client: its access tokens are cut off (revocation feed), its grants revoked, its
    /// codes and consents deleted, in one transaction with the audit event.
    Delete {
        /// Client id.
        id: String,
    },
    /// Issue a new secret; prints it once. The old one stays accepted for the overlap
    /// (--overlap, default clients.secret_rotation_overlap_secs), then stops. Refused for a public
    /// client, which has no secret.
    RotateSecret {
        /// Client id.
        id: String,
        /// How long the old secret stays accepted: seconds, or a number with s, m, h or d (`0`:
        /// it stops at once; at most 30d).
        #[arg(long, value_name = "DURATION", value_parser = super::client_secrets::parse_duration)]
        overlap: Option<i64>,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set the client's DPoP policy (RFC 9449): allowed (a proof binds its tokens), required (a
    /// token request without a proof is refused), or disabled (proofs are refused).
    SetDpop {
        /// Client id.
        id: String,
        /// allowed, required or disabled.
        policy: DpopPolicy,
    },
    /// Set the client's token-exchange policy (RFC 8693), or remove it with --off (then it may not
    /// exchange tokens, the default). Seen by every server at once.
    SetTokenExchange(super::token_exchange::SetTokenExchange),
    /// End the previous secret's overlap now: only the current secret is accepted (replicas see
    /// it within clients.cache_ttl_secs).
    ExpirePreviousSecret {
        /// Client id.
        id: String,
    },
    /// Change a client's settings.
    Update(super::client_secrets::UpdateClient),
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
    /// A web origin (https://host or https://host:port) that may call the token, revocation and userinfo
    /// endpoints from a browser (CORS), besides the redirect URIs' origins (repeatable).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
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
    /// Where to POST logout tokens when a session in which the client got tokens ends (OpenID
    /// Connect Back-Channel Logout 1.0): https, or http on a loopback host; no fragment.
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// The client requires `sid` in its logout tokens (they always carry it).
    #[arg(long)]
    pub backchannel_logout_session_required: bool,
    /// Every sign-in to this client needs a second factor (TOTP).
    #[arg(long)]
    pub require_mfa: bool,
    /// Its own rate limit at /token, /introspect and /revoke: `<requests>/<s|min|h>[,burst=<n>]`
    /// or `off` (default: rate_limits.per_client).
    #[arg(long, value_name = "LIMIT")]
    pub rate_limit: Option<crate::domain::clients::RateLimit>,
    /// How the client authenticates.
    #[command(flatten)]
    pub auth: KeyAuthArgs,
    /// DPoP (RFC 9449): allowed (a proof binds its tokens to the key), required (a token request
    /// without a proof is refused), or disabled (proofs are refused).
    #[arg(long, default_value = "allowed", value_name = "POLICY")]
    pub dpop: DpopPolicy,
    /// Its authorization requests must be pushed to /par first (RFC 9126); a plain /authorize
    /// request is refused.
    #[arg(long)]
    pub require_pushed_authorization_requests: bool,
    /// Output format.
    #[command(flatten)]
    pub json: JsonFlag,
}

pub(super) fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id, "name": c.name, "enabled": c.enabled, "alg": c.alg,
        "allowed_scopes": c.allowed_scopes, "default_scopes": c.default_scopes,
        "allowed_resources": c.allowed_resources, "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris, "public": c.public,
        "allowed_origins": c.allowed_origins,
        "first_party": c.first_party, "always_refresh": c.always_refresh,
        "introspect_any": c.introspect_any,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "backchannel_logout_session_required": c.backchannel_logout_session_required,
        "introspect_any": c.introspect_any, "require_mfa": c.require_mfa,
        "rate_limit": c.rate_limit.map(|r| r.to_string()),
        "token_endpoint_auth_method": c.token_endpoint_auth_method.as_str(),
        "jwks": c.jwks.as_deref().and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok()),
        "jwks_uri": c.jwks_uri,
        "dpop": c.dpop.as_str(),
        "require_pushed_authorization_requests": c.require_pushed_authorization_requests,
        "created_at": c.created_at, "updated_at": c.updated_at,
    })
}

pub(super) fn client_line(c: &Client) -> String {
    format!(
        "{}\t{}\t{}\t{}\tscopes=[{}] default=[{}] resources=[{}] type={} redirect_uris=[{}] \
         post_logout_redirect_uris=[{}] allowed_origins=[{}] first_party={} always_refresh={} introspect_any={} require_mfa={} \
         rate_limit={} auth_method={} dpop={} require_par={}",
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
        c.allowed_origins.join(" "),
        c.first_party,
        c.always_refresh,
        c.introspect_any,
        c.require_mfa,
        c.rate_limit
            .map_or_else(|| "default".to_owned(), |r| r.to_string()),
        c.token_endpoint_auth_method,
        c.dpop,
        c.require_pushed_authorization_requests
    )
}

pub(super) async fn client(
    app: &App,
    cmd: ClientCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Create(c) => {
            let c = *c;
            let new = NewClient {
                id: c.id,
                name: c.name,
                alg: c.alg,
                allowed_scopes: c.scopes,
                default_scopes: c.default_scopes,
                allowed_resources: c.resources,
                redirect_uris: c.redirect_uris,
                post_logout_redirect_uris: c.post_logout_redirect_uris,
                allowed_origins: c.allowed_origins,
                public: c.public,
                first_party: c.first_party,
                always_refresh: c.always_refresh,
                introspect_any: c.introspect_any,
                backchannel_logout_uri: c.backchannel_logout_uri,
                backchannel_logout_session_required: c.backchannel_logout_session_required,
                require_mfa: c.require_mfa,
                rate_limit: c.rate_limit,
                token_endpoint_auth_method: c.auth.auth_method,
                jwks: c.auth.jwks()?,
                jwks_uri: c.auth.jwks_uri.clone(),
                dpop: c.dpop,
                require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            };
            let cli = crate::domain::audit::Actor::Admin("cli".into());
            let meta = crate::domain::audit::RequestMeta::default();
            let (client, secret) = match app.clients.create_by(new, &cli, &meta).await {
                Ok(x) => x,
                Err(ClientError::Store(e)) => return Err(e.into()),
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
                    None if client.public => {
                        writeln!(out, "(a public client: it has no secret and must use PKCE)")?
                    }
                    None => writeln!(
                        out,
                        "(authenticates with private_key_jwt: it has no secret)"
                    )?,
                }
                for uri in &client.redirect_uris {
                    writeln!(out, "redirect_uri:  {uri}")?;
                }
                for uri in &client.post_logout_redirect_uris {
                    writeln!(out, "post_logout_redirect_uri: {uri}")?;
                }
                if let Some(uri) = &client.backchannel_logout_uri {
                    writeln!(out, "backchannel_logout_uri: {uri}")?;
                }
                for origin in &client.allowed_origins {
                    writeln!(out, "allowed_origin: {origin}")?;
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
            print_list(out, j, &list, client_json, client_line)?;
        }
        ClientCommand::Show { id, json: j } => {
            let Some(c) = app.clients.fresh(&id).await? else {
                bail!("no client {id:?}");
            };
            super::client_secrets::show(app, &c, j, out).await?;
        }
        ClientCommand::SetDpop { id, policy } => {
            let cli = crate::domain::audit::Actor::Admin("cli".into());
            let meta = crate::domain::audit::RequestMeta::default();
            let update = ClientUpdate {
                dpop: Some(policy),
                ..ClientUpdate::default()
            };
            match app.clients.update_by(&id, update, &cli, &meta).await {
                Ok(Some(_)) => writeln!(
                    out,
                    "client {id}: dpop={policy} (running servers see it within {} s)",
                    app.config.clients.cache_ttl_secs
                )?,
                Ok(None) => bail!("no client {id:?}"),
                Err(ClientError::Store(e)) => return Err(e.into()),
                Err(e) => bail!("{e}"),
            }
        }
        ClientCommand::SetTokenExchange(a) => super::token_exchange::set(app, a, out).await?,
        ClientCommand::Disable { id } => set_enabled(app, &id, false, out).await?,
        ClientCommand::Enable { id } => set_enabled(app, &id, true, out).await?,
        ClientCommand::Delete { id } => {
            let cli = crate::domain::audit::Actor::Admin("cli".into());
            let meta = crate::domain::audit::RequestMeta::default();
            if !app.clients.delete_by(&id, &cli, &meta).await? {
                bail!("no client {id:?}");
            }
            writeln!(
                out,
                "client {id} deleted; its grants and tokens are revoked"
            )?;
        }
        ClientCommand::RotateSecret { id, overlap, json } => {
            super::client_secrets::rotate(app, &id, overlap, json, out).await?;
        }
        ClientCommand::ExpirePreviousSecret { id } => {
            super::client_secrets::expire_previous(app, &id, out).await?;
        }
        ClientCommand::Update(u) => super::client_secrets::update(app, u, out).await?,
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
