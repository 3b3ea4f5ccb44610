//! axum integration: a layer that requires a valid bearer token, an extractor for its claims, and a
//! per-route scope requirement, answering as RFC 6750 §3 prescribes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::{Claims, Verifier, VerifyError};

/// The verified claims of the request, put in its extensions by [`RequireBearer`].
#[derive(Debug, Clone)]
pub struct Authenticated(pub Arc<Claims>);

/// An RFC 6750 error response.
#[derive(Debug)]
pub struct BearerError {
    status: StatusCode,
    challenge: String,
    code: Option<&'static str>,
    description: Option<String>,
}

impl BearerError {
    /// 401 with no error code: the request carried no token (RFC 6750 §3.1: "If the request lacks any
    /// authentication information ... the resource server SHOULD NOT include an error code").
    pub fn missing() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            challenge: "Bearer".into(),
            code: None,
            description: None,
        }
    }

    /// 401 `invalid_token` (RFC 6750 §3.1).
    pub fn invalid(why: &VerifyError) -> Self {
        // Only "expired" is told apart (clients act on it); every other reason is logged, not shown,
        // so a caller learns nothing about keys, the IdP's state, or which check failed.
        let description = match why {
            VerifyError::Expired => "the access token has expired",
            _ => "the access token is invalid",
        };
        Self {
            status: StatusCode::UNAUTHORIZED,
            challenge: format!(
                "Bearer error=\"invalid_token\", error_description=\"{description}\""
            ),
            code: Some("invalid_token"),
            description: Some(description.to_owned()),
        }
    }

    /// 400 `invalid_request` (RFC 6750 §3.1): a malformed Authorization header.
    pub fn malformed(why: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            challenge: format!("Bearer error=\"invalid_request\", error_description=\"{why}\""),
            code: Some("invalid_request"),
            description: Some(why.to_owned()),
        }
    }

    /// 403 `insufficient_scope` naming the scope needed (RFC 6750 §3.1).
    pub fn insufficient_scope(scope: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            challenge: format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
            code: Some("insufficient_scope"),
            description: Some(format!("this request requires the scope {scope}")),
        }
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let body = match self.code {
            Some(code) => serde_json::json!({"error": code, "error_description": self.description}),
            None => {
                serde_json::json!({"error": "unauthorized", "error_description": "a bearer token is required"})
            }
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&self.challenge) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// The token from `Authorization: Bearer <token>` (RFC 6750 §2.1). Query and body tokens are not
/// accepted. `Ok(None)` when there is no Authorization header.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, BearerError> {
    match bearer_bytes(headers)? {
        Some(raw) => token_syntax(raw).map(Some),
        None => Ok(None),
    }
}

/// The credentials of a single `Authorization: Bearer` header, trimmed, not yet checked.
fn bearer_bytes(headers: &HeaderMap) -> Result<Option<&[u8]>, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(BearerError::malformed("more than one Authorization header"));
    }
    let bytes = value.as_bytes();
    if bytes.len() < 7 || !bytes[..7].eq_ignore_ascii_case(b"bearer ") {
        return Ok(None); // another scheme: as if no bearer token was sent
    }
    Ok(Some(bytes[7..].trim_ascii()))
}

/// RFC 6750 §2.1 b64token. The syntax is not re-checked byte by byte here: anything that is not
/// three base64url segments fails verification anyway, so only what would make the value unusable
/// as a token is refused.
fn token_syntax(token: &[u8]) -> Result<&str, BearerError> {
    if token.is_empty() || token.contains(&b' ') {
        return Err(BearerError::malformed("malformed bearer token"));
    }
    std::str::from_utf8(token).map_err(|_| BearerError::malformed("malformed bearer token"))
}

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
    type Service = RequireBearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireBearerService {
            inner,
            check: Arc::new((self.verifier.clone(), self.scope.clone())),
        }
    }
}

/// The service of [`RequireBearer`].
#[derive(Debug, Clone)]
pub struct RequireBearerService<S> {
    inner: S,
    /// One shared reference per request instead of two.
    check: Arc<(Verifier, Option<Arc<str>>)>,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project_lite::pin_project! {
    /// The future of [`RequireBearerService`] and [`RequireScopeService`].
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

impl<S> Service<Request<Body>> for RequireBearerService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BearerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let (verifier, scope) = &*self.check;
        let raw = match bearer_bytes(req.headers()) {
            Ok(Some(raw)) => raw,
            Ok(None) => return BearerFuture::refused(BearerError::missing()),
            Err(e) => return BearerFuture::refused(e),
        };
        // The exact bytes of a token verified before need no syntax check: look them up first.
        let cached = verifier.verify_cached(raw);
        // Only a token verified in full is checked and copied (next to a signature, both are free).
        let token = match cached {
            Some(_) => None,
            None => match token_syntax(raw) {
                Ok(token) => Some(token.to_owned()),
                Err(e) => return BearerFuture::refused(e),
            },
        };
        match (cached, token) {
            // The hot path: no allocation, and `self.inner`, the service made ready, serves it.
            (Some(Ok(claims)), _) => {
                if let Err(e) = admit(&claims, scope.as_deref()) {
                    return BearerFuture::refused(e);
                }
                req.extensions_mut().insert(Authenticated(claims));
                BearerFuture::admitted(self.inner.call(req))
            }
            (Some(Err(e)), _) => BearerFuture::refused(rejected(&e)),
            (None, token) => {
                // The clone that was made ready is the one that must serve this request.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let check = self.check.clone();
                let fut = Box::pin(async move {
                    let (verifier, scope) = &*check;
                    let token = token.unwrap_or_default();
                    // The cache was looked up in `call`: go straight to full verification.
                    let claims = match verifier.verify_in_full(&token).await {
                        Ok(claims) => claims,
                        Err(e) => return Ok(rejected(&e).into_response()),
                    };
                    if let Err(e) = admit(&claims, scope.as_deref()) {
                        return Ok(e.into_response());
                    }
                    req.extensions_mut().insert(Authenticated(claims));
                    inner.call(req).await
                });
                BearerFuture {
                    state: State::Verifying { fut },
                }
            }
        }
    }
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
    type Service = RequireScopeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopeService {
            inner,
            scope: self.scope.clone(),
        }
    }
}

/// The service of [`RequireScope`].
#[derive(Debug, Clone)]
pub struct RequireScopeService<S> {
    inner: S,
    scope: Arc<str>,
}

impl<S> Service<Request<Body>> for RequireScopeService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BearerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let allowed = match req.extensions().get::<Authenticated>() {
            None => Err(BearerError::missing()),
            Some(Authenticated(c)) if c.has_scope(&self.scope) => Ok(()),
            Some(_) => Err(BearerError::insufficient_scope(&self.scope)),
        };
        match allowed {
            Ok(()) => BearerFuture::admitted(self.inner.call(req)),
            Err(e) => BearerFuture::refused(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for x in v {
            if let Ok(v) = HeaderValue::from_str(x) {
                m.append(header::AUTHORIZATION, v);
            }
        }
        m
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(
            bearer_token(&h(&["Bearer abc.def-_~+/="])).ok().flatten(),
            Some("abc.def-_~+/=")
        );
        assert_eq!(
            bearer_token(&h(&["bearer abc"])).ok().flatten(),
            Some("abc")
        );
        assert_eq!(bearer_token(&h(&[])).ok().flatten(), None);
        assert_eq!(bearer_token(&h(&["Basic abc"])).ok().flatten(), None);
        assert!(bearer_token(&h(&["Bearer a b"])).is_err());
        assert_eq!(
            bearer_token(&h(&["BEARER  abc  "])).ok().flatten(),
            Some("abc")
        );
        assert!(bearer_token(&h(&["Bearer a", "Bearer b"])).is_err());
    }
}
