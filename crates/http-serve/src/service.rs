//! What the service binaries share around [`crate::serve`]: logs filtered from the environment (text
//! or JSON lines), binding the listening address, serving until [`crate::shutdown_signal`], and the
//! exit status.
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
use tracing::Dispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

use crate::{Limits, serve, shutdown_signal};

/// The listening address could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("binding {addr}")]
pub struct BindError {
    addr: SocketAddr,
    #[source]
    source: std::io::Error,
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (`tracing-subscriber`'s default format, without colour codes).
    Text,
    /// One JSON object per line, the event's fields at the top level beside `timestamp`, `level`,
    /// `target` and `message`, and the fields of the enclosing span (such as the request id) under
    /// `span`.
    Json,
}

/// A log format that is neither `text` nor `json`.
#[derive(Debug, thiserror::Error)]
#[error("unknown log format {0:?}: expected \"text\" or \"json\"")]
pub struct UnknownLogFormat(pub String);

impl std::str::FromStr for LogFormat {
    type Err = UnknownLogFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(UnknownLogFormat(s.to_owned())),
        }
    }
}

/// A global `tracing` subscriber is installed already.
#[derive(Debug, thiserror::Error)]
#[error("a global log subscriber is already installed")]
pub struct LoggingInstalled;

/// The `tracing` dispatcher every binary logs through: lines in `format`, filtered by `filter`
/// (`tracing` env-filter syntax, such as `info` or `info,sqlx=warn`; `info` when invalid), written
/// to `writer`. [`install_logging`] makes it the process's; a test can install it for one thread.
pub fn log_dispatch<W>(format: LogFormat, filter: &str, writer: W) -> Dispatch
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // No colour codes: lines go to files and collectors as often as to a terminal.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer);
    match format {
        LogFormat::Text => Dispatch::new(builder.finish()),
        LogFormat::Json => Dispatch::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Installs [`log_dispatch`] as the process-wide subscriber; records of the `log` crate are routed
/// to it too. Fails if a global subscriber is installed already.
pub fn install_logging<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
) -> Result<(), LoggingInstalled>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    install_dispatch(log_dispatch(format, filter, writer))
}

/// Makes `dispatch` the process-wide subscriber and routes the `log` crate's records to it. Fails
/// if a global subscriber is installed already.
pub fn install_dispatch(dispatch: Dispatch) -> Result<(), LoggingInstalled> {
    dispatch.try_init().map_err(|_| LoggingInstalled)
}

/// Logs through `tracing` to stdout, filtered by the environment variable `filter_var`
/// (`tracing` env-filter syntax; `info` when unset or invalid), in the format named by
/// `<filter_var>_FORMAT` (`text`, the default, or `json`; see [`LogFormat`]). An unknown format is
/// reported (in text) and ignored.
pub fn init_logging(filter_var: &str) {
    let filter = std::env::var(filter_var).unwrap_or_else(|_| "info".to_owned());
    let format_var = format!("{filter_var}_FORMAT");
    let format = std::env::var(&format_var)
        .ok()
        .map(|f| f.parse::<LogFormat>());
    let installed = install_logging(
        match format {
            Some(Ok(f)) => f,
            _ => LogFormat::Text,
        },
        &filter,
        std::io::stdout,
    );
    if installed.is_err() {
        return;
    }
    if let Some(Err(e)) = format {
        tracing::warn!("{format_var}: {e}; logging in text");
    }
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::{LogFormat, log_dispatch};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(format: LogFormat) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let dispatch = log_dispatch(format, "info", move || writer.clone());
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("request", request_id = "r-1");
            let _in = span.enter();
            tracing::info!(status = 200u16, route = "/token", "request");
            tracing::debug!("filtered out at info");
        });
        let bytes = buffer.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn json_lines_carry_the_fields_at_the_top_and_the_span() {
        let out = logged(LogFormat::Json);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap_or_default();
        assert_eq!(line["level"], "INFO", "{out}");
        assert_eq!(line["message"], "request", "{out}");
        assert_eq!(line["status"], 200, "{out}");
        assert_eq!(line["route"], "/token", "{out}");
        assert_eq!(line["span"]["request_id"], "r-1", "{out}");
    }

    #[test]
    fn text_lines_are_text() {
        let out = logged(LogFormat::Text);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.contains("status=200") && out.contains("request_id"),
            "{out}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(out.trim()).is_err());
    }

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse::<LogFormat>().ok(), Some(LogFormat::Json));
        assert_eq!(" Text ".parse::<LogFormat>().ok(), Some(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
