//! Serving an axum [`Router`] over HTTP/1.1 so that slow or idle clients cannot hold the server:
//! what `axum::serve` does, plus three [`Limits`].
//!
//! - **Header-read timeout.** A client must send a request's head (request line and headers) within
//!   [`Limits::header_read_timeout`] of its first byte, or the connection is closed. This is the
//!   slowloris defence: a client trickling one header byte per second holds a connection for seconds,
//!   not forever.
//! - **Idle timeout.** A connection with no request in progress (just accepted, or kept alive after a
//!   response, RFC 9112 §9.3 "persistent connections") is closed after [`Limits::idle_timeout`] without
//!   a byte of a new request. RFC 9112 §9.8 lets either side close an idle connection at any time;
//!   clients retry idempotent requests on a fresh one.
//! - **Connection cap.** At most [`Limits::max_connections`] connections are served at once. When all
//!   are taken the listener stops accepting until one closes, so newcomers queue in the kernel's
//!   accept backlog (and, past that, their SYNs are dropped and retried) instead of each costing a
//!   task; an accepted connection is never dropped unanswered. The two timeouts bound how long a
//!   hostile client can keep a slot.
//!
//! What hyper provides and what is added here: hyper 1's HTTP/1 `header_read_timeout` (it needs a
//! timer, hence hyper-util's `TokioTimer`) starts when a connection begins to wait for a request head
//! — at accept, and again as soon as a kept-alive connection has written its response — and stops
//! when the whole head is parsed. So by itself it bounds *idle wait plus header transfer* as one
//! interval, and hyper 1 has no separate keep-alive idle timeout for HTTP/1. To give each limit its
//! own meaning, every connection has a small watchdog fed by the socket (the first byte of a request
//! starts the header clock) and by the service (a request being answered stops both clocks until its
//! response body is written). hyper's own timer stays on as an outer bound of `idle_timeout +
//! header_read_timeout`. Neither limit applies while a request is being answered: the body and the
//! handler are bounded by the application's own timeout layer.
//!
//! Handlers can extract `ConnectInfo<SocketAddr>` (the TCP peer), as with
//! `into_make_service_with_connect_info::<SocketAddr>()`. HTTP/2 and protocol upgrades are not
//! served (no route needs them, and hyper-util's `auto` builder would pull in `h2`).
//!
//! Every binary of the workspace serves until [`shutdown_signal`] (Ctrl-C or SIGTERM), then drains:
//! it stops accepting and lets each connection finish the request it is answering;
//! [`serve_with_drain`] bounds that wait. The binaries also share their logging set-up (text or
//! JSON lines, [`log_dispatch`]), and the service binaries their binding and exit status
//! ([`listen`]):
//!
//! ```no_run
//! # async fn run(router: axum::Router) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let limits = http_serve::Limits::default();
//! http_serve::serve(listener, router, limits, http_serve::shutdown_signal()).await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod activity;
mod limits;
pub mod metrics;
mod service;
mod shutdown;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::activity::{Activity, BusyBody, Watched};
pub use crate::limits::{Limits, LimitsError, Setting};
pub use crate::service::{
    BindError, LogFormat, LoggingInstalled, MAX_BODY_BYTES, UnknownLogFormat, exit_code,
    init_logging, install_dispatch, install_logging, listen, log_dispatch, service_router,
};
pub use crate::shutdown::shutdown_signal;

/// Serves `router` on `listener` within `limits` until `shutdown` resolves; then stops accepting,
/// lets every connection finish the request it is answering (idle ones close at once), and returns
/// when all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    serve_with_drain(listener, router, limits, shutdown, None).await;
}

/// How serving ended, from [`serve_with_drain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished its request and closed.
    Complete,
    /// The drain deadline passed: this many connections were still answering and were closed.
    Cut(u32),
}

/// As [`serve`], but the drain is bounded: connections still answering `drain` after `shutdown`
/// resolved are closed (their clients see the connection drop) and the function returns. `None`
/// waits as long as it takes.
pub async fn serve_with_drain(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    drain: Option<Duration>,
) -> Drained {
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    // Dropped at shutdown: every connection sees its receiver close and drains.
    let (draining, drain_rx) = watch::channel(());
    // Dropped at the drain deadline: every connection still open closes at once.
    let (killing, kill_rx) = watch::channel(());
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout + limits.header_read_timeout);
    let mut shutdown = pin!(shutdown);
    loop {
        // Stop accepting while every slot is taken.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_closed) => break, // never closed
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    backoff(e).await;
                    continue;
                }
            },
        };
        let conn = Connection {
            router: router.clone(),
            peer,
            activity: Activity::new(limits.header_read_timeout, limits.idle_timeout),
        };
        let (http1, drain_rx, kill_rx) = (http1.clone(), drain_rx.clone(), kill_rx.clone());
        tokio::spawn(async move {
            conn.run(stream, &http1, drain_rx, kill_rx).await;
            drop(slot);
        });
    }
    drop(listener);
    drop(draining);
    drop((drain_rx, kill_rx));
    // Every slot back: every connection closed.
    let all_closed = slots.acquire_many(limits.max_connections);
    let Some(drain) = drain else {
        let _ = all_closed.await;
        return Drained::Complete;
    };
    if tokio::time::timeout(drain, all_closed).await.is_ok() {
        return Drained::Complete;
    }
    let open = limits
        .max_connections
        .saturating_sub(u32::try_from(slots.available_permits()).unwrap_or(u32::MAX));
    tracing::warn!(
        open,
        drain_secs = drain.as_secs_f64(),
        "drain deadline passed; closing the connections still answering"
    );
    drop(killing);
    let _ = slots.acquire_many(limits.max_connections).await;
    Drained::Cut(open)
}

/// An accept error that concerns one connection is skipped; anything else (too many open files) is
/// logged and retried after a second, as `axum::serve` and hyper 0.14 did.
async fn backoff(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection: the router it serves, its peer, and its watchdog state.
#[derive(Debug, Clone)]
struct Connection {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl Connection {
    /// Serves the connection until the client or hyper closes it, the watchdog finds it idle or slow,
    /// (after `drain` closes) its last request is answered, or `kill` closes.
    async fn run(
        self,
        stream: TcpStream,
        http1: &hyper::server::conn::http1::Builder,
        mut drain: watch::Receiver<()>,
        mut kill: watch::Receiver<()>,
    ) {
        let activity = self.activity.clone();
        let io = TokioIo::new(Watched {
            io: stream,
            activity: activity.clone(),
        });
        let mut conn = pin!(http1.serve_connection(io, self));
        let mut draining = false;
        loop {
            let deadline = activity.deadline();
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = activity.changed() => {}
                () = expiry(deadline) => {
                    if activity.deadline().is_some_and(|d| d <= Instant::now()) {
                        tracing::debug!("closing an idle connection or one too slow to send its headers");
                        return;
                    }
                }
                _ = drain.changed(), if !draining => {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
                _ = kill.changed() => return,
            }
        }
    }
}

/// Resolves at `deadline`, or never.
async fn expiry(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl hyper::service::Service<Request<Incoming>> for Connection {
    type Response = Response<BusyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let busy = self.activity.begin_request();
        let router = self.router.clone();
        Box::pin(async move {
            let Ok(response) = router.oneshot(req.map(Body::new)).await;
            Ok(response.map(|inner| BusyBody {
                inner,
                busy: Some(busy),
            }))
        })
    }
}
