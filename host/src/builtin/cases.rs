//! The five case steps of SPEC CS-4 as built-in steps: JSON in, JSON out.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Builtin;
use crate::Error;
use crate::platform::Platform;
use crate::principal::Caller;
use crate::services::cases::{CaseApi, CaseQuery, NewCase, RestrictionUpdate};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRef {
    case_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FromJson {
    /// The case as a JSON object, or as a string holding one.
    case: serde_json::Value,
}

/// Decodes a step input; errors name the step and the field.
fn input<T: DeserializeOwned>(step: &str, value: &serde_json::Value) -> Result<T, Error> {
    // Every input is an object: an array was read as its fields in order.
    crate::json_limits::not_an_array(&format!("`{step}` input"), value).map_err(Error::Invalid)?;
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        // At the root (a missing field, an input of another type), no field to name.
        let at = e.path().to_string();
        let why = crate::text::decoder_words(&e.inner().to_string());
        Error::Invalid(if at == "." {
            format!("`{step}` input: {why}")
        } else {
            format!(
                "`{step}` input, field `{}`: {why}",
                crate::text::decoder_words(&at)
            )
        })
    })
}

/// The fields a step's input may hold.
fn fields(builtin: Builtin) -> &'static [&'static str] {
    match builtin {
        Builtin::CreateCase => &[
            "title",
            "description",
            "severity",
            "state",
            "assignee",
            "reviewers",
            "access_mode",
            "collaborators",
            "fields",
        ],
        Builtin::CreateCaseFromJson => &["case"],
        Builtin::QueryCases => &["filter", "sort", "page_size", "cursor"],
        Builtin::GetCaseRestrictions => &["case_id"],
        Builtin::UpdateCaseRestrictions => &[
            "case_id",
            "access_mode",
            "set_collaborators",
            "add_collaborators",
            "remove_collaborators",
        ],
    }
}

/// See [`Builtin::written_input_errors`]: unknown fields, then the input decoded and checked
/// as a run checks it, each field written as a reference standing in as a value its field
/// always takes ([`stand_in`]): a written field beside a reference went unchecked, and
/// `update-case-restrictions` nearly always takes its `case_id` from one (round 18 review).
pub(super) fn written_input_errors(
    builtin: Builtin,
    literal: &serde_json::Map<String, serde_json::Value>,
    templated: &[&str],
) -> Vec<(Option<String>, String)> {
    let step = builtin.name();
    let known = fields(builtin);
    let unknown: Vec<(Option<String>, String)> = literal
        .keys()
        .map(String::as_str)
        .chain(templated.iter().copied())
        .filter(|key| !known.contains(key))
        .map(|key| {
            (
                Some(key.to_owned()),
                format!(
                    "`{step}` has no input field `{}`; it takes {}",
                    crate::text::clip(key),
                    known.join(", ")
                ),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return unknown;
    }
    let mut input = literal.clone();
    for key in templated {
        if let Some(value) = stand_in(key) {
            input.insert((*key).to_owned(), value);
        }
    }
    // A written cursor is read in the sort it was made for, which a reference chooses here.
    if templated.contains(&"sort") {
        input.remove("cursor");
    }
    let why = match checked(builtin, &serde_json::Value::Object(input)) {
        Ok(()) => return Vec::new(),
        Err(Error::Invalid(why)) => why,
        Err(e) => e.to_string(),
    };
    // Located at the field the message names, when it names one written out.
    let field = known
        .iter()
        .find(|f| literal.contains_key(**f) && why.contains(&format!("`{f}`")))
        .map(|f| (*f).to_owned());
    vec![(field, why)]
}

/// Whether input field `key` of a built-in step takes a list (of people): the one kind of
/// field a reference that is always a list may fill whole.
pub fn takes_list(key: &str) -> bool {
    matches!(
        key,
        "reviewers"
            | "collaborators"
            | "add_collaborators"
            | "remove_collaborators"
            | "set_collaborators"
    )
}

/// A value input field `key` always takes, standing in for the reference written there;
/// `None` for a field that may be left out (`state`, `assignee`, `text`, `fields`,
/// `cursor`), left out then: standing in as `null`, they met the refusal of a given `null`
/// (round 26), and no one value is always a good cursor.
pub(super) fn stand_in(key: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match key {
        "case_id" => json!("C-1"),
        "title" => json!("x"),
        "description" => json!(""),
        "severity" => json!("low"),
        "case" => json!({ "title": "x", "severity": "low" }),
        "filter" => json!({}),
        "sort" => json!("created_desc"),
        "page_size" => json!(0),
        "reviewers"
        | "collaborators"
        | "add_collaborators"
        | "remove_collaborators"
        | "set_collaborators" => json!([]),
        // A given `null` is refused wherever a mode is read.
        "access_mode" => json!("full_access"),
        _ => return None,
    })
}

/// `value` decoded as `builtin`'s input and checked as the case service checks it, without
/// running it.
fn checked(builtin: Builtin, value: &serde_json::Value) -> Result<(), Error> {
    use crate::cases::validate;
    let step = builtin.name();
    match builtin {
        Builtin::CreateCase => validate::new_case(&input::<NewCase>(step, value)?),
        Builtin::CreateCaseFromJson => {
            let FromJson { case } = input(step, value)?;
            let json = match case {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            crate::services::cases::parse_case_json(&json).map(drop)
        }
        Builtin::QueryCases => validate::query(&input::<CaseQuery>(step, value)?.normalized()),
        Builtin::GetCaseRestrictions => {
            let CaseRef { case_id } = input(step, value)?;
            validate::case_id(&case_id)
        }
        Builtin::UpdateCaseRestrictions => {
            let (case_id, update) = restriction_input(step, value)?;
            validate::case_id(&case_id)?;
            validate::restriction_update(&update)
        }
    }
}

/// An *Update case restrictions* input: `case_id` beside the fields of a restriction
/// update. An input of another shape, or without `case_id`, is named as such: read as an
/// empty object, its refusal blamed a `case_id` that was `null` (round 26 hostile-input
/// review).
fn restriction_input(
    step: &str,
    value: &serde_json::Value,
) -> Result<(String, RestrictionUpdate), Error> {
    let mut fields: serde_json::Map<String, serde_json::Value> = input(step, value)?;
    let Some(case_id) = fields.remove("case_id") else {
        return Err(Error::Invalid(format!(
            "`{step}` input: missing field `case_id`"
        )));
    };
    let CaseRef { case_id } = input(step, &serde_json::json!({ "case_id": case_id }))?;
    let update = input(step, &serde_json::Value::Object(fields))?;
    Ok((case_id, update))
}

fn output<T: serde::Serialize>(value: T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

pub(super) fn run(
    platform: &Platform,
    caller: &Caller,
    builtin: Builtin,
    value: &serde_json::Value,
    idempotency_key: Option<&str>,
) -> Result<serde_json::Value, Error> {
    let step = builtin.name();
    match builtin {
        Builtin::CreateCase => {
            let case: NewCase = input(step, value)?;
            output(platform.create_case_once(caller, case, idempotency_key)?)
        }
        Builtin::CreateCaseFromJson => {
            let FromJson { case } = input(step, value)?;
            let json = match case {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            // Same validation as *Create a case from JSON* everywhere (named fields).
            let parsed = crate::services::cases::parse_case_json(&json)?;
            output(platform.create_case_once(caller, parsed, idempotency_key)?)
        }
        Builtin::QueryCases => {
            let query: CaseQuery = input(step, value)?;
            output(platform.query_cases(caller, query)?)
        }
        Builtin::GetCaseRestrictions => {
            let CaseRef { case_id } = input(step, value)?;
            output(platform.get_case_restrictions(caller, &case_id)?)
        }
        Builtin::UpdateCaseRestrictions => {
            let (case_id, update) = restriction_input(step, value)?;
            output(platform.update_case_restrictions_once(
                caller,
                &case_id,
                update,
                idempotency_key,
            )?)
        }
    }
}
