//! Who a browser request comes from (SPEC SV-1): the session cookie, looked up through the
//! sign-in handle; and the CSRF check of every POST (SPEC SV-2). A request without a live
//! session is signed out; nothing a request says is trusted for who it is.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::error::WebError;
use super::html::CSRF_FIELD;
use crate::server::AppState;
use crate::signin::{SESSION_TTL_SECS, Session};

/// The session cookie's name.
pub(super) const SESSION_COOKIE: &str = "fh_session";
/// The cookie that binds a sign-in form to the browser that loaded it (login CSRF).
pub(super) const SIGNIN_COOKIE: &str = "fh_signin";

/// A request from a signed-in browser.
pub(super) struct Signed {
    pub session: Session,
    /// The cookie's secret, to sign out with.
    pub secret: String,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let secret = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::SignedOut)?;
        let lookup = secret.clone();
        let session = state
            .blocking(move |e| e.platform().signins().session(&lookup))
            .await??
            .ok_or(WebError::SignedOut)?;
        Ok(Signed { session, secret })
    }
}

impl Signed {
    /// `Ok` if `fields` carry this session's CSRF token (SPEC SV-2).
    pub(super) fn check_csrf(&self, fields: &[(String, String)]) -> Result<(), WebError> {
        check_token(fields, &self.session.csrf)
    }
}

/// `Ok` if `fields` hold `expected` as the CSRF field, compared in constant time.
pub(super) fn check_token(fields: &[(String, String)], expected: &str) -> Result<(), WebError> {
    let given = fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.as_str());
    match given {
        Some(given)
            if crate::encoding::secrets_equal(given.as_bytes(), expected.as_bytes())
                && !expected.is_empty() =>
        {
            Ok(())
        }
        _ => Err(WebError::Csrf),
    }
}

/// The sign-in pages' nonce: the one this browser holds already when it reads as one
/// ([`crate::signin::secret`]'s 43 URL-safe characters), else a new one. Each page set its
/// own, so opening a second one (the link twice, or the identity provider's page) turned the
/// first page's button into a 403 blaming a session nobody had (round 25 web review).
pub(super) fn signin_nonce(headers: &HeaderMap) -> Result<String, crate::Error> {
    match cookie(headers, SIGNIN_COOKIE) {
        Some(held)
            if held.len() == 43
                && held
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(held)
        }
        _ => crate::signin::secret(),
    }
}

/// The value of cookie `name` in the request's `Cookie` headers; none if it is sent with two
/// different values. A sibling domain can set a cookie of the same name on a narrower path
/// (cookie tossing), which the browser sends first: the first one found would have made a
/// person answer interactions in the attacker's session (leak review).
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v);
    let first = values.next()?;
    values.all(|v| v == first).then(|| first.to_owned())
}

/// The `Set-Cookie` value of a new session: HttpOnly (no script reads it), SameSite=Lax (no
/// cross-site POST carries it), the whole site, for the session's lifetime. `Secure` is added
/// to every cookie when the public URL is https (`headers::secure_cookies`).
pub(super) fn session_cookie(secret: &str) -> String {
    format!("{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Lax; Path=/; Max-Age={SESSION_TTL_SECS}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub(super) fn cleared_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_needs_the_exact_token() {
        let f = |v: &str| vec![(CSRF_FIELD.to_owned(), v.to_owned())];
        assert!(check_token(&f("abc"), "abc").is_ok());
        assert!(check_token(&f("abd"), "abc").is_err());
        assert!(check_token(&f("ab"), "abc").is_err());
        assert!(check_token(&[], "abc").is_err());
        assert!(
            check_token(&f(""), "").is_err(),
            "an empty token is no token"
        );
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; fh_session=xyz; b=2".parse().expect("header"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        // A second, different value (another domain's, on a narrower path) is no session.
        h.append(
            axum::http::header::COOKIE,
            "fh_session=xyz".parse().expect("header"),
        );
        assert_eq!(
            cookie(&h, SESSION_COOKIE).as_deref(),
            Some("xyz"),
            "the same twice"
        );
        h.insert(
            axum::http::header::COOKIE,
            "fh_session=attacker; a=1; fh_session=xyz"
                .parse()
                .expect("header"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), None, "two sessions");
    }
}
