//! axum integration of the generic [`crate::layer`]: [`RequireBearer`], a layer that requires a
//! valid access token, presented as a bearer token (RFC 6750) or, when the verifier has an
//! external URL, as a DPoP-bound token with its proof (RFC 9449 §7), or taken from a cookie or a
//! custom source; the [`Authenticated`] extractor for its claims (`Option<Authenticated<T>>`
//! with [`RequireBearer::optional`]); a per-route scope requirement ([`RequireScope`]); refusals
//! answered as RFC 6750 §3 and RFC 9449 §7.1 prescribe, with a JSON body; the RFC 6750 parsing
//! and challenge on their own ([`bearer_token`], [`bearer_challenge`]); and [`JsonError`], the
//! JSON error body of every refusal, which services use for their own errors too.
//!
//! ```no_run
//! # async fn f(verifier: auth_verifier::Verifier) {
//! use auth_verifier::axum::{Authenticated, RequireBearer};
//! use axum::{Router, routing::get};
//!
//! #[derive(Clone, serde::Deserialize)]
//! struct Tenant {
//!     tenant: String,
//! }
//! async fn list(Authenticated(who): Authenticated<Tenant>) -> String {
//!     format!("{:?} acting as {:?} for {}", who.sub, who.actor(), who.custom().tenant)
//! }
//! async fn public(who: Option<Authenticated>) -> String {
//!     who.map_or("anonymous".into(), |Authenticated(c)| format!("{:?}", c.sub))
//! }
//! let app: Router = Router::new()
//!     .route("/orders", get(list))
//!     .route_layer(
//!         RequireBearer::with_claims::<Tenant>(verifier.clone())
//!             .scope("orders:read")
//!             .check(|v| !v.custom().tenant.is_empty()),
//!     )
//!     .merge(
//!         Router::new()
//!             .route("/", get(public))
//!             .route_layer(RequireBearer::new(verifier).optional()),
//!     );
//! # }
//! ```

mod bearer;
mod json_error;

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tower::Layer;

pub use self::bearer::{BearerError, bearer_challenge, bearer_token};
pub use self::json_error::{JsonBody, JsonError};
use crate::Verifier;
pub use crate::layer::Authenticated;
use crate::layer::TokenSource;
use crate::layer::{AuthFuture, AuthService, Authenticate, Authorize, Refusal, RefusalResponse};
use crate::typed::{CustomClaims, Verified};

/// Answers a refusal as [`BearerError`] does: the RFC 6750 headers and a [`JsonError`] body.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRefusal;

impl RefusalResponse<Body> for JsonRefusal {
    fn respond(&self, refusal: Refusal) -> Response {
        BearerError(refusal).into_response()
    }
}

/// A layer that lets through only requests with a valid token (and, with
/// [`RequireBearer::scope`] and [`RequireBearer::check`], what else the route needs), and puts
/// [`Authenticated<T>`] into their extensions: [`Authenticate`] answering with JSON bodies.
///
/// One layer doing every check costs no boxed future on a cache hit; a separate [`RequireScope`]
/// inside it works too, for routers that mix scopes under one bearer layer.
#[derive(Debug)]
pub struct RequireBearer<T = ()>(Authenticate<T, JsonRefusal>);

impl<T> Clone for RequireBearer<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl RequireBearer {
    /// Verifies with `verifier`; handlers take [`Authenticated`] (the standard claims).
    pub fn new(verifier: Verifier) -> Self {
        Self(Authenticate::new(verifier).refusal(JsonRefusal))
    }

    /// Verifies with `verifier`; handlers take [`Authenticated<T>`]: the standard claims and the
    /// service's own `T`, parsed once per token ([`crate::Verified`]).
    pub fn with_claims<T: CustomClaims>(verifier: Verifier) -> RequireBearer<T> {
        RequireBearer(Authenticate::with_claims::<T>(verifier).refusal(JsonRefusal))
    }
}

impl<T: CustomClaims> RequireBearer<T> {
    /// Also requires `scope` (403 `insufficient_scope` without it).
    pub fn scope(self, scope: &str) -> Self {
        Self(self.0.scope(scope))
    }

    /// Also requires `check` to hold ([`Authenticate::check`]: 403 `insufficient_scope`).
    pub fn check<F>(self, check: F) -> Self
    where
        F: Fn(&Verified<T>) -> bool + Send + Sync + 'static,
    {
        Self(self.0.check(check))
    }

    /// Also requires `check` to pass, answering its [`Refusal`] otherwise
    /// ([`Authenticate::check_with`]).
    pub fn check_with<F>(self, check: F) -> Self
    where
        F: Fn(&Verified<T>) -> Result<(), Refusal> + Send + Sync + 'static,
    {
        Self(self.0.check_with(check))
    }

    /// Admits requests without credentials too ([`Authenticate::optional`]): handlers take
    /// `Option<Authenticated<T>>`. An invalid token is still refused with 401.
    pub fn optional(self) -> Self {
        Self(self.0.optional())
    }

    /// Where the token is ([`TokenSource`]; default: the `Authorization` header).
    pub fn token_source(self, source: TokenSource) -> Self {
        Self(self.0.token_source(source))
    }
}

impl<S, T> Layer<S> for RequireBearer<T> {
    type Service = BearerService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}

/// The service of [`RequireBearer`] and of [`RequireScope`].
pub type BearerService<S, T = ()> = AuthService<S, T, JsonRefusal>;

/// The future of [`BearerService`]: a cache hit (or a refusal) is answered without allocating.
pub type BearerFuture<F> = AuthFuture<F, Body, Infallible>;

impl<T: Send + Sync + 'static, S: Send + Sync> FromRequestParts<S> for Authenticated<T> {
    type Rejection = BearerError;

    /// The claims put there by [`RequireBearer`]. A route not behind the layer (or behind an
    /// optional one, for a request without a token) gets 401: failing closed is the safe answer
    /// to a wiring mistake.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated<T>>()
            .cloned()
            .ok_or_else(BearerError::missing)
    }
}

impl<T: Send + Sync + 'static, S: Send + Sync> OptionalFromRequestParts<S> for Authenticated<T> {
    type Rejection = Infallible;

    /// The claims put there by [`RequireBearer`], `None` for a request the layer admitted without
    /// credentials ([`RequireBearer::optional`]). An invalid token never gets here: the layer
    /// refused it.
    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Authenticated<T>>().cloned())
    }
}

/// A per-route scope requirement (`route_layer`), to be used inside [`RequireBearer`]: 403
/// `insufficient_scope` unless the token has the scope.
#[derive(Debug, Clone)]
pub struct RequireScope(Authorize<(), JsonRefusal>);

impl RequireScope {
    /// Requires `scope`.
    pub fn new(scope: &str) -> Self {
        Self(Authorize::scope(scope).refusal(JsonRefusal))
    }
}

impl<S> Layer<S> for RequireScope {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
