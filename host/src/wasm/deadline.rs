//! Bounding waits. A guest that sleeps (a monotonic-clock subscription polled until ready)
//! blocks its host thread, and epoch interruption only fires while wasm code runs, so a
//! sleeping step could outlive its deadline. Clock subscriptions are clamped to the
//! execution's remaining time: the guest wakes at its deadline and the epoch check traps it.

use std::time::Instant;

use wasmtime::StoreContextMut;
use wasmtime::component::Linker;
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock::Host as _;

use super::state::StepState;

/// The monotonic-clock interface as wasmtime-wasi defines it (guests' older 0.2 versions
/// resolve to it by semver).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Replaces the clock subscriptions with deadline-clamped ones.
pub fn clamp_clock_waits(linker: &mut Linker<StepState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, StepState>, (nanos,): (u64,)| {
            let nanos = nanos.min(store.data().remaining_nanos());
            Ok((store.data_mut().clocks().subscribe_duration(nanos)?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, StepState>, (when,): (u64,)| {
            let state = store.data_mut();
            let now = state.clocks().now()?;
            let nanos = when.saturating_sub(now).min(state.remaining_nanos());
            Ok((state.clocks().subscribe_duration(nanos)?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Nanoseconds from now until `deadline`, plus a millisecond so the guest wakes just after
/// it and meets the epoch check.
pub fn nanos_until(deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now());
    u64::try_from(left.as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(1_000_000)
}
