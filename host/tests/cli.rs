//! The `flowhost` binary's argument handling. (Step behaviour is tested from the workspace
//! root's `tests/`, where the step components are built.)

use std::process::Command;

fn flowhost(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowhost"))
        .args(args)
        .output()
        .expect("flowhost runs")
}

#[test]
fn help_lists_the_step_command() {
    let out = flowhost(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("step"));
}

#[test]
fn a_missing_component_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("f.db");
    let db = db.to_str().expect("utf-8");
    let out = flowhost(&["--db", db, "step", "run", "no-such-step.wasm"]);
    // Invalid input, not a failed step: exit 2 (README, Exit codes).
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot load step `no-such-step.wasm`"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let out = flowhost(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
