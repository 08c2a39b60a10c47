//! Issue 14 items 8-10: no input panics the host, nothing stored reads back as `null`, and
//! bad input gets an error naming what and where. Real processes on real database files.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{ECHO, flowhost_bin};
use serde_json::{Value, json};

const OPERATOR: &str = "omar.operator@acme-mssp.test";
const OWNER: &str = "olivia.owner@acme-mssp.test";
const WS: &str = "mssp-soc";

fn steps_dir() -> PathBuf {
    Path::new(ECHO)
        .parent()
        .expect("component directory")
        .to_owned()
}

/// The example tenant on a file, with this module's helpers.
struct Env(common::Deployment);

impl std::ops::Deref for Env {
    type Target = common::Deployment;
    fn deref(&self) -> &common::Deployment {
        &self.0
    }
}

impl Env {
    fn new() -> Env {
        Env(common::Deployment::new())
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(name), text).expect("write");
        name.to_owned()
    }

    fn run(&self, file: &str) -> Output {
        let steps = steps_dir();
        self.cli(&[
            "run",
            file,
            "--as",
            OPERATOR,
            "--steps",
            steps.to_str().expect("utf-8"),
            "--json",
        ])
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails unless the process ended by itself without a panic (exit 101) or a signal.
fn no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
    assert!(out.status.code().is_some(), "killed by a signal: {err}");
}

/// `levels` nested arrays around `inner`.
fn nested(levels: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(levels), "]".repeat(levels))
}

/// A definition or an `@FILE` event holding more than a million values (objects weighted)
/// is refused before it is parsed, naming the cap: 60,000 small objects in `vars` were about
/// 40 MB parsed, copied once for each part of a `parallel` in flight (round 26 engine
/// review: a 4 MB `vars` took the host's memory). Where written only: a revision stored
/// before still runs.
#[test]
fn a_document_of_too_many_values_is_refused_before_it_is_parsed() {
    let env = Env::new();
    let many = vec![serde_json::json!({ "a": 0 }); 60_000];
    let wf = serde_json::json!({ "name": "bomb", "workspace": "mssp-soc", "vars": { "x": many },
        "steps": [{ "id": "p", "parallel": [[{ "id": "w", "wait": "1ms" }]] }] });
    let file = env.write("bomb.json", &wf.to_string());
    let out = env.run(&file);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bomb.json:1:1: (document): the definition holds about")
            && err.contains("a document holds at most 1000000"),
        "{err}"
    );
    // As an event read from a file.
    let small = serde_json::json!({ "name": "small", "workspace": "mssp-soc",
        "steps": [{ "id": "w", "wait": "1ms" }] });
    let file = env.write("small.json", &small.to_string());
    env.write("event.json", &serde_json::json!({ "x": many }).to_string());
    let out = env.cli(&["run", &file, "--as", OPERATOR, "--event", "@event.json"]);
    no_panic(&out);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("event.json holds about"),
        "{}",
        stderr(&out)
    );
    // Within the cap, it runs.
    let out = env.cli(&[
        "run",
        &file,
        "--as",
        OPERATOR,
        "--event",
        r#"{"x": [{"a": 0}]}"#,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // As an event in a sample's expectations, which `flowhost test` reads (round 27
    // hostile-input review: it entered the run's context uncounted).
    let samples = env.dir.path().join("samples");
    std::fs::create_dir(&samples).expect("dir");
    std::fs::write(samples.join("small.json"), small.to_string()).expect("sample");
    let spec = serde_json::json!({ "tenant": crate::common::example_tenant_path(),
        "when": { "run": { "as": OWNER, "event": { "x": many } } },
        "expect": { "status": "succeeded" } });
    std::fs::write(samples.join("small.test.json"), spec.to_string()).expect("spec");
    let out = env.cli(&["test", samples.to_str().expect("utf-8")]);
    no_panic(&out);
    assert!(!out.status.success());
    let said = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(said.contains("small.test.json holds about"), "{said}");
    // An assertion given as `null` is refused, not read as checking nothing (round 27
    // hostile-input review).
    for expect in [
        serde_json::json!({ "status": null }),
        serde_json::json!({ "status": "succeeded", "cases": [{ "title": "t", "collaborators": null }] }),
    ] {
        let spec = serde_json::json!({ "tenant": crate::common::example_tenant_path(),
            "when": { "run": { "as": OWNER } }, "expect": expect });
        std::fs::write(samples.join("small.test.json"), spec.to_string()).expect("spec");
        let out = env.cli(&["test", samples.to_str().expect("utf-8")]);
        no_panic(&out);
        assert!(!out.status.success(), "{expect}");
        let said = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert!(said.contains("null"), "{expect}: {said}");
    }
    // A revision stored before the cap still reads: its runs go on (round 26 self-review).
    let out = env.cli(&["workflows", "publish", &file, "--as", OWNER]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stored = serde_json::json!({ "name": "small", "workspace": "mssp-soc",
        "vars": { "x": many }, "steps": [{ "id": "w", "wait": "1ms" }] });
    common::db_at(&env.db)
        .conn()
        .execute(
            "UPDATE workflow_revisions SET definition = ?1 WHERE name = 'small'",
            [stored.to_string()],
        )
        .expect("stored before");
    let out = env.cli(&[
        "run",
        "--published",
        "small",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Issue 14 item 8: a step timeout of `9223372036854775807s` or `106751991167300d` passed
/// `validate` and panicked the host on `run` (duration overflow). Every duration is now
/// capped at 3660d when read.
#[test]
fn durations_that_would_overflow_are_refused_before_anything_runs() {
    let env = Env::new();
    for huge in ["9223372036854775807s", "106751991167300d", "3661d"] {
        let definition = json!({
            "name": "huge", "workspace": WS,
            "steps": [
                { "id": "a", "uses": "cases/query-cases", "timeout": huge,
                  "retry": { "attempts": 2, "delay": huge, "max_delay": huge } },
                { "id": "w", "wait": huge }
            ]
        });
        let file = env.write("huge.json", &definition.to_string());
        let out = env.cli(&["validate", &file]);
        no_panic(&out);
        assert!(!out.status.success());
        let err = stderr(&out);
        for path in ["steps[0].timeout", "steps[0].retry.delay", "steps[1].wait"] {
            assert!(
                err.contains(&format!("{path}: duration `{huge}` is out of range")),
                "{path}: {err}"
            );
        }
        let out = env.run(&file);
        no_panic(&out);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("at most 3660d"), "{}", stderr(&out));
    }
    // The longest duration allowed still validates (a wait's).
    let file = env.write(
        "longest.json",
        &json!({ "name": "ok", "workspace": WS,
                 "steps": [{ "id": "a", "wait": "3660d" }] })
        .to_string(),
    );
    let out = env.cli(&["validate", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A step's own timeout is at most 15 minutes: a running step holds an instance slot
    // until its deadline, and one asking for years let a tenant take every slot (hostile
    // step review).
    let long = |timeout: &str| {
        let file = env.write(
            "long-step.json",
            &json!({ "name": "long", "workspace": WS,
                     "steps": [{ "id": "a", "uses": "cases/query-cases", "timeout": timeout }] })
            .to_string(),
        );
        env.cli(&["validate", &file])
    };
    let refused = long("3660d");
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("steps[0].timeout") && stderr(&refused).contains("at most 15m"),
        "{}",
        stderr(&refused)
    );
    assert!(long("15m").status.success(), "{}", stderr(&long("15m")));
    // So is a retry's pause, at most 5 minutes, and never longer than its `max_delay`: it
    // pauses in the run's worker, which every workspace's runs share, and a `delay` of years
    // held one for years (hostile-input review).
    let retried = |retry: serde_json::Value| {
        let file = env.write(
            "retried.json",
            &json!({ "name": "retried", "workspace": WS,
                     "steps": [{ "id": "a", "uses": "cases/query-cases", "retry": retry }] })
            .to_string(),
        );
        env.cli(&["validate", &file])
    };
    for (retry, needle) in [
        (
            json!({ "attempts": 20, "delay": "3660d" }),
            "steps[0].retry.delay",
        ),
        (
            json!({ "attempts": 3, "delay": "1s", "max_delay": "1h" }),
            "steps[0].retry.max_delay",
        ),
        (
            json!({ "attempts": 3, "delay": "2m", "max_delay": "1m" }),
            "at most its `max_delay`",
        ),
    ] {
        let refused = retried(retry.clone());
        assert!(!refused.status.success(), "{retry}");
        assert!(
            stderr(&refused).contains(needle),
            "{retry}: {}",
            stderr(&refused)
        );
    }
    for retry in [
        json!({ "attempts": 3, "delay": "5m", "max_delay": "5m" }),
        json!({ "attempts": 3, "delay": "2m" }),
    ] {
        let ok = retried(retry.clone());
        assert!(ok.status.success(), "{retry}: {}", stderr(&ok));
    }
}

/// An error quotes an input by its start, its control characters escaped, whatever names
/// it: an unknown field of 100 kB, an unknown operator and trigger, a template without its
/// `}}` were echoed whole, and a newline in one started a line of its own (hostile-input
/// review).
#[test]
fn errors_quote_what_they_name_clipped_and_escaped() {
    let env = Env::new();
    let long = "k".repeat(100_000);
    let definition = json!({ "name": "quoting", "workspace": WS,
        "trigger": { "on": format!("{long}\nforged: line") },
        "steps": [
            { "id": "a", "uses": "cases/query-cases", "with": { "x": format!("{{{{ {long}") },
              long.clone(): 1 },
            { "id": "b", "if": [{ "left": 1, "op": long.clone(), "right": 1 }],
              "then": [{ "id": "c", "exit": { "status": "done" } }] }
        ] });
    let file = env.write("quoting.json", &definition.to_string());
    let out = env.cli(&["validate", &file]);
    no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.len() < 8_000, "{} bytes of errors", err.len());
    assert!(err.contains("(100000 bytes)"), "{err}");
    assert!(!err.contains("\nforged"), "{err}");
}

/// What a decoder refused is quoted clipped and escaped too: an unknown variant, field or
/// map key came back whole with its line breaks, where written, in a run's stored error,
/// and from a tenant file (round 21 input review).
#[test]
fn a_decoders_refusals_quote_what_they_name_clipped_and_escaped() {
    let env = Env::new();
    let long = "k".repeat(100_000);
    let forged = format!("{long}\nforged: line");
    let written = json!({ "name": "sev", "workspace": WS,
        "steps": [{ "id": "a", "uses": "cases/create-case",
                    "with": { "title": "t", "severity": forged.clone() } }] });
    let out = env.cli(&["validate", &env.write("sev.json", &written.to_string())]);
    no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.len() < 8_000, "{} bytes of errors", err.len());
    assert!(!err.contains("\nforged"), "{err}");
    assert!(err.contains("severity"), "{err}");
    // At run time, from the event: the run's error is stored clipped.
    let from_event = json!({ "name": "sev-event", "workspace": WS,
        "steps": [{ "id": "a", "uses": "cases/create-case",
                    "with": { "title": "t", "severity": "$.event.sev" } }] });
    let file = env.write("sev-event.json", &from_event.to_string());
    let event = json!({ "sev": forged }).to_string();
    let out = env.cli(&["run", &file, "--as", OWNER, "--event", &event, "--json"]);
    no_panic(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("severity") && error.len() < 4_000,
        "{} bytes",
        error.len()
    );
    assert!(!error.contains("\nforged"), "{error}");
    // A tenant file's unknown field.
    let tenant = format!(r#"{{"organization": "acme", {}: 1}}"#, json!(forged));
    let out = env.cli(&["tenant", "apply", &env.write("t.json", &tenant)]);
    no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("unknown field"), "{err}");
    assert!(err.len() < 8_000, "{} bytes of errors", err.len());
    assert!(!err.contains("\nforged"), "{err}");
    // A `flowhost test` expectation file's unknown field (round 22 hostile-input review).
    env.write("w.json", &from_event.to_string());
    let spec = format!(
        r#"{{"when": {{"run": {{"as": "{OWNER}"}}}}, {}: 1}}"#,
        json!(forged)
    );
    env.write("w.test.json", &spec);
    let out = env.cli(&["test", &env.dir.path().join("w.json").display().to_string()]);
    no_panic(&out);
    assert!(!out.status.success());
    let said = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(said.contains("unknown field"), "{said}");
    assert!(said.len() < 8_000, "{} bytes of errors", said.len());
    assert!(!said.contains("\nforged"), "{said}");
}

/// Issue 14 item 8: `flowhost runs show … | head` panicked on the broken pipe. Every print
/// path goes through one helper that ends the process quietly (status 141, like SIGPIPE).
#[test]
fn a_reader_that_went_away_ends_output_quietly() {
    let env = Env::new();
    let file = env.write(
        "one.json",
        &json!({ "name": "one", "workspace": WS,
                 "steps": [{ "id": "a", "uses": "cases/query-cases" }] })
        .to_string(),
    );
    let out = env.run(&file);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let run = doc["run_id"].as_str().expect("run id");
    for args in [
        &["runs", "show", run, "--as", OWNER][..],
        &["runs", "show", run, "--json", "--as", OWNER],
        &["runs", "list", "--workspace", WS, "--as", OWNER],
        &["tenant", "export", "--as", OWNER],
    ] {
        // A pipe whose reader is closed before the command writes: EPIPE on the first write.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(flowhost_bin())
            .current_dir(env.dir.path())
            .arg("--db")
            .arg(crate::common::db_arg(&env.db))
            .args(args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .expect("flowhost runs");
        no_panic(&out);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

/// Issue 14 item 9: JSON nested near serde's limit of 128 was stored and then read back as
/// `null`. Nesting is capped at 64 wherever JSON enters, and nothing is stored.
#[test]
fn json_nested_too_deep_is_refused_where_it_enters() {
    let env = Env::new();
    let deep_fields = format!(
        r#"{{"title": "deep", "severity": "critical", "fields": {{"x": {}}}}}"#,
        nested(123, "1")
    );
    let out = env.cli(&[
        "cases",
        "create-from-json",
        &deep_fields,
        "--workspace",
        WS,
        "--as",
        OWNER,
    ]);
    no_panic(&out);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nested 125 levels deep; at most 64"),
        "{}",
        stderr(&out)
    );
    let listed = env.cli(&["cases", "query", "--workspace", WS, "--as", OWNER, "--json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let page: Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(page["cases"], json!([]), "nothing was stored");

    // A workflow definition nested too deep is located.
    let file = env.write(
        "deep.json",
        &format!(
            r#"{{"name": "deep", "workspace": "{WS}", "steps": [], "vars": {{"v": {}}}}}"#,
            nested(70, "1")
        ),
    );
    let out = env.cli(&["validate", &file]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("deep.json:1:") && stderr(&out).contains("nested more than 64"),
        "{}",
        stderr(&out)
    );

    // A run's event nested too deep is refused too.
    let ok = env.write(
        "ok.json",
        &json!({ "name": "ok", "workspace": WS, "steps": [] }).to_string(),
    );
    let out = env.cli(&["run", &ok, "--as", OPERATOR, "--event", &nested(100, "1")]);
    no_panic(&out);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--event is nested 100 levels deep"),
        "{}",
        stderr(&out)
    );
}

/// An object that names a key twice is refused where it enters, naming the key and where it
/// is named again: serde_json keeps the last value, so `{"approve": false, "approve": true}`
/// read as approval where a reader of the text sees a refusal (bad-input review).
#[test]
fn a_key_named_twice_is_refused_where_it_enters() {
    let env = Env::new();
    let out = env.cli(&[
        "cases",
        "create-from-json",
        r#"{"title": "twice", "severity": "low", "severity": "critical"}"#,
        "--workspace",
        WS,
        "--as",
        OWNER,
    ]);
    no_panic(&out);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the key `severity` appears twice in one object"),
        "{}",
        stderr(&out)
    );
    let listed = env.cli(&["cases", "query", "--workspace", WS, "--as", OWNER, "--json"]);
    let page: Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(page["cases"], json!([]), "nothing was stored");

    // In a workflow definition, located at the second naming.
    let file = env.write(
        "twice.json",
        &format!(
            "{{\"name\": \"twice\", \"workspace\": \"{WS}\",\n \"steps\": [], \"steps\": []}}"
        ),
    );
    let out = env.cli(&["validate", &file]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("twice.json:2:") && stderr(&out).contains("`steps` appears twice"),
        "{}",
        stderr(&out)
    );
    // The same key in two objects is no repetition.
    let ok = env.write(
        "ok.json",
        &json!({ "name": "ok", "workspace": WS, "steps": [] }).to_string(),
    );
    let out = env.cli(&[
        "run",
        &ok,
        "--as",
        OPERATOR,
        "--event",
        r#"{"a": {"a": 1}, "b": {"a": 2}}"#,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Issue 14 item 9: a run output nested 128 levels was stored, and `runs show --json` read it
/// back as `null`. Outputs grow through templates (each within the limit), so every step
/// output and exit output is checked before it is journaled: the run fails, saying why.
#[test]
fn an_output_grown_too_deep_fails_the_run_and_reads_back() {
    let env = Env::new();
    // a: 55 levels from a literal; b: 55 more around a's output; exit: 55 more around b's.
    let wrap = |levels: usize, inner: &str| {
        format!("{}{inner}{}", r#"{"k":"#.repeat(levels), "}".repeat(levels))
    };
    let definition = format!(
        r#"{{"name": "grow", "workspace": "{WS}", "steps": [
            {{"id": "a", "uses": "step:echo", "with": {}}},
            {{"id": "b", "uses": "step:echo", "with": {}}},
            {{"id": "end", "exit": {{"status": "done", "output": {}}}}}
        ]}}"#,
        wrap(55, "1"),
        wrap(55, r#""$.steps.a""#),
        wrap(55, r#""$.steps.b""#),
    );
    let file = env.write("grow.json", &definition);
    let out = env.run(&file);
    no_panic(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("run --json prints JSON");
    assert_eq!(doc["status"], "failed", "{doc}");
    let error = doc["error"].as_str().expect("error");
    assert!(
        error.contains("step `b`") && error.contains("nested 110 levels deep; at most 64"),
        "{error}"
    );
    let run = doc["run_id"].as_str().expect("run id").to_owned();
    let shown = env.cli(&["runs", "show", &run, "--json", "--as", OWNER]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("json");
    let text = shown.to_string();
    assert!(text.contains("nested 110 levels deep"), "{text}");
    // Step a's output was journaled and reads back whole.
    assert!(text.contains(&wrap(55, "1")), "{text}");
}

/// A step id JSONPath's shorthand cannot spell (with a `-`, or a leading digit) is referred
/// to in brackets: such a step's output could not be referred to at all, the bracket form
/// refused as not `$.steps.<id>`; and a form field may not take the web form's own name
/// (hostile-input review).
#[test]
fn a_step_id_with_a_dash_is_referred_to_in_brackets() {
    let env = Env::new();
    let definition = serde_json::json!({
        "name": "dashes", "workspace": WS,
        "steps": [
            { "id": "fetch-ip", "uses": "step:echo", "with": { "ip": "10.0.0.1" } },
            { "id": "1st", "uses": "step:echo", "with": { "got": "$.steps['fetch-ip'].ip" } },
            { "id": "end", "exit": { "status": "done", "output": "$.steps[\"1st\"]" } }
        ]
    });
    let out = env.run(&env.write("dashes.json", &definition.to_string()));
    no_panic(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("run --json prints JSON");
    assert_eq!(doc["status"], "succeeded", "{doc}");
    assert_eq!(
        doc["output"],
        serde_json::json!({ "got": "10.0.0.1" }),
        "{doc}"
    );
    let wrong = serde_json::json!({
        "name": "wrong", "workspace": WS,
        "steps": [
            { "id": "fetch-ip", "uses": "step:echo", "with": {} },
            { "id": "b", "uses": "step:echo", "with": { "got": "$.steps['nope']" } }
        ]
    });
    let out = env.run(&env.write("wrong.json", &wrong.to_string()));
    assert!(
        stderr(&out).contains("refers to step `nope`, which does not exist"),
        "{}",
        stderr(&out)
    );
    // A form field named as the web form's own token field could never be answered there.
    let csrf = serde_json::json!({
        "name": "csrf", "workspace": WS,
        "steps": [{ "id": "ask", "interaction": { "title": "t",
            "form": { "fields": [{ "name": "csrf", "type": "text", "required": true }] },
            "access": { "workspace_users": { "emails": [OWNER] } } } }]
    });
    let out = env.run(&env.write("csrf.json", &csrf.to_string()));
    assert!(
        stderr(&out).contains("`csrf` is the web form's own field"),
        "{}",
        stderr(&out)
    );
}

/// `runs show --json` of the first run (the one that failed), as the Owner.
fn doc_failed_run(env: &Env) -> Value {
    let id: String = crate::common::db_at(&env.db)
        .conn()
        .query_row("SELECT public_id FROM runs ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .expect("a run");
    let shown = env.cli(&["runs", "show", &id, "--json", "--as", OWNER]);
    serde_json::from_slice(&shown.stdout).expect("json")
}

/// A run's exit output is at most 16 MiB of JSON (SPEC ST-4), and a listing of runs carries
/// no outputs: a 66 MB exit output was stored per run, and one GET of a page of runs parsed
/// a hundred of them (hostile-input review). The run fails naming the bound; `runs show`
/// still gives a run's output, and `runs list` gives none.
#[test]
fn an_exit_output_is_bounded_and_listings_carry_no_outputs() {
    let env = Env::new();
    let big = "x".repeat(200_000);
    let refs = vec!["$.vars.x"; 90];
    let definition = serde_json::json!({
        "name": "big", "workspace": WS, "vars": { "x": big },
        "steps": [{ "id": "end", "exit": { "status": "done", "output": refs } }]
    });
    let out = env.run(&env.write("big.json", &definition.to_string()));
    no_panic(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("run --json prints JSON");
    assert_eq!(doc["status"], "failed", "{doc}");
    let error = doc["error"].as_str().expect("error");
    assert!(
        error.contains("step `end`") && error.contains("more than 16777216 bytes"),
        "{error}"
    );
    let small = serde_json::json!({
        "name": "small", "workspace": WS,
        "steps": [{ "id": "end", "exit": { "status": "done", "output": { "verdict": "ok" } } }]
    });
    let out = env.run(&env.write("small.json", &small.to_string()));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let run = doc["run_id"].as_str().expect("run id").to_owned();
    let shown = env.cli(&["runs", "show", &run, "--json", "--as", OWNER]);
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["run"]["output"]["verdict"], "ok", "{shown}");
    // One run's `output` is there when it has none too (`null`), as clients read it.
    let failed = doc_failed_run(&env);
    assert!(
        failed["run"].get("output").is_some_and(Value::is_null),
        "{failed}"
    );
    let listed = env.cli(&["runs", "list", "--json", "--as", OWNER]);
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("json");
    let runs = listed.as_array().expect("an array");
    assert_eq!(runs.len(), 2, "{listed}");
    assert!(runs.iter().all(|r| r.get("output").is_none()), "{listed}");
}

/// Issue 14 item 10: `validate` printed nothing for a missing, unreadable or non-UTF-8 file.
#[test]
fn validate_names_a_file_it_cannot_read_and_why() {
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("latin1.json"),
        b"{\"name\": \"caf\xe9\"}",
    )
    .expect("write");
    std::fs::create_dir(env.dir.path().join("a-dir.json")).expect("dir");
    let out = env.cli(&["validate", "missing.json", "latin1.json", "a-dir.json"]);
    no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cannot read missing.json: No such file"),
        "{err}"
    );
    assert!(
        err.contains("cannot read latin1.json: stream did not contain valid UTF-8"),
        "{err}"
    );
    assert!(err.contains("cannot read a-dir.json:"), "{err}");
}

/// Issue 14 item 10: `cases query --text` over ~50 kB failed with "internal error: LIKE or
/// GLOB pattern too complex". The text is compared as a substring, without LIKE.
#[test]
fn case_text_queries_of_any_length_are_substring_matches() {
    let env = Env::new();
    for (title, description) in [
        ("Phish 100% _real_", "mail"),
        ("other", "a 100% match"),
        ("unrelated", "nothing"),
    ] {
        let out = env.cli(&[
            "cases",
            "create",
            "--title",
            title,
            "--description",
            description,
            "--severity",
            "low",
            "--workspace",
            WS,
            "--as",
            OWNER,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let query = |text: &str| -> Vec<String> {
        let out = env.cli(&[
            "cases",
            "query",
            "--text",
            text,
            "--workspace",
            WS,
            "--as",
            OWNER,
            "--json",
        ]);
        no_panic(&out);
        assert!(out.status.success(), "{}", stderr(&out));
        let page: Value = serde_json::from_slice(&out.stdout).expect("json");
        let mut titles: Vec<String> = page["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .map(|c| c["title"].as_str().expect("title").to_owned())
            .collect();
        titles.sort();
        titles
    };
    assert_eq!(query("100%"), ["Phish 100% _real_", "other"]);
    assert_eq!(query("PHISH 100% _R"), ["Phish 100% _real_"]);
    assert_eq!(query("1_0"), Vec::<String>::new(), "`_` is not a wildcard");
    assert_eq!(query(&"x".repeat(1024)), Vec::<String>::new());
    // Past its cap (SPEC ST-4) a text filter is refused by name, never an internal error.
    let long = "x".repeat(60_000);
    let out = env.cli(&[
        "cases",
        "query",
        "--text",
        &long,
        "--workspace",
        WS,
        "--as",
        OWNER,
    ]);
    no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("the cap is 1024") && !err.contains("internal"),
        "{err}"
    );
}

/// Issue 14 item 10: locating each error rescanned the file, so a tenant with 2,000
/// workspaces with errors took 20-30 s to report them. The text is indexed once; this
/// checks that every one of 10,000 errors points at its own value.
#[test]
fn every_error_of_a_ten_thousand_workspace_tenant_is_located() {
    let workspaces: Vec<Value> = (0..10_000)
        .map(|i| {
            json!({
                "name": format!("ws-{i}"),
                "members": [
                    { "email": format!("owner{i}@example.test"), "role": "owner" },
                    { "email": format!("m{i}@example.test"), "role": format!("no-such-role-{i}") }
                ]
            })
        })
        .collect();
    let text = serde_json::to_string_pretty(&json!({
        "organization": "big",
        "workspaces": workspaces
    }))
    .expect("json");
    let errors = match flowhost::tenant::TenantFile::parse("big.json", &text) {
        Ok(_) => panic!("unknown roles must be refused"),
        Err(errors) => errors,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut located = 0;
    for e in &errors {
        let Some(i) = e
            .path
            .strip_prefix("workspaces[")
            .and_then(|rest| rest.strip_suffix("].members[1].role"))
        else {
            continue;
        };
        let at: String = lines[e.line - 1].chars().skip(e.column - 1).collect();
        assert!(
            at.starts_with(&format!("\"no-such-role-{i}\"")),
            "{e}: {at}"
        );
        located += 1;
    }
    assert_eq!(located, 10_000, "{}", errors.len());
}

/// Issue 14 item 9: a stored event whose payload no longer parsed was read as `null` and
/// marked dispatched, so the trigger that should have acted on it never fired. A stored
/// value that does not parse is an error naming its column, and the event stays pending.
#[test]
fn an_unreadable_stored_event_is_an_error_not_a_null_payload() {
    let env = Env::new();
    {
        let conn = rusqlite::Connection::open(&env.db).expect("db");
        // Written past the cap, as an older version (or another program) could have.
        let payload = format!(r#"{{"case": {}}}"#, nested(130, "1"));
        conn.execute(
            "INSERT INTO events (workspace, kind, payload, source, public_id) VALUES (?1, 'case_created', ?2, 'test', 'E-00000000000000AA')",
            rusqlite::params![WS, payload],
        )
        .expect("insert");
    }
    let out = env.cli(&["triggers", "dispatch", "--workspace", WS, "--as", OWNER]);
    no_panic(&out);
    // Not passed over as a null payload, and not a stuck queue either: it is quarantined with
    // the reason (see `hostile_runs::stuck_events`), never dispatched.
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(&env.db).expect("db");
    let (dispatched, why): (i64, String) = conn
        .query_row(
            "SELECT dispatched, quarantined FROM events WHERE source = 'test'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("event");
    assert_eq!(dispatched, 0, "never dispatched");
    assert!(
        why.contains("stored events.payload is not readable JSON"),
        "{why}"
    );
}

/// A file argument that never ends (`/dev/zero`) or is far too big is refused by size,
/// naming the file; a secret's content is never quoted. Nothing is stored.
#[test]
fn endless_or_oversized_files_are_refused_by_size_not_read_forever() {
    let env = Env::new();
    let before = env.ok(&["runs", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    for args in [
        vec!["validate", "/dev/zero"],
        vec!["run", "/dev/zero", "--as", OPERATOR],
        vec!["tenant", "apply", "/dev/zero", "--as", OWNER],
        vec![
            "runs",
            "list",
            "--workspace",
            "mssp-soc",
            "--key-file",
            "/dev/zero",
        ],
    ] {
        let out = env.cli(&args);
        no_panic(&out);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("/dev/zero") && err.contains("larger than"),
            "{args:?}: {err}"
        );
    }
    let secret = "s".repeat(5000);
    env.write("secret.txt", &secret);
    let out = env.cli(&[
        "sso",
        "oidc",
        "set",
        "--idp",
        "okta",
        "--issuer",
        "https://idp.example.com",
        "--client-id",
        "flowhost",
        "--client-secret-file",
        "secret.txt",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    no_panic(&out);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("larger than") && !err.contains("sss"), "{err}");
    assert_eq!(
        env.ok(&["runs", "list", "--workspace", "mssp-soc", "--as", OWNER]),
        before
    );
}

/// A definition naming a device or a FIFO as its nested workflow is refused, naming it (the
/// read of a file swapped for one after this check is refused too: `regular_file`'s tests).
#[test]
fn a_nested_workflow_that_is_not_a_regular_file_is_refused_not_waited_for() {
    let env = Env::new();
    let fifo = env.dir.path().join("child.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for (file, child) in [
        ("via-fifo.json", "child.json"),
        ("via-zero.json", "/dev/zero"),
    ] {
        env.write(
            file,
            &json!({
                "name": "outer", "workspace": "mssp-soc",
                "steps": [ { "id": "nested", "workflow": child } ]
            })
            .to_string(),
        );
        let out = env.cli(&["validate", file]);
        no_panic(&out);
        assert!(!out.status.success(), "{file}");
        let err = stderr(&out);
        assert!(
            err.contains(child) && err.contains("not a regular file"),
            "{file}: {err}"
        );
    }
}

/// A file an editor saved "UTF-8 with BOM" is refused naming the byte order mark at 1:1,
/// where serde_json's "expected value" named nothing its writer could see (round 30
/// hostile-input review): a tenant file, a definition, an `@FILE` argument. The same text
/// without it is read.
#[test]
fn a_document_starting_with_a_byte_order_mark_is_refused_naming_it() {
    let env = Env::new();
    let definition = json!({ "name": "bom", "workspace": WS, "steps": [] }).to_string();
    let tenant = json!({ "organization": "bom-org", "workspaces": [{
        "name": "bom-ws", "members": [{ "email": OWNER, "role": "owner" }] }] })
    .to_string();
    let event = r#"{"kind": "probe"}"#;
    for (name, text) in [
        ("def.json", definition.as_str()),
        ("tenant.json", tenant.as_str()),
        ("event.json", event),
    ] {
        env.write(name, &format!("\u{feff}{text}"));
        env.write(&format!("plain-{name}"), text);
    }
    let refused = |out: &Output, at: &str| {
        no_panic(out);
        assert!(!out.status.success(), "{at}");
        let err = stderr(out);
        assert!(
            err.contains("byte order mark (U+FEFF)") && err.contains(at),
            "{at}: {err}"
        );
    };
    refused(&env.cli(&["validate", "def.json"]), "def.json:1:1");
    refused(
        &env.cli(&["tenant", "apply", "tenant.json", "--as", OWNER]),
        "tenant.json:1:1",
    );
    refused(
        &env.cli(&[
            "run",
            "plain-def.json",
            "--as",
            OPERATOR,
            "--event",
            "@event.json",
        ]),
        "line 1, column 1",
    );
    let out = env.cli(&["validate", "plain-def.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.cli(&[
        "run",
        "plain-def.json",
        "--as",
        OPERATOR,
        "--event",
        "@plain-event.json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}
