//! The API's errors: one JSON shape, `{"error": {"kind", "message"}}`, and one status per
//! kind of [`Error`] (classified by type, never by parsing a message).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Error;

/// Why a request did not succeed, as the client reads it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    /// A 401's `WWW-Authenticate` challenge: the scheme that authenticates the route.
    challenge: &'static str,
}

/// The API's scheme: a key as a Bearer token (RFC 6750).
const BEARER: &str = "Bearer realm=\"flowhost\"";

/// A webhook's scheme: an HMAC signature of the body and a timestamp, in the
/// `x-flowhost-signature` and `x-flowhost-timestamp` headers; no Bearer token is taken there.
const WEBHOOK_SIGNATURE: &str = "Flowhost-Signature realm=\"flowhost-webhook\"";

/// The error body every failed request answers with.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong: a stable `kind` to branch on and a message for people.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of `unauthenticated`, `denied`, `not_found`, `invalid`, `conflict`,
    /// `too_large`, `unavailable`, `internal`.
    kind: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            challenge: BEARER,
        }
    }

    /// An answer the framework wrote as text (a route or method the API lacks, a body past
    /// its bound, a path that does not parse) in the API's one error shape, its kind by its
    /// status (HTTP review: such answers were plain text).
    pub(crate) fn of_status(status: StatusCode, message: impl Into<String>) -> Self {
        let kind = match status {
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "denied",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "invalid",
        };
        Self::new(status, kind, message)
    }

    /// No credential, or one that does not authenticate (401, SPEC SV-1).
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// A webhook delivery whose signature is missing, wrong or stale (401): its challenge
    /// names the signature, not a Bearer token the route never takes (round 15 web review).
    pub fn unsigned(message: impl Into<String>) -> Self {
        Self {
            challenge: WEBHOOK_SIGNATURE,
            ..Self::unauthenticated(message)
        }
    }

    /// The request itself is wrong: a field, a parameter, the body (400).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// Nothing here by that name (404), the same answer an outsider gets (SPEC ID-4).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The request conflicts with what is stored (409): a replayed webhook signature.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// The caller or the server runs as many runs in requests as it may (503): nothing was
    /// started ([`crate::server::run_slots`]).
    pub fn no_run_slot(full: crate::server::run_slots::Full) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            full.refusal(),
        )
    }

    /// The body is larger than the server accepts (413).
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// The host failed: the request may be tried again (500).
    /// The host's own failure: the detail goes to the server's log under a reference the
    /// answer quotes, never to the client. It can hold what no client should read (the
    /// database server's messages, connection targets, a panic's text; HTTP review).
    pub fn internal(detail: impl Into<String>) -> Self {
        let reference = logged("internal", &detail.into());
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the server failed; the detail is in its log (ref {reference})"),
        )
    }
}

impl ApiError {
    /// What the answer says, as a client reads it (the host's own failures already logged
    /// and only their reference in it).
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            // A denial is 403; an outsider never gets here: the services answer them "not
            // found", exactly as for a missing thing (SPEC ID-4).
            Error::Denied(reason) => Self::new(StatusCode::FORBIDDEN, "denied", reason.to_string()),
            Error::NotFound(m) => Self::not_found(m),
            Error::Invalid(m) => Self::invalid(m),
            Error::Conflict(m) => Self::conflict(m),
            // Its detail is the infrastructure's (a lost database server's address and
            // message), and reached callers not yet authenticated (leak review): logged.
            Error::Busy(m) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!(
                    "unavailable, nothing was changed (try again); the detail is in the \
                     server's log (ref {})",
                    logged("unavailable", &m)
                ),
            ),
            Error::Internal(m) => Self::internal(m),
        }
    }
}

/// Writes a request's failure `detail` to the server's log (stderr) under a fresh
/// reference; the reference.
pub(crate) fn logged(kind: &str, detail: &str) -> String {
    crate::error::logged(&format!("request {kind}"), detail)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                kind: self.kind,
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        // RFC 9110 §11.6.1, RFC 6750 §3: a 401 names the scheme that authenticates (generic
        // clients look for it; HTTP review).
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(self.challenge),
            );
        }
        // A 503 is a "try again", for a moment: said so to clients, webhook senders among
        // them, that wait as told (round 17 web review).
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// What a handler returns.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A 401 names the Bearer scheme (RFC 6750); no other answer does.
    #[test]
    fn an_unauthenticated_answer_names_its_scheme() {
        let header = |e: ApiError| {
            e.into_response()
                .headers()
                .get(axum::http::header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap_or_default().to_owned())
        };
        assert_eq!(
            header(ApiError::unauthenticated("no key")).as_deref(),
            Some("Bearer realm=\"flowhost\"")
        );
        assert_eq!(header(ApiError::from(Error::NotFound("x".into()))), None);
        // A webhook takes a signature, never a Bearer token.
        assert_eq!(
            header(ApiError::unsigned("bad signature")).as_deref(),
            Some("Flowhost-Signature realm=\"flowhost-webhook\"")
        );
    }

    /// The host's own failures answer with a reference, never their detail: a panic's
    /// message or a stored row that does not read stays in the server's log (HTTP review).
    #[test]
    fn a_hosts_failure_answers_without_its_detail() {
        let detail = "password authentication failed for user \"flowhost\" at 10.0.0.7:5432";
        for e in [
            ApiError::from(Error::Internal(detail.to_owned())),
            ApiError::from(Error::Busy(format!(
                "cannot connect to PostgreSQL: {detail}"
            ))),
            ApiError::internal(format!("the request's worker failed: {detail}")),
        ] {
            assert!(!e.message.contains("password"), "{}", e.message);
            assert!(!e.message.contains("10.0.0.7"), "{}", e.message);
            assert!(e.message.contains("(ref "), "{}", e.message);
        }
        // What a person can act on is still said.
        let invalid = ApiError::from(Error::Invalid("`title` is empty".to_owned()));
        assert!(invalid.message.contains("`title` is empty"));
    }
}
