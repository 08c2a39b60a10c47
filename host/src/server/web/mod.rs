//! Server-rendered web pages (issue 16): sign in, the Interactions waiting for me, the
//! Interaction Flows I may start, cases, runs, audit. No script; one stylesheet.
//!
//! Every page is for a signed-in session ([`session::Signed`]) and calls the platform's
//! handles as the session's principal: the handles decide access (SPEC SV-1); a handler
//! only parses, calls and renders. A session is for one workspace: what belongs to another
//! is not found here, as for an API key of another workspace. Every POST checks the
//! session's CSRF token; no GET changes anything (SPEC SV-2).

mod attempt;
mod audit;
mod cases;
mod diagram;
mod error;
mod flows;
mod form;
mod framework_errors;
mod headers;
pub(super) use headers::secure_cookies;
mod html;
mod interaction;
mod oidc;
mod posted;
mod runs;
mod session;
mod signin;
mod waiting;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::AppState;

/// The web pages' routes, each answered with the security headers.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(waiting::list))
        .route("/style.css", get(style))
        .route("/signin", get(signin::signed_out))
        .route("/signin/{token}", get(signin::confirm).post(signin::redeem))
        .route("/signin/oidc", get(oidc::to_workspace))
        .route(oidc::CALLBACK_ROUTE, get(oidc::callback))
        .route("/signin/oidc/{workspace}", get(oidc::choose))
        .route("/signin/oidc/{workspace}/{idp}", post(oidc::start))
        .route("/signout", post(signin::sign_out))
        .route(
            "/interactions/{id}",
            get(interaction::show).post(interaction::answer),
        )
        .route("/flows", get(flows::list))
        .route("/flows/{name}", get(flows::show).post(flows::start))
        .route("/cases", get(cases::list))
        .route("/cases/{id}", get(cases::show).post(cases::update))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(runs::show))
        .route("/audit", get(audit::page_of_entries))
        .layer(middleware::from_fn(framework_errors::as_pages))
        .layer(middleware::from_fn(headers::secure))
}

/// The one stylesheet.
async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("style.css"),
    )
}
