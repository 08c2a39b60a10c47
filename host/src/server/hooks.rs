//! `POST /hooks/{id}`: webhook triggers (SPEC WF-2, SV-1; issue 16). The request's signature
//! is its credential; `workflow/webhooks.rs` verifies it and records the run, which the
//! scheduler executes. Answered `202` with the run's id.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::api::error::ApiError;
use super::one_header::one_header;
use crate::workflow::webhooks::{
    Accepted, Delivery, IDEMPOTENCY_HEADER, Refusal, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

/// Verifies and accepts one webhook request.
pub(super) async fn receive(
    State(state): State<AppState>,
    Path(hook): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Each comes once, as the API's `Idempotency-Key` does (`one_header`).
    let header = |name: &str| -> Result<Option<String>, ApiError> {
        Ok(one_header(&headers, name)?.map(str::to_owned))
    };
    let read = || -> Result<_, ApiError> {
        Ok((
            header(TIMESTAMP_HEADER)?,
            header(SIGNATURE_HEADER)?,
            header(IDEMPOTENCY_HEADER)?,
        ))
    };
    let (timestamp, signature, key) = match read() {
        Ok(headers) => headers,
        Err(e) => return e.into_response(),
    };
    let accepted = state
        // Not bound by the request's deadline: bound work commits alone, and deliveries
        // share their commits with the runs' writes (group commit, `store/batch.rs`).
        .blocking_unbounded(move |engine| {
            engine.platform().workflows().accept_webhook(&Delivery {
                hook: &hook,
                timestamp: timestamp.as_deref(),
                signature: signature.as_deref(),
                idempotency_key: key.as_deref(),
                body: &body,
                now: crate::clock::now_unix(),
            })
        })
        .await;
    match accepted {
        Ok(Ok(accepted)) => {
            state.wake();
            (StatusCode::ACCEPTED, Json::<Accepted>(accepted)).into_response()
        }
        Ok(Err(refusal)) => refused(refusal).into_response(),
        Err(e) => super::api::call::worker_failed(e).into_response(),
    }
}

/// A refusal's answer: the credential's failures are 401 alike, a replay 409.
fn refused(refusal: Refusal) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        Refusal::NoSuchHook(_) => ApiError::not_found(message),
        Refusal::Unsigned(_) | Refusal::BadSignature | Refusal::Stale(_) => {
            ApiError::unsigned(message)
        }
        Refusal::Replayed | Refusal::Rebound => ApiError::conflict(message),
        Refusal::Invalid(_) => ApiError::invalid(message),
        Refusal::Host(e) => e.into(),
    }
}
