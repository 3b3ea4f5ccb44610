//! Where a connection is in its life, for the idle and header-read deadlines: waiting for a request
//! (idle), receiving one (its head is arriving), or busy (a request is being answered).
//!
//! hyper sees only half of this: its `header_read_timeout` starts when the connection begins to
//! wait for a request head, so on a kept-alive connection it counts the idle wait and the header
//! transfer together. To keep the two apart, [`Watched`] notes the first byte of each request as it is
//! read from the socket, and a [`Busy`] guard, held from the call of the service until the response
//! body has been written (or dropped), marks the time that no timeout of this crate applies to.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The phase of one connection.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in progress and no byte of the next one read, since `since`.
    Idle { since: Instant },
    /// The first byte of a request head arrived at `since`; the service has not been called yet.
    Head { since: Instant },
    /// `requests` are being answered.
    Busy { requests: usize },
}

/// The shared state of one connection.
#[derive(Debug)]
pub(crate) struct Activity {
    phase: Mutex<Phase>,
    /// Woken on every change of phase, so the watchdog recomputes its deadline.
    changed: Notify,
    header_read_timeout: Duration,
    idle_timeout: Duration,
}

impl Activity {
    /// A connection accepted now: idle until its first byte.
    pub(crate) fn new(header_read_timeout: Duration, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Idle {
                since: Instant::now(),
            }),
            changed: Notify::new(),
            header_read_timeout,
            idle_timeout,
        })
    }

    /// Moves to the phase `f` returns, if any, and wakes the watchdog.
    fn update(&self, f: impl FnOnce(Phase) -> Option<Phase>) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(next) = f(*phase) {
            *phase = next;
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// Bytes arrived from the client: the first byte of a request head starts its header clock.
    /// Bytes read while a request is being answered (its own body, or a pipelined request) change
    /// nothing: a request body is not a head, and a pipelined head is bounded by hyper's own
    /// header-read timer, which this crate sets to the idle plus the header-read timeout.
    fn on_read(&self) {
        self.update(|p| match p {
            Phase::Idle { .. } => Some(Phase::Head {
                since: Instant::now(),
            }),
            Phase::Head { .. } | Phase::Busy { .. } => None,
        });
    }

    /// The service is called with a request; the guard ends the busy time when dropped.
    pub(crate) fn begin_request(self: &Arc<Self>) -> Busy {
        self.update(|p| {
            Some(match p {
                Phase::Busy { requests } => Phase::Busy {
                    requests: requests + 1,
                },
                Phase::Idle { .. } | Phase::Head { .. } => Phase::Busy { requests: 1 },
            })
        });
        Busy(self.clone())
    }

    fn end_request(&self) {
        self.update(|p| {
            Some(match p {
                Phase::Busy { requests } if requests > 1 => Phase::Busy {
                    requests: requests - 1,
                },
                _ => Phase::Idle {
                    since: Instant::now(),
                },
            })
        });
    }

    /// When the connection is to be closed if nothing changes; `None` while busy.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match *self.phase.lock().unwrap_or_else(|p| p.into_inner()) {
            Phase::Idle { since } => Some(since + self.idle_timeout),
            Phase::Head { since } => Some(since + self.header_read_timeout),
            Phase::Busy { .. } => None,
        }
    }

    /// Resolves at the next change of phase (at once if one happened since the last call).
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// Held while a request is answered: from the call of the service until its response body is done.
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// A response body that holds the connection busy until it is written out or dropped.
#[derive(Debug)]
pub(crate) struct BusyBody {
    pub(crate) inner: axum::body::Body,
    pub(crate) busy: Option<Busy>,
}

impl Body for BusyBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.busy = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, noting each read of the client's bytes in the connection's [`Activity`].
#[derive(Debug)]
pub(crate) struct Watched<T> {
    pub(crate) io: T,
    pub(crate) activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(2);
    const IDLE: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn phases() {
        let a = Activity::new(HEAD, IDLE);
        let idle = a.deadline().unwrap();
        a.on_read();
        let head = a.deadline().unwrap();
        assert!(
            head < idle,
            "the first byte starts the shorter header clock"
        );
        a.on_read();
        assert_eq!(a.deadline(), Some(head), "later bytes do not extend it");
        let busy = a.begin_request();
        assert_eq!(a.deadline(), None, "no deadline while answering");
        drop(busy);
        let d = a.deadline().unwrap();
        assert!(
            d > head + (IDLE - HEAD) / 2,
            "idle again after the response"
        );
    }

    #[tokio::test]
    async fn bytes_read_while_answering_leave_the_connection_idle_after_it() {
        // A request body arriving after its head (or a pipelined head, which hyper's own
        // idle + header-read timer bounds) does not start the header clock.
        let a = Activity::new(HEAD, IDLE);
        a.on_read();
        let busy = a.begin_request();
        a.on_read();
        assert_eq!(a.deadline(), None);
        drop(busy);
        let d = a.deadline().unwrap();
        assert!(
            d > Instant::now() + HEAD,
            "the idle deadline, not the header one"
        );
        assert!(d <= Instant::now() + IDLE);
    }
}
