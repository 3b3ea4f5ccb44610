//! What the service binaries share around [`crate::serve`]: logs filtered from the environment,
//! binding the listening address, serving until [`crate::shutdown_signal`], and the exit status.
//!
//! ```no_run
//! # async fn run(router: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
//! http_serve::init_logging("EXAMPLE_LOG");
//! let bind = "127.0.0.1:8081".parse()?;
//! http_serve::listen(bind, router, http_serve::Limits::from_env("EXAMPLE")?, "example").await?;
//! # Ok(()) }
//! ```

use std::fmt::Display;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::{Limits, serve, shutdown_signal};

/// The listening address could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("binding {addr}")]
pub struct BindError {
    addr: SocketAddr,
    #[source]
    source: std::io::Error,
}

/// Logs through `tracing` to stdout, filtered by the environment variable `filter_var`
/// (`tracing` env-filter syntax; `info` when unset or invalid).
pub fn init_logging(filter_var: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(filter_var)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// Binds `bind` and serves `router` within `limits` until [`shutdown_signal`] (logging `"<name>
/// listening"` once bound), then drains the connections and returns.
pub async fn listen(
    bind: SocketAddr,
    router: Router,
    limits: Limits,
    name: &str,
) -> Result<(), BindError> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| BindError { addr: bind, source })?;
    tracing::info!(%bind, "{name} listening");
    serve(listener, router, limits, shutdown_signal()).await;
    Ok(())
}

/// Largest request body a service reads (its requests are small JSON documents).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A service's whole router: its `routes` (which carry their own authentication), plus `GET /healthz`
/// (open, `{"status":"ok"}`, for load balancers and orchestrators), every request body capped at
/// [`MAX_BODY_BYTES`], with the handlers' `state`.
pub fn service_router<S: Clone + Send + Sync + 'static>(routes: Router<S>, state: S) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(routes)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#)
}

/// The exit status of a binary's `main`: success, or the error printed to stderr as
/// `error: <error>` (alternate form, so an `anyhow` error shows its whole chain) and failure.
pub fn exit_code<E: Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
