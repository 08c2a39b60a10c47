//! `flowhost step run` as a real process against a real database file.

use crate::common;

use common::{HOSTILE, NOTIFY, flowhost};

#[test]
fn step_run_prints_json_and_stores_logs_and_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state/flowhost.db");
    let tenant = common::example_tenant_path();
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
    assert!(out.status.success());
    let input = r#"{"to":["a@acme.test"],"subject":"hello"}"#;
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "step",
            "run",
            NOTIFY,
            "--input",
            input,
            "--workspace",
            "mssp-soc",
            "--as",
            "omar.operator@acme-mssp.test",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(doc["status"], "succeeded");
    assert_eq!(doc["output"]["notified"][0], "a@acme.test");

    let db = crate::common::db_at(&db);
    let events = db.events("mssp-soc").expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "notification.requested");
    // No execution id is shown (a global sequence, SPEC ID-4): the only one recorded.
    assert!(doc.get("execution_id").is_none(), "{doc}");
    let id: i64 = db
        .conn()
        .query_row("SELECT id FROM step_executions", [], |r| r.get(0))
        .expect("one execution");
    assert_eq!(db.step_logs(id).expect("logs").len(), 1);
    assert!(
        db.events("customer-globex").expect("events").is_empty(),
        "events stay in their workspace"
    );
}

#[test]
fn a_failing_step_exits_non_zero_with_a_one_line_reason_and_is_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "step",
            "run",
            HOSTILE,
            "--input",
            r#"{"attack":"loop"}"#,
            "--timeout-ms",
            "100",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("deadline exceeded"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let db = crate::common::db_at(&db);
    let failed: i64 = db
        .conn()
        .query_row(
            "SELECT count(*) FROM step_executions WHERE status = 'failed' AND failure_kind = 'deadline'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(failed, 1);
}

#[test]
fn malformed_input_json_is_reported_with_its_location_and_nothing_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let out = flowhost(
        dir.path(),
        &db,
        &["step", "run", NOTIFY, "--input", "{\"to\": [1,}"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--input: invalid JSON at line 1, column"),
        "{stderr}"
    );
    assert!(
        !db.exists(),
        "nothing was stored for a command that could not start"
    );
}

#[test]
fn input_can_come_from_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    std::fs::write(dir.path().join("in.json"), r#"{"indicators":["10.0.0.1"]}"#)
        .expect("write input");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "step",
            "run",
            common::TRANSFORM,
            "--input",
            "@in.json",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// SPEC ID-4: a step run as someone with no standing in the named workspace leaves no trace
// there (it used to record an execution row under that workspace); a member's run is recorded.
#[test]
fn step_run_as_an_outsider_records_nothing_in_that_workspace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state/flowhost.db");
    let tenant = common::example_tenant_path();
    let tenant = tenant.to_str().expect("utf-8");
    let out = flowhost(dir.path(), &db, &["tenant", "apply", tenant, "--bootstrap"]);
    assert!(out.status.success());
    let executions = |ws: &str| -> i64 {
        crate::common::db_at(&db)
            .conn()
            .query_row(
                "SELECT count(*) FROM step_executions WHERE workspace = ?1",
                [ws],
                |r| r.get(0),
            )
            .expect("count")
    };
    let run_as = |who: &str| {
        flowhost(
            dir.path(),
            &db,
            &[
                "step",
                "run",
                common::ECHO,
                "--input",
                "{}",
                "--workspace",
                "mssp-soc",
                "--as",
                who,
            ],
        )
    };
    let out = run_as("mallory@elsewhere.test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(executions("mssp-soc"), 0, "an outsider's run left a row");
    let out = run_as("omar.operator@acme-mssp.test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(executions("mssp-soc"), 1, "a member's run is recorded");
}
