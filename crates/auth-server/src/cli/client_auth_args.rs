//! `client create` / `client update` options for how a client authenticates
//! (`token_endpoint_auth_method`, RFC 7591 §2) and its `private_key_jwt` keys (RFC 7523 §2.2).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use crate::app::App;
use crate::domain::clients::{AuthMethod, ClientError, ClientUpdate};

/// The authentication options.
#[derive(Debug, Args, Default)]
pub struct KeyAuthArgs {
    /// How the client authenticates: client_secret_basic (default; the secret may also be sent in
    /// the body), client_secret_post, private_key_jwt (no secret; needs --jwks-file or --jwks-uri),
    /// or none (public clients).
    #[arg(long = "auth-method", value_name = "METHOD", value_parser = parse_method)]
    pub auth_method: Option<AuthMethod>,
    /// A JWK Set file (public keys only) for private_key_jwt.
    #[arg(long, value_name = "FILE", conflicts_with = "jwks_uri")]
    pub jwks_file: Option<PathBuf>,
    /// A URL serving the client's JWK Set for private_key_jwt: https (http only on a loopback host).
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,
}

fn parse_method(s: &str) -> Result<AuthMethod, String> {
    s.parse()
}

impl KeyAuthArgs {
    /// The JWK Set file's text, if one was named.
    pub fn jwks(&self) -> anyhow::Result<Option<String>> {
        self.jwks_file
            .as_ref()
            .map(|p| {
                std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
            })
            .transpose()
    }
}

/// `client update ID [--auth-method M] [--jwks-file F | --jwks-uri U]`.
pub(super) async fn update(
    app: &App,
    id: &str,
    args: &KeyAuthArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let update = ClientUpdate {
        token_endpoint_auth_method: args.auth_method,
        jwks: args.jwks()?,
        jwks_uri: args.jwks_uri.clone(),
        ..ClientUpdate::default()
    };
    let cli = crate::domain::audit::Actor::Admin("cli".into());
    let meta = crate::domain::audit::RequestMeta::default();
    let client = match app.clients.update_by(id, update, &cli, &meta).await {
        Ok(Some(c)) => c,
        Ok(None) => bail!("no client {id:?}"),
        Err(ClientError::Store(e)) => return Err(e.into()),
        Err(e) => bail!("{e}"),
    };
    writeln!(
        out,
        "client {id} updated: token_endpoint_auth_method {} (running servers see it within {} s)",
        client.token_endpoint_auth_method, app.config.clients.cache_ttl_secs
    )?;
    if client.token_endpoint_auth_method.uses_secret() && client.secret_sha256.is_empty() {
        writeln!(
            out,
            "(it has no secret yet: run `client rotate-secret {id}`)"
        )?;
    }
    Ok(())
}
