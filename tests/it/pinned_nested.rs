//! A published revision's nested workflows are pinned with it (SPEC WF-7, SH-3): editing or
//! deleting a nested file after publishing changes nothing for its triggered runs, and the
//! components a nested workflow names are pinned too. Real CLI, real database file.

use crate::common::{Deployment, ECHO};

use std::path::Path;

use serde_json::{Value, json};

const OWNER: &str = "olivia.owner@acme-mssp.test";
const WS: &str = "mssp-soc";

fn child(version: &str) -> Value {
    json!({ "name": "child", "workspace": WS, "steps": [
        { "id": "hello", "uses": "step:echo", "with": { "version": version } },
        { "exit": { "status": "done", "output": { "version": version } } }
    ] })
}

fn write(d: &Deployment, name: &str, v: &Value) {
    std::fs::write(d.dir.path().join(name), v.to_string()).expect("write");
}

/// The `nested` outputs of the parent's runs, oldest first.
fn nested_outputs(d: &Deployment) -> Vec<Value> {
    let conn = rusqlite::Connection::open(&d.db).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT s.output FROM run_steps s JOIN runs r ON r.id = s.run_id
             WHERE r.workflow = 'parent' AND s.step_key = 'nested/hello' ORDER BY r.id",
        )
        .expect("sql");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|t| serde_json::from_str(&t.expect("row")).expect("json"))
        .collect()
}

#[test]
fn editing_or_deleting_a_nested_file_after_publishing_changes_nothing_for_triggered_runs() {
    let d = Deployment::new();
    std::fs::create_dir(d.dir.path().join("lib")).expect("dir");
    write(&d, "lib/child.json", &child("v1"));
    write(
        &d,
        "parent.json",
        &json!({ "name": "parent", "workspace": WS, "run_as": OWNER,
            "trigger": { "on": "case_created" },
            "steps": [ { "id": "nested", "workflow": "lib/child.json" } ] }),
    );
    let steps = Path::new(ECHO).parent().expect("dir").display().to_string();
    d.ok(&[
        "workflows",
        "publish",
        "parent.json",
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);

    // The nested file changes, then goes; dispatch is given no step directory at all.
    write(&d, "lib/child.json", &child("v2"));
    d.create_case("first");
    d.ok(&["triggers", "dispatch", "--workspace", WS, "--as", OWNER]);
    std::fs::remove_file(d.dir.path().join("lib/child.json")).expect("remove");
    d.create_case("second");
    d.ok(&["triggers", "dispatch", "--workspace", WS, "--as", OWNER]);

    let outputs = nested_outputs(&d);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    for out in &outputs {
        assert_eq!(
            out["version"], "v1",
            "the nested workflow as published: {out}"
        );
    }
    let conn = rusqlite::Connection::open(&d.db).expect("open");
    let failed: i64 = conn
        .query_row(
            "SELECT count(*) FROM runs WHERE workflow = 'parent' AND status <> 'succeeded'",
            [],
            |r| r.get(0),
        )
        .expect("runs");
    assert_eq!(failed, 0);

    // Publishing again reads the files as they are now: the deleted one is named.
    let err = d.fails(&[
        "workflows",
        "publish",
        "parent.json",
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    assert!(err.contains("lib/child.json"), "{err}");
    // A new version of the nested file is a new revision, which runs it.
    write(&d, "lib/child.json", &child("v3"));
    let out = d.ok(&[
        "workflows",
        "publish",
        "parent.json",
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    assert!(out.contains("revision 2"), "{out}");
    d.create_case("third");
    d.ok(&["triggers", "dispatch", "--workspace", WS, "--as", OWNER]);
    assert_eq!(nested_outputs(&d).last().expect("run")["version"], "v3");
}

/// `flowhost run FILE` pins what it runs too: a run resumed by another process (here, by the
/// answer to its interaction, with no step directory) runs the components and nested
/// workflow it started with, though the component file and the nested file are gone.
#[test]
fn a_run_of_a_file_resumes_with_the_components_and_nested_workflows_it_started_with() {
    let d = Deployment::new();
    let steps = d.dir.path().join("steps");
    std::fs::create_dir(&steps).expect("dir");
    std::fs::copy(ECHO, steps.join("echo.wasm")).expect("copy");
    write(&d, "child.json", &child("v1"));
    write(
        &d,
        "ask.json",
        &json!({ "name": "ask", "workspace": WS, "steps": [
            { "id": "approve", "interaction": { "title": "Go on?",
                "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
                "access": { "workspace_users": { "emails": [OWNER] } } } },
            { "id": "mine", "uses": "step:echo", "with": { "at": "top" } },
            { "id": "nested", "workflow": "child.json" }
        ] }),
    );
    let started: Value = serde_json::from_str(&d.ok(&[
        "run",
        "ask.json",
        "--as",
        OWNER,
        "--steps",
        steps.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("json");
    assert_eq!(started["status"], "on_hold", "{started}");
    let ix = started["waiting_on"][0]
        .as_str()
        .expect("interaction")
        .to_owned();
    std::fs::remove_dir_all(&steps).expect("remove steps");
    write(&d, "child.json", &child("v2"));
    let answered = d.cli(&[
        "interact",
        "respond",
        &ix,
        "--as",
        OWNER,
        "--values",
        r#"{"ok":true}"#,
        "--json",
    ]);
    assert!(
        answered.status.success(),
        "{}",
        String::from_utf8_lossy(&answered.stderr)
    );
    let run_id = started["run_id"].as_str().expect("run id");
    let conn = rusqlite::Connection::open(&d.db).expect("open");
    let (run, status): (i64, String) = conn
        .query_row(
            "SELECT id, status FROM runs WHERE public_id = ?1",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("run");
    assert_eq!(status, "succeeded");
    let nested: String = conn
        .query_row(
            "SELECT output FROM run_steps WHERE run_id = ?1 AND step_key = 'nested/hello'",
            [run],
            |r| r.get(0),
        )
        .expect("nested step");
    assert!(nested.contains("v1"), "{nested}");
}

/// Every nested workflow a revision reaches within the nesting limit is pinned, wherever it
/// is also reached: walked depth first, one first met through a long path (past the limit)
/// was marked seen and left unpinned, and a short path to it then read it from disk at run
/// time (authority review). Here `x.json` is reached by `s → h → x` and by a chain of eight.
#[test]
fn a_nested_workflow_reached_by_a_long_path_and_a_short_one_is_pinned() {
    let d = Deployment::new();
    let nest = |name: &str, inner: &[&str]| {
        let steps: Vec<Value> = inner
            .iter()
            .map(|file| json!({ "id": file.trim_end_matches(".json"), "workflow": file }))
            .collect();
        write(
            &d,
            name,
            &json!({ "name": name.trim_end_matches(".json"), "workspace": WS, "steps": steps }),
        );
    };
    // The short path is listed first: a depth-first walk took the long one first.
    nest("parent.json", &["s.json", "c1.json"]);
    for i in 1..8 {
        nest(&format!("c{i}.json"), &[&format!("c{}.json", i + 1)]);
    }
    nest("c8.json", &["h.json"]);
    nest("s.json", &["h.json"]);
    nest("h.json", &["x.json"]);
    write(&d, "x.json", &child("v1"));
    let steps = Path::new(ECHO).parent().expect("dir").display().to_string();
    d.ok(&[
        "workflows",
        "publish",
        "parent.json",
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    let conn = rusqlite::Connection::open(&d.db).expect("open");
    let pins: String = conn
        .query_row(
            "SELECT components FROM workflow_revisions WHERE name = 'parent'",
            [],
            |r| r.get(0),
        )
        .expect("the revision's pins");
    let pins: Value = serde_json::from_str(&pins).expect("json");
    for file in ["s.json", "h.json", "x.json", "c8.json"] {
        assert!(
            pins.as_object()
                .expect("pins")
                .keys()
                .any(|k| k.starts_with("nested-workflow:") && k.ends_with(file)),
            "{file} pinned: {pins}"
        );
    }
}
