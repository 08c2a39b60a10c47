//! Reading a request header that must come once: which of two values counts is anybody's
//! guess (a proxy adding its own, a retry sent in another order), so two are refused naming
//! the header, at every door that reads one (round 20 hostile-input review: the webhook door
//! took the first `Idempotency-Key` where the API refused two).

use axum::http::HeaderMap;

use super::api::error::ApiError;

/// The header `name`'s one value, if sent; two of it, or one that is not text, is a 400
/// naming it.
pub(crate) fn one_header<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, ApiError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::invalid(format!(
            "send one {name} header, not several"
        )));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| ApiError::invalid(format!("the {name} header is not text")))
}
