//! The smallest step: returns its input. Used as the "trivial step" of the benchmarks.

use flowhost_step::StepError;

fn echo(input: serde_json::Value) -> Result<serde_json::Value, StepError> {
    Ok(input)
}

flowhost_step::step!(echo);
