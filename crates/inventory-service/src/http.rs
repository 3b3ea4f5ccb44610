//! Routes and handlers; every error is a [`JsonError`].

use auth_verifier::Claims;
use auth_verifier::axum::{Authenticated, JsonBody, JsonError, RequireBearer};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::stock::{ReserveError, ReservedBy};
use crate::{AppState, MAX_QUANTITY, SCOPE_READ, SCOPE_RESERVE};

/// The service's routes: `GET /healthz` and `GET /readyz` (open), `GET /items/{sku}`
/// (`inventory:read`), `POST /reservations` (`inventory:reserve`).
pub fn router(state: AppState) -> Router {
    // A route layer applies to the routes added before it: one sub-router per scope, each behind
    // one layer that checks the token and then the scope.
    let bearer = |scope| RequireBearer::new(state.verifier.clone()).scope(scope);
    let read = item_routes().route_layer(bearer(SCOPE_READ));
    let reserve = Router::new()
        .route("/reservations", post(create_reservation))
        .route_layer(bearer(SCOPE_RESERVE));
    let probes = Router::new().route("/readyz", get(readyz));
    http_serve::service_router(read.merge(reserve).merge(probes), state)
}

/// `GET /readyz`: 200 `{"status":"ready"}` while the verifier holds usable keys and a recent
/// revocation feed ([`auth_verifier::Verifier::readiness`]); else 503
/// `{"status":"not_ready","reasons":["keys_missing",...]}` (codes only).
async fn readyz(State(state): State<AppState>) -> Response {
    let r = state.verifier.readiness();
    if r.is_ready() {
        return (StatusCode::OK, Json(json!({"status": "ready"}))).into_response();
    }
    let reasons: Vec<&str> = r.reasons.iter().map(|n| n.code()).collect();
    tracing::debug!(reasons = ?r.reasons, "not ready");
    let body = json!({"status": "not_ready", "reasons": reasons});
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// `GET /items/{sku}` with no authentication at all. [`router`] serves it behind the bearer and scope
/// checks; this bare form exists so that the benchmark (`examples/auth_overhead.rs`) can measure what
/// authentication costs on the very same handler. Never serve it in a deployment.
pub fn item_routes() -> Router<AppState> {
    Router::new().route("/items/{sku}", get(get_item))
}

/// 404 `unknown_sku` and 409 `insufficient_stock` (nothing was reserved).
impl From<ReserveError> for JsonError {
    fn from(e: ReserveError) -> Self {
        match e {
            ReserveError::UnknownSku => JsonError::new(StatusCode::NOT_FOUND, "unknown_sku"),
            ReserveError::InsufficientStock => {
                JsonError::new(StatusCode::CONFLICT, "insufficient_stock")
            }
        }
    }
}

#[derive(Debug, Serialize)]
struct Item {
    sku: String,
    available: u32,
}

async fn get_item(
    State(state): State<AppState>,
    sku: Result<Path<String>, PathRejection>,
) -> Result<Json<Item>, JsonError> {
    let Path(sku) = sku?;
    let available = state
        .stock
        .available(&sku)
        .ok_or(ReserveError::UnknownSku)?;
    Ok(Json(Item { sku, available }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveRequest {
    sku: String,
    quantity: u32,
}

impl ReserveRequest {
    fn check(&self) -> Result<(), JsonError> {
        if self.quantity == 0 || self.quantity > MAX_QUANTITY {
            let why = format!("quantity must be between 1 and {MAX_QUANTITY}");
            return Err(JsonError::invalid_request(why));
        }
        Ok(())
    }
}

#[derive(Debug, Serialize)]
struct ReserveResponse {
    reservation_id: String,
    sku: String,
    quantity: u32,
    /// For whom: the token's `sub`.
    subject: Option<String>,
    /// Who acted for them: the token's `act.sub` (RFC 8693 §4.1), for a delegated token.
    actor: Option<String>,
}

/// Who reserves: the token's client, its subject, and the actor of a delegated (exchanged) token.
fn reserved_by(claims: &Claims) -> ReservedBy {
    ReservedBy {
        client_id: claims.client_id.clone(),
        subject: claims.sub.clone(),
        actor: claims.actor().map(str::to_owned),
    }
}

async fn create_reservation(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    JsonBody(req): JsonBody<ReserveRequest>,
) -> Result<(StatusCode, Json<ReserveResponse>), JsonError> {
    req.check()?;
    let r = state
        .stock
        .reserve(&req.sku, req.quantity, reserved_by(&claims))?;
    tracing::info!(reservation = %r.id, sku = %r.sku, quantity = r.quantity,
        client_id = r.client_id.as_deref().unwrap_or("-"), subject = r.subject.as_deref().unwrap_or("-"),
        actor = r.actor.as_deref().unwrap_or("-"), "stock reserved");
    Ok((
        StatusCode::CREATED,
        Json(ReserveResponse {
            reservation_id: r.id,
            sku: r.sku,
            quantity: r.quantity,
            subject: r.subject,
            actor: r.actor,
        }),
    ))
}
