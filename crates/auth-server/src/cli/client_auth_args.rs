//! `client create` / `client update` options for how a client authenticates
//! (`token_endpoint_auth_method`, RFC 7591 §2) and its `private_key_jwt` keys (RFC 7523 §2.2).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::domain::clients::AuthMethod;

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
