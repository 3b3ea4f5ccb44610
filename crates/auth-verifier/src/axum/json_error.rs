//! The JSON error body of the resource services: `{"error": code, "error_description"?: text}`,
//! the shape of RFC 6749 §5.2 and RFC 6750 §3.1 errors, for every refusal a service answers, from
//! a missing token ([`super::BearerError`]) to its own domain errors; and [`JsonBody`], a JSON
//! request body refused with it.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// An error answered as `{"error": code, "error_description"?: text}` with its status. The code
/// and description are shown to the caller: never put internals in them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}")]
pub struct JsonError {
    status: StatusCode,
    code: &'static str,
    description: Option<String>,
}

impl JsonError {
    /// An error with this status and code, without description.
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            description: None,
        }
    }

    /// 400 `invalid_request`: the request is malformed, as `description` says.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request").describe(description)
    }

    /// The same error with an `error_description`.
    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The same error with another status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `error` code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// A JSON body that cannot be read: 415 without a JSON content type, 413 over the body limit, 400
/// otherwise (syntax, unknown fields, wrong types), all `invalid_request`.
impl From<JsonRejection> for JsonError {
    fn from(r: JsonRejection) -> Self {
        let status = match &r {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::invalid_request(r.body_text()).with_status(status)
    }
}

/// A path segment that cannot be read: 400 `invalid_request`.
impl From<PathRejection> for JsonError {
    fn from(r: PathRejection) -> Self {
        Self::invalid_request(r.body_text())
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let body = match self.description {
            Some(d) => serde_json::json!({"error": self.code, "error_description": d}),
            None => serde_json::json!({"error": self.code}),
        };
        (self.status, Json(body)).into_response()
    }
}

/// A JSON request body, as axum's [`Json`] reads it, refused with a [`JsonError`] (see its
/// `From<JsonRejection>`): a handler takes `JsonBody(req): JsonBody<T>` and returns `JsonError`s.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = JsonError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(body) = Json::<T>::from_request(req, state).await?;
        Ok(Self(body))
    }
}
