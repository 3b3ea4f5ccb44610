//! `/admin/v1/registration-tokens`: initial access tokens for dynamic client registration
//! (RFC 7591 §3): list, create (the token is in that answer only), revoke.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminApi, AdminJson, AdminPath, Caller, Op, Problem, Routes};
use crate::domain::clients::{ClientError, Flip, MAX_TOKEN_LIFETIME_SECS, NewRegistrationToken};
use crate::model::registration::RegistrationToken;

/// `POST /registration-tokens` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[serde(default)]
    allowed_scopes: Vec<String>,
    #[serde(default)]
    allowed_resources: Vec<String>,
    max_uses: Option<i64>,
    expires_in_secs: Option<i64>,
}

fn view(t: &RegistrationToken) -> Value {
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

pub(super) fn register(r: Routes) -> Routes {
    let token = json!({
        "type": "object",
        "required": ["id", "allowed_scopes", "allowed_resources", "max_uses", "uses", "expires_at", "revoked_at", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "allowed_scopes": {"type": "array", "items": {"type": "string"}},
            "allowed_resources": {"type": "array", "items": {"type": "string"}},
            "max_uses": {"type": ["integer", "null"]},
            "uses": {"type": "integer"},
            "expires_at": {"type": ["integer", "null"]},
            "revoked_at": {"type": ["integer", "null"]},
            "created_at": {"type": "integer"},
        },
    });
    let r = r
        .schema("RegistrationToken", token)
        .schema(
            "RegistrationTokenList",
            json!({
                "type": "object", "required": ["registration_tokens"],
                "properties": {"registration_tokens": {"type": "array",
                    "items": {"$ref": "#/components/schemas/RegistrationToken"}}},
            }),
        )
        .schema(
            "RegistrationTokenCreate",
            json!({
                "type": "object", "additionalProperties": false,
                "properties": {
                    "allowed_scopes": {"type": "array", "items": {"type": "string"}, "maxItems": 100,
                        "description": "Scopes its clients may be allowed; none: no scope"},
                    "allowed_resources": {"type": "array", "items": {"type": "string"}, "maxItems": 100,
                        "description": "Resource indicators (RFC 8707) its clients may get tokens for"},
                    "max_uses": {"type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000},
                    "expires_in_secs": {"type": ["integer", "null"], "minimum": 1,
                        "maximum": MAX_TOKEN_LIFETIME_SECS},
                },
            }),
        )
        .schema(
            "RegistrationTokenCreated",
            json!({
                "type": "object", "required": ["registration_token", "token"],
                "properties": {
                    "registration_token": {"$ref": "#/components/schemas/RegistrationToken"},
                    "token": {"type": "string", "description": "The initial access token; shown only here"},
                },
            }),
        );
    r.add(
        Op::get(
            "/registration-tokens",
            "List initial access tokens for dynamic client registration",
        )
        .tag("registration")
        .ok("RegistrationTokenList"),
        list,
    )
    .add(
        Op::post(
            "/registration-tokens",
            "Create an initial access token; the token is in this answer only",
        )
        .tag("registration")
        .body("RegistrationTokenCreate")
        .response(201, "Created", Some("RegistrationTokenCreated")),
        create,
    )
    .add(
        Op::post(
            "/registration-tokens/{token_id}/revoke",
            "Revoke an initial access token (idempotent); its clients stay",
        )
        .tag("registration")
        .ok("RegistrationToken"),
        revoke,
    )
}

fn problem(e: ClientError) -> Problem {
    match e {
        ClientError::Invalid(m) => Problem::bad_request(m),
        ClientError::Store(s) => Problem::unavailable(&s),
        other => Problem::bad_request(other.to_string()),
    }
}

async fn list(State(api): State<AdminApi>) -> Result<Json<Value>, Problem> {
    let tokens = api.clients.registration_tokens().await.map_err(problem)?;
    let tokens: Vec<Value> = tokens.iter().map(view).collect();
    Ok(Json(json!({ "registration_tokens": tokens })))
}

async fn create(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminJson(b): AdminJson<CreateBody>,
) -> Result<Response, Problem> {
    let new = NewRegistrationToken {
        expires_in_secs: b.expires_in_secs,
        max_uses: b.max_uses,
        allowed_scopes: b.allowed_scopes,
        allowed_resources: b.allowed_resources,
    };
    let (record, token) = api
        .clients
        .create_registration_token(new, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?;
    let body = json!({"registration_token": view(&record), "token": token});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn revoke(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(id): AdminPath<String>,
) -> Result<Json<Value>, Problem> {
    let flip = api
        .clients
        .revoke_registration_token(&id, &caller.actor(), &caller.request)
        .await
        .map_err(problem)?;
    if flip == Flip::NotFound {
        return Err(Problem::not_found("no such registration token"));
    }
    let tokens = api.clients.registration_tokens().await.map_err(problem)?;
    match tokens.iter().find(|t| t.id == id) {
        Some(t) => Ok(Json(view(t))),
        None => Err(Problem::not_found("no such registration token")),
    }
}
