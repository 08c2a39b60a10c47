//! Flowhost: a local runtime for security-automation workflows whose custom steps are
//! sandboxed WebAssembly components.
//!
//! Layers, top to bottom (see `ARCHITECTURE.md`):
//! - [`handles`]: the doors — `platform.runs()`, `.access()`, …: every public method takes
//!   the acting principal and is authorized inside.
//! - [`workflow`]: the engine and the workflow services (triggers, flows, publishing), over
//!   [`runs`] (the run store: journal, leases, timers, status) and [`definition`] (the pure
//!   model and parser of definitions).
//! - [`wasm`]: the wasmtime host — engine, component cache, sandbox, one file per WIT interface.
//! - [`services`]: what host calls forward to; authorization lives there, never in the glue.
//! - [`store`]: SQLite schema, migrations and the records a run leaves behind.

pub mod access;
pub mod admin;
pub mod audit;
pub mod builtin;
pub(crate) mod carry;
pub mod cases;
pub mod clock;
pub mod definition;
pub(crate) mod encoding;
pub mod env_number;
pub mod error;
pub mod handles;
pub mod harness;
pub mod housekeeping;
pub mod interact;
pub mod json_limits;
pub mod json_locate;
pub mod platform;
pub mod principal;
pub mod public_id;
pub mod regular_file;
pub mod runs;
pub mod scratch;
pub mod server;
pub mod services;
pub mod share;
pub mod signin;
pub mod step_call;
pub mod stepkit;
pub mod store;
pub mod stored_principal;
pub mod stored_value;
pub mod tenant;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod text;
mod turns;
pub mod wasm;
pub mod workflow;

pub use error::Error;
