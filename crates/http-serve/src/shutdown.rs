//! The shutdown signal every binary serves until: Ctrl-C, or SIGTERM on Unix (what a container
//! runtime or systemd sends to stop a service).

/// Resolves at the first Ctrl-C (SIGINT) or, on Unix, SIGTERM, and logs that the server is shutting
/// down. Pass it to [`crate::serve`], which then drains the open connections.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
