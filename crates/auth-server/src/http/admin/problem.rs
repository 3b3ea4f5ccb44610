//! RFC 9457 problem details: every admin API error is an `application/problem+json` body with
//! `type`, `title`, `status` and `detail`, and the extractors the handlers use (JSON body, query,
//! path) turn axum's rejections into problems too, so no admin error is plain text.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The media type of a problem (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem (RFC 9457 §3.1). `type` is `about:blank` when the status says it all (§4.2.1), else a
/// URN naming the condition (`urn:auth-server:problem:<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The problem type (§3.1.1).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the type (§3.1.3).
    pub title: String,
    /// The HTTP status (§3.1.2).
    pub status: u16,
    /// What went wrong with this request (§3.1.4). Never internals.
    pub detail: String,
    /// A `WWW-Authenticate` challenge to send with it (RFC 6750 §3), not part of the body.
    #[serde(skip)]
    pub challenge: Option<String>,
}

impl Problem {
    /// A problem of `status`, typed `about:blank` (its title is the status's reason phrase).
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            challenge: None,
        }
    }

    /// A problem of `status` with its own type `urn:auth-server:problem:<name>` and `title`.
    pub fn typed(status: StatusCode, name: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:auth-server:problem:{name}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            challenge: None,
        }
    }

    /// 400: the request is malformed or invalid.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::BAD_REQUEST, detail)
    }

    /// 404: no such resource.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::NOT_FOUND, detail)
    }

    /// 409: the request conflicts with the resource's state (an id taken, a change lost to a
    /// concurrent one).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::CONFLICT, detail)
    }

    /// 503: storage (or another dependency) failed. The cause is logged with the request id, never
    /// sent.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "admin API: service unavailable");
        Self::status(
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is temporarily unavailable; retry later",
        )
    }

    /// 401 with `WWW-Authenticate: Bearer ...` (RFC 6750 §3): no token (`error` None, §3.1 says no
    /// error code then) or an invalid one (`invalid_token`).
    pub fn unauthorized(error: Option<&str>, detail: &str) -> Self {
        let mut params = vec![("realm", "admin")];
        if let Some(e) = error {
            params.push(("error", e));
            params.push(("error_description", detail));
        }
        let mut p = Self::status(StatusCode::UNAUTHORIZED, detail);
        p.challenge = Some(auth_core::bearer::challenge(&params));
        p
    }

    /// 403 `insufficient_scope` (RFC 6750 §3.1), naming the scope needed.
    pub fn insufficient_scope(scope: &str) -> Self {
        let detail = format!("this request needs the scope {scope}");
        let mut p = Self::typed(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "Insufficient scope",
            detail.clone(),
        );
        p.challenge = Some(auth_core::bearer::challenge(&[
            ("realm", "admin"),
            ("error", "insufficient_scope"),
            ("error_description", &detail),
            ("scope", scope),
        ]));
        p
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(&self)).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(c) = self
            .challenge
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, c);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be application/json",
            ),
            JsonRejection::JsonDataError(e) => {
                Self::bad_request(format!("invalid body: {}", e.body_text()))
            }
            JsonRejection::JsonSyntaxError(_) => Self::bad_request("the body is not valid JSON"),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::status(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large")
            }
            _ => Self::bad_request("the body could not be read"),
        }
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(format!("invalid query: {}", r.body_text()))
    }
}

impl From<PathRejection> for Problem {
    fn from(r: PathRejection) -> Self {
        Self::bad_request(format!("invalid path: {}", r.body_text()))
    }
}

/// A JSON request body; a missing content type is 415, anything unreadable 400, as problems.
#[derive(Debug, Clone)]
pub struct AdminJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AdminJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        Ok(Self(Json::<T>::from_request(req, state).await?.0))
    }
}

/// Query parameters; an invalid one is a 400 problem.
#[derive(Debug, Clone)]
pub struct AdminQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AdminQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let q = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(q.0))
    }
}

/// Path parameters; an invalid one is a 400 problem.
#[derive(Debug, Clone)]
pub struct AdminPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AdminPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let p = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(p.0))
    }
}

/// The schema of [`Problem`] (OpenAPI 3.1 / JSON Schema 2020-12).
pub fn schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"}
        }
    })
}
