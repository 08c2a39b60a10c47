//! How much a step may hand the host in one call: wasmtime's "hostcall fuel", which bounds
//! what it copies out of the guest's memory before the host function runs, and so before
//! any cap of `services/caps.rs` can look at it.
//!
//! wasmtime's default (128 MiB a call) charges a `list<string>` 24 bytes an element and its
//! bytes, but the host allocates a `String` for each: 5 million one-byte strings passed as
//! a case's reviewers cost the host ~300 MB before the 1,000-entry cap refused them (hostile
//! step review). Host calls get far less; the step's output, lifted when `run` returns,
//! keeps the default, so an output over its own cap fails as too large, naming its size.

use wasmtime::{CallHook, StoreContextMut};

use super::state::StepState;

/// The fuel of one host call: above every cap on what a host call takes (a case document
/// or an event payload: 256 KiB) and a WASI write of several megabytes.
pub const HOST_CALL_FUEL: usize = 16 << 20;

/// The fuel outside host calls, for lifting the step's output: wasmtime's default, above
/// the output cap (`StepLimits::max_output_bytes`).
pub const OUTPUT_FUEL: usize = 128 << 20;

/// Sets the fuel for what the guest is about to hand over (a call hook's half).
pub fn per_direction(mut store: StoreContextMut<'_, StepState>, hook: CallHook) {
    match hook {
        CallHook::CallingHost => store.set_hostcall_fuel(HOST_CALL_FUEL),
        CallHook::ReturningFromHost => store.set_hostcall_fuel(OUTPUT_FUEL),
        CallHook::CallingWasm | CallHook::ReturningFromWasm => {}
    }
}
