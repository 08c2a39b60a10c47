//! How a web request fails: an HTML page with the status that says why. A service's message
//! is shown as it is (it already reads alike for "not found" and "not yours", SPEC ID-4); a
//! host failure is logged and shown without its detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::html::{esc, page};
use crate::Error;

/// Why a page could not be served.
#[derive(Debug)]
pub(super) enum WebError {
    /// No live session: the person must sign in.
    SignedOut,
    /// A POST without this session's CSRF token (SPEC SV-2).
    Csrf,
    /// What a service answered.
    Host(Error),
    /// The client made too many sign-in attempts; the next is earned after this long.
    TooMany(std::time::Duration),
    /// The caller or the server runs as many runs in requests as it may (`run_slots`).
    NoRunSlot(crate::server::run_slots::Full),
    /// The server itself failed (a task panicked).
    Server(String),
    /// What the page's address names (a case, a run, …) is not there for the caller:
    /// answered in the site's words, never the address's (web review: a crafted
    /// `/cases/<text>` put its text on a signed-in page, under the person's own name).
    Missing(&'static str),
    /// `refused`, for a form posted: the page shows what was typed, to be kept.
    Typed {
        refused: Box<WebError>,
        posted: Vec<(String, String)>,
    },
}

impl WebError {
    /// `refused` for a form whose `posted` fields the page shows again (not its CSRF token,
    /// nor the form's own `hidden` fields, by name), when the browser says the post came from
    /// this site (`Sec-Fetch-Site: same-origin`): another site's auto-submitted form would put
    /// its own text on this site's page as the person's (round 19 self-review). Only the
    /// names the page hides: a flow's field named `shown_…` was dropped with the case page's
    /// (round 20 hostile-input review).
    pub(super) fn typed(
        refused: WebError,
        headers: &axum::http::HeaderMap,
        posted: &[(String, String)],
        hidden: &[&str],
    ) -> WebError {
        let same_origin = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"same-origin");
        if !same_origin {
            return refused;
        }
        WebError::Typed {
            refused: Box::new(refused),
            posted: posted
                .iter()
                .filter(|(name, _)| !hidden.contains(&name.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// `e` for a page whose address named a `what`: a missing or malformed one is
    /// [`WebError::Missing`], anything else as it is.
    pub(super) fn named(what: &'static str) -> impl Fn(Error) -> WebError {
        move |e| match e {
            Error::NotFound(_) | Error::Invalid(_) => WebError::Missing(what),
            other => WebError::Host(other),
        }
    }
}

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        WebError::Host(e)
    }
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        // No request worker free in time is the server's being busy (503), as the API says.
        match e.downcast_ref::<crate::server::api::call::Busy>() {
            Some(busy) => WebError::Host(Error::Busy(busy.to_string())),
            None => WebError::Server(format!("{e:#}")),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (refused, typed) = match self {
            WebError::Typed { refused, posted } => (*refused, Some(posted)),
            other => (other, None),
        };
        let signed_out = matches!(refused, WebError::SignedOut);
        let (status, title, text) = match refused {
            WebError::SignedOut => (
                StatusCode::UNAUTHORIZED,
                "Sign in",
                "You are not signed in. Use the sign-in link an Owner of your workspace gave \
                 you, or sign in through your organization's identity provider."
                    .to_owned(),
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "Refused",
                "This form did not come from this session (missing or wrong CSRF token); \
                 nothing was changed. Reload the page and try again."
                    .to_owned(),
            ),
            WebError::Host(e) => match e {
                Error::Denied(reason) => (StatusCode::FORBIDDEN, "Denied", reason.to_string()),
                Error::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
                Error::Invalid(m) => (StatusCode::BAD_REQUEST, "Invalid", m),
                Error::Conflict(m) => (StatusCode::CONFLICT, "Conflict", m),
                // The infrastructure's detail goes to the log (leak review).
                Error::Busy(m) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    format!(
                        "The server cannot do this now; nothing was changed. Try again in a \
                         moment (the detail is in its log, ref {}).",
                        crate::server::api::error::logged("unavailable", &m)
                    ),
                ),
                Error::Internal(m) => internal(&m),
            },
            WebError::TooMany(wait) => return too_many(wait),
            WebError::NoRunSlot(full) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                full.refusal(),
            ),
            WebError::Server(m) => internal(&m),
            WebError::Missing(what) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("There is no such {what} here that you may see."),
            ),
            // Nested once at most (`typed` wraps a refusal of the request itself).
            WebError::Typed { refused, .. } => return refused.into_response(),
        };
        let mut body = format!(
            "<h1>{}</h1><p class=\"error\">{}</p>",
            esc(title),
            esc(&text)
        );
        if let Some(posted) = typed {
            body.push_str(&kept(&posted));
        }
        if signed_out {
            // The way to a workspace's IdP buttons, without listing workspaces to anyone.
            body.push_str(
                "<form method=\"get\" action=\"/signin/oidc\"><label>Workspace \
                 <input name=\"workspace\" required></label>\
                 <button>Sign in through your identity provider</button></form>",
            );
        }
        let mut response = (status, page(title, None, &body)).into_response();
        // Every "try again" says when, as the two forms' answers do (round 17 web review).
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

impl WebError {
    /// Why nothing was done now and a moment later may do it (no run slot, no worker, a busy
    /// database), if that is what this is: a form answered so is shown again as filled in,
    /// with [`busy_with`] (round 16 web review: everything typed was lost).
    pub(super) fn try_again(&self) -> Option<String> {
        match self {
            WebError::NoRunSlot(full) => Some(full.refusal()),
            WebError::Host(Error::Busy(m)) => Some(format!(
                "The server cannot do this now; nothing was changed. Try again in a moment \
                 (the detail is in its log, ref {}).",
                crate::server::api::error::logged("unavailable", m)
            )),
            _ => None,
        }
    }
}

/// What a refused form's person typed, to copy before signing in or reloading: no form, so
/// nothing is sent again by a click (the CSRF token is not shown).
fn kept(posted: &[(String, String)]) -> String {
    let fields: String = posted
        .iter()
        .filter(|(name, value)| name != super::html::CSRF_FIELD && !value.is_empty())
        .map(|(name, value)| {
            format!(
                // The line break HTML drops after the tag: the value's own first one is
                // kept (round 22 web review).
                "<p><label>{}<br><textarea readonly>\n{}</textarea></label></p>",
                super::html::visible(name),
                esc(value)
            )
        })
        .collect();
    if fields.is_empty() {
        return String::new();
    }
    format!(
        "<h2>What you typed</h2><p>Nothing was sent. Keep it before you sign in or reload the \
         page.</p>{fields}"
    )
}

/// A page answered 503 with `Retry-After` (the form on it filled in as posted).
pub(super) fn busy_with(page: axum::response::Html<String>) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, "1")],
        page,
    )
        .into_response()
}

/// 429 with `Retry-After` (whole seconds, at least 1) and a page saying when to try again.
fn too_many(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let body = format!(
        "<h1>Too many attempts</h1><p class=\"error\">Too many sign-in attempts from your \
         address: nothing was done. Try again in {secs} s.</p>"
    );
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(axum::http::header::RETRY_AFTER, secs.to_string())],
        page("Too many attempts", None, &body),
    )
        .into_response()
}

fn internal(detail: &str) -> (StatusCode, &'static str, String) {
    // Under a reference, as the API's 500 and the web's 503 quote one (round 17 web review).
    let reference = crate::server::api::error::logged("failed", detail);
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        format!("The server failed; the detail is in its log, ref {reference}."),
    )
}

#[cfg(test)]
mod tests {
    /// What was typed is shown whole: HTML drops one line break after `<textarea>`, so the
    /// value's own first one is kept behind the one written there (round 22 web review).
    #[test]
    fn what_was_typed_keeps_its_first_line_break() {
        let shown = super::kept(&[("note".into(), "\n- one\n- two".into())]);
        assert!(
            shown.contains("<textarea readonly>\n\n- one\n- two</textarea>"),
            "{shown}"
        );
    }
}
