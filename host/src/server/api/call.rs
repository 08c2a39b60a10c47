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

/// [`call`] for work that executes a run (`principal`'s): it holds one of their run slots
/// while it does, or is answered 503 and never starts ([`crate::server::run_slots`]).
pub async fn call_running<T: Send + 'static>(
    state: &AppState,
    principal: &crate::principal::Principal,
    work: impl FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
) -> ApiResult<T> {
    let slot = state
        .run_slots()
        .take(principal)
        .map_err(ApiError::no_run_slot)?;
    call(state, move |e| {
        let _slot = slot;
        work(e)
    })
    .await
}

/// `text` as an id of `kind` (`R-…`, `I-…`); a malformed one is the request's fault (400).
pub fn public_id(kind: IdKind, text: &str) -> ApiResult<PublicId> {
    PublicId::parse(kind, text).map_err(|e| ApiError::from(Error::from(e)))
}
