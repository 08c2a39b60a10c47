//! A refusal the framework wrote as text (an extractor's rejection, a method a route lacks,
//! a body past its bound), read to be answered again in a door's own shape: the API's JSON
//! error, the web's page. One reading for both doors.

use axum::http::{StatusCode, header};
use axum::response::Response;

/// The bytes of such an answer read: its messages are short (a rejection's reason).
const TEXT_BYTES: usize = 4096;

/// A 4xx or 5xx answer not in the door's own shape (`shaped` tells by its content type):
/// its status, its message (clipped, or the status's reason when it has none) and the rest
/// of the answer to keep its other headers; `Err` with the answer itself otherwise.
pub(super) async fn read(
    response: Response,
    shaped: impl Fn(&str) -> bool,
) -> Result<(StatusCode, String, Response<()>), Response> {
    let status = response.status();
    let in_shape = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(shaped);
    if !(status.is_client_error() || status.is_server_error()) || in_shape {
        return Err(response);
    }
    let (parts, body) = response.into_parts();
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
    Ok((status, message, Response::from_parts(parts, ())))
}

/// `answer`, with the headers of the refusal it replaces kept beside its own.
pub(super) fn replaced(refusal: Response<()>, answer: Response) -> Response {
    let (mut parts, ()) = refusal.into_parts();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let (answer_parts, answer_body) = answer.into_parts();
    parts.headers.extend(answer_parts.headers);
    Response::from_parts(parts, answer_body)
}
