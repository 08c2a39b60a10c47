//! Running a service call for a request: off the runtime threads (the services speak SQLite
//! synchronously), its [`Error`] turned into the API's answer.

use super::error::{ApiError, ApiResult};
use crate::Error;
use crate::public_id::{IdKind, PublicId};
use crate::server::AppState;
use crate::workflow::Engine;

/// Runs `work` on the blocking pool and classifies its error.
pub async fn call<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
) -> ApiResult<T> {
    state
        .blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("the request's worker failed: {e}")))?
        .map_err(ApiError::from)
}

/// `text` as an id of `kind` (`R-…`, `I-…`); a malformed one is the request's fault (400).
pub fn public_id(kind: IdKind, text: &str) -> ApiResult<PublicId> {
    PublicId::parse(kind, text).map_err(|e| ApiError::from(Error::from(e)))
}
