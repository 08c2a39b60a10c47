//! The framework's own refusals as the site's pages: a query or form the extractors refuse
//! (a parameter sent twice, a form past its size or of another type) answered axum's
//! developer text as `text/plain`, without the site's page, where every other web error is
//! one (round 19 web review; the API's `json_errors` is the sibling).

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use crate::Error;

/// Bytes of a refusal's text read to be shown again.
const TEXT_BYTES: usize = 4096;

/// Turns a 4xx or 5xx answer that is not a page into the site's page of the same status.
pub(super) async fn as_pages(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The router's one fallback (an unknown path) is the web's: an address under the API's
    // or the webhooks' prefix is theirs to answer, not a page.
    let machine = ["/api/", "/hooks/"]
        .iter()
        .any(|prefix| request.uri().path().starts_with(prefix));
    let response = next.run(request).await;
    if machine {
        return response;
    }
    let status = response.status();
    let page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html") || t.starts_with("text/css"));
    if !(status.is_client_error() || status.is_server_error()) || page {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, TEXT_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_owned()
    } else {
        crate::text::clip_words(&text).into_owned()
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
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let (answer_parts, answer_body) = answer.into_parts();
    parts.headers.extend(answer_parts.headers);
    Response::from_parts(parts, answer_body)
}
