//! Prometheus metrics for the service binaries: a registry ([`MetricsRegistry`], the
//! `metrics-exporter-prometheus` recorder and the handle that renders it), the `GET /metrics` router
//! that renders it, and where it is served ([`MetricsBind`], from `<PREFIX>_METRICS_BIND`).
//!
//! Metrics are served on their own listener, loopback by default, never on a service's public port
//! unless configured so (`public`): they tell an outsider how much traffic and which failures a
//! service sees. The exposition is the Prometheus text format 0.0.4.
//!
//! ```no_run
//! # async fn run(mut app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
//! use http_serve::metrics::{MetricsBind, MetricsRegistry, attach};
//! let public: std::net::SocketAddr = "127.0.0.1:8081".parse()?;
//! let bind = MetricsBind::from_env("EXAMPLE", "127.0.0.1:9091".parse()?, public)?;
//! if bind.enabled() {
//!     let registry = MetricsRegistry::new();
//!     registry.install_global()?; // everything recorded through the `metrics` facade
//!     app = attach(bind, app, registry.router(|| {})).await?;
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use crate::{Limits, serve, shutdown_signal};

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Where a service serves `/metrics` (`<PREFIX>_METRICS_BIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsBind {
    /// Not served, and nothing is recorded (`off`).
    Off,
    /// On the service's public listener, beside its routes (`public`: only when configured so).
    Public,
    /// On a listener of its own at this address (`host:port`).
    Listen(SocketAddr),
}

/// `<PREFIX>_METRICS_BIND` is not `off`, `public` or a `host:port` other than the public one.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The setting is invalid.
    #[error("{var} must be off, public or host:port (not the public address {public}): {value:?}")]
    Config {
        /// The environment variable.
        var: String,
        /// Its value.
        value: String,
        /// The service's public address.
        public: SocketAddr,
    },
    /// The metrics listener could not be bound.
    #[error("binding the metrics listener {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another global `metrics` recorder is installed already.
    #[error("a global metrics recorder is already installed")]
    AlreadyInstalled,
}

impl MetricsBind {
    /// Reads `<prefix>_METRICS_BIND`: unset or empty is `default` (a loopback address), `off`,
    /// `public`, or `host:port`. The service's own `public` address is refused as `host:port`
    /// (say `public`, so that exposing metrics there is a decision).
    pub fn from_env(
        prefix: &str,
        default: SocketAddr,
        public: SocketAddr,
    ) -> Result<Self, MetricsError> {
        let var = format!("{prefix}_METRICS_BIND");
        let value = std::env::var(&var).unwrap_or_default();
        Self::parse(&value, default, public).ok_or(MetricsError::Config { var, value, public })
    }

    /// [`MetricsBind::from_env`] for a value already read.
    pub fn parse(value: &str, default: SocketAddr, public: SocketAddr) -> Option<Self> {
        match value.trim() {
            "" => Some(Self::Listen(default)),
            "off" => Some(Self::Off),
            "public" => Some(Self::Public),
            v => match v.parse::<SocketAddr>() {
                // Port 0 (any free port) is never the public listener's.
                Ok(addr) if addr != public || addr.port() == 0 => Some(Self::Listen(addr)),
                _ => None,
            },
        }
    }

    /// Whether metrics are served at all.
    pub fn enabled(self) -> bool {
        self != Self::Off
    }

    /// The address of the metrics listener, if it has one of its own.
    pub fn listen_addr(self) -> Option<SocketAddr> {
        match self {
            Self::Listen(addr) => Some(addr),
            _ => None,
        }
    }
}

/// A Prometheus registry: what is recorded into [`MetricsRegistry::recorder`] (or, once
/// [`MetricsRegistry::install_global`] is called, through the `metrics` facade anywhere in the
/// process) is rendered by [`MetricsRegistry::render`]. Cheap to clone.
#[derive(Clone)]
pub struct MetricsRegistry {
    recorder: Arc<PrometheusRecorder>,
}

impl fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsRegistry")
    }
}

impl Default for MetricsRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsRegistry {
    /// An empty registry (installed nowhere).
    pub fn new() -> Self {
        Self {
            recorder: Arc::new(PrometheusBuilder::new().build_recorder()),
        }
    }

    /// The recorder, to hand to a component that registers its metrics explicitly (such as
    /// `auth_verifier::VerifierBuilder::metrics_recorder`).
    pub fn recorder(&self) -> Arc<dyn metrics::Recorder + Send + Sync> {
        self.recorder.clone()
    }

    /// Makes this registry the process's global `metrics` recorder: metrics recorded through the
    /// facade's macros anywhere, by any library, land here. At most one per process.
    pub fn install_global(&self) -> Result<(), MetricsError> {
        metrics::set_global_recorder(self.recorder.clone())
            .map_err(|_| MetricsError::AlreadyInstalled)
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        let handle = self.recorder.handle();
        handle.run_upkeep();
        handle.render()
    }

    /// `GET /metrics`: runs `before_render` (to set gauges computed at scrape time, such as
    /// `auth_verifier::Verifier::update_age_gauges`), then answers [`MetricsRegistry::render`].
    pub fn router(&self, before_render: impl Fn() + Clone + Send + Sync + 'static) -> Router {
        let registry = self.clone();
        let scrape = move || {
            let (registry, before_render) = (registry.clone(), before_render.clone());
            async move {
                before_render();
                ([(CONTENT_TYPE, CONTENT_TYPE_TEXT)], registry.render()).into_response()
            }
        };
        Router::new().route("/metrics", get(scrape))
    }
}

/// Puts `metrics` (a `/metrics` router) where `bind` says: on a listener of its own (spawned now,
/// see [`spawn_listener`]), or merged into `app` for [`MetricsBind::Public`]. Returns the app router
/// to serve on the public listener.
pub async fn attach(
    bind: MetricsBind,
    app: Router,
    metrics: Router,
) -> Result<Router, MetricsError> {
    match bind {
        MetricsBind::Off => Ok(app),
        MetricsBind::Public => Ok(app.merge(metrics)),
        MetricsBind::Listen(addr) => {
            spawn_listener(addr, metrics).await?;
            Ok(app)
        }
    }
}

/// Binds `addr` now (a bad address fails start-up) and serves `router` there with the default
/// [`Limits`] until [`shutdown_signal`], in a task of its own. Returns the bound address.
pub async fn spawn_listener(addr: SocketAddr, router: Router) -> Result<SocketAddr, MetricsError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| MetricsError::Bind { addr, source })?;
    tracing::info!(bind = %bound, "metrics listening");
    tokio::spawn(serve(
        listener,
        router,
        Limits::default(),
        shutdown_signal(),
    ));
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_settings() {
        let default: SocketAddr = "127.0.0.1:9091".parse().unwrap_or_else(|_| unreachable!());
        let public: SocketAddr = "0.0.0.0:8081".parse().unwrap_or_else(|_| unreachable!());
        let parse = |v| MetricsBind::parse(v, default, public);
        assert_eq!(parse(""), Some(MetricsBind::Listen(default)));
        assert_eq!(parse("off"), Some(MetricsBind::Off));
        assert_eq!(parse("public"), Some(MetricsBind::Public));
        assert_eq!(
            parse("127.0.0.1:1234").and_then(MetricsBind::listen_addr),
            "127.0.0.1:1234".parse().ok()
        );
        assert_eq!(
            parse("0.0.0.0:8081"),
            None,
            "the public port needs `public`"
        );
        assert_eq!(parse("localhost"), None);
        assert!(!MetricsBind::Off.enabled() && MetricsBind::Public.enabled());
    }

    #[test]
    fn a_registry_renders_what_is_recorded_into_it() {
        let registry = MetricsRegistry::new();
        let recorder = registry.recorder();
        let counter = metrics::with_local_recorder(
            &*recorder,
            || metrics::counter!("example_total", "kind" => "a"),
        );
        counter.increment(3);
        assert!(
            registry.render().contains("example_total{kind=\"a\"} 3"),
            "{}",
            registry.render()
        );
        assert!(!MetricsRegistry::new().render().contains("example_total"));
    }
}
