//! Form-urlencoded text (a posted form's body, a query string) read strictly as UTF-8.
//! `form_urlencoded` decodes a percent-escape that is not UTF-8 as U+FFFD without a word:
//! `caf%E9` from a Latin-1 client was answered, stored in the run, the journal and the audit
//! log as `caf\u{FFFD}`, where the API refuses the same bytes in a body (round 22 web
//! review); in a query string, a filter searched for it and answered "no match" (round 23
//! web review). Refused at every door, naming the field or parameter.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// axum's `Query`, once every parameter has read as UTF-8 text: refused (400) naming the one
/// that did not.
pub(super) struct StrictQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        strict_query(parts).map_err(|why| (StatusCode::BAD_REQUEST, why).into_response())?;
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| StrictQuery(q.0))
            .map_err(IntoResponse::into_response)
    }
}

/// `Ok` if every parameter of the request's query string reads as UTF-8 text, else which
/// did not: then `form_urlencoded`'s lossy reading of it is exact.
pub(super) fn strict_query(parts: &Parts) -> Result<(), String> {
    fields(
        parts.uri.query().unwrap_or_default().as_bytes(),
        "query parameter",
    )
    .map(drop)
}

/// The fields of `body` (`application/x-www-form-urlencoded`, a posted form's body or a query
/// string), or which one is not UTF-8, naming it as a `what` (`form field`, `query
/// parameter`).
pub(super) fn fields(body: &[u8], what: &str) -> Result<Vec<(String, String)>, String> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let name = text(name).ok_or_else(|| format!("a {what}'s name is not UTF-8 text"))?;
            let value = text(value).ok_or_else(|| match quotable(&name) {
                true => format!("{what} `{name}` is not UTF-8 text: this site reads them in UTF-8"),
                false => format!("a {what} is not UTF-8 text: this site reads them in UTF-8"),
            })?;
            Ok((name, value))
        })
        .collect()
}

/// `Err` naming the first of `params` (a page's query string) whose name is not among `known`
/// when it may be quoted, else saying what it is: a misspelt filter or page link read as none
/// listed everything (round 27 web review), and quoting any name put a crafted link's words
/// on the site's signed-in pages (round 28 web and leak reviews). The pages' one rule.
pub(super) fn only_known(params: &[(String, String)], known: &[&str]) -> Result<(), String> {
    only_known_by(params, known, "this page")
}

/// [`only_known`], saying what refuses them (`this page`, `this route`).
pub(super) fn only_known_by(
    params: &[(String, String)],
    known: &[&str],
    what: &str,
) -> Result<(), String> {
    match params.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        None => {}
        Some((name, _)) if quotable(name) => {
            return Err(format!("{what} takes no query parameter `{name}`"));
        }
        Some(_) => return Err(format!("a query parameter {what} does not take")),
    }
    // Each once: a link giving one twice was read by its first (round 28 self-review).
    match known
        .iter()
        .find(|name| params.iter().filter(|(k, _)| k == *name).count() > 1)
    {
        Some(name) => Err(format!("query parameter `{name}` is given twice")),
        None => Ok(()),
    }
}

/// The value of query parameter `name` in `params`, if given.
pub(super) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether a field or parameter's `name` may be quoted in a refusal: a short name of
/// letters, digits and `_-.[]`. A crafted link or a cross-site form otherwise put its own
/// words on the site's pages through the refusal ("Your session expired. Call …"; round 24
/// web review), which the web's other refusals never quote.
fn quotable(name: &str) -> bool {
    name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.[]".contains(&b))
}

/// `raw` with `+` as a space and `%XX` as its byte, as UTF-8 text; an escape that is not
/// one (`%` without two hex digits) stays as written, as browsers and `form_urlencoded` read it.
fn text(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            // Two hex digits, nothing else: `from_str_radix` takes a sign too, and read
            // `15%+discount` as a carriage return (self-review).
            b'%' => match raw.get(i + 1..i + 3).and_then(|hex| {
                let digit = |b: u8| (b as char).to_digit(16);
                Some(digit(hex[0])? * 16 + digit(hex[1])?)
            }) {
                Some(byte) => {
                    out.push(byte as u8);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::fields;

    #[test]
    fn fields_read_as_browsers_post_them_and_other_bytes_are_refused_by_name() {
        // `%+d` and `%-1` are no escapes: kept as written (self-review: a sign was read).
        let read = fields(
            b"csrf=t&note=caf%C3%A9+au+lait&empty=&bare&pct=100%&x=%2B&s=15%+d%-1",
            "form field",
        )
        .expect("utf-8");
        let expected = [
            ("csrf", "t"),
            ("note", "café au lait"),
            ("empty", ""),
            ("bare", ""),
            ("pct", "100%"),
            ("x", "+"),
            ("s", "15% d%-1"),
        ];
        assert_eq!(
            read,
            expected
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        );
        // Latin-1's `é`: refused naming the field, never read as U+FFFD.
        let refused = fields(b"csrf=t&note=caf%E9", "form field").expect_err("not UTF-8");
        assert!(
            refused.contains("form field `note` is not UTF-8"),
            "{refused}"
        );
        assert!(fields(b"%FF=1", "query parameter").is_err());
        // A name that reads as words is not quoted: a crafted link's text is not the site's.
        let crafted = b"Your+session+expired.+Call+555-0100=%FF";
        let refused = fields(crafted, "query parameter").expect_err("not UTF-8");
        assert_eq!(
            refused,
            "a query parameter is not UTF-8 text: this site reads them in UTF-8"
        );
    }
}
