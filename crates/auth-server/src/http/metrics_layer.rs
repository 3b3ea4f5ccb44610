//! The tower layer that records every request's latency by method, route and status
//! (`auth_server_http_request_duration_seconds`; its `_count` counts requests).
//!
//! The route label is axum's [`MatchedPath`], the template a request matched (`/token`, never the
//! raw path: a raw path is chosen by the client and would make the label set unbounded); a request
//! that matched no route is `unmatched`. Method and status are `&'static str` from fixed tables
//! (other values fall into `OTHER` and the status class), so the label set stays bounded whatever
//! clients send. With metrics off the layer passes requests through untouched.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{Method, Request, Response, StatusCode};
use tower::{Layer, Service};

use super::HttpState;

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
            enabled: self.enabled,
        }
    }
}

/// The service of [`HttpMetricsLayer`].
#[derive(Debug, Clone)]
pub struct HttpMetrics<S> {
    inner: S,
    enabled: bool,
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
        let timing = self.enabled.then(|| Timing {
            start: Instant::now(),
            method: method_label(req.method()),
            route: req
                .extensions()
                .get::<MatchedPath>()
                .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned()),
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
    method: &'static str,
    route: String,
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
            crate::telemetry::http_request(
                t.method,
                t.route,
                status_label(res.status()),
                t.start.elapsed(),
            );
        }
        Poll::Ready(out)
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// The status as a static label: the codes this server answers with, else the class (`4xx`).
fn status_label(s: StatusCode) -> &'static str {
    const KNOWN: &[&str] = &[
        "200", "204", "302", "303", "304", "400", "401", "403", "404", "405", "406", "408", "411",
        "413", "414", "415", "422", "429", "431", "500", "502", "503", "504",
    ];
    let code = s.as_str();
    if let Some(known) = KNOWN.iter().find(|k| **k == code) {
        return known;
    }
    match s.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(status_label(StatusCode::OK), "200");
        assert_eq!(status_label(StatusCode::TOO_MANY_REQUESTS), "429");
        assert_eq!(status_label(StatusCode::IM_A_TEAPOT), "4xx");
        assert_eq!(status_label(StatusCode::LOOP_DETECTED), "5xx");
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").unwrap_or_default()),
            "OTHER"
        );
    }
}
