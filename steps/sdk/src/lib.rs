//! The Flowhost step SDK.
//!
//! A step is a function from a JSON input to a JSON output. Write it over your own serde types
//! and export it with [`step!`]:
//!
//! ```ignore
//! use flowhost_step::{StepError, log};
//!
//! #[derive(serde::Deserialize)]
//! struct Input { name: String }
//!
//! fn greet(input: Input) -> Result<serde_json::Value, StepError> {
//!     log::info(&format!("greeting {}", input.name));
//!     Ok(serde_json::json!({ "greeting": format!("hello, {}", input.name) }))
//! }
//!
//! flowhost_step::step!(greet);
//! ```
//!
//! Host calls act as the run's principal, within the step's grants; errors come back as
//! [`HostError`], which converts into [`StepError`] with `?`.

mod finite;
mod object_only;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "step",
        pub_export_macro: true,
        default_bindings_module: "flowhost_step::bindings",
    });
}

pub use bindings::StepError;
pub use bindings::flowhost::step::types::{
    AccessMode, CaseRecord, Decision, HostError, Restrictions, Severity,
};

/// The case steps (SPEC CS-4).
pub mod cases {
    pub use crate::bindings::flowhost::step::cases::*;
}

/// Access questions about the run's workspace.
pub mod access {
    pub use crate::bindings::flowhost::step::access::{check_flow_access, has_scope};
}

/// Custom events that may start workflows.
pub mod events {
    use crate::HostError;

    /// Emits `kind` with `payload` (serialized to a JSON object) into the run's workspace. A
    /// payload holding NaN or an infinity is refused before it is sent, as the Python and
    /// JavaScript SDKs refuse it (JSON would carry `null` in its place).
    pub fn emit<T: serde::Serialize>(kind: &str, payload: &T) -> Result<(), HostError> {
        crate::finite::check(payload)
            .map_err(|e| HostError::Invalid(format!("event payload: {e}")))?;
        let json = serde_json::to_string(payload)
            .map_err(|e| HostError::Invalid(format!("event payload: {e}")))?;
        crate::bindings::flowhost::step::events::emit(kind, &json)
    }
}

/// Log lines kept with the step's execution record.
pub mod log {
    pub use crate::bindings::flowhost::step::log::Level;
    use crate::bindings::flowhost::step::log::log;

    /// Logs `message` at `level`.
    pub fn at(level: Level, message: &str) {
        log(level, message);
    }
    /// Logs at trace level.
    pub fn trace(message: &str) {
        log(Level::Trace, message);
    }
    /// Logs at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    /// Logs at info level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    /// Logs at warn level.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    /// Logs at error level.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

impl From<HostError> for StepError {
    fn from(e: HostError) -> Self {
        StepError::Host(e)
    }
}

/// Decodes `input` into `I`, runs `f`, encodes its output: the body of every exported step.
pub fn run_json<I, O>(
    input: &str,
    f: impl FnOnce(I) -> Result<O, StepError>,
) -> Result<String, StepError>
where
    I: serde::de::DeserializeOwned,
    O: serde::Serialize,
{
    let input = decode(input)?;
    let output = f(input)?;
    // A number JSON cannot carry fails the step, as in the other SDKs: `serde_json` wrote it
    // as `null` without a word (round 24 steps review).
    finite::check(&output).map_err(|e| StepError::Failed(format!("output: {e}")))?;
    serde_json::to_string(&output).map_err(|e| StepError::Failed(format!("output: {e}")))
}

/// `input` decoded into `I`; a mismatch names where in the input it is (`input.indicators`),
/// not a line and column of the host's own one-line rendering of it, which the author never
/// sees (round 17 steps review).
fn decode<I: serde::de::DeserializeOwned>(input: &str) -> Result<I, StepError> {
    let mut de = serde_json::Deserializer::from_str(input);
    serde_path_to_error::deserialize(object_only::ObjectOnly(&mut de)).map_err(|e| {
        let inner = e.inner();
        let mut why = inner.to_string();
        // serde_json says where in the text; the path says where in the input.
        if inner.line() > 0 {
            let at = format!(" at line {} column {}", inner.line(), inner.column());
            if let Some(cut) = why.strip_suffix(&at) {
                why = cut.to_owned();
            }
        }
        let path = e.path().to_string();
        StepError::InvalidInput(if path == "." {
            format!("input: {why}")
        } else {
            format!("input.{path}: {why}")
        })
    })
}

/// Exports `fn(Input) -> Result<Output, StepError>` as the component's `run`.
#[macro_export]
macro_rules! step {
    ($run:path) => {
        struct FlowhostStep;

        impl $crate::bindings::Guest for FlowhostStep {
            fn run(input_json: String) -> Result<String, $crate::StepError> {
                $crate::run_json(&input_json, $run)
            }
        }

        $crate::bindings::export!(FlowhostStep);
    };
}
