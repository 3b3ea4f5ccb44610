//! `/admin/v1/keys`: the signing keys (list, rotate, revoke). No private key material ever leaves:
//! a key is shown by its id, algorithm, generation and lifecycle times.

use auth_core::Alg;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{AdminApi, AdminJson, AdminPath, Caller, Op, Problem, Routes};
use crate::domain::keys::{KeyState, RevocationOutcome, RotationOutcome};
use crate::domain::records::KeyRecord;

/// A signing key as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct KeyView {
    kid: String,
    alg: String,
    generation: i64,
    state: &'static str,
    published_at: i64,
    activates_at: i64,
    retires_at: Option<i64>,
    removed_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl KeyView {
    fn new(r: KeyRecord, state: KeyState) -> Self {
        Self {
            kid: r.kid,
            alg: r.alg,
            generation: r.generation,
            state: state.as_str(),
            published_at: r.published_at,
            activates_at: r.activates_at,
            retires_at: r.retires_at,
            removed_at: r.removed_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// `{"keys": [...]}`
#[derive(Debug, Serialize)]
pub struct KeyList {
    keys: Vec<KeyView>,
}

pub(super) fn register(r: Routes) -> Routes {
    let time = json!({"type": "integer", "description": "Unix seconds"});
    let opt_time = json!({"type": ["integer", "null"], "description": "Unix seconds"});
    r.schema(
        "Key",
        json!({
            "type": "object",
            "required": ["kid", "alg", "generation", "state", "published_at", "activates_at",
                         "retires_at", "removed_at", "revoked_at"],
            "properties": {
                "kid": {"type": "string", "description": "RFC 7638 thumbprint"},
                "alg": {"type": "string", "enum": ["RS256", "ES256"]},
                "generation": {"type": "integer"},
                "state": {"type": "string", "enum": ["pending", "active", "retired", "removed", "revoked"]},
                "published_at": time, "activates_at": time,
                "retires_at": opt_time, "removed_at": opt_time, "revoked_at": opt_time,
            }
        }),
    )
    .schema(
        "KeyList",
        json!({
            "type": "object", "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}}
        }),
    )
    .schema(
        "RotateKeys",
        json!({
            "type": "object", "additionalProperties": false,
            "properties": {"alg": {"type": "string", "enum": ["RS256", "ES256"],
                                   "description": "Only this algorithm (default: all)"}}
        }),
    )
    .schema(
        "Rotation",
        json!({
            "type": "object", "required": ["results"],
            "properties": {"results": {"type": "array", "items": {
                "type": "object", "required": ["alg", "outcome"],
                "properties": {
                    "alg": {"type": "string"},
                    "outcome": {"type": "string", "enum": ["created", "already_pending", "not_due", "lost_race"]},
                    "kid": {"type": "string"},
                    "generation": {"type": "integer"},
                    "activates_at": {"type": "integer"}
                }
            }}}
        }),
    )
    .schema(
        "Revocation",
        json!({
            "type": "object", "required": ["kid", "alg", "successor"],
            "properties": {
                "kid": {"type": "string"}, "alg": {"type": "string"},
                "successor": {"type": ["string", "null"], "description": "The key that signs for the algorithm from now on, if one was created"}
            }
        }),
    )
    .add(
        Op::get("/keys", "List the signing keys and their lifecycle")
            .tag("keys")
            .ok("KeyList"),
        list,
    )
    .add(
        Op::post("/keys/rotate", "Create the next key now (it signs after the publish lead)")
            .tag("keys")
            .body("RotateKeys")
            .ok("Rotation"),
        rotate,
    )
    .add(
        Op::post("/keys/{kid}/revoke", "Emergency revocation: out of the JWKS at once, a successor signs at once, the revocation feed lists it")
            .tag("keys")
            .ok("Revocation"),
        revoke,
    )
}

async fn list(State(api): State<AdminApi>) -> Result<Json<KeyList>, Problem> {
    let keys = api
        .keys
        .list()
        .await
        .map_err(|e| Problem::unavailable(&e))?;
    Ok(Json(KeyList {
        keys: keys.into_iter().map(|(r, s)| KeyView::new(r, s)).collect(),
    }))
}

/// `POST /keys/rotate` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKeys {
    alg: Option<String>,
}

async fn rotate(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminJson(body): AdminJson<RotateKeys>,
) -> Result<Json<Value>, Problem> {
    let algs = match body.alg.as_deref() {
        None => Alg::ALL.to_vec(),
        Some(a) => vec![
            a.parse::<Alg>()
                .map_err(|_| Problem::bad_request("alg must be RS256 or ES256"))?,
        ],
    };
    let outcomes = api
        .keys
        .rotate_by(&algs, &caller.actor(), &caller.request)
        .await
        .map_err(|e| Problem::unavailable(&e))?;
    let results: Vec<Value> = outcomes
        .into_iter()
        .map(|(alg, o)| match o {
            RotationOutcome::Created {
                kid,
                generation,
                activates_at,
            } => json!({"alg": alg.as_str(), "outcome": "created", "kid": kid,
                        "generation": generation, "activates_at": activates_at}),
            RotationOutcome::AlreadyPending { activates_at } => json!({"alg": alg.as_str(),
                        "outcome": "already_pending", "activates_at": activates_at}),
            RotationOutcome::NotDue => json!({"alg": alg.as_str(), "outcome": "not_due"}),
            RotationOutcome::LostRace => json!({"alg": alg.as_str(), "outcome": "lost_race"}),
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn revoke(
    State(api): State<AdminApi>,
    caller: Caller,
    AdminPath(kid): AdminPath<String>,
) -> Result<Json<Value>, Problem> {
    match api
        .keys
        .revoke_by(&kid, &caller.actor(), &caller.request)
        .await
        .map_err(|e| Problem::unavailable(&e))?
    {
        RevocationOutcome::Revoked { alg, successor } => Ok(Json(
            json!({"kid": kid, "alg": alg, "successor": successor}),
        )),
        RevocationOutcome::AlreadyRevoked => Err(Problem::typed(
            StatusCode::CONFLICT,
            "already_revoked",
            "Already revoked",
            "this key was already revoked",
        )),
        RevocationOutcome::NotFound => Err(Problem::not_found("no such key")),
    }
}
