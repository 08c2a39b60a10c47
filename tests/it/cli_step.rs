//! `flowhost step run` as a real process against a real database file.

use crate::common;

use common::{ECHO, HOSTILE, NOTIFY, flowhost};

/// The example tenant applied to database `db`.
fn tenant_applied(dir: &std::path::Path, db: &std::path::Path) {
    let tenant = common::example_tenant_path();
    let tenant = tenant.to_str().expect("utf-8");
    let out = flowhost(dir, db, &["tenant", "apply", tenant, "--bootstrap"]);
    assert!(out.status.success());
}

#[test]
fn step_run_prints_json_and_stores_logs_and_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state/flowhost.db");
    tenant_applied(dir.path(), &db);
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

/// `flowhost step run COMPONENT --input INPUT --json` as the example tenant's operator, on a
/// database in `dir` with the tenant applied.
fn step_run_as_operator<'a>(
    dir: &'a std::path::Path,
    component: &'a str,
) -> impl Fn(&str) -> std::process::Output + 'a {
    let db = dir.join("flowhost.db");
    tenant_applied(dir, &db);
    move |input: &str| {
        flowhost(
            dir,
            &db,
            &[
                "step",
                "run",
                component,
                "--input",
                input,
                "--workspace",
                "mssp-soc",
                "--as",
                "omar.operator@acme-mssp.test",
                "--json",
            ],
        )
    }
}

/// What a command said, on either stream.
fn said(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
}

/// A Rust step's input record given as an array is refused, as the host and the other SDKs
/// refuse one: serde read it field by field, `["a@acme.test", "hello"]` as a notification
/// (round 27 self-review).
#[test]
fn a_rust_steps_input_record_given_as_an_array_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let step = step_run_as_operator(dir.path(), NOTIFY);
    let out = step(r#"[["a@acme.test"], "hello"]"#);
    assert!(!out.status.success());
    let said = said(&out);
    assert!(
        said.contains("invalid") && said.contains("sequence"),
        "{said}"
    );
    let out = step(r#"{"to": ["a@acme.test"], "subject": "hello"}"#);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Rust SDK reads a record from an object only at any depth, and everything else as
/// serde reads it: a nested record given as an array was read field by field, and an
/// `Option`, an enum or a newtype input was refused as "invalid type: map" (round 28 input
/// review of round 27's decoder).
#[test]
fn a_rust_steps_nested_records_are_read_from_objects_only_and_enums_as_serde_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let step = step_run_as_operator(dir.path(), common::CASE_PROBE);
    let out = step(r#"{"flows_only": true, "shape": {"target": ["ip", "1.2.3.4"]}}"#);
    assert!(!out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("input.shape.target") && said(&out).contains("sequence"),
        "{}",
        said(&out)
    );
    let out = step(
        r#"{"flows_only": true, "shape": {"target": {"kind": "ip"}, "mode": ["Lookup", {"ip": "x"}]}}"#,
    );
    assert!(
        !out.status.success(),
        "an enum is an object: {}",
        said(&out)
    );
    let out = step(
        r#"{"flows_only": true, "shape": {"target": {"kind": "ip", "value": "1.2.3.4"},
            "mode": {"Lookup": {"ip": "1.2.3.4"}}, "tag": "phishing"}}"#,
    );
    assert!(out.status.success(), "{}", said(&out));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let output = if shown.get("output").is_some() {
        &shown["output"]
    } else {
        &shown
    };
    assert_eq!(
        output["shape"],
        serde_json::json!({ "target": { "kind": "ip", "value": "1.2.3.4" },
            "mode": { "Lookup": { "ip": "1.2.3.4" } }, "tag": "phishing" })
    );
    let out = step(
        r#"{"flows_only": true, "shape": {"target": {"kind": "ip"}, "mode": {"Lookup": ["1.2.3.4"]}}}"#,
    );
    assert!(
        !out.status.success(),
        "a struct variant is a record too: {}",
        said(&out)
    );
    let out = step(
        r#"{"flows_only": true, "shape": {"target": {"kind": "ip"}, "mode": {"Batch": ["a", "b"]}}}"#,
    );
    assert!(out.status.success(), "{}", said(&out));
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
    tenant_applied(dir.path(), &db);
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

/// `n` as unsigned LEB128, appended to `out`.
fn leb(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A section of id `id` holding `payload`, appended to `out`.
fn section(id: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(id);
    leb(u32::try_from(payload.len()).expect("small"), out);
    out.extend_from_slice(payload);
}

/// A component made to be costly to compile: one function, a loop over `branches` `if`s
/// with `locals` locals live across all of them (the register allocator's work grows with
/// their product: 20,000 × 2,000 is 315 KB that took 13 s of CPU and 870 MB to compile in a
/// debug build). It exports nothing, so once compiled it is refused as no step.
fn costly_to_compile(branches: u32, locals: u32) -> Vec<u8> {
    let mut body = Vec::new();
    leb(1, &mut body);
    leb(locals, &mut body);
    body.push(0x7f); // i32
    body.extend([0x03, 0x40]); // loop
    for i in 0..branches {
        let (a, b, c) = (i % locals, (i * 7 + 3) % locals, (i * 13 + 5) % locals);
        for (op, local) in [(0x20, a), (0x20, b)] {
            body.push(op); // local.get
            leb(local, &mut body);
        }
        body.push(0x6a); // i32.add
        body.push(0x21); // local.set c
        leb(c, &mut body);
        body.push(0x20); // local.get c; if; end
        leb(c, &mut body);
        body.extend([0x04, 0x40, 0x0b]);
    }
    body.extend([0x20, 0x00, 0x0d, 0x00, 0x0b, 0x0b]); // br_if 0 on local 0; end; end
    let mut code = Vec::new();
    leb(1, &mut code);
    leb(u32::try_from(body.len()).expect("small"), &mut code);
    code.extend(body);
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[0x01, 0x60, 0x00, 0x00], &mut module); // one type: [] -> []
    section(3, &[0x01, 0x00], &mut module); // one function of it
    section(10, &code, &mut module);
    let mut component = b"\0asm\x0d\0\x01\0".to_vec();
    section(1, &module, &mut component); // a core module
    component
}

/// A component costly to compile is compiled in a child process of the host under limits of
/// CPU time and memory (`wasm/compiler.rs`): past them the step fails, naming the limit and
/// the file, and the host carries on (it used to compile with its own memory: a few MB more
/// of such a component took the machine's memory and the host with it).
#[test]
fn a_component_costly_to_compile_is_refused_at_the_compilers_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state/flowhost.db");
    let bomb = dir.path().join("bomb.wasm");
    std::fs::write(&bomb, costly_to_compile(20_000, 2_000)).expect("write");
    let bomb_arg = bomb.to_str().expect("utf-8");
    let step_run = |env: (&str, &str), step: &str| {
        std::process::Command::new(common::flowhost_bin())
            .env(env.0, env.1)
            .current_dir(dir.path())
            .arg("--db")
            .arg(common::db_arg(&db))
            .args(["step", "run", step])
            .output()
            .expect("flowhost runs")
    };
    for (limit, expected) in [
        (
            ("FLOWHOST_COMPILE_CPU_SECONDS", "1"),
            "compiling it takes more than 1 s of CPU",
        ),
        (
            ("FLOWHOST_COMPILE_MEMORY_MB", "128"),
            "compiling it takes more than 128 MiB of memory",
        ),
    ] {
        let out = step_run(limit, bomb_arg);
        let text = common::text(&out);
        assert_eq!(out.status.code(), Some(2), "{limit:?}: {text}");
        assert!(text.contains(expected), "{limit:?}: {text}");
        assert!(text.contains("bomb.wasm"), "{text}");
    }
    // A limit that is not a number is refused, naming it, before anything runs.
    let out = step_run(("FLOWHOST_COMPILE_CPU_SECONDS", "soon"), bomb_arg);
    let text = common::text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("FLOWHOST_COMPILE_CPU_SECONDS=\"soon\""),
        "{text}"
    );
    // Within the limits such a component compiles (in the child): only its missing export
    // is refused.
    let small = dir.path().join("small.wasm");
    std::fs::write(&small, costly_to_compile(200, 20)).expect("write");
    let out = step_run(
        ("FLOWHOST_COMPILE_CPU_SECONDS", "60"),
        small.to_str().expect("utf-8"),
    );
    let text = common::text(&out);
    assert!(
        text.contains("not a `flowhost:step/step` component"),
        "{text}"
    );
    // And a real step, compiled in the child, runs in the host.
    let out = std::process::Command::new(common::flowhost_bin())
        .current_dir(dir.path())
        .arg("--db")
        .arg(common::db_arg(&db))
        .args([
            "step",
            "run",
            ECHO,
            "--input",
            r#"{"compiled":"elsewhere"}"#,
        ])
        .output()
        .expect("flowhost runs");
    let text = common::text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\"elsewhere\""), "{text}");
}

/// A component whose types nest two million deep fails its step, and only its step: the
/// host read every component type to count resources (`wasm/module_shape.rs`), wasmparser
/// reads nested types by recursion, and 6 MB of them overflowed the host's stack, every
/// process that loaded it dying with it (round 30 hostile-step review; SPEC ST-2). They are
/// read in the compiling child now, under its limits, which fails alone.
#[test]
fn a_component_whose_types_nest_millions_deep_fails_its_step_not_the_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state/flowhost.db");
    let mut types = vec![0x01]; // one type:
    for _ in 0..2_000_000 {
        types.extend([0x42, 0x01, 0x01]); // an instance type declaring one type,
    }
    types.extend([0x42, 0x00]); // the innermost declaring nothing
    let mut component = b"\0asm\x0d\0\x01\0".to_vec();
    section(7, &types, &mut component); // the component type section
    let deep = dir.path().join("deep.wasm");
    std::fs::write(&deep, component).expect("write");
    let out = std::process::Command::new(common::flowhost_bin())
        .current_dir(dir.path())
        .arg("--db")
        .arg(common::db_arg(&db))
        .args(["step", "run", deep.to_str().expect("utf-8")])
        .output()
        .expect("flowhost runs");
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(2), "an exit, not a signal: {text}");
    assert!(text.contains("deep.wasm"), "{text}");
    assert!(text.contains("the compiler failed on it"), "{text}");
}

/// A step run outside any workflow that asked the host for cases publishes no events: no run
/// records what it read, so whom its events (which may quote restricted cases) reach could
/// not be decided (SPEC CS-2; leak review). They are named on stderr; nothing is stored.
#[test]
fn a_step_run_that_read_cases_publishes_no_events() {
    let d = common::Deployment::new();
    d.ok(&[
        "cases",
        "create",
        "--workspace",
        "mssp-soc",
        "--title",
        "Board phished",
        "--severity",
        "high",
        "--as",
        "olivia.owner@acme-mssp.test",
    ]);
    let out = d.cli(&[
        "step",
        "run",
        HOSTILE,
        "--input",
        r#"{"attack":"read_then_emit"}"#,
        "--workspace",
        "mssp-soc",
        "--as",
        "olivia.owner@acme-mssp.test",
    ]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 event(s) not published (hostile.found)"),
        "{err}"
    );
    // Still shown, to the person running it, marked as not published, and never as the
    // execution's events in its JSON (round 19 steps review).
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("event (not published) hostile.found"),
        "{out:?}"
    );
    let json = d.ok(&[
        "step",
        "run",
        HOSTILE,
        "--input",
        r#"{"attack":"read_then_emit"}"#,
        "--workspace",
        "mssp-soc",
        "--as",
        "olivia.owner@acme-mssp.test",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("one JSON document");
    assert_eq!(doc["events"], serde_json::json!([]), "{doc}");
    assert_eq!(doc["withheld_events"][0]["kind"], "hostile.found", "{doc}");
    let events: i64 = common::db_at(&d.db)
        .conn()
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'hostile.found'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(events, 0);
}

/// A tool installed in the project (`npm install` there, as the hint says; a `.venv`) is on
/// the build's `PATH`, and a tool named by its path is the shell's to find: both were "not
/// installed", the hint repeated (round 21 steps review). A tool named bare and found
/// nowhere is still named with how to get it.
#[test]
fn step_build_finds_tools_installed_in_the_project() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("p");
    let bin = project.join("node_modules/.bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    // Stand-ins for the toolchain: esbuild does nothing, componentize-qjs writes a component.
    let tools = [
        ("esbuild", "#!/bin/sh\nexit 0\n".to_owned()),
        (
            "componentize-qjs",
            format!("#!/bin/sh\ncp '{ECHO}' out.wasm\n"),
        ),
    ];
    for (name, script) in &tools {
        let path = bin.join(name);
        std::fs::write(&path, script).expect("tool");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // Built from the project's parent, named by a relative path (round 21 self-review: the
    // project's tool directories were put on `PATH` relative to where the build runs).
    let build = |command: &str| {
        std::fs::write(
            project.join("step.toml"),
            format!(
                "name = \"p\"\nlanguage = \"ts\"\nbuild = {command:?}\noutput = \"out.wasm\"\ngrants = []\n"
            ),
        )
        .expect("manifest");
        let _ = std::fs::remove_file(project.join("out.wasm"));
        std::process::Command::new(common::flowhost_bin())
            .current_dir(dir.path())
            .arg("--db")
            .arg(dir.path().join("f.db"))
            .args(["step", "build", "p", "--force"])
            .env("FLOWHOST_TOOLCHAINS", dir.path().join("none"))
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("runs")
    };
    for command in [
        "esbuild src/step.ts && componentize-qjs dist/step.js",
        "./node_modules/.bin/esbuild x && ./node_modules/.bin/componentize-qjs y",
    ] {
        let out = build(command);
        assert!(out.status.success(), "{command}: {}", common::text(&out));
    }
    std::fs::remove_dir_all(project.join("node_modules")).expect("rm");
    let out = build("esbuild src/step.ts && componentize-qjs dist/step.js");
    assert!(!out.status.success());
    assert!(
        common::text(&out).contains("`esbuild` is not installed"),
        "{}",
        common::text(&out)
    );
}
