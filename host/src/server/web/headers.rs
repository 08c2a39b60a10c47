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

/// The prefix that binds a cookie to the one host that set it: a browser takes a cookie of
/// such a name only over TLS, from that host, for `Path=/` and with no `Domain`.
const HOST_PREFIX: &str = "__Host-";

/// When people reach the server over TLS (`--public-url https://…`), every cookie the web
/// pages set (`fh_…`) is a host cookie: sent as `__Host-fh_…`, `Secure` and `Path=/`, and
/// only those are read back, under their plain names (the handlers' `session::cookie`). A
/// sibling host of the domain (cookie tossing, `Domain=corp.example`) could set a plain
/// `fh_session` a browser with none sent alone, fixing a person into the attacker's session,
/// satisfy the sign-in forms' login-CSRF binding (`fh_signin`, `fh_oidc`), or lock a person
/// out with a second value no sign-in could clear (round 23 web review). `Secure` alone was
/// the HTTP review's: a browser never sends them over plain HTTP. On a plain-HTTP URL
/// (loopback, tests) they stay as they are, or no browser would send them back.
pub(in crate::server) async fn secure_cookies(
    axum::extract::State(state): axum::extract::State<crate::server::AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if !state.public_url().is_some_and(|url| {
        url.get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }) {
        return next.run(request).await;
    }
    host_cookies_only(request.headers_mut());
    let mut response = next.run(request).await;
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
            .and_then(|c| HeaderValue::from_str(&host_cookie(c)).ok())
            .unwrap_or(cookie);
        response.headers_mut().append(header::SET_COOKIE, secured);
    }
    response
}

/// `set_cookie` (a page's `Set-Cookie` value) as a host cookie: its name prefixed, its path
/// the whole site, `Secure`.
fn host_cookie(set_cookie: &str) -> String {
    let mut parts = set_cookie.split(';').map(str::trim);
    let pair = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts
        .filter(|p| !p.get(..5).is_some_and(|k| k.eq_ignore_ascii_case("path=")))
        .collect();
    let mut cookie = format!("{HOST_PREFIX}{pair}");
    for attribute in rest {
        cookie.push_str("; ");
        cookie.push_str(attribute);
    }
    cookie.push_str("; Path=/; Secure");
    cookie
}

/// Rewrites the request's `Cookie` headers to the host cookies alone, under their plain
/// names: a plain `fh_…` cookie (one a sibling host may have set) is not read at all.
fn host_cookies_only(headers: &mut axum::http::HeaderMap) {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(HOST_PREFIX).map(str::to_owned))
        .collect();
    headers.remove(header::COOKIE);
    if kept.is_empty() {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&kept.join("; ")) {
        headers.insert(header::COOKIE, value);
    }
}
