//! The client of inventory-service's `POST /reservations`, authenticated with this service's own
//! client-credentials token.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::token_source::TokenSource;

/// Why stock could not be reserved.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Not enough stock; nothing was reserved.
    #[error("insufficient stock")]
    InsufficientStock,
    /// Inventory does not know the SKU.
    #[error("unknown sku")]
    UnknownSku,
    /// No token, inventory unreachable, a 5xx, or an answer that makes no sense. Logged, never
    /// shown to the caller.
    #[error("inventory unavailable: {0}")]
    Unavailable(String),
}

/// Reserves stock in inventory-service.
#[derive(Debug, Clone)]
pub struct InventoryClient {
    http: reqwest::Client,
    reservations_url: String,
    tokens: Arc<TokenSource>,
}

fn unavailable(e: impl std::fmt::Display) -> InventoryError {
    InventoryError::Unavailable(e.to_string())
}

impl InventoryClient {
    /// A client of the inventory at `base_url` (e.g. `http://127.0.0.1:8082`).
    pub fn new(http: reqwest::Client, base_url: &str, tokens: Arc<TokenSource>) -> Self {
        Self {
            http,
            reservations_url: format!("{}/reservations", base_url.trim_end_matches('/')),
            tokens,
        }
    }

    /// The token source (to observe token reuse).
    pub fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    /// Reserves `quantity` of `sku`; returns the reservation id.
    pub async fn reserve(&self, sku: &str, quantity: u32) -> Result<String, InventoryError> {
        let body = json!({"sku": sku, "quantity": quantity});
        let mut retried = false;
        loop {
            let token = self.tokens.token().await.map_err(unavailable)?;
            let res = self
                .http
                .post(&self.reservations_url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .map_err(unavailable)?;
            let status = res.status();
            if status == StatusCode::UNAUTHORIZED && !retried {
                // The cached token was refused (e.g. revoked): fetch a new one, once.
                self.tokens.invalidate(&token).await;
                retried = true;
                continue;
            }
            let answer: Value = res.json().await.unwrap_or_default();
            let error = answer["error"].as_str().unwrap_or("");
            return match (status, error) {
                (StatusCode::CREATED, _) => answer["reservation_id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| unavailable("no reservation_id in the answer")),
                (StatusCode::CONFLICT, "insufficient_stock") => {
                    Err(InventoryError::InsufficientStock)
                }
                (StatusCode::NOT_FOUND, "unknown_sku") => Err(InventoryError::UnknownSku),
                _ => Err(unavailable(format!("inventory answered {status} {error}"))),
            };
        }
    }
}
