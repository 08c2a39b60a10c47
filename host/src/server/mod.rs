//! The HTTP door of `flowhost serve --http` (issue 16, SPEC SV): a JSON API under `/api/v1`
//! and server-rendered web pages, over the same service handles as the CLI. A handler
//! authenticates, parses, calls a handle as that principal and renders; it never decides
//! access (the handles and services do).

mod api;
pub mod client_limit;
mod hooks;
mod keyed_counts;
mod listen;
mod one_header;
mod refusal_text;
mod run_slots;
mod stalled_io;
mod state;
mod unread_body;
mod urlencoded;
mod web;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

pub use api::openapi;
pub use state::{AppState, REQUEST_DEADLINE};

/// The largest web form a request may post.
pub const WEB_FORM_BYTES: usize = 1 << 20;

/// Every route of the server: the API and the web pages.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .route("/hooks/{id}", axum::routing::post(hooks::receive))
        .layer(axum::extract::DefaultBodyLimit::max(
            api::body::MAX_BODY_BYTES,
        ))
        // Errors in the API's one JSON shape, the framework's own too (HTTP review).
        .layer(axum::middleware::from_fn(api::json_errors))
        .layer(axum::middleware::from_fn(api::private_answers))
        // A form posts its answer URL-encoded, up to ~12 bytes a character: room for a few
        // text fields at their cap (`definition/form.rs`), not axum's 2 MB (IX review).
        .merge(web::routes().layer(axum::extract::DefaultBodyLimit::max(WEB_FORM_BYTES)))
        .layer(axum::middleware::from_fn(unread_body::close_if_unread))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::secure_cookies,
        ))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `stop` is set (the flag the scheduler stops on, so
/// one signal stops both), then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let stopped = async move {
        // The flag is set by a signal handler or `--once`; a short poll costs nothing here.
        while !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    listen::serve(listener, router(state), stopped).await
}
