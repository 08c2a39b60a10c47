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
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        Error::Invalid(format!(
            "`{step}` input, field `{}`: {}",
            e.path(),
            e.inner()
        ))
    })
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
            // `case_id` beside the fields of a restriction update.
            let mut fields = value.as_object().cloned().unwrap_or_default();
            let case_id = fields.remove("case_id");
            let CaseRef { case_id } = input(step, &serde_json::json!({ "case_id": case_id }))?;
            let update: RestrictionUpdate = input(step, &serde_json::Value::Object(fields))?;
            output(platform.update_case_restrictions_once(
                caller,
                &case_id,
                update,
                idempotency_key,
            )?)
        }
    }
}
