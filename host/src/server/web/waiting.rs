//! "Waiting for me": the open Interactions the signed-in person may answer in the session's
//! workspace, and only those (SPEC IX-7).

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::Html;

use super::error::WebError;
use super::html::{esc, page, visible};
use super::session::Signed;
use crate::Error;
use crate::interact::OpenPage;
use crate::public_id::{IdKind, PublicId};
use crate::server::AppState;
use crate::server::urlencoded::{StrictQuery, only_known, param};

/// Interactions the page shows.
const SHOWN: usize = 100;

/// GET /: the list, 100 a page; `?after=I-…` pages on (the whole workspace's open
/// interactions were one page: round 26 web review).
pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    StrictQuery(params): StrictQuery<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let (principal, workspace) = (
        signed.session.principal.clone(),
        signed.session.workspace.clone(),
    );
    // It takes `after`, the last interaction of the page before (as the API pages).
    only_known(&params, &["after"]).map_err(|why| WebError::Host(Error::Invalid(why)))?;
    let after = param(&params, "after")
        .map(|raw| PublicId::parse(IdKind::Interaction, raw))
        .transpose()
        // Not quoted, as a crafted link's text would read as the site's words.
        .map_err(|_| {
            WebError::Host(Error::Invalid(
                "the page link's `after` is not an interaction id".to_owned(),
            ))
        })?;
    let paged = after.is_some();
    let open = state
        .blocking(move |e| {
            let page = OpenPage {
                after,
                limit: Some(SHOWN),
            };
            e.platform()
                .interactions()
                .open(&principal, &workspace, &page)
        })
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
    let mut links = Vec::new();
    if paged {
        links.push("<a href=\"/\">First page</a>".to_owned());
    }
    if let (true, Some(last)) = (open.len() == SHOWN, open.last()) {
        links.push(format!(
            "<a href=\"/?after={id}\">More</a>",
            id = esc(last.id.as_str())
        ));
    }
    if !links.is_empty() {
        let _ = write!(body, "<p class=\"pager\">{}</p>", links.join(" · "));
    }
    Ok(page("Waiting for me", Some(&signed.session), &body))
}
