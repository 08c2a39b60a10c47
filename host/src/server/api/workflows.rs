//! `/api/v1/workspaces/{workspace}/workflows`: list, publish, run (SPEC WF-6, WF-7).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Authed;
use super::body::{ApiJsonOrNone, parse_body};
use super::call::{call, call_starting};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::idempotency::IdempotencyKey;
use crate::definition::model::TriggerKind;
use crate::server::AppState;
use crate::workflow::webhooks::Webhook;
use crate::workflow::{Quiet, RunOutcome};

/// A published workflow's latest revision.
#[derive(Serialize, ToSchema)]
pub struct WorkflowSummary {
    name: String,
    revision: i64,
    published_by: String,
    published_at: String,
}

/// The latest revision of every published workflow of the workspace (needs `playbook.list`).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/workflows", tag = "workflows",
    params(("workspace" = String, Path, description = "the workspace")),
    responses((status = 200, body = [WorkflowSummary]), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
) -> ApiResult<Json<Vec<WorkflowSummary>>> {
    let revisions = call(&state, move |e| {
        e.platform().workflows().list(&principal, &workspace)
    })
    .await?;
    Ok(Json(
        revisions
            .into_iter()
            .map(|r| WorkflowSummary {
                name: r.name,
                revision: r.revision,
                published_by: r.published_by,
                published_at: r.published_at,
            })
            .collect(),
    ))
}

/// What publishing answers.
#[derive(Serialize, ToSchema)]
pub struct Published {
    name: String,
    workspace: String,
    revision: i64,
    /// For a workflow with a webhook trigger: its URL id, and its signing secret the first
    /// time (shown once).
    #[schema(value_type = Option<Object>)]
    webhook: Option<Webhook>,
    /// Why a webhook workflow's `webhook` is missing: the revision is published, and only
    /// its webhook could not be answered (`POST …/workflows/{name}/webhook` asks again; a
    /// secret that must be rotated says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_error: Option<String>,
}

/// Publishes the definition in the body (the workflow JSON document itself, so errors'
/// line:column point into what was sent) as a new revision; needs `playbook.publish`, and
/// binds `run_as` to the publisher (SPEC WF-7, WF-10). Components are found as `step:NAME`
/// in the server's step directories, and only there: a path would name the server's files.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/workflows", tag = "workflows",
    params(("workspace" = String, Path, description = "the workspace; the definition's own must match")),
    request_body(content = Object, description = "a workflow definition (SPEC WF-1)"),
    responses((status = 201, body = Published), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "a workflow of that name is shared here from another workspace (SPEC SH-1)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path(workspace): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Published>)> {
    // Depth and syntax first, as for every body; the definition keeps its own text.
    parse_body::<Value>(&body)?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::invalid(format!("the request body is not UTF-8: {e}")))?;
    let published = call(&state, move |e| {
        let origin = format!("api:{workspace}");
        let (w, revision) = e.platform().workflows().publish_sent(
            &principal,
            &workspace,
            &text,
            &origin,
            e.step_dirs().to_vec(),
        )?;
        // The revision is committed: what follows may not turn the answer into a failure, or
        // a client retrying as told published it again (round 25 web review: a deadline past,
        // or another revision published between, answered 503 or 404 after publishing).
        let (webhook, webhook_error) = match w.trigger.on {
            TriggerKind::Webhook => match e
                .platform()
                .workflows()
                .webhook(&principal, &workspace, &w.name, false)
            {
                Ok(webhook) => (Some(webhook), None),
                Err(err) => (None, Some(webhook_error(revision, &w.name, err))),
            },
            _ => (None, None),
        };
        Ok(Published {
            name: w.name,
            workspace,
            revision,
            webhook,
            webhook_error,
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(published)))
}

/// The body of a manual run; none at all is `{}`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// What the run sees as `$.event` (default `{}`); `null` is `null`, as the CLI's
    /// `--event null`.
    #[serde(default, deserialize_with = "crate::json_limits::present")]
    #[schema(value_type = Object)]
    event: Option<Value>,
}

/// Runs the latest published revision of `name` as the caller, who needs `playbook.execute`
/// (SPEC WF-6); answers when the run ends or holds. Sent again with its `Idempotency-Key`
/// (the answer lost), it answers the run that key started, as it is now (`running` while it
/// still executes); the key with another workflow or event is a 409.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/workflows/{name}/runs", tag = "workflows",
    params(("workspace" = String, Path, description = "the workspace"),
        ("name" = String, Path, description = "the published workflow"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible ASCII characters: sent again, answers what this key made")),
    request_body = Option<RunRequest>,
    responses((status = 200, description = "the run's outcome", body = Object),
        (status = 400, description = "an Interaction Flow, which starts through its form, or a workflow its trigger starts (a case event, a custom event, a webhook)", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the Idempotency-Key started another run", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn run(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path((workspace, name)): Path<(String, String)>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJsonOrNone(request): ApiJsonOrNone<RunRequest>,
) -> ApiResult<Json<RunOutcome>> {
    let event = request
        .event
        .unwrap_or_else(|| Value::Object(Default::default()));
    let caller = principal.clone();
    let keyed = key.is_some();
    let outcome = call_starting(&state, &caller, keyed, move |e, start| {
        e.published_start(
            principal,
            &workspace,
            &name,
            event,
            key.as_deref(),
            start,
            &Quiet,
        )
    })
    .await?;
    state.wake();
    Ok(super::outcome::answered(outcome))
}

/// The body of a webhook request; none at all is `{}`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// A new signing secret, shown once, in place of the old one (default `false`).
    #[serde(default)]
    rotate: bool,
}

/// The webhook of published workflow `name`: created on first ask (its signing secret then
/// shown, once) or given a new secret with `rotate`; needs what publishing its latest
/// revision needs, and binding its `run_as` (SPEC WF-10), as `flowhost workflows webhook`.
/// What a publish answers with `webhook_error` is had here (round 25 self-review: an
/// API-only client could only publish again).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/workflows/{name}/webhook", tag = "workflows",
    params(("workspace" = String, Path, description = "the workspace"),
        ("name" = String, Path, description = "the published workflow, with a webhook trigger")),
    request_body = Option<WebhookRequest>,
    responses((status = 200, description = "the webhook; `secret` only when just created or rotated", body = Object),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "no such workflow with a webhook trigger", body = ErrorBody),
        (status = 409, description = "its secret was issued for another `run_as`, or by one who may no longer issue it: rotate it", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn webhook(
    State(state): State<AppState>,
    Authed(principal): Authed,
    Path((workspace, name)): Path<(String, String)>,
    ApiJsonOrNone(request): ApiJsonOrNone<WebhookRequest>,
) -> ApiResult<Json<Webhook>> {
    let hook = call(&state, move |e| {
        e.platform()
            .workflows()
            .webhook(&principal, &workspace, &name, request.rotate)
    })
    .await?;
    Ok(Json(hook))
}

/// Why a published revision's answer holds no webhook: said as every answer says the
/// failure (`ApiError`), so the host's own (a lost database server's address, a stored
/// value's text) goes to the log and only its reference reaches the client (round 26 web
/// review: round 25 quoted it whole in the 201).
fn webhook_error(revision: i64, name: &str, err: crate::Error) -> String {
    format!(
        "revision {revision} is published; its webhook could not be answered: {} \
         (`POST .../workflows/{name}/webhook` asks again)",
        ApiError::from(err).message()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_error_quotes_no_host_failure() {
        for err in [
            crate::Error::Busy("connection to 10.0.0.7:5432 refused".into()),
            crate::Error::Internal("stored value 10.0.0.7:5432 unreadable".into()),
        ] {
            let said = webhook_error(3, "triage", err);
            assert!(!said.contains("10.0.0.7"), "{said}");
            assert!(said.contains("(ref "), "{said}");
            assert!(said.contains("revision 3 is published"), "{said}");
        }
        let said = webhook_error(
            3,
            "triage",
            crate::Error::NotFound("`triage` has another revision now".into()),
        );
        assert!(said.contains("another revision now"), "{said}");
    }
}
