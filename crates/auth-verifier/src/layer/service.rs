//! The request path of [`AuthService`]: the credentials from the token source, the token (a
//! verified-token cache hit is answered without allocating or boxing), the DPoP proof when the
//! scheme is `DPoP`, the scope and the checks.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::Service;

use super::source::{Presented, cookie, presented, proof_header, request_uri};
use super::{AuthService, Authenticated, Config, Refusal, RefusalResponse, TokenSource};
use crate::typed::{CustomClaims, Verified, parser};
use crate::{Verifier, VerifyError};

type BoxFuture<O> = Pin<Box<dyn Future<Output = O> + Send>>;

pin_project_lite::pin_project! {
    /// The future of [`AuthService`].
    ///
    /// A request whose token is a verified-token cache hit (or that is refused at once) is answered
    /// without allocating: only a token that must be verified in full, which may have to fetch keys,
    /// goes through a boxed future.
    pub struct AuthFuture<F, ResBody, E> {
        #[pin]
        state: State<F, ResBody, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, ResBody, E> {
        // Refused without calling the inner service; the answer is taken when polled.
        Refused { response: Option<Response<ResBody>> },
        // Admitted: the inner service's own future.
        Admitted { #[pin] inner: F },
        // Verifying in full, then calling the inner service.
        Verifying { fut: BoxFuture<Result<Response<ResBody>, E>> },
    }
}

impl<F, ResBody, E> AuthFuture<F, ResBody, E> {
    fn refused(response: Response<ResBody>) -> Self {
        let response = Some(response);
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

impl<F, ResBody, E> Future for AuthFuture<F, ResBody, E>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

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

/// What the credentials lead to, decided before the request is handed on.
enum Step<T> {
    /// No credentials, and the layer admits such requests.
    Anonymous,
    /// Known at once (a cache hit, or a refusal).
    Answer(Result<Verified<T>, Refusal>),
    /// A full verification is needed (the token is not in the cache).
    Verify(BoxFuture<Result<Verified<T>, Refusal>>),
}

impl<S, B, ResBody, T, R> Service<Request<B>> for AuthService<S, T, R>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    ResBody: Send + 'static,
    T: CustomClaims,
    R: RefusalResponse<ResBody> + Send + Sync + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = AuthFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let config = &self.config;
        let Some(verifier) = &config.verifier else {
            // Authorize: the claims an Authenticate further out put in the request.
            let admitted = match req.extensions().get::<Authenticated<T>>() {
                Some(Authenticated(v)) => config.admit(v),
                None => Err(Refusal::missing()),
            };
            return match admitted {
                Ok(()) => AuthFuture::admitted(self.inner.call(req)),
                Err(r) => AuthFuture::refused(config.refusal.respond(r)),
            };
        };
        let step = match &config.source {
            TokenSource::Authorization => {
                let dpop = verifier.external_url().is_some();
                let offer = |e: Refusal| if dpop { e.offer_dpop() } else { e };
                match presented(req.headers(), dpop) {
                    Err(e) => Step::Answer(Err(offer(e))),
                    Ok(Presented::Nothing) if config.optional => Step::Anonymous,
                    Ok(Presented::Nothing | Presented::OtherScheme) => {
                        Step::Answer(Err(offer(Refusal::missing())))
                    }
                    Ok(Presented::Bearer(raw)) => bearer(verifier, config, raw, dpop),
                    Ok(Presented::Dpop(raw)) => dpop_step(verifier, config, raw, &req),
                }
            }
            TokenSource::Cookie(name) => match cookie(req.headers(), name) {
                Err(e) => Step::Answer(Err(e)),
                Ok(Presented::Bearer(raw)) => bearer(verifier, config, raw, false),
                Ok(_) if config.optional => Step::Anonymous,
                Ok(_) => Step::Answer(Err(Refusal::missing())),
            },
            TokenSource::Custom(find) => {
                let (parts, body) = req.into_parts();
                let step = match find(&parts) {
                    Some(token) => bearer(verifier, config, token.as_bytes(), false),
                    None if config.optional => Step::Anonymous,
                    None => Step::Answer(Err(Refusal::missing())),
                };
                req = Request::from_parts(parts, body);
                step
            }
        };
        match step {
            Step::Anonymous => AuthFuture::admitted(self.inner.call(req)),
            // The hot path: no allocation, and `self.inner`, the service made ready, serves it.
            Step::Answer(Ok(verified)) => {
                req.extensions_mut().insert(Authenticated(verified));
                AuthFuture::admitted(self.inner.call(req))
            }
            Step::Answer(Err(r)) => AuthFuture::refused(config.refusal.respond(r)),
            Step::Verify(verify) => {
                // The clone that was made ready is the one that must serve this request.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let config = config.clone();
                let fut = Box::pin(async move {
                    match verify.await {
                        Ok(verified) => {
                            req.extensions_mut().insert(Authenticated(verified));
                            inner.call(req).await
                        }
                        Err(r) => Ok(config.refusal.respond(r)),
                    }
                });
                AuthFuture {
                    state: State::Verifying { fut },
                }
            }
        }
    }
}

/// The scope and checks after a verified token, the refusal in the right scheme otherwise.
fn finish<T, R>(
    answer: Result<Verified<T>, VerifyError>,
    config: &Config<T, R>,
    dpop_scheme: bool,
    offer_dpop: bool,
) -> Result<Verified<T>, Refusal> {
    let error = match answer {
        Ok(verified) => match config.admit(&verified) {
            Ok(()) => return Ok(verified),
            Err(e) if dpop_scheme => e.in_dpop_scheme(),
            Err(e) => e,
        },
        Err(e) if dpop_scheme => Refusal::dpop_invalid(&e),
        Err(e) => {
            tracing::debug!(error = %e, "bearer token rejected");
            Refusal::invalid(&e)
        }
    };
    Err(if offer_dpop {
        error.offer_dpop()
    } else {
        error
    })
}

/// RFC 6750 §2.1 b64token ([`auth_core::bearer::token`]).
fn token_syntax(token: &[u8]) -> Result<&str, Refusal> {
    auth_core::bearer::token(token).map_err(|m| Refusal::malformed(m.0))
}

/// A bearer token: a bound token is refused ([`Verifier::verify`], RFC 9449 §7.2).
fn bearer<T, R>(verifier: &Verifier, config: &Arc<Config<T, R>>, raw: &[u8], offer: bool) -> Step<T>
where
    T: CustomClaims,
    R: Send + Sync + 'static,
{
    // The exact bytes of a token verified before need no syntax check: look them up first.
    if let Some(answer) = verifier.verify_cached_as::<T>(raw) {
        return Step::Answer(finish(answer, config, false, offer));
    }
    // Only a token verified in full is checked and copied (next to a signature, both are free).
    let token = match token_syntax(raw) {
        Ok(token) => token.to_owned(),
        Err(e) => {
            verifier.count_refused(&VerifyError::Malformed("bearer token syntax"));
            return Step::Answer(Err(if offer { e.offer_dpop() } else { e }));
        }
    };
    let (verifier, config) = (verifier.clone(), config.clone());
    Step::Verify(Box::pin(async move {
        let answer = verifier.verify_in_full_as::<T>(&token).await;
        finish(answer, &config, false, offer)
    }))
}

/// `Authorization: DPoP` (RFC 9449 §7.1): the one `DPoP` header is parsed and its `jti` looked up
/// before anything is verified; then the token (a cache hit, or in full) and the proof against
/// this request, whose URI is the external URL followed by the path.
fn dpop_step<T, R, B>(
    verifier: &Verifier,
    config: &Arc<Config<T, R>>,
    raw: &[u8],
    req: &Request<B>,
) -> Step<T>
where
    T: CustomClaims,
    R: Send + Sync + 'static,
{
    let token = match token_syntax(raw) {
        Ok(token) => token,
        Err(e) => {
            verifier.count_refused(&VerifyError::Malformed("bearer token syntax"));
            return Step::Answer(Err(e.in_dpop_scheme()));
        }
    };
    let proof = proof_header(req.headers())
        .map_err(|e| {
            let e = VerifyError::DpopProof(e);
            verifier.count_refused(&e);
            e
        })
        .and_then(|p| verifier.dpop_precheck(p));
    let proof = match proof {
        Ok(p) => p,
        Err(e) => return Step::Answer(Err(Refusal::dpop_invalid(&e))),
    };
    let base = verifier.external_url().unwrap_or_default();
    let uri = request_uri(base, req.uri().path());
    let method = req.method().as_str();
    if let Some(answer) = verifier.verify_dpop_cached::<T>(token, &proof, method, &uri) {
        let typed = answer.and_then(|(c, custom)| verifier.typed(token.as_bytes(), c, custom));
        return Step::Answer(finish(typed, config, true, false));
    }
    let (verifier, config) = (verifier.clone(), config.clone());
    let (token, method) = (token.to_owned(), method.to_owned());
    Step::Verify(Box::pin(async move {
        let answer = verifier
            .verify_dpop_in_full(&token, &proof, (&method, &uri), parser::<T>())
            .await
            .and_then(|(c, custom)| verifier.typed(token.as_bytes(), c, custom));
        finish(answer, &config, true, false)
    }))
}
