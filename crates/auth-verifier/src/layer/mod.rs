//! A tower layer for any `http` service ([`Authenticate`]): it takes the request's token from its
//! [`TokenSource`], verifies it (a verified-token cache hit is answered without allocating or
//! boxing a future), checks the scope and the closure checks, and puts [`Authenticated<T>`] into
//! the request's extensions; a refused request is answered by the layer's [`RefusalResponse`]
//! (RFC 6750 §3 / RFC 9449 §7.1 headers and an empty body by default). No web framework needed:
//! the inner service takes `http::Request<B>` and answers `http::Response<ResBody>`; axum is one
//! integration ([`crate::axum`]), tonic another.
//!
//! ```no_run
//! # async fn f(verifier: auth_verifier::Verifier) {
//! use auth_verifier::layer::{Authenticate, Authenticated};
//! use tower::{Layer, Service, ServiceExt};
//!
//! #[derive(Clone, serde::Deserialize)]
//! struct Tenant {
//!     tenant: String,
//! }
//! let layer = Authenticate::with_claims::<Tenant>(verifier)
//!     .scope("orders:read")
//!     .check(|v| v.custom().tenant == "acme");
//! let mut service = layer.layer(tower::service_fn(|req: http::Request<String>| async move {
//!     let Some(Authenticated(who)) = req.extensions().get::<Authenticated<Tenant>>() else {
//!         unreachable!("the layer admits only authenticated requests");
//!     };
//!     let body = format!("hello {:?} of {}", who.sub, who.custom().tenant);
//!     Ok::<_, std::convert::Infallible>(http::Response::new(body))
//! }));
//! let request = http::Request::get("/").body(String::new()).unwrap();
//! let response = service.ready().await.unwrap().call(request).await.unwrap();
//! # }
//! ```
//!
//! **gRPC (tonic).** A tonic server is a tower service over `http::Request<tonic::body::Body>`:
//! put [`Authenticate`] in `Server::builder().layer(...)`, with a refusal hook answering gRPC
//! (`UNAUTHENTICATED` is status 16; HTTP status 200 with the status in headers, the
//! "Trailers-Only" form), e.g. `.refusal(|r: Refusal| tonic::Status::unauthenticated(r.code())
//! .into_http())`, or built by hand as below; a handler reads the claims with
//! `request.extensions().get::<Authenticated<T>>()`.
//!
//! ```no_run
//! # fn f(verifier: auth_verifier::Verifier) {
//! use auth_verifier::layer::{Authenticate, Refusal};
//! let layer = Authenticate::new(verifier).refusal(|r: Refusal| {
//!     let code = if r.status() == http::StatusCode::FORBIDDEN { "7" } else { "16" };
//!     let mut res = http::Response::new(String::new()); // tonic: its own body type
//!     res.headers_mut().insert("content-type", http::HeaderValue::from_static("application/grpc"));
//!     res.headers_mut().insert("grpc-status", http::HeaderValue::from_static(code));
//!     r.write_headers(res.headers_mut()); // WWW-Authenticate, as RFC 6750 has it
//!     res
//! });
//! # let _ = layer;
//! # }
//! ```

mod refusal;
mod service;
mod source;

use std::fmt;
use std::sync::Arc;

#[cfg(feature = "axum")]
pub(crate) use self::refusal::challenge;
pub use self::refusal::{DefaultRefusal, Refusal, RefusalResponse};
pub use self::service::AuthFuture;
pub use self::source::TokenSource;
use crate::Verifier;
use crate::typed::{CustomClaims, Verified};

/// The verified token of a request, put in its extensions by [`Authenticate`]: the standard
/// claims (`Deref` of [`Verified`]) and the service's own `T`.
pub struct Authenticated<T = ()>(pub Verified<T>);

impl<T> Clone for Authenticated<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Authenticated<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authenticated").field(&self.0).finish()
    }
}

impl<T> std::ops::Deref for Authenticated<T> {
    type Target = Verified<T>;

    fn deref(&self) -> &Verified<T> {
        &self.0
    }
}

type CheckFn<T> = Arc<dyn Fn(&Verified<T>) -> Result<(), Refusal> + Send + Sync>;

/// What an [`AuthService`] does.
pub(crate) struct Config<T, R> {
    /// `None` for [`Authorize`]: the claims are those an [`Authenticate`] further out admitted.
    pub(crate) verifier: Option<Verifier>,
    pub(crate) scope: Option<Arc<str>>,
    pub(crate) checks: Vec<CheckFn<T>>,
    pub(crate) optional: bool,
    pub(crate) source: TokenSource,
    pub(crate) refusal: R,
}

impl<T, R: Clone> Clone for Config<T, R> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            scope: self.scope.clone(),
            checks: self.checks.clone(),
            optional: self.optional,
            source: self.source.clone(),
            refusal: self.refusal.clone(),
        }
    }
}

impl<T, R> fmt::Debug for Config<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("scope", &self.scope)
            .field("checks", &self.checks.len())
            .field("optional", &self.optional)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl<T, R> Config<T, R> {
    fn new(verifier: Option<Verifier>, refusal: R) -> Self {
        Self {
            verifier,
            scope: None,
            checks: Vec::new(),
            optional: false,
            source: TokenSource::Authorization,
            refusal,
        }
    }

    fn with_refusal<R2>(self, refusal: R2) -> Config<T, R2> {
        Config {
            verifier: self.verifier,
            scope: self.scope,
            checks: self.checks,
            optional: self.optional,
            source: self.source,
            refusal,
        }
    }

    /// The scope, then every check, in order.
    pub(crate) fn admit(&self, v: &Verified<T>) -> Result<(), Refusal> {
        if let Some(scope) = self.scope.as_deref()
            && !v.has_scope(scope)
        {
            return Err(Refusal::insufficient_scope(scope));
        }
        self.checks.iter().try_for_each(|check| check(v))
    }
}

/// A layer that lets through only requests with a valid token (from its [`TokenSource`]; with
/// [`Authenticate::optional`], requests without any credentials too), with the scope and the
/// checks it requires, and puts [`Authenticated<T>`] into their extensions. Works for any inner
/// `Service<http::Request<B>, Response = http::Response<ResBody>>` (see the [module](self) docs).
///
/// An invalid token is refused (401) in every mode: never treated as anonymous.
pub struct Authenticate<T = (), R = DefaultRefusal> {
    config: Config<T, R>,
}

impl<T, R: Clone> Clone for Authenticate<T, R> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl<T, R> fmt::Debug for Authenticate<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticate")
            .field("config", &self.config)
            .finish()
    }
}

impl Authenticate {
    /// Verifies with `verifier`; the handlers get the standard claims ([`Authenticated`]).
    pub fn new(verifier: Verifier) -> Self {
        Self::with_claims::<()>(verifier)
    }

    /// Verifies with `verifier`; the handlers get [`Authenticated<T>`]: the standard claims and
    /// the service's own `T`, parsed once per token (cached with it).
    pub fn with_claims<T: CustomClaims>(verifier: Verifier) -> Authenticate<T> {
        Authenticate {
            config: Config::new(Some(verifier), DefaultRefusal),
        }
    }
}

impl<T: CustomClaims, R> Authenticate<T, R> {
    /// Also requires `scope` (403 `insufficient_scope` without it, RFC 6750 §3.1).
    pub fn scope(mut self, scope: &str) -> Self {
        self.config.scope = Some(scope.into());
        self
    }

    /// Also requires `check` to hold (repeatable, checked in order after the scope; 403
    /// `insufficient_scope`, [`Refusal::forbidden`], when it does not). Called on every request:
    /// keep it cheap (it sees the cached claims, already parsed).
    pub fn check<F>(self, check: F) -> Self
    where
        F: Fn(&Verified<T>) -> bool + Send + Sync + 'static,
    {
        self.check_with(move |v| match check(v) {
            true => Ok(()),
            false => Err(Refusal::forbidden()),
        })
    }

    /// Also requires `check` to pass; its [`Refusal`] is the answer when it does not (e.g.
    /// `Refusal::new(StatusCode::FORBIDDEN, "wrong_tenant", "...")`).
    pub fn check_with<F>(mut self, check: F) -> Self
    where
        F: Fn(&Verified<T>) -> Result<(), Refusal> + Send + Sync + 'static,
    {
        self.config.checks.push(Arc::new(check));
        self
    }

    /// Admits requests without any credentials too, without [`Authenticated`]: a handler takes
    /// `Option<Authenticated<T>>` (axum) or looks in the extensions. A request that presents
    /// credentials (even in a scheme this layer does not take) must still present a valid
    /// token: an invalid one is refused, never served anonymously.
    pub fn optional(mut self) -> Self {
        self.config.optional = true;
        self
    }

    /// Where the token is (default: the `Authorization` header).
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.config.source = source;
        self
    }

    /// Builds refusals with `refusal` (e.g. a gRPC answer, a JSON body) instead of
    /// [`DefaultRefusal`].
    pub fn refusal<R2>(self, refusal: R2) -> Authenticate<T, R2> {
        Authenticate {
            config: self.config.with_refusal(refusal),
        }
    }
}

impl<S, T, R: Clone> tower::Layer<S> for Authenticate<T, R> {
    type Service = AuthService<S, T, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            config: Arc::new(self.config.clone()),
        }
    }
}

/// A layer inside an [`Authenticate`] (e.g. per route) that requires more of the token it
/// admitted: a scope, checks. A request without [`Authenticated<T>`] (no `Authenticate` further
/// out, or an optional one that admitted an anonymous request) is refused with 401.
pub struct Authorize<T = (), R = DefaultRefusal> {
    config: Config<T, R>,
}

impl<T, R: Clone> Clone for Authorize<T, R> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl<T, R> fmt::Debug for Authorize<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorize")
            .field("config", &self.config)
            .finish()
    }
}

impl Authorize {
    /// Requires `scope` of the token an outer [`Authenticate`] admitted.
    pub fn scope(scope: &str) -> Self {
        let mut config = Config::new(None, DefaultRefusal);
        config.scope = Some(scope.into());
        Self { config }
    }

    /// Requires `check` of the token an outer `Authenticate<T>` admitted (403
    /// [`Refusal::forbidden`] when it does not hold).
    pub fn check<T: CustomClaims, F>(check: F) -> Authorize<T>
    where
        F: Fn(&Verified<T>) -> bool + Send + Sync + 'static,
    {
        let mut config = Config::new(None, DefaultRefusal);
        config
            .checks
            .push(Arc::new(move |v: &Verified<T>| match check(v) {
                true => Ok(()),
                false => Err(Refusal::forbidden()),
            }));
        Authorize { config }
    }
}

impl<T, R> Authorize<T, R> {
    /// Builds refusals with `refusal` instead of [`DefaultRefusal`].
    pub fn refusal<R2>(self, refusal: R2) -> Authorize<T, R2> {
        Authorize {
            config: self.config.with_refusal(refusal),
        }
    }
}

impl<S, T, R: Clone> tower::Layer<S> for Authorize<T, R> {
    type Service = AuthService<S, T, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            config: Arc::new(self.config.clone()),
        }
    }
}

/// The service of [`Authenticate`] and [`Authorize`].
pub struct AuthService<S, T = (), R = DefaultRefusal> {
    inner: S,
    /// One shared reference per request.
    config: Arc<Config<T, R>>,
}

impl<S: Clone, T, R> Clone for AuthService<S, T, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: fmt::Debug, T, R> fmt::Debug for AuthService<S, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

#[cfg(test)]
mod tests;
