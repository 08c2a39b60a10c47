//! A posted form read strictly as UTF-8. axum's `Form` decodes a percent-escape that is not
//! UTF-8 as U+FFFD without a word: `caf%E9` from a Latin-1 client was answered, stored in the
//! run, the journal and the audit log as `caf\u{FFFD}`, where the API refuses the same bytes
//! (round 22 web review). Refused here, naming the field.

use axum::extract::{FromRequest, RawForm, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A form's fields in the order posted, names and values as their UTF-8 text.
pub(super) struct Posted(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        // Its refusals (another content type, a body too large) are the framework's, which
        // `framework_errors` answers as the site's pages; so is this one.
        let RawForm(bytes) = RawForm::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        fields(&bytes)
            .map(Posted)
            .map_err(|why| (StatusCode::BAD_REQUEST, why).into_response())
    }
}

/// The fields of `body` (`application/x-www-form-urlencoded`), or which one is not UTF-8.
fn fields(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let name =
                text(name).ok_or_else(|| "a form field's name is not UTF-8 text".to_owned())?;
            let value = text(value).ok_or_else(|| {
                format!(
                    "form field `{}` is not UTF-8 text: this site reads forms in UTF-8",
                    crate::text::clip(&name)
                )
            })?;
            Ok((name, value))
        })
        .collect()
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
        let read = fields(b"csrf=t&note=caf%C3%A9+au+lait&empty=&bare&pct=100%&x=%2B&s=15%+d%-1")
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
        let refused = fields(b"csrf=t&note=caf%E9").expect_err("not UTF-8");
        assert!(
            refused.contains("form field `note` is not UTF-8"),
            "{refused}"
        );
        assert!(fields(b"%FF=1").is_err());
    }
}
