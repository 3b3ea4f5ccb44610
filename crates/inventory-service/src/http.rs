//! Routes, handlers and the JSON error type.

use auth_verifier::axum::{Authenticated, RequireBearer};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::stock::ReserveError;
use crate::{AppState, MAX_QUANTITY, SCOPE_READ, SCOPE_RESERVE};

/// The service's routes: `GET /healthz` (open), `GET /items/{sku}` (`inventory:read`),
/// `POST /reservations` (`inventory:reserve`).
pub fn router(state: AppState) -> Router {
    // A route layer applies to the routes added before it: one sub-router per scope, each behind
    // one layer that checks the token and then the scope.
    let bearer = |scope| RequireBearer::new(state.verifier.clone()).scope(scope);
    let read = item_routes().route_layer(bearer(SCOPE_READ));
    let reserve = Router::new()
        .route("/reservations", post(create_reservation))
        .route_layer(bearer(SCOPE_RESERVE));
    let protected = read.merge(reserve);
    Router::new()
        .route("/healthz", get(healthz))
        .merge(protected)
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(state)
}

/// `GET /items/{sku}` with no authentication at all. [`router`] serves it behind the bearer and scope
/// checks; this bare form exists so that the benchmark (`examples/auth_overhead.rs`) can measure what
/// authentication costs on the very same handler. Never serve it in a deployment.
pub fn item_routes() -> Router<AppState> {
    Router::new().route("/items/{sku}", get(get_item))
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
    /// 404: no such SKU.
    #[error("unknown sku")]
    UnknownSku,
    /// 409: not enough stock; nothing was reserved.
    #[error("insufficient stock")]
    InsufficientStock,
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

impl From<ReserveError> for ApiError {
    fn from(e: ReserveError) -> Self {
        match e {
            ReserveError::UnknownSku => Self::UnknownSku,
            ReserveError::InsufficientStock => Self::InsufficientStock,
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
            Self::UnknownSku => (StatusCode::NOT_FOUND, json!({"error": "unknown_sku"})),
            Self::InsufficientStock => {
                (StatusCode::CONFLICT, json!({"error": "insufficient_stock"}))
            }
        };
        (status, Json(body)).into_response()
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

#[derive(Debug, Serialize)]
struct Item {
    sku: String,
    available: u32,
}

async fn get_item(
    State(state): State<AppState>,
    sku: Result<Path<String>, PathRejection>,
) -> Result<Json<Item>, ApiError> {
    let Path(sku) = sku.map_err(|r| ApiError::bad(r.body_text()))?;
    let available = state.stock.available(&sku).ok_or(ApiError::UnknownSku)?;
    Ok(Json(Item { sku, available }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReserveRequest {
    sku: String,
    quantity: u32,
}

#[derive(Debug, Serialize)]
struct ReserveResponse {
    reservation_id: String,
    sku: String,
    quantity: u32,
}

async fn create_reservation(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    body: Result<Json<ReserveRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ReserveResponse>), ApiError> {
    let Json(req) = body?;
    if req.quantity == 0 || req.quantity > MAX_QUANTITY {
        return Err(ApiError::bad(format!(
            "quantity must be between 1 and {MAX_QUANTITY}"
        )));
    }
    let r = state
        .stock
        .reserve(&req.sku, req.quantity, claims.client_id.clone())?;
    tracing::info!(reservation = %r.id, sku = %r.sku, quantity = r.quantity,
        client_id = r.client_id.as_deref().unwrap_or("-"), "stock reserved");
    Ok((
        StatusCode::CREATED,
        Json(ReserveResponse {
            reservation_id: r.id,
            sku: r.sku,
            quantity: r.quantity,
        }),
    ))
}
