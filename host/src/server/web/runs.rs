//! Runs: the list the signed-in person may see, and one run with its workflow drawn as SVG
//! and its journal (SPEC ID-4, CS-2: what a run saw only to those who may see it, as
//! `platform.runs()` decides).

use crate::server::urlencoded::{StrictQuery, only_known, param};
use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::Html;

use super::diagram;
use super::error::WebError;
use super::html::{clip_json, clip_text, esc, page, visible, visible_block};
use super::session::Signed;
use crate::Error;
use crate::public_id::{IdKind, PublicId};
use crate::runs::{RunInfo, RunsPage, StepRecord};
use crate::server::AppState;

/// Runs the runs page shows.
const SHOWN: usize = 200;

/// GET /runs: the session's workspace's runs the person may see, newest first, 200 a page;
/// `?before=R-…` pages on (the page stopped at 200, saying nothing: round 15 web review).
pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    StrictQuery(params): StrictQuery<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let principal = signed.session.principal.clone();
    let workspace = signed.session.workspace.clone();
    // It takes `before`, the last run of the page before (as the API pages).
    only_known(&params, &["before"]).map_err(|why| WebError::Host(Error::Invalid(why)))?;
    let before = param(&params, "before")
        .map(|raw| PublicId::parse(IdKind::Run, raw))
        .transpose()
        // A malformed page link is a bad request, as the API answers it (400), not "no such
        // run" (round 17 web review); not quoted, as a crafted link's text would read as the
        // site's words on a signed-in page.
        .map_err(|_| {
            WebError::Host(Error::Invalid(
                "the page link's `before` is not a run id".to_owned(),
            ))
        })?;
    let paged = before.is_some();
    let runs = state
        .blocking(move |e| {
            let page = RunsPage {
                before,
                limit: Some(SHOWN),
            };
            e.platform()
                .runs()
                .list(&principal, Some(&workspace), &page)
        })
        .await??;
    let mut body = String::from("<h1>Runs</h1>");
    if runs.is_empty() {
        body.push_str("<p class=\"empty\">No runs you may see.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Started</th>\
             <th>By</th></tr></thead><tbody>",
        );
        for r in &runs {
            let _ = write!(
                body,
                "<tr><td><a href=\"/runs/{id}\">{id}</a></td><td>{wf}</td>\
                 <td><span class=\"status {st}\">{st}</span></td><td>{at}</td><td>{by}</td></tr>",
                id = esc(r.id.as_str()),
                wf = visible(&r.workflow),
                st = esc(r.status.as_str()),
                at = esc(&r.started_at),
                by = esc(&r.principal),
            );
        }
        body.push_str("</tbody></table>");
    }
    let mut links = Vec::new();
    if paged {
        links.push("<a href=\"/runs\">Newest runs</a>".to_owned());
    }
    if let (true, Some(last)) = (runs.len() == SHOWN, runs.last()) {
        links.push(format!(
            "<a href=\"/runs?before={id}\">Older runs</a>",
            id = esc(last.id.as_str())
        ));
    }
    if !links.is_empty() {
        let _ = write!(body, "<p class=\"pager\">{}</p>", links.join(" · "));
    }
    Ok(page("Runs", Some(&signed.session), &body))
}

/// GET /runs/{id}: the run, its workflow as a picture, its journal.
pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    StrictQuery(params): StrictQuery<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    // It takes none (round 29: the detail pages read one misspelt as none, as the list
    // pages did before round 27).
    only_known(&params, &[]).map_err(|why| WebError::Host(Error::Invalid(why)))?;
    let id =
        PublicId::parse(IdKind::Run, &raw).map_err(|e| WebError::named("run")(Error::from(e)))?;
    let (principal, workspace) = (
        signed.session.principal.clone(),
        signed.session.workspace.clone(),
    );
    // Drawn on the blocking thread too: a run's journal may hold a million entries.
    let (body, shown) = state
        .blocking(move |e| {
            let (run, steps, definition) = e
                .platform()
                .runs()
                .show_with_definition_in(&principal, &workspace, &id)?;
            Ok((run_page(&run, &steps, &definition), run.id))
        })
        .await??;
    Ok(page(&format!("Run {shown}"), Some(&signed.session), &body))
}

/// Journal entries the run page lists at most, the latest (the diagram counts them all).
const JOURNAL_SHOWN: usize = 1_000;

/// The body of run `run`'s page: its summary, its workflow drawn, its journal (the latest
/// [`JOURNAL_SHOWN`] entries) and its output.
fn run_page(run: &RunInfo, steps: &[StepRecord], definition: &serde_json::Value) -> String {
    let mut body = String::with_capacity(8192);
    let _ = write!(
        body,
        "<h1>Run {id}</h1><div class=\"card\"><dl class=\"meta\">\
         <dt>Workflow</dt><dd>{wf}</dd>\
         <dt>Status</dt><dd><span class=\"status {st}\">{st}</span>{exit}</dd>\
         <dt>Started</dt><dd>{at}</dd><dt>Runs as</dt><dd>{by}</dd>{err}</dl></div>",
        id = esc(run.id.as_str()),
        wf = visible(&run.workflow),
        st = esc(run.status.as_str()),
        exit = run
            .exit_status
            .as_deref()
            .map(|s| format!(" exit <strong>{}</strong>", visible(s)))
            .unwrap_or_default(),
        at = esc(&run.started_at),
        by = esc(&run.principal),
        err = run
            .error
            .as_deref()
            // Cut as each step's error below is (round 19 web review: whole, up to 64 KiB).
            .map(|e| format!(
                "<dt>Error</dt><dd class=\"error\">{}</dd>",
                visible_block(&clip_text(e))
            ))
            .unwrap_or_default(),
    );
    let _ = write!(
        body,
        "<h2>Workflow</h2><div class=\"diagram\">{}</div>",
        diagram::svg(
            definition,
            steps,
            run.exit_status.as_deref(),
            run.steps_omitted > 0 || run.steps_cut || run.steps_withheld
        )
    );
    body.push_str(
        "<h2>Journal</h2><table><thead><tr><th>Step</th><th>Status</th><th>Attempts</th>\
         <th>Duration</th><th>Output</th></tr></thead><tbody>",
    );
    let skipped = steps.len().saturating_sub(JOURNAL_SHOWN);
    let earlier = u64::try_from(skipped)
        .unwrap_or(u64::MAX)
        .saturating_add(run.steps_omitted);
    if earlier > 0 {
        let _ = write!(
            body,
            "<tr><td colspan=\"5\" class=\"empty\">{earlier} earlier entries are not listed; \
             the latest {} follow.</td></tr>",
            steps.len() - skipped
        );
    } else if run.steps_cut {
        let _ = write!(
            body,
            "<tr><td colspan=\"5\" class=\"empty\">Earlier entries are not listed; the \
             latest {} follow.</td></tr>",
            steps.len()
        );
    }
    for s in &steps[skipped..] {
        let shown = match (&s.output, &s.error) {
            (_, Some(e)) => format!(
                "<span class=\"error\">{}</span>",
                visible_block(&clip_text(e))
            ),
            (Some(o), None) => format!("<pre>{}</pre>", visible_block(&clip_json(o))),
            (None, None) => String::new(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td><span class=\"status {st}\">{st}</span></td><td>{}</td>\
             <td>{}</td><td>{shown}</td></tr>",
            esc(&s.step),
            s.attempts,
            esc(&diagram::duration(s.duration_us)),
            st = esc(&s.status),
        );
    }
    if run.steps_withheld {
        body.push_str(
            "<tr><td colspan=\"5\" class=\"empty\">Which steps ran is not shown to you: the \
             run read a case you may not see.</td></tr>",
        );
    } else if steps.is_empty() {
        body.push_str("<tr><td colspan=\"5\" class=\"empty\">No step has finished yet.</td></tr>");
    }
    body.push_str("</tbody></table>");
    if let Some(out) = &run.output {
        let _ = write!(
            body,
            "<h2>Output</h2><pre>{}</pre>",
            visible_block(&clip_json(out))
        );
    }
    body
}
