//! "Waiting for me": the open Interactions the signed-in person may answer in the session's
//! workspace, and only those (SPEC IX-7).

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::Html;

use super::error::WebError;
use super::html::{esc, page, visible};
use super::session::Signed;
use crate::server::AppState;

/// GET /: the list.
pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    let (principal, workspace) = (
        signed.session.principal.clone(),
        signed.session.workspace.clone(),
    );
    let open = state
        .blocking(move |e| e.platform().interactions().open(&principal, &workspace))
        .await??;
    let mut body = String::from("<h1>Waiting for me</h1>");
    if open.is_empty() {
        body.push_str("<p class=\"empty\">Nothing is waiting for you.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>Interaction</th><th>Workflow</th><th>Run</th><th>Due</th>\
             </tr></thead><tbody>",
        );
        for ix in &open {
            let _ = write!(
                body,
                "<tr><td><a href=\"/interactions/{id}\">{title}</a></td><td>{wf}</td>\
                 <td><a href=\"/runs/{run}\">{run}</a></td><td>{due}</td></tr>",
                id = esc(ix.id.as_str()),
                title = visible(&ix.title),
                wf = visible(&ix.workflow),
                run = esc(ix.run.as_str()),
                due = esc(ix.deadline.as_deref().unwrap_or("—")),
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok(page("Waiting for me", Some(&signed.session), &body))
}
