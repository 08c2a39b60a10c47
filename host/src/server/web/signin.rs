//! Signing in with a one-time link, and signing out (SPEC SV-1, SV-2). Opening the link (a
//! GET) changes nothing: it shows a button whose POST uses the link, so a link preview or a
//! prefetch cannot spend it. That form is bound to the browser that loaded it by a cookie
//! (login CSRF: no other site can sign a victim into the attacker's account), and the page
//! names whom the link signs in, and where (a link of the attacker's account sent to a victim
//! is not followed unawares).

use super::posted::Posted;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::attempt::SignInAttempt;
use super::error::WebError;
use super::html::{csrf_field, esc, page, visible};
use super::session::{
    SESSION_COOKIE, SIGNIN_COOKIE, Signed, check_token, cleared_session_cookie, cookie,
    session_cookie, signin_nonce,
};
use crate::server::AppState;
use crate::signin::LINK_TTL_SECS;

/// GET /signin: the page a signed-out browser is sent to.
pub(super) async fn signed_out() -> WebError {
    WebError::SignedOut
}

/// GET /signin/{token}: a button that signs in with the link; nothing is used yet. The page
/// says whom the link signs in, and where, and that it replaces this browser's session: a
/// link of someone else's account (an attacker's own, sent to a victim) is not followed
/// unawares (web review). Counted as a sign-in attempt: it looks the link up.
pub(super) async fn confirm(
    _attempt: SignInAttempt,
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let nonce = signin_nonce(&headers)?;
    let looked_up = token.clone();
    let described = state
        .blocking(move |e| e.platform().signins().describe_link(&looked_up))
        .await??;
    let whom = match described {
        Some((email, workspace)) => format!(
            "This one-time link signs you in as <strong>{}</strong> in workspace <strong>{}</strong>. It works once.",
            visible(email.as_str()),
            visible(&workspace)
        ),
        None => "This one-time link signs you in to Flowhost. It works once.".to_owned(),
    };
    let replaces = if cookie(&headers, SESSION_COOKIE).is_some() {
        "<p>This browser is signed in already: signing in ends that session. If you did not \
         ask for this link, do not use it.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Sign in</h1><p>{whom}</p>{replaces}\
         <form method=\"post\" action=\"/signin/{}\">{}<button>Sign in</button></form>",
        esc(&crate::encoding::percent_encode(&token)),
        csrf_field(&nonce)
    );
    let cookie = format!(
        "{SIGNIN_COOKIE}={nonce}; HttpOnly; SameSite=Strict; Path=/signin; Max-Age={LINK_TTL_SECS}"
    );
    Ok(([(header::SET_COOKIE, cookie)], page("Sign in", None, &body)).into_response())
}

/// POST /signin/{token}: uses the link (once, unexpired) and opens a session; a client past
/// its sign-in attempts is answered 429 and nothing is looked up.
pub(super) async fn redeem(
    _attempt: SignInAttempt,
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Posted(fields): Posted,
) -> Result<Response, WebError> {
    let bound = cookie(&headers, SIGNIN_COOKIE).unwrap_or_default();
    check_token(&fields, &bound)?;
    // The page warned that signing in ends this browser's session: it does (it lived on,
    // a step back from the new one; leak review).
    let replaced = cookie(&headers, SESSION_COOKIE);
    let opened = state
        .blocking(move |e| {
            let signins = e.platform().signins();
            // Bound to this browser: its confirmation sent again signs it in again.
            let opened = signins.redeem_link(&token, &bound)?;
            // The link is spent: a failure to end the old session must not lose the new
            // one (review). The old one then ends at its expiry.
            if let Some(old) = replaced
                && let Err(e) = signins.sign_out(&old)
            {
                eprintln!("flowhost serve: the session a sign-in replaced did not end: {e}");
            }
            Ok::<_, crate::Error>(opened)
        })
        .await??;
    let cleared = format!("{SIGNIN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/signin; Max-Age=0");
    let mut response = Redirect::to("/").into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        header_value(&session_cookie(&opened.secret))?,
    );
    h.append(header::SET_COOKIE, header_value(&cleared)?);
    Ok(response)
}

/// POST /signout: ends the session (with its CSRF token, so no other site can sign you out).
pub(super) async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    Posted(fields): Posted,
) -> Result<Response, WebError> {
    signed.check_csrf(&fields)?;
    let secret = signed.secret;
    state
        .blocking(move |e| e.platform().signins().sign_out(&secret))
        .await??;
    let body = "<h1>Signed out</h1><p>You are signed out.</p>";
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cleared_session_cookie())],
        page("Signed out", None, body),
    )
        .into_response())
}

fn header_value(v: &str) -> Result<axum::http::HeaderValue, WebError> {
    axum::http::HeaderValue::from_str(v).map_err(|e| WebError::Server(e.to_string()))
}
