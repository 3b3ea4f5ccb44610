//! `auth-server audit list`: the audit trail, newest first, filtered and paged.

use std::io::Write;

use anyhow::bail;
use clap::{Args, Subcommand};

use super::{JsonFlag, print_list};
use crate::app::App;
use crate::domain::audit::{EventType, record_json};
use crate::model::audit::{AuditQuery, AuditRecord};

/// The most events one `audit list` prints.
const MAX_LIMIT: u64 = 10_000;

/// `audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first. Page with `--before` (the last id printed).
    List(ListArgs),
}

/// `audit list` filters.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only events at or after this time: RFC 3339 (`2026-11-29T18:00:00Z`) or Unix seconds.
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Only events about this user (as actor or subject): a username or a user id.
    // User ids are random base64url and may start with '-'.
    #[arg(long, allow_hyphen_values = true)]
    pub user: Option<String>,
    /// Only events about this client (client id).
    #[arg(long, allow_hyphen_values = true)]
    pub client: Option<String>,
    /// Only events of this type (e.g. `sign_in.failure`; see the README's table).
    #[arg(long = "type", value_parser = parse_type)]
    pub event_type: Option<EventType>,
    /// Only events with an id below this one (the next page after the last id printed).
    #[arg(long)]
    pub before: Option<i64>,
    /// At most this many events.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=MAX_LIMIT))]
    pub limit: u64,
    /// Output format.
    #[command(flatten)]
    pub json: JsonFlag,
}

/// RFC 3339 or Unix seconds.
fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(time::OffsetDateTime::unix_timestamp)
        .map_err(|_| format!("{s:?} is neither RFC 3339 (2026-11-29T18:00:00Z) nor Unix seconds"))
}

/// One of the stored event type names.
fn parse_type(s: &str) -> Result<EventType, String> {
    EventType::parse(s).ok_or_else(|| {
        let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        format!("unknown event type {s:?}; one of: {}", names.join(", "))
    })
}

pub(super) async fn run(app: &App, cmd: AuditCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let AuditCommand::List(a) = cmd;
    if a.limit == 0 || a.limit > MAX_LIMIT {
        bail!("--limit must be between 1 and {MAX_LIMIT}");
    }
    // A username is resolved to its user id; anything else is taken as an id (the user may have
    // been deleted since: their events stay).
    let user_id = match a.user {
        Some(u) => match app.users.find(&u).await? {
            Some(found) => Some(found.id),
            None => Some(u),
        },
        None => None,
    };
    let events = app
        .store
        .audit_events(&AuditQuery {
            since: a.since,
            user_id,
            client_id: a.client,
            event_type: a.event_type.map(|t| t.as_str().to_owned()),
            before_id: a.before,
            limit: a.limit,
        })
        .await?;
    print_list(out, a.json, &events, record_json, line)?;
    Ok(())
}

/// One tab-separated line: id, time, type, actor, user, client, subject, address, request id,
/// details.
fn line(r: &AuditRecord) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let actor = match &r.actor_id {
        Some(id) => format!("{}:{id}", r.actor_kind),
        None => r.actor_kind.clone(),
    };
    let at = time::OffsetDateTime::from_unix_timestamp(r.at)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| r.at.to_string());
    [
        r.id.to_string(),
        at,
        r.event_type.clone(),
        actor,
        opt(&r.user_id),
        opt(&r.client_id),
        opt(&r.subject),
        opt(&r.client_addr),
        opt(&r.request_id),
        opt(&r.detail),
    ]
    .join("\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_types_parse() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T23:13:20+01:00"), Ok(1_700_000_000));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_type("logout"), Ok(EventType::Logout));
        assert!(parse_type("sign_in").is_err_and(|e| e.contains("sign_in.failure")));
    }
}
