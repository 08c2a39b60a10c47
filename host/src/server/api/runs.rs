//! `/api/v1/runs`: list, show, resume, as far as the caller may see each run (SPEC ID-4,
//! CS-2, WF-8).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Authed;
use super::body::ApiQuery;
use super::call::{call, call_running, public_id};
use super::error::{ApiError, ApiResult, ErrorBody};
use crate::public_id::IdKind;
use crate::runs::{RunInfo, RunsPage, StepRecord};
use crate::server::AppState;
use crate::workflow::{Quiet, RunOutcome};

/// Which runs to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// Only this workspace's runs (default: every workspace the caller has a standing in).
    workspace: Option<String>,
    /// How many runs, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// Only runs older than this one (`R-…`): the last run of the previous page.
    before: Option<String>,
}

/// One page of the runs the caller may see (`playbook.get`), newest first; the next page is
/// `before` the last run of this one.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(RunsQuery),
    responses((status = 200, description = "runs", body = [Object])),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(principal): Authed,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    let page = RunsPage {
        before: query
            .before
            .as_deref()
            .map(|id| public_id(IdKind::Run, id))
            .transpose()?,
        limit: query.limit,
    };
    let runs = call(&state, move |e| {
        e.platform()
            .runs()
            .list(&principal, query.workspace.as_deref(), &page)
    })
    .await?;
    let listed = runs
        .iter()
        .map(RunInfo::listed)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(format!("a run did not serialize: {e}")))?;
    Ok(Json(listed))
}

/// A run and its journaled steps.
#[derive(Serialize, ToSchema)]
pub struct RunDetail {
    #[schema(value_type = Object)]
    run: RunInfo,
    #[schema(value_type = Vec<Object>)]
    steps: Vec<StepRecord>,
}

/// Run `id` and its newest journaled steps, at most 10,000 and 8 MiB of outputs and errors
/// (outputs only to those who may see them; `run.steps_omitted` counts earlier ones); 404 to
/// anyone who may see nothing of it.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "the run's id, `R-…`")),
    responses((status = 200, body = RunDetail), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<RunDetail>> {
    let id = public_id(IdKind::Run, &id)?;
    let (run, steps) = call(&state, move |e| e.platform().runs().show(&principal, &id)).await?;
    Ok(Json(RunDetail { run, steps }))
}

/// Resumes an interrupted or waiting run (journaled steps replayed); needs `playbook.execute`
/// in its workspace. A run the server's scheduler is executing answers 409.
#[utoipa::path(post, path = "/api/v1/runs/{id}/resume", tag = "runs",
    params(("id" = String, Path, description = "the run's id, `R-…`")),
    responses((status = 200, description = "the run's outcome", body = Object),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<RunOutcome>> {
    let id = public_id(IdKind::Run, &id)?;
    let caller = principal.clone();
    let outcome = call_running(&state, &caller, move |e| {
        e.resume_for(&principal, &id, &Quiet)
    })
    .await?;
    state.wake();
    Ok(super::outcome::answered(outcome))
}
