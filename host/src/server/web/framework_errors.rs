//! The framework's own refusals as the site's pages: a query or form the extractors refuse
//! (a parameter sent twice, a form past its size or of another type) answered axum's
//! developer text as `text/plain`, without the site's page, where every other web error is
//! one (round 19 web review; the API's `json_errors` is the sibling).

use axum::response::{IntoResponse, Response};

use super::error::WebError;
use crate::Error;

/// Turns a 4xx or 5xx answer that is not a page into the site's page of the same status.
pub(super) async fn as_pages(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The router's one fallback (an unknown path) is the web's: an address under the API's
    // or the webhooks' prefix is theirs to answer, not a page.
    // `/api` and `/hooks` themselves too (round 22 web review: the web's 404 page).
    let path = request.uri().path();
    let machine = ["/api", "/hooks"].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    let response = next.run(request).await;
    if machine {
        // An address there that no route takes (`/api/`, `/hooks/`, a hook's path with a
        // trailing slash) reaches this fallback, whose answer is axum's bare 404: answered in
        // the API's JSON shape instead (round 20 web review).
        let bare = response.status() == axum::http::StatusCode::NOT_FOUND
            && !response
                .headers()
                .contains_key(axum::http::header::CONTENT_TYPE);
        if bare {
            return crate::server::api::error::ApiError::not_found(
                "the API has no such route, and the webhooks are at /hooks/{id}",
            )
            .into_response();
        }
        return response;
    }
    let is_page = |t: &str| t.starts_with("text/html") || t.starts_with("text/css");
    let (status, message, refusal) =
        match crate::server::refusal_text::read(response, is_page).await {
            Ok(read) => read,
            Err(answer) => return answer,
        };
    let answer = if status.is_server_error() {
        WebError::Server(message).into_response()
    } else if status == axum::http::StatusCode::NOT_FOUND {
        // An address that names no page (the router's fallback) reads as any missing page.
        WebError::Missing("page").into_response()
    } else {
        let mut refused = WebError::Host(Error::Invalid(message)).into_response();
        *refused.status_mut() = status;
        refused
    };
    crate::server::refusal_text::replaced(refusal, answer)
}
