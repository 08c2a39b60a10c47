//! SPEC ST-2: a hostile or buggy step fails that step only, with an error naming the cause,
//! and the host goes on running other steps in the same process. The attacks run under both
//! instance allocators (`common::runtimes`: a server's pool, a one-shot process's on-demand).

use crate::common;

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use std::sync::Arc;

use common::{ECHO, HOSTILE, run, runtime, runtimes};
use flowhost::platform::Platform;
use flowhost::services::cases::CaseQuery;
use flowhost::services::{CaseApi, HostServices};
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
    for rt in runtimes() {
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
}

#[test]
fn a_step_that_sleeps_is_woken_and_stopped_at_its_deadline() {
    for rt in runtimes() {
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
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    for rt in runtimes() {
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
}

#[test]
fn deep_recursion_overflows_the_stack() {
    for rt in runtimes() {
        let exec = run(&rt, HOSTILE, json!({ "attack": "recursion" }), limits());
        let f = failure(&exec);
        assert_eq!(f.kind(), "stack_overflow", "{f}");
        assert!(f.to_string().contains("stack overflow"), "{f}");
        assert_next_step_runs(&rt);
    }
}

#[test]
fn a_panic_is_a_trap_carrying_the_panic_message() {
    for rt in runtimes() {
        let exec = run(&rt, HOSTILE, json!({ "attack": "panic" }), limits());
        let f = failure(&exec);
        assert_eq!(f.kind(), "trap", "{f}");
        assert!(
            f.to_string().contains("hostile step panicked on purpose"),
            "{f}"
        );
        assert_next_step_runs(&rt);
    }
}

/// A step's stderr never closes on it: past what is kept, its start and its end stay and
/// what lies between is counted, so a panic after long progress output is the step's own
/// message, not wasm's `unreachable` (round 19 hostile-step review: the full pipe closed,
/// `eprintln!` panicked on it, and the real cause was never written).
#[test]
fn a_panic_after_long_stderr_output_keeps_its_message() {
    for rt in runtimes() {
        let exec = run(
            &rt,
            HOSTILE,
            json!({ "attack": "stderr_then_panic" }),
            limits(),
        );
        let f = failure(&exec);
        assert_eq!(f.kind(), "trap", "{f}");
        let text = f.to_string();
        assert!(
            text.contains("the real cause, after the progress lines"),
            "the end is kept: {}",
            &text[text.len().saturating_sub(500)..]
        );
        assert!(text.contains("progress line 00000"), "the start is kept");
        assert!(text.contains("bytes of stderr left out"), "counted");
        assert!(text.len() < 70 * 1024, "bounded: {} bytes", text.len());
        assert_next_step_runs(&rt);
    }
}

/// A step that exits the process after writing its reason to stderr fails with that reason,
/// and no exit code WASI did not carry (round 20 hostile-step review).
#[test]
fn a_step_exiting_the_process_keeps_what_it_wrote_to_stderr() {
    for rt in runtimes() {
        let exec = run(
            &rt,
            HOSTILE,
            json!({ "attack": "exit_after_stderr" }),
            limits(),
        );
        let text = failure(&exec).to_string();
        assert!(
            text.contains("exited the process with an error status")
                && text.contains("missing setting `feed_url`"),
            "{text}"
        );
        assert!(!text.contains("code 1"), "{text}");
        assert_next_step_runs(&rt);
    }
}

/// A step's stderr is kept when the host ends it for its time or its memory, as when it
/// traps or exits (round 21 hostile-step review: the failure said the limit alone).
#[test]
fn a_step_ended_at_its_limits_keeps_what_it_wrote_to_stderr() {
    let rt = runtime();
    let short = StepLimits {
        timeout: Duration::from_millis(300),
        ..limits()
    };
    for (attack, bound, kind, wrote) in [
        (
            "stderr_then_loop",
            short,
            "deadline",
            "answered 503; retrying",
        ),
        (
            "stderr_then_memory",
            limits(),
            "memory_limit",
            "loading the whole feed",
        ),
        (
            "stderr_then_deep_output",
            limits(),
            "output_too_deep",
            "returning the whole process tree",
        ),
    ] {
        let exec = run(&rt, HOSTILE, json!({ "attack": attack }), bound);
        let f = failure(&exec);
        assert_eq!(f.kind(), kind, "{attack}: {f}");
        assert!(f.to_string().contains(wrote), "{attack}: {f}");
    }
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

/// An output is capped as it is stored: `1e15` sent in four bytes is stored in eighteen
/// (`1000000000000000.0`), and an output under the cap as sent passed it four times over as
/// stored, twice (round 20 hostile-step review).
#[test]
fn an_output_is_capped_as_it_is_stored() {
    let rt = runtime();
    let limits = StepLimits {
        max_output_bytes: 1 << 20,
        ..limits()
    };
    // About 500 KB sent, about 1.9 MB stored.
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "number_output", "count": 100_000 }),
        limits,
    );
    let f = failure(&exec);
    assert_eq!(f.kind(), "output_too_large", "{f}");
    assert!(f.to_string().contains("the limit is 1048576"), "{f}");
    // Within the cap as stored: taken.
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "number_output", "count": 10_000 }),
        limits,
    );
    let out = exec.result.expect("about 190 KB stored");
    assert_eq!(out.as_array().map(Vec::len), Some(10_000));
    assert_next_step_runs(&rt);
}

/// An output under the byte cap but of millions of values is refused before it is parsed:
/// 15 MiB of `[0,0,…]` would be about 250 MiB of parsed values, held by the run's context,
/// journal and step record (hostile step review). A wide output under the value cap passes.
#[test]
fn an_output_of_millions_of_values_is_refused_before_it_is_parsed() {
    let rt = runtime();
    let limits = StepLimits {
        memory_bytes: 256 << 20,
        timeout: Duration::from_secs(60),
        ..limits()
    };
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "wide_output", "mib": 15 }),
        limits,
    );
    let f = failure(&exec);
    assert_eq!(f.kind(), "output_too_large", "{f}");
    assert!(
        f.to_string()
            .contains("about 7864321 JSON values (an object holding anything counts as 20), the limit is 1000000"),
        "{f}"
    );
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "wide_output", "mib": 1 }),
        limits,
    );
    let out = exec.result.expect("524,288 values pass");
    assert_eq!(out.as_array().map(Vec::len), Some(1 << 19));
    assert_next_step_runs(&rt);
}

/// A Rust step's output holding NaN fails the step, and an event payload holding an infinity
/// is refused before it is sent, as the Python and JavaScript SDKs do: `serde_json` wrote
/// either as `null` without a word (round 24 steps review).
#[test]
fn a_rust_steps_number_json_cannot_carry_fails_it() {
    let rt = runtime();
    let exec = run(&rt, HOSTILE, json!({ "attack": "nan_output" }), limits());
    let f = failure(&exec);
    assert!(
        f.to_string()
            .contains("output: it holds NaN, which JSON cannot carry"),
        "{f}"
    );
    let exec = run(&rt, HOSTILE, json!({ "attack": "nan_event" }), limits());
    let out = exec.result.as_ref().expect("the step reports the refusal");
    assert!(
        out["refused"]
            .as_str()
            .is_some_and(|r| r.contains("event payload: it holds inf")),
        "{out}"
    );
    assert!(exec.events.is_empty());
    // A 128-bit integer is a number, not a refused type (round 25 steps review).
    let exec = run(&rt, HOSTILE, json!({ "attack": "wide_integers" }), limits());
    assert_eq!(
        exec.result.as_ref().ok(),
        Some(&json!([12, -3, { "7": -7 }])),
        "{:?}",
        exec.result
    );
    assert_next_step_runs(&rt);
}

/// An object holding anything counts for what it costs parsed (its B-tree node, about 632
/// bytes, 20 values of 32): 100,000 `{"":0}`, 700 KB of text and 200,001 values as counted
/// before, parsed to about 66 MB, and a run held thirty such outputs (round 24 hostile-step
/// review). Fewer pass.
#[test]
fn an_output_of_many_small_objects_counts_what_they_cost_parsed() {
    let rt = runtime();
    let limits = StepLimits {
        timeout: Duration::from_secs(60),
        ..limits()
    };
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "object_output", "count": 100_000 }),
        limits,
    );
    let f = failure(&exec);
    assert_eq!(f.kind(), "output_too_large", "{f}");
    assert!(
        f.to_string()
            .contains("about 2100001 JSON values (an object holding anything counts as 20), the limit is 1000000"),
        "{f}"
    );
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "object_output", "count": 40_000 }),
        limits,
    );
    let out = exec.result.expect("840,001 values pass");
    assert_eq!(out.as_array().map(Vec::len), Some(40_000));
    assert_next_step_runs(&rt);
}

/// A step's failure message is kept to `MAX_STEP_ERROR_BYTES`, cut at a character boundary
/// and saying how long it was: before, an 8 MiB message went whole into the step record, the
/// run's journal and the run itself, once per retry.
#[test]
fn a_huge_failure_message_is_cut_and_says_its_length() {
    let rt = runtime();
    let exec = run(
        &rt,
        HOSTILE,
        json!({ "attack": "big_error", "mib": 8 }),
        StepLimits::default(),
    );
    let f = failure(&exec);
    assert_eq!(f.kind(), "step_error", "{f}");
    let message = f.to_string();
    assert!(
        message.len() < flowhost::text::MAX_STEP_ERROR_BYTES + 100,
        "{} bytes",
        message.len()
    );
    assert!(
        message.ends_with(&format!("(cut: {} bytes in all)", 8 << 20)),
        "{}",
        &message[message.len() - 60..]
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
        step: None,
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

/// An output nested deeper than the host keeps fails the step before its events are kept:
/// refused only later, by the engine, it published them from a failed step (hostile-step
/// review).
#[test]
fn a_step_whose_output_nests_too_deep_fails_and_publishes_no_events() {
    let rt = runtime();
    let platform = std::sync::Arc::new(common::example_platform());
    let caller = |_| flowhost::principal::Caller {
        workspace: "mssp-soc".into(),
        principal: common::user("omar.operator@acme-mssp.test"),
        cause: None,
        step: None,
    };
    let deep = common::run_on(
        &rt,
        platform.clone(),
        HOSTILE,
        json!({ "attack": "emit_then_deep_output", "depth": 100 }),
        caller(()),
    );
    assert_eq!(
        failure(&deep).kind(),
        "output_too_deep",
        "{:?}",
        deep.result
    );
    assert!(
        failure(&deep).to_string().contains("nested 100 levels"),
        "{:?}",
        deep.result
    );
    assert!(deep.events.is_empty(), "a failed step publishes nothing");
    // At the limit it succeeds, and its event is kept.
    let at_limit = common::run_on(
        &rt,
        platform,
        HOSTILE,
        json!({ "attack": "emit_then_deep_output", "depth": 64 }),
        caller(()),
    );
    assert!(at_limit.result.is_ok(), "{:?}", at_limit.result);
    assert_eq!(at_limit.events.len(), 1);
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

/// A component whose modules put a byte at the start of their memory and one 16 MiB on
/// compiles to code of its own size, not a 16 MiB memory image per module: a few kilobytes of
/// such modules compiled to gigabytes the host read, copied and cached (hostile-step review).
#[test]
fn sparse_data_does_not_compile_to_a_dense_memory_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    // One core module: a memory of 256 pages (16 MiB), a byte at 0 and one at 16 MiB - 2.
    let module: &[u8] = b"\x00\x61\x73\x6d\x01\x00\x00\x00\x05\x04\x01\x00\x80\x02\x0b\x10\x02\x00\x41\x00\x0b\x01\x61\x00\x41\xfe\xff\xff\x07\x0b\x01\x62";
    let mut component = b"\0asm\x0d\0\x01\0\x01".to_vec();
    component.push(u8::try_from(module.len()).expect("small"));
    component.extend(module);
    let path = dir.path().join("sparse.wasm");
    std::fs::write(&path, component).expect("write");
    let rt = StepRuntime::new(&EngineSettings::one_shot(), Some(cache.clone())).expect("runtime");
    // It is no step (it links to nothing): compiled and cached, then refused.
    let err = rt.load(&path).err().expect("not a step");
    assert!(err.to_string().contains("flowhost:step"), "{err}");
    let artifacts = artifacts(&cache);
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let size = std::fs::metadata(&artifacts[0]).expect("artifact").len();
    assert!(
        size < 1 << 20,
        "a {size}-byte artifact for a 48-byte component"
    );
}

/// `n` as unsigned LEB128.
fn leb(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A component whose one core module holds the one section `id` of `body`.
fn component_of_section(id: u8, body: Vec<u8>) -> Vec<u8> {
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    module.push(id);
    module.extend(leb(body.len()));
    module.extend(body);
    let mut component = b"\0asm\x0d\0\x01\0\x01".to_vec();
    component.extend(leb(module.len()));
    component.extend(module);
    component
}

/// `component`, written as `name`, fails to load under both runtimes, its error holding each
/// of `said`, and the next step still runs.
fn refused_under_both_allocators(name: &str, component: Vec<u8>, said: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, component).expect("write");
    for rt in runtimes() {
        let Err(err) = rt.load(&path) else {
            panic!("{name} must not load");
        };
        assert_eq!(err.kind(), "load");
        let text = err.to_string();
        for part in said {
            assert!(text.contains(part), "{text}");
        }
        assert_next_step_runs(&rt);
    }
}

/// A core module with more tables than a pool slot holds is refused when it is loaded, by
/// the one-shot runtime (`step run`, no pool) as by the server's (the pool), with a message that
/// says why: a step that runs locally must not fail only once it is deployed.
#[test]
fn a_core_module_shape_the_pool_refuses_is_refused_under_both_allocators() {
    // Two funcref tables of size 0.
    let tables = vec![0x02, 0x70, 0x00, 0x00, 0x70, 0x00, 0x00];
    refused_under_both_allocators(
        "two-tables.wasm",
        component_of_section(0x04, tables),
        &["defines 2 tables", "two-tables.wasm"],
    );
}

/// A core module whose instance needs more host-side context than a pool slot holds (here
/// 100,000 globals) is refused by both runtimes: the one-shot runtime loaded it, each
/// instance costing the host megabytes beyond the step's memory limit, and the server
/// refused it only at load (round 26 hostile-step review).
#[test]
fn a_core_module_too_large_an_instance_for_the_pool_is_refused_under_both_allocators() {
    let globals = 100_000;
    let mut section = leb(globals);
    for _ in 0..globals {
        section.extend([0x7f, 0x00, 0x41, 0x00, 0x0b]);
    }
    refused_under_both_allocators(
        "many-globals.wasm",
        component_of_section(0x06, section),
        &["100000 globals and tags"],
    );
}

/// A component whose core instances together pass the pool's component size is refused at
/// load under either allocator, each module within its own size: under the on-demand one it
/// took megabytes of the host an execution, and the server refused it only at load (round
/// 27 hostile-step review).
#[test]
fn a_component_whose_core_instances_together_are_too_large_is_refused_under_both_allocators() {
    let globals = 30_000;
    let mut section = leb(globals);
    for _ in 0..globals {
        section.extend([0x7f, 0x00, 0x41, 0x00, 0x0b]);
    }
    let mut component = component_of_section(0x06, section);
    // A core instance section: the module instantiated twice, with no arguments.
    let instances = [0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
    component.push(0x02);
    component.extend(leb(instances.len()));
    component.extend(instances);
    refused_under_both_allocators(
        "twice-many-globals.wasm",
        component,
        &["the component needs about", "2 core instances"],
    );
}

/// The components a process keeps loaded are bounded by their code's bytes: past the bound
/// the least recently used is let go (loaded again from the cache when next run), and one
/// still in use keeps working. Before, every component ever loaded stayed in memory, so
/// publishing and running distinct large components took the host's memory (hostile-step
/// review).
#[test]
fn loaded_components_are_let_go_past_their_bound_least_recently_used_first() {
    let cache = tempfile::tempdir().expect("cache");
    let roomy =
        StepRuntime::new(&EngineSettings::server(), Some(cache.path().into())).expect("runtime");
    let echo = roomy.load(Path::new(ECHO)).expect("echo");
    let hostile = roomy.load(Path::new(HOSTILE)).expect("hostile");
    assert!(echo.code_bytes() > 0 && hostile.code_bytes() > 0);
    assert!(
        Arc::ptr_eq(&echo, &roomy.load(Path::new(ECHO)).expect("echo")),
        "within the bound both stay loaded"
    );
    // Room for the larger of the two, not for both.
    let settings = EngineSettings {
        loaded_bytes: echo.code_bytes().max(hostile.code_bytes()),
        ..EngineSettings::server()
    };
    let tight = StepRuntime::new(&settings, Some(cache.path().into())).expect("runtime");
    let first = tight.load(Path::new(ECHO)).expect("echo");
    let _other = tight.load(Path::new(HOSTILE)).expect("hostile");
    let again = tight.load(Path::new(ECHO)).expect("echo, loaded again");
    assert!(!Arc::ptr_eq(&first, &again), "echo was let go for hostile");
    assert_eq!(
        again.cache,
        CacheOutcome::Hit,
        "from the cache, not compiled"
    );
    // The one let go still runs for whoever holds it.
    let exec = tight.execute(
        &first,
        &json!({ "n": 1 }),
        common::caller(),
        HostServices::deny_all(),
        limits(),
    );
    assert!(exec.result.is_ok(), "{:?}", exec.result);
}

#[test]
fn hostile_steps_on_other_threads_do_not_disturb_good_ones() {
    for rt in runtimes() {
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
    let artifacts = artifacts(cache);
    assert_eq!(artifacts.len(), 1, "one artifact in the cache");
    damage_file(&artifacts[0], damage);
}

/// The precompiled artifacts in `cache`.
fn artifacts(cache: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect()
}

/// Damages the file at `path` in place (same inode), as a disk or a stray write would.
fn damage_file(path: &Path, damage: Damage) {
    {
        let mut bytes = std::fs::read(path).expect("read artifact");
        match damage {
            Damage::Truncate => bytes.truncate(bytes.len() / 2),
            Damage::FlipBytes => {
                // Flipped machine code, the ELF structure intact: wasmtime's own parsing
                // cannot notice, and running such code is what crashed the host.
                let (start, len) = code_section(&bytes);
                for at in (start..start + len).step_by(16) {
                    bytes[at] ^= 0xFF;
                }
            }
            Damage::Garbage => bytes = b"garbage".repeat(1000),
        }
        std::fs::write(path, bytes).expect("damage");
    }
}

/// Where the executable section of the ELF image inside an artifact lies (offset in the
/// file, length): the compiled machine code.
fn code_section(file: &[u8]) -> (usize, usize) {
    let elf = file
        .windows(4)
        .position(|w| w == b"\x7fELF")
        .expect("an ELF image in the artifact");
    let image = &file[elf..];
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([image[at], image[at + 1]]));
    let u64_at = |at: usize| {
        let mut le = [0; 8];
        le.copy_from_slice(&image[at..at + 8]);
        usize::try_from(u64::from_le_bytes(le)).expect("fits")
    };
    // ELF64: e_shoff at 0x28, e_shentsize at 0x3A, e_shnum at 0x3C; in a section header,
    // sh_flags at 8 (SHF_EXECINSTR = 4), sh_offset at 24, sh_size at 32.
    let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3A), u16_at(0x3C));
    (0..shnum)
        .map(|i| shoff + i * shentsize)
        .find(|&h| u64_at(h + 8) & 4 != 0 && u64_at(h + 32) > 0)
        .map(|h| (elf + u64_at(h + 24), u64_at(h + 32)))
        .expect("an executable section")
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

/// Repeated cold loads skip hashing only while a file keeps the identity it was checked at
/// (device, inode, size, mtime, ctime: `wasm/cache/stamp.rs`): a component rewritten in place
/// gets a new cache key, and an artifact damaged after a load vouched for it is still refused.
#[test]
fn cold_loads_trust_a_checked_file_only_while_its_identity_holds() {
    let settings = EngineSettings::default();
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let component = dir.path().join("step.wasm");
    std::fs::copy(ECHO, &component).expect("copy");
    let load = |path: &Path| {
        let rt = StepRuntime::new(&settings, Some(cache.path().to_owned())).expect("runtime");
        let step = rt.load(path).expect("load");
        (rt, step.cache)
    };
    assert_eq!(load(&component).1, CacheOutcome::Compiled);
    // Only a file that last changed a while ago is vouched for by identity (a change in the
    // same timestamp tick as the check would go unseen otherwise).
    std::thread::sleep(flowhost::wasm::cache::stamp::SETTLE + Duration::from_millis(200));
    assert_eq!(load(&component).1, CacheOutcome::Hit, "checked in full");
    let [artifact] = artifacts(cache.path()).try_into().expect("one artifact");
    let stamp = flowhost::wasm::cache::stamp::beside(&artifact);
    let text = std::fs::read_to_string(&stamp).expect("stamp");
    assert!(text.contains("\nidentity "), "{text}");

    // A stamp edited in any way no longer carries this user's seal: it vouches for nothing,
    // and the artifact is compiled again rather than mapped on its word, ...
    let zeros = "0".repeat(64);
    let sha = text
        .lines()
        .nth(1)
        .expect("sha line")
        .trim_start_matches("sha256 ");
    std::fs::write(&stamp, text.replace(sha, &zeros)).expect("stamp");
    {
        let (rt, outcome) = load(&component);
        assert_eq!(outcome, CacheOutcome::Compiled, "an edited stamp");
        assert_next_step_runs(&rt);
        // Dropped here: the damage below rewrites the artifact in place, which the host never
        // does (artifacts are replaced by rename) and which a live mapping of it cannot survive
        // (a truncated mapped file is SIGBUS at the next touch, e.g. unwind deregistration).
    }

    // ... and any change to the artifact brings the full check back, which refuses it.
    for damage in [Damage::FlipBytes, Damage::Truncate] {
        std::fs::write(&stamp, &text).expect("stamp restored");
        damage_file(&artifact, damage);
        let (rt, outcome) = load(&component);
        assert_eq!(outcome, CacheOutcome::Compiled, "{damage:?}");
        assert_next_step_runs(&rt);
        let text_now = std::fs::read_to_string(&stamp).expect("fresh stamp");
        assert!(
            !text_now.contains("identity"),
            "{damage:?}: not vouched yet"
        );
    }

    // A component rewritten in place (another step, same path) is hashed again: it runs as
    // itself, not as the artifact of what the path held before.
    std::fs::write(&component, std::fs::read(common::TRANSFORM).expect("read")).expect("write");
    let (rt, outcome) = load(&component);
    assert_eq!(outcome, CacheOutcome::Compiled);
    let step = rt.load(&component).expect("load");
    let direct = rt
        .load(Path::new(common::TRANSFORM))
        .expect("load transform");
    assert_eq!(step.digest, direct.digest);
}

/// A stamp is trusted only under this user's seal (`wasm/cache/seal.rs`): an artifact and a
/// stamp naming its true digest, as a project can ship them in a `.flowhost/cache` reached
/// through a link, a parent directory or `step run`, were mapped and run as machine code
/// (hostile-step review). Here the forged stamp vouches for nothing: the component is compiled
/// again, and the artifact replaced by this user's own.
#[test]
fn a_stamp_not_sealed_by_this_user_vouches_for_nothing() {
    use sha2::Digest;
    let settings = EngineSettings::default();
    let cache = tempfile::tempdir().expect("tempdir");
    let first = StepRuntime::new(&settings, Some(cache.path().to_owned())).expect("runtime");
    first.load(Path::new(ECHO)).expect("load");
    drop(first);
    let [artifact] = artifacts(cache.path()).try_into().expect("one artifact");
    let bytes = std::fs::read(&artifact).expect("artifact");
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stamp = flowhost::wasm::cache::stamp::beside(&artifact);
    let sealed = std::fs::read_to_string(&stamp).expect("stamp");
    assert!(sealed.contains(&format!("sha256 {digest}\n")), "{sealed}");
    for forged in [
        format!("flowhost-stamp 2\nsha256 {digest}\n"),
        format!(
            "flowhost-stamp 2\nsha256 {digest}\nseal {}\n",
            "ab".repeat(32)
        ),
    ] {
        std::fs::write(&stamp, &forged).expect("forge");
        let rt = StepRuntime::new(&settings, Some(cache.path().to_owned())).expect("runtime");
        let step = rt.load(Path::new(ECHO)).expect("load");
        assert_eq!(step.cache, CacheOutcome::Compiled, "{forged}");
        assert_next_step_runs(&rt);
        let now = std::fs::read_to_string(&stamp).expect("stamp rewritten");
        assert_ne!(now, forged, "replaced by this user's own");
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

// SPEC ST-4: every value a step hands the host has a cap that fails the call (not the host),
// quickly, storing nothing; host calls are bounded by the step's deadline.

const OWNER: &str = "olivia.owner@acme-mssp.test";

fn owner() -> flowhost::principal::Caller {
    flowhost::principal::Caller {
        workspace: "mssp-soc".into(),
        principal: common::user(OWNER),
        cause: None,
        step: None,
    }
}

/// Runs the hostile step as the workspace owner with the platform's real services.
fn run_as_owner(
    rt: &StepRuntime,
    platform: &Arc<Platform>,
    input: serde_json::Value,
    limits: StepLimits,
) -> StepExecution {
    let step = rt.load(Path::new(HOSTILE)).expect("component loads");
    rt.execute(
        &step,
        &input,
        owner(),
        HostServices::of(platform.clone()),
        limits,
    )
}

/// Room for the attacks to build their oversized values inside the step.
fn roomy() -> StepLimits {
    StepLimits {
        memory_bytes: 512 << 20,
        timeout: Duration::from_secs(20),
        ..StepLimits::default()
    }
}

/// Every case the owner (who bypasses restrictions) can see.
fn stored_cases(platform: &Platform) -> Vec<flowhost::services::cases::CaseRecord> {
    let query = CaseQuery {
        filter: Default::default(),
        sort: Default::default(),
        page_size: 200,
        cursor: None,
    };
    platform.query_cases(&owner(), query).expect("query").cases
}

/// The failed call's error, asserting it came quickly and the step failed with it.
fn host_refusal(exec: &StepExecution, what: &str) -> String {
    let f = failure(exec);
    assert_eq!(f.kind(), "step_error", "{what}: {f}");
    assert!(
        exec.duration < Duration::from_secs(3),
        "{what}: refused in {:?}",
        exec.duration
    );
    f.to_string()
}

#[test]
fn a_huge_wasi_random_request_fails_at_once_naming_the_cap() {
    let rt = runtime();
    let tight = StepLimits {
        memory_bytes: 256 << 20,
        timeout: Duration::from_millis(200),
        ..limits()
    };
    for insecure in [false, true] {
        let input = json!({ "attack": "random", "bytes": 64 << 20, "insecure": insecure });
        let exec = run(&rt, HOSTILE, input, tight);
        let f = failure(&exec);
        assert_eq!(f.kind(), "limit", "{f}");
        assert!(
            f.to_string()
                .contains("asked for 67108864 bytes; the cap is 65536 per call (SPEC ST-4)"),
            "{f}"
        );
        assert!(
            exec.duration < Duration::from_secs(2),
            "{:?}",
            exec.duration
        );
    }
    for bytes in [32, 64 << 10] {
        let exec = run(
            &rt,
            HOSTILE,
            json!({ "attack": "random", "bytes": bytes }),
            limits(),
        );
        assert_eq!(
            exec.result.ok(),
            Some(json!({ "len": bytes })),
            "{bytes} bytes"
        );
    }
    assert_next_step_runs(&rt);
}

#[test]
fn a_step_that_keeps_calling_the_host_stops_at_its_deadline() {
    let rt = runtime();
    let limits = StepLimits {
        timeout: Duration::from_millis(200),
        ..limits()
    };
    let exec = run(&rt, HOSTILE, json!({ "attack": "random_loop" }), limits);
    assert_eq!(failure(&exec).kind(), "deadline");
    assert!(
        exec.duration < Duration::from_secs(2),
        "{:?}",
        exec.duration
    );
    assert_next_step_runs(&rt);
}

#[test]
fn oversized_case_values_fail_the_call_and_store_nothing() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let attacks = [
        (
            json!({ "attack": "big_case", "what": "description", "mib": 8 }),
            "`description` is 8388608 bytes; the cap is 65536 (SPEC ST-4)",
        ),
        (
            json!({ "attack": "big_case", "what": "fields", "mib": 8 }),
            "`fields` is 8388616 bytes of JSON; the cap is 65536 (SPEC ST-4)",
        ),
        (
            json!({ "attack": "big_case", "what": "fields_deep", "depth": 100 }),
            "`fields` nests 100 levels deep; the cap is 32 (SPEC ST-4)",
        ),
        (
            json!({ "attack": "big_case", "what": "title", "mib": 1 }),
            "`title` is 1048576 bytes; the cap is 512 (SPEC ST-4)",
        ),
        (
            json!({ "attack": "big_case", "what": "state", "mib": 1 }),
            "is too long: 1048576 characters, at most 100",
        ),
        (
            json!({ "attack": "big_case", "what": "reviewers", "mib": 0.25 }),
            "`reviewers` is 262144 entries; the cap is 1000 (SPEC ST-4)",
        ),
        (
            json!({ "attack": "big_case_json", "mib": 8 }),
            "the case JSON is 8388657 bytes; the cap is 262144 (SPEC ST-4)",
        ),
        (
            json!({ "attack": "big_case_json", "depth": 100 }),
            "a value in the case JSON nests 100 levels deep; the cap is 32 (SPEC ST-4)",
        ),
    ];
    for (input, needle) in attacks {
        let exec = run_as_owner(&rt, &platform, input.clone(), roomy());
        let error = host_refusal(&exec, &input.to_string());
        assert!(error.contains(needle), "{input}: {error}");
        assert!(
            stored_cases(&platform).is_empty(),
            "{input}: nothing stored"
        );
    }
    // Past a host call's fuel (16 MiB), wasmtime stops copying before the host sees the
    // call: the step fails, nothing is stored.
    let input = json!({ "attack": "big_case", "what": "description", "mib": 24 });
    let exec = run_as_owner(&rt, &platform, input, roomy());
    assert_eq!(failure(&exec).kind(), "trap");
    assert!(stored_cases(&platform).is_empty());
    // The host goes on: a case within the caps is created by the same step.
    let exec = run_as_owner(
        &rt,
        &platform,
        json!({ "attack": "big_case", "what": "description", "mib": 0.0625 }),
        roomy(),
    );
    assert!(exec.result.is_ok(), "{:?}", exec.result);
    assert_eq!(stored_cases(&platform).len(), 1);
}

#[test]
fn a_300_000_entry_collaborator_list_is_refused_quickly_and_changes_nothing() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let case = platform
        .create_case(
            &owner(),
            flowhost::services::cases::parse_case_json(r#"{"title":"Target","severity":"low"}"#)
                .expect("case"),
        )
        .expect("created");
    let input = json!({ "attack": "many_collaborators", "case_id": case.id, "count": 300_000 });
    let exec = run_as_owner(&rt, &platform, input, roomy());
    let error = host_refusal(&exec, "many collaborators");
    assert!(
        error.contains("`add_collaborators` is 300000 entries; the cap is 1000 (SPEC ST-4)"),
        "{error}"
    );
    let after = platform
        .get_case_restrictions(&owner(), &case.id)
        .expect("restrictions");
    assert!(after.collaborators.is_empty());
    // A million (27 MB of strings): wasmtime stops copying them out of the step's memory at
    // the host call's fuel, before the host allocates them (a `String` each, ~56 MB) for the
    // cap to refuse (hostile step review); the step fails, the host goes on.
    let input = json!({ "attack": "many_collaborators", "case_id": case.id, "count": 1_000_000 });
    let exec = run_as_owner(&rt, &platform, input, roomy());
    let f = failure(&exec);
    assert_eq!(f.kind(), "trap", "{f}");
    assert!(
        platform
            .get_case_restrictions(&owner(), &case.id)
            .expect("restrictions")
            .collaborators
            .is_empty()
    );
    // Within the cap the same call works.
    let input = json!({ "attack": "many_collaborators", "case_id": case.id, "count": 1000 });
    let exec = run_as_owner(&rt, &platform, input, roomy());
    assert_eq!(exec.result.ok(), Some(json!({ "collaborators": 1 })));
}

#[test]
fn a_step_creates_at_most_100_cases_per_execution() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let exec = run_as_owner(&rt, &platform, json!({ "attack": "case_flood" }), roomy());
    let out = exec
        .result
        .expect("the flood step reports where it was stopped");
    assert_eq!(out["created"], 100, "{out}");
    assert!(
        out["error"]
            .as_str()
            .is_some_and(|e| e.contains("a step may create at most 100 cases per execution")),
        "{out}"
    );
    assert_eq!(stored_cases(&platform).len(), 100);
    // The budget is per execution: the next one may create cases again.
    let exec = run_as_owner(
        &rt,
        &platform,
        json!({ "attack": "big_case", "what": "description", "mib": 0 }),
        roomy(),
    );
    assert!(exec.result.is_ok(), "{:?}", exec.result);
}

/// Restriction updates are budgeted like case creations: each writes a timeline row, an audit
/// entry and events carrying the case, none of which the event budget counts (hostile step
/// review: a toggling loop wrote until its deadline).
#[test]
fn a_step_updates_case_restrictions_at_most_100_times_per_execution() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let exec = run_as_owner(
        &rt,
        &platform,
        json!({ "attack": "restriction_flood" }),
        roomy(),
    );
    let out = exec
        .result
        .expect("the flood step reports where it was stopped");
    assert_eq!(out["updated"], 100, "{out}");
    assert!(
        out["error"]
            .as_str()
            .is_some_and(|e| e
                .contains("a step may update case restrictions at most 100 times per execution")),
        "{out}"
    );
    use flowhost::testing::Internals;
    let audited: i64 = platform
        .db()
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'case.restrictions.update'",
            [],
            |r| r.get(0),
        )
        .expect("audit");
    assert_eq!(audited, 100, "one audited update per allowed call");
}

/// Every call of the cases interface counts against one budget, whatever it answered:
/// before, a step could query in a loop until its deadline, each query database work on
/// the host's shared connection (hostile-step review; SPEC ST-4).
#[test]
fn a_step_querying_in_a_loop_is_stopped_at_its_budget_of_database_calls() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let exec = run_as_owner(&rt, &platform, json!({ "attack": "query_flood" }), roomy());
    let out = exec
        .result
        .expect("the flood step reports where it was stopped");
    assert_eq!(out["queried"], 1000, "{out}");
    assert!(
        out["error"].as_str().is_some_and(
            |e| e.contains("a step may make at most 1000 calls that reach the database")
        ),
        "{out}"
    );
}

/// A step not granted a read is told so on every call, never that its calls ran out: the
/// grant is checked before the call counts (round 21 hostile-step review: `query-cases`,
/// `get-case-restrictions` and `check-flow-access` spent the budget first).
#[test]
fn an_ungranted_step_is_told_it_is_not_granted_past_its_budget() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let step = rt.load(Path::new(HOSTILE)).expect("component loads");
    let mut services = HostServices::of(platform);
    services.step.grants = flowhost::step_call::Grants {
        cases_read: false,
        cases_write: false,
        events_emit: false,
        access_check: false,
    };
    let exec = rt.execute(
        &step,
        &json!({ "attack": "calls_past_budget" }),
        owner(),
        services,
        roomy(),
    );
    let out = exec.result.expect("the step reports the last answers");
    for (call, grant) in [
        ("flow", "access:check"),
        ("query", "cases:read"),
        ("restrictions", "cases:read"),
    ] {
        let said = out[call].as_str().unwrap_or_default();
        assert!(
            said.contains(&format!("does not grant this step `{grant}`")),
            "{call}: {out}"
        );
    }
}

/// A step keeping WASI resources without dropping them meets a bound on the host's
/// resource table (host memory outside the step's memory limit); wasmtime's default let
/// each execution hold a million (hostile-step review).
#[test]
fn a_step_keeping_wasi_resources_is_stopped_at_the_tables_bound() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let exec = run_as_owner(
        &rt,
        &platform,
        json!({ "attack": "pollable_flood" }),
        roomy(),
    );
    let f = failure(&exec).to_string();
    assert!(f.contains("resource table has no free"), "{f}");
    // Nor does it quote the step's frames: their names are the step's to choose, and
    // demangling one crafted name took gigabytes (round 30 hostile-step review).
    assert!(!f.contains("backtrace"), "{f}");
}

#[test]
fn a_long_query_text_is_refused_naming_the_cap() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let exec = run_as_owner(
        &rt,
        &platform,
        json!({ "attack": "long_query", "mib": 1 }),
        roomy(),
    );
    let error = host_refusal(&exec, "long query");
    assert!(
        error.contains("the `text` filter is 1048576 bytes; the cap is 1024 (SPEC ST-4)"),
        "{error}"
    );
}

#[test]
fn events_past_their_caps_are_refused_and_a_failed_step_publishes_none() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let exec = run_as_owner(
        &rt,
        &platform,
        json!({ "attack": "deep_event", "depth": 100 }),
        roomy(),
    );
    let error = host_refusal(&exec, "deep event");
    assert!(
        error.contains("event `deep.event` payload nests 100 levels deep; the cap is 32"),
        "{error}"
    );
    assert!(exec.events.is_empty());

    let exec = run_as_owner(&rt, &platform, json!({ "attack": "event_flood" }), roomy());
    let out = exec
        .result
        .as_ref()
        .expect("the flood step reports where it was stopped");
    assert_eq!(out["emitted"], 100, "{out}");
    assert!(
        out["error"].as_str().is_some_and(|e| e.contains(
            "may emit at most 100 events: 100 an execution, 10000 a run in all between two pauses (SPEC ST-4)"
        )),
        "{out}"
    );
    assert_eq!(exec.events.len(), 100);

    // Events are held parsed until the step's entry commits: their values are bounded in
    // all, not only each payload's bytes (hostile step review).
    let exec = run_as_owner(&rt, &platform, json!({ "attack": "wide_events" }), roomy());
    let out = exec
        .result
        .as_ref()
        .expect("the step reports where it was stopped");
    assert_eq!(out["emitted"], 2, "{out}");
    assert!(
        out["error"].as_str().is_some_and(|e| e.contains(
            // 40,001 values and an object holding them (20).
            "holds 40021 JSON values (an object holding anything counts as 20); the events of one execution may hold 100000 in all and 19958 are left"
        )),
        "{out}"
    );
    assert_eq!(exec.events.len(), 2);
}

#[test]
fn log_lines_are_capped_in_size_and_number() {
    let rt = runtime();
    let input = json!({ "attack": "log_flood", "lines": 3000, "bytes": 100_000 });
    let exec = run(&rt, HOSTILE, input, limits());
    assert!(exec.result.is_ok(), "{:?}", exec.result);
    assert_eq!(exec.logs.len(), 1000);
    assert_eq!(exec.dropped_logs, 2000);
    let longest = exec.logs.iter().map(|l| l.message.len()).max().unwrap_or(0);
    assert!(longest <= (8 << 10) + "… [truncated]".len(), "{longest}");
}

/// The CLI door is held to the same case caps: the case service checks them.
#[test]
fn case_caps_hold_for_the_cli_door() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let tenant = common::example_tenant_path();
    common::flowhost_ok(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
    let at = ["--workspace", "mssp-soc", "--as", OWNER];
    let description = "d".repeat(100_000);
    let big = dir.path().join("big.json");
    let doc = json!({ "title": "Big", "severity": "low", "fields": { "x": "y".repeat(100_000) } });
    std::fs::write(&big, doc.to_string()).expect("write");
    let big_arg = format!("@{}", big.display());
    let text = "x".repeat(60_000);
    let attempts: [(Vec<&str>, &str); 3] = [
        (
            vec![
                "cases",
                "create",
                "--title",
                "Big",
                "--severity",
                "low",
                "--description",
                &description,
            ],
            "`description` is 100000 bytes; the cap is 65536 (SPEC ST-4)",
        ),
        (
            vec!["cases", "create-from-json", &big_arg],
            "`fields` is 100008 bytes of JSON; the cap is 65536 (SPEC ST-4)",
        ),
        (
            vec!["cases", "query", "--text", &text],
            "the `text` filter is 60000 bytes; the cap is 1024 (SPEC ST-4)",
        ),
    ];
    for (args, needle) in attempts {
        let args: Vec<&str> = args.into_iter().chain(at).collect();
        let out = common::flowhost(dir.path(), &db, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", args[1]);
        assert!(stderr.contains(needle), "{}: {stderr}", args[1]);
    }
    let args: Vec<&str> = ["cases", "query", "--json"].into_iter().chain(at).collect();
    let out = common::flowhost_ok(dir.path(), &db, &args);
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(page["cases"], json!([]), "nothing stored");
}

/// Through `flowhost step run`, as in the report: at `--timeout-ms 200` a 64 MiB
/// `wasi:random` request ran 20-34 s; it now fails the step at once, naming the cap.
#[test]
fn step_run_refuses_a_huge_random_request_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let started = std::time::Instant::now();
    let out = common::flowhost(
        dir.path(),
        &db,
        &[
            "step",
            "run",
            HOSTILE,
            "--input",
            r#"{"attack":"random","bytes":67108864}"#,
            "--timeout-ms",
            "200",
            "--memory-mb",
            "256",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("limit exceeded") && stderr.contains("the cap is 65536 per call"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// One workspace's steps hold at most three quarters of the host's instance slots, and a
/// step waits for a slot rather than fail: four sleeping steps of one workspace on a pool of
/// four, and another workspace's step still runs at once. Before, the sleepers took all four and the
/// other tenant's step failed for want of a slot (hostile-step review).
#[test]
fn a_workspace_holding_its_share_of_slots_leaves_the_others_room() {
    let settings = EngineSettings {
        pool_instances: 4,
        ..EngineSettings::server()
    };
    let rt = StepRuntime::new(&settings, None).expect("runtime");
    let hostile = rt.load(Path::new(HOSTILE)).expect("loads");
    let echo = rt.load(Path::new(ECHO)).expect("loads");
    let limits = StepLimits {
        timeout: Duration::from_secs(1),
        ..StepLimits::default()
    };
    std::thread::scope(|s| {
        let sleepers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let attack = json!({ "attack": "sleep" });
                    rt.execute(&hostile, &attack, owner(), HostServices::deny_all(), limits)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut other = owner();
        other.workspace = "customer-globex".into();
        let started = std::time::Instant::now();
        let exec = rt.execute(
            &echo,
            &json!({ "n": 1 }),
            other,
            HostServices::deny_all(),
            StepLimits::default(),
        );
        assert!(exec.result.is_ok(), "{:?}", exec.result);
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "the other workspace's step waited for the sleepers: {:?}",
            started.elapsed()
        );
        // All four sleepers ran to their deadline, two of them after waiting for a slot.
        for sleeper in sleepers {
            let exec = sleeper.join().expect("no panic");
            assert_eq!(failure(&exec).kind(), "deadline", "{:?}", exec.result);
        }
    });
}

/// Steps of one organization's workspaces count towards one share of the slots (the engine
/// gives each step its workspace's organization as its share): two workspaces of one tenant,
/// each under its own three quarters, held every slot between them, and a third tenant's step
/// waited (hostile-step review).
#[test]
fn an_organizations_workspaces_share_one_share_of_slots() {
    let settings = EngineSettings {
        pool_instances: 4,
        ..EngineSettings::server()
    };
    let rt = StepRuntime::new(&settings, None).expect("runtime");
    let hostile = rt.load(Path::new(HOSTILE)).expect("loads");
    let echo = rt.load(Path::new(ECHO)).expect("loads");
    let limits = StepLimits {
        timeout: Duration::from_secs(1),
        ..StepLimits::default()
    };
    let in_workspace = |ws: &str| {
        let mut caller = owner();
        caller.workspace = ws.into();
        caller
    };
    std::thread::scope(|s| {
        let sleepers: Vec<_> = ["tenant-a-1", "tenant-a-1", "tenant-a-2", "tenant-a-2"]
            .into_iter()
            .map(|ws| {
                let (rt, hostile, caller) = (&rt, &hostile, in_workspace(ws));
                s.spawn(move || {
                    let attack = json!({ "attack": "sleep" });
                    let share = "organization `tenant-a`";
                    rt.execute_in(
                        hostile,
                        &attack,
                        caller,
                        HostServices::deny_all(),
                        limits,
                        share,
                    )
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let exec = rt.execute_in(
            &echo,
            &json!({ "n": 1 }),
            in_workspace("tenant-b"),
            HostServices::deny_all(),
            StepLimits::default(),
            "organization `tenant-b`",
        );
        assert!(exec.result.is_ok(), "{:?}", exec.result);
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "the other tenant's step waited for the sleepers: {:?}",
            started.elapsed()
        );
        for sleeper in sleepers {
            let exec = sleeper.join().expect("no panic");
            assert_eq!(failure(&exec).kind(), "deadline", "{:?}", exec.result);
        }
    });
}

/// Runs that start together on a component the process has not loaded yet load it once: the
/// first compiles, the others wait for it and take its result. Before, each compiled it (a
/// hostile step's large component, once per worker; hostile-step review).
#[test]
fn a_component_loaded_by_several_runs_at_once_is_compiled_once() {
    let rt = std::sync::Arc::new(common::runtime());
    let loads: Vec<_> = (0..4)
        .map(|_| {
            let rt = rt.clone();
            std::thread::spawn(move || rt.load(std::path::Path::new(ECHO)).expect("load"))
        })
        .collect();
    let steps: Vec<_> = loads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    for step in &steps[1..] {
        assert!(
            std::sync::Arc::ptr_eq(&steps[0], step),
            "each load compiled its own"
        );
    }
}
