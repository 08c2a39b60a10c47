//! Interaction forms: the fields a person fills in, and checking their answers against them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::principal::Email;

/// The most characters a text field's answer may hold.
pub const MAX_ANSWER_TEXT_CHARS: usize = 16_000;

/// The most bytes of JSON an answer as a whole may take: what every door carries (the API's
/// 256 KiB body even with every character escaped, the web's 1 MiB form with every byte
/// URL-encoded), so an answer one door takes no other refuses as too large (round 20 web
/// review: 17 text fields at their cap passed the CLI and were the API's 413).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The most fields a form may have.
pub const MAX_FORM_FIELDS: usize = 64;

/// The most options a `choice` field may offer.
pub const MAX_CHOICE_OPTIONS: usize = 256;

/// The most characters of a field's label or a choice's option.
pub const MAX_FORM_TEXT_CHARS: usize = 1_000;

/// The most bytes a form's JSON may take: each interaction opened stores its form, and each
/// list of open interactions reads them (a form of 20,000 options stored ten thousand times
/// made one page parse gigabytes; review).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// What a field accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Boolean,
    Email,
    /// One of a fixed list of options.
    Choice {
        options: Vec<String>,
    },
}

impl FieldKind {
    /// What an answer to such a field is: `text` (free text, an address or one of a
    /// choice's options), `a number`, or `true or false`.
    pub(crate) fn answer_is(&self) -> &'static str {
        match self {
            FieldKind::Text | FieldKind::Email | FieldKind::Choice { .. } => "text",
            FieldKind::Number => "a number",
            FieldKind::Boolean => "true or false",
        }
    }

    /// What an answer to such a field always is, when `value` can never equal one as
    /// conditions compare ([`crate::definition::conditions::same`]: addresses and severity
    /// names in any case): another JSON type, or text none of a choice's options is. `None`
    /// when it may be one; a `null` is an answer left out.
    pub(crate) fn never_answered_by(&self, value: &Value) -> Option<String> {
        let what = match self {
            FieldKind::Text | FieldKind::Email => "text",
            FieldKind::Number => "a number",
            FieldKind::Boolean => "true or false",
            FieldKind::Choice { options } => {
                let equals_one = options
                    .iter()
                    .any(|o| crate::definition::conditions::same(&Value::String(o.clone()), value));
                if value.is_null() || equals_one {
                    return None;
                }
                let shown: Vec<_> = options.iter().map(|o| crate::text::clip(o)).collect();
                return Some(format!("one of {}", shown.join(", ")));
            }
        };
        let may = matches!(
            (self, value),
            (_, Value::Null)
                | (FieldKind::Text | FieldKind::Email, Value::String(_))
                | (FieldKind::Number, Value::Number(_))
                | (FieldKind::Boolean, Value::Bool(_))
        );
        (!may).then(|| what.to_owned())
    }
}

/// One field of a form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub required: bool,
}

/// A form: its fields in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub fields: Vec<Field>,
}

/// The name of the web form's own token field (`server/web`): no form field may take it.
pub const WEB_TOKEN_FIELD: &str = "csrf";

/// The field types a definition may use.
pub const FIELD_TYPES: &[&str] = &["text", "number", "boolean", "email", "choice"];

impl Form {
    /// Checks `values` against the form: an object with only known fields, every required
    /// field present, each value of its field's type. Errors name the field.
    pub fn check(&self, values: &Value) -> Result<Map<String, Value>, String> {
        let Some(given) = values.as_object() else {
            return Err(format!(
                "expected the values as a JSON object of field → value, got {}",
                crate::text::clip(&values.to_string())
            ));
        };
        if let Some(unknown) = given
            .keys()
            .find(|k| !self.fields.iter().any(|f| &f.name == *k))
        {
            let known: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
            return Err(format!(
                "unknown field `{}`; the form has: {}",
                crate::text::clip(unknown),
                known.join(", ")
            ));
        }
        let mut out = Map::new();
        for field in &self.fields {
            match given.get(&field.name) {
                None | Some(Value::Null) if field.required => {
                    return Err(format!("field `{}` is required", field.name));
                }
                // Blank text is no answer to a required field, as the web reads a blank
                // input (round 15 web review: the API and the CLI took `""`).
                // Nor is text of invisible characters alone (a zero-width space: round 18
                // web review).
                Some(Value::String(s)) if field.required && looks_blank(s) => {
                    return Err(format!("field `{}` is required", field.name));
                }
                // An optional field left empty is no answer at every door, as the web reads
                // an empty input (round 21 web review: the API and the CLI refused `""` for
                // an email, a number, a boolean or a choice, and kept it for text, so `?` and
                // `exists` took another branch by door).
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.is_empty() => {}
                Some(v) => {
                    out.insert(field.name.clone(), field.value(v)?);
                }
            }
        }
        if crate::json_limits::text_len_within(&out, MAX_ANSWER_BYTES).is_none() {
            return Err(format!(
                "the answers take more than {MAX_ANSWER_BYTES} bytes as JSON; shorten the \
                 longest text"
            ));
        }
        Ok(out)
    }
}

impl Field {
    fn value(&self, v: &Value) -> Result<Value, String> {
        let wrong = |expected: &str| {
            Err(format!(
                "field `{}` expects {expected}, got {}",
                self.name,
                crate::text::clip(&v.to_string())
            ))
        };
        match (&self.kind, v) {
            // An answer is copied into the run's event, the journal and the audit log, which
            // is never pruned: its text is bounded (IX review).
            // A line break is LF at every door: a browser posts a text area's as CRLF, and a
            // file written on Windows holds them too (an answer's text branched by door).
            (FieldKind::Text, Value::String(s)) => {
                let s = s.replace("\r\n", "\n");
                let chars = s.chars().count();
                if chars > MAX_ANSWER_TEXT_CHARS {
                    Err(format!(
                        "field `{}` holds {chars} characters; an answer's text may hold at \
                         most {MAX_ANSWER_TEXT_CHARS}",
                        self.name,
                    ))
                } else {
                    Ok(Value::String(s))
                }
            }
            (FieldKind::Number, Value::Number(_)) | (FieldKind::Boolean, Value::Bool(_)) => {
                Ok(v.clone())
            }
            // An address entering as an answer, as one invited (round 21 web review: what a
            // mail client brings along, `<a@b.test>`, `mailto:`, was stored and failed later
            // steps as "not a member").
            (FieldKind::Email, Value::String(s)) => Email::parse_new(s)
                .map(|e| Value::String(e.to_string()))
                .map_err(|e| format!("field `{}`: {e}", self.name)),
            (FieldKind::Choice { options }, Value::String(s)) if options.contains(s) => {
                Ok(v.clone())
            }
            // Written out: an option stored with a hidden character read as the answer typed.
            (FieldKind::Choice { options }, _) => {
                let shown: Vec<_> = options.iter().map(|o| crate::text::clip(o)).collect();
                wrong(&format!("one of {}", shown.join(", ")))
            }
            (FieldKind::Text, _) => wrong("text"),
            (FieldKind::Number, _) => wrong("a number"),
            (FieldKind::Boolean, _) => wrong("true or false"),
            (FieldKind::Email, _) => wrong("an email address"),
        }
    }
}

/// Whether `text` shows nothing: whitespace and invisible characters only.
fn looks_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || crate::text::is_hidden_at(None, c, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A refused answer's message is audited on every attempt: it quotes what was given by
    /// its start and size, never whole (a 1 MB answer made a 1 MB audit entry).
    #[test]
    fn a_refused_answer_is_quoted_by_its_start_and_size() {
        let huge = "x".repeat(1 << 20);
        for values in [
            json!({ "approve": huge }),
            json!([huge]),
            json!({ huge.clone(): true }),
        ] {
            let refused = form().check(&values).expect_err("refused");
            assert!(refused.len() < 400, "{} bytes", refused.len());
            assert!(refused.contains(" bytes)"), "{refused}");
        }
    }

    /// An optional field left empty is no answer, as the web reads an empty input, whatever
    /// its type; a required one is still refused; an address takes nothing a mail client
    /// brings along (round 21 web review).
    #[test]
    fn an_empty_optional_answer_is_no_answer_and_an_address_is_checked_as_new() {
        let field = |name: &str, kind, required| Field {
            name: name.into(),
            kind,
            label: None,
            required,
        };
        let form = Form {
            fields: vec![
                field("notes", FieldKind::Text, false),
                field("who", FieldKind::Email, false),
                field("n", FieldKind::Number, false),
                field("ok", FieldKind::Boolean, false),
                field("verdict", FieldKind::Text, true),
            ],
        };
        let taken = form
            .check(&json!({ "notes": "", "who": "", "n": "", "ok": "", "verdict": "close" }))
            .expect("empty optional answers are none");
        assert_eq!(Value::Object(taken), json!({ "verdict": "close" }));
        // A line break is LF whatever door it came through (round 22 hostile-input review:
        // the web's CRLF was read as LF, the API's and a Windows file's kept).
        let taken = form
            .check(&json!({ "notes": "a\r\nb", "verdict": "x\r\n" }))
            .expect("text answers");
        assert_eq!(
            Value::Object(taken),
            json!({ "notes": "a\nb", "verdict": "x\n" })
        );
        let refused = form.check(&json!({ "verdict": "" })).expect_err("required");
        assert!(refused.contains("`verdict` is required"), "{refused}");
        for address in ["<a@b.test>", "mailto:a@b.test", "a@b.test;"] {
            let refused = form
                .check(&json!({ "who": address, "verdict": "x" }))
                .expect_err(address);
            assert!(refused.contains("field `who`"), "{refused}");
        }
        let who = form
            .check(&json!({ "who": "A@B.test", "verdict": "x" }))
            .expect("an address");
        assert_eq!(who["who"], "a@b.test");
    }

    /// An answer as a whole is bounded as every door can carry it: 17 text fields at their
    /// cap passed the CLI and were the API's 413 (round 20 web review).
    #[test]
    fn an_answer_as_a_whole_is_bounded() {
        let fields = (0..17)
            .map(|i| Field {
                name: format!("f{i}"),
                kind: FieldKind::Text,
                label: None,
                required: false,
            })
            .collect();
        let form = Form { fields };
        let answer = |len: usize| {
            Value::Object(
                (0..17)
                    .map(|i| (format!("f{i}"), json!("x".repeat(len))))
                    .collect(),
            )
        };
        let refused = form
            .check(&answer(MAX_ANSWER_TEXT_CHARS))
            .expect_err("272 KB");
        assert!(refused.contains("more than 65536 bytes"), "{refused}");
        assert!(form.check(&answer(3_000)).is_ok());
    }

    /// An answer's text is bounded: it is copied into the run, the journal and the audit
    /// log, which is never pruned (IX review).
    #[test]
    fn an_answers_text_is_bounded() {
        let notes = Form {
            fields: vec![Field {
                name: "notes".into(),
                kind: FieldKind::Text,
                label: None,
                required: true,
            }],
        };
        let fits = "x".repeat(MAX_ANSWER_TEXT_CHARS);
        assert!(notes.check(&json!({ "notes": fits })).is_ok());
        let over = "x".repeat(MAX_ANSWER_TEXT_CHARS + 1);
        let refused = notes.check(&json!({ "notes": over })).expect_err("refused");
        assert!(refused.contains("at most 16000"), "{refused}");
    }

    fn form() -> Form {
        Form {
            fields: vec![
                Field {
                    name: "approve".into(),
                    kind: FieldKind::Boolean,
                    label: None,
                    required: true,
                },
                Field {
                    name: "tier".into(),
                    kind: FieldKind::Choice {
                        options: vec!["gold".into(), "silver".into()],
                    },
                    label: None,
                    required: false,
                },
                Field {
                    name: "contact".into(),
                    kind: FieldKind::Email,
                    label: None,
                    required: false,
                },
                Field {
                    name: "why".into(),
                    kind: FieldKind::Text,
                    label: None,
                    required: false,
                },
            ],
        }
    }

    #[test]
    fn good_values_pass_and_emails_are_normalized() {
        let out = form()
            .check(&json!({ "approve": true, "tier": "gold", "contact": " Bob@X.test " }))
            .expect("valid");
        assert_eq!(out["contact"], "bob@x.test");
    }

    #[test]
    fn bad_values_name_the_field() {
        let f = form();
        for (values, needle) in [
            (json!({}), "field `approve` is required"),
            (
                json!({ "approve": "yes" }),
                "field `approve` expects true or false",
            ),
            (
                json!({ "approve": true, "tier": "bronze" }),
                "field `tier` expects one of gold, silver",
            ),
            (
                json!({ "approve": true, "extra": 1 }),
                "unknown field `extra`",
            ),
            (
                json!({ "approve": true, "contact": "nobody" }),
                "field `contact`",
            ),
            (json!([true]), "expected the values as a JSON object"),
        ] {
            let err = f.check(&values).expect_err(&values.to_string());
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
        // Blank text answers no required field, as the web reads a blank input; an optional
        // one takes it (round 15 web review).
        let mut required = form();
        required.fields[3].required = true;
        for values in [
            json!({ "approve": true, "why": "" }),
            json!({ "approve": true, "why": "  \n" }),
            json!({ "approve": true, "why": "\u{200b} \u{2060}" }),
        ] {
            let err = required.check(&values).expect_err(&values.to_string());
            assert!(err.contains("field `why` is required"), "{err}");
        }
        assert!(f.check(&json!({ "approve": true, "why": "" })).is_ok());
    }
}
