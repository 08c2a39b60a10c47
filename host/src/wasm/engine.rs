//! The wasmtime engine shared by every step execution: configuration, instance allocator and
//! the epoch ticker that drives deadlines.

use std::thread;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::limits;
use super::module_shape;

/// How often the engine's epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Engine-wide settings.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// Try the pooling allocator first (falls back to on-demand if it cannot reserve memory).
    pub pooling: bool,
    /// Concurrent step executions the pool has slots for.
    pub pool_instances: u32,
    /// Ceiling of any one linear memory; per-step limits are at most this.
    pub max_memory_bytes: usize,
    /// Bytes of compiled code the process keeps loaded (`loaded.rs`).
    pub loaded_bytes: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self::server()
    }
}

impl EngineSettings {
    /// For a process that executes many steps over its life (`serve`, `flowhost test`, the
    /// benches' warm loops): the pooling allocator, whose slots are reused in place.
    pub fn server() -> Self {
        Self {
            pooling: true,
            pool_instances: 64,
            max_memory_bytes: 1 << 30,
            loaded_bytes: super::loaded::DEFAULT_LOADED_MB << 20,
        }
    }

    /// For a process that executes a few steps and exits (`step run`, `run`, `step test`,
    /// `runs resume`, …): on-demand allocation. Reserving a server's pool costs such a process
    /// more than it ever saves (measured: `benches/README.md`, "Python cold start"). The limits
    /// a step runs under are the same as with the pool: the store's limiter enforces the
    /// pool's per-component counts (`limits.rs`).
    pub fn one_shot() -> Self {
        Self {
            pooling: false,
            ..Self::server()
        }
    }
}

/// Which instance allocator the engine ended up with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allocator {
    /// Pre-reserved slots: fastest instantiation.
    Pooling,
    /// Memory mapped per instance; `reason` says why pooling was not used.
    OnDemand { reason: String },
}

/// Builds the engine: pooling when it can reserve its slots, on-demand otherwise (a machine
/// with a small address-space limit must still start).
pub fn build_engine(settings: &EngineSettings) -> anyhow::Result<(Engine, Allocator)> {
    build_engine_scanning(settings).map(|(engine, allocator, _)| (engine, allocator))
}

/// [`build_engine`], and whether its pool resets slots by PAGEMAP_SCAN: allowed (no swap
/// when it was built) and the kernel has it (Linux 6.7+), the one case `swap_watch.rs`
/// watches (round 24 self-review: a kernel without it resets by `madvise`, safe with swap).
pub(crate) fn build_engine_scanning(
    settings: &EngineSettings,
) -> anyhow::Result<(Engine, Allocator, bool)> {
    let on_demand = |reason: String| {
        finish(Engine::new(&base_config())?, Allocator::OnDemand { reason })
            .map(|(engine, allocator)| (engine, allocator, false))
    };
    if settings.pooling {
        let scan = pagemap_scan_setting();
        let mut config = base_config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
            settings, scan,
        )));
        return match Engine::new(&config) {
            Ok(engine) => {
                let scanning =
                    scan == Enabled::Auto && PoolingAllocationConfig::is_pagemap_scan_available();
                finish(engine, Allocator::Pooling)
                    .map(|(engine, allocator)| (engine, allocator, scanning))
            }
            Err(e) => on_demand(format!("pooling allocator unavailable: {e}")),
        };
    }
    on_demand("pooling not chosen (a one-shot process, or disabled by settings)".to_owned())
}

/// An engine that only compiles (a compiling child, `compiler.rs`): the settings code
/// generation depends on, no allocator of instances and no epoch ticker. What it compiles
/// loads into either engine of [`build_engine`] (the allocator is not part of an artifact).
pub(crate) fn compiling_engine() -> anyhow::Result<Engine> {
    Ok(Engine::new(&base_config())?)
}

fn finish(engine: Engine, allocator: Allocator) -> anyhow::Result<(Engine, Allocator)> {
    start_epoch_ticker(&engine)?;
    Ok((engine, allocator))
}

/// Settings every engine shares, whatever its allocator. Compiled artifacts depend on them,
/// so the component cache is keyed by the engine's compatibility hash.
fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Deadlines by epoch interruption: a few percent of overhead, where fuel costs ~35%.
    config.epoch_interruption(true);
    // Steps do not use component-model async; without it warm calls are 2-3x cheaper.
    config.concurrency_support(false);
    // One 32-bit memory per step is all a Rust step needs; 64-bit memories only widen the
    // limiter's attack surface.
    config.wasm_memory64(false);
    // A memory image only for data that fills at least half of what it spans (wasmtime's
    // heuristic), never "up to 16 MiB whatever": a few kilobytes of components whose modules
    // each put a byte at 0 and one at 16 MiB compiled to a 16 MiB image per module,
    // gigabytes in all (hostile-step review). Steps' own data is dense and keeps its image.
    config.memory_guaranteed_dense_image_size(0);
    // No wasm backtrace on errors out of a step: its frames are named by the step's own
    // name section, and displaying one demangled a 426-byte C++ name into gigabytes, in host
    // code past the step's deadline (round 30 hostile-step review). A step's failure names
    // its trap or the host's refusal; it never needed the guest's frames.
    config.wasm_backtrace_max_frames(None);
    config
}

/// Bytes of each linear memory a pool slot resets in place rather than releases: a typical
/// Rust step's stack, data and heap.
const KEEP_RESIDENT_MEMORY: usize = 2 << 20;
/// Bytes of each table a pool slot resets in place.
const KEEP_RESIDENT_TABLE: usize = 64 << 10;

fn pooling_config(settings: &EngineSettings, scan: Enabled) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    let instances = settings.pool_instances;
    // Measured per component (issue 17): a Rust step instantiates 1 main module plus a few
    // WASI shims, 1 memory; componentize-py 0.25 instantiates 14 core modules (libpython and
    // its shims), 1 memory of 12.6 MiB, 2 tables; componentize-qjs 0.4 (`--sync`) 8 modules,
    // 2 memories. So every slot can hold a Python step (20 core instances per component) and a QuickJS one (3 memories per component, as the issue expects).
    // Memory slots only reserve address space until used.
    // The per-component counts are the ones the store's limiter enforces under either
    // allocator (`limits.rs`), so a step meets the same limits with or without the pool.
    pool.total_component_instances(instances)
        // Every slot may hold a component at the per-component count: 16 a slot let about
        // 51 steps of 20 core instances take the whole pool (hostile-step review).
        .total_core_instances(instances * limits::MAX_CORE_INSTANCES as u32)
        .total_memories(instances * 3)
        .total_tables(instances * 8)
        .max_core_instances_per_component(limits::MAX_CORE_INSTANCES as u32)
        .max_memories_per_component(limits::MAX_MEMORIES as u32)
        .max_tables_per_component(limits::MAX_TABLES as u32)
        .max_memories_per_module(module_shape::MAX_MEMORIES_PER_MODULE)
        .max_tables_per_module(module_shape::MAX_TABLES_PER_MODULE)
        .max_core_instance_size(module_shape::MAX_CORE_INSTANCE_BYTES)
        .max_component_instance_size(module_shape::MAX_COMPONENT_INSTANCE_BYTES)
        .table_elements(limits::MAX_TABLE_ELEMENTS)
        .max_memory_size(settings.max_memory_bytes);
    // Resetting a slot with `madvise` costs a TLB shootdown across CPUs: measured at about 40%
    // of a small step's execution. With the kernel's PAGEMAP_SCAN (Linux 6.7+) the pool finds
    // the pages a step dirtied and writes them back to their initial contents instead; memory
    // past these sizes, or without the ioctl, is still released with `madvise`. The scan
    // finds only pages *present*: one a step wrote that the kernel swapped out is neither
    // reset nor released, and the next step in the slot (another tenant's) would read it
    // (hostile-step review; wasmtime 48). So it is used only on a host without swap; with
    // swap, a step costs about twice as much (measured: 25 → 80 µs a trivial step).
    pool.pagemap_scan(scan)
        .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
        .table_keep_resident(KEEP_RESIDENT_TABLE);
    // Fiber stacks serve async calls, which the host never makes (`concurrency_support(false)`,
    // synchronous bindings); the default pool of 1,000 costs 1,000 guard-page `mprotect`s,
    // about 3 ms of every process start.
    pool.total_stacks(0);
    pool
}

/// Whether a slot may be reset by PAGEMAP_SCAN: only if this host has no swap space (see
/// `pooling_config`); a `/proc/swaps` that cannot be read counts as swap. Watched for
/// afterwards by `swap_watch.rs`.
fn pagemap_scan_setting() -> Enabled {
    pagemap_scan_given(std::fs::read_to_string("/proc/swaps").ok().as_deref())
}

/// [`pagemap_scan_setting`] given what `/proc/swaps` holds, if it could be read.
pub(super) fn pagemap_scan_given(swaps: Option<&str>) -> Enabled {
    match swaps {
        // The first line is the header; any other names a swap device or file.
        Some(swaps) if swaps.lines().skip(1).all(|l| l.trim().is_empty()) => Enabled::Auto,
        _ => Enabled::No,
    }
}

/// Advances the engine's epoch once per [`EPOCH_TICK`] of wall-clock time since it started,
/// until the engine is dropped: a pass that slept long (timer slack, a ticker waiting for a
/// core every step thread spins on) makes up the ticks it missed, so a deadline in ticks
/// ([`deadline_ticks`]) is one in time. One tick a pass ran slow, and a step that only
/// computes outlived a 15-minute deadline by half a minute or more (round 23 hostile-step
/// review).
fn start_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
    let weak = engine.weak();
    thread::Builder::new()
        .name("flowhost-epoch".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let mut ticked: u128 = 0;
            while let Some(engine) = weak.upgrade() {
                for _ in 0..ticks_owed(started.elapsed(), ticked) {
                    engine.increment_epoch();
                    ticked += 1;
                }
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(())
}

/// The ticks the ticker owes after `elapsed`, having made `ticked`: one for every whole
/// [`EPOCH_TICK`] of `elapsed`, so a deadline in ticks never comes before its time (a pass
/// sleeps at least one tick, so each pass owes at least one).
fn ticks_owed(elapsed: Duration, ticked: u128) -> u128 {
    let due = elapsed.as_nanos() / EPOCH_TICK.as_nanos().max(1);
    due.saturating_sub(ticked)
}

/// Epoch ticks for a deadline of `timeout` (at least one, rounded up).
pub fn deadline_ticks(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_micros().max(1);
    let ticks = timeout.as_micros().div_ceil(tick);
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::raw_module::{leb, module};

    /// A pass that slept long makes up the ticks it missed (round 23 hostile-step review).
    #[test]
    fn the_ticker_makes_up_the_ticks_a_slow_pass_missed() {
        let tick = EPOCH_TICK;
        assert_eq!(ticks_owed(Duration::ZERO, 0), 0);
        assert_eq!(ticks_owed(tick, 0), 1);
        assert_eq!(
            ticks_owed(tick * 50, 10),
            40,
            "a slow pass makes up what it missed"
        );
        assert_eq!(ticks_owed(tick * 50 + tick / 2, 49), 1);
        assert_eq!(ticks_owed(tick, 5), 0, "never ahead of time");
    }

    #[test]
    fn deadlines_round_up_to_whole_ticks() {
        assert_eq!(deadline_ticks(Duration::ZERO), 1);
        assert_eq!(deadline_ticks(Duration::from_millis(1)), 1);
        assert_eq!(deadline_ticks(Duration::from_millis(3)), 2);
        assert_eq!(deadline_ticks(Duration::from_secs(1)), 500);
    }

    /// A slot is reset by PAGEMAP_SCAN only without swap: a written page swapped out is
    /// not present, not reset, and would reach the slot's next step (hostile-step review).
    #[test]
    fn slots_are_reset_by_pagemap_scan_only_without_swap() {
        let header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
        assert!(matches!(pagemap_scan_given(Some(header)), Enabled::Auto));
        let with_swap = format!("{header}/dev/zram0  partition\t4194300\t\t0\t\t100\n");
        assert!(matches!(pagemap_scan_given(Some(&with_swap)), Enabled::No));
        assert!(matches!(pagemap_scan_given(None), Enabled::No));
    }

    /// A module defining `count` memories of one page each.
    fn memories(count: usize) -> Vec<u8> {
        let mut body = leb(count);
        for _ in 0..count {
            body.extend([0x00, 0x01]);
        }
        module(&[(5, body)])
    }

    /// A module defining one funcref table of `elements` elements.
    fn table(elements: usize) -> Vec<u8> {
        let mut body = vec![0x01, 0x70, 0x00];
        body.extend(leb(elements));
        module(&[(4, body)])
    }

    /// Instantiates `bytes` `times` times in one store limited as a step's is; the first
    /// refusal (at compile or instantiation), if any.
    fn instantiate(engine: &Engine, bytes: &[u8], times: usize) -> Result<(), String> {
        let module = wasmtime::Module::new(engine, bytes).map_err(|e| format!("{e:#}"))?;
        let mut store = wasmtime::Store::new(engine, limits::MemoryLimiter::new(64 << 20));
        store.limiter(|limiter| limiter);
        for _ in 0..times {
            wasmtime::Instance::new(&mut store, &module, &[]).map_err(|e| format!("{e:#}"))?;
        }
        Ok(())
    }

    /// The counts that bound a step's instances, memories and tables hold under either
    /// allocator: what fits is allowed under both, one more is refused under both.
    #[test]
    fn both_allocators_hold_the_same_instance_memory_and_table_limits() {
        for settings in [EngineSettings::server(), EngineSettings::one_shot()] {
            let (engine, allocator) = build_engine(&settings).expect("engine");
            let name = format!("{allocator:?}");
            let empty = module(&[]);
            assert_eq!(
                instantiate(&engine, &empty, limits::MAX_CORE_INSTANCES),
                Ok(())
            );
            let refused = instantiate(&engine, &empty, limits::MAX_CORE_INSTANCES + 1);
            assert!(refused.is_err_and(|e| e.contains("instance")), "{name}");

            assert_eq!(
                instantiate(&engine, &memories(1), limits::MAX_MEMORIES),
                Ok(())
            );
            let refused = instantiate(&engine, &memories(1), limits::MAX_MEMORIES + 1);
            assert!(refused.is_err_and(|e| e.contains("memor")), "{name}");

            let full = table(limits::MAX_TABLE_ELEMENTS);
            assert_eq!(instantiate(&engine, &full, limits::MAX_TABLES), Ok(()));
            let refused = instantiate(&engine, &full, limits::MAX_TABLES + 1);
            assert!(refused.is_err_and(|e| e.contains("table")), "{name}");
            let refused = instantiate(&engine, &table(limits::MAX_TABLE_ELEMENTS + 1), 1);
            assert!(refused.is_err_and(|e| e.contains("table")), "{name}");
        }
    }

    #[test]
    fn a_one_shot_process_allocates_on_demand_and_a_server_pools() {
        let (_, allocator) = build_engine(&EngineSettings::one_shot()).expect("engine");
        assert!(matches!(allocator, Allocator::OnDemand { .. }));
        let (_, allocator) = build_engine(&EngineSettings::server()).expect("engine");
        assert_eq!(allocator, Allocator::Pooling);
    }

    #[test]
    fn falls_back_to_on_demand_when_pooling_is_off() {
        let settings = EngineSettings {
            pooling: false,
            ..EngineSettings::default()
        };
        let (_engine, allocator) = build_engine(&settings).expect("engine");
        assert!(matches!(allocator, Allocator::OnDemand { .. }));
    }
}
