//! `Connection: close` on the answer to a request whose body its handler did not read to the
//! end: a request refused before its body was looked at (a sign-in past its attempts, a
//! request without a valid key, a body over the size cap).
//!
//! Why: hyper cannot find where the next request on that connection starts, so after the
//! answer it drains what of the body has already arrived and otherwise closes the
//! connection without a word. A client that kept the connection for its next request (it was
//! not told otherwise) then sends it into a closed socket and fails at random, depending on
//! whether the body had arrived with the head. Saying `Connection: close` in the answer makes
//! the close part of the protocol: hyper closes, and the client opens a new connection.
//!
//! The body also has [`BODY_READ_TIMEOUT`] to arrive: a client trickling it (or sending none
//! after a `Content-Length`) held its request's handler, and its connection, for ever
//! (HTTP review). Past it, reading the body fails and the handler answers as for a body that
//! does not read.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// How long a request's body has to arrive, from when its handler first reads it (not from
/// when the request came in: one waiting for a worker was blamed for a body it had sent;
/// HTTP review).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// The middleware: passes the request on with its body watched, and marks the answer
/// `Connection: close` when the body was left unread.
pub(crate) async fn close_if_unread(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        // Nothing to read (a GET, an empty POST): the connection stays usable.
        return next.run(Request::from_parts(parts, body)).await;
    }
    let ended = Arc::new(AtomicBool::new(false));
    let watched = Body::new(Watched {
        inner: body,
        ended: Arc::clone(&ended),
        deadline: None,
    });
    let mut response = next.run(Request::from_parts(parts, watched)).await;
    if !ended.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that records when it has been read to its end, and fails once its
/// deadline passes with the body still arriving.
struct Watched {
    inner: Body,
    ended: Arc<AtomicBool>,
    /// Set at the first read.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.ended.store(true, Ordering::Release);
        }
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(BODY_READ_TIMEOUT)));
        if polled.is_pending() && deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(format!(
                "the request's body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            )))));
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
