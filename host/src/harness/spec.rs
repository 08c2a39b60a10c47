//! The expectation file format: `<name>.test.json` beside the workflow `<name>.json`.
//! Paths inside are relative to the expectation file. See the README's "Testing workflows".

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One expectation file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    #[serde(default)]
    pub description: String,
    /// The tenant fixture applied to the fresh database.
    pub tenant: String,
    /// SSO logins performed after the tenant is applied, in order.
    #[serde(default)]
    pub sso_logins: Vec<SsoLogin>,
    /// Other workflow files published before the test (by `publish_as`).
    #[serde(default)]
    pub publish: Vec<String>,
    /// Who publishes: the workflow under test too when `when` needs it published.
    // Given as `null`, refused, not read as left out (round 28 input review), as below.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub publish_as: Option<Who>,
    /// What starts the run under test.
    pub when: When,
    /// Per-step mocked outputs (`{"output": ...}`) or failures (`{"error": "..."}`), by step key.
    #[serde(default)]
    pub mocks: BTreeMap<String, Mock>,
    /// Scripted answers to the interactions the run waits on, in order.
    #[serde(default)]
    pub interactions: Vec<Answer>,
    pub expect: Expect,
}

/// A principal as a test names it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Who {
    #[serde(rename = "as")]
    pub email: String,
    #[serde(default)]
    pub sso: bool,
}

/// An SSO login: the IdP and the claims presented.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoLogin {
    pub idp: String,
    pub claims: Value,
}

/// What starts the run under test.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum When {
    /// A manual run as a person, with `$.event`.
    Run {
        #[serde(flatten)]
        who: Who,
        /// `$.event`: `{}` when left out; `null` is `null`, as at the CLI and the API
        /// (round 23 steps review).
        #[serde(default, deserialize_with = "crate::json_limits::present")]
        event: Option<Value>,
    },
    /// An Interaction Flow started by its form (the workflow is published first).
    Start {
        #[serde(flatten)]
        who: Who,
        #[serde(default, deserialize_with = "crate::json_limits::given")]
        workspace: Option<String>,
        values: Value,
    },
    /// A case created by a person; the (published) workflow under test is triggered by it.
    CaseCreated {
        #[serde(flatten)]
        who: Who,
        case: Value,
    },
}

/// A mocked step.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Mock {
    Output(Value),
    Error(String),
}

/// One scripted response.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    #[serde(flatten)]
    pub who: Who,
    pub values: Value,
    /// `accepted` (default), `denied`, `not_found` (an outsider, SPEC ID-4), `invalid` or
    /// `conflict`.
    #[serde(default = "accepted")]
    pub expect: String,
    /// The journal key of the step whose interaction it answers; needed when several are
    /// open at once (branches of a `parallel`), whose order no definition decides.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub step: Option<String>,
}

fn accepted() -> String {
    "accepted".into()
}

/// Assertions on the run under test and on what it left behind. An optional assertion
/// given as `null` is refused: read as left out, it checked nothing, and `"collaborators":
/// null` passed whatever people were left on the case (round 27 hostile-input review).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub exit_status: Option<String>,
    /// The exit output, exactly (`null` too).
    #[serde(default, deserialize_with = "crate::json_limits::present")]
    pub output: Option<Value>,
    /// JSONPath (RFC 9535) into the output → the value it must select.
    #[serde(default)]
    pub output_matches: BTreeMap<String, Value>,
    /// A fragment of the run's error; never empty (an empty one is in every error).
    #[serde(default, deserialize_with = "fragment")]
    pub error_contains: Option<String>,
    /// Journaled steps: key → status, and optionally a fragment of the error.
    #[serde(default)]
    pub steps: BTreeMap<String, StepExpect>,
    /// Event kind → how many the test's runs emitted (case events included), since the run
    /// under test started: the setup's own (a `case_created` test's case) are not counted.
    #[serde(default)]
    pub events: BTreeMap<String, i64>,
    /// Cases afterwards, matched by title.
    #[serde(default)]
    pub cases: Vec<CaseExpect>,
    /// Audit entries that must exist (action, and actor when given), written since the run
    /// under test started: the setup's SSO logins and publishes are not.
    #[serde(default)]
    pub audit: Vec<AuditExpect>,
    /// Workflow name → status → how many runs of it ended so (triggered runs included).
    #[serde(default)]
    pub runs: BTreeMap<String, BTreeMap<String, i64>>,
}

impl Expect {
    /// Whether it asserts nothing at all.
    pub fn names_nothing(&self) -> bool {
        self.given_of_a_run().is_empty() && self.status.is_none() && self.error_contains.is_none()
    }

    /// `Err` naming the first expectation that names what cannot be: a status no run has
    /// (`waiting`: a run on hold is `on_hold`), an event kind no step or case can emit, a
    /// workflow under `runs` with no status to count. Each passed whatever the run did
    /// (`"waiting": 0` always held; steps and projects review).
    pub fn check_names(&self) -> Result<(), String> {
        for kind in self.events.keys() {
            if crate::definition::model::CASE_EVENTS.contains(&kind.as_str()) {
                continue;
            }
            crate::services::events::check_kind(kind)
                .map_err(|e| format!("expect.events.{kind}: {e}"))?;
        }
        for (workflow, statuses) in &self.runs {
            if statuses.is_empty() {
                return Err(format!(
                    "expect.runs.{workflow}: give a status and how many runs ended so"
                ));
            }
            for status in statuses.keys() {
                if crate::runs::RunStatus::parse(status).is_none() {
                    return Err(format!(
                        "expect.runs.{workflow}.{status}: not a run status; expected one of {}",
                        crate::runs::RunStatus::NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    /// The fields given that only a run can meet (beyond `status` and `error_contains`).
    pub fn given_of_a_run(&self) -> Vec<&'static str> {
        [
            ("exit_status", self.exit_status.is_some()),
            ("output", self.output.is_some()),
            ("output_matches", !self.output_matches.is_empty()),
            ("steps", !self.steps.is_empty()),
            ("events", !self.events.is_empty()),
            ("cases", !self.cases.is_empty()),
            ("audit", !self.audit.is_empty()),
            ("runs", !self.runs.is_empty()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

/// A journaled step's expected outcome.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepExpect {
    pub status: String,
    /// How many times the step ran (SPEC WF-5: its retries); any number when not written.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub attempts: Option<u32>,
    /// A fragment of the step's error; never empty.
    #[serde(default, deserialize_with = "fragment")]
    pub error_contains: Option<String>,
}

/// A case's expected state.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseExpect {
    pub title: String,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub access_mode: Option<String>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub collaborators: Option<Vec<String>>,
}

/// An audit entry that must exist.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditExpect {
    pub action: String,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub actor: Option<String>,
}

/// A fragment an error must contain: an empty one is contained in every error, and
/// `"error_contains": ""` passed any run (steps and projects review).
fn fragment<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    if text.is_empty() {
        return Err(serde::de::Error::custom(
            "an empty `error_contains` is in every error: name a fragment of the one expected",
        ));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_error_fragment_is_refused() {
        let refused = serde_json::from_str::<Expect>(r#"{ "error_contains": "" }"#)
            .expect_err("an empty fragment");
        assert!(refused.to_string().contains("every error"), "{refused}");
        let refused = serde_json::from_str::<Expect>(
            r#"{ "steps": { "a": { "status": "failed", "error_contains": "" } } }"#,
        )
        .expect_err("an empty fragment of a step");
        assert!(refused.to_string().contains("every error"), "{refused}");
        let given: Expect = serde_json::from_str(r#"{ "error_contains": "x" }"#).expect("reads");
        assert_eq!(given.error_contains.as_deref(), Some("x"));
    }

    /// `"output": null` expects a null output; no `output` expects nothing of it.
    #[test]
    fn an_expected_null_output_is_an_expectation() {
        let given: Expect = serde_json::from_str(r#"{ "output": null }"#).expect("reads");
        assert_eq!(given.output, Some(Value::Null));
        let absent: Expect = serde_json::from_str("{}").expect("reads");
        assert_eq!(absent.output, None);
        let step: crate::stepkit::cases::Expect =
            serde_json::from_str(r#"{ "output": null }"#).expect("reads");
        assert_eq!(step.output, Some(Value::Null));
    }

    /// A refused start meets `status` and `error_contains` alone: anything else given is a
    /// mismatch, and an expectation of nothing is no test (polyglot review).
    #[test]
    fn a_refused_start_checks_only_what_it_can_and_says_so() {
        let only: Expect =
            serde_json::from_str(r#"{ "status": "refused", "error_contains": "denied" }"#)
                .expect("reads");
        assert!(super::super::check::refused_start(&only, "denied: no").is_empty());
        let more: Expect = serde_json::from_str(
            r#"{ "status": "refused", "cases": [ { "title": "x" } ], "events": { "e": 1 } }"#,
        )
        .expect("reads");
        let found = super::super::check::refused_start(&more, "denied: no");
        assert_eq!(found.len(), 2, "{found:?}");
        let none: Expect = serde_json::from_str("{}").expect("reads");
        assert!(none.names_nothing());
        assert!(!only.names_nothing());
    }

    /// Where a start's workspace, an answer's step or who publishes is given as `null`, the
    /// file is refused: read as left out, the flow started in its source workspace and the
    /// answer went to whichever interaction was open (round 28 input review).
    #[test]
    fn a_start_answer_or_publisher_given_as_null_is_refused() {
        let start = |workspace: &str| {
            format!(
                r#"{{ "tenant": "t.json", "when": {{ "start": {{ "as": "a@x.test",
                   "workspace": {workspace}, "values": {{}} }} }}, "expect": {{}} }}"#
            )
        };
        let err = serde_json::from_str::<TestSpec>(&start("null")).expect_err("refused");
        assert!(err.to_string().contains("null"), "{err}");
        serde_json::from_str::<TestSpec>(&start(r#""soc""#)).expect("a workspace reads");
        let err =
            serde_json::from_str::<Answer>(r#"{ "as": "a@x.test", "values": {}, "step": null }"#)
                .expect_err("refused");
        assert!(err.to_string().contains("null"), "{err}");
        let err = serde_json::from_str::<TestSpec>(
            r#"{ "tenant": "t.json", "publish_as": null, "when": { "run": { "as": "a@x.test" } }, "expect": {} }"#,
        )
        .expect_err("refused");
        assert!(err.to_string().contains("null"), "{err}");
    }
}
