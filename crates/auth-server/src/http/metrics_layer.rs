//! The tower layer that records every request's latency by method, route and status
//! (`auth_server_http_request_duration_seconds`; its `_count` counts requests).
//!
//! The route label is axum's [`MatchedPath`], the template a request matched (`/token`, never the
//! raw path: a raw path is chosen by the client and would make the label set unbounded); a request
//! that matched no route is `unmatched`. Method and status come from fixed tables (other values fall
//! into `OTHER` and the status class), so the label set stays bounded whatever clients send. With
//! metrics off the layer passes requests through untouched.
//!
//! Cost: the layer wraps each route on its own, so each instance keeps, per method and status, the
//! histogram handle it registered at the first such request. A request then costs two clock reads
//! and one sample pushed into that histogram: no label allocation, hashing or registry lookup (the
//! token endpoint serves tens of thousands of requests per second).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{Method, Request, Response, StatusCode};
use metrics::Histogram;
use tower::{Layer, Service};

use super::HttpState;
use crate::telemetry::http_histogram;

/// Records request metrics for the services it wraps.
#[derive(Debug, Clone, Copy)]
pub struct HttpMetricsLayer {
    enabled: bool,
}

impl HttpMetricsLayer {
    /// On when `/metrics` is served from `state` (`admin.metrics` on and the recorder installed).
    pub fn for_state(state: &HttpState) -> Self {
        Self {
            enabled: state.ops.enabled(),
        }
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics {
            inner,
            kept: self.enabled.then(|| Arc::new(Kept::new())),
        }
    }
}

/// The histogram handles one wrapped route registered, by method and status index.
#[derive(Debug)]
struct Kept(Box<[OnceLock<(MatchedPath, Histogram)>]>);

impl Kept {
    fn new() -> Self {
        Self(
            (0..METHODS.len() * STATUSES.len())
                .map(|_| OnceLock::new())
                .collect(),
        )
    }

    fn record(&self, method: usize, route: Option<MatchedPath>, status: usize, took: f64) {
        let register = |r: &Option<MatchedPath>| {
            let label = r.as_ref().map_or("unmatched", MatchedPath::as_str);
            http_histogram(METHODS[method], label.to_owned(), STATUSES[status])
        };
        let slot = &self.0[method * STATUSES.len() + status];
        match (slot.get(), &route) {
            (Some((kept, h)), Some(r)) if kept.as_str() == r.as_str() => h.record(took),
            (None, Some(r)) => slot
                .get_or_init(|| (r.clone(), register(&route)))
                .1
                .record(took),
            // Not the route this instance kept (the fallback, or another route): registered and
            // looked up each time, as the facade does.
            _ => register(&route).record(took),
        }
    }
}

/// The service of [`HttpMetricsLayer`].
#[derive(Debug, Clone)]
pub struct HttpMetrics<S> {
    inner: S,
    /// `None` when metrics are off.
    kept: Option<Arc<Kept>>,
}

impl<S, B, R> Service<Request<B>> for HttpMetrics<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Metered<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let timing = self.kept.as_ref().map(|kept| Timing {
            start: Instant::now(),
            method: method_index(req.method()),
            route: req.extensions().get::<MatchedPath>().cloned(),
            kept: kept.clone(),
        });
        Metered {
            inner: self.inner.call(req),
            timing,
        }
    }
}

#[derive(Debug)]
struct Timing {
    start: Instant,
    method: usize,
    route: Option<MatchedPath>,
    kept: Arc<Kept>,
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpMetrics`]: records when the response head is ready.
    #[derive(Debug)]
    pub struct Metered<F> {
        #[pin]
        inner: F,
        timing: Option<Timing>,
    }
}

impl<F, R, E> Future for Metered<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        if let (Ok(res), Some(t)) = (&out, this.timing.take()) {
            let took = t.start.elapsed().as_secs_f64();
            t.kept
                .record(t.method, t.route, status_index(res.status()), took);
        }
        Poll::Ready(out)
    }
}

/// The method labels; an unusual method is `OTHER`.
const METHODS: [&str; 8] = [
    "GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "OTHER",
];

/// The status labels: the codes this server answers with, then the classes of any other code.
const STATUSES: [&str; 28] = [
    "200", "204", "302", "303", "304", "400", "401", "403", "404", "405", "406", "408", "411",
    "413", "414", "415", "422", "429", "431", "500", "502", "503", "504", "1xx", "2xx", "3xx",
    "4xx", "5xx",
];

/// How many of [`STATUSES`] are exact codes (the rest are classes).
const EXACT: usize = 23;

fn method_index(m: &Method) -> usize {
    match *m {
        Method::GET => 0,
        Method::POST => 1,
        Method::HEAD => 2,
        Method::OPTIONS => 3,
        Method::PUT => 4,
        Method::DELETE => 5,
        Method::PATCH => 6,
        _ => 7,
    }
}

fn status_index(s: StatusCode) -> usize {
    let code = s.as_str();
    STATUSES[..EXACT]
        .iter()
        .position(|k| *k == code)
        .unwrap_or(match s.as_u16() / 100 {
            1 => EXACT,
            2 => EXACT + 1,
            3 => EXACT + 2,
            4 => EXACT + 3,
            _ => EXACT + 4,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        let status = |s| STATUSES[status_index(s)];
        assert_eq!(status(StatusCode::OK), "200");
        assert_eq!(status(StatusCode::TOO_MANY_REQUESTS), "429");
        assert_eq!(status(StatusCode::GATEWAY_TIMEOUT), "504");
        assert_eq!(status(StatusCode::IM_A_TEAPOT), "4xx");
        assert_eq!(status(StatusCode::LOOP_DETECTED), "5xx");
        assert_eq!(METHODS[method_index(&Method::POST)], "POST");
        let brew = Method::from_bytes(b"BREW").unwrap_or_default();
        assert_eq!(METHODS[method_index(&brew)], "OTHER");
    }
}
