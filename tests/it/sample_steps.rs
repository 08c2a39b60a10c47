//! The sample steps in `steps/`, run through the full host path.

use crate::common;

use std::sync::Arc;

use common::{NOTIFY, TRANSFORM, run, runtime};
use flowhost::principal::Caller;
use flowhost::wasm::{LogLevel, StepLimits};
use serde_json::json;

#[test]
fn transform_normalizes_and_deduplicates_indicators() {
    let rt = runtime();
    let input = json!({ "indicators": [
        " 10.0.0.1 ", "EVIL.example", "evil.example.", "Alice@Example.TEST",
        "D41D8CD98F00B204E9800998ECF8427E", "not an indicator", ""
    ]});
    let out = run(&rt, TRANSFORM, input, StepLimits::default())
        .result
        .expect("transform succeeds");
    assert_eq!(out["ips"], json!(["10.0.0.1"]));
    assert_eq!(out["domains"], json!(["evil.example"]));
    assert_eq!(out["emails"], json!(["alice@example.test"]));
    assert_eq!(out["hashes"], json!(["d41d8cd98f00b204e9800998ecf8427e"]));
    assert_eq!(out["unrecognized"], json!(["not an indicator"]));
    assert_eq!(out["count"], 4);
}

#[test]
fn transform_rejects_input_of_the_wrong_shape_naming_the_field() {
    let rt = runtime();
    let exec = run(
        &rt,
        TRANSFORM,
        json!({ "indicator": [] }),
        StepLimits::default(),
    );
    let err = exec.result.expect_err("wrong field").to_string();
    assert!(err.contains("invalid input"), "{err}");
    assert!(err.contains("indicator"), "{err}");
    // A value of the wrong type is named by its place in the input, not by a column of the
    // host's rendering of it (round 17 steps review).
    let exec = run(
        &rt,
        TRANSFORM,
        json!({ "indicators": "8.8.8.8" }),
        StepLimits::default(),
    );
    let err = exec.result.expect_err("wrong type").to_string();
    assert!(
        err.contains("input.indicators: invalid type: string"),
        "{err}"
    );
    assert!(!err.contains("column"), "{err}");
}

fn soc(email: &str) -> Caller {
    Caller {
        workspace: "mssp-soc".into(),
        principal: common::user(email),
        cause: None,
        step: None,
    }
}

#[test]
fn notify_logs_and_emits_an_event() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let input =
        json!({ "to": ["oncall@acme.test"], "subject": "Case C-7 restricted", "case_id": "C-7" });
    let exec = common::run_on(
        &rt,
        platform,
        NOTIFY,
        input,
        soc("omar.operator@acme-mssp.test"),
    );
    assert_eq!(
        exec.result.expect("notify succeeds"),
        json!({ "notified": ["oncall@acme.test"] })
    );
    assert_eq!(exec.logs.len(), 1);
    assert_eq!(exec.logs[0].level, LogLevel::Info);
    assert!(exec.logs[0].message.contains("Case C-7 restricted"));
    assert_eq!(exec.events.len(), 1);
    assert_eq!(exec.events[0].kind, "notification.requested");
    assert_eq!(exec.events[0].payload["case_id"], "C-7");
}

#[test]
fn emitting_events_needs_a_principal_who_may_run_automation_there() {
    let rt = runtime();
    let platform = Arc::new(common::example_platform());
    let input = json!({ "to": ["oncall@acme.test"], "subject": "s" });
    let outsider = common::run_on(
        &rt,
        platform.clone(),
        NOTIFY,
        input.clone(),
        soc("gary.admin@globex.test"),
    );
    let err = outsider
        .result
        .expect_err("a non-member may not emit")
        .to_string();
    assert!(
        // An outsider is told no more than for any workspace (SPEC ID-4).
        err.contains("emitting events") && err.contains("has no standing in workspace"),
        "{err}"
    );
    assert!(outsider.events.is_empty());
    let anonymous = run(&rt, NOTIFY, input, StepLimits::default());
    assert!(
        anonymous.result.is_err() && anonymous.events.is_empty(),
        "without a principal nothing is emitted"
    );
}

#[test]
fn notify_without_recipients_fails_and_emits_nothing() {
    let rt = runtime();
    let exec = run(
        &rt,
        NOTIFY,
        json!({ "to": [], "subject": "x" }),
        StepLimits::default(),
    );
    let err = exec.result.expect_err("nobody to notify").to_string();
    assert!(err.contains("`to` names nobody"), "{err}");
    assert!(exec.events.is_empty());
}
