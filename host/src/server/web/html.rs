//! HTML output: escaping (every value from the database or a request goes through [`esc`])
//! and the one page layout.

use std::fmt::Write as _;

use axum::response::Html;

use crate::signin::Session;

/// The form field holding the CSRF token.
pub(super) const CSRF_FIELD: &str = crate::definition::form::WEB_TOKEN_FIELD;

/// `text` escaped for HTML text and quoted attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `body` is HTML built with [`esc`]; `session` names who is signed in and
/// carries the CSRF token of the sign-out form.
pub(super) fn page(title: &str, session: Option<&Session>, body: &str) -> Html<String> {
    let mut out = String::with_capacity(body.len() + 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Flowhost</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body>\
         <header><a class=\"brand\" href=\"/\">Flowhost</a>",
        esc(title)
    );
    if let Some(s) = session {
        let _ = write!(
            out,
            "<nav><a href=\"/\">Waiting for me</a><a href=\"/flows\">Flows</a>\
             <a href=\"/cases\">Cases</a><a href=\"/runs\">Runs</a><a href=\"/audit\">Audit</a></nav>\
             <div class=\"who\"><span>{} · {}</span>\
             <form method=\"post\" action=\"/signout\">{}<button class=\"link\">Sign out</button></form></div>",
            esc(&s.principal.to_string()),
            esc(&s.workspace),
            csrf_field(&s.csrf)
        );
    }
    let _ = write!(out, "</header><main>{body}</main></body></html>");
    Html(out)
}

/// The hidden field every form of a session carries (SPEC SV-2).
pub(super) fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        CSRF_FIELD,
        esc(token)
    )
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }
}
