//! Workflow runs with full journaling, in one process on a real database file:
//! - a 3-step workflow (two WASM steps and one built-in case step): runs per second one run
//!   at a time and with several in flight (one per CPU, as `serve` runs them by default,
//!   and 16, which group commit batches), their commits per run, and the wall time
//!   per step (p50/p95) as the engine sees it (execution; a step's journal entry commits later,
//!   with the run's next write, and counts in the runs per second);
//! - a 40-step sequential workflow of trivial WASM steps (the shape of Windmill's published
//!   benchmark): time per run.
//!
//! Run: `cargo bench --bench workflow`; `FLOWHOST_BENCH_RUNS=N` runs N 3-step runs a phase
//! instead of 8,000 (short runs under `perf`), `FLOWHOST_BENCH_IN_FLIGHT=N[,M...]` N (then M...)
//! runs in flight instead of one per CPU and 16.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use flowhost::platform::Platform;
use flowhost::workflow::{Observer, Resolver, parse};
use serde_json::{Value, json};

#[path = "shared/mod.rs"]
mod shared;

use shared::{ECHO, pct, three_steps};

/// Collects step durations.
struct Timings(Mutex<Vec<f64>>);

impl Observer for Timings {
    fn step_finished(&self, _: &str, _: &Result<Value, String>, d: Duration, _: bool) {
        if let Ok(mut v) = self.0.lock() {
            v.push(d.as_secs_f64() * 1e6);
        }
    }
}

/// CPU time this process has used, its ended threads' included (user + system, from
/// `/proc/self/stat`, in clock ticks of 10 ms): beside the wall time it tells spent CPU from
/// waiting (Linux; `None` elsewhere).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Runs per phase: `FLOWHOST_BENCH_RUNS`, or 8,000 (a phase of fewer runs in flight is
/// mostly start-up, and sees no WAL checkpoint, whose stall is part of the p99).
fn runs_per_phase() -> usize {
    match std::env::var("FLOWHOST_BENCH_RUNS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("FLOWHOST_BENCH_RUNS={v:?} is not a number of runs")),
        Err(_) => 8000,
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (platform, engine) = shared::example_engine(dir.path());
    let owner = shared::owner();

    let three = json!({ "name": "three", "workspace": "mssp-soc", "steps": three_steps() });
    let forty = json!({ "name": "forty", "workspace": "mssp-soc",
        "steps": (0..40).map(|i| json!({ "id": format!("s{i}"), "uses": ECHO, "with": { "i": i } })).collect::<Vec<_>>() });
    let parse_def = |v: &Value| {
        let text = v.to_string();
        let wf = parse("bench", &text, &Resolver::default()).expect("valid");
        (wf, text)
    };
    let (three, three_text) = parse_def(&three);
    let (forty, forty_text) = parse_def(&forty);

    // One run, which must succeed.
    let run = |wf: &flowhost::workflow::Workflow, text: &str, observer: &dyn Observer| {
        let outcome = engine
            .run_manual(wf, text, "bench", owner.clone(), json!({}), observer)
            .expect("run");
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
    };

    // Warm up: compile and cache the components.
    for _ in 0..20 {
        run(&three, &three_text, &flowhost::workflow::Quiet);
    }

    let timings = Timings(Mutex::new(Vec::new()));
    let runs = runs_per_phase();
    let cpu_before = process_cpu();
    let commits_before = platform.commits();
    let started = Instant::now();
    for _ in 0..runs {
        run(&three, &three_text, &timings);
    }
    let elapsed = started.elapsed();
    let commits_one = platform.commits() - commits_before;
    let cpu_one = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let mut steps = timings.0.into_inner().unwrap_or_default();
    println!(
        "3-step workflow (2 WASM steps + 1 built-in case step), full journaling, {runs} runs:"
    );
    println!(
        "  {:.0} runs/s ({:.3} ms per run)",
        runs as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / runs as f64
    );
    println!("  {:.2} commits per run", commits_one as f64 / runs as f64);
    println!(
        "  per step: p50 {:.1} us, p95 {:.1} us (execution; journal writes count in runs/s)",
        pct(&mut steps, 50),
        pct(&mut steps, 95)
    );
    if let Some(cpu) = cpu_one {
        let per_run = cpu.as_secs_f64() / runs as f64;
        println!(
            "  CPU {:.3} ms per run: the ceiling of 2 cores is {:.0} runs/s",
            per_run * 1e3,
            2.0 / per_run
        );
    }

    // The same runs with several in flight at once, as `serve` runs them: one thread per
    // run in flight, one engine and one database shared by all; once as many as CPUs (the
    // default of `serve --concurrency`), once 16 (group commit batches more of them).
    // `FLOWHOST_BENCH_IN_FLIGHT=N[,M...]` sets their numbers.
    let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let counts: Vec<usize> = match std::env::var("FLOWHOST_BENCH_IN_FLIGHT") {
        Ok(v) => v
            .split(',')
            .map(|n| {
                n.trim().parse().unwrap_or_else(|_| {
                    panic!("FLOWHOST_BENCH_IN_FLIGHT={v:?} is not a list of numbers of runs")
                })
            })
            .collect(),
        Err(_) => vec![cpus, 16],
    };
    for workers in counts {
        in_flight(&platform, workers, runs, &|| {
            run(&three, &three_text, &flowhost::workflow::Quiet);
        });
    }

    let mut per_run = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        run(&forty, &forty_text, &flowhost::workflow::Quiet);
        per_run.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("40-step sequential workflow of trivial WASM steps, 100 runs:");
    println!(
        "  p50 {:.2} ms, p95 {:.2} ms per run",
        pct(&mut per_run, 50),
        pct(&mut per_run, 95)
    );
    println!(
        "targets (issue 19): >= 10,000 runs/s for the 3-step workflow with runs in flight; the 40-step workflow p50 under 1 ms"
    );
}

/// Runs `runs` runs of `run` with `workers` in flight at once and prints what they cost.
fn in_flight(platform: &Platform, workers: usize, runs: usize, run: &(dyn Fn() + Sync)) {
    let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let uses_before = platform.connection_use();
    let commits_before = platform.commits();
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut latencies = shared::in_flight(workers, runs, &run);
    let elapsed = started.elapsed();
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let done = latencies.len();
    let uses = platform.connection_use();
    let commits = platform.commits() - commits_before;
    println!(
        "  {:.0} runs/s with {workers} runs in flight ({done} runs, one process), run p50 {:.3} ms, p99 {:.3} ms{}",
        done as f64 / elapsed.as_secs_f64(),
        pct(&mut latencies, 50),
        pct(&mut latencies, 99),
        cpu.map_or(String::new(), |c| format!(
            ", CPU {:.3} ms per run ({:.0}% of the {cpus} CPUs busy)",
            c.as_secs_f64() * 1e3 / done as f64,
            100.0 * c.as_secs_f64() / elapsed.as_secs_f64() / cpus as f64
        ))
    );
    println!(
        "  the shared connection per run: taken {:.1} times, {:.2} of them held by another run, waited {:.3} ms",
        (uses.taken - uses_before.taken) as f64 / done as f64,
        (uses.contended - uses_before.contended) as f64 / done as f64,
        (uses.waited - uses_before.waited).as_secs_f64() * 1e3 / done as f64
    );
    println!("  {:.2} commits per run", commits as f64 / done as f64);
}
