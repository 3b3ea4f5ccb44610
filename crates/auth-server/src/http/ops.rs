//! The admin listener's router: the operators' endpoints (metrics, the admin API). It is served on
//! its own socket (`[admin] bind`, loopback by default), never on the public port unless configured.
//!
//! `GET /metrics` answers in the Prometheus text exposition format (version 0.0.4): the events the
//! recorder counted, then the gauges read now ([`Gauges`]). With `admin.metrics = false` it is a 404.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use super::HttpState;
use crate::config::Config;
use crate::domain::gauges::Gauges;

/// The content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `/metrics` serves from.
#[derive(Debug)]
pub struct OpsEndpoints {
    /// The process's recorder, when `admin.metrics` is on.
    prometheus: Option<PrometheusHandle>,
    /// The values read at scrape time.
    gauges: Gauges,
}

impl OpsEndpoints {
    /// `/metrics` as configured: served only when `admin.metrics` is on and the recorder is
    /// installed (by [`App::start`](crate::app::App::start)).
    pub fn new(config: &Config, gauges: Gauges) -> Self {
        Self {
            prometheus: config
                .admin
                .metrics
                .then(crate::telemetry::handle)
                .flatten(),
            gauges,
        }
    }

    /// Whether `/metrics` is served (and requests are measured).
    pub fn enabled(&self) -> bool {
        self.prometheus.is_some()
    }
}

/// Everything the admin listener serves.
pub fn admin_router(state: HttpState) -> Router {
    let router = super::admin::mount(
        Router::new().route("/metrics", get(metrics)),
        &state.admin,
        crate::config::AdminApiPlacement::Admin,
        "",
    );
    router
        .fallback(super::not_found)
        .with_state(state)
        .layer(super::access_log::AccessLogLayer::new())
}

/// `GET /metrics`.
async fn metrics(State(ops): State<Arc<OpsEndpoints>>) -> Response {
    let Some(handle) = &ops.prometheus else {
        return super::not_found().await;
    };
    let body = crate::telemetry::render(handle, |out| ops.gauges.write(out));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROMETHEUS_TEXT),
        )],
        body,
    )
        .into_response()
}
