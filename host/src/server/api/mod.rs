//! The JSON API under `/api/v1` (issue 16).

use axum::Router;
use axum::routing::get;

use super::AppState;

/// The API's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/health", get(health))
}

/// Liveness: answers without touching the database.
async fn health() -> &'static str {
    "ok"
}
