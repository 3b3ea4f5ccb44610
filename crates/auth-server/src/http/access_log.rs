//! The access log and the request id: one line per request, and one id per request on every log
//! line written while it is answered and on its response.
//!
//! [`AccessLogLayer`] wraps every route of the public router (after routing, so it knows the
//! route's template). For each request it:
//!
//! - takes the request id from `X-Request-Id` when a proxy in front set a plausible one (up to 128
//!   characters of `A-Z a-z 0-9 . _ : / + = -`), else makes one (a per-process random prefix and a
//!   counter); the id is put on the request (for the handlers) and on the response;
//! - runs the request inside a `request` span carrying `request_id`, `method` and `route`, so any
//!   line a handler logs names its request;
//! - when the response is ready, logs one line at `INFO` with target `auth_server::access`:
//!   `request_id`, `method`, `route` (the matched route's template, such as `/token`, never the raw
//!   path or its query), `status`, `latency_ms`, and `client_id` when a handler authenticated a
//!   client ([`LoggedClient`]).
//!
//! Nothing from the request's headers, query or body is logged: no token, secret, code or cookie
//! can reach the log through this layer.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tracing::Instrument;

/// The request id's header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The target of access-log lines (`AUTH_SERVER_LOG=info,auth_server::access=off` silences them).
pub const TARGET: &str = "auth_server::access";

/// The longest request id taken from a request.
const MAX_ID_LEN: usize = 128;

/// The client a handler authenticated, for the access log: put it in the response's extensions
/// ([`with_client`]). Only an authenticated client's id is logged, never what a request claimed.
#[derive(Debug, Clone)]
pub struct LoggedClient(pub Arc<str>);

/// `res` with `client_id` noted for the access log.
pub fn with_client(client_id: &str, res: impl IntoResponse) -> Response {
    let mut res = res.into_response();
    res.extensions_mut().insert(LoggedClient(client_id.into()));
    res
}

/// Adds the request id and the access log to a router (`router.layer(AccessLogLayer::new())`).
#[derive(Debug, Clone)]
pub struct AccessLogLayer {
    ids: Arc<RequestIds>,
}

impl AccessLogLayer {
    /// A layer with a fresh request-id prefix.
    pub fn new() -> Self {
        Self {
            ids: Arc::new(RequestIds::default()),
        }
    }
}

impl Default for AccessLogLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLog {
            inner,
            ids: self.ids.clone(),
        }
    }
}

/// The service of [`AccessLogLayer`].
#[derive(Debug, Clone)]
pub struct AccessLog<S> {
    inner: S,
    ids: Arc<RequestIds>,
}

impl<S> Service<Request> for AccessLog<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let start = Instant::now();
        let id = self.ids.for_request(req.headers().get(REQUEST_ID));
        req.headers_mut().insert(REQUEST_ID, id.clone());
        let route: Arc<str> = req
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| Arc::from("unmatched"), |m| Arc::from(m.as_str()));
        let method = req.method().clone();
        let id_text = id.to_str().unwrap_or("-").to_owned();
        let span = tracing::info_span!(
            "request",
            request_id = %id_text,
            method = %method,
            route = %route,
        );
        // The clone that was made ready is the one called (tower's readiness contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let answer = inner.call(req).instrument(span);
        Box::pin(async move {
            let Ok(mut res) = answer.await;
            res.headers_mut().insert(REQUEST_ID, id);
            let client = res.extensions().get::<LoggedClient>().map(|c| c.0.clone());
            tracing::info!(
                target: TARGET,
                request_id = %id_text,
                method = %method,
                route = %route,
                status = res.status().as_u16(),
                latency_ms = micros_to_ms(start.elapsed().as_micros()),
                client_id = client.as_deref(),
                "request"
            );
            Ok(res)
        })
    }
}

/// Milliseconds with microsecond precision (`0.677`, not `0.6776249999999999`).
fn micros_to_ms(micros: u128) -> f64 {
    micros as f64 / 1000.0
}

/// Request ids: a per-process random prefix and a counter. Unique, cheap, and not guessable across
/// restarts.
#[derive(Debug)]
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        Self {
            prefix: crate::domain::random::token(6),
            next: AtomicU64::new(1),
        }
    }
}

impl RequestIds {
    /// The id the request brought, if plausible, else a new one.
    fn for_request(&self, given: Option<&HeaderValue>) -> HeaderValue {
        if let Some(v) = given.filter(|v| plausible(v.as_bytes())) {
            return v.clone();
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .unwrap_or(HeaderValue::from_static("-"))
    }
}

/// A request id worth keeping: short, and of characters that cannot forge a field in a text log
/// line.
fn plausible(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/+=-".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_in_milliseconds() {
        assert_eq!(micros_to_ms(677).to_string(), "0.677");
        assert_eq!(micros_to_ms(12_345_678).to_string(), "12345.678");
    }

    #[test]
    fn request_ids() {
        let ids = RequestIds::default();
        let a = ids.for_request(None);
        let b = ids.for_request(None);
        assert_ne!(a, b);
        let given = HeaderValue::from_static("lb-7f3a:42");
        assert_eq!(ids.for_request(Some(&given)), given);
        for forged in ["a status=200", "x\"y", "", &"a".repeat(129)] {
            let v = HeaderValue::from_str(forged).unwrap_or(HeaderValue::from_static("a b"));
            assert_ne!(ids.for_request(Some(&v)), v, "{forged:?} is replaced");
        }
    }
}
