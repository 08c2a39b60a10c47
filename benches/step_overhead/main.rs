//! Step execution overhead: a trivial step (echo) run through Flowhost's full path versus a
//! hand-written minimal wasmtime host with the same engine, in one process. Also the cold
//! start of a component whose precompiled artifact is already on disk. Then the same echo
//! step written in Python and in JavaScript (issue 17), built by `flowhost::stepkit` with the
//! pinned toolchains (`scripts/toolchains`): warm (fresh store, instantiate, run) and cold (a
//! new process loading the component from the cache and running it once).
//!
//! Run: `cargo bench --bench step_overhead`

use std::path::Path;
use std::time::{Duration, Instant};

use flowhost::principal::{Caller, Principal};
use flowhost::services::HostServices;
use flowhost::wasm::bindings::StepPre;
use flowhost::wasm::engine::{build_engine, deadline_ticks};
use flowhost::wasm::{EngineSettings, StepLimits, StepRuntime};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod polyglot;

const ECHO: &str = env!("FLOWHOST_STEP_ECHO");
const ITERATIONS: usize = 20_000;
const ROUNDS: usize = 3;
const INPUT: &str =
    r#"{"case_id":"C-42","severity":"high","indicators":["10.0.0.1","evil.example"]}"#;

/// The bare floor: WASI (needed by any Rust component), every other import a trap, no limits
/// beyond the epoch deadline, no JSON handling, no bookkeeping.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn bare_pre(engine: &Engine) -> StepPre<Bare> {
    let component = wasmtime::component::Component::from_file(engine, ECHO).expect("component");
    let mut linker: Linker<Bare> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
    linker
        .define_unknown_imports_as_traps(&component)
        .expect("trap imports");
    StepPre::new(linker.instantiate_pre(&component).expect("pre")).expect("step world")
}

fn bare_once(engine: &Engine, pre: &StepPre<Bare>) {
    let state = Bare {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine, state);
    store.set_epoch_deadline(deadline_ticks(Duration::from_secs(10)));
    let step = pre.instantiate(&mut store).expect("instantiate");
    let out = step.call_run(&mut store, INPUT).expect("call");
    assert!(out.is_ok());
}

/// Times `f` ITERATIONS times; returns (mean, p50) in microseconds.
fn measure(mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..ITERATIONS / 10 {
        f();
    }
    let mut samples = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    (mean, samples[samples.len() / 2])
}

fn main() {
    // A child process of the cold rows: it runs one step and exits.
    if polyglot::child().is_some() {
        return;
    }
    let settings = EngineSettings::default();
    let runtime = StepRuntime::new(&settings, None).expect("runtime");
    let step = runtime.load(Path::new(ECHO)).expect("load");
    let input: serde_json::Value = serde_json::from_str(INPUT).expect("input");
    let caller = Caller {
        workspace: "soc".into(),
        principal: Principal::Anonymous,
        cause: None,
        step: None,
    };
    let services = HostServices::deny_all();
    let limits = StepLimits::default();

    let (bare_engine, _) = build_engine(&settings).expect("engine");
    let pre = bare_pre(&bare_engine);

    println!("step execution overhead: echo step, {ITERATIONS} executions x {ROUNDS} rounds");
    println!("allocator: {:?}", runtime.allocator());
    let (mut bare_best, mut flow_best) = ((f64::MAX, f64::MAX), (f64::MAX, f64::MAX));
    for round in 1..=ROUNDS {
        let bare = measure(|| bare_once(&bare_engine, &pre));
        let flow = measure(|| {
            let exec = runtime.execute(&step, &input, caller.clone(), services.clone(), limits);
            assert!(exec.result.is_ok());
        });
        println!(
            "  round {round}: bare {:.1} us (p50 {:.1}), flowhost {:.1} us (p50 {:.1})",
            bare.0, bare.1, flow.0, flow.1
        );
        bare_best = (bare_best.0.min(bare.0), bare_best.1.min(bare.1));
        flow_best = (flow_best.0.min(flow.0), flow_best.1.min(flow.1));
    }
    println!(
        "bare wasmtime : {:.1} us/exec (p50 {:.1})",
        bare_best.0, bare_best.1
    );
    println!(
        "flowhost      : {:.1} us/exec (p50 {:.1})",
        flow_best.0, flow_best.1
    );
    println!(
        "ratio         : {:.2}x mean, {:.2}x p50 (target <= 1.5x)",
        flow_best.0 / bare_best.0,
        flow_best.1 / bare_best.1
    );

    cold_start(&settings, &input, &caller, &services, limits);
    polyglot::rows(&settings, &input, &caller, &services, limits);
}

/// A new runtime loading a component whose artifact is on disk: read, hash, mmap, link.
fn cold_start(
    settings: &EngineSettings,
    input: &serde_json::Value,
    caller: &Caller,
    services: &HostServices,
    limits: StepLimits,
) {
    let cache = tempfile::tempdir().expect("tempdir");
    let warm = StepRuntime::new(settings, Some(cache.path().to_owned())).expect("runtime");
    warm.load(Path::new(ECHO)).expect("compile into the cache");

    let mut loads = Vec::new();
    let mut firsts = Vec::new();
    for _ in 0..50 {
        let rt = StepRuntime::new(settings, Some(cache.path().to_owned())).expect("runtime");
        let t = Instant::now();
        let step = rt.load(Path::new(ECHO)).expect("load");
        let loaded = t.elapsed();
        let exec = rt.execute(&step, input, caller.clone(), services.clone(), limits);
        let first = t.elapsed();
        assert!(exec.result.is_ok());
        assert_eq!(step.cache, flowhost::wasm::cache::CacheOutcome::Hit);
        loads.push(loaded.as_secs_f64() * 1e3);
        firsts.push(first.as_secs_f64() * 1e3);
    }
    loads.sort_by(f64::total_cmp);
    firsts.sort_by(f64::total_cmp);
    println!(
        "cold start    : load cached component {:.3} ms p50, load + first execution {:.3} ms p50 (target < 1 ms)",
        loads[loads.len() / 2],
        firsts[firsts.len() / 2]
    );
}
