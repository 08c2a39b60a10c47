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
