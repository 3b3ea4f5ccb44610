//! axum integration: a layer that requires a valid access token, presented as a bearer token
//! (RFC 6750) or, when the verifier has an external URL, as a DPoP-bound token with its proof
//! (RFC 9449 §7), an extractor for its claims, and a per-route scope requirement, answering as
//! RFC 6750 §3 and RFC 9449 §7.1 prescribe; the RFC 6750 parsing and
//! challenge on their own ([`bearer_token`], [`bearer_challenge`]); and [`JsonError`], the JSON
//! error body of every refusal, which services use for their own errors too.

mod bearer;
mod dpop;
mod json_error;
mod service;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tower::Layer;

pub use self::bearer::{BearerError, bearer_challenge, bearer_token};
pub use self::json_error::{JsonBody, JsonError};
use crate::{Claims, Verifier, VerifyError};

/// The verified claims of the request, put in its extensions by [`RequireBearer`].
#[derive(Debug, Clone)]
pub struct Authenticated(pub Arc<Claims>);

/// A layer that lets through only requests with a valid bearer token (and, with
/// [`RequireBearer::scope`], a scope), and puts [`Authenticated`] into their extensions.
///
/// One layer doing both checks costs one boxed service per request; a separate [`RequireScope`]
/// inside it works too, for routers that mix scopes under one bearer layer.
#[derive(Debug, Clone)]
pub struct RequireBearer {
    verifier: Verifier,
    scope: Option<Arc<str>>,
}

impl RequireBearer {
    /// Verifies with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            scope: None,
        }
    }

    /// Also requires `scope` (403 `insufficient_scope` without it).
    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.into());
        self
    }
}

impl<S> Layer<S> for RequireBearer {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let check = Check {
            verifier: Some(self.verifier.clone()),
            scope: self.scope.clone(),
        };
        BearerService {
            inner,
            check: Arc::new(check),
        }
    }
}

/// The service of [`RequireBearer`] and of [`RequireScope`].
#[derive(Debug, Clone)]
pub struct BearerService<S> {
    inner: S,
    /// One shared reference per request instead of two.
    check: Arc<Check>,
}

/// What a [`BearerService`] checks.
#[derive(Debug)]
struct Check {
    /// `None` for [`RequireScope`]: the claims are those a [`RequireBearer`] further out admitted.
    verifier: Option<Verifier>,
    scope: Option<Arc<str>>,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project_lite::pin_project! {
    /// The future of [`BearerService`].
    ///
    /// A request whose token is a verified-token cache hit (or that is refused at once) is answered
    /// without allocating: only a token that must be verified in full, which may have to fetch keys,
    /// goes through a boxed future.
    pub struct BearerFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        // Refused without calling the inner service; the answer is taken when polled.
        Refused { response: Option<Response> },
        // Admitted: the inner service's own future.
        Admitted { #[pin] inner: F },
        // Verifying in full, then calling the inner service.
        Verifying { fut: BoxFuture },
    }
}

impl<F> BearerFuture<F> {
    fn refused(e: BearerError) -> Self {
        let response = Some(e.into_response());
        Self {
            state: State::Refused { response },
        }
    }

    fn admitted(inner: F) -> Self {
        Self {
            state: State::Admitted { inner },
        }
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for BearerFuture<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            // `None` only if polled again after completing, which the Future contract leaves open.
            StateProj::Refused { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            },
            StateProj::Admitted { inner } => inner.poll(cx),
            StateProj::Verifying { fut } => fut.as_mut().poll(cx),
        }
    }
}

/// Admits verified claims when they carry the required scope.
fn admit(claims: &Claims, scope: Option<&str>) -> Result<(), BearerError> {
    match scope {
        Some(scope) if !claims.has_scope(scope) => Err(BearerError::insufficient_scope(scope)),
        _ => Ok(()),
    }
}

fn rejected(e: &VerifyError) -> BearerError {
    tracing::debug!(error = %e, "bearer token rejected");
    BearerError::invalid(e)
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = BearerError;

    /// The claims put there by [`RequireBearer`]. A route not behind the layer gets 401: failing
    /// closed is the safe answer to a wiring mistake.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated>()
            .cloned()
            .ok_or_else(BearerError::missing)
    }
}

/// A per-route scope requirement (`route_layer`), to be used inside [`RequireBearer`]: 403
/// `insufficient_scope` unless the token has the scope.
#[derive(Debug, Clone)]
pub struct RequireScope {
    scope: Arc<str>,
}

impl RequireScope {
    /// Requires `scope`.
    pub fn new(scope: &str) -> Self {
        Self {
            scope: scope.into(),
        }
    }
}

impl<S> Layer<S> for RequireScope {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let check = Check {
            verifier: None,
            scope: Some(self.scope.clone()),
        };
        BearerService {
            inner,
            check: Arc::new(check),
        }
    }
}
