//! Interaction forms in HTML: rendered from their definition, and a browser's answers turned
//! into the JSON values `interact/form.rs` checks (the same check as the CLI's; this only
//! reads text fields as their field's type, naming the field when one does not read).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::html::esc;
use crate::definition::form::{FieldKind, Form};

/// The inputs of `form`, filled with what was `given` (after a refused answer).
pub(super) fn render(form: &Form, given: &[(String, String)]) -> String {
    let mut out = String::new();
    for field in &form.fields {
        let name = esc(&field.name);
        let label = esc(field.label.as_deref().unwrap_or(&field.name));
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
            FieldKind::Text => input(&mut out, "text", &name, value, required),
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
            esc(shown)
        );
    }
    out.push_str("</select>");
}

/// The answer a browser posted, as JSON for [`Form::check`]: each field of the form read as
/// its type; an empty field is absent. Fields the form does not have are passed on, so the
/// check names them; the CSRF field is not an answer.
pub(super) fn values(form: &Form, posted: &[(String, String)]) -> Result<Value, String> {
    let mut out = Map::new();
    for (name, raw) in posted {
        if name == super::html::CSRF_FIELD || raw.is_empty() {
            continue;
        }
        if out.contains_key(name) {
            return Err(format!(
                "field `{}` was sent twice",
                crate::text::clip(name)
            ));
        }
        let value = match form
            .fields
            .iter()
            .find(|f| f.name == *name)
            .map(|f| &f.kind)
        {
            Some(FieldKind::Number) => raw
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| {
                    format!(
                        "field `{name}` expects a number, got `{}`",
                        crate::text::clip(raw)
                    )
                })?,
            Some(FieldKind::Boolean) => match raw.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                other => {
                    return Err(format!(
                        "field `{name}` expects yes or no, got `{}`",
                        crate::text::clip(other)
                    ));
                }
            },
            _ => Value::String(raw.clone()),
        };
        out.insert(name.clone(), value);
    }
    Ok(Value::Object(out))
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
        )
        .expect("reads");
        assert_eq!(v, serde_json::json!({ "ok": true, "n": 2.5 }));
        assert!(form().check(&v).is_ok());
    }

    #[test]
    fn unreadable_answers_name_the_field() {
        let err = values(&form(), &posted(&[("n", "ten")])).expect_err("not a number");
        assert!(err.contains("field `n` expects a number"), "{err}");
        let err = values(&form(), &posted(&[("ok", "maybe")])).expect_err("not a boolean");
        assert!(err.contains("field `ok`"), "{err}");
        // Unknown fields go through to the form's own check, which names them.
        let v = values(&form(), &posted(&[("ok", "true"), ("x", "1")])).expect("passed on");
        assert!(
            form()
                .check(&v)
                .expect_err("unknown")
                .contains("unknown field `x`")
        );
    }

    #[test]
    fn rendered_fields_are_escaped() {
        let html = render(&form(), &posted(&[("note", "<b>\"hi\"</b>")]));
        assert!(
            html.contains("value=\"&lt;b&gt;&quot;hi&quot;&lt;/b&gt;\""),
            "{html}"
        );
    }
}
