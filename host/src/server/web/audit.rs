//! The audit log of the session's workspace, for those holding `audit.read` (SPEC AU-1; the
//! handle decides).

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::Html;

use super::error::WebError;
use super::html::{clip_json, esc, page, visible, visible_block};
use super::session::Signed;
use crate::handles::AuditPage as Page;
use crate::server::AppState;
use crate::server::urlencoded::StrictQuery;

/// How many entries the page shows, newest first.
const SHOWN: usize = 300;

/// GET /audit. It takes no query parameter: the API's `since`/`limit` sent here were
/// answered with the newest entries, unfiltered (round 28 web review).
pub(super) async fn page_of_entries(
    State(state): State<AppState>,
    signed: Signed,
    StrictQuery(params): StrictQuery<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    crate::server::urlencoded::only_known(&params, &[])
        .map_err(|why| WebError::Host(crate::Error::Invalid(why)))?;
    let principal = signed.session.principal.clone();
    let workspace = signed.session.workspace.clone();
    let entries = state
        .blocking(move |e| {
            e.platform()
                .audit()
                .page(&principal, &workspace, 0, Page::Latest(SHOWN))
        })
        .await??;
    let mut body = format!(
        "<h1>Audit log</h1><p class=\"hint\">The newest {SHOWN} entries, newest first (fewer \
         when their details are large; the API pages through all of them).</p><table>\
         <thead><tr><th>#</th><th>When</th><th>Who</th><th>Action</th><th>Target</th>\
         <th>Details</th></tr></thead><tbody>"
    );
    for e in entries.iter().rev() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{} <span class=\"hint\">{}</span></td><td>{}</td>\
             <td>{}</td><td><pre>{}</pre></td></tr>",
            e.id,
            esc(&e.at),
            visible(&e.actor),
            esc(&e.actor_kind),
            visible(&e.action),
            visible(&e.target),
            visible_block(&clip_json(&e.details))
        );
    }
    body.push_str("</tbody></table>");
    Ok(page("Audit", Some(&signed.session), &body))
}
