//! Routes, handlers and the JSON error type.

use auth_verifier::Claims;
use auth_verifier::axum::{Authenticated, RequireBearer};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::inventory::InventoryError;
use crate::orders::Order;
use crate::{AppState, MAX_QUANTITY, SCOPE_READ, SCOPE_WRITE};

/// The service's routes: `GET /healthz` (open), `GET /orders` and `GET /orders/{id}`
/// (`orders:read`), `POST /orders` (`orders:write`).
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
    let protected = read.merge(write);
    Router::new()
        .route("/healthz", get(healthz))
        .merge(protected)
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(state)
}

/// An error answered as `{"error": code, "error_description"?: text}`; never internals.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 (or 413/415 for an oversized or non-JSON body): the request is malformed.
    #[error("invalid request: {description}")]
    InvalidRequest {
        /// The status to answer with.
        status: StatusCode,
        /// Safe to show: it describes the caller's input.
        description: String,
    },
    /// 403: the token names no subject to own orders.
    #[error("token has no subject")]
    NoSubject,
    /// 404: no such order of the caller's.
    #[error("order not found")]
    OrderNotFound,
    /// 404: inventory does not know the SKU.
    #[error("unknown sku")]
    UnknownSku,
    /// 409: not enough stock; nothing was ordered.
    #[error("insufficient stock")]
    InsufficientStock,
    /// 503: inventory (or the IdP, for our token) is unavailable. The reason is only logged.
    #[error("inventory unavailable")]
    Unavailable,
}

impl ApiError {
    fn bad(description: impl Into<String>) -> Self {
        Self::InvalidRequest {
            status: StatusCode::BAD_REQUEST,
            description: description.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = match &r {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            // Syntax errors, unknown fields and wrong types are all plain bad requests here.
            _ => StatusCode::BAD_REQUEST,
        };
        Self::InvalidRequest {
            status,
            description: r.body_text(),
        }
    }
}

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::InsufficientStock => Self::InsufficientStock,
            InventoryError::UnknownSku => Self::UnknownSku,
            InventoryError::Unavailable(why) => {
                tracing::warn!(error = %why, "cannot reserve stock");
                Self::Unavailable
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::InvalidRequest {
                status,
                description,
            } => (
                status,
                json!({"error": "invalid_request", "error_description": description}),
            ),
            Self::NoSubject => (
                StatusCode::FORBIDDEN,
                json!({"error": "forbidden", "error_description": "the token names no subject"}),
            ),
            Self::OrderNotFound => (StatusCode::NOT_FOUND, json!({"error": "not_found"})),
            Self::UnknownSku => (StatusCode::NOT_FOUND, json!({"error": "unknown_sku"})),
            Self::InsufficientStock => {
                (StatusCode::CONFLICT, json!({"error": "insufficient_stock"}))
            }
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "inventory_unavailable",
                       "error_description": "stock cannot be reserved right now; try again later"}),
            ),
        };
        (status, Json(body)).into_response()
    }
}

/// Who owns orders placed with this token: its `sub` (for a client-credentials token, the client).
fn owner(claims: &Claims) -> Result<&str, ApiError> {
    claims.sub.as_deref().ok_or(ApiError::NoSubject)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn list_orders(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
) -> Result<Json<Vec<Order>>, ApiError> {
    Ok(Json(state.orders.list(owner(&claims)?)))
}

async fn get_order(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let Path(id) = id.map_err(|r| ApiError::bad(r.body_text()))?;
    let order = state
        .orders
        .get(owner(&claims)?, &id)
        .ok_or(ApiError::OrderNotFound)?;
    Ok(Json(order))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    sku: String,
    quantity: u32,
}

async fn create_order(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    body: Result<Json<NewOrder>, JsonRejection>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let Json(req) = body?;
    let owner = owner(&claims)?;
    if req.sku.is_empty() || req.sku.len() > 64 {
        return Err(ApiError::bad("sku must be 1 to 64 characters"));
    }
    if req.quantity == 0 || req.quantity > MAX_QUANTITY {
        return Err(ApiError::bad(format!(
            "quantity must be between 1 and {MAX_QUANTITY}"
        )));
    }
    let reservation_id = state.inventory.reserve(&req.sku, req.quantity).await?;
    let order = state
        .orders
        .add(owner, &req.sku, req.quantity, reservation_id);
    tracing::info!(order = %order.id, owner = %order.owner, reservation = %order.reservation_id, "order placed");
    Ok((StatusCode::CREATED, Json(order)))
}
