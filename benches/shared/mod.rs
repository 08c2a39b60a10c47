//! What the workflow, webhook and access-write benches share: the sample steps, the 3-step
//! workflow they all time, the tenant they run in, and a percentile. Each bench is its own
//! binary and includes this file (`#[path]`); an item one of them does not use is not dead.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use flowhost::platform::Platform;
use flowhost::principal::{Email, Principal};
use flowhost::store::Db;
use flowhost::wasm::{EngineSettings, StepRuntime};
use flowhost::workflow::Engine;
use serde_json::{Value, json};

pub const ECHO: &str = env!("FLOWHOST_STEP_ECHO");
pub const TRANSFORM: &str = env!("FLOWHOST_STEP_TRANSFORM");
/// The example tenant's Owner, who runs and publishes the benches' workflows.
pub const OWNER: &str = "olivia.owner@acme-mssp.test";

/// The steps of the 3-step workflow: two WASM steps, then a case created by the built-in step.
pub fn three_steps() -> Value {
    json!([
        { "id": "normalize", "uses": TRANSFORM, "with": { "indicators": ["10.0.0.1", "evil.example"] } },
        { "id": "echo", "uses": ECHO, "with": { "ips": "$.steps.normalize.ips" } },
        { "id": "open", "uses": "cases/create-case", "with": { "title": "bench {{ $.steps.echo.ips[0] }}", "severity": "low" } }
    ])
}

/// The example tenant on a new database file in `dir`, and an engine over it whose
/// component cache is in `dir` too.
pub fn example_engine(dir: &Path) -> (Arc<Platform>, Engine) {
    let platform =
        Arc::new(Platform::new(Db::open(&dir.join("bench.db")).expect("db")).expect("platform"));
    apply_example_tenant(&platform);
    engine_over(platform, dir)
}

/// Applies the example tenant.
pub fn apply_example_tenant(platform: &Platform) {
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tenants/acme-mssp.json");
    let text = std::fs::read_to_string(&tenant).expect("tenant");
    let file = flowhost::tenant::TenantFile::parse("tenant", &text).expect("tenant");
    flowhost::tenant::apply(platform, &file, None).expect("apply");
}

/// An engine over `platform`, caching compiled components in `dir`.
pub fn engine_over(platform: Arc<Platform>, dir: &Path) -> (Arc<Platform>, Engine) {
    let runtime = Arc::new(
        StepRuntime::new(&EngineSettings::default(), Some(dir.join("cache"))).expect("runtime"),
    );
    let engine = Engine::new(platform.clone(), runtime, vec![]);
    (platform, engine)
}

/// The Owner as a locally signed-in person.
pub fn owner() -> Principal {
    Principal::local(Email::parse(OWNER).expect("email"))
}

/// `runs` calls of `run` by `workers` threads at once (runs in flight, as `serve` runs them);
/// each call's wall time in ms.
pub fn in_flight(workers: usize, runs: usize, run: &(dyn Fn() + Sync)) -> Vec<f64> {
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    (0..runs / workers)
                        .map(|_| {
                            let t = std::time::Instant::now();
                            run();
                            t.elapsed().as_secs_f64() * 1e3
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("a bench thread panicked"))
            .collect()
    })
}

/// The `p`th percentile of `v` (sorted in place).
pub fn pct(v: &mut [f64], p: usize) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * p / 100).min(v.len() - 1)]
}
