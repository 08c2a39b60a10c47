//! The Interaction Flows the signed-in person may start (SPEC IX-1, IX-7), each started by
//! submitting its form. Starting goes through `Engine::start_flow`, which decides and audits.

use crate::server::urlencoded::StrictQuery;
use std::fmt::Write as _;

use super::posted::Posted;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::{WebError, busy_with};
use super::html::{csrf_field, esc, page, visible};
use super::session::Signed;
use crate::Error;
use crate::public_id::{IdKind, PublicId};
use crate::runs::RunStatus;
use crate::server::AppState;
use crate::share::FlowEntry;
use crate::signin::Session;
use crate::workflow;

/// The flows the session's principal may start in its workspace.
async fn startable(state: &AppState, session: &Session) -> Result<Vec<FlowEntry>, WebError> {
    let principal = session.principal.clone();
    let workspace = session.workspace.clone();
    Ok(state
        .blocking(move |e| {
            e.platform()
                .interactions()
                .startable_flows(&principal, &workspace)
        })
        .await??)
}

/// GET /flows. It takes no query parameter (round 28 web review).
pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    StrictQuery(params): StrictQuery<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    crate::server::urlencoded::only_known(&params, &[])
        .map_err(|why| WebError::Host(crate::Error::Invalid(why)))?;
    let flows = startable(&state, &signed.session).await?;
    let mut body = String::from("<h1>Interaction Flows you may start</h1>");
    if flows.is_empty() {
        body.push_str("<p class=\"empty\">No Interaction Flow you may start here.</p>");
    }
    for f in &flows {
        let shared = f
            .shared_from
            .as_deref()
            .map(|s| format!(" <span class=\"hint\">(shared from {})</span>", visible(s)))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<div class=\"card\"><a href=\"/flows/{}\"><strong>{}</strong></a>{shared}<br>{}</div>",
            esc(&crate::encoding::percent_encode(&f.name)),
            visible(&f.name),
            visible(&f.title)
        );
    }
    Ok(page("Flows", Some(&signed.session), &body))
}

/// Flow `name` if the session's principal may start it; otherwise it does not exist here.
async fn flow(state: &AppState, session: &Session, name: &str) -> Result<FlowEntry, WebError> {
    startable(state, session)
        .await?
        .into_iter()
        .find(|f| f.name == name)
        .ok_or(WebError::Missing("Interaction Flow to start"))
}

/// What a start redirects to: the run it started, its status then, and the session's seal
/// over both (see [`start`]).
#[derive(serde::Deserialize)]
pub(super) struct StartedQuery {
    started: Option<String>,
    status: Option<String>,
    seal: Option<String>,
}

impl StartedQuery {
    /// The notice of a start, if the query names one sealed by this session for this flow:
    /// a link is never a statement of the site's (round 16 web review: a crafted
    /// `?started=R-…&status=succeeded` told a member their report was filed). Only a run id
    /// and a status as the host spells them are shown (each escaped too).
    fn notice(&self, session: &Session, flow: &str) -> Option<String> {
        let id = PublicId::parse(IdKind::Run, self.started.as_deref()?).ok()?;
        let status = RunStatus::parse(self.status.as_deref()?)?;
        let expected = seal(session, flow, &id, status);
        if !crate::encoding::secrets_equal(expected.as_bytes(), self.seal.as_deref()?.as_bytes()) {
            return None;
        }
        Some(format!(
            "<p class=\"notice\">Started run <a href=\"/runs/{id}\">{id}</a>; it was \
             <span class=\"status {st}\">{st}</span> when started.</p>",
            id = esc(id.as_str()),
            st = esc(status.as_str()),
        ))
    }
}

/// The seal of a start's notice: an HMAC under the session's CSRF secret, which only this
/// session's pages hold, over the flow, the run and its status.
fn seal(session: &Session, flow: &str, run: &PublicId, status: RunStatus) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(session.csrf.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(format!("flow-start\n{flow}\n{run}\n{}", status.as_str()).as_bytes());
    crate::encoding::hex(&mac.finalize().into_bytes())
}

/// GET /flows/{name}: its form, under the notice of the start that led here, if any.
pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(name): Path<String>,
    StrictQuery(params): StrictQuery<Vec<(String, String)>>,
    StrictQuery(query): StrictQuery<StartedQuery>,
) -> Result<Html<String>, WebError> {
    // It takes what a start redirects with, each once, as the runs' detail page (round 29).
    crate::server::urlencoded::only_known(&params, &["started", "status", "seal"])
        .map_err(|why| WebError::Host(Error::Invalid(why)))?;
    let f = flow(&state, &signed.session, &name).await?;
    Ok(render(
        &f,
        &signed.session,
        &StartToken::new()?,
        &[],
        None,
        query.notice(&signed.session, &f.name).as_deref(),
    ))
}

/// The token a flow's form is sent with, in its action's query: the same start sent twice
/// (a double click, a resend after a 503 whose run had started) answers the run it started
/// (round 19 kill and concurrency review; Post/Redirect/Get covered reloads only). A new
/// one with every form shown; the form shown again after a refusal keeps its own.
#[derive(serde::Deserialize)]
pub(super) struct StartToken {
    start: Option<String>,
}

impl StartToken {
    fn new() -> Result<Self, WebError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| WebError::from(Error::Internal(format!("no randomness: {e}"))))?;
        Ok(StartToken {
            start: Some(crate::encoding::hex(&bytes)),
        })
    }

    /// The form's action: the flow's page, with this token if it has one.
    fn action(&self, flow: &str) -> String {
        let path = format!("/flows/{}", crate::encoding::percent_encode(flow));
        match &self.start {
            Some(token) => format!("{path}?start={}", crate::encoding::percent_encode(token)),
            None => path,
        }
    }
}

/// POST /flows/{name}: starts it with the form's values, as the session's principal.
pub(super) async fn start(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    headers: axum::http::HeaderMap,
    Path(name): Path<String>,
    StrictQuery(token): StrictQuery<StartToken>,
    Posted(posted): Posted,
) -> Result<Response, WebError> {
    // Refused before anything is done, what was typed is shown to be kept (round 19 web
    // review: a session ended while typing lost the answer).
    let signed = signed.map_err(|e| WebError::typed(e, &headers, &posted, &[]))?;
    signed
        .check_csrf(&posted)
        .map_err(|e| WebError::typed(e, &headers, &posted, &[]))?;
    // A token that is no key starts nothing it could answer again: refused as any page's
    // malformed query.
    if let Some(t) = &token.start {
        crate::runs::StartKey::check("the form's start token", t)
            .map_err(|why| WebError::from(Error::Invalid(why)))?;
    }
    let f = match flow(&state, &signed.session, &name).await {
        Ok(f) => f,
        Err(not_shown) => {
            // Its own read refused for now: what was typed, to send again (round 18 web
            // review: the flow's or the answer's text was lost).
            if let Some(why) = not_shown.try_again() {
                let action = token.action(&name);
                return Ok(busy_with(super::form::as_posted(
                    &name,
                    &action,
                    &signed.session,
                    &posted,
                    &why,
                )));
            }
            // A member the settings refuse is audited as through any door (SPEC IX-8); the
            // page reads as for nothing either way.
            let principal = signed.session.principal.clone();
            let workspace = signed.session.workspace.clone();
            let flow = name.clone();
            let audited = state
                .blocking(move |e| e.audit_refused_start(&principal, &workspace, &flow))
                .await;
            // Refused for now, what was typed is kept all the same (round 22 web review: a
            // busy audit write lost it).
            if let Err(e) = audited
                .map_err(WebError::from)
                .and_then(|r| r.map_err(WebError::from))
            {
                return Err(WebError::typed(e, &headers, &posted, &[]));
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
            render(&f, &signed.session, &token, &posted, Some(&why), None),
        )
            .into_response()
    };
    // Refused for now (no run slot, no worker, a busy database): the form again, as filled
    // in, 503 (round 16 web review: everything typed was lost).
    let again = |e: WebError| match e.try_again() {
        Some(why) => Ok(busy_with(render(
            &f,
            &signed.session,
            &token,
            &posted,
            Some(&why),
            None,
        ))),
        None => Err(WebError::typed(e, &headers, &posted, &[])),
    };
    let values = super::form::values(&f.form, &posted);
    let principal = signed.session.principal.clone();
    let workspace = signed.session.workspace.clone();
    let key = token.start.clone();
    // No slot free: the form sent again under its start token is still answered with the
    // run it started, as any door answers a repeat; a new start waits (round 21).
    let (slot, no_slot) = match (state.run_slot(&principal, Some(&workspace)), &key) {
        (Ok(slot), _) => (Some(slot), None),
        (Err(full), Some(_)) => (None, Some(full)),
        (Err(full), None) => return again(WebError::NoRunSlot(full)),
    };
    let start = match no_slot {
        Some(_) => workflow::flows::Start::RepeatOnly,
        None => workflow::flows::Start::Any,
    };
    let work = move |e: &workflow::Engine| {
        let _slot = slot;
        e.flow_start(
            &principal,
            &workspace,
            &name,
            &values,
            key.as_deref(),
            start,
            &workflow::Quiet,
        )
        .map(|o| o.map(|o| e.platform().runs().flow_outcome(&principal, o)))
    };
    // A repeat's answer is a read, within the request's deadline; a run's has its own.
    let started = match no_slot {
        Some(_) => state.blocking(work).await,
        None => state.blocking_unbounded(work).await,
    };
    let started = match (started, no_slot) {
        (Ok(Ok(Some(outcome))), _) => Ok(Ok(outcome)),
        (Ok(Ok(None)), Some(full)) => return again(WebError::NoRunSlot(full)),
        (Ok(Ok(None)), None) => Ok(Err(Error::Internal("a start started no run".into()))),
        (Ok(Err(e)), _) => Ok(Err(e)),
        (Err(e), _) => Err(e),
    };
    let started = match started {
        Ok(started) => started,
        Err(e) => return again(e.into()),
    };
    let outcome = match started {
        Ok(o) => o,
        Err(Error::Invalid(why)) => return Ok(refused(why)),
        Err(e) => return again(e.into()),
    };
    // Answered with a redirect to a page that starts nothing (303, Post/Redirect/Get): a
    // reload of the answer, or the browser's "resubmit?", started another run and asked
    // every approver again (round 15 web review).
    let to = format!(
        "/flows/{}?started={}&status={}&seal={}",
        crate::encoding::percent_encode(&f.name),
        outcome.run_id.as_str(),
        outcome.status.as_str(),
        seal(&signed.session, &f.name, &outcome.run_id, outcome.status)
    );
    Ok(Redirect::to(&to).into_response())
}

fn render(
    f: &FlowEntry,
    session: &Session,
    token: &StartToken,
    given: &[(String, String)],
    error: Option<&str>,
    notice: Option<&str>,
) -> Html<String> {
    let mut body = format!("<h1>{}</h1>", visible(&f.title));
    if let Some(notice) = notice {
        body.push_str(notice);
    }
    if let Some(why) = error {
        let _ = write!(body, "<p class=\"error\">{}</p>", esc(why));
    }
    let _ = write!(
        body,
        "<form class=\"answer card\" method=\"post\" action=\"{}\">{}{}\
         <button>Start</button></form>",
        esc(&token.action(&f.name)),
        csrf_field(&session.csrf),
        super::form::render(&f.form, given)
    );
    page(&f.title, Some(session), &body)
}
