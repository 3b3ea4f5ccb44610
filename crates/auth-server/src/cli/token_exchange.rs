//! `auth-server client set-token-exchange`: a client's token-exchange policy (RFC 8693), or
//! `--off` to remove it (the client may then not exchange tokens).

use std::io::Write;

use anyhow::bail;
use clap::Args;

use super::JsonFlag;
use crate::app::App;
use crate::domain::audit::{Actor, RequestMeta};
use crate::domain::clients::ClientError;
use crate::domain::clients::token_exchange_policy::{
    NewTokenExchangePolicy, TokenExchangePolicy, policy_json,
};

/// `client set-token-exchange` options.
#[derive(Debug, Args)]
pub struct SetTokenExchange {
    /// Client id (a confidential client).
    pub id: String,
    /// An audience a subject token must be addressed to (repeatable, at least one): the
    /// service's own, so that it can exchange only tokens that were sent to it.
    #[arg(
        long = "subject-audience",
        value_name = "URI",
        required_unless_present = "off"
    )]
    pub subject_audiences: Vec<String>,
    /// An audience (RFC 8707 resource) it may ask for (repeatable, at least one).
    #[arg(long = "audience", value_name = "URI", required_unless_present = "off")]
    pub audiences: Vec<String>,
    /// A scope that may pass from the subject token into an exchanged one (repeatable).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Impersonation: exchanged tokens carry no `act` claim naming this client (default:
    /// delegation, `act: {"sub": <client id>}`).
    #[arg(long)]
    pub impersonation: bool,
    /// Remove the policy: the client may no longer exchange tokens.
    #[arg(long, conflicts_with_all = ["subject_audiences", "audiences", "scopes", "impersonation"])]
    pub off: bool,
    /// Output format.
    #[command(flatten)]
    pub json: JsonFlag,
}

/// Runs `client set-token-exchange`.
pub(super) async fn set(app: &App, a: SetTokenExchange, out: &mut dyn Write) -> anyhow::Result<()> {
    let policy = (!a.off).then_some(NewTokenExchangePolicy {
        subject_audiences: a.subject_audiences,
        audiences: a.audiences,
        scopes: a.scopes,
        impersonation: a.impersonation,
    });
    let cli = Actor::Admin("cli".into());
    let done = app
        .clients
        .set_token_exchange_policy(&a.id, policy, &cli, &RequestMeta::default())
        .await;
    let id = &a.id;
    match done {
        Ok(Some(Some(p))) if a.json.json => writeln!(out, "{}", policy_json(&p))?,
        Ok(Some(Some(p))) => writeln!(out, "client {id}: {}", describe(&p))?,
        Ok(Some(None)) if a.json.json => writeln!(out, "null")?,
        Ok(Some(None)) => writeln!(out, "client {id}: token exchange off")?,
        Ok(None) => bail!("no client {id:?}"),
        Err(ClientError::Store(e)) => return Err(e.into()),
        Err(e) => bail!("{e}"),
    }
    Ok(())
}

/// A policy in words, as `client set-token-exchange` and `client show` print it.
pub(super) fn describe(p: &TokenExchangePolicy) -> String {
    format!(
        "token exchange of tokens for {} into tokens for {}, scopes [{}], {}",
        p.subject_audiences,
        p.audiences,
        p.scopes,
        if p.impersonation {
            "impersonation (no act claim)"
        } else {
            "delegation (act names the client)"
        }
    )
}
