//! The WebAssembly step host (SPEC ST): wasmtime engine, component cache, sandbox and limits,
//! and the WIT glue in [`host`] (one file per interface).

mod async_abi;
pub mod bindings;
pub mod cache;
pub mod compiler;
pub mod component_file;
mod deadline;
pub mod engine;
pub mod failure;
mod host;
mod hostcall_fuel;
pub mod limits;
pub mod loaded;
mod module_shape;
mod random;
#[cfg(test)]
mod raw_module;
pub mod runtime;
mod slots;
pub mod state;
mod stderr;
mod swap_watch;

pub use engine::{Allocator, EngineSettings};
pub use failure::StepFailure;
pub use limits::StepLimits;
pub use runtime::{LoadedStep, StepExecution, StepRuntime};
pub use state::{LogLevel, LogLine};
