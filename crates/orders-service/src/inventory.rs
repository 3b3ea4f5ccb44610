//! The client of inventory-service's `POST /reservations`, authenticated with a token from
//! [`ServiceTokenSource`]: by default exchanged for the caller's own token (RFC 8693, on behalf of
//! the caller), or this service's own client-credentials token.

use std::fmt;

use auth_verifier::service_token::{
    OAuthErrorCode, ServiceTokenError, ServiceTokenSource, TokenRequest,
};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// How orders-service authenticates to inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InventoryAuth {
    /// RFC 8693 token exchange of the caller's token when it names a user: inventory sees the
    /// user as `sub` and this service as `act.sub` (delegation). The default. A caller's token
    /// that names no user (a partner's client-credentials token, whose `sub` is its `client_id`)
    /// cannot be exchanged (the IdP exchanges only users' tokens): for it this service uses its own
    /// client-credentials token, as with [`InventoryAuth::AsItself`].
    #[default]
    OnBehalfOfCaller,
    /// This service's own client-credentials token: inventory sees only this service.
    AsItself,
}

/// The token of the request being served (already verified), to exchange.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    /// The access token as received.
    pub token: &'a str,
    /// Its `exp`.
    pub expires_at: i64,
    /// Whether it names a user (its `sub` is not its `client_id`, RFC 9068 §2.2).
    pub is_user: bool,
}

impl fmt::Debug for Caller<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("is_user", &self.is_user)
            .finish()
    }
}

/// Why stock could not be reserved.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Not enough stock; nothing was reserved.
    #[error("insufficient stock")]
    InsufficientStock,
    /// Inventory does not know the SKU.
    #[error("unknown sku")]
    UnknownSku,
    /// The IdP refused a token for inventory (for an exchange: this service may not act for
    /// this caller there, or the caller's token can no longer be exchanged). Logged, never shown.
    #[error("token for inventory refused: {0}")]
    TokenRefused(ServiceTokenError),
    /// No token (IdP unreachable), inventory unreachable, a 5xx, or an answer that makes no sense.
    /// Logged, never shown to the caller.
    #[error("inventory unavailable: {0}")]
    Unavailable(String),
}

/// A reservation as inventory recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reserved {
    /// Its id.
    pub reservation_id: String,
    /// For whom (the `sub` of the token inventory received).
    pub subject: Option<String>,
    /// Who acted (its `act.sub`), for an exchanged token.
    pub actor: Option<String>,
}

/// Reserves stock in inventory-service.
#[derive(Debug, Clone)]
pub struct InventoryClient {
    http: reqwest::Client,
    reservations_url: String,
    tokens: ServiceTokenSource,
    auth: InventoryAuth,
    audience: String,
    scope: String,
}

fn unavailable(e: impl fmt::Display) -> InventoryError {
    InventoryError::Unavailable(e.to_string())
}

fn token_error(e: ServiceTokenError) -> InventoryError {
    match &e {
        ServiceTokenError::Refused(r)
            if r.code != OAuthErrorCode::InvalidClient && r.status < 500 =>
        {
            InventoryError::TokenRefused(e)
        }
        ServiceTokenError::SubjectExpired => InventoryError::TokenRefused(e),
        _ => unavailable(e),
    }
}

impl InventoryClient {
    /// A client of the inventory at `base_url` (e.g. `http://127.0.0.1:8082`), whose audience is
    /// `audience`, asking `tokens` for `scope` the way `auth` says.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        tokens: ServiceTokenSource,
        auth: InventoryAuth,
        audience: &str,
        scope: &str,
    ) -> Self {
        Self {
            http,
            reservations_url: format!("{}/reservations", base_url.trim_end_matches('/')),
            tokens,
            auth,
            audience: audience.to_owned(),
            scope: scope.to_owned(),
        }
    }

    /// The token source (to observe token reuse).
    pub fn tokens(&self) -> &ServiceTokenSource {
        &self.tokens
    }

    /// Reserves `quantity` of `sku` for `caller`.
    pub async fn reserve(
        &self,
        caller: Caller<'_>,
        sku: &str,
        quantity: u32,
    ) -> Result<Reserved, InventoryError> {
        let request = match self.auth {
            InventoryAuth::OnBehalfOfCaller if caller.is_user => {
                TokenRequest::exchange(caller.token, caller.expires_at, &self.audience, &self.scope)
            }
            _ => TokenRequest::client_credentials(&self.audience, &self.scope),
        };
        let body = json!({"sku": sku, "quantity": quantity});
        let mut retried = false;
        loop {
            let token = self.tokens.token(&request).await.map_err(token_error)?;
            let res = self
                .http
                .post(&self.reservations_url)
                .bearer_auth(token.as_str())
                .json(&body)
                .send()
                .await
                .map_err(unavailable)?;
            let status = res.status();
            if status == StatusCode::UNAUTHORIZED && !retried {
                // The cached token was refused (e.g. revoked): fetch a new one, once.
                self.tokens.invalidate(&request, &token).await;
                retried = true;
                continue;
            }
            let answer: Value = res.json().await.unwrap_or_default();
            let error = answer["error"].as_str().unwrap_or("");
            return match (status, error) {
                (StatusCode::CREATED, _) => serde_json::from_value(answer)
                    .map_err(|_| unavailable("no reservation in the answer")),
                (StatusCode::CONFLICT, "insufficient_stock") => {
                    Err(InventoryError::InsufficientStock)
                }
                (StatusCode::NOT_FOUND, "unknown_sku") => Err(InventoryError::UnknownSku),
                _ => Err(unavailable(format!("inventory answered {status} {error}"))),
            };
        }
    }
}
