//! One Interaction: its form, and answering it (SPEC IX-7, IX-8, SV-2). Answering goes
//! through `Engine::respond`, the one IX check every door uses; an accepted answer resumes
//! the run off the request.

use std::fmt::Write as _;

use super::posted::Posted;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::error::{WebError, busy_with};
use super::html::{clip_json, csrf_field, esc, page, visible, visible_block};
use super::session::Signed;
use crate::Error;
use crate::interact::InteractionView;
use crate::public_id::{IdKind, PublicId};
use crate::runs::lease;
use crate::server::AppState;
use crate::signin::Session;
use crate::workflow;

/// Interaction `raw` as the session's principal may see it, in the session's workspace only
/// (another workspace's reads as not found, as the service answers an outsider).
async fn view(state: &AppState, session: &Session, raw: &str) -> Result<InteractionView, WebError> {
    let id = PublicId::parse(IdKind::Interaction, raw)
        .map_err(|e| WebError::named("interaction")(Error::from(e)))?;
    let (principal, workspace) = (session.principal.clone(), session.workspace.clone());
    Ok(state
        .blocking(move |e| {
            e.platform()
                .interactions()
                .show_in(&principal, &workspace, &id)
        })
        .await??)
}

/// GET /interactions/{id}.
pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    crate::server::urlencoded::StrictQuery(params): crate::server::urlencoded::StrictQuery<
        Vec<(String, String)>,
    >,
) -> Result<Html<String>, WebError> {
    // It takes none, as the runs' detail page (round 29).
    crate::server::urlencoded::only_known(&params, &[])
        .map_err(|why| WebError::Host(Error::Invalid(why)))?;
    let ix = view(&state, &signed.session, &id).await?;
    Ok(render(&ix, &signed.session, &[], None))
}

/// POST /interactions/{id}: answers it as the session's principal.
pub(super) async fn answer(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    Posted(posted): Posted,
) -> Result<Response, WebError> {
    // Refused before anything is done, what was typed is shown to be kept (round 19 web
    // review: a session ended while typing lost the answer).
    let signed = signed.map_err(|e| WebError::typed(e, &headers, &posted, &[]))?;
    signed
        .check_csrf(&posted)
        .map_err(|e| WebError::typed(e, &headers, &posted, &[]))?;
    let ix = match view(&state, &signed.session, &id).await {
        Ok(ix) => ix,
        Err(not_shown) => {
            // Its own read refused for now: what was typed, to send again (round 18 web
            // review: the flow's or the answer's text was lost).
            if let Some(why) = not_shown.try_again() {
                let action = format!("/interactions/{}", crate::encoding::percent_encode(&id));
                return Ok(busy_with(super::form::as_posted(
                    &id,
                    &action,
                    &signed.session,
                    &posted,
                    &why,
                )));
            }
            // A member the settings refuse is audited as through any door (SPEC IX-8); the
            // page reads as for nothing either way.
            if let Ok(pid) = PublicId::parse(IdKind::Interaction, &id) {
                let principal = signed.session.principal.clone();
                let workspace = signed.session.workspace.clone();
                let audited = state
                    .blocking(move |e| {
                        e.platform()
                            .interactions()
                            .audit_refused_answer_in(&principal, &workspace, &pid)
                    })
                    .await;
                // Refused for now, what was typed is kept all the same (round 22 web
                // review: a busy audit write lost it).
                if let Err(e) = audited
                    .map_err(WebError::from)
                    .and_then(|r| r.map_err(WebError::from))
                {
                    return Err(WebError::typed(e, &headers, &posted, &[]));
                }
            }
            // What was typed is kept, as for a session ended meanwhile (round 21 web
            // review: a flow unpublished, an interaction answered by another or expired,
            // or a person taken off its list while the page was open lost it).
            return Err(WebError::typed(not_shown, &headers, &posted, &[]));
        }
    };
    let refused = |why: String| {
        (
            StatusCode::BAD_REQUEST,
            render(&ix, &signed.session, &posted, Some(&why)),
        )
            .into_response()
    };
    // Refused for now (no worker, a busy database): the form again, as filled in, 503
    // (round 16 web review: the answer typed was lost).
    let again = |e: WebError| match e.try_again() {
        Some(why) => Ok(busy_with(render(&ix, &signed.session, &posted, Some(&why)))),
        None => Err(WebError::typed(e, &headers, &posted, &[])),
    };
    let values = super::form::values(&ix.form, &posted);
    let principal = signed.session.principal.clone();
    let id = ix.id.clone();
    let answered = match state
        .blocking(move |e| e.respond(&principal, &id, &values))
        .await
    {
        Ok(answered) => answered,
        Err(e) => return again(e.into()),
    };
    let answer = match answered {
        Ok(a) => a,
        // The form's own check refused it: shown beside the form, as entered.
        Err(Error::Invalid(why)) => return Ok(refused(why)),
        // Another's answer, or one's own with other values: a 409. One's own sent again as
        // it was (a double click, a reload) is taken by the service as `repeated`.
        Err(e) => return again(e.into()),
    };
    // The run resumes off the request: the page answers at once, the scheduler's workers
    // are not held, and a run another process holds is left to it.
    // Without a slot the run is left to the scheduler: the answer claimed it for whoever
    // resumes it first.
    let run = answer.run.key;
    if answer.run_ended {
        // Sent again once its run had ended: nothing to resume.
    } else if let Ok(slot) =
        state.run_slot(&signed.session.principal, Some(&signed.session.workspace))
    {
        // On a request worker, as every request's work (web review: a bare blocking task
        // was counted by none); with none free in time the scheduler resumes it.
        let on_worker = state.clone();
        tokio::spawn(async move {
            let resumed = on_worker
                .blocking_unbounded(move |engine| {
                    let _slot = slot;
                    engine.resume(run, &workflow::Quiet)
                })
                .await;
            match resumed {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if lease::leased_elsewhere(&e) => {}
                Ok(Err(e)) => eprintln!(
                    "error: resuming run {} after a web answer: {e}",
                    answer.run.id
                ),
                Err(_) => on_worker.wake(),
            }
        });
    } else {
        state.wake();
    }
    let (said, then) = match (answer.repeated, answer.run_ended) {
        (true, true) => (
            "Your answer was taken; sent again, it changed nothing. Run",
            "has ended since",
        ),
        (true, false) => (
            "Your answer was taken; sent again, it changed nothing. Run",
            "resumes with your answer",
        ),
        _ => ("Answered. Run", "resumes with your answer"),
    };
    let body = format!(
        "<h1>{}</h1><p class=\"notice\">{said} <a href=\"/runs/{run}\">{run}</a> {then}.</p>\
         <p><a href=\"/\">Back to what is waiting for you</a></p>",
        visible(&ix.title),
        run = esc(ix.run.as_str())
    );
    Ok(page(&ix.title, Some(&signed.session), &body).into_response())
}

/// The page of `ix`, with its form while it is open (`given` and `error` after a refusal).
pub(super) fn render(
    ix: &InteractionView,
    session: &Session,
    given: &[(String, String)],
    error: Option<&str>,
) -> Html<String> {
    let mut body = String::with_capacity(2048);
    let _ = write!(
        body,
        "<h1>{title}</h1><div class=\"card\"><dl class=\"meta\">\
         <dt>Status</dt><dd><span class=\"status {status}\">{status}</span></dd>\
         <dt>Workflow</dt><dd>{wf}</dd>\
         <dt>Run</dt><dd><a href=\"/runs/{run}\">{run}</a> (step {step})</dd>\
         <dt>Opened</dt><dd>{created}</dd><dt>Due</dt><dd>{due}</dd>\
         <dt>You may answer</dt><dd>{why}</dd></dl></div>",
        title = visible(&ix.title),
        status = esc(&ix.status),
        wf = visible(&ix.workflow),
        run = esc(ix.run.as_str()),
        step = visible(&ix.step),
        created = esc(&ix.created_at),
        due = esc(ix.deadline.as_deref().unwrap_or("no deadline")),
        why = visible(&ix.access_reason),
    );
    if let Some(why) = error {
        let _ = write!(body, "<p class=\"error\">{}</p>", esc(why));
    }
    if ix.status == "open" {
        let _ = write!(
            body,
            "<form class=\"answer card\" method=\"post\" action=\"/interactions/{}\">{}{}\
             <button>Submit answer</button></form>",
            esc(ix.id.as_str()),
            csrf_field(&session.csrf),
            super::form::render(&ix.form, given)
        );
    } else if let Some(r) = &ix.response {
        let _ = write!(
            body,
            "<h2>Response</h2><pre>{}</pre>",
            visible_block(&clip_json(r))
        );
    }
    page(&ix.title, Some(session), &body)
}
