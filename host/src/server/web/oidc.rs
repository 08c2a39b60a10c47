//! Signing in through the workspace's IdP (OIDC; issue 16, SPEC SV-1, SV-2). The web layer
//! only carries requests to the sign-in handle (which verifies and decides) and sets cookies.
//!
//! - `GET /signin/oidc/{workspace}`: one button per IdP with OIDC settings; an unknown
//!   workspace and one without any answer the same page (no list of workspaces, no oracle).
//! - `POST /signin/oidc/{workspace}/{idp}`: with the form's login-CSRF token bound to a
//!   cookie, starts the login and sends the browser to the IdP; a second cookie binds the
//!   callback to this browser.
//! - `GET /signin/oidc/callback/{workspace}/{idp}`: the IdP sends the browser back with a
//!   GET (the protocol says so): the one GET that opens a session. It is a one-time
//!   redemption like the link's POST: the state is single use, expires, and counts only with
//!   this browser's cookie, so a replayed, forged or prefetched callback opens nothing. Each
//!   (workspace, IdP) has its own callback path, and a state counts only on its own: one
//!   shared path let an IdP of one workspace have a browser carry its state while another
//!   workspace's IdP answered the code, which then went to the first's token endpoint (the
//!   IdP mix-up; RFC 9207 also checked through `iss`).

use super::posted::Posted;
use crate::server::urlencoded::StrictQuery;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::attempt::SignInAttempt;
use super::error::WebError;
use super::headers::csp_with_form_targets;
use super::html::{csrf_field, esc, page, visible};
use super::session::{
    SESSION_COOKIE, SIGNIN_COOKIE, check_token, cookie, session_cookie, signin_nonce,
};
use crate::Error;
use crate::access::Reason;
use crate::encoding::percent_encode;
use crate::server::AppState;
use crate::signin::LINK_TTL_SECS;
use crate::signin::oidc::{Callback, LOGIN_TTL_SECS};

/// The cookie that binds a started OIDC login to its browser. SameSite=Lax: the IdP's
/// redirect back is a cross-site top-level GET, which Strict would strip it from.
const OIDC_COOKIE: &str = "fh_oidc";
/// Where the IdP sends the browser back, under the server's public URL (each workspace and
/// IdP its own: `crate::signin::oidc::callback_uri`).
pub(crate) const CALLBACK_ROUTE: &str = "/signin/oidc/callback/{workspace}/{idp}";

/// The workspace a signed-out person names on the sign-in page.
#[derive(Deserialize)]
pub(super) struct WorkspaceQuery {
    workspace: String,
}

/// GET /signin/oidc?workspace=W: to that workspace's buttons (a GET form; changes nothing).
pub(super) async fn to_workspace(StrictQuery(q): StrictQuery<WorkspaceQuery>) -> Redirect {
    Redirect::to(&format!(
        "/signin/oidc/{}",
        percent_encode(q.workspace.trim())
    ))
}

/// GET /signin/oidc/{workspace}: the sign-in buttons of the workspace's IdPs.
pub(super) async fn choose(
    State(state): State<AppState>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lookup = workspace.clone();
    let (idps, targets) = state
        .blocking(move |e| {
            let signins = e.platform().signins();
            Ok::<_, Error>((
                signins.oidc_idps(&lookup)?,
                signins.oidc_form_targets(&lookup)?,
            ))
        })
        .await??;
    // A server with no public URL offers no such sign-in (its buttons answered 400 at every
    // press; round 30 web review): answered as a workspace without IdPs.
    if idps.is_empty() || state.public_url().is_none() {
        let body = "<h1>Sign in</h1><p class=\"error\">There is no sign-in through an \
                    identity provider here. Check the address, or use the sign-in link an \
                    Owner of your workspace gave you.</p>";
        return Ok((StatusCode::NOT_FOUND, page("Sign in", None, body)).into_response());
    }
    let nonce = signin_nonce(&headers)?;
    let mut body = format!("<h1>Sign in to {}</h1>", visible(&workspace));
    for idp in &idps {
        // An IdP whose origin is not in this page's policy is answered with a link: the
        // browser refused a redirect there from this page's form (round 21 web review: an
        // IdP slow to answer when the page opened left its button on a browser error).
        let by_link = if targets.contains_key(idp) {
            ""
        } else {
            "<input type=\"hidden\" name=\"by_link\" value=\"1\">"
        };
        body.push_str(&format!(
            "<form method=\"post\" action=\"/signin/oidc/{}/{}\">{}{by_link}\
             <button>Sign in with {}</button></form>",
            esc(&percent_encode(&workspace)),
            esc(&percent_encode(idp)),
            csrf_field(&nonce),
            // Written out as the workspace's name is (an IdP stored before hidden characters
            // were refused; round 20 web review).
            visible(idp)
        ));
    }
    let cookie = format!(
        "{SIGNIN_COOKIE}={nonce}; HttpOnly; SameSite=Strict; Path=/signin; Max-Age={LINK_TTL_SECS}"
    );
    let mut origins: Vec<String> = targets.into_values().collect();
    origins.sort();
    origins.dedup();
    let policy = csp_with_form_targets(&origins);
    Ok((
        [
            (header::SET_COOKIE, cookie),
            (header::CONTENT_SECURITY_POLICY, policy),
        ],
        page("Sign in", None, &body),
    )
        .into_response())
}

/// POST /signin/oidc/{workspace}/{idp}: starts the login; a page that goes on to the IdP. A
/// client past its sign-in attempts is answered 429 and no login is stored.
pub(super) async fn start(
    _attempt: SignInAttempt,
    State(state): State<AppState>,
    Path((workspace, idp)): Path<(String, String)>,
    headers: HeaderMap,
    Posted(fields): Posted,
) -> Result<Response, WebError> {
    let bound = cookie(&headers, SIGNIN_COOKIE).unwrap_or_default();
    check_token(&fields, &bound)?;
    let public_url = public_url(&state)?;
    let started = state
        .blocking(move |e| {
            e.platform()
                .signins()
                .start_oidc(&workspace, &idp, &public_url)
        })
        .await?
        .inspect_err(|e| eprintln!("flowhost serve: OIDC sign-in not started: {e}"))?;
    let by_link = fields.iter().any(|(k, v)| k == "by_link" && v == "1");
    let mut response = if by_link {
        let body = format!(
            "<h1>Sign in</h1><p>Your identity provider was slow to answer when the sign-in \
             page opened.</p><p><a href=\"{}\">Continue to your identity provider</a></p>",
            esc(&started.authorize_url)
        );
        page("Sign in", None, &body).into_response()
    } else {
        // Left by a refresh, not by a redirect of the button's form: a browser holds every
        // redirect a form's submission goes through to the page's `form-action`, and an IdP
        // that passed the browser through another origin (a broker, a federated IdP) was
        // refused there, the sign-in stopped on a browser error (round 30 web review). A
        // refresh is no form's submission; the link is there for a browser that does not
        // follow it.
        let body = format!(
            "<h1>Sign in</h1><p><a href=\"{}\">Continue to your identity provider</a></p>",
            esc(&started.authorize_url)
        );
        let mut response = page("Sign in", None, &body).into_response();
        response.headers_mut().insert(
            header::REFRESH,
            header_value(&format!("0;url={}", started.authorize_url))?,
        );
        response
    };
    let binding = format!(
        "{OIDC_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/signin/oidc; Max-Age={LOGIN_TTL_SECS}",
        started.browser
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, header_value(&binding)?);
    Ok(response)
}

/// What the IdP's redirect carries: a code and the state, or an error; and its issuer when
/// it says (RFC 9207).
#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

/// GET /signin/oidc/callback/{workspace}/{idp}: finishes the login; a session and 303 to the
/// home page, or a refusal page and no session (429 for a client past its sign-in attempts:
/// the callback checks a secret and calls the IdP).
pub(super) async fn callback(
    _attempt: SignInAttempt,
    State(state): State<AppState>,
    Path((workspace, idp)): Path<(String, String)>,
    StrictQuery(query): StrictQuery<CallbackQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let finished = finish(&state, (workspace, idp), query, &headers).await;
    if let Err(WebError::Host(e)) = &finished {
        // For the operator: a misconfigured or unreachable IdP shows here first.
        eprintln!("flowhost serve: OIDC sign-in refused: {e}");
    }
    match finished {
        Ok(secret) => {
            // A browser signed in already ends that session: one browser, one session.
            // Best effort: the login is done, and a failure here must not lose it.
            if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                let ended = state
                    .blocking(move |e| e.platform().signins().sign_out(&old))
                    .await;
                if !matches!(ended, Ok(Ok(()))) {
                    eprintln!("flowhost serve: the session an OIDC sign-in replaced did not end");
                }
            }
            let mut r = Redirect::to("/").into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, header_value(&session_cookie(&secret))?);
            // The login is done: its binding goes. Only then: a refused callback may be
            // anyone's link (a cross-site GET carries the cookie), and clearing the binding
            // there broke the person's own login under way.
            let cleared =
                format!("{OIDC_COOKIE}=; HttpOnly; SameSite=Lax; Path=/signin/oidc; Max-Age=0");
            r.headers_mut()
                .append(header::SET_COOKIE, header_value(&cleared)?);
            Ok(r)
        }
        Err(e) => Ok(e.into_response()),
    }
}

/// The error codes an authorization response may carry (RFC 6749 4.1.2.1, OpenID Connect
/// Core 3.1.2.6): shown to the person by name. Any other text is not: a crafted callback
/// link would otherwise put its own words on this site's page ("your account is locked,
/// call ...").
const IDP_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

/// The session secret of a finished login.
async fn finish(
    state: &AppState,
    (workspace, idp): (String, String),
    query: CallbackQuery,
    headers: &HeaderMap,
) -> Result<String, WebError> {
    let refused = |why: &str| WebError::Host(Error::Denied(Reason::IdpSignIn(why.to_owned())));
    if let Some(error) = query.error {
        return Err(refused(&if IDP_ERRORS.contains(&error.as_str()) {
            format!("the identity provider answered `{error}`")
        } else {
            "the identity provider answered with an error of its own".to_owned()
        }));
    }
    let (Some(code), Some(login_state)) = (query.code, query.state) else {
        return Err(refused("the identity provider sent no code or state"));
    };
    let browser = cookie(headers, OIDC_COOKIE)
        .ok_or_else(|| refused("this browser did not start this sign-in; start again"))?;
    let public_url = public_url(state)?;
    let callback = Callback {
        workspace,
        idp,
        state: login_state,
        code,
        iss: query.iss,
        browser,
    };
    let opened = state
        .blocking(move |e| e.platform().signins().finish_oidc(&callback, &public_url))
        .await??;
    Ok(opened.secret)
}

/// The server's public URL, which the callback URLs registered at the IdPs are under (never
/// the request's Host header, which the client writes).
fn public_url(state: &AppState) -> Result<String, WebError> {
    let base = state.public_url().ok_or_else(|| {
        WebError::Host(Error::Invalid(
            "this server has no public URL (`serve --public-url`), so it cannot offer sign-in \
             through an identity provider"
                .into(),
        ))
    })?;
    Ok(base.to_owned())
}

fn header_value(v: &str) -> Result<axum::http::HeaderValue, WebError> {
    axum::http::HeaderValue::from_str(v).map_err(|e| WebError::Server(e.to_string()))
}
