//! SPEC ST-2: a hostile or buggy step fails that step only, with an error naming the cause,
//! and the host goes on running other steps in the same process.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use common::{ECHO, HOSTILE, run, runtime};
use flowhost::wasm::cache::CacheOutcome;
use flowhost::wasm::{EngineSettings, StepExecution, StepFailure, StepLimits, StepRuntime};
use serde_json::json;

fn limits() -> StepLimits {
    StepLimits {
        memory_bytes: 32 << 20,
        timeout: Duration::from_secs(5),
        ..StepLimits::default()
    }
}

fn failure(exec: &StepExecution) -> &StepFailure {
    match &exec.result {
        Ok(out) => panic!("the step should have failed, but returned {out}"),
        Err(f) => f,
    }
}

/// After any failure, a well-behaved step in the same runtime still runs.
fn assert_next_step_runs(rt: &StepRuntime) {
    let input = json!({ "still": "alive", "n": 1 });
    let exec = run(rt, ECHO, input.clone(), limits());
    assert_eq!(
        exec.result.as_ref().ok(),
        Some(&input),
        "the next step must run normally"
    );
}

#[test]
fn an_infinite_loop_hits_the_deadline() {
    let rt = runtime();
    let limits = StepLimits {
        timeout: Duration::from_millis(200),
        ..limits()
    };
    let exec = run(&rt, HOSTILE, json!({ "attack": "loop" }), limits);
    let f = failure(&exec);
    assert_eq!(f.kind(), "deadline", "{f}");
    assert!(f.to_string().contains("longer than 200ms"), "{f}");
    assert!(
        exec.duration < Duration::from_secs(3),
        "stopped near its deadline"
    );
    assert_next_step_runs(&rt);
}

#[test]
fn a_step_that_sleeps_is_woken_and_stopped_at_its_deadline() {
    let rt = runtime();
    let limits = StepLimits {
        timeout: Duration::from_millis(300),
        ..limits()
    };
    let exec = run(&rt, HOSTILE, json!({ "attack": "sleep" }), limits);
    let f = failure(&exec);
    assert_eq!(f.kind(), "deadline", "{f}");
    assert!(
        exec.duration < Duration::from_secs(3),
        "took {:?}",
        exec.duration
    );
    assert_next_step_runs(&rt);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let rt = runtime();
    let exec = run(&rt, HOSTILE, json!({ "attack": "memory" }), limits());
    let f = failure(&exec);
    assert_eq!(f.kind(), "memory_limit", "{f}");
    assert!(
        f.to_string()
            .contains(&format!("memory limit of {} bytes", 32 << 20)),
        "{f}"
    );
    assert_next_step_runs(&rt);
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let rt = runtime();
    let exec = run(&rt, HOSTILE, json!({ "attack": "recursion" }), limits());
    let f = failure(&exec);
    assert_eq!(f.kind(), "stack_overflow", "{f}");
    assert!(f.to_string().contains("stack overflow"), "{f}");
    assert_next_step_runs(&rt);
}

#[test]
fn a_panic_is_a_trap_carrying_the_panic_message() {
    let rt = runtime();
    let exec = run(&rt, HOSTILE, json!({ "attack": "panic" }), limits());
    let f = failure(&exec);
    assert_eq!(f.kind(), "trap", "{f}");
    assert!(
        f.to_string().contains("hostile step panicked on purpose"),
        "{f}"
    );
    assert_next_step_runs(&rt);
}

#[test]
fn the_host_filesystem_is_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "s3cr3t").expect("write secret");
    let rt = runtime();
    for path in [
        secret.to_str().expect("utf-8 path"),
        "/etc/passwd",
        "secret.txt",
    ] {
        let exec = run(
            &rt,
            HOSTILE,
            json!({ "attack": "read_file", "path": path }),
            limits(),
        );
        let f = failure(&exec).to_string();
        assert!(f.contains("denied: cannot read"), "{f}");
        assert!(!f.contains("s3cr3t"), "{f}");
    }
    assert_next_step_runs(&rt);
}

#[test]
fn the_host_environment_is_invisible() {
    // SAFETY: this test binary sets the variable before any step reads the environment and
    // no other test touches it.
    unsafe { std::env::set_var("FLOWHOST_TEST_SECRET", "s3cr3t") };
    let rt = runtime();
    let input = json!({ "attack": "env", "names": ["FLOWHOST_TEST_SECRET", "HOME", "PATH"] });
    let exec = run(&rt, HOSTILE, input, limits());
    let f = failure(&exec).to_string();
    assert!(
        f.contains("denied: no environment variable is visible"),
        "{f}"
    );
    assert_next_step_runs(&rt);
}

#[test]
fn sockets_are_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr").to_string();
    let rt = runtime();
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "socket", "addr": addr }),
        limits(),
    );
    let f = failure(&exec).to_string();
    assert!(
        f.contains(&format!("denied: cannot connect to {addr}")),
        "{f}"
    );
    assert!(listener.accept().is_err(), "nothing may have connected");
    assert_next_step_runs(&rt);
}

#[test]
fn a_100_mib_output_is_refused() {
    let rt = runtime();
    let limits = StepLimits {
        memory_bytes: 256 << 20,
        timeout: Duration::from_secs(60),
        ..limits()
    };
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "big_output", "mib": 100 }),
        limits,
    );
    let f = failure(&exec);
    assert_eq!(f.kind(), "output_too_large", "{f}");
    assert!(
        f.to_string()
            .contains(&format!("{} bytes", (100 << 20) + 2)),
        "{f}"
    );
    assert_next_step_runs(&rt);
}

#[test]
fn a_failed_step_keeps_its_logs_and_publishes_no_events() {
    let rt = runtime();
    // As a member who may emit, so the event is accepted before the step fails.
    let platform = std::sync::Arc::new(common::example_platform());
    let caller = flowhost::principal::Caller {
        workspace: "mssp-soc".into(),
        principal: common::user("omar.operator@acme-mssp.test"),
        cause: None,
    };
    let exec = common::run_on(
        &rt,
        platform,
        HOSTILE,
        json!({ "attack": "emit_then_panic" }),
        caller,
    );
    assert_eq!(failure(&exec).kind(), "trap");
    assert!(exec.events.is_empty(), "a failed step publishes nothing");
    assert_eq!(exec.logs.len(), 1);
    assert_eq!(exec.logs[0].message, "about to emit, then fail");
}

#[test]
fn host_calls_answer_denied_until_services_are_wired_in() {
    let rt = runtime();
    let exec = run(&rt, HOSTILE, json!({ "attack": "host_calls" }), limits());
    let out = exec.result.expect("the probe itself succeeds");
    assert_eq!(out["has_scope"]["allowed"], false);
    assert!(
        out["has_scope"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("default deny"))
    );
    assert!(
        out["flow"]
            .as_str()
            .is_some_and(|s| s.contains("allowed: false")),
        "{out}"
    );
    for call in ["query", "restrictions"] {
        let answer = out[call].as_str().unwrap_or_default();
        assert!(
            answer.starts_with("Err(HostError::Denied"),
            "{call}: {answer}"
        );
    }
}

#[test]
fn malformed_components_are_load_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"this is not wasm").expect("write");
    let core_module = dir.path().join("core.wasm");
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").expect("write");
    let rt = runtime();
    for path in [&garbage, &core_module, &dir.path().join("missing.wasm")] {
        let Err(err) = rt.load(path) else {
            panic!("{} must not load", path.display());
        };
        assert_eq!(err.kind(), "load");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    assert_next_step_runs(&rt);
}

#[test]
fn hostile_steps_on_other_threads_do_not_disturb_good_ones() {
    let rt = runtime();
    std::thread::scope(|s| {
        for attack in ["loop", "memory", "panic", "recursion"] {
            let rt = &rt;
            s.spawn(move || {
                let limits = StepLimits {
                    timeout: Duration::from_millis(300),
                    ..limits()
                };
                let exec = run(rt, HOSTILE, json!({ "attack": attack }), limits);
                assert!(exec.result.is_err(), "{attack} must fail");
            });
        }
        for _ in 0..50 {
            assert_next_step_runs(&rt);
        }
    });
}

/// Pool slots are reset in place rather than released (`wasm::engine`): whatever a step left
/// in its memory is gone before the next step runs in the same slot.
#[test]
fn a_step_finds_nothing_an_earlier_execution_left_in_memory() {
    let rt = runtime();
    for n in 0..3 {
        let exec = run(&rt, HOSTILE, json!({ "attack": "remember" }), limits());
        assert_eq!(
            exec.result.as_ref().ok(),
            Some(&json!({ "calls_before": 0, "dirty_bytes": 0 })),
            "execution {n}"
        );
    }
}

#[test]
fn a_second_runtime_loads_the_precompiled_artifact_from_disk() {
    let cache = tempfile::tempdir().expect("tempdir");
    let settings = EngineSettings::default();
    let first = StepRuntime::new(&settings, Some(cache.path().to_owned())).expect("runtime");
    let step = first.load(Path::new(ECHO)).expect("load");
    assert_eq!(step.cache, CacheOutcome::Compiled);

    let second = StepRuntime::new(&settings, Some(cache.path().to_owned())).expect("runtime");
    let step = second.load(Path::new(ECHO)).expect("load");
    assert_eq!(step.cache, CacheOutcome::Hit);
    assert_next_step_runs(&second);
}

/// The ways a cached artifact gets damaged (issue 14 item 6).
#[derive(Clone, Copy, Debug)]
enum Damage {
    Truncate,
    FlipBytes,
    Garbage,
}

fn damage_artifacts(cache: &Path, damage: Damage) {
    let mut damaged = 0;
    for entry in std::fs::read_dir(cache).expect("cache dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "cwasm") {
            continue;
        }
        let mut bytes = std::fs::read(&path).expect("read artifact");
        match damage {
            Damage::Truncate => bytes.truncate(bytes.len() / 2),
            Damage::FlipBytes => {
                // Bytes spread over the whole file, code included; the header stays valid.
                let step = bytes.len() / 64;
                for at in (64..bytes.len()).step_by(step.max(1)) {
                    bytes[at] ^= 0xFF;
                }
            }
            Damage::Garbage => bytes = b"garbage".repeat(1000),
        }
        std::fs::write(&path, bytes).expect("damage");
        damaged += 1;
    }
    assert_eq!(damaged, 1, "one artifact in the cache");
}

/// A damaged artifact is never loaded: it is discarded and compiled again, the step runs
/// correctly, and the next process finds a sound artifact again.
#[test]
fn a_damaged_cached_artifact_is_recompiled_not_loaded() {
    let settings = EngineSettings::default();
    for damage in [Damage::Truncate, Damage::FlipBytes, Damage::Garbage] {
        let cache = tempfile::tempdir().expect("tempdir");
        let first = StepRuntime::new(&settings, Some(cache.path().to_owned())).expect("runtime");
        first.load(Path::new(ECHO)).expect("load");
        damage_artifacts(cache.path(), damage);

        let second = StepRuntime::new(&settings, Some(cache.path().to_owned())).expect("runtime");
        let step = second.load(Path::new(ECHO)).expect("load");
        assert_eq!(step.cache, CacheOutcome::Compiled, "{damage:?}");
        assert_next_step_runs(&second);

        let third = StepRuntime::new(&settings, Some(cache.path().to_owned())).expect("runtime");
        let step = third.load(Path::new(ECHO)).expect("load");
        assert_eq!(step.cache, CacheOutcome::Hit, "{damage:?}: rewritten");
        assert_next_step_runs(&third);
    }
}

/// The same through `flowhost step run`, whose cache sits beside the database: the process
/// must not crash on a damaged artifact.
#[test]
fn step_run_survives_a_damaged_cached_artifact() {
    for damage in [Damage::Truncate, Damage::FlipBytes, Damage::Garbage] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("flowhost.db");
        let args = ["step", "run", ECHO, "--input", r#"{"n":7}"#, "--json"];
        common::flowhost_ok(dir.path(), &db, &args);
        damage_artifacts(&dir.path().join("cache"), damage);
        for _ in 0..2 {
            let out = common::flowhost(dir.path(), &db, &args);
            assert!(
                out.status.success(),
                "{damage:?}: {:?} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            assert_eq!(doc["output"], json!({ "n": 7 }), "{damage:?}");
        }
    }
}
