//! Interaction forms in HTML: rendered from their definition, and a browser's answers turned
//! into the JSON values `interact/form.rs` checks (the same check as the CLI's; this only
//! reads text fields as their field's type, naming the field when one does not read).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::html::{esc, visible};
use crate::definition::form::{FieldKind, Form, MAX_ANSWER_TEXT_CHARS};

/// The inputs of `form`, filled with what was `given` (after a refused answer).
pub(super) fn render(form: &Form, given: &[(String, String)]) -> String {
    let mut out = String::new();
    for field in &form.fields {
        let name = esc(&field.name);
        let label = visible(field.label.as_deref().unwrap_or(&field.name));
        let value = given
            .iter()
            .find(|(k, _)| *k == field.name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let required = if field.required { " required" } else { "" };
        let hint = if field.required {
            ""
        } else {
            " <span class=\"hint\">(optional)</span>"
        };
        let _ = write!(out, "<label for=\"f-{name}\">{label}{hint}</label>");
        match &field.kind {
            // Several lines, as the API and the CLI take them (round 21 web review: a pasted
            // justification was flattened by a one-line input).
            FieldKind::Text => {
                let _ = write!(
                    out,
                    // The line break after the tag is the one HTML drops: a value's own
                    // first line break is kept.
                    // At most what an answer's text may hold, told as typed, not after
                    // the post (round 22 web review; a browser counts a line break once,
                    // as the check does once it is LF).
                    "<textarea id=\"f-{name}\" name=\"{name}\" rows=\"3\" \
                     maxlength=\"{MAX_ANSWER_TEXT_CHARS}\"{required}>\n{}</textarea>",
                    esc(value)
                );
            }
            FieldKind::Number => input(&mut out, "number\" step=\"any", &name, value, required),
            FieldKind::Email => input(&mut out, "email", &name, value, required),
            FieldKind::Boolean => select(
                &mut out,
                &name,
                value,
                required,
                &[("true", "Yes"), ("false", "No")],
            ),
            FieldKind::Choice { options } => {
                let pairs: Vec<(&str, &str)> =
                    options.iter().map(|o| (o.as_str(), o.as_str())).collect();
                select(&mut out, &name, value, required, &pairs);
            }
        }
    }
    out
}

fn input(out: &mut String, kind: &str, name: &str, value: &str, required: &str) {
    let _ = write!(
        out,
        "<input id=\"f-{name}\" name=\"{name}\" type=\"{kind}\" value=\"{}\"{required}>",
        esc(value)
    );
}

fn select(out: &mut String, name: &str, value: &str, required: &str, options: &[(&str, &str)]) {
    let _ = write!(
        out,
        "<select id=\"f-{name}\" name=\"{name}\"{required}><option value=\"\">—</option>"
    );
    for (v, shown) in options {
        let selected = if *v == value { " selected" } else { "" };
        let _ = write!(
            out,
            "<option value=\"{}\"{selected}>{}</option>",
            esc(v),
            visible(shown)
        );
    }
    out.push_str("</select>");
}

/// A page of the form at `action` as it was posted, when the page's own reads were refused
/// for now and its form is not at hand: each field a text box holding what was typed, to
/// send again (round 18 web review: a flow start's or an answer's typed text was lost).
pub(super) fn as_posted(
    title: &str,
    action: &str,
    session: &crate::signin::Session,
    posted: &[(String, String)],
    why: &str,
) -> axum::response::Html<String> {
    let mut fields = String::new();
    for (name, value) in posted.iter().filter(|(name, _)| name != "csrf") {
        let _ = write!(
            fields,
            // After the tag, the line break HTML drops: the value's own first one is kept
            // (round 22 web review: the form sent again lost it).
            "<p><label>{}<br><textarea name=\"{}\">\n{}</textarea></label></p>",
            visible(name),
            esc(name),
            esc(value)
        );
    }
    let body = format!(
        "<h1>{}</h1><p class=\"error\">{}</p><form method=\"post\" action=\"{}\">{}{fields}\
         <p><button type=\"submit\">Send again</button></p></form>",
        visible(title),
        esc(why),
        esc(action),
        super::html::csrf_field(&session.csrf),
    );
    super::html::page(title, Some(session), &body)
}

/// The answer a browser posted, as JSON for [`Form::check`]: each field of the form read as
/// its type; an empty field is absent. What does not read as its field's type goes on as the
/// text it is, a field sent twice as the list of what was sent, and fields the form does not
/// have as they are: the form's own check (the service's, the same as the CLI's) refuses each
/// naming the field, and that refusal is audited as through any door (SPEC IX-8). The CSRF
/// field is not an answer.
pub(super) fn values(form: &Form, posted: &[(String, String)]) -> Value {
    let mut out = Map::new();
    for (name, raw) in posted {
        if name == super::html::CSRF_FIELD || raw.is_empty() {
            continue;
        }
        let value = read(form, name, raw);
        match out.get_mut(name) {
            // A field read is never a list: a list is a field sent more than once.
            Some(Value::Array(sent)) => sent.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                out.insert(name.clone(), value);
            }
        }
    }
    Value::Object(out)
}

/// `raw`, posted for field `name`, read as that field's type; as text when it does not read.
fn read(form: &Form, name: &str, raw: &str) -> Value {
    let kind = form.fields.iter().find(|f| f.name == name).map(|f| &f.kind);
    let read = match kind {
        // A whole number stays one (`3`, not `3.0`), as the API and the CLI read it, up to
        // 2^64-1; an integer they refuse as not read exactly stays text, refused as not a
        // number by the form's check (a rounded float where the other doors differed;
        // hostile-input review).
        Some(FieldKind::Number) => {
            let raw = raw.trim();
            if crate::json_limits::inexact_integer(raw).is_some() {
                None
            } else {
                raw.parse::<i64>()
                    .ok()
                    .map(Value::from)
                    .or_else(|| raw.parse::<u64>().ok().map(Value::from))
                    .or_else(|| {
                        raw.parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map(Value::Number)
                    })
            }
        }
        Some(FieldKind::Boolean) => match raw {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    // Text as posted: the form reads a text area's CRLF line breaks as LF for every door.
    read.unwrap_or_else(|| Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::form::Field;

    fn form() -> Form {
        let field = |name: &str, kind, required| Field {
            name: name.into(),
            kind,
            label: None,
            required,
        };
        Form {
            fields: vec![
                field("ok", FieldKind::Boolean, true),
                field("n", FieldKind::Number, false),
                field("note", FieldKind::Text, false),
            ],
        }
    }

    fn posted(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn posted_text_reads_as_each_fields_type() {
        let v = values(
            &form(),
            &posted(&[("ok", "true"), ("n", "2.5"), ("note", ""), ("csrf", "x")]),
        );
        assert_eq!(v, serde_json::json!({ "ok": true, "n": 2.5 }));
        assert!(form().check(&v).is_ok());
        // A text area's lines as the other doors carry them (round 21 web review), read as
        // LF by the form's check, which every door's answer passes (round 22).
        let lines = values(&form(), &posted(&[("ok", "true"), ("note", "a\r\nb")]));
        let checked = form().check(&lines).expect("checked");
        assert_eq!(checked["note"], "a\nb");
        assert!(
            render(&form(), &[])
                .contains("<textarea id=\"f-note\" name=\"note\" rows=\"3\" maxlength=\"16000\">")
        );
        // A whole number stays whole, as the API and the CLI read it (it was `3.0`).
        let whole = values(&form(), &posted(&[("ok", "true"), ("n", " 3 ")]));
        assert_eq!(whole["n"], serde_json::json!(3));
        assert!(whole["n"].is_i64(), "{whole}");
        // Up to 2^64-1 exactly, as the JSON doors; past it refused (kept as text) unless it
        // is a double's own text (hostile-input review: both were rounded floats).
        let big = values(
            &form(),
            &posted(&[("ok", "true"), ("n", "18446744073709551615")]),
        );
        assert_eq!(big["n"], serde_json::json!(u64::MAX));
        let past = values(
            &form(),
            &posted(&[("ok", "true"), ("n", "98765432109876543210")]),
        );
        assert_eq!(past["n"], serde_json::json!("98765432109876543210"));
        assert!(form().check(&past).is_err());
        let double = values(
            &form(),
            &posted(&[("ok", "true"), ("n", "18446744073709552000")]),
        );
        assert!(double["n"].is_f64(), "{double}");
    }

    /// What does not read goes on for the form's check to refuse, naming the field, so that
    /// the refusal is audited (SPEC IX-8).
    #[test]
    fn unreadable_answers_are_refused_by_the_forms_check_naming_the_field() {
        for (pairs, named) in [
            (
                &[("ok", "true"), ("n", "ten")][..],
                "field `n` expects a number",
            ),
            (&[("ok", "maybe")][..], "field `ok` expects true or false"),
            (&[("ok", "true"), ("ok", "false")][..], "field `ok`"),
            (&[("ok", "true"), ("x", "1")][..], "`x`"),
        ] {
            let v = values(&form(), &posted(pairs));
            let err = form().check(&v).expect_err("refused");
            assert!(err.contains(named), "{pairs:?}: {err}");
        }
        assert_eq!(
            values(
                &form(),
                &posted(&[("note", "a"), ("note", "b"), ("note", "c")])
            ),
            serde_json::json!({ "note": ["a", "b", "c"] })
        );
    }
}
