//! `/admin/v1/clients/{client_id}/token-exchange`: a client's token-exchange policy (RFC 8693):
//! show, set (replacing the whole policy), remove (the client may then not exchange tokens).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminApi, AdminJson, AdminPath, Caller, Op, Problem, Routes};
use crate::domain::clients::token_exchange_policy::{
    MAX_POLICY_ENTRIES, NewTokenExchangePolicy, policy_json as policy_view,
};
use crate::domain::clients::{ClientError, is_valid_client_id};

/// `PUT` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    subject_audiences: Vec<String>,
    audiences: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    impersonation: bool,
}

pub(super) fn register(r: Routes) -> Routes {
    let list = |description: &str, min: usize| {
        json!({"type": "array", "minItems": min, "maxItems": MAX_POLICY_ENTRIES,
            "items": {"type": "string", "minLength": 1, "maxLength": 2048},
            "description": description})
    };
    let subject = "A subject token must be addressed to one of these (the client's own audience)";
    let audiences = "The audiences (RFC 8707 resource URIs) the client may ask for";
    let scopes = "The scopes that may pass from a subject token into an exchanged one";
    let impersonation = "Impersonation (no act claim) instead of delegation (act names the client)";
    let r = r
        .schema(
            "TokenExchangePolicy",
            json!({
                "type": "object",
                "required": ["client_id", "subject_audiences", "audiences", "scopes", "impersonation", "updated_at"],
                "properties": {
                    "client_id": {"type": "string"},
                    "subject_audiences": list(subject, 1),
                    "audiences": list(audiences, 1),
                    "scopes": list(scopes, 0),
                    "impersonation": {"type": "boolean", "description": impersonation},
                    "updated_at": {"type": "integer"},
                },
            }),
        )
        .schema(
            "TokenExchangePolicySet",
            json!({
                "type": "object", "additionalProperties": false,
                "required": ["subject_audiences", "audiences"],
                "properties": {
                    "subject_audiences": list(subject, 1),
                    "audiences": list(audiences, 1),
                    "scopes": list(scopes, 0),
                    "impersonation": {"type": "boolean", "description": impersonation},
                },
            }),
        );
    r.add(
        Op::get(
            "/clients/{client_id}/token-exchange",
            "Show a client's token-exchange policy (RFC 8693); 404 when it has none",
        )
        .tag("clients")
        .ok("TokenExchangePolicy"),
        show,
    )
    .add(
        Op::put(
            "/clients/{client_id}/token-exchange",
            "Set a client's token-exchange policy (RFC 8693), replacing any",
        )
        .tag("clients")
        .body("TokenExchangePolicySet")
        .ok("TokenExchangePolicy"),
        set,
    )
    .add(
        Op::delete(
            "/clients/{client_id}/token-exchange",
            "Remove a client's token-exchange policy: it may no longer exchange tokens",
        )
        .tag("clients")
        .response(204, "Removed (or there was none)", None),
        remove,
    )
}

fn problem(e: ClientError) -> Problem {
    match e {
        ClientError::Store(s) => Problem::unavailable(&s),
        other => Problem::bad_request(other.to_string()),
    }
}

fn client_id(id: String) -> Result<String, Problem> {
    if is_valid_client_id(&id) {
        Ok(id)
    } else {
        Err(Problem::not_found("no such client"))
    }
}

async fn show(
    State(api): State<AdminApi>,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<Value>, Problem> {
    let id = client_id(id)?;
    match api
        .clients
        .token_exchange_policy(&id)
        .await
        .map_err(problem)?
    {
        Some(p) => Ok(Json(policy_view(&p))),
        None => Err(Problem::not_found(
            "no such client, or it has no token-exchange policy",
        )),
    }
}

async fn set(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
    AdminJson(b): AdminJson<PolicyBody>,
) -> Result<Json<Value>, Problem> {
    let id = client_id(id)?;
    let new = NewTokenExchangePolicy {
        subject_audiences: b.subject_audiences,
        audiences: b.audiences,
        scopes: b.scopes,
        impersonation: b.impersonation,
    };
    let set = api
        .clients
        .set_token_exchange_policy(&id, Some(new), &caller.actor(), &caller.request)
        .await
        .map_err(problem)?;
    match set {
        Some(Some(p)) => Ok(Json(policy_view(&p))),
        _ => Err(Problem::not_found("no such client")),
    }
}

async fn remove(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<StatusCode, Problem> {
    let id = client_id(id)?;
    let removed = api
        .clients
        .set_token_exchange_policy(&id, None, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?;
    match removed {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(Problem::not_found("no such client")),
    }
}
