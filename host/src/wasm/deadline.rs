//! Bounding host work by the deadline (SPEC ST-4). Epoch interruption only fires while wasm
//! code runs, so time spent in the host needs its own checks: a host call that starts after
//! the deadline fails at once ([`refuse_late_host_calls`], every import, WASI included), and
//! waits are clamped to the deadline.
//!
//! Bounding waits. A guest that sleeps (a monotonic-clock subscription polled until ready)
//! blocks its host thread, and epoch interruption only fires while wasm code runs, so a
//! sleeping step could outlive its deadline. Clock subscriptions are clamped to the
//! execution's remaining time: the guest wakes at its deadline and the epoch check traps it.

use wasmtime::component::Linker;
use wasmtime::{CallHook, StoreContextMut};
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

/// A host call started after the step's deadline; the step fails as a deadline.
#[derive(Debug, thiserror::Error)]
#[error("a host call started after the step's deadline")]
pub struct PastDeadline;

/// The store's call hook: a call into the host after the deadline traps before the host does
/// any of its work (arguments are not even read). Host work that starts in time is bounded by
/// the caps of `services::caps` and by the deadline itself (`store/deadline.rs` interrupts
/// its storage work); a call that returns after the deadline traps too, so the step fails as
/// a deadline rather than seeing what the interrupted call made of it.
pub fn refuse_late_host_calls(
    store: StoreContextMut<'_, StepState>,
    hook: CallHook,
) -> wasmtime::Result<()> {
    if matches!(hook, CallHook::CallingHost | CallHook::ReturningFromHost)
        && store.data().past_deadline()
    {
        return Err(wasmtime::Error::new(PastDeadline));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wasmtime::{AsContextMut, Engine, Store};

    use super::*;
    use crate::principal::{Caller, Principal};
    use crate::services::HostServices;
    use crate::wasm::failure::StepFailure;
    use crate::wasm::limits::StepLimits;

    fn store(engine: &Engine, timeout: Duration) -> Store<StepState> {
        let caller = Caller {
            workspace: "soc".into(),
            principal: Principal::Anonymous,
            cause: None,
            step: None,
        };
        let limits = StepLimits {
            timeout,
            ..StepLimits::default()
        };
        Store::new(
            engine,
            StepState::new(caller, HostServices::deny_all(), limits),
        )
    }

    #[test]
    fn a_host_call_after_the_deadline_fails_as_a_deadline_and_one_before_it_runs() {
        let engine = Engine::default();
        let mut late = store(&engine, Duration::ZERO);
        let err = refuse_late_host_calls(late.as_context_mut(), CallHook::CallingHost)
            .expect_err("a call after the deadline");
        let failure = StepFailure::from_wasm_error(&err, Duration::ZERO, String::new());
        assert_eq!(failure.kind(), "deadline", "{failure}");
        // A call that returns after the deadline fails the step as a deadline too (its work
        // was interrupted, or committed whole; the step does not go on with it).
        let err = refuse_late_host_calls(late.as_context_mut(), CallHook::ReturningFromHost)
            .expect_err("a call returning after the deadline");
        let failure = StepFailure::from_wasm_error(&err, Duration::ZERO, String::new());
        assert_eq!(failure.kind(), "deadline", "{failure}");

        let mut early = store(&engine, Duration::from_secs(60));
        assert!(refuse_late_host_calls(early.as_context_mut(), CallHook::CallingHost).is_ok());
        assert!(
            refuse_late_host_calls(early.as_context_mut(), CallHook::ReturningFromHost).is_ok()
        );
    }
}
