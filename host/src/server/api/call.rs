//! Running a service call for a request: off the runtime threads (the services speak SQLite
//! synchronously), its [`Error`] turned into the API's answer.

use super::error::{ApiError, ApiResult};
use crate::Error;
use crate::public_id::{IdKind, PublicId};
use crate::server::AppState;
use crate::workflow::Engine;
use crate::workflow::flows::Start;

/// Runs `work` on the blocking pool, its storage work bounded by the request's deadline
/// ([`AppState::deadline`]), and classifies its error.
pub async fn call<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
) -> ApiResult<T> {
    // The wait for a request worker counts towards the deadline (`AppState::blocking`): an
    // answer took up to twice it (review).
    state
        .blocking(work)
        .await
        .map_err(worker_failed)?
        .map_err(ApiError::from)
}

/// `work` with its storage work stopped at `limit` from now: a statement still running then
/// is interrupted and its transaction rolled back, and the request is answered as the
/// server's trouble (503, nothing changed). Before, a search over a tenant's large cases held
/// the connection every tenant's requests share for as long as it took (hostile-input review).
pub(crate) fn within<T>(
    limit: std::time::Duration,
    work: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    let _bound = crate::store::deadline::bind(std::time::Instant::now() + limit);
    match work() {
        Err(Error::Internal(why) | Error::Busy(why)) if crate::store::deadline::passed() => {
            Err(Error::Busy(format!(
                "the request passed its deadline of {} ms: {why}",
                limit.as_millis()
            )))
        }
        result => result,
    }
}

/// Runs `work` on the blocking pool without a deadline (a run's steps have their own) and
/// classifies its error.
pub(super) async fn call_unbounded<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
) -> ApiResult<T> {
    state
        .blocking_unbounded(work)
        .await
        .map_err(worker_failed)?
        .map_err(ApiError::from)
}

/// No request worker came free within the request's deadline (in milliseconds): the
/// server's trouble, answered 503 (`AppState::blocking`).
#[derive(Debug, thiserror::Error)]
#[error("the server is busy: no request worker came free within {0} ms")]
pub struct Busy(pub u128);

/// Why a request's work did not run: no worker free in time (503), or the worker failed.
pub(crate) fn worker_failed(e: anyhow::Error) -> ApiError {
    match e.downcast_ref::<Busy>() {
        Some(busy) => ApiError::from(Error::Busy(busy.to_string())),
        None => ApiError::internal(format!("the request's worker failed: {e}")),
    }
}

/// [`call`] for work that executes a run (`principal`'s): it holds one of their run slots
/// while it does, or is answered 503 and never starts ([`crate::server::run_slots`]).
pub async fn call_running<T: Send + 'static>(
    state: &AppState,
    principal: &crate::principal::Principal,
    work: impl FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
) -> ApiResult<T> {
    let slot = state
        .run_slot(principal, None)
        .map_err(ApiError::no_run_slot)?;
    call_unbounded(state, move |e| {
        let _slot = slot;
        work(e)
    })
    .await
}

/// [`call_running`] for a start that may carry an idempotency key (`keyed`): with no run
/// slot of the caller's free, a keyed start is still made, as [`Start::RepeatOnly`], and
/// answered with the run its key started (decided as any start is); only a start that would
/// be new is answered 503 (round 21: a retry whose answer was lost met a 503 while the run it
/// asked about executed).
pub async fn call_starting<T: Send + 'static>(
    state: &AppState,
    principal: &crate::principal::Principal,
    keyed: bool,
    start: impl FnOnce(&Engine, Start) -> Result<Option<T>, Error> + Send + 'static,
) -> ApiResult<T> {
    match state.run_slot(principal, None) {
        Ok(slot) => {
            call_unbounded(state, move |e| {
                let _slot = slot;
                start(e, Start::Any)?
                    .ok_or_else(|| Error::Internal("a start started no run".into()))
            })
            .await
        }
        Err(full) if keyed => call(state, move |e| start(e, Start::RepeatOnly))
            .await?
            .ok_or_else(|| ApiError::no_run_slot(full)),
        Err(full) => Err(ApiError::no_run_slot(full)),
    }
}

/// `text` as an id of `kind` (`R-…`, `I-…`); a malformed one is the request's fault (400).
pub fn public_id(kind: IdKind, text: &str) -> ApiResult<PublicId> {
    PublicId::parse(kind, text).map_err(|e| ApiError::from(Error::from(e)))
}
