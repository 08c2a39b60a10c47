//! `flowhost step test` with mocks (issue 17): a Rust step's host calls answered by the mocks
//! its test cases declare, through the real `flowhost` binary and the real host. The sample
//! `restrict-cases` (query, then update each case's restrictions) is tested as a step project
//! whose `output` is the component build.rs built. Python and TypeScript steps with mocks are
//! in `polyglot.rs`.

use std::path::{Path, PathBuf};

use crate::common::{self, RESTRICT_CASES, flowhost};
use serde_json::{Value, json};

/// A step project in `dir` for the built restrict-cases component, with `tests` as its
/// `step.test.json` and `grants`.
fn project(dir: &Path, tests: &Value, grants: &str) -> PathBuf {
    let project = dir.join("restrict-cases");
    std::fs::create_dir_all(&project).expect("mkdir");
    let manifest = format!(
        "name = \"restrict-cases\"\nlanguage = \"rust\"\nbuild = \"false\"\n\
         output = {:?}\ngrants = {grants}\n",
        RESTRICT_CASES
    );
    std::fs::write(project.join("step.toml"), manifest).expect("manifest");
    write_tests(&project, tests);
    project
}

fn write_tests(project: &Path, tests: &Value) {
    let text = serde_json::to_string_pretty(tests).expect("json");
    std::fs::write(project.join("step.test.json"), text).expect("tests");
}

/// Runs `flowhost step test --no-build`; (succeeded, stdout and stderr).
fn step_test(project: &Path) -> (bool, String) {
    let out = flowhost(
        project,
        &project.join(".flowhost/f.db"),
        &["step", "test", "--no-build"],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// [`step_test`] of restrict-cases (granted `cases:read` and `cases:write`) with `tests`, its
/// tenant fixture `tenant.json` holding `tenant`.
fn step_test_with_tenant(dir: &Path, tests: &Value, tenant: &Value) -> (bool, String) {
    let project = project(dir, tests, "[\"cases:read\", \"cases:write\"]");
    std::fs::write(project.join("tenant.json"), tenant.to_string()).expect("tenant fixture");
    step_test(&project)
}

fn page(ids: &[&str]) -> Value {
    let cases: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "id": id, "title": format!("case {id}"), "severity": "high" }))
        .collect();
    json!({ "cases": cases, "next_cursor": null })
}

/// The query restrict-cases makes for open, full-access, high cases (first page).
fn query_mock(ids: &[&str]) -> Value {
    json!({
        "call": "cases.query-cases",
        "args": { "query": { "filter": { "severity": "high", "state": "open",
                                         "access_mode": "full_access" },
                             "cursor": null } },
        "returns": page(ids)
    })
}

fn update_mock(args: Option<Value>) -> Value {
    // Written in mixed case, answered as the host answers every email: lower-cased (the
    // expected outputs below say so; steps and projects review).
    let mut mock = json!({
        "call": "cases.update-case-restrictions",
        "returns": { "access_mode": "restricted", "collaborators": ["Sam.Lead@ACME-mssp.test"] }
    });
    if let Some(args) = args {
        mock["args"] = args;
    }
    mock
}

fn input() -> Value {
    json!({ "collaborators": ["Sam.Lead@acme-mssp.test"] })
}

#[test]
fn a_rust_step_passes_its_cases_with_every_host_call_mocked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tests = json!({
        "as": "omar.operator@acme-mssp.test",
        "tests": [
            {
                "name": "restricts what the query finds",
                "input": input(),
                "mocks": [query_mock(&["C-1", "C-2"]), update_mock(None)],
                "expect": {
                    "output": { "restricted": ["C-1", "C-2"],
                                "collaborators": ["sam.lead@acme-mssp.test"] },
                    "logs": [{ "level": "info", "message": "restricted 2 open high case(s)" }],
                    // Emails in arguments compare ignoring case, as the host compares them.
                    "calls": [
                        { "call": "cases.query-cases" },
                        { "call": "cases.update-case-restrictions",
                          "args": { "case_id": "C-1",
                                    "update": { "access_mode": "restricted",
                                                "set_collaborators": ["sam.lead@ACME-MSSP.test"] } } },
                        { "call": "cases.update-case-restrictions", "args": { "case_id": "C-2" } }
                    ]
                }
            },
            {
                "name": "a host error from a mock fails the step with it",
                "input": input(),
                "mocks": [
                    query_mock(&["C-7"]),
                    { "call": "cases.update-case-restrictions",
                      "error": { "kind": "not-found", "message": "no case C-7" } }
                ],
                "expect": { "error": "host call failed: not found: no case C-7" }
            },
            {
                "name": "file-level mocks answer too, after the case's own",
                "input": input(),
                "expect": { "output": { "restricted": [], "collaborators": [] } }
            }
        ],
        "mocks": [query_mock(&[])]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    let (ok, text) = step_test(&project);
    assert!(ok, "{text}");
    assert!(text.contains("3 passed, 0 failed"), "{text}");

    // The same cases without `cases:write` (SPEC WF-6): the grants hold in front of the
    // mocks, so the update is denied before any mock sees it.
    let project = self::project(dir.path(), &tests, "[\"cases:read\"]");
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("1 passed, 2 failed"), "{text}");
    assert!(
        text.contains("does not grant this step `cases:write`"),
        "{text}"
    );
}

/// A mock no call took (of a call the step never makes, or whose `args` match nothing) is a
/// failure: the case passed on another answer while it claimed to test this one (round 19
/// steps review; `flowhost test` fails such a mock alike). The file's mocks fail only if no
/// case took them.
#[test]
fn a_mock_no_call_took_fails_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tests = json!({
        "as": "omar.operator@acme-mssp.test",
        "tests": [{
            "name": "restricts what the query finds",
            "input": input(),
            "mocks": [
                query_mock(&["C-1"]),
                update_mock(None),
                { "call": "cases.get-case-restrictions",
                  "returns": { "access_mode": "full_access", "collaborators": [] } },
                update_mock(Some(json!({ "case_id": "C-9" })))
            ],
            "expect": { "output": { "restricted": ["C-1"],
                                    "collaborators": ["sam.lead@acme-mssp.test"] } }
        }],
        "mocks": [{ "call": "events.emit" }]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    for needle in [
        "at tests[0].mocks[2]",
        "a call of `cases.get-case-restrictions`",
        "at tests[0].mocks[3]",
        r#"matching {"case_id":"C-9"}"#,
        "no call the step made took it",
        "at mocks[0]",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!text.contains("at tests[0].mocks[1]"), "{text}");
}

#[test]
fn a_call_no_mock_answers_fails_the_case_naming_the_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The step fails on the refused call just as the case expects, yet the case fails: a
    // call nobody answered is a failure whatever the step did with its error.
    let tests = json!({
        "as": "omar.operator@acme-mssp.test",
        "tests": [{
            "name": "no mock for the update",
            "input": input(),
            "mocks": [query_mock(&["C-1"])],
            "expect": { "error": "no mock answers cases.update-case-restrictions" }
        }]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("0 passed, 1 failed"), "{text}");
    assert!(text.contains("at tests[0].mocks"), "{text}");
    assert!(
        text.contains("expected: a mock of `cases.update-case-restrictions`"),
        "{text}"
    );
    assert!(
        text.contains(r#"cases.update-case-restrictions({"case_id":"C-1""#),
        "{text}"
    );
    assert!(text.contains("was called and no mock answers it"), "{text}");
}

#[test]
fn a_mock_whose_arguments_differ_does_not_answer_and_the_case_says_which() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tests = json!({
        "as": "omar.operator@acme-mssp.test",
        "tests": [{
            "name": "the update is mocked for another case",
            "input": input(),
            "mocks": [query_mock(&["C-1"]), update_mock(Some(json!({ "case_id": "C-9" })))],
            "expect": { "output": { "restricted": ["C-1"],
                                    "collaborators": ["sam.lead@acme-mssp.test"] } }
        }]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("0 passed, 1 failed"), "{text}");
    assert!(
        text.contains(r#"tests[0].mocks[1] wants args {"case_id":"C-9"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"cases.update-case-restrictions({"case_id":"C-1""#),
        "{text}"
    );
    // The step saw the refusal as a host error, so the output differs too.
    assert!(text.contains("at tests[0].expect.output"), "{text}");

    // A wrong `expect.calls` is a failure that shows the calls made.
    let tests = json!({
        "as": "omar.operator@acme-mssp.test",
        "tests": [{
            "name": "expects a call that was not made",
            "input": input(),
            "mocks": [query_mock(&[])],
            "expect": { "calls": [{ "call": "cases.query-cases" },
                                  { "call": "events.emit" }] }
        }]
    });
    write_tests(&project, &tests);
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("at tests[0].expect.calls"), "{text}");
    assert!(
        text.contains("[cases.query-cases(..), events.emit(..)]"),
        "{text}"
    );
}

#[test]
fn unmocked_calls_can_fall_through_to_the_seeded_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = common::example_tenant_path();
    let tests = json!({
        "tenant": tenant.display().to_string(),
        "cases": "cases.json",
        "workspace": "mssp-soc",
        "as": "olivia.owner@acme-mssp.test",
        "unmocked": "database",
        "tests": [{
            // The query is mocked to find C-1 only; the update really happens, on the
            // throwaway database, which normalizes the email.
            "name": "the query mocked, the update against the database",
            "input": input(),
            "mocks": [query_mock(&["C-1"])],
            "expect": { "output": { "restricted": ["C-1"],
                                    "collaborators": ["sam.lead@acme-mssp.test"] } }
        }, {
            "name": "a case that says `fail` refuses what its mocks do not answer",
            "input": input(),
            "unmocked": "fail",
            "mocks": [query_mock(&["C-2"])],
            "expect": { "error": "no mock answers cases.update-case-restrictions" }
        }]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    std::fs::write(
        project.join("cases.json"),
        json!({ "as": "olivia.owner@acme-mssp.test",
                "cases": [{ "title": "Phishing", "severity": "high" },
                          { "title": "Malware", "severity": "high" }] })
        .to_string(),
    )
    .expect("cases fixture");
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("ok    the query mocked"), "{text}");
    assert!(text.contains("1 passed, 1 failed"), "{text}");
    assert!(text.contains("FAIL  a case that says `fail`"), "{text}");

    // A workspace the fixture lacks is refused before anything runs: every call was an
    // outsider's, so a test expecting `denied` passed for that reason (round 14).
    let mut typo = tests.clone();
    typo["workspace"] = json!("mssp-sco");
    typo["tests"] =
        json!([{ "name": "denied", "input": input(), "expect": { "error": "denied" } }]);
    write_tests(&project, &typo);
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(
        text.contains("`workspace` `mssp-sco` is not in the tenant fixture"),
        "{text}"
    );
    // So is a person the fixture does not make a member: every call was an outsider's too
    // (round 15 review).
    let mut stranger = tests.clone();
    stranger["tests"] = json!([{ "name": "denied", "as": "olivia.ownr@acme-mssp.test",
        "input": input(), "expect": { "error": "denied" } }]);
    write_tests(&project, &stranger);
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(
        text.contains("tests[0].as")
            && text.contains("a member of `mssp-soc` in the tenant fixture"),
        "{text}"
    );
    // Nor does a file without a tenant fixture pass a call the (empty) database answered:
    // every one was an outsider's, refused, so `denied` passed whatever the step did (round
    // 23 steps review).
    let mut no_tenant = tests.clone();
    no_tenant.as_object_mut().expect("object").remove("tenant");
    no_tenant.as_object_mut().expect("object").remove("cases");
    no_tenant["tests"] =
        json!([{ "name": "denied", "input": input(), "expect": { "error": "denied" } }]);
    write_tests(&project, &no_tenant);
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("a `tenant` fixture"), "{text}");
    // And a member of an SSO-only workspace who is not break-glass: a local sign-in there
    // is refused by every call, so `denied` passed whatever the step or the role (round 16
    // steps review). The break-glass Owner runs the same test.
    let mut sso_only = tests.clone();
    sso_only["workspace"] = json!("customer-globex");
    sso_only.as_object_mut().expect("object").remove("cases");
    sso_only["tests"] = json!([{ "name": "denied", "as": "gary.admin@globex.test",
        "input": input(), "expect": { "error": "denied" } }]);
    write_tests(&project, &sso_only);
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(
        text.contains("tests[0].as") && text.contains("SSO-only"),
        "{text}"
    );
    // Its update reaches the (empty) database as the Owner, not refused: no such case.
    sso_only["tests"] = json!([{ "name": "runs", "as": "olivia.owner@acme-mssp.test",
        "input": input(), "mocks": [query_mock(&["C-1"])],
        "expect": { "error": "there is no case `C-1`" } }]);
    write_tests(&project, &sso_only);
    let (ok, text) = step_test(&project);
    assert!(ok, "{text}");
}

/// Each test runs on a database of its own, seeded from the fixtures: one test's writes
/// reached the tests after it, and the same test passed first and failed second (steps and
/// projects review).
#[test]
fn each_test_starts_from_the_fixtures_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = common::example_tenant_path();
    let same = json!({
        "name": "restricts both open high cases",
        "input": input(),
        "expect": { "output": { "restricted": ["C-1", "C-2"],
                                "collaborators": ["sam.lead@acme-mssp.test"] } }
    });
    let tests = json!({
        "tenant": tenant.display().to_string(),
        "cases": "cases.json",
        "workspace": "mssp-soc",
        "as": "olivia.owner@acme-mssp.test",
        "unmocked": "database",
        "tests": [same, same]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    std::fs::write(
        project.join("cases.json"),
        json!({ "as": "olivia.owner@acme-mssp.test",
                "cases": [{ "title": "Phishing", "severity": "high" },
                          { "title": "Malware", "severity": "high" }] })
        .to_string(),
    )
    .expect("cases fixture");
    let (ok, text) = step_test(&project);
    assert!(ok, "{text}");
    assert!(text.contains("2 passed, 0 failed"), "{text}");
}

#[test]
fn a_bad_mock_is_refused_before_anything_runs_naming_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tests = json!({
        "as": "omar.operator@acme-mssp.test",
        "tests": [{
            "name": "typo",
            "input": input(),
            "mocks": [{ "call": "cases.query-case", "returns": page(&[]) }],
            "expect": { "output": null }
        }]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\"]");
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("step.test.json:"), "{text}");
    assert!(
        text.contains("unknown host call `cases.query-case`"),
        "{text}"
    );
    assert!(!text.contains("passed"), "{text}");
    // No test at all tests nothing: refused, not `0 passed` (round 14).
    write_tests(
        &project,
        &json!({ "as": "omar.operator@acme-mssp.test", "tests": [] }),
    );
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(
        text.contains("`tests` is empty; nothing was tested"),
        "{text}"
    );
}

/// An expectation that names nothing to check passed any step that succeeded; it is refused
/// before anything runs, naming where (steps and projects review), as is an empty failure
/// fragment, which every failure contains.
#[test]
fn an_expectation_of_nothing_is_refused_naming_where() {
    for (expect, says) in [
        (json!({}), "names nothing to check"),
        (json!({ "logs": [] }), "names nothing to check"),
        (json!({ "error": "" }), "an empty `error`"),
        (
            json!({ "output": { "ok": true }, "error": "denied" }),
            "`output` and `error` both given",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let tests = json!({
            "as": "omar.operator@acme-mssp.test",
            "tests": [
                { "name": "fine", "input": input(), "expect": { "events": [] } },
                { "name": "nothing", "input": input(), "expect": expect }
            ]
        });
        let project = project(dir.path(), &tests, "[\"cases:read\"]");
        let (ok, text) = step_test(&project);
        assert!(!ok, "{text}");
        assert!(text.contains("tests[1].expect"), "{text}");
        assert!(text.contains(says), "{text}");
        assert!(!text.contains("passed"), "{text}");
    }
}

/// An email a mock answers that the host would never answer (not an address) is refused
/// before anything runs, naming it.
#[test]
fn a_mock_answering_a_bad_email_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tests = json!({
        "as": "omar.operator@acme-mssp.test",
        "tests": [{
            "name": "bad email",
            "input": input(),
            "mocks": [query_mock(&["C-1"]),
                      { "call": "cases.update-case-restrictions",
                        "returns": { "access_mode": "restricted", "collaborators": ["not an email"] } }],
            "expect": { "output": null }
        }]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("not an email"), "{text}");
    assert!(!text.contains("passed"), "{text}");
}

/// A fixture's cases keep the ids of their order whatever their access mode: a restricted one
/// is made, then restricted, since a case created restricted takes an opaque id that no test
/// could name (round 16 self-review).
#[test]
fn a_fixtures_cases_keep_the_ids_of_their_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = common::example_tenant_path();
    let tests = json!({
        "tenant": tenant.display().to_string(),
        "cases": "cases.json",
        "workspace": "mssp-soc",
        "as": "olivia.owner@acme-mssp.test",
        "unmocked": "database",
        "tests": [{
            "name": "restricts the open high full-access cases, the first and the third",
            "input": input(),
            "expect": { "output": { "restricted": ["C-1", "C-3"],
                                    "collaborators": ["sam.lead@acme-mssp.test"] } }
        }]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    std::fs::write(
        project.join("cases.json"),
        json!({ "as": "olivia.owner@acme-mssp.test",
                "cases": [{ "title": "Phishing", "severity": "high" },
                          { "title": "Secret", "severity": "high", "access_mode": "restricted" },
                          { "title": "Malware", "severity": "high" }] })
        .to_string(),
    )
    .expect("cases fixture");
    let (ok, text) = step_test(&project);
    assert!(ok, "{text}");
}

/// `step build` runs the project's build without the caller's cargo settings: with their
/// `CARGO_TARGET_DIR` a Rust step's component landed where `output` does not look (the build
/// "left no component"), or an old one there was loaded as fresh (round 18 review).
#[test]
fn a_step_build_takes_none_of_the_callers_cargo_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("settings");
    std::fs::create_dir_all(&project).expect("mkdir");
    // The build copies the component only when it sees no cargo setting of the caller's.
    let build = format!(
        "test -z \\\"$CARGO_TARGET_DIR$RUSTFLAGS$CARGO_BUILD_TARGET\\\" && cp '{}' out.wasm",
        RESTRICT_CASES
    );
    std::fs::write(
        project.join("step.toml"),
        format!(
            "name = \"settings\"\nlanguage = \"rust\"\nbuild = \"{build}\"\n\
             output = \"out.wasm\"\ngrants = []\n"
        ),
    )
    .expect("manifest");
    let out = std::process::Command::new(common::flowhost_bin())
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", dir.path().join("elsewhere"))
        .env("RUSTFLAGS", "-C target-cpu=native")
        .arg("--db")
        .arg(common::db_arg(&project.join(".flowhost/f.db")))
        .args(["step", "build", "--force"])
        .output()
        .expect("flowhost runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(project.join("out.wasm").is_file(), "{text}");
}

/// A build that exits 0 without writing `output` fails: the previous build's component was
/// taken as this one's (and recorded as fresh), so `step test` passed whatever the new source
/// did (round 25 steps review: a cargo config's `build.target-dir` does it). And a relative
/// `FLOWHOST_TOOLCHAINS` names the same tools from the project, where the build runs.
#[test]
fn a_build_that_writes_no_component_fails_and_a_relative_toolchain_dir_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("stale");
    std::fs::create_dir_all(&project).expect("mkdir");
    let manifest = |build: &str| {
        std::fs::write(
            project.join("step.toml"),
            format!(
                "name = \"stale\"\nlanguage = \"python\"\nbuild = \"{build}\"\n\
                 output = \"out.wasm\"\ngrants = []\n"
            ),
        )
        .expect("manifest");
    };
    // A stand-in `componentize-py` in a toolchain directory named relative to where flowhost
    // runs (the directory above the project), run by its bare name from the project.
    let tools = dir.path().join("tc/python/bin");
    std::fs::create_dir_all(&tools).expect("tools");
    let tool = tools.join("componentize-py");
    std::fs::write(
        &tool,
        format!("#!/bin/sh\ncp '{RESTRICT_CASES}' out.wasm\n"),
    )
    .expect("tool");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let build = || {
        let out = std::process::Command::new(common::flowhost_bin())
            .current_dir(dir.path())
            .env("FLOWHOST_TOOLCHAINS", "tc")
            .arg("--db")
            .arg(common::db_arg(&dir.path().join(".flowhost/f.db")))
            .args(["step", "build", "stale", "--force"])
            .output()
            .expect("flowhost runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    manifest("componentize-py");
    let (built, text) = build();
    assert!(built, "{text}");
    assert!(project.join("out.wasm").is_file(), "{text}");
    manifest("true");
    let (built, text) = build();
    assert!(
        !built,
        "the last build's component taken as this one's: {text}"
    );
    assert!(text.contains("left no component"), "{text}");
}

/// With a tenant fixture, its access rules decide before any mock answers: a mock of an
/// update answered for a viewer what every real run as them is denied (round 21 steps
/// review); the same mocks answer for a person who may make the call.
#[test]
fn a_mock_answers_only_what_the_fixtures_person_may_ask() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = json!({ "organization": "acme", "workspaces": [{ "name": "mssp-soc",
        "members": [
            { "email": "olivia.owner@acme-mssp.test", "role": "owner" },
            { "email": "vic.viewer@acme-mssp.test", "role": "viewer" },
            { "email": "sam.lead@acme-mssp.test", "role": "contributor" } ] }] });
    let case = |who: &str| {
        json!({
            "name": format!("as {who}"),
            "as": who,
            "input": input(),
            "mocks": [query_mock(&["C-1"]), update_mock(None)],
            "expect": { "output": { "restricted": ["C-1"],
                                    "collaborators": ["sam.lead@acme-mssp.test"] } }
        })
    };
    let tests = json!({
        "tenant": "tenant.json",
        "workspace": "mssp-soc",
        "as": "olivia.owner@acme-mssp.test",
        "tests": [case("olivia.owner@acme-mssp.test"), case("vic.viewer@acme-mssp.test")]
    });
    let (ok, text) = step_test_with_tenant(dir.path(), &tests, &tenant);
    assert!(!ok, "{text}");
    assert!(text.contains("1 passed, 1 failed"), "{text}");
    assert!(text.contains("ok    as olivia.owner"), "{text}");
    assert!(text.contains("case.write"), "{text}");
}

/// A mocked page holds no more cases than the host answers for its query: restrict-cases asks
/// for pages of 100, and a mock of 101 cases passed where no real run sees one (round 21
/// steps review).
#[test]
fn a_mocked_page_larger_than_the_host_answers_fails_the_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids: Vec<String> = (1..=101).map(|i| format!("C-{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let tests = json!({
        "as": "omar.operator@acme-mssp.test",
        "tests": [{
            "name": "a page of 101",
            "input": input(),
            "mocks": [query_mock(&ids), update_mock(None)],
            "expect": { "output": { "restricted": ids,
                                    "collaborators": ["sam.lead@acme-mssp.test"] } }
        }]
    });
    let project = project(dir.path(), &tests, "[\"cases:read\", \"cases:write\"]");
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(
        text.contains("a mock answered 101 cases to a query whose page holds at most 100"),
        "{text}"
    );
}

/// A mocked `check-flow-access` answers only a question its test's person may ask: a viewer
/// asking about another person is told it is withheld, as every real run tells them, before
/// any mock answers (round 22 steps review: the mock's "allowed" passed the test).
#[test]
fn a_mocked_flow_question_is_answered_only_when_the_person_may_ask_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("probe");
    std::fs::create_dir_all(&project).expect("mkdir");
    let manifest = format!(
        "name = \"probe\"\nlanguage = \"rust\"\nbuild = \"false\"\n\
         output = {:?}\ngrants = [\"access:check\"]\n",
        common::CASE_PROBE
    );
    std::fs::write(project.join("step.toml"), manifest).expect("manifest");
    let tenant = json!({ "organization": "acme", "workspaces": [{ "name": "mssp-soc",
        "members": [
            { "email": "olivia.owner@acme-mssp.test", "role": "owner" },
            { "email": "vic.viewer@acme-mssp.test", "role": "viewer" } ] }] });
    std::fs::write(project.join("tenant.json"), tenant.to_string()).expect("tenant fixture");
    let case = |who: &str| {
        json!({
            "name": format!("as {who}"),
            "as": who,
            "input": { "flows_only": true,
                       "flow_checks": [["triage", "olivia.owner@acme-mssp.test"]] },
            "mocks": [{ "call": "access.check-flow-access",
                        "returns": { "allowed": true, "reason": "mocked" } }],
            "expect": { "output": { "created": [], "listed": [], "found": [], "not_found": [],
                "flow_access": [{ "flow": "triage", "email": "olivia.owner@acme-mssp.test",
                                  "allowed": true, "reason": "mocked" }] } }
        })
    };
    let tests = json!({
        "tenant": "tenant.json",
        "workspace": "mssp-soc",
        "as": "olivia.owner@acme-mssp.test",
        "tests": [case("olivia.owner@acme-mssp.test"), case("vic.viewer@acme-mssp.test")]
    });
    write_tests(&project, &tests);
    let (ok, text) = step_test(&project);
    assert!(!ok, "{text}");
    assert!(text.contains("1 passed, 1 failed"), "{text}");
    assert!(text.contains("ok    as olivia.owner"), "{text}");
}

/// With a tenant fixture, a mocked update naming someone who is no member of the workspace is
/// refused as the host refuses it (SPEC CS-5), before any mock answers: it passed, and every
/// real run of the step failed (round 24 steps review); a member passes.
#[test]
fn a_mocked_update_naming_a_stranger_fails_as_the_host_fails_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = json!({ "organization": "acme", "workspaces": [{ "name": "mssp-soc",
        "members": [
            { "email": "olivia.owner@acme-mssp.test", "role": "owner" },
            { "email": "sam.lead@acme-mssp.test", "role": "contributor" } ] }] });
    let case = |name: &str, who: &str| {
        json!({
            "name": name,
            "input": { "collaborators": [who] },
            "mocks": [
                query_mock(&["C-1"]),
                { "call": "cases.update-case-restrictions",
                  "returns": { "access_mode": "restricted", "collaborators": [who] } }
            ],
            "expect": { "output": { "restricted": ["C-1"], "collaborators": [who] } }
        })
    };
    // A case that expects the refusal passes with its mocks: the call was made, the mock it
    // matched counts as used (round 25 self-review kept it so).
    let mut refused = case("a stranger, expected", "stranger@evil.test");
    refused["expect"] = json!({ "error": "is not a member" });
    let tests = json!({
        "tenant": "tenant.json",
        "workspace": "mssp-soc",
        "as": "olivia.owner@acme-mssp.test",
        "tests": [case("a member", "sam.lead@acme-mssp.test"),
                  case("a stranger", "stranger@evil.test"), refused]
    });
    let (ok, text) = step_test_with_tenant(dir.path(), &tests, &tenant);
    assert!(!ok, "{text}");
    assert!(text.contains("2 passed, 1 failed"), "{text}");
    assert!(text.contains("ok    a member"), "{text}");
    assert!(text.contains("ok    a stranger, expected"), "{text}");
    assert!(text.contains("is not a member of workspace"), "{text}");
}

/// A mocked page holding a restricted case the test's person is never shown fails the call,
/// as the host would never answer it; an Owner (who bypasses restrictions) and a
/// collaborator it names are answered (SPEC CS-2; round 25 steps review).
#[test]
fn a_mocked_page_holds_only_cases_the_tests_person_is_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = json!({ "organization": "acme", "workspaces": [{ "name": "mssp-soc",
        "members": [
            { "email": "olivia.owner@acme-mssp.test", "role": "owner" },
            { "email": "vic.viewer@acme-mssp.test", "role": "viewer" },
            { "email": "sam.lead@acme-mssp.test", "role": "contributor" } ] }] });
    let sam = "sam.lead@acme-mssp.test";
    let restricted = json!({ "cases": [{ "id": "C-1", "title": "t", "severity": "high",
        "access_mode": "restricted", "collaborators": [sam] }], "next_cursor": null });
    let case = |name: &str, who: &str| {
        json!({
            "name": name,
            "as": who,
            "input": { "collaborators": [sam], "limit": 1 },
            "mocks": [{ "call": "cases.query-cases", "returns": restricted },
                      { "call": "cases.update-case-restrictions",
                        "returns": { "access_mode": "restricted", "collaborators": [sam] } }],
            "expect": { "output": { "restricted": ["C-1"], "collaborators": [sam] } }
        })
    };
    let tests = json!({
        "tenant": "tenant.json",
        "workspace": "mssp-soc",
        "as": "olivia.owner@acme-mssp.test",
        "tests": [case("an owner", "olivia.owner@acme-mssp.test"),
                  case("a collaborator", "sam.lead@acme-mssp.test"),
                  case("a viewer", "vic.viewer@acme-mssp.test")]
    });
    let (ok, text) = step_test_with_tenant(dir.path(), &tests, &tenant);
    assert!(!ok, "{text}");
    assert!(text.contains("2 passed, 1 failed"), "{text}");
    assert!(
        text.contains("ok    an owner") && text.contains("ok    a collaborator"),
        "{text}"
    );
    assert!(text.contains("is never shown it"), "{text}");
}
