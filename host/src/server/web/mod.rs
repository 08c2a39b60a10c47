//! Server-rendered web pages (issue 16): sign in, the Interactions waiting for me, runs.

use axum::Router;

use super::AppState;

/// The web pages' routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
