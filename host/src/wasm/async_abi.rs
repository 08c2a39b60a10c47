//! Recognizing components built for component-model async (SPEC ST-1): the host runs steps
//! synchronously (`concurrency_support(false)`, see ARCHITECTURE.md), so such a component
//! cannot be compiled. wasmtime's own refusal names a validator feature; this finds what the
//! component uses, so the load error can say how to rebuild it instead.

use wasmparser::{CanonicalFunction, CanonicalOption, Parser, Payload};

/// How to rebuild a step without the async ABI, by toolchain.
pub const REBUILD_HINT: &str = "the host runs steps synchronously; rebuild it without \
     component-model async: componentize-qjs with `--sync`, componentize-js with \
     `--disable-feature` for async, a Rust step with the default `flowhost-step` SDK \
     (no `async` exports)";

/// The first component-model async feature `bytes` uses (e.g. "an async-lifted export"),
/// or `None` when it uses none or is not a component this parser can read.
pub fn async_feature(bytes: &[u8]) -> Option<&'static str> {
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(Payload::ComponentCanonicalSection(section)) = payload else {
            continue;
        };
        for func in section.into_iter().flatten() {
            if let Some(feature) = feature_of(&func) {
                return Some(feature);
            }
        }
    }
    None
}

fn feature_of(func: &CanonicalFunction) -> Option<&'static str> {
    let is_async = |options: &[CanonicalOption]| {
        options
            .iter()
            .any(|o| matches!(o, CanonicalOption::Async | CanonicalOption::Callback(_)))
    };
    match func {
        CanonicalFunction::Lift { options, .. } if is_async(options) => {
            Some("an async-lifted export")
        }
        CanonicalFunction::Lower { options, .. } if is_async(options) => {
            Some("an async-lowered import")
        }
        CanonicalFunction::TaskReturn { .. } | CanonicalFunction::TaskCancel => {
            Some("the `task.return` built-in")
        }
        CanonicalFunction::WaitableSetNew
        | CanonicalFunction::WaitableSetWait { .. }
        | CanonicalFunction::WaitableSetPoll { .. }
        | CanonicalFunction::WaitableSetDrop
        | CanonicalFunction::WaitableJoin => Some("waitable sets"),
        CanonicalFunction::StreamNew { .. } | CanonicalFunction::FutureNew { .. } => {
            Some("streams or futures")
        }
        CanonicalFunction::SubtaskDrop | CanonicalFunction::SubtaskCancel { .. } => {
            Some("subtasks")
        }
        CanonicalFunction::BackpressureInc | CanonicalFunction::BackpressureDec => {
            Some("backpressure")
        }
        _ => None,
    }
}
