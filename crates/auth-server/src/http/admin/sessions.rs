//! `/admin/v1/users/{id}/sessions`: a user's live SSO sessions, and ending one or all of them
//! (with their grants, as a logout of each would; the user may sign in again). Ending is one
//! transaction with its `user.sessions_ended` event. A session is shown by its id (`sid`) and
//! times, never its cookie (only the cookie's digest is stored).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use super::users::operator;
use super::{AdminApi, AdminPath, Caller, Op, Problem, Routes};
use crate::domain::sso::sessions::SessionInfo;

/// A session as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct SessionView {
    id: String,
    created_at: i64,
    last_seen_at: i64,
    auth_time: i64,
    amr: Vec<String>,
    expires_at: i64,
}

impl From<SessionInfo> for SessionView {
    fn from(s: SessionInfo) -> Self {
        Self {
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            auth_time: s.auth_time,
            amr: s.amr,
            expires_at: s.expires_at,
        }
    }
}

pub(super) fn register(r: Routes) -> Routes {
    let time = json!({"type": "integer", "description": "Unix seconds"});
    r.schema(
        "Session",
        json!({
            "type": "object",
            "required": ["id", "created_at", "last_seen_at", "auth_time", "amr", "expires_at"],
            "properties": {
                "id": {"type": "string", "description": "The session id (the sid claim)"},
                "created_at": time, "last_seen_at": time, "auth_time": time,
                "amr": {"type": "array", "items": {"type": "string"}, "description": "RFC 8176"},
                "expires_at": {"type": "integer",
                               "description": "Unix seconds: the idle timeout or the absolute end, whichever comes first"},
            }
        }),
    )
    .schema(
        "SessionList",
        json!({
            "type": "object", "required": ["sessions"],
            "properties": {"sessions": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}}}
        }),
    )
    .schema(
        "SessionsEnded",
        json!({
            "type": "object", "required": ["ended"],
            "properties": {"ended": {"type": "integer", "minimum": 0}}
        }),
    )
    .add(
        Op::get("/users/{id}/sessions", "List a user's live sessions, newest first")
            .tag("users")
            .ok("SessionList"),
        list,
    )
    .add(
        Op::delete("/users/{id}/sessions", "End every session of a user, with its grants")
            .tag("users")
            .ok("SessionsEnded"),
        end_all,
    )
    .add(
        Op::delete("/users/{id}/sessions/{sid}", "End one session of a user, with its grants")
            .tag("users")
            .response(204, "Ended", None),
        end_one,
    )
}

async fn list(
    State(api): State<AdminApi>,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<Value>, Problem> {
    if api
        .users
        .get(&id)
        .await
        .map_err(super::users::problem)?
        .is_none()
    {
        return Err(Problem::not_found("no such user"));
    }
    let sessions: Vec<SessionView> = api
        .sessions
        .live_of(&id)
        .await
        .map_err(|e| Problem::unavailable(&e))?
        .into_iter()
        .map(SessionView::from)
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

async fn end_all(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<Value>, Problem> {
    match api
        .sessions
        .end_for(&id, None, &operator(&caller))
        .await
        .map_err(|e| Problem::unavailable(&e))?
    {
        Some(n) => Ok(Json(json!({ "ended": n }))),
        None => Err(Problem::not_found("no such user")),
    }
}

async fn end_one(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath((id, sid)): AdminPath<(String, String)>,
) -> Result<StatusCode, Problem> {
    match api
        .sessions
        .end_for(&id, Some(&sid), &operator(&caller))
        .await
        .map_err(|e| Problem::unavailable(&e))?
    {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(Problem::not_found(
            "no such user, or no such live session of the user",
        )),
    }
}
