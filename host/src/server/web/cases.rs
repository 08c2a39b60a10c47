//! Cases: the ones the signed-in person may see, filtered and paged, and one case with its
//! restrictions, editable by those the case service lets update them (SPEC CS-2, CS-4, CS-7).
//! Every question goes to the case service as the session's principal, through the same
//! operations as the API, the CLI and the WIT door; this page never filters or decides. A
//! case the person may not see is not found, exactly as a missing one (SPEC CS-2, ID-4).

use crate::server::urlencoded::StrictQuery;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::posted::Posted;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::error::{WebError, busy_with};
use super::html::{CSRF_FIELD, csrf_field, esc, page, visible, visible_block};
use super::session::Signed;
use crate::Error;
use crate::encoding::percent_encode;
use crate::principal::{Caller, Email};
use crate::server::AppState;
use crate::services::CaseApi;
use crate::services::cases::{
    AccessMode, CaseFilter, CasePage, CaseQuery, CaseRecord, RestrictionUpdate, Restrictions,
    Severity,
};
use crate::signin::Session;

/// Cases per page.
const PAGE_SIZE: u32 = 50;
/// The form field of the access mode (named as the service names it in its errors).
const MODE_FIELD: &str = "access_mode";
/// The form field of the collaborator list (named as the service names it in its errors).
const PEOPLE_FIELD: &str = "set_collaborators";
/// The hidden form fields of the restrictions the page showed: the form's replace them only
/// if they are still those (`update_case_restrictions_if_unchanged`).
const SHOWN_FIELD: &str = "shown_collaborators";
const SHOWN_MODE_FIELD: &str = "shown_access_mode";

/// The session's principal in its workspace, as the case service takes it.
fn caller(session: &Session) -> Caller {
    Caller {
        workspace: session.workspace.clone(),
        principal: session.principal.clone(),
        cause: None,
        step: None,
    }
}

/// The one value of field `name` in `fields`; empty if absent; an error naming it if sent
/// twice (which of two values was meant cannot be told).
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Result<&'a str, String> {
    let mut found = fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = found.next().map_or("", String::as_str);
    if found.next().is_some() {
        return Err(format!("field `{name}` was sent twice"));
    }
    Ok(first)
}

/// `raw` as a value of a snake_case enum (`what` names the field in the error); empty is
/// none.
fn choice<T: serde::de::DeserializeOwned>(
    raw: &str,
    what: &str,
    expected: &str,
) -> Result<Option<T>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(raw.replace('-', "_")))
        .map(Some)
        // Not quoting what it got: a crafted link's text would read as the site's words on
        // a signed-in page (web review, as `WebError::Missing`); the form shows the choices.
        .map_err(|_| format!("field `{what}` expects {expected}"))
}

fn mode_choice(raw: &str) -> Result<Option<AccessMode>, String> {
    choice(raw, MODE_FIELD, "full_access or restricted")
}

fn mode_text(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::FullAccess => "full_access",
        AccessMode::Restricted => "restricted",
    }
}

fn severity_text(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// The list's query string read into the service's query; an unreadable filter is named.
fn query_of(params: &[(String, String)]) -> Result<CaseQuery, String> {
    // A name it does not take is refused, as the API's query refuses it: read as no filter,
    // `?sevrity=critical` listed every case under an empty form (round 27 web review).
    let known = ["text", "state", "severity", MODE_FIELD, "cursor"];
    crate::server::urlencoded::only_known(params, &known)?;
    let text = |name: &str| -> Result<Option<String>, String> {
        let v = field(params, name)?.trim();
        Ok((!v.is_empty()).then(|| v.to_owned()))
    };
    Ok(CaseQuery {
        filter: CaseFilter {
            access_mode: mode_choice(field(params, MODE_FIELD)?)?,
            state: text("state")?,
            severity: choice(
                field(params, "severity")?,
                "severity",
                "one of low, medium, high, critical",
            )?,
            assignee: None,
            text: text("text")?,
        },
        sort: Default::default(),
        page_size: PAGE_SIZE,
        cursor: text("cursor")?,
    })
}

/// GET /cases: the cases the person may see, newest first, filtered, a page at a time.
pub(super) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    StrictQuery(params): StrictQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let session = &signed.session;
    let query = match query_of(&params) {
        Ok(q) => q,
        Err(why) => return Ok(list_page(session, &params, Err(&why)).into_response()),
    };
    let who = caller(session);
    let answer = state
        .blocking(move |e| e.platform().query_cases(&who, query))
        .await?;
    match answer {
        Ok(found) => Ok(list_page(session, &params, Ok(&found)).into_response()),
        // An unreadable filter or cursor is the form's to show, beside the filters.
        Err(Error::Invalid(why)) => Ok(list_page(session, &params, Err(&why)).into_response()),
        Err(e) => Err(e.into()),
    }
}

/// The list page: the filter form, then the page of cases or why there is none.
fn list_page(
    session: &Session,
    params: &[(String, String)],
    found: Result<&CasePage, &str>,
) -> (StatusCode, Html<String>) {
    let given = |name: &str| field(params, name).unwrap_or_default();
    let mut body = String::from("<h1>Cases</h1>");
    let _ = write!(
        body,
        "<form class=\"filters card\" method=\"get\" action=\"/cases\">\
         <label>Text <input name=\"text\" type=\"search\" value=\"{}\"></label>\
         <label>State <input name=\"state\" value=\"{}\"></label>\
         <label>Severity {}</label><label>Access {}</label><button>Filter</button></form>",
        esc(given("text")),
        esc(given("state")),
        select(
            "severity",
            given("severity"),
            &[
                ("low", "low"),
                ("medium", "medium"),
                ("high", "high"),
                ("critical", "critical")
            ]
        ),
        select(
            MODE_FIELD,
            given(MODE_FIELD),
            &[("full_access", "full access"), ("restricted", "restricted")]
        ),
    );
    let page_found = match found {
        Ok(p) => p,
        Err(why) => {
            let _ = write!(body, "<p class=\"error\">{}</p>", esc(why));
            return (StatusCode::BAD_REQUEST, page("Cases", Some(session), &body));
        }
    };
    if page_found.cases.is_empty() {
        body.push_str("<p class=\"empty\">No case you may see matches.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>Case</th><th>Title</th><th>Severity</th><th>State</th>\
             <th>Access</th><th>Assignee</th><th>Updated</th></tr></thead><tbody>",
        );
        for c in &page_found.cases {
            let _ = write!(
                body,
                "<tr><td><a href=\"/cases/{link}\">{id}</a></td><td>{title}</td>\
                 <td><span class=\"severity {sev}\">{sev}</span></td><td>{state}</td>\
                 <td><span class=\"access {mode}\">{mode}</span></td><td>{who}</td><td>{at}</td></tr>",
                link = esc(&percent_encode(&c.id)),
                id = esc(&c.id),
                title = visible(&c.title),
                sev = severity_text(c.severity),
                state = visible(&c.state),
                mode = mode_text(c.access_mode),
                who = esc(c.assignee.as_deref().unwrap_or("—")),
                at = esc(&c.updated_at),
            );
        }
        body.push_str("</tbody></table>");
    }
    if let Some(cursor) = &page_found.next_cursor {
        // The next page keeps the filters; a cursor belongs to its query.
        let mut next = String::from("/cases?");
        for name in ["text", "state", "severity", MODE_FIELD] {
            let _ = write!(next, "{name}={}&", percent_encode(given(name)));
        }
        let _ = write!(next, "cursor={}", percent_encode(cursor));
        let _ = write!(
            body,
            "<p class=\"pager\"><a href=\"{}\">Next page</a></p>",
            esc(&next)
        );
    }
    (StatusCode::OK, page("Cases", Some(session), &body))
}

/// A `<select>` of `options` (value, shown) with an empty first choice, `value` selected.
fn select(name: &str, value: &str, options: &[(&str, &str)]) -> String {
    let mut out = format!("<select name=\"{name}\"><option value=\"\">any</option>");
    for (v, shown) in options {
        let selected = if *v == value { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{v}\"{selected}>{shown}</option>");
    }
    out.push_str("</select>");
    out
}

/// What the case page shows: the case, whether the form is offered, and who may see it
/// (when the person may know: `user.read`).
struct Shown {
    case: CaseRecord,
    may_update: bool,
    viewers: Option<Vec<String>>,
}

/// Case `id` as the session's principal may see it; not found otherwise (SPEC CS-2).
async fn shown(state: &AppState, session: &Session, id: String) -> Result<Shown, WebError> {
    let who = caller(session);
    state
        .blocking(move |e| -> Result<Shown, Error> {
            let platform = e.platform();
            let case = platform.get_case(&who, &id)?;
            let may_update = platform.may_update_case_restrictions(&who, &id)?;
            // Who may see it is a question about people (`user.read`): shown to those the
            // service answers, left out for the others.
            let viewers = match platform.case_viewers(&who, &id) {
                Ok(v) => Some(v),
                Err(Error::Denied(_)) => None,
                Err(e) => return Err(e),
            };
            Ok(Shown {
                case,
                may_update,
                viewers,
            })
        })
        .await?
        .map_err(WebError::named("case"))
}

/// GET /cases/{id}: the case and its restrictions, with the form for those who may update
/// them.
pub(super) async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    StrictQuery(params): StrictQuery<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    // It takes none, as the runs' detail page (round 29).
    crate::server::urlencoded::only_known(&params, &[])
        .map_err(|why| WebError::Host(Error::Invalid(why)))?;
    let s = shown(&state, &signed.session, id).await?;
    Ok(render(&s, &signed.session, None, Outcome::Shown))
}

/// What became of the last POST, for the page to say.
enum Outcome<'a> {
    Shown,
    Updated,
    /// What the form asked for held already: nothing was written.
    Unchanged,
    Refused(&'a str),
}

/// Whether the restrictions `after` a change are those the page showed: the same mode and
/// the same people, however their emails were spelt in the form.
fn same_restrictions(after: &Restrictions, shown: &Restrictions) -> bool {
    let people = |list: &[String]| -> BTreeSet<String> {
        list.iter()
            .map(|raw| Email::parse(raw).map_or_else(|_| raw.clone(), |e| e.to_string()))
            .collect()
    };
    after.access_mode == shown.access_mode
        && people(&after.collaborators) == people(&shown.collaborators)
}

/// POST /cases/{id}: replaces the case's access mode and collaborators with the form's, as
/// the session's principal; the case service decides whether they may (SPEC CS-4) and
/// writes the timeline and the audit entry (SPEC CS-7).
pub(super) async fn update(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    Posted(posted): Posted,
) -> Result<Response, WebError> {
    // Refused before anything is done, what was typed is shown to be kept (round 19 web
    // review: a session ended while typing lost the answer).
    let signed = signed
        .map_err(|e| WebError::typed(e, &headers, &posted, &[SHOWN_FIELD, SHOWN_MODE_FIELD]))?;
    signed
        .check_csrf(&posted)
        .map_err(|e| WebError::typed(e, &headers, &posted, &[SHOWN_FIELD, SHOWN_MODE_FIELD]))?;
    let session = &signed.session;
    let (change, seen) = match update_of(&posted) {
        Ok(u) => u,
        Err(why) => return refused(&state, session, id, &posted, &why).await,
    };
    let who = caller(session);
    let target = id.clone();
    let before = seen.clone();
    let answer = state
        .blocking(move |e| {
            e.platform()
                .update_case_restrictions_if_unchanged(&who, &target, change, &seen)
        })
        .await?;
    match answer {
        Ok(after) => match shown(&state, session, id.clone()).await {
            // An untouched form changed nothing and says so; a form submitted twice is
            // answered by its first submission's change (round 16 web review).
            Ok(s) if same_restrictions(&after, &before) => {
                Ok(render(&s, session, None, Outcome::Unchanged).into_response())
            }
            Ok(s) => Ok(render(&s, session, None, Outcome::Updated).into_response()),
            // Restricted away from the one who saved it: the change is made, and the page
            // says so (it answered "no such case" after writing it; round 15 web review).
            Err(WebError::Missing(_)) => {
                let body = "<h1>Case</h1><p class=\"notice\">Restrictions updated. You no \
                            longer see this case.</p><p><a href=\"/cases\">Back to the \
                            cases</a></p>";
                Ok(page("Case", Some(session), body).into_response())
            }
            // The change is made; only the page's read of the case failed: said so, not
            // "nothing was changed, try again" (round 18 web review).
            Err(e) => {
                let reference =
                    crate::error::logged("case page after a restriction change", &format!("{e:?}"));
                let body = format!(
                    "<h1>{}</h1><p class=\"notice\">Restrictions updated. The case cannot be \
                     shown just now (the detail is in the server's log, ref {}); \
                     <a href=\"/cases/{}\">open it again</a> in a moment.</p>",
                    visible(&id),
                    esc(&reference),
                    crate::encoding::percent_encode(&id)
                );
                Ok(page("Case", Some(session), &body).into_response())
            }
        },
        Err(Error::Invalid(why)) => refused(&state, session, id, &posted, &why).await,
        // Changed since the page was shown: the form again as they are now (a second save
        // of the posted list would drop whoever was added meanwhile), and why (409).
        Err(Error::Conflict(why)) => {
            let s = shown(&state, session, id).await?;
            Ok((
                StatusCode::CONFLICT,
                render(&s, session, None, Outcome::Refused(&why)),
            )
                .into_response())
        }
        // Refused for now (a busy database, no worker free): the form again as typed, 503
        // with `Retry-After`, as the flow and answer forms are (round 17 web review: the
        // collaborators typed were lost).
        Err(e @ Error::Busy(_)) => {
            let e = WebError::from(e);
            let Some(why) = e.try_again() else {
                return Err(e);
            };
            // The page as it is, if it can be read now; else the form alone, as posted.
            Ok(busy_with(match shown(&state, session, id.clone()).await {
                Ok(s) => render(&s, session, Some(&posted), Outcome::Refused(&why)),
                Err(_) => form_as_posted(&id, session, &posted, &why),
            }))
        }
        // Denied (403) and not found (404) are pages of their own: nothing to show again.
        Err(e) => Err(e.into()),
    }
}

/// The case page again, with the refused values in the form and why (400).
async fn refused(
    state: &AppState,
    session: &Session,
    id: String,
    posted: &[(String, String)],
    why: &str,
) -> Result<Response, WebError> {
    let s = shown(state, session, id).await?;
    Ok((
        StatusCode::BAD_REQUEST,
        render(&s, session, Some(posted), Outcome::Refused(why)),
    )
        .into_response())
}

/// The emails of a form field: one a line or comma-separated.
fn emails(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The form's fields as an update, and the restrictions the page showed: the mode, and the
/// whole collaborator list (one email a line or comma-separated; empty clears it), which
/// replace the shown ones. Unknown fields are refused by name, and so is a form without what
/// it replaces (a missing list cleared every collaborator: hostile-input review).
fn update_of(posted: &[(String, String)]) -> Result<(RestrictionUpdate, Restrictions), String> {
    let known = [
        CSRF_FIELD,
        MODE_FIELD,
        PEOPLE_FIELD,
        SHOWN_FIELD,
        SHOWN_MODE_FIELD,
    ];
    if let Some((unknown, _)) = posted.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(format!("unknown field `{}`", crate::text::clip(unknown)));
    }
    let mode = field(posted, MODE_FIELD)?;
    if mode.trim().is_empty() {
        return Err(format!("field `{MODE_FIELD}` is required"));
    }
    let access_mode = mode_choice(mode)?;
    for required in [PEOPLE_FIELD, SHOWN_FIELD, SHOWN_MODE_FIELD] {
        if !posted.iter().any(|(k, _)| k == required) {
            return Err(format!("field `{required}` is required"));
        }
    }
    let update = RestrictionUpdate {
        access_mode,
        set_collaborators: Some(emails(field(posted, PEOPLE_FIELD)?)),
        ..RestrictionUpdate::default()
    };
    let shown = Restrictions {
        access_mode: mode_choice(field(posted, SHOWN_MODE_FIELD)?)?
            .ok_or_else(|| format!("field `{SHOWN_MODE_FIELD}` is required"))?,
        collaborators: emails(field(posted, SHOWN_FIELD)?),
    };
    Ok((update, shown))
}

/// The case page: what the case is, its restrictions, who may see it, and the form for
/// those who may update them (filled with `given` after a refusal).
fn render(
    s: &Shown,
    session: &Session,
    given: Option<&[(String, String)]>,
    outcome: Outcome<'_>,
) -> Html<String> {
    let c = &s.case;
    let list = |people: &[String]| {
        if people.is_empty() {
            "<span class=\"empty\">none</span>".to_owned()
        } else {
            people.iter().map(|p| esc(p)).collect::<Vec<_>>().join(", ")
        }
    };
    let mut body = format!("<h1>{} · {}</h1>", esc(&c.id), visible(&c.title));
    match outcome {
        Outcome::Shown => {}
        Outcome::Updated => body.push_str("<p class=\"notice\">Restrictions updated.</p>"),
        Outcome::Unchanged => body.push_str(
            "<p class=\"notice\">Nothing to change: the restrictions were already as set.</p>",
        ),
        Outcome::Refused(why) => {
            let _ = write!(
                body,
                "<p class=\"error\">{} Nothing was changed.</p>",
                esc(why)
            );
        }
    }
    let _ = write!(
        body,
        "<div class=\"card\"><dl class=\"meta\">\
         <dt>Severity</dt><dd><span class=\"severity {sev}\">{sev}</span></dd>\
         <dt>State</dt><dd>{state}</dd><dt>Reporter</dt><dd>{reporter}</dd>\
         <dt>Assignee</dt><dd>{assignee}</dd><dt>Reviewers</dt><dd>{reviewers}</dd>\
         <dt>Created</dt><dd>{created}</dd><dt>Updated</dt><dd>{updated}</dd></dl>{description}</div>",
        sev = severity_text(c.severity),
        state = visible(&c.state),
        reporter = esc(c.reporter.as_deref().unwrap_or("—")),
        assignee = esc(c.assignee.as_deref().unwrap_or("—")),
        reviewers = list(&c.reviewers),
        created = esc(&c.created_at),
        updated = esc(&c.updated_at),
        description = if c.description.is_empty() {
            String::new()
        } else {
            format!(
                "<p class=\"description\">{}</p>",
                visible_block(&c.description)
            )
        },
    );
    let rule = match c.access_mode {
        AccessMode::FullAccess => "every member of the workspace who may read cases",
        AccessMode::Restricted => {
            "its assignee, reviewers and collaborators, and those whose role bypasses case \
             restrictions"
        }
    };
    let _ = write!(
        body,
        "<h2>Restrictions</h2><div class=\"card\"><dl class=\"meta\">\
         <dt>Access</dt><dd><span class=\"access {mode}\">{mode}</span> \
         <span class=\"hint\">({rule})</span></dd>\
         <dt>Collaborators</dt><dd id=\"collaborators\">{people}</dd>{viewers}</dl></div>",
        mode = mode_text(c.access_mode),
        people = list(&c.collaborators),
        viewers = s
            .viewers
            .as_deref()
            .map(|v| format!("<dt>May see it</dt><dd id=\"viewers\">{}</dd>", list(v)))
            .unwrap_or_default(),
    );
    if s.may_update {
        let given = |name: &str| given.map(|g| field(g, name).unwrap_or_default());
        let shown_given = |name: &str| given(name).map(str::to_owned);
        let mode = given(MODE_FIELD).unwrap_or(mode_text(c.access_mode));
        let people = given(PEOPLE_FIELD)
            .map(str::to_owned)
            .unwrap_or_else(|| c.collaborators.join("\n"));
        // After a refusal, what the page first showed, not what is now: a corrected save
        // must still meet any change made since (review).
        let shown = shown_given(SHOWN_FIELD).unwrap_or_else(|| c.collaborators.join(" "));
        let shown_mode =
            shown_given(SHOWN_MODE_FIELD).unwrap_or_else(|| mode_text(c.access_mode).to_owned());
        body.push_str(&restriction_form(
            &c.id,
            session,
            mode,
            &people,
            &shown,
            &shown_mode,
        ));
    }
    body.push_str("<p><a href=\"/cases\">Back to the cases</a></p>");
    page(&c.id, Some(session), &body)
}

/// The form that changes a case's restrictions, holding `mode` and `people`, and what the
/// page first showed (`shown`, `shown_mode`) for the service's check of changes since.
fn restriction_form(
    id: &str,
    session: &Session,
    mode: &str,
    people: &str,
    shown: &str,
    shown_mode: &str,
) -> String {
    let option = |value: &str, label: &str| {
        let selected = if mode == value { " selected" } else { "" };
        format!("<option value=\"{value}\"{selected}>{label}</option>")
    };
    format!(
        "<h2>Change restrictions</h2>\
         <form class=\"answer card\" method=\"post\" action=\"/cases/{link}\">{csrf}\
         <label for=\"f-{MODE_FIELD}\">Access</label>\
         <select id=\"f-{MODE_FIELD}\" name=\"{MODE_FIELD}\" required>{full}{restricted}</select>\
         <label for=\"f-{PEOPLE_FIELD}\">Collaborators <span class=\"hint\">(members of \
         the workspace, one email a line)</span></label>\
         <textarea id=\"f-{PEOPLE_FIELD}\" name=\"{PEOPLE_FIELD}\" rows=\"4\">{people}</textarea>\
         <input type=\"hidden\" name=\"{SHOWN_FIELD}\" value=\"{shown}\">\
         <input type=\"hidden\" name=\"{SHOWN_MODE_FIELD}\" value=\"{shown_mode}\">\
         <button>Update restrictions</button></form>",
        link = esc(&percent_encode(id)),
        csrf = csrf_field(&session.csrf),
        full = option("full_access", "full access"),
        restricted = option("restricted", "restricted"),
        people = esc(people),
        shown = esc(shown),
        shown_mode = esc(shown_mode),
    )
}

/// The form as posted when the case cannot be read either (the database as busy for the
/// page as for the change): what was typed is kept, with why nothing was done.
fn form_as_posted(
    id: &str,
    session: &Session,
    posted: &[(String, String)],
    why: &str,
) -> Html<String> {
    let given = |name: &str| field(posted, name).unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p class=\"error\">{} Nothing was changed.</p>{}\
         <p><a href=\"/cases\">Back to the cases</a></p>",
        visible(id),
        esc(why),
        restriction_form(
            id,
            session,
            given(MODE_FIELD),
            given(PEOPLE_FIELD),
            given(SHOWN_FIELD),
            given(SHOWN_MODE_FIELD),
        )
    );
    page(id, Some(session), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn the_form_reads_as_a_whole_restriction_update() {
        let (u, shown) = update_of(&pairs(&[
            ("csrf", "x"),
            ("access_mode", "restricted"),
            ("set_collaborators", "a@x.test\n b@x.test, \r\n"),
            ("shown_collaborators", "a@x.test"),
            ("shown_access_mode", "full_access"),
        ]))
        .expect("reads");
        assert_eq!(u.access_mode, Some(AccessMode::Restricted));
        assert_eq!(
            u.set_collaborators,
            Some(vec!["a@x.test".to_owned(), "b@x.test".to_owned()])
        );
        assert_eq!(shown.collaborators, ["a@x.test"]);
        assert_eq!(shown.access_mode, AccessMode::FullAccess);
        let (cleared, _) = update_of(&pairs(&[
            ("access_mode", "full_access"),
            ("set_collaborators", ""),
            ("shown_collaborators", "a@x.test"),
            ("shown_access_mode", "restricted"),
        ]))
        .expect("reads");
        assert_eq!(cleared.set_collaborators, Some(vec![]));
        // Without the list, or without the one it replaces, nothing is cleared: refused.
        for missing in [
            "set_collaborators",
            "shown_collaborators",
            "shown_access_mode",
        ] {
            let mut posted = vec![("access_mode", "full_access")];
            posted.extend(
                [
                    ("set_collaborators", ""),
                    ("shown_collaborators", ""),
                    ("shown_access_mode", "full_access"),
                ]
                .into_iter()
                .filter(|(k, _)| *k != missing),
            );
            let err = update_of(&pairs(&posted)).expect_err("refused");
            assert!(
                err.contains(&format!("field `{missing}` is required")),
                "{err}"
            );
        }
    }

    #[test]
    fn unreadable_fields_are_named() {
        let err = update_of(&pairs(&[("access_mode", "secret")])).expect_err("unknown mode");
        assert!(err.contains("field `access_mode`"), "{err}");
        let err = update_of(&pairs(&[])).expect_err("no mode");
        assert!(err.contains("field `access_mode` is required"), "{err}");
        let err = update_of(&pairs(&[("access_mode", "restricted"), ("owner", "me")]))
            .expect_err("unknown field");
        assert!(err.contains("unknown field `owner`"), "{err}");
        let err = update_of(&pairs(&[
            ("access_mode", "restricted"),
            ("access_mode", "full_access"),
        ]))
        .expect_err("twice");
        assert!(err.contains("sent twice"), "{err}");
        let err = query_of(&pairs(&[("severity", "urgent")])).expect_err("bad filter");
        assert!(err.contains("field `severity`"), "{err}");
        assert!(
            !err.contains("urgent"),
            "a link's text is not echoed: {err}"
        );
    }
}
