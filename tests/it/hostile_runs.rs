//! A hostile workflow against the host's own resources (SPEC WF-4, ST-4, WF-11): threads of
//! parallel steps, as real `flowhost` processes on a real database file.

use crate::common::Deployment;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flowhost::workflow::fanout::{MAX_PARALLEL_BRANCHES, MAX_RUN_THREADS};
use serde_json::{Value, json};

const OWNER: &str = "olivia.owner@acme-mssp.test";

/// The threads process `pid` has now (Linux), if it still runs.
fn threads_of(pid: u32) -> Option<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

#[test]
fn nested_parallel_loops_stay_within_the_run_wide_thread_cap_and_all_iterations_run() {
    let d = Deployment::new();
    // 20 × 20 iterations, each asking for its own thread and sleeping in it: without a
    // run-wide cap the process holds about 400 threads at once.
    let items: Vec<u32> = (0..20).collect();
    let wf = json!({ "name": "fan", "workspace": "mssp-soc", "vars": { "items": items }, "steps": [
        { "id": "outer", "loop": { "over": "$.vars.items", "parallel": 64 }, "do": [
            { "id": "inner", "loop": { "over": "$.vars.items", "parallel": 64 }, "do": [
                { "id": "nap", "wait": "150ms" }
            ] }
        ] }
    ] });
    let file = d.dir.path().join("fan.json");
    std::fs::write(&file, wf.to_string()).expect("write");
    let child = Command::new(crate::common::flowhost_bin())
        .current_dir(d.dir.path())
        .arg("--db")
        .arg(&d.db)
        .args(["run", "fan.json", "--as", OWNER, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowhost runs");
    let pid = child.id();
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        let started = Instant::now();
        while let Some(n) = threads_of(pid) {
            peak = peak.max(n);
            if started.elapsed() > Duration::from_secs(120) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    let out = child.wait_with_output().expect("flowhost ends");
    let peak = sampler.join().expect("sampler");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["status"], "succeeded", "{doc}");
    // The main thread, the run's helpers, and a few of the runtime's own.
    assert!(
        peak <= MAX_RUN_THREADS + 8,
        "the process held {peak} threads (cap {MAX_RUN_THREADS} per run)"
    );
    let run = doc["run_id"].as_i64().expect("run id").to_string();
    let shown: Value =
        serde_json::from_str(&d.ok(&["runs", "show", &run, "--json", "--as", OWNER]))
            .expect("json");
    let naps = shown["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["step"].as_str().is_some_and(|k| k.ends_with(".nap")))
        .count();
    assert_eq!(naps, 400, "iterations beyond the cap waited, none failed");
}

#[test]
fn a_parallel_step_with_more_branches_than_the_cap_is_refused_when_validated() {
    let d = Deployment::new();
    let branch = |n: usize| json!([{ "id": format!("b{n}"), "wait": "1ms" }]);
    for (count, valid) in [
        (MAX_PARALLEL_BRANCHES, true),
        (MAX_PARALLEL_BRANCHES + 1, false),
    ] {
        let branches: Vec<Value> = (0..count).map(branch).collect();
        let wf = json!({ "name": "wide", "workspace": "mssp-soc", "steps": [
            { "id": "p", "parallel": branches }
        ] });
        std::fs::write(d.dir.path().join("wide.json"), wf.to_string()).expect("write");
        let out = d.cli(&["validate", "wide.json"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), valid, "{count} branches: {stderr}");
        if !valid {
            assert!(
                stderr.contains(&format!(
                    "steps[0].parallel: expected at most {MAX_PARALLEL_BRANCHES} branches, got {count}"
                )),
                "{stderr}"
            );
        }
    }
}
