//! The JSON API under `/api/v1` (issue 16, SPEC SV-1): every request but the health check
//! and the OpenAPI document authenticates with an API key ([`auth`]), and every handler calls
//! a handle or service as that principal: it parses and renders, never decides access.
//!
//! Routes are registered with their OpenAPI entries (`utoipa-axum`): a route cannot exist
//! without being in the document served at `/api/v1/openapi.json`.

mod access;
mod auth;
pub(super) mod body;
pub(super) mod call;
mod cases;
mod common_answers;
pub(super) mod error;
mod idempotency;
mod interactions;
mod no_query;
mod outcome;
mod runs;
mod workflows;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// The document's frame; paths are added by the router as routes are registered.
#[derive(OpenApi)]
#[openapi(
    info(title = "Flowhost API", description = "Workflows, runs, cases, interactions, access and audit of a Flowhost server. Authenticate with an API key token: `Authorization: Bearer fhk_…`."),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerKey)
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the paths name.
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API's routes and the OpenAPI document generated from them.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(workflows::list, workflows::publish))
        .routes(routes!(workflows::run))
        .routes(routes!(workflows::webhook))
        .routes(routes!(runs::list))
        .routes(routes!(runs::show))
        .routes(routes!(runs::resume))
        .routes(routes!(cases::create))
        .routes(routes!(cases::create_from_json))
        .routes(routes!(cases::query))
        .routes(routes!(cases::get))
        .routes(routes!(cases::get_restrictions, cases::update_restrictions))
        .routes(routes!(interactions::list))
        .routes(routes!(interactions::show))
        .routes(routes!(interactions::respond))
        .routes(routes!(interactions::flows))
        .routes(routes!(interactions::start))
        .routes(routes!(access::check))
        .routes(routes!(access::audit))
        .split_for_parts();
    common_answers::document(&mut doc);
    (router, doc)
}

/// The OpenAPI document of the API (what `/api/v1/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// The API's routes, bodies capped at [`body::MAX_BODY_BYTES`].
pub(super) fn routes() -> Router<AppState> {
    let (api, doc) = documented();
    let reading = no_query::reading_queries(&doc);
    let doc = std::sync::Arc::new(doc);
    api.route_layer(axum::middleware::from_fn(move |request, next| {
        no_query::refuse(reading.clone(), request, next)
    }))
    .route("/api/v1/health", get(health))
    .route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
    .route("/api/{*rest}", axum::routing::any(no_such_route))
    .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
}

/// A path under `/api/` the API does not have.
async fn no_such_route() -> error::ApiError {
    error::ApiError::not_found("the API has no such route")
}

/// Every error the API and the webhook door answer in the API's one JSON shape (`{"error": {"kind", "message"}}`):
/// those the framework writes as text (a method a route lacks, a body past the bound, a path
/// parameter that does not parse) were plain text (HTTP review). Its other headers (`Allow`)
/// are kept.
pub(super) async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let response = next.run(request).await;
    let (status, message, refusal) =
        match super::refusal_text::read(response, |t| t.starts_with("application/json")).await {
            Ok(read) => read,
            Err(answer) => return answer,
        };
    // The host's own failure keeps its detail in the log, as every other `internal` does.
    let answer = if status.is_server_error() {
        error::ApiError::internal(message).into_response()
    } else {
        error::ApiError::of_status(status, message).into_response()
    };
    super::refusal_text::replaced(refusal, answer)
}

/// Marks every API and webhook answer not to be stored by any cache and not to be sniffed
/// as another type: a case's JSON is for its reader only (leak review; the web pages have
/// their own headers in `web/headers.rs`).
pub(super) async fn private_answers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Liveness: answers without touching the database.
async fn health() -> &'static str {
    "ok"
}
