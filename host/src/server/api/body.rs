//! Request bodies: size-capped (the router's `DefaultBodyLimit`), nesting refused beyond
//! [`MAX_JSON_DEPTH`](crate::json_limits::MAX_JSON_DEPTH) before parsing (as the CLI's input
//! path does), then read into the handler's type with errors naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The largest request body accepted, in bytes: a workflow definition or a case with its
/// fields fits many times over.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A JSON body read into `T`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        parse_body(&bytes).map(ApiJson)
    }
}

/// A JSON body read into `T`, where no body at all (or only whitespace) is `T::default()`:
/// for a request whose every field is optional, as "run it" is (round 21 HTTP review: an
/// empty body was a 400 where the CLI defaults the event to `{}`).
pub struct ApiJsonOrNone<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for ApiJsonOrNone<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJsonOrNone(T::default()));
        }
        parse_body(&bytes).map(ApiJsonOrNone)
    }
}

/// The body's bytes, up to [`MAX_BODY_BYTES`] (413 past it).
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "the request body is larger than {MAX_BODY_BYTES} bytes"
            ))
        } else {
            ApiError::invalid(format!("the request body cannot be read: {e}"))
        }
    })
}

/// Parses `bytes` as the JSON body of type `T`; errors say where.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ApiError::invalid(format!("the request body is not UTF-8: {e}")))?;
    let value = crate::json_limits::parse("the request body", text).map_err(ApiError::invalid)?;
    // Every body is an object: an array was read as its fields in order.
    crate::json_limits::not_an_array("the request body", &value).map_err(ApiError::invalid)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            "the request body".to_owned()
        } else {
            format!("field `{}`", crate::text::decoder_words(&path))
        };
        ApiError::invalid(format!(
            "{at}: {}",
            crate::text::decoder_words(&e.inner().to_string())
        ))
    })
}

/// Query parameters read into `T`; errors name the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // Every parameter as UTF-8 text, as a body's (round 23 web review: `scope=case.r%E9ad`
        // was answered about `case.r\u{FFFD}ad`).
        crate::server::urlencoded::strict_query(parts).map_err(ApiError::invalid)?;
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            // What it quotes (an unknown parameter, a value) clipped and escaped, as a body's
            // decoder refusals are (round 22 door review).
            .map_err(|e| {
                ApiError::invalid(format!(
                    "query parameters: {}",
                    crate::text::decoder_words(&e.body_text())
                ))
            })
    }
}
