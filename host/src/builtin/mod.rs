//! Built-in steps: named steps implemented by the host, called with a JSON input as the run's
//! principal. The case steps go through the same case service as WASM steps and the CLI.

mod cases;
pub use cases::takes_list;

use crate::Error;
use crate::platform::Platform;
use crate::principal::Caller;

/// A built-in step, parsed once from the name a workflow definition `uses` (at definition
/// parse time), so that the engine never matches names at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `cases/create-case`
    CreateCase,
    /// `cases/create-case-from-json`
    CreateCaseFromJson,
    /// `cases/query-cases`
    QueryCases,
    /// `cases/get-case-restrictions`
    GetCaseRestrictions,
    /// `cases/update-case-restrictions`
    UpdateCaseRestrictions,
}

impl Builtin {
    /// Every built-in step, in the order error messages list them.
    pub const ALL: &'static [Builtin] = &[
        Builtin::CreateCase,
        Builtin::CreateCaseFromJson,
        Builtin::QueryCases,
        Builtin::GetCaseRestrictions,
        Builtin::UpdateCaseRestrictions,
    ];

    /// The built-in step named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Builtin> {
        Self::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// The name a workflow definition `uses`.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::CreateCase => "cases/create-case",
            Builtin::CreateCaseFromJson => "cases/create-case-from-json",
            Builtin::QueryCases => "cases/query-cases",
            Builtin::GetCaseRestrictions => "cases/get-case-restrictions",
            Builtin::UpdateCaseRestrictions => "cases/update-case-restrictions",
        }
    }

    /// Whether the step may write (create or change something). The engine commits a run's
    /// earlier journal entries before such a step (see `workflow::pending`).
    pub fn writes(self) -> bool {
        !matches!(self, Builtin::QueryCases | Builtin::GetCaseRestrictions)
    }

    /// The events the step may publish at most: a case created one, a restriction update
    /// three. They spend the run's budget of events as a WASM step's case calls do (SPEC
    /// ST-4; door review: a loop of built-in updates wrote events without bound).
    pub fn events_at_most(self) -> usize {
        match self {
            Builtin::CreateCase | Builtin::CreateCaseFromJson => 1,
            Builtin::UpdateCaseRestrictions => 3,
            Builtin::QueryCases | Builtin::GetCaseRestrictions => 0,
        }
    }

    /// What a definition writes into this step's `with` that every run would refuse
    /// (SPEC WF-1: refused where written; round 17 hostile-input review: `"severity":
    /// "urgent"` published, and failed every run at that step after the steps before had
    /// made their effects). `literal` holds the fields written as values, `templated` the
    /// names of those given by a reference; each error with the field it is about, if one.
    pub fn written_input_errors(
        self,
        literal: &serde_json::Map<String, serde_json::Value>,
        templated: &[&str],
    ) -> Vec<(Option<String>, String)> {
        cases::written_input_errors(self, literal, templated)
    }

    /// Runs the step on `input` as `caller`. `idempotency_key` makes a step that creates
    /// something create it once, however often it is re-executed (SPEC WF-8).
    pub fn run(
        self,
        platform: &Platform,
        caller: &Caller,
        input: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> Result<serde_json::Value, Error> {
        cases::run(platform, caller, self, input, idempotency_key)
    }

    /// A value input field `key` (or a field of that name inside one, such as `case.title`)
    /// always takes, standing in for a reference written there when a written input is
    /// checked; `None` for a field that may be left out, left out then.
    pub fn stand_in(key: &str) -> Option<serde_json::Value> {
        cases::stand_in(key)
    }

    /// The names of all built-in steps, comma-separated (for error messages).
    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `name` is a built-in step.
pub fn is_builtin(name: &str) -> bool {
    Builtin::parse(name).is_some()
}

/// Runs built-in step `name` on `input` as `caller` (for callers holding a name, not a parsed
/// definition). `idempotency_key` makes a step that creates something create it once,
/// however often it is re-executed (SPEC WF-8).
pub fn run(
    platform: &Platform,
    caller: &Caller,
    name: &str,
    input: &serde_json::Value,
    idempotency_key: Option<&str>,
) -> Result<serde_json::Value, Error> {
    match Builtin::parse(name) {
        Some(step) => step.run(platform, caller, input, idempotency_key),
        None => Err(Error::NotFound(format!(
            "there is no built-in step `{name}` (built-in steps: {})",
            Builtin::names()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reading_case_steps_count_as_not_writing() {
        for step in Builtin::ALL {
            let reads = matches!(
                step.name(),
                "cases/query-cases" | "cases/get-case-restrictions"
            );
            assert_eq!(step.writes(), !reads, "{step}");
        }
    }

    #[test]
    fn every_name_parses_back_to_its_step_and_nothing_else_parses() {
        for &step in Builtin::ALL {
            assert_eq!(Builtin::parse(step.name()), Some(step));
        }
        assert_eq!(Builtin::parse("cases/no-such-step"), None);
        assert_eq!(Builtin::parse("Cases/Create-Case"), None);
    }
}
