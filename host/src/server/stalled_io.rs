//! A connection's socket, watched for a write the client never lets through: hyper sets no
//! timer on writing, so a client that pipelines requests and never reads their answers held
//! its connection, and one of the server's slots, for ever (hostile-input review). The
//! accept loop drops a connection whose write has waited past its bound.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Since when a write has been waiting for the client, shared with whoever watches it.
#[derive(Clone, Debug, Default)]
pub(super) struct Stall(Arc<Mutex<Option<Instant>>>);

impl Stall {
    fn since(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // One instant: a panic elsewhere cannot leave it half-written.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a write has waited longer than `bound`.
    pub(super) fn longer_than(&self, bound: Duration) -> bool {
        self.since().is_some_and(|at| at.elapsed() > bound)
    }

    fn note<T>(&self, poll: &Poll<std::io::Result<T>>) {
        let mut since = self.since();
        match poll {
            Poll::Pending => {
                since.get_or_insert_with(Instant::now);
            }
            Poll::Ready(_) => *since = None,
        }
    }
}

/// `io`, noting in its [`Stall`] when its writes wait.
pub(super) struct StalledIo<T> {
    io: T,
    stall: Stall,
}

impl<T> StalledIo<T> {
    /// `io` watched through `stall`.
    pub(super) fn new(io: T, stall: Stall) -> Self {
        Self { io, stall }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StalledIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StalledIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.stall.note(&poll);
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.stall.note(&poll);
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.stall.note(&poll);
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
