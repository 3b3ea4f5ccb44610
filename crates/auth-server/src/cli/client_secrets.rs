//! `auth-server client rotate-secret | expire-previous-secret | update | show`: secret rotation
//! with overlap, a client's rate limit, and what `show` tells of them (never a secret).

use std::io::Write;

use anyhow::bail;
use clap::Args;
use serde_json::{Value, json};

use super::JsonFlag;
use super::client_auth_args::KeyAuthArgs;
use super::clients::{client_json, client_line};
use crate::app::App;
use crate::domain::audit::{Actor, RequestMeta};
use crate::domain::clients::token_exchange_policy::policy_json;
use crate::domain::clients::{
    Client, ClientError, ClientUpdate, MAX_SECRET_OVERLAP_SECS, PreviousSecret, RateLimit,
};

/// `client update` options: the settings to change (others stay).
#[derive(Debug, Args)]
pub struct UpdateClient {
    /// Client id.
    pub id: String,
    /// Its own rate limit at /token, /introspect and /revoke: `<requests>/<s|min|h>[,burst=<n>]`,
    /// `off`, or `default` (rate_limits.per_client).
    #[arg(long, value_name = "LIMIT", value_parser = parse_limit)]
    pub rate_limit: Option<LimitArg>,
    /// How the client authenticates (token_endpoint_auth_method, private_key_jwt keys).
    #[command(flatten)]
    pub auth: KeyAuthArgs,
    /// Output format.
    #[command(flatten)]
    pub json: JsonFlag,
}

/// A `--rate-limit` of `client update`: a limit, or back to the default.
#[derive(Debug, Clone, Copy)]
pub struct LimitArg(Option<RateLimit>);

fn parse_limit(s: &str) -> Result<LimitArg, String> {
    if s == "default" {
        return Ok(LimitArg(None));
    }
    s.parse()
        .map(|l| LimitArg(Some(l)))
        .map_err(|e| format!("{e}"))
}

/// A duration: whole seconds, or a number followed by `s`, `m`, `h` or `d`; 0 to 30 days.
pub(super) fn parse_duration(s: &str) -> Result<i64, String> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: use seconds, or a number with s, m, h or d")),
    };
    digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| (0..=MAX_SECRET_OVERLAP_SECS).contains(n))
        .ok_or_else(|| format!("{s:?}: from 0 to 30d"))
}

fn cli() -> (Actor, RequestMeta) {
    (Actor::Admin("cli".into()), RequestMeta::default())
}

fn fail(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Store(e) => e.into(),
        e => anyhow::anyhow!("{e}"),
    }
}

/// `client show`: the client, its rate limit, and until when its previous secret is accepted.
pub(super) async fn show(
    app: &App,
    c: &Client,
    j: JsonFlag,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let until = c.previous_secret_valid_until(app.clock.now());
    let exchange = app
        .clients
        .token_exchange_policy(&c.id)
        .await
        .map_err(fail)?;
    if j.json {
        let mut v = client_json(c);
        v["previous_secret_valid_until"] = json!(until);
        v["token_exchange"] = exchange.as_ref().map_or(Value::Null, policy_json);
        writeln!(out, "{v}")?;
    } else {
        let previous = until.map_or_else(|| "none".to_owned(), |u| format!("valid until {u}"));
        writeln!(out, "{} previous_secret={previous}", client_line(c))?;
        match &exchange {
            Some(p) => writeln!(out, "  {}", super::token_exchange::describe(p))?,
            None => writeln!(out, "  token exchange off")?,
        }
    }
    Ok(())
}

/// `client rotate-secret`.
pub(super) async fn rotate(
    app: &App,
    id: &str,
    overlap: Option<i64>,
    j: JsonFlag,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let (actor, meta) = cli();
    let Some(r) = app
        .clients
        .rotate_secret_by(id, overlap, &actor, &meta)
        .await
        .map_err(fail)?
    else {
        bail!("no client {id:?}");
    };
    if j.json {
        let v = json!({
            "client_id": id, "client_secret": r.secret,
            "previous_secret_valid_until": r.previous_valid_until,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "client_id:     {id}\nclient_secret: {}", r.secret)?;
        match r.previous_valid_until {
            Some(u) => writeln!(
                out,
                "(the previous secret is accepted until {u}; `client expire-previous-secret {id}` ends it now)"
            )?,
            None => writeln!(out, "(the previous secret no longer works)")?,
        }
    }
    Ok(())
}

/// `client expire-previous-secret`.
pub(super) async fn expire_previous(
    app: &App,
    id: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let (actor, meta) = cli();
    let done = app
        .clients
        .expire_previous_secret_by(id, &actor, &meta)
        .await
        .map_err(fail)?;
    let ttl = app.config.clients.cache_ttl_secs;
    match done {
        PreviousSecret::Expired => writeln!(
            out,
            "client {id}: the previous secret no longer works (running servers see it within {ttl} s)"
        )?,
        PreviousSecret::NoneValid => {
            writeln!(
                out,
                "client {id}: no previous secret was accepted; nothing changed"
            )?;
        }
        PreviousSecret::NotFound => bail!("no client {id:?}"),
    }
    Ok(())
}

/// `client update ID [--rate-limit L] [--auth-method M] [--jwks-file F | --jwks-uri U]`: the
/// named settings change, the others stay.
pub(super) async fn update(app: &App, u: UpdateClient, out: &mut dyn Write) -> anyhow::Result<()> {
    let (actor, meta) = cli();
    let update = ClientUpdate {
        rate_limit: u.rate_limit.map(|l| l.0),
        token_endpoint_auth_method: u.auth.auth_method,
        jwks: u.auth.jwks()?,
        jwks_uri: u.auth.jwks_uri.clone(),
        ..ClientUpdate::default()
    };
    let Some(c) = app
        .clients
        .update_by(&u.id, update, &actor, &meta)
        .await
        .map_err(fail)?
    else {
        bail!("no client {:?}", u.id);
    };
    if !u.json.json {
        writeln!(
            out,
            "client {} updated: token_endpoint_auth_method {} (running servers see it within {} s)",
            c.id, c.token_endpoint_auth_method, app.config.clients.cache_ttl_secs
        )?;
        if c.token_endpoint_auth_method.uses_secret() && c.secret_sha256.is_empty() {
            writeln!(
                out,
                "(it has no secret yet: run `client rotate-secret {}`)",
                c.id
            )?;
        }
    }
    show(app, &c, u.json, out).await
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("30d"), Ok(30 * 86_400));
        for bad in ["", "31d", "-1", "1w", "h", "1.5h", "99999999999999999999"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
