//! `Idempotency-Key`: a start or a creation sent again under the same key (its answer lost
//! to a timeout, a dropped connection or a 503 after its commit) is answered with what the
//! first one made, never made twice (round 19 kill and concurrency review). Keys are the
//! caller's own: a start's kept seven days, a case's with its case.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::runs::StartKey;
use crate::server::one_header::one_header;
use crate::workflow::webhooks::IDEMPOTENCY_HEADER;

/// The request's `Idempotency-Key`, if it sent one: 1 to [`StartKey::MAX_LEN`] visible ASCII
/// characters; anything else, or two of them, is refused naming the header (400).
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(key) = one_header(&parts.headers, IDEMPOTENCY_HEADER)? else {
            return Ok(IdempotencyKey(None));
        };
        StartKey::check(&format!("the {IDEMPOTENCY_HEADER} header"), key)
            .map_err(ApiError::invalid)?;
        Ok(IdempotencyKey(Some(key.to_owned())))
    }
}
