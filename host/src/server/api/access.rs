//! `/api/v1/workspaces/{workspace}/access` and `…/audit`: access questions with their
//! explanation (SPEC RB-3, ID-4) and the audit log (SPEC AU-1).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Authed;
use super::body::ApiQuery;
use super::call::call;
use super::error::{ApiResult, ErrorBody};
use crate::access::explain::Explanation;
use crate::audit::AuditEntry;
use crate::server::AppState;

/// The scope asked about.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckQuery {
    /// A scope name, e.g. `case.read` (an unknown one is explained as denied).
    scope: String,
}

/// May the caller use `scope` in the workspace, and why: `{"allowed", "reason", "path"}`. A
/// denial is an answer (200), not an error; an outsider gets one answer for every workspace.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/access", tag = "access",
    params(("workspace" = String, Path, description = "the workspace"), CheckQuery),
    responses((status = 200, description = "the decision and the path behind it", body = Object)),
    security(("bearer" = [])))]
pub async fn check(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
    ApiQuery(query): ApiQuery<CheckQuery>,
) -> ApiResult<Json<Explanation>> {
    let explanation = call(&state, move |e| {
        e.platform()
            .access()
            .explain(&principal, &workspace, &query.scope)
    })
    .await?;
    Ok(Json(explanation))
}

/// Where to start reading the audit log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries at or after this Unix time, in seconds (default 0: all).
    #[serde(default)]
    since: i64,
    /// Entries numbered after this one (default 0: from the first): a reader pages on with
    /// the last `id` it got.
    #[serde(default)]
    after: i64,
    /// At most this many, oldest first (1 to 10,000, the default; more reads as 10,000; 0 is
    /// refused, 400), fewer once their details pass 8 MiB. A reader pages on with the last
    /// `id` until a page comes back empty.
    limit: Option<usize>,
}

/// The most audit entries one request answers with.
pub const MAX_AUDIT_ENTRIES: usize = 10_000;

/// The workspace's audit log (needs `audit.read`).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/audit", tag = "access",
    params(("workspace" = String, Path, description = "the workspace"), AuditQuery),
    responses((status = 200, description = "entries", body = [Object]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let entries = call(&state, move |e| {
        let limit = query
            .limit
            .unwrap_or(MAX_AUDIT_ENTRIES)
            .min(MAX_AUDIT_ENTRIES);
        let page = crate::handles::AuditPage::After {
            after: query.after,
            limit,
        };
        e.platform()
            .audit()
            .page(&principal, &workspace, query.since, page)
    })
    .await?;
    Ok(Json(entries))
}
