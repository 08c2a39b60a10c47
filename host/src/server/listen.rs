//! The server's accept loop: each connection served by hyper's HTTP/1 with timers, so a
//! client that never finishes its request head is dropped, at most [`MAX_CONNECTIONS`]
//! open at once, and a shutdown that waits for requests in flight only so long.
//!
//! Why not `axum::serve`: it sets no timer, so hyper's header-read timeout never applied, it
//! accepts without bound, and its graceful shutdown waits for every connection that has
//! sent part of a request. A thousand sockets each sending half a head held the host's file
//! handles for ever, and one of them kept `serve` from stopping (HTTP review).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Layer;

/// Connections served at once; one past it is closed as soon as it is accepted. Each holds
/// a file handle, which the database needs too.
pub const MAX_CONNECTIONS: usize = 512;

/// How long a client has to send a request's head (its line and headers), from when the
/// connection waits for it, an idle kept-alive one included.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stop waits for requests in flight before closing their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Serves `app` on `listener` until `stopped` completes, then lets requests in flight
/// finish for at most [`SHUTDOWN_GRACE`].
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    stopped: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stopped);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file handles, or a connection reset before it was taken: the next
                // accept may succeed, after a pause that lets others close.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        // Each request carries its connection's peer address: the sign-in limits count by it.
        let service =
            TowerToHyperService::new(axum::Extension(ConnectInfo(peer)).layer(app.clone()));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A connection's error (the client went away, a malformed request, its head too
            // slow) ends only that connection.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    // Connections still open after the grace are dropped with the runtime.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}
