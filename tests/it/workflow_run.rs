//! SPEC WF-3..8: running workflows from the CLI, as real processes on a real database file.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{ECHO, example_tenant_path, flowhost, library};
use flowhost::platform::Platform;
use flowhost::wasm::{EngineSettings, StepRuntime};
use flowhost::workflow::{Engine, Quiet, Resolver};
use serde_json::{Value, json};

const OPERATOR: &str = "omar.operator@acme-mssp.test";
const OWNER: &str = "olivia.owner@acme-mssp.test";

fn steps_dir() -> PathBuf {
    Path::new(ECHO)
        .parent()
        .expect("component directory")
        .to_owned()
}

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("flowhost.db");
        let tenant = example_tenant_path();
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
        Env { dir, db }
    }

    fn write(&self, name: &str, definition: &Value) -> String {
        std::fs::write(self.dir.path().join(name), definition.to_string()).expect("write");
        name.to_owned()
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        flowhost(self.dir.path(), &self.db, args)
    }

    fn run(&self, file: &str, who: &str, event: &str) -> (std::process::Output, Value) {
        let steps = steps_dir();
        let out = self.cli(&[
            "run",
            file,
            "--as",
            who,
            "--event",
            event,
            "--steps",
            steps.to_str().expect("utf-8"),
            "--json",
        ]);
        let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out, doc)
    }
}

#[test]
fn a_workflow_with_wasm_steps_branches_and_exits_with_output() {
    let env = Env::new();
    let event = r#"{"indicators":["203.0.113.7"," EVIL.example "]}"#;
    let (out, doc) = env.run(&library("triage-indicators.json"), OPERATOR, event);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        (doc["status"].as_str(), doc["exit_status"].as_str()),
        (Some("succeeded"), Some("escalated"))
    );
    assert_eq!(doc["output"], json!({ "ips": ["203.0.113.7"] }));
    let run = doc["run_id"].as_str().expect("run id").to_owned();
    let shown = env.cli(&["runs", "show", &run, "--json", "--as", OWNER]);
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("json");
    let steps: Vec<&str> = shown["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(steps, ["normalize", "notify"]);
    let events = crate::common::db_at(&env.db)
        .events("mssp-soc")
        .expect("events");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "notification.requested")
            .count(),
        1
    );
    // The other branch.
    let (_, doc) = env.run(
        &library("triage-indicators.json"),
        OPERATOR,
        r#"{"indicators":["nothing here"]}"#,
    );
    assert_eq!(doc["exit_status"], "nothing-to-do");
}

#[test]
fn a_manual_run_needs_playbook_execute() {
    let env = Env::new();
    env.cli(&[
        "users",
        "invite",
        "vera@acme-mssp.test",
        "--role",
        "viewer",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let (out, _) = env.run(
        &library("triage-indicators.json"),
        "vera@acme-mssp.test",
        "{}",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not include `playbook.execute`"),
        "{stderr}"
    );
    let runs = crate::common::db_at(&env.db)
        .conn()
        .query_row("SELECT count(*) FROM runs", [], |r| r.get::<i64>(0))
        .expect("count");
    assert_eq!(runs, 0, "a refused run leaves no trace but the refusal");
}

#[test]
fn a_step_without_the_grant_cannot_use_a_host_interface_even_if_its_principal_could() {
    let env = Env::new();
    let wf = json!({ "name": "ungranted", "workspace": "mssp-soc", "steps": [
        { "id": "restrict", "uses": "step:restrict-cases", "with": { "collaborators": ["sam.lead@acme-mssp.test"] } }
    ] });
    let file = env.write("ungranted.json", &wf);
    let (out, doc) = env.run(&file, OWNER, "{}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(doc["status"], "failed");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("step `restrict` failed")
            && error.contains("does not grant this step `cases:read`"),
        "{error}"
    );
}

#[test]
fn built_in_case_steps_loops_and_grants_work_together() {
    let env = Env::new();
    for (title, sev) in [("a", "high"), ("b", "high"), ("c", "low")] {
        let out = env.cli(&[
            "cases",
            "create",
            "--title",
            title,
            "--severity",
            sev,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ]);
        assert!(out.status.success());
    }
    let (out, doc) = env.run(&library("restrict-open-high-to-oncall.json"), OWNER, "{}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = doc["run_id"].as_str().expect("run").to_owned();
    let shown: Value = serde_json::from_slice(
        &env.cli(&["runs", "show", &run, "--json", "--as", OWNER])
            .stdout,
    )
    .expect("json");
    let steps: Vec<&str> = shown["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(steps, ["restrict", "each[0].check", "each[1].check"]);
    assert_eq!(shown["steps"][1]["output"]["access_mode"], "restricted");
    let hidden = env.cli(&[
        "cases",
        "get",
        "C-1",
        "--workspace",
        "mssp-soc",
        "--as",
        OPERATOR,
    ]);
    assert_eq!(
        hidden.status.code(),
        Some(1),
        "restricted away from the operator"
    );
}

#[test]
fn operators_switch_parallel_loops_nested_workflows_and_retries() {
    let env = Env::new();
    env.write("child.json", &json!({ "name": "child", "workspace": "mssp-soc", "steps": [
        { "exit": { "status": "done", "output": { "doubled": "{{ $.inputs.n }}{{ $.inputs.n }}" } } }
    ] }));
    let wf = json!({ "name": "ops", "workspace": "mssp-soc", "vars": { "items": ["x", "y", "z"], "level": "medium" }, "steps": [
        { "id": "fan", "loop": { "over": "$.vars.items", "parallel": 2 }, "do": [
            { "id": "q", "uses": "cases/query-cases", "with": { "filter": { "text": "$.loop.item" }, "page_size": 1 } }
        ] },
        { "id": "seq", "loop": { "over": "$.vars.items", "break_if": [{ "left": "$.loop.index", "op": "gte", "right": 1 }] }, "do": [
            { "id": "q2", "uses": "cases/query-cases", "with": { "page_size": 1 } }
        ] },
        { "id": "both", "parallel": [
            [ { "id": "left", "uses": "cases/query-cases", "with": {} } ],
            [ { "id": "right", "uses": "cases/query-cases", "with": {} } ]
        ] },
        { "id": "nested", "workflow": "child.json", "with": { "n": 21 } },
        { "id": "flaky", "uses": "cases/get-case-restrictions", "with": { "case_id": "C-404" },
          "retry": { "attempts": 3, "delay": "10ms", "max_delay": "20ms" } }
    ] });
    let file = env.write("ops.json", &wf);
    let (out, doc) = env.run(&file, OWNER, "{}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the last step fails after its retries"
    );
    let run = doc["run_id"].as_str().expect("run").to_owned();
    let shown: Value = serde_json::from_slice(
        &env.cli(&["runs", "show", &run, "--json", "--as", OWNER])
            .stdout,
    )
    .expect("json");
    let steps: Vec<(String, i64)> = shown["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap_or_default().to_owned(),
                s["attempts"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "fan[0].q",
        "fan[1].q",
        "fan[2].q",
        "seq[0].q2",
        "seq[1].q2",
        "left",
        "right",
        "flaky",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(!names.contains(&"seq[2].q2"), "break_if stopped the loop");
    assert_eq!(
        steps.iter().find(|(n, _)| n == "flaky").map(|(_, a)| *a),
        Some(3),
        "retried to its limit"
    );
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("step `flaky` failed") && error.contains("there is no case `C-404`"),
        "{error}"
    );
    // Switch: first match wins, then default.
    let wf = json!({ "name": "sw", "workspace": "mssp-soc", "vars": { "level": "medium" }, "steps": [
        { "switch": [
            { "when": [{ "left": "$.vars.level", "op": "eq", "right": "high" }], "then": [{ "exit": { "status": "high" } }] },
            { "when": [{ "left": "$.vars.level", "op": "in", "right": ["medium", "low"] }], "then": [{ "exit": { "status": "not-high" } }] },
            { "when": [{ "left": "$.vars.level", "op": "eq", "right": "medium" }], "then": [{ "exit": { "status": "never" } }] }
        ], "default": [{ "exit": { "status": "default" } }] }
    ] });
    let file = env.write("sw.json", &wf);
    let (_, doc) = env.run(&file, OWNER, "{}");
    assert_eq!(doc["exit_status"], "not-high");
    // Nested workflow output.
    let wf = json!({ "name": "nest", "workspace": "mssp-soc", "steps": [
        { "id": "nested", "workflow": "child.json", "with": { "n": 21 } },
        { "exit": { "output": "$.steps.nested.doubled" } }
    ] });
    let file = env.write("nest.json", &wf);
    let (_, doc) = env.run(&file, OWNER, "{}");
    assert_eq!(doc["output"], "2121");
}

#[test]
fn a_reference_that_resolves_to_nothing_fails_the_step_naming_the_path() {
    let env = Env::new();
    let wf = json!({ "name": "refs", "workspace": "mssp-soc", "steps": [
        { "id": "get", "uses": "cases/get-case-restrictions", "with": { "case_id": "$.event.case.id" } }
    ] });
    let file = env.write("refs.json", &wf);
    let (out, doc) = env.run(&file, OWNER, r#"{"case":{}}"#);
    assert_eq!(out.status.code(), Some(1));
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("step `get` failed")
            && error.contains("`$.event.case.id` resolved to nothing"),
        "{error}"
    );
}

/// A loop goes over at most `MAX_LOOP_ITEMS` items, and says so naming the step; below the
/// limit, 2,000 iterations beside a 1 MB output run to the end with every output collected.
#[test]
fn a_loop_over_too_many_items_fails_naming_the_limit() {
    use flowhost::definition::model::MAX_LOOP_ITEMS;
    let env = Env::new();
    let wf = json!({ "name": "many", "workspace": "mssp-soc", "steps": [
        { "id": "big", "uses": "step:echo", "with": { "blob": "$.event.blob" } },
        { "id": "each", "loop": { "over": "$.event.items" },
          "do": [{ "id": "n", "uses": "step:echo", "with": { "i": "$.loop.index" } }] }
    ] });
    let file = env.write("many.json", &wf);
    let too_many: Vec<usize> = (0..=MAX_LOOP_ITEMS).collect();
    let event = json!({ "items": too_many, "blob": "" }).to_string();
    std::fs::write(env.dir.path().join("many-event.json"), event).expect("event");
    let (out, doc) = env.run(&file, OWNER, "@many-event.json");
    assert_eq!(out.status.code(), Some(1), "{doc}");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("step `each` failed")
            && error.contains(&format!("{} items", MAX_LOOP_ITEMS + 1))
            && error.contains(&format!("at most {MAX_LOOP_ITEMS}")),
        "{error}"
    );

    let items: Vec<usize> = (0..2_000).collect();
    let event = json!({ "items": items, "blob": "x".repeat(1 << 20) }).to_string();
    std::fs::write(env.dir.path().join("long-event.json"), event).expect("event");
    let (out, doc) = env.run(&file, OWNER, "@long-event.json");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(doc["status"], "succeeded");
}

/// A loop's output holds what each iteration made (WF-4): an output equal to the last
/// iteration's, and the steps of a branch or an inner loop inside the body, were dropped when
/// iterations were told apart by comparing outputs; an inner loop removed the outer loop's
/// `$.loop` (round 14, hostile input #1 and #2). An iteration still reads what the one before
/// made (round 14 self-review: clearing them first broke paging with a cursor).
#[test]
fn a_loops_output_holds_every_iteration_and_an_inner_loop_leaves_the_outer_item() {
    let env = Env::new();
    let wf = json!({ "name": "collect", "workspace": "mssp-soc",
        "vars": { "outer": ["a", "b"], "inner": [1, 2] }, "steps": [
        { "id": "each", "loop": { "over": "$.vars.outer" }, "do": [
            { "id": "last", "uses": "step:echo", "with": { "was": "$.steps.after.item?" } },
            { "id": "same", "uses": "step:echo", "with": { "ok": true } },
            { "if": [{ "left": "$.loop.index", "op": "gte", "right": 0 }], "then": [
                { "id": "deep", "uses": "step:echo", "with": { "i": "$.loop.index" } }
            ] },
            { "id": "inner", "loop": { "over": "$.vars.inner" }, "do": [
                { "id": "n", "uses": "step:echo", "with": { "n": "$.loop.item" } }
            ] },
            { "id": "after", "uses": "step:echo", "with": { "item": "$.loop.item" } },
            // Only what a branch wrote is taken back from it (a later branch's copy of the
            // iteration before's `px` overwrote this one's; self-review).
            { "id": "both", "parallel": [
                [ { "id": "px", "uses": "step:echo", "with": { "v": "$.loop.item" } } ],
                [ { "id": "py", "uses": "step:echo", "with": { "w": 1 } } ] ] },
            { "id": "seen", "uses": "step:echo", "with": { "px": "$.steps.px.v" } }
        ] },
        { "id": "fan", "loop": { "over": "$.vars.outer", "parallel": 2 }, "do": [
            { "id": "psame", "uses": "step:echo", "with": { "ok": true } }
        ] },
        { "exit": { "status": "done", "output": { "each": "$.steps.each", "fan": "$.steps.fan" } } }
    ] });
    let file = env.write("collect.json", &wf);
    let (out, doc) = env.run(&file, OWNER, "{}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each iteration reads what the one before made (a loop paging on with a cursor).
    let iteration = |i: usize, item: &str| {
        json!({
            "last": { "was": if i == 0 { Value::Null } else { json!("a") } },
            "same": { "ok": true },
            "deep": { "i": i },
            // The inner loop's steps are in its own output, not again beside it.
            "inner": [{ "n": { "n": 1 } }, { "n": { "n": 2 } }],
            "after": { "item": item },
            "px": { "v": item },
            "py": { "w": 1 },
            "seen": { "px": item },
        })
    };
    assert_eq!(
        doc["output"]["each"],
        json!([iteration(0, "a"), iteration(1, "b")])
    );
    assert_eq!(
        doc["output"]["fan"],
        json!([{ "psame": { "ok": true } }, { "psame": { "ok": true } }])
    );

    // Loops nested 20 deep output what the innermost step made once per level: collecting
    // an inner loop's steps beside its output doubled the output at each level (2^20 copies
    // here; 30 levels took the host's memory; round 15 hostile-step review).
    let mut body = json!([{ "id": "leaf", "uses": "step:echo", "with": { "x": 1 } }]);
    let mut expected = json!([{ "leaf": { "x": 1 } }]);
    for level in 0..20 {
        let id = format!("l{level}");
        body = json!([{ "id": id, "loop": { "over": [0] }, "do": body }]);
        expected = json!([{ id: expected }]);
    }
    let deep = json!({ "name": "deep", "workspace": "mssp-soc", "steps": [
        { "id": "top", "loop": { "over": [0] }, "do": body },
        { "exit": { "status": "done", "output": "$.steps.top" } } ] });
    let (out, doc) = env.run(&env.write("deep.json", &deep), OWNER, "{}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(doc["output"], expected);
}

/// A restriction update whose reference found nobody (`null`) fails the step naming
/// `set_collaborators` and changes nothing: read as absent, it restricted the case and left
/// every collaborator on it, where the same reference written as a list (`[*]`) cleared them
/// (SPEC CS-4; round 25 hostile-input review).
#[test]
fn a_restriction_update_whose_people_render_null_fails_and_changes_nothing() {
    let env = Env::new();
    let wf = json!({ "name": "lock", "workspace": "mssp-soc", "steps": [
        { "id": "c", "uses": "cases/create-case",
          "with": { "title": "Phish", "severity": "low", "collaborators": [OPERATOR] } },
        { "id": "r", "uses": "cases/update-case-restrictions",
          "with": { "case_id": "$.steps.c.id", "access_mode": "restricted",
                    "set_collaborators": "$.event.owners" } }
    ] });
    let file = env.write("lock.json", &wf);
    let (out, doc) = env.run(&file, OWNER, r#"{"owners": null}"#);
    assert_eq!(out.status.code(), Some(1), "{doc}");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cases/update-case-restrictions") && error.contains("set_collaborators"),
        "{error}"
    );
    let (restricted, people): (i64, i64) = crate::common::db_at(&env.db)
        .conn()
        .query_row(
            "SELECT restricted, (SELECT count(*) FROM case_people WHERE part = 'collaborator') \
             FROM cases",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the case");
    assert_eq!((restricted, people), (0, 1), "left as it was");
    // A list that is empty clears them.
    let (out, doc) = env.run(&file, OWNER, r#"{"owners": []}"#);
    assert!(out.status.success(), "{doc}");
}

/// A restriction update whose whole input is a reference that found nothing fails naming
/// the input's shape, not a `case_id` that is `null` (round 26 hostile-input review).
#[test]
fn a_restriction_update_whose_input_renders_null_names_its_input() {
    let env = Env::new();
    let wf = json!({ "name": "lock", "workspace": "mssp-soc", "steps": [
        { "id": "r", "uses": "cases/update-case-restrictions", "with": "$.event.update" }
    ] });
    let file = env.write("lock.json", &wf);
    let (out, doc) = env.run(&file, OWNER, r#"{"update": null}"#);
    assert_eq!(out.status.code(), Some(1), "{doc}");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("`cases/update-case-restrictions` input: invalid type: null"),
        "{error}"
    );
    assert!(!error.contains("case_id"), "{error}");
}

/// A built-in query pages on with its own `next_cursor?`: the first iteration's reference
/// finds nothing (`null`, the first page), the last page's `next_cursor` ends the loop
/// (round 26 door review: a `null` cursor refused failed every such run at its first page).
#[test]
fn a_builtin_query_pages_on_through_its_cursor() {
    let env = Env::new();
    let wf = json!({ "name": "pager", "workspace": "mssp-soc", "vars": { "pages": [1, 2, 3, 4, 5] },
        "steps": [
            { "id": "a", "uses": "cases/create-case", "with": { "title": "A", "severity": "low" } },
            { "id": "b", "uses": "cases/create-case", "with": { "title": "B", "severity": "low" } },
            { "id": "c", "uses": "cases/create-case", "with": { "title": "C", "severity": "low" } },
            { "id": "each", "loop": { "over": "$.vars.pages",
                "break_if": [{ "left": "$.steps.page.next_cursor", "op": "not_exists" }] },
              "do": [{ "id": "page", "uses": "cases/query-cases",
                       "with": { "page_size": 1, "sort": "created_asc",
                                 "cursor": "$.steps.page.next_cursor?" } }] },
            { "exit": { "status": "paged", "output": { "pages": "$.steps.each" } } }
        ] });
    let file = env.write("pager.json", &wf);
    let (out, doc) = env.run(&file, OWNER, "{}");
    assert!(out.status.success(), "{doc}");
    let pages = doc["output"]["pages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let titles: Vec<&str> = pages
        .iter()
        .filter_map(|p| p["page"]["cases"][0]["title"].as_str())
        .collect();
    assert_eq!(titles, ["A", "B", "C"], "{doc}");
}

/// A case query whose filter's reference found nobody (`null`) fails the step naming the
/// filter: read as absent, a query for the new case's assignee answered every case the run
/// sees, and a loop after it acted on all of them (round 26 hostile-input review).
#[test]
fn a_case_query_whose_filter_renders_null_fails_naming_it() {
    let env = Env::new();
    let wf = json!({ "name": "mine", "workspace": "mssp-soc", "steps": [
        { "id": "c", "uses": "cases/create-case",
          "with": { "title": "Phish", "severity": "low" } },
        { "id": "q", "uses": "cases/query-cases",
          "with": { "filter": { "assignee": "$.steps.c.assignee" } } }
    ] });
    let file = env.write("mine.json", &wf);
    let (out, doc) = env.run(&file, OWNER, "{}");
    assert_eq!(out.status.code(), Some(1), "{doc}");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cases/query-cases") && error.contains("filter.assignee"),
        "{error}"
    );
    // A new case whose mode's reference found nothing is refused, not made full access.
    let wf = json!({ "name": "open", "workspace": "mssp-soc", "steps": [
        { "id": "c", "uses": "cases/create-case",
          "with": { "title": "Phish", "severity": "low", "access_mode": "$.event.mode" } }
    ] });
    let file = env.write("open.json", &wf);
    let (out, doc) = env.run(&file, OWNER, r#"{"mode": null}"#);
    assert_eq!(out.status.code(), Some(1), "{doc}");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(error.contains("access_mode"), "{error}");
    let made: i64 = crate::common::db_at(&env.db)
        .conn()
        .query_row(
            "SELECT count(*) FROM cases WHERE title = 'Phish'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(made, 1, "only the first run's case");
    // A filter whose reference found an empty list is refused, not read as a filter of
    // nothing (round 27 steps review: serde read a record from an array).
    let wf = json!({ "name": "listed", "workspace": "mssp-soc", "steps": [
        { "id": "q", "uses": "cases/query-cases", "with": { "filter": "$.event.filter" } }
    ] });
    let file = env.write("listed.json", &wf);
    let (out, doc) = env.run(&file, OWNER, r#"{"filter": []}"#);
    assert_eq!(out.status.code(), Some(1), "{doc}");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("filter") && error.contains("sequence"),
        "{error}"
    );
}

/// A run's case events spend its budget of events by size, not only by number (SPEC ST-4;
/// round 14 hostile-step review): each embeds the whole case, so toggling a case of 60 KB
/// wrote about 180 KB of events a step, 10,000 events (about 600 MB) before the count ran
/// out. The run's 32 MiB of event payload stops it after a few hundred, naming why.
#[test]
fn case_events_spend_the_runs_budget_by_their_size() {
    let env = Env::new();
    let modes: Vec<&str> = (0..600)
        .map(|i| {
            if i % 2 == 0 {
                "restricted"
            } else {
                "full_access"
            }
        })
        .collect();
    let wf = json!({ "name": "toggle", "workspace": "mssp-soc", "vars": { "modes": modes }, "steps": [
        { "id": "big", "uses": "cases/create-case",
          "with": { "title": "Big", "severity": "low", "description": "$.event.blob" } },
        { "id": "each", "loop": { "over": "$.vars.modes" }, "do": [
            { "id": "t", "uses": "cases/update-case-restrictions",
              "with": { "case_id": "$.steps.big.id", "access_mode": "$.loop.item" } } ] }
    ] });
    let file = env.write("toggle.json", &wf);
    let event = json!({ "blob": "d".repeat(60_000) }).to_string();
    std::fs::write(env.dir.path().join("blob.json"), event).expect("event");
    let (out, doc) = env.run(&file, OWNER, "@blob.json");
    assert_eq!(out.status.code(), Some(1), "{doc}");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cases/update-case-restrictions") && error.contains("bytes"),
        "{error}"
    );
    let written: i64 = crate::common::db_at(&env.db)
        .conn()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .expect("count");
    assert!(
        (400..=700).contains(&written),
        "about 32 MiB of 60 KB events: {written}"
    );
}

/// A run's detail carries its newest entries while their outputs hold at most 8 MiB, and
/// counts the rest (round 14 web review: a run of 64 MiB of outputs was read whole by each
/// request showing it).
#[test]
fn a_runs_detail_carries_outputs_up_to_its_budget_and_counts_the_rest() {
    let env = Env::new();
    let wf = json!({ "name": "wide", "workspace": "mssp-soc", "steps": [
        { "id": "each", "loop": { "over": "$.event.items" },
          "do": [{ "id": "n", "uses": "step:echo", "with": { "blob": "$.event.blob" } }] }
    ] });
    let file = env.write("wide.json", &wf);
    let event = json!({ "items": (0..20).collect::<Vec<_>>(), "blob": "x".repeat(1_000_000) });
    std::fs::write(env.dir.path().join("wide-event.json"), event.to_string()).expect("event");
    let (out, doc) = env.run(&file, OWNER, "@wide-event.json");
    assert!(out.status.success(), "{doc}");
    let run = doc["run_id"].as_str().expect("run").to_owned();
    let shown: Value = serde_json::from_slice(
        &env.cli(&["runs", "show", &run, "--json", "--as", OWNER])
            .stdout,
    )
    .expect("json");
    let carried = shown["steps"].as_array().expect("steps").len();
    let omitted = shown["run"]["steps_omitted"].as_u64().unwrap_or(0);
    assert_eq!(carried, 9, "about 8 MiB of 1 MB outputs");
    assert_eq!(omitted, 11);
    assert_eq!(shown["steps"][8]["step"], "each[19].n", "the newest");
}

/// WF-8: after a crash, a run resumes at its first unfinished step; finished steps are replayed
/// from the journal, and a step whose effect landed before the crash does not repeat it.
#[test]
fn an_interrupted_run_resumes_without_repeating_finished_steps_or_their_effects() {
    let env = Env::new();
    let wf = json!({ "name": "durable", "workspace": "mssp-soc", "steps": [
        { "id": "open", "uses": "cases/create-case", "with": { "title": "durable", "severity": "high" } },
        { "id": "lock", "uses": "cases/create-case", "with": { "title": "second", "severity": "low" } },
        { "exit": { "output": { "first": "$.steps.open.id", "second": "$.steps.lock.id" } } }
    ] });
    let file = env.write("durable.json", &wf);
    let text = std::fs::read_to_string(env.dir.path().join(&file)).expect("read");
    let platform = Arc::new(Platform::new(crate::common::db_at(&env.db)).expect("platform"));
    let origin = env.dir.path().join(&file).display().to_string();
    // A run that "crashed" after finishing `open` and after `lock`'s effect landed, but before
    // `lock` was journaled: its engine stops once `open` finishes (as on SIGTERM, so `open`
    // is journaled and the run left `running`), and `lock`'s effect lands under its key.
    let runtime = Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
    let stopping = Engine::new(platform.clone(), runtime, vec![]);
    let workflow = flowhost::workflow::parse(
        &origin,
        &text,
        &Resolver::for_file(Path::new(&origin), vec![]),
    )
    .expect("valid");
    let stop_after_open = StopAfter {
        key: "open",
        stop: stopping.stop_flag(),
    };
    let outcome = stopping
        .run_manual(
            &workflow,
            &text,
            &origin,
            common::user(OWNER),
            json!({}),
            &stop_after_open,
        )
        .expect("run");
    assert_eq!(
        outcome.status,
        flowhost::runs::RunStatus::Running,
        "{:?}",
        outcome.error
    );
    let (run, shown) = (outcome.run_key, outcome.run_id.to_string());
    let owner = flowhost::principal::Caller {
        workspace: "mssp-soc".into(),
        principal: common::user(OWNER),
        cause: None,
        step: None,
    };
    flowhost::builtin::run(
        &platform,
        &owner,
        "cases/create-case",
        &json!({ "title": "second", "severity": "low" }),
        Some(&format!("run:{run}/lock")),
    )
    .expect("lock effect");
    let listed = platform
        .runs()
        .list(&common::user(OWNER), Some("mssp-soc"), &Default::default())
        .expect("runs");
    assert_eq!(
        listed
            .iter()
            .map(|r| (r.id.to_string(), r.status))
            .collect::<Vec<_>>(),
        [(shown.clone(), flowhost::runs::RunStatus::Running)],
        "left running"
    );
    drop(platform);

    let out = env.cli(&["runs", "resume", &shown, "--json", "--as", OWNER]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["output"], json!({ "first": "C-1", "second": "C-2" }));
    let cases = crate::common::db_at(&env.db)
        .conn()
        .query_row("SELECT count(*) FROM cases", [], |r| r.get::<i64>(0))
        .expect("count");
    assert_eq!(cases, 2, "no case was created twice");
    let again = env.cli(&["runs", "resume", &shown, "--as", OWNER]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "a finished run does not resume (a conflict: exit 2)"
    );

    // The same through the library, to check the trace marks replays.
    let platform = Arc::new(Platform::new(crate::common::db_at(&env.db)).expect("platform"));
    let runtime = Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
    let engine = Engine::new(platform.clone(), runtime, vec![steps_dir()]);
    let workflow = flowhost::workflow::parse(
        &origin,
        &text,
        &Resolver::for_file(Path::new(&origin), vec![]),
    )
    .expect("valid");
    let outcome = engine
        .run_manual(
            &workflow,
            &text,
            &origin,
            common::user(OWNER),
            json!({}),
            &Quiet,
        )
        .expect("runs");
    assert_eq!(
        outcome.output,
        json!({ "first": "C-3", "second": "C-4" }),
        "a new run creates new cases"
    );
}

/// Stops its engine once step `key` finishes (the run stops at the next step boundary).
struct StopAfter {
    key: &'static str,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl flowhost::workflow::Observer for StopAfter {
    fn step_finished(&self, key: &str, _: &Result<Value, String>, _: std::time::Duration, _: bool) {
        if key == self.key {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// A step's key is its place among loops and nested workflows; one longer than 1,024 bytes
/// fails the run naming the limit, on both engines alike (review: PostgreSQL indexes no
/// entry past ~2.7 KB, and the run ended as the host's error there). One that is too long
/// within one file is refused where written (round 23 hostile-input review); across a nested
/// workflow's file, only the run can tell.
#[test]
fn a_step_whose_key_grew_too_long_fails_the_run_naming_the_limit() {
    let env = Env::new();
    // `inner` inside `levels` loops of one item each, their ids 62 bytes long.
    let looped = |levels: usize, inner: Value| {
        let mut step = inner;
        for level in 0..levels {
            step = json!({ "id": format!("{}{level:02}", "l".repeat(60)),
                "loop": { "over": [1] }, "do": [step] });
        }
        step
    };
    let leaf = json!({ "id": "leaf", "uses": ECHO, "with": { "n": 1 } });
    let run = |name: &str, steps: Value| {
        let file = env.write(
            &format!("{name}.json"),
            &json!({ "name": name, "workspace": "mssp-soc", "steps": [steps] }),
        );
        let (out, doc) = env.run(&file, OPERATOR, "{}");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (doc, stderr)
    };
    // Within one file: refused where written.
    let (doc, stderr) = run("deep-keys", looped(20, leaf.clone()));
    assert_eq!(doc, Value::Null, "nothing ran");
    assert!(stderr.contains("at most 1024 are allowed"), "{stderr}");
    // Across a nested workflow: 10 loops, the nested step, 5 more loops in its file.
    env.write(
        "child.json",
        &json!({ "name": "child", "workspace": "mssp-soc", "steps": [looped(5, leaf.clone())] }),
    );
    let nested = json!({ "id": format!("n{}", "x".repeat(63)), "workflow": "child.json" });
    let (doc, stderr) = run("deep-nested", looped(10, nested));
    assert_eq!(doc["status"], "failed", "{stderr}");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(error.contains("at most 1024 are allowed"), "{doc}");
    // Within the limit the same shape runs.
    let (doc, stderr) = run("keys", looped(10, leaf));
    assert_eq!(doc["status"], "succeeded", "{stderr}");
}
