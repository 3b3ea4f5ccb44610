//! Routes and handlers; every error is a [`JsonError`].

use auth_verifier::Claims;
use auth_verifier::axum::{Authenticated, JsonBody, JsonError, RequireBearer};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::inventory::{Caller, InventoryError};
use crate::orders::Order;
use crate::{AppState, MAX_QUANTITY, SCOPE_READ, SCOPE_WRITE};

/// The service's routes: `GET /healthz` and `GET /readyz` (open), `GET /orders` and
/// `GET /orders/{id}` (`orders:read`), `POST /orders` (`orders:write`).
pub fn router(state: AppState) -> Router {
    // A route layer applies to the routes added before it: one sub-router per scope, each behind
    // one layer that checks the token and then the scope. Merging joins `GET /orders` and
    // `POST /orders`, each keeping its own scope.
    let bearer = |scope| RequireBearer::new(state.verifier.clone()).scope(scope);
    let read = Router::new()
        .route("/orders", get(list_orders))
        .route("/orders/{id}", get(get_order))
        .route_layer(bearer(SCOPE_READ));
    let write = Router::new()
        .route("/orders", post(create_order))
        .route_layer(bearer(SCOPE_WRITE));
    let probes = Router::new().route("/readyz", get(readyz));
    http_serve::service_router(read.merge(write).merge(probes), state)
}

/// `GET /readyz`: 200 `{"status":"ready"}` while the verifier holds usable keys and a recent
/// revocation feed ([`auth_verifier::Verifier::readiness`]); else 503
/// `{"status":"not_ready","reasons":["keys_missing",...]}` (codes only).
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    readiness_answer(&state.verifier)
}

/// The answer of a `/readyz` route for `verifier`.
fn readiness_answer(verifier: &auth_verifier::Verifier) -> Response {
    let r = verifier.readiness();
    if r.is_ready() {
        return (StatusCode::OK, Json(json!({"status": "ready"}))).into_response();
    }
    let reasons: Vec<&str> = r.reasons.iter().map(|n| n.code()).collect();
    tracing::debug!(reasons = ?r.reasons, "not ready");
    let body = json!({"status": "not_ready", "reasons": reasons});
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// 409 `insufficient_stock`, 404 `unknown_sku` (inventory's answers, passed on), 502
/// `delegation_refused` when the IdP refuses a token for inventory on the caller's behalf, and 503
/// `inventory_unavailable` when inventory or the IdP cannot be used (the reasons are only logged).
impl From<InventoryError> for JsonError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::InsufficientStock => {
                JsonError::new(StatusCode::CONFLICT, "insufficient_stock")
            }
            InventoryError::UnknownSku => JsonError::new(StatusCode::NOT_FOUND, "unknown_sku"),
            InventoryError::TokenRefused(why) => {
                tracing::warn!(error = %why, "no token for inventory");
                JsonError::new(StatusCode::BAD_GATEWAY, "delegation_refused")
                    .describe("stock cannot be reserved on your behalf")
            }
            InventoryError::Unavailable(why) => {
                tracing::warn!(error = %why, "cannot reserve stock");
                JsonError::new(StatusCode::SERVICE_UNAVAILABLE, "inventory_unavailable")
                    .describe("stock cannot be reserved right now; try again later")
            }
        }
    }
}

/// Who owns orders placed with this token: its `sub` (for a client-credentials token, the client);
/// 403 `forbidden` for a token without one.
fn owner(claims: &Claims) -> Result<&str, JsonError> {
    let no_subject = || {
        JsonError::new(StatusCode::FORBIDDEN, "forbidden").describe("the token names no subject")
    };
    claims.sub.as_deref().ok_or_else(no_subject)
}

async fn list_orders(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
) -> Result<Json<Vec<Order>>, JsonError> {
    Ok(Json(state.orders.list(owner(&claims)?)))
}

async fn get_order(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, JsonError> {
    let Path(id) = id?;
    let order = state.orders.get(owner(&claims)?, &id);
    let order = order.ok_or_else(|| JsonError::new(StatusCode::NOT_FOUND, "not_found"))?;
    Ok(Json(order))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    sku: String,
    quantity: u32,
}

impl NewOrder {
    fn check(&self) -> Result<(), JsonError> {
        if self.sku.is_empty() || self.sku.len() > 64 {
            return Err(JsonError::invalid_request("sku must be 1 to 64 characters"));
        }
        if self.quantity == 0 || self.quantity > MAX_QUANTITY {
            let why = format!("quantity must be between 1 and {MAX_QUANTITY}");
            return Err(JsonError::invalid_request(why));
        }
        Ok(())
    }
}

/// The access token of this request, as the layer verified it (`Authorization: Bearer` or `DPoP`).
fn presented_token(headers: &HeaderMap) -> Result<&str, JsonError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = value.and_then(|v| v.split_once(' ')).map(|(_, t)| t.trim());
    token.ok_or_else(|| JsonError::invalid_request("no access token"))
}

async fn create_order(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    headers: HeaderMap,
    JsonBody(req): JsonBody<NewOrder>,
) -> Result<(StatusCode, Json<Order>), JsonError> {
    let owner = owner(&claims)?;
    req.check()?;
    let caller = Caller {
        token: presented_token(&headers)?,
        expires_at: claims.exp,
        is_user: claims.sub != claims.client_id,
    };
    let reserved = state
        .inventory
        .reserve(caller, &req.sku, req.quantity)
        .await?;
    let order = state
        .orders
        .add(owner, &req.sku, req.quantity, reserved.reservation_id);
    tracing::info!(order = %order.id, owner = %order.owner, reservation = %order.reservation_id, "order placed");
    Ok((StatusCode::CREATED, Json(order)))
}
