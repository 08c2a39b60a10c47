//! Built-in steps: named steps implemented by the host, called with a JSON input as the run's
//! principal. The case steps go through the same case service as WASM steps and the CLI.

mod cases;

use crate::platform::Platform;
use crate::principal::Caller;
use crate::services::HostError;

pub use cases::CASE_STEPS;

/// Whether `name` is a built-in step.
pub fn is_builtin(name: &str) -> bool {
    CASE_STEPS.contains(&name)
}

/// Whether built-in step `name` may write (create or change something). The engine commits a
/// run's earlier journal entries before such a step (see `workflow::pending`); an unknown
/// name counts as writing.
pub fn writes(name: &str) -> bool {
    !cases::READ_ONLY.contains(&name)
}

/// Runs built-in step `name` on `input` as `caller`. `idempotency_key` makes a step that
/// creates something create it once, however often it is re-executed (SPEC WF-8).
pub fn run(
    platform: &Platform,
    caller: &Caller,
    name: &str,
    input: &serde_json::Value,
    idempotency_key: Option<&str>,
) -> Result<serde_json::Value, HostError> {
    match name {
        n if CASE_STEPS.contains(&n) => cases::run(platform, caller, n, input, idempotency_key),
        _ => Err(HostError::NotFound(format!(
            "there is no built-in step `{name}` (built-in steps: {})",
            CASE_STEPS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reading_case_steps_count_as_not_writing() {
        for step in CASE_STEPS {
            let reads = matches!(*step, "cases/query-cases" | "cases/get-case-restrictions");
            assert_eq!(writes(step), !reads, "{step}");
        }
        assert!(
            writes("cases/no-such-step"),
            "an unknown step counts as writing"
        );
    }
}
