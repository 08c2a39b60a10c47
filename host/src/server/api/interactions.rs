//! `/api/v1/…/interactions` and `…/flows`: the Interactions the caller may answer, answering
//! them, and the Interaction Flows they may start (SPEC IX). Every answer goes through the
//! one IX check of `interact/` before a run resumes (SPEC SV-2).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::auth::Authed;
use super::body::{ApiJson, ApiQuery};
use super::call::{call, call_starting, call_unbounded, public_id, within};
use super::error::{ApiResult, ErrorBody};
use super::idempotency::IdempotencyKey;
use crate::interact::{InteractionView, OpenPage};
use crate::public_id::IdKind;
use crate::runs::lease;
use crate::server::AppState;
use crate::share::FlowEntry;
use crate::workflow::{Quiet, RunOutcome};

/// Which open interactions to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpenQuery {
    /// How many interactions, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// Only interactions after this one (`I-…`): the last of the previous page.
    after: Option<String>,
}

/// One page of the open interactions of the workspace that the caller may answer (SPEC
/// IX-7), oldest first; the next page is `after` the last of this one. An API key is never
/// a person: its list is empty (the web pages are the door for people).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/interactions", tag = "interactions",
    params(("workspace" = String, Path, description = "the workspace"), OpenQuery),
    responses((status = 200, description = "interactions", body = [Object])),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
    ApiQuery(query): ApiQuery<OpenQuery>,
) -> ApiResult<Json<Vec<InteractionView>>> {
    let page = OpenPage {
        after: query
            .after
            .as_deref()
            .map(|id| public_id(IdKind::Interaction, id))
            .transpose()?,
        limit: query.limit,
    };
    let open = call(&state, move |e| {
        e.platform()
            .interactions()
            .open(&principal, &workspace, &page)
    })
    .await?;
    Ok(Json(open))
}

/// One interaction, if the caller may see it; 404 otherwise (SPEC IX-7, ID-4). An API key
/// is never a person, so it sees none.
#[utoipa::path(get, path = "/api/v1/interactions/{id}", tag = "interactions",
    params(("id" = String, Path, description = "the interaction's id, `I-…`")),
    responses((status = 200, description = "the interaction and its form", body = Object),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<InteractionView>> {
    let id = public_id(IdKind::Interaction, &id)?;
    let ix = call(&state, move |e| {
        e.platform().interactions().show(&principal, &id)
    })
    .await?;
    Ok(Json(ix))
}

/// Answers to a form.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormValues {
    /// The form's values by field name.
    #[schema(value_type = Object)]
    values: Value,
}

/// Answers interaction `id`; accepted once, only from someone its settings allow, with values
/// its form accepts (SPEC IX-8). The run then resumes; its outcome is shown as far as the
/// responder may see it. An API key is never a person: refused (people answer on the web
/// pages or with `flowhost interact respond`).
#[utoipa::path(post, path = "/api/v1/interactions/{id}/respond", tag = "interactions",
    params(("id" = String, Path, description = "the interaction's id, `I-…`")),
    request_body = FormValues,
    responses((status = 200, description = "the resumed run's outcome", body = Object),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn respond(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<FormValues>,
) -> ApiResult<Json<RunOutcome>> {
    let id = public_id(IdKind::Interaction, &id)?;
    let slots = state.run_slots().clone();
    // The answer within what is left of the request's deadline once a worker is free (the
    // wait counts, as for every call; review); the run it resumes is bounded by its steps'.
    let until = std::time::Instant::now() + state.deadline();
    let (outcome, note) = call_unbounded(&state, move |e| {
        let left = until.saturating_duration_since(std::time::Instant::now());
        let answer = within(left, || e.respond(&principal, &id, &form.values))?;
        // Sent again once its run had ended: the run as it ended, nothing resumed.
        if answer.run_ended {
            let (info, _) = crate::runs::RunStore::run_detail(e.platform(), answer.run.key)?;
            let ended = RunOutcome {
                run_key: info.key,
                run_id: info.id.clone(),
                status: info.status,
                exit_status: info.exit_status.clone(),
                output: info.output.clone().unwrap_or(serde_json::Value::Null),
                error: info.error.clone(),
                waiting_on: Vec::new(),
            };
            return Ok((e.platform().runs().caused_outcome(&principal, ended), None));
        }
        // Without a slot the run is left to the scheduler: the answer claimed it for
        // whoever resumes it first.
        let tenant = e.platform().access().tenant_of(&principal, None);
        let _slot = match slots.take(&principal, tenant.as_deref()) {
            Ok(slot) => slot,
            Err(full) => {
                let outcome =
                    RunOutcome::unfinished(&answer.run, crate::runs::RunStatus::Running, None);
                let outcome = e.platform().runs().caused_outcome(&principal, outcome);
                return Ok((outcome, Some(full.answer_taken())));
            }
        };
        let outcome = match e.resume(answer.run.key, &Quiet) {
            // The scheduler (or another process) is executing the run: it takes the answer
            // up when it reaches it.
            Err(err) if lease::leased_elsewhere(&err) => {
                RunOutcome::unfinished(&answer.run, crate::runs::RunStatus::Running, None)
            }
            Ok(outcome) => outcome,
            // The answer is stored: the request succeeded whatever became of the resume (a
            // busy database, another host that finished the run meanwhile). Answering an
            // error here read as a lost answer, and a retry as "already answered" (kill and
            // concurrency review); the run goes on when any host resumes it.
            Err(err) => {
                let reference = super::error::logged("resume after an answer", &err.to_string());
                let outcome =
                    RunOutcome::unfinished(&answer.run, crate::runs::RunStatus::Running, None);
                let outcome = e.platform().runs().caused_outcome(&principal, outcome);
                let note = super::outcome::stopped(
                    "the answer was taken; the run was not resumed here",
                    &reference,
                );
                return Ok((outcome, Some(note)));
            }
        };
        Ok((
            e.platform().runs().caused_outcome(&principal, outcome),
            None,
        ))
    })
    .await?;
    state.wake();
    // The door's own note on what became of the answer, said as written: read as a run's
    // reason it was hidden from a summary reader, or rewritten as "stopped, resumable" (round
    // 18 web review).
    let mut answered = super::outcome::answered(outcome);
    if note.is_some() {
        answered.0.error = note;
    }
    Ok(answered)
}

/// The Interaction Flows the caller may start in the workspace (SPEC IX-7). An API key is
/// never a person: its list is empty.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/flows", tag = "interactions",
    params(("workspace" = String, Path, description = "the workspace")),
    responses((status = 200, description = "flows", body = [Object])),
    security(("bearer" = [])))]
pub async fn flows(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
) -> ApiResult<Json<Vec<FlowEntry>>> {
    let flows = call(&state, move |e| {
        e.platform()
            .interactions()
            .startable_flows(&principal, &workspace)
    })
    .await?;
    Ok(Json(flows))
}

/// Starts Interaction Flow `name` with the caller's answers to its form; only people its
/// settings allow may (SPEC IX-4, IX-5). The run acts as the workflow's `run_as`. Sent again
/// with its `Idempotency-Key`, it answers the run that key started, as it is now; the key
/// with other answers is a 409. An API key is never a person: refused (people start flows
/// on the web pages or with `flowhost interact start`).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/flows/{name}/start", tag = "interactions",
    params(("workspace" = String, Path, description = "the workspace"),
        ("name" = String, Path, description = "the flow"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible ASCII characters: sent again, answers what this key made")),
    request_body = FormValues,
    responses((status = 200, description = "the run's outcome", body = Object),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the Idempotency-Key started another run", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path((workspace, name)): Path<(String, String)>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(form): ApiJson<FormValues>,
) -> ApiResult<Json<RunOutcome>> {
    // Its error as the starter may see it, as through the web and the CLI (SPEC IX-1).
    let caller = principal.clone();
    let keyed = key.is_some();
    let outcome = call_starting(&state, &caller, keyed, move |e, start| {
        let started = e.flow_start(
            &principal,
            &workspace,
            &name,
            &form.values,
            key.as_deref(),
            start,
            &Quiet,
        )?;
        Ok(started.map(|outcome| e.platform().runs().flow_outcome(&principal, outcome)))
    })
    .await?;
    state.wake();
    Ok(super::outcome::answered(outcome))
}
