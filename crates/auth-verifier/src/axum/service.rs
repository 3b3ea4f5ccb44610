//! The request path of [`BearerService`]: the scheme, the token (a verified-token cache hit is
//! answered without allocating or boxing), the DPoP proof when the scheme is `DPoP`, the scope.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::Service;

use super::bearer::token_syntax;
use super::dpop::{Presented, presented, proof_header, request_uri};
use super::{
    Authenticated, BearerError, BearerFuture, BearerService, Check, State, admit, rejected,
};
use crate::{Claims, Verifier, VerifyError};

type Verification = Pin<Box<dyn Future<Output = Result<Arc<Claims>, BearerError>> + Send>>;

/// What the credentials lead to, decided before the request is handed on.
enum Step {
    /// Known at once (a cache hit, or a refusal).
    Answer(Result<Arc<Claims>, BearerError>),
    /// A full verification is needed (the token is not in the cache).
    Verify(Verification),
}

impl<S> Service<Request<Body>> for BearerService<S>
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
        let check = &self.check;
        let Some(verifier) = &check.verifier else {
            // RequireScope: the claims a RequireBearer further out put in the request.
            let admitted = match req.extensions().get::<Authenticated>() {
                Some(Authenticated(claims)) => admit(claims, check.scope.as_deref()),
                None => Err(BearerError::missing()),
            };
            return match admitted {
                Ok(()) => BearerFuture::admitted(self.inner.call(req)),
                Err(e) => BearerFuture::refused(e),
            };
        };
        let dpop = verifier.external_url().is_some();
        let offer = |e: BearerError| if dpop { e.offer_dpop() } else { e };
        let step = match presented(req.headers(), dpop) {
            Err(e) => Step::Answer(Err(offer(e))),
            Ok(Presented::Nothing) => Step::Answer(Err(offer(BearerError::missing()))),
            Ok(Presented::Bearer(raw)) => bearer(verifier, check, raw),
            Ok(Presented::Dpop(raw)) => dpop_step(verifier, check, raw, &req),
        };
        match step {
            // The hot path: no allocation, and `self.inner`, the service made ready, serves it.
            Step::Answer(Ok(claims)) => {
                req.extensions_mut().insert(Authenticated(claims));
                BearerFuture::admitted(self.inner.call(req))
            }
            Step::Answer(Err(e)) => BearerFuture::refused(e),
            Step::Verify(verify) => {
                // The clone that was made ready is the one that must serve this request.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let fut = Box::pin(async move {
                    match verify.await {
                        Ok(claims) => {
                            req.extensions_mut().insert(Authenticated(claims));
                            inner.call(req).await
                        }
                        Err(e) => Ok(e.into_response()),
                    }
                });
                BearerFuture {
                    state: State::Verifying { fut },
                }
            }
        }
    }
}

/// The scope check after a verified token, the refusal in the right scheme otherwise.
fn finish(
    answer: Result<Arc<Claims>, VerifyError>,
    scope: Option<&str>,
    dpop_scheme: bool,
    offer_dpop: bool,
) -> Result<Arc<Claims>, BearerError> {
    let error = match answer {
        Ok(claims) => match admit(&claims, scope) {
            Ok(()) => return Ok(claims),
            Err(e) if dpop_scheme => e.in_dpop_scheme(),
            Err(e) => e,
        },
        Err(e) if dpop_scheme => BearerError::dpop_invalid(&e),
        Err(e) => rejected(&e),
    };
    Err(if offer_dpop {
        error.offer_dpop()
    } else {
        error
    })
}

/// `Authorization: Bearer`: a bound token is refused ([`Verifier::verify`], RFC 9449 §7.2).
fn bearer(verifier: &Verifier, check: &Arc<Check>, raw: &[u8]) -> Step {
    let offer = verifier.external_url().is_some();
    // The exact bytes of a token verified before need no syntax check: look them up first.
    if let Some(answer) = verifier.verify_cached(raw) {
        return Step::Answer(finish(answer, check.scope.as_deref(), false, offer));
    }
    // Only a token verified in full is checked and copied (next to a signature, both are free).
    let token = match token_syntax(raw) {
        Ok(token) => token.to_owned(),
        Err(e) => {
            verifier.count_refused(&VerifyError::Malformed("bearer token syntax"));
            return Step::Answer(Err(if offer { e.offer_dpop() } else { e }));
        }
    };
    let (verifier, check) = (verifier.clone(), check.clone());
    Step::Verify(Box::pin(async move {
        let answer = verifier.verify_in_full(&token).await;
        finish(answer, check.scope.as_deref(), false, offer)
    }))
}

/// `Authorization: DPoP` (RFC 9449 §7.1): the one `DPoP` header is parsed and its `jti` looked up
/// before anything is verified; then the token (a cache hit, or in full) and the proof against
/// this request, whose URI is the external URL followed by the path.
fn dpop_step(verifier: &Verifier, check: &Arc<Check>, raw: &[u8], req: &Request<Body>) -> Step {
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
        Err(e) => return Step::Answer(Err(BearerError::dpop_invalid(&e))),
    };
    let base = verifier.external_url().unwrap_or_default();
    let uri = request_uri(base, req.uri().path());
    let method = req.method().as_str();
    if let Some(answer) = verifier.verify_dpop_cached(token, &proof, method, &uri) {
        return Step::Answer(finish(answer, check.scope.as_deref(), true, false));
    }
    let (verifier, check) = (verifier.clone(), check.clone());
    let (token, method) = (token.to_owned(), method.to_owned());
    Step::Verify(Box::pin(async move {
        let answer = verifier
            .verify_dpop_in_full(&token, &proof, &method, &uri)
            .await;
        finish(answer, check.scope.as_deref(), true, false)
    }))
}
