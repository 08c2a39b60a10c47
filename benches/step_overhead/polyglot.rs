//! Python and JavaScript rows: an echo step through each SDK, warm and cold.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use flowhost::principal::Caller;
use flowhost::services::HostServices;
use flowhost::stepkit::{Language, Manifest, build, templates};
use flowhost::wasm::{EngineSettings, StepLimits, StepRuntime};

const WARM_ITERATIONS: usize = 2_000;
const COLD_PROCESSES: usize = 20;
/// Set in a child process: the component to load from the cache and run once.
const CHILD: &str = "FLOWHOST_BENCH_COLD_COMPONENT";
const CHILD_CACHE: &str = "FLOWHOST_BENCH_COLD_CACHE";
/// Set in a child process: use the server's pooled engine instead of a one-shot process's.
const CHILD_POOLING: &str = "FLOWHOST_BENCH_COLD_POOLING";

/// In a child process: load from the cache, run once, print the in-process milliseconds:
/// in all, then making the runtime, loading, and the first execution.
pub fn child() -> Option<()> {
    let component = std::env::var_os(CHILD)?;
    let cache = std::env::var_os(CHILD_CACHE).map(PathBuf::from);
    let t = Instant::now();
    // What a one-shot process (`flowhost step run`) uses; set FLOWHOST_BENCH_COLD_POOLING=1
    // to compare with the server's pool (`benches/README.md`, "Python cold start").
    let settings = match std::env::var_os(CHILD_POOLING) {
        Some(_) => EngineSettings::server(),
        None => EngineSettings::one_shot(),
    };
    let rt = StepRuntime::new(&settings, cache).expect("runtime");
    let made = t.elapsed();
    let step = rt.load(Path::new(&component)).expect("load");
    let loaded = t.elapsed();
    assert_eq!(step.cache, flowhost::wasm::cache::CacheOutcome::Hit);
    let caller = Caller {
        workspace: "soc".into(),
        principal: flowhost::principal::Principal::Anonymous,
        cause: None,
        step: None,
    };
    let exec = rt.execute(
        &step,
        &serde_json::json!({ "n": 1 }),
        caller,
        HostServices::deny_all(),
        StepLimits::default(),
    );
    assert!(exec.result.is_ok(), "{:?}", exec.result);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let all = t.elapsed();
    println!(
        "{:.3} {:.3} {:.3} {:.3}",
        ms(all),
        ms(made),
        ms(loaded - made),
        ms(all - loaded)
    );
    Some(())
}

/// An echo step through the SDK of `lang`, built in a new project under `dir`.
fn echo_component(dir: &Path, lang: Language) -> PathBuf {
    let project = dir.join(lang.as_str());
    templates::write_project(&project, "echo", lang).expect("project");
    let (file, source) = match lang {
        Language::Python => (
            "step.py",
            "from flowhost_step import step\n\ndef echo(input: dict) -> dict:\n    return input\n\nWitWorld = step(echo)\n",
        ),
        _ => (
            "step.js",
            "import { step } from \"./flowhost-step\";\nexport const run = step((input) => input);\n",
        ),
    };
    std::fs::write(project.join(file), source).expect("source");
    let manifest = Manifest::load(&project).expect("manifest");
    let built = build::build(&project, &manifest).unwrap_or_else(|e| {
        panic!("building the {lang} echo step (run scripts/toolchains first): {e}")
    });
    println!(
        "{lang} echo      : built {:.1} MB in {:.1} s",
        built.bytes as f64 / 1e6,
        built.duration.as_secs_f64()
    );
    built.component
}

pub fn rows(
    settings: &EngineSettings,
    input: &serde_json::Value,
    caller: &Caller,
    services: &HostServices,
    limits: StepLimits,
) {
    // FLOWHOST_BENCH_KEEP=DIR keeps the built components and their caches there, so a
    // profiler can run the cold child on them afterwards (`benches/README.md`).
    let temp = tempfile::tempdir().expect("tempdir");
    let kept = std::env::var_os("FLOWHOST_BENCH_KEEP").map(PathBuf::from);
    let dir = kept.as_deref().unwrap_or(temp.path());
    for (lang, warm_target, cold_target) in [
        (Language::Python, "< 1.5 ms", "< 5 ms"),
        (Language::Js, "< 0.5 ms", "-"),
    ] {
        let component = echo_component(dir, lang);
        let cache = dir.join(format!("cache-{lang}"));
        let rt = StepRuntime::new(settings, Some(cache.clone())).expect("runtime");
        let step = rt.load(&component).expect("load");

        let mut samples = Vec::with_capacity(WARM_ITERATIONS);
        for i in 0..WARM_ITERATIONS + WARM_ITERATIONS / 10 {
            let t = Instant::now();
            let exec = rt.execute(&step, input, caller.clone(), services.clone(), limits);
            let us = t.elapsed().as_secs_f64() * 1e6;
            assert!(exec.result.is_ok(), "{:?}", exec.result);
            if i >= WARM_ITERATIONS / 10 {
                samples.push(us);
            }
        }
        samples.sort_by(f64::total_cmp);
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        println!(
            "{lang} warm      : {:.1} us/exec (p50 {:.1}) (target {warm_target})",
            mean,
            samples[samples.len() / 2]
        );

        // A file changed less than `SETTLE` ago is checked in full on every load (by design:
        // `wasm/cache/stamp.rs`); the cold rows measure a cache that has settled.
        std::thread::sleep(flowhost::wasm::cache::stamp::SETTLE);
        let exe = std::env::current_exe().expect("bench executable");
        let (mut inside, mut wall) = (Vec::new(), Vec::new());
        let mut parts: [Vec<f64>; 3] = Default::default();
        for _ in 0..COLD_PROCESSES {
            let t = Instant::now();
            let out = Command::new(&exe)
                .env(CHILD, &component)
                .env(CHILD_CACHE, &cache)
                .output()
                .expect("child process");
            wall.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed: Vec<f64> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(|n| n.parse().expect("child prints milliseconds"))
                .collect();
            inside.push(printed[0]);
            for (part, ms) in parts.iter_mut().zip(&printed[1..]) {
                part.push(*ms);
            }
        }
        inside.sort_by(f64::total_cmp);
        wall.sort_by(f64::total_cmp);
        for part in &mut parts {
            part.sort_by(f64::total_cmp);
        }
        println!(
            "{lang} cold      : runtime + load from cache + first run {:.2} ms p50 in the new process, {:.1} ms p50 process wall time (target {cold_target})",
            inside[inside.len() / 2],
            wall[wall.len() / 2]
        );
        println!(
            "{lang} cold parts: runtime {:.2} ms, load {:.2} ms, first execution {:.2} ms (p50 each)",
            parts[0][parts[0].len() / 2],
            parts[1][parts[1].len() / 2],
            parts[2][parts[2].len() / 2]
        );
    }
}
