//! `auth-server registration-token ...`: initial access tokens for dynamic client registration
//! (RFC 7591 §3): create (the token is printed once), list, revoke.

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::{JsonFlag, print_list};
use crate::app::App;
use crate::domain::audit::{Actor, RequestMeta};
use crate::domain::clients::{ClientError, Flip, NewRegistrationToken};
use crate::model::registration::RegistrationToken;

/// `registration-token ...`
#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Create an initial access token; prints it once (it is stored only as a digest).
    Create {
        /// Lifetime: a number with a unit, s, m, h or d (`30d`, `12h`); none: it never expires.
        #[arg(long, value_parser = parse_duration)]
        expires: Option<i64>,
        /// How many clients it may register (default: unlimited).
        #[arg(long = "max-uses")]
        max_uses: Option<i64>,
        /// A scope its clients may be allowed (repeatable, or space-separated); none: no scope.
        #[arg(long = "scope", num_args = 1..)]
        scopes: Vec<String>,
        /// A resource indicator (RFC 8707) its clients may get tokens for (repeatable): the
        /// audience of their client-credentials tokens.
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// Output format.
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List initial access tokens (never the tokens themselves).
    List(JsonFlag),
    /// Revoke an initial access token by id; the clients it registered stay.
    Revoke {
        /// Token id (from `list` or `create`).
        id: String,
    },
}

/// Seconds of a duration such as `90s`, `15m`, `12h` or `30d`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30d, 12h, 15m or 90s"))?;
    let factor = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// The JSON of a token's record (no secret: only its id and policy).
pub fn token_json(t: &RegistrationToken) -> serde_json::Value {
    json!({
        "id": t.id,
        "allowed_scopes": t.allowed_scopes,
        "allowed_resources": t.allowed_resources,
        "max_uses": t.max_uses,
        "uses": t.uses,
        "expires_at": t.expires_at,
        "revoked_at": t.revoked_at,
        "created_at": t.created_at,
    })
}

fn token_line(t: &RegistrationToken) -> String {
    let or = |v: Option<i64>, none: &str| v.map_or(none.to_owned(), |v| v.to_string());
    format!(
        "{}  scopes={}  resources={}  uses={}/{}  expires_at={}  revoked_at={}",
        t.id,
        t.allowed_scopes.join(","),
        t.allowed_resources.join(","),
        t.uses,
        or(t.max_uses, "unlimited"),
        or(t.expires_at, "never"),
        or(t.revoked_at, "-"),
    )
}

/// Runs a `registration-token` command.
pub async fn run(
    app: &App,
    command: RegistrationTokenCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let cli = Actor::Admin("cli".into());
    let meta = RequestMeta::default();
    match command {
        RegistrationTokenCommand::Create {
            expires,
            max_uses,
            scopes,
            resources,
            json: j,
        } => {
            let new = NewRegistrationToken {
                expires_in_secs: expires,
                max_uses,
                allowed_scopes: scopes
                    .iter()
                    .flat_map(|s| s.split_whitespace())
                    .map(str::to_owned)
                    .collect(),
                allowed_resources: resources,
            };
            let (record, token) = match app
                .clients
                .create_registration_token(new, &cli, &meta)
                .await
            {
                Ok(x) => x,
                Err(ClientError::Store(e)) => return Err(e.into()),
                Err(e) => bail!("{e}"),
            };
            if j.json {
                let mut v = token_json(&record);
                v["token"] = json!(token);
                writeln!(out, "{v}")?;
            } else {
                writeln!(out, "id:    {}", record.id)?;
                writeln!(out, "token: {token}")?;
                writeln!(
                    out,
                    "(the token is shown only now; send it to the partner safely)"
                )?;
            }
        }
        RegistrationTokenCommand::List(j) => {
            let list = app.clients.registration_tokens().await?;
            print_list(out, j, &list, token_json, token_line)?;
        }
        RegistrationTokenCommand::Revoke { id } => {
            match app
                .clients
                .revoke_registration_token(&id, &cli, &meta)
                .await?
            {
                Flip::Changed => writeln!(out, "registration token {id} revoked")?,
                Flip::Unchanged => writeln!(out, "registration token {id} was already revoked")?,
                Flip::NotFound => bail!("no registration token {id:?}"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("30d"), Ok(2_592_000));
        for bad in ["", "d", "1w", "-1d", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
