//! Host bindings generated from `wit/` (world `flowhost:step/step`).
//!
//! Imports are synchronous: a step execution runs on a blocking thread of its own (SQLite work
//! behind the services is blocking too), which keeps calls cheap and needs no fiber stacks.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "step",
});

pub use self::flowhost::step::{access, cases, events, log, types};
