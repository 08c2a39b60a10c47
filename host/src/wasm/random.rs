//! `wasi:random` with a cap per call (SPEC ST-4). The byte-list functions have no error in
//! their signature and wasmtime-wasi fills a request byte by byte: one 64 MiB request ran for
//! 20-34 s outside any deadline (issue 14 item 7). Requests over the cap trap with an error
//! naming it; smaller ones are served by wasmtime-wasi as before.

use wasmtime::StoreContextMut;
use wasmtime::component::Linker;
use wasmtime_wasi::p2::bindings::random::insecure::Host as _;
use wasmtime_wasi::p2::bindings::random::random::Host as _;
use wasmtime_wasi::random::WasiRandomView;

use crate::services::caps::MAX_RANDOM_BYTES_PER_CALL;

use super::limits::HostCapExceeded;
use super::state::StepState;

/// The interfaces as wasmtime-wasi defines them (guests' older 0.2 versions resolve to them
/// by semver).
const RANDOM: &str = "wasi:random/random@0.2.12";
const INSECURE: &str = "wasi:random/insecure@0.2.12";

/// Replaces the byte-list functions of `wasi:random` with capped ones.
pub fn cap_random_bytes(linker: &mut Linker<StepState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.instance(RANDOM)?.func_wrap(
        "get-random-bytes",
        |mut store: StoreContextMut<'_, StepState>, (len,): (u64,)| {
            within_cap("wasi:random/random.get-random-bytes", len)?;
            Ok((store.data_mut().random().get_random_bytes(len)?,))
        },
    )?;
    linker.instance(INSECURE)?.func_wrap(
        "get-insecure-random-bytes",
        |mut store: StoreContextMut<'_, StepState>, (len,): (u64,)| {
            within_cap("wasi:random/insecure.get-insecure-random-bytes", len)?;
            Ok((store.data_mut().random().get_insecure_random_bytes(len)?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

fn within_cap(function: &str, len: u64) -> wasmtime::Result<()> {
    if len > MAX_RANDOM_BYTES_PER_CALL {
        return Err(wasmtime::Error::new(HostCapExceeded(format!(
            "`{function}` asked for {len} bytes; the cap is {MAX_RANDOM_BYTES_PER_CALL} per call (SPEC ST-4)"
        ))));
    }
    Ok(())
}
