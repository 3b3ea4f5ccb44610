//! `GET /admin/v1/audit-events`: the audit trail, newest first, a page at a time (`cursor` is the
//! previous page's `next`), filtered by `since` (Unix seconds), `user`, `client` and `type`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminApi, AdminQuery, Op, Problem, Routes, schemas};
use crate::domain::audit::EventType;
use crate::domain::audit_trail::MAX_PAGE;
use crate::model::audit::{AuditQuery, AuditRecord};

/// `GET /audit-events` query.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    since: Option<i64>,
    user: Option<String>,
    client: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub(super) fn register(r: Routes) -> Routes {
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    schemas::audit(r).add(
        Op::get("/audit-events", "Query the audit trail, newest first")
            .tag("audit")
            .query(
                "since",
                json!({"type": "integer"}),
                "Only events at or after this time (Unix seconds)",
            )
            .query(
                "user",
                id_schema(),
                "Only events about this user id (as actor or subject)",
            )
            .query("client", id_schema(), "Only events about this client id")
            .query(
                "type",
                json!({"type": "string", "enum": types}),
                "Only events of this type",
            )
            .query(
                "cursor",
                json!({"type": "string", "pattern": "^[0-9]{1,18}$"}),
                "The previous page's `next`",
            )
            .query(
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
                "Page size (default 100)",
            )
            .ok("AuditEventList"),
        list,
    )
}

/// A filter id: 1 to 255 characters ([`text`] also refuses control characters).
fn id_schema() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 255})
}

fn text(name: &str, v: Option<String>) -> Result<Option<String>, Problem> {
    match v {
        Some(s) if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) => {
            Err(Problem::bad_request(format!(
                "{name} must be 1 to 255 characters without control characters"
            )))
        }
        other => Ok(other),
    }
}

fn view(r: AuditRecord) -> Value {
    let detail = r
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .filter(Value::is_object);
    json!({
        "id": r.id, "at": r.at, "type": r.event_type, "actor_kind": r.actor_kind,
        "actor_id": r.actor_id, "user_id": r.user_id, "client_id": r.client_id,
        "subject": r.subject, "client_addr": r.client_addr, "request_id": r.request_id,
        "detail": detail,
    })
}

async fn list(
    State(api): State<AdminApi>,
    AdminQuery(q): AdminQuery<EventsQuery>,
) -> Result<Json<Value>, Problem> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let event_type = match q.kind {
        Some(t) => Some(
            EventType::parse(&t)
                .ok_or_else(|| Problem::bad_request("unknown event type"))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let before_id = match q.cursor {
        Some(c) => Some(
            c.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Problem::bad_request("invalid cursor"))?,
        ),
        None => None,
    };
    let query = AuditQuery {
        since: q.since,
        user_id: text("user", q.user)?,
        client_id: text("client", q.client)?,
        event_type,
        before_id,
        limit,
    };
    let page = api
        .audit
        .page(&query)
        .await
        .map_err(|e| Problem::unavailable(&e))?;
    let events: Vec<Value> = page.events.into_iter().map(view).collect();
    Ok(Json(
        json!({"events": events, "next": page.next.map(|n| n.to_string())}),
    ))
}
