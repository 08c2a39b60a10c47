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

/// One line of text someone else chose (a title, a name), escaped, with every character
/// that hides itself in a line written out (`\u202e`) as the CLI writes it: a bidi override
/// in an interaction's title made the approver's page read otherwise than what is stored
/// (round 16 hostile-input review). Not for a form's values, which post back as given.
pub(super) fn visible(text: &str) -> String {
    esc(&crate::text::written_out(text, crate::text::is_hidden_at))
}

/// Text of several lines someone else chose (a step's error or output, a response, an
/// audit entry's details, a description), escaped, with every character that hides itself
/// written out but its line breaks and tabs: as [`visible`] does for one line (round 17 web and
/// hostile-input reviews: a bidi override in an answer made the Owner's audit page read
/// otherwise).
pub(super) fn visible_block(text: &str) -> String {
    esc(&crate::text::written_out(text, |prev, c, next| {
        !matches!(c, '\n' | '\r' | '\t') && crate::text::is_hidden_at(prev, c, next)
    }))
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
        visible(title)
    );
    if let Some(s) = session {
        let _ = write!(
            out,
            "<nav><a href=\"/\">Waiting for me</a><a href=\"/flows\">Flows</a>\
             <a href=\"/cases\">Cases</a><a href=\"/runs\">Runs</a><a href=\"/audit\">Audit</a></nav>\
             <div class=\"who\"><span>{} · {}</span>\
             <form method=\"post\" action=\"/signout\">{}<button class=\"link\">Sign out</button></form></div>",
            // Written out as every name others chose: a workspace named before the names'
            // refusal of hidden characters may hold one (round 18 web review).
            visible(&s.principal.to_string()),
            visible(&s.workspace),
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

/// Bytes of a value's pretty JSON a page shows.
pub(super) const JSON_SHOWN: usize = 2000;

/// A value as pretty JSON, cut at [`JSON_SHOWN`] bytes: only that much is written, whatever
/// the value holds (a page of a thousand outputs of megabytes each pretty-printed them whole;
/// an audit page of 300 flow starts each holding a 64 KiB form was tens of megabytes).
pub(super) fn clip_json(v: &serde_json::Value) -> String {
    struct Upto(Vec<u8>);
    impl std::io::Write for Upto {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let room = (JSON_SHOWN + 4).saturating_sub(self.0.len());
            self.0.extend_from_slice(&buf[..buf.len().min(room)]);
            if buf.len() > room {
                return Err(std::io::ErrorKind::FileTooLarge.into());
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Upto(Vec::with_capacity(256));
    let whole = serde_json::to_writer_pretty(&mut out, v).is_ok();
    let text = String::from_utf8_lossy(&out.0);
    if whole && text.len() <= JSON_SHOWN {
        return text.into_owned();
    }
    let end = text.floor_char_boundary(JSON_SHOWN);
    format!("{}\n…", &text[..end])
}

/// Text cut at [`JSON_SHOWN`] bytes (at a character), as [`clip_json`] cuts a value: a step's
/// error holds up to 64 KiB, and a run page listing a thousand of them whole was megabytes
/// (round 15 web review).
pub(super) fn clip_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= JSON_SHOWN {
        return text.into();
    }
    let end = text.floor_char_boundary(JSON_SHOWN);
    format!("{}\n…", &text[..end]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A title's bidi override or zero-width space is written out, as the CLI writes it, and
    /// the rest escaped; Persian joiners between letters stay (round 16 hostile-input review).
    #[test]
    fn hidden_characters_of_a_line_are_written_out() {
        assert_eq!(
            visible("ACME\u{202e}000,01$ <b>"),
            "ACME\\u202e000,01$ &lt;b&gt;"
        );
        assert_eq!(visible("tri\u{200b}age"), "tri\\u200bage");
        assert_eq!(visible("می\u{200c}خواهم"), "می\u{200c}خواهم");
    }

    /// Text is shown whole when short, and cut at [`JSON_SHOWN`] bytes at a character when not.
    #[test]
    fn text_is_shown_whole_or_cut_at_its_bound() {
        assert_eq!(clip_text("short"), "short");
        let long = "é".repeat(JSON_SHOWN);
        let cut = clip_text(&long);
        assert!(cut.ends_with("\n…"), "{cut}");
        assert!(cut.len() <= JSON_SHOWN + "\n…".len(), "{}", cut.len());
        assert!(long.starts_with(cut.trim_end_matches("\n…")));
    }

    /// A page shows a value's pretty JSON whole when short, and its first [`JSON_SHOWN`]
    /// bytes (cut at a character) when not, whatever the value's size.
    #[test]
    fn a_value_is_shown_whole_or_cut_at_its_bound() {
        let small = serde_json::json!({ "a": [1, 2] });
        assert_eq!(
            clip_json(&small),
            serde_json::to_string_pretty(&small).expect("json")
        );
        let big = serde_json::json!({ "s": "é".repeat(5_000_000) });
        let shown = clip_json(&big);
        assert!(shown.ends_with("\n…"), "{}", &shown[shown.len() - 20..]);
        assert!(shown.len() <= JSON_SHOWN + "\n…".len(), "{}", shown.len());
        assert!(shown.starts_with("{\n  \"s\": \"éé"), "{}", &shown[..20]);
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }
}
