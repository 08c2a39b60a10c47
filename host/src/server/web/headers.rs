//! The security headers of every web response (SPEC SV-2): no script at all, no framing, no
//! sniffing, no referrer (a sign-in link's token must not leak to another site), no caching.
//! No `Server-Timing`: a page's server time told a case that does not exist (one query) from
//! one restricted from the reader (three), to the microsecond, where both answer the same 404
//! (leak review; SPEC CS-2).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

/// The pages use no script and only the server's stylesheet.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of a page whose forms may also lead to `targets` (origins already checked by
/// `csp_origin`): the OIDC sign-in button, whose POST redirects to the IdP, which Chromium
/// holds to `form-action` too.
pub(super) fn csp_with_form_targets(targets: &[String]) -> String {
    let allowed: String = targets.iter().map(|t| format!(" {t}")).collect();
    CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self'{allowed}"),
    )
}

/// Adds the headers to the response of `request` (a policy a page set itself is kept).
pub(super) async fn secure(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Marks every cookie the response sets `Secure` when people reach the server over TLS
/// (`--public-url https://…`): a browser then never sends the session, sign-in or OIDC
/// cookie over plain HTTP, where the README left it to the proxy's configuration, which is
/// easy to forget (HTTP review). On a plain-HTTP URL (loopback, tests) they stay as they are,
/// or no browser would send them back.
pub(in crate::server) async fn secure_cookies(
    axum::extract::State(state): axum::extract::State<crate::server::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if !state.public_url().is_some_and(|url| {
        url.get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }) {
        return response;
    }
    let cookies: Vec<HeaderValue> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    response.headers_mut().remove(header::SET_COOKIE);
    for cookie in cookies {
        let secured = cookie
            .to_str()
            .ok()
            .and_then(|c| HeaderValue::from_str(&format!("{c}; Secure")).ok())
            .unwrap_or(cookie);
        response.headers_mut().append(header::SET_COOKIE, secured);
    }
    response
}
