//! Why a step execution failed, named for the person reading the run (SPEC ST-2).

use std::fmt;
use std::time::Duration;

use wasmtime::Trap;

use super::deadline::PastDeadline;
use super::limits::{HostCapExceeded, MemoryLimitExceeded};

/// A failed step execution. The host and other runs are unaffected by any of these.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepFailure {
    /// The component could not be read, compiled or linked.
    #[error("cannot load step `{path}`: {message}")]
    Load { path: String, message: String },
    /// The input could not be handed to the step.
    #[error("invalid step input: {0}")]
    Input(String),
    /// The wall-clock deadline passed (epoch interruption). Each failure the host ends a
    /// step with keeps what it wrote to stderr, as a trap does: a step reporting its trouble
    /// there, then running out of time or memory, was told the limit alone (round 21
    /// hostile-step review).
    #[error("deadline exceeded: the step ran longer than {}{}", fmt_duration(*.timeout), stderr_suffix(stderr))]
    Deadline { timeout: Duration, stderr: String },
    /// A host call without an error channel refused a value over its cap (SPEC ST-4).
    #[error("limit exceeded: {message}{}", stderr_suffix(stderr))]
    Limit { message: String, stderr: String },
    /// The step tried to grow its memory past the cap.
    #[error("{message}{}", stderr_suffix(stderr))]
    MemoryLimit { message: String, stderr: String },
    /// The step overflowed its call stack.
    #[error(
        "stack overflow: the step exhausted its call stack (unbounded recursion?){}",
        stderr_suffix(stderr)
    )]
    StackOverflow { stderr: String },
    /// The step trapped (a panic, an unreachable, an out-of-bounds access...).
    #[error("trap: {message}{}", stderr_suffix(stderr))]
    Trap { message: String, stderr: String },
    /// The step returned a `step-error`.
    #[error("step error: {0}")]
    Step(String),
    /// The step's output exceeded the output cap. The output refusals keep what the step
    /// wrote to stderr too, as the other limits do (round 22 hostile-step review); one the
    /// run's own bound refused after the step ended has none.
    #[error(
        "output too large: {len} bytes, the limit is {limit}{}",
        stderr_suffix(stderr)
    )]
    OutputTooLarge {
        len: usize,
        limit: usize,
        stderr: String,
    },
    /// The step's output held more values than the host parses (SPEC ST-2).
    #[error(
        "output too large: about {count} JSON values (an object holding anything counts as 20), \
         the limit is {limit}{}",
        stderr_suffix(stderr)
    )]
    OutputTooManyValues {
        count: usize,
        limit: usize,
        stderr: String,
    },
    /// The step's output nested deeper than the host keeps (a journaled output is read
    /// back on resume; issue 14 item 9).
    #[error(
        "output nested {depth} levels deep; at most {limit} are allowed{}",
        stderr_suffix(stderr)
    )]
    OutputTooDeep {
        depth: usize,
        limit: usize,
        stderr: String,
    },
    /// The step's output was not JSON.
    #[error("output is not JSON: {message}{}", stderr_suffix(stderr))]
    OutputNotJson { message: String, stderr: String },
    /// The step could not start: no free instance slot, or the host failed.
    #[error("host error: {0}")]
    Host(String),
}

impl StepFailure {
    /// A short machine-readable name of the failure's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            StepFailure::Load { .. } => "load",
            StepFailure::Input(_) => "input",
            StepFailure::Deadline { .. } => "deadline",
            StepFailure::MemoryLimit { .. } => "memory_limit",
            StepFailure::Limit { .. } => "limit",
            StepFailure::StackOverflow { .. } => "stack_overflow",
            StepFailure::Trap { .. } => "trap",
            StepFailure::Step(_) => "step_error",
            StepFailure::OutputTooLarge { .. } | StepFailure::OutputTooManyValues { .. } => {
                "output_too_large"
            }
            StepFailure::OutputTooDeep { .. } => "output_too_deep",
            StepFailure::OutputNotJson { .. } => "output_not_json",
            StepFailure::Host(_) => "host",
        }
    }

    /// Classifies an error raised while instantiating or calling a step.
    pub(crate) fn from_wasm_error(
        error: &wasmtime::Error,
        timeout: Duration,
        stderr: String,
    ) -> Self {
        if let Some(limit) = error.downcast_ref::<MemoryLimitExceeded>() {
            return StepFailure::MemoryLimit {
                message: limit.to_string(),
                stderr,
            };
        }
        if let Some(cap) = error.downcast_ref::<HostCapExceeded>() {
            return StepFailure::Limit {
                message: cap.0.clone(),
                stderr,
            };
        }
        if error.downcast_ref::<PastDeadline>().is_some() {
            return StepFailure::Deadline { timeout, stderr };
        }
        // WASI 0.2's `exit` carries ok or error, not a code (any status but 0 reads as 1):
        // said as such, with what the step wrote before, as a trap keeps it (round 20
        // hostile-step review: the reason on stderr was dropped, and `exit(2)` read "code 1").
        if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
            let how = if exit.0 == 0 {
                "without returning its output"
            } else {
                "with an error status"
            };
            return StepFailure::Step(format!(
                "the step exited the process {how}{}",
                stderr_suffix(&stderr)
            ));
        }
        if error
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            return StepFailure::Host(format!("no free instance slot: {error}"));
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => StepFailure::Deadline { timeout, stderr },
            Some(Trap::StackOverflow) => StepFailure::StackOverflow { stderr },
            Some(trap) => StepFailure::Trap {
                message: trap.to_string(),
                stderr,
            },
            // Its chain may quote what the guest chose (an import's name): cut as a step's
            // own error is, or a hostile step's failure message ran to megabytes in every
            // record of it. No wasm backtrace is attached to it (`engine.rs`).
            None => StepFailure::Trap {
                message: crate::text::clip_bytes(
                    format!("{error:#}"),
                    crate::text::MAX_STEP_ERROR_BYTES,
                ),
                stderr,
            },
        }
    }
}

pub(super) fn fmt_duration(d: Duration) -> String {
    if d.as_secs() > 0 && d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// `; the step wrote: …` with what a step wrote to stderr, or nothing when it wrote none.
pub(crate) fn stderr_suffix(stderr: &str) -> impl fmt::Display + '_ {
    struct Suffix<'a>(&'a str);
    impl fmt::Display for Suffix<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let text = self.0.trim();
            if text.is_empty() {
                Ok(())
            } else {
                write!(f, "; the step wrote: {text}")
            }
        }
    }
    Suffix(stderr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_message_of_megabytes_is_cut_to_the_step_error_cap() {
        let huge = wasmtime::Error::msg("f".repeat(2 << 20));
        let failure = StepFailure::from_wasm_error(&huge, Duration::from_secs(1), String::new());
        let message = failure.to_string();
        assert!(
            message.len() < crate::text::MAX_STEP_ERROR_BYTES + 200,
            "{} bytes",
            message.len()
        );
        assert!(
            message.contains(&format!("{} bytes in all", 2 << 20)),
            "{}",
            &message[message.len() - 80..]
        );
    }
}
