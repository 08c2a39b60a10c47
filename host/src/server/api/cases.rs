//! `/api/v1/workspaces/{workspace}/cases`: the five case operations (and one case), through
//! the same case service as the WIT door and the CLI (SPEC CS-1..7).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::auth::Authed;
use super::body::ApiJson;
use super::call::call;
use super::error::{ApiResult, ErrorBody};
use super::idempotency::IdempotencyKey;
use crate::principal::{Caller, Principal};
use crate::server::AppState;
use crate::services::CaseApi;
use crate::services::cases::{
    CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
};

fn caller(workspace: String, principal: Principal) -> Caller {
    Caller {
        workspace,
        principal,
        cause: None,
        step: None,
    }
}

/// *Create a case* (needs `case.write`).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/cases", tag = "cases",
    params(("workspace" = String, Path, description = "the workspace"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible ASCII characters: sent again, answers what this key made; sent with another case, 409")),
    request_body(content = Object, description = "title, description, severity, assignee, reviewers, access_mode, collaborators, state, fields"),
    responses((status = 201, description = "the case", body = Object), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "the Idempotency-Key made another case, or one the caller may not read", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(case): ApiJson<NewCase>,
) -> ApiResult<(StatusCode, Json<CaseRecord>)> {
    let case = call(&state, move |e| {
        e.platform()
            .create_case_requested(&caller(workspace, principal), case, key.as_deref())
    })
    .await?;
    state.wake();
    Ok((StatusCode::CREATED, Json(case)))
}

/// *Create a case from JSON*: the body is the case document, checked field by field as the
/// WIT door checks it.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/cases/from-json", tag = "cases",
    params(("workspace" = String, Path, description = "the workspace"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible ASCII characters: sent again, answers what this key made; sent with another case, 409")),
    request_body(content = Object, description = "the case as a JSON document"),
    responses((status = 201, description = "the case", body = Object), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "the Idempotency-Key made another case, or one the caller may not read", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_from_json(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(case): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<CaseRecord>)> {
    let case = call(&state, move |e| {
        let case = crate::services::cases::parse_case_json(&case.to_string())?;
        e.platform()
            .create_case_requested(&caller(workspace, principal), case, key.as_deref())
    })
    .await?;
    state.wake();
    Ok((StatusCode::CREATED, Json(case)))
}

/// *Query cases*: the cases the caller may see, filtered, sorted and paged. A POST because
/// the query is a document; it changes nothing.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/cases/query", tag = "cases",
    params(("workspace" = String, Path, description = "the workspace")),
    request_body(content = Object, description = "filter, sort, page_size, cursor"),
    responses((status = 200, description = "a page of cases", body = Object), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn query(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
    ApiJson(query): ApiJson<CaseQuery>,
) -> ApiResult<Json<CasePage>> {
    let page = call(&state, move |e| {
        e.platform()
            .query_cases(&caller(workspace, principal), query)
    })
    .await?;
    Ok(Json(page))
}

/// One case; 404 when the caller may not see it, exactly as for a missing one (SPEC CS-2).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/cases/{id}", tag = "cases",
    params(("workspace" = String, Path, description = "the workspace"),
        ("id" = String, Path, description = "the case's id")),
    responses((status = 200, description = "the case", body = Object), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path((workspace, id)): Path<(String, String)>,
) -> ApiResult<Json<CaseRecord>> {
    let case = call(&state, move |e| {
        e.platform().get_case(&caller(workspace, principal), &id)
    })
    .await?;
    Ok(Json(case))
}

/// *Get case restrictions*.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/cases/{id}/restrictions", tag = "cases",
    params(("workspace" = String, Path, description = "the workspace"),
        ("id" = String, Path, description = "the case's id")),
    responses((status = 200, description = "access mode and collaborators", body = Object),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_restrictions(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path((workspace, id)): Path<(String, String)>,
) -> ApiResult<Json<Restrictions>> {
    let r = call(&state, move |e| {
        e.platform()
            .get_case_restrictions(&caller(workspace, principal), &id)
    })
    .await?;
    Ok(Json(r))
}

/// *Update case restrictions*: the access mode and/or collaborators (SPEC CS-3..7).
#[utoipa::path(patch, path = "/api/v1/workspaces/{workspace}/cases/{id}/restrictions", tag = "cases",
    params(("workspace" = String, Path, description = "the workspace"),
        ("id" = String, Path, description = "the case's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible ASCII characters: sent again, answers what this key's update answered and changes nothing again; sent with another update, 409")),
    request_body(content = Object, description = "access_mode, set_collaborators, add_collaborators, remove_collaborators"),
    responses((status = 200, description = "access mode and collaborators", body = Object),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the Idempotency-Key made another restriction update of this case", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_restrictions(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path((workspace, id)): Path<(String, String)>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(update): ApiJson<RestrictionUpdate>,
) -> ApiResult<Json<Restrictions>> {
    let r = call(&state, move |e| {
        e.platform().update_case_restrictions_requested(
            &caller(workspace, principal),
            &id,
            update,
            key.as_deref(),
        )
    })
    .await?;
    state.wake();
    Ok(Json(r))
}
