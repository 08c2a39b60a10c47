//! Issue 19: how often a run commits. A pure step's journal entry rides in the run's next
//! write (SPEC WF-8, `workflow/pending.rs`); before a step with an effect it rides in that
//! step's own transaction (`carry.rs`), so the outputs the effect may depend on and the
//! effect commit together. Counted with `Platform::commits` on a real database file.

use std::sync::Arc;

use flowhost::platform::Platform;
use flowhost::principal::{Email, Principal};
use flowhost::workflow::{Engine, Quiet, Resolver, RunOutcome, parse};
use serde_json::{Value, json};

use crate::common::{ECHO, TRANSFORM, example_tenant_path, runtime};

const OWNER: &str = "olivia.owner@acme-mssp.test";

struct Setup {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    platform: Arc<Platform>,
    engine: Engine,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let platform = Arc::new(Platform::new(crate::common::db_at(&db)).expect("platform"));
    let text = std::fs::read_to_string(example_tenant_path()).expect("tenant");
    let file = flowhost::tenant::TenantFile::parse("tenant", &text).expect("tenant");
    flowhost::tenant::apply(&platform, &file, None).expect("apply");
    let engine = Engine::new(platform.clone(), Arc::new(runtime()), vec![]);
    Setup {
        _dir: dir,
        db,
        platform,
        engine,
    }
}

/// Runs `definition` as the Owner; returns the outcome and the commits it made.
fn run(s: &Setup, definition: &Value) -> (RunOutcome, u64) {
    let text = definition.to_string();
    let wf = parse("test", &text, &Resolver::default()).expect("valid");
    let owner = Principal::local(Email::parse(OWNER).expect("email"));
    let before = s.platform.commits();
    let outcome = s
        .engine
        .run_manual(&wf, &text, "test", owner, json!({}), &Quiet)
        .expect("run");
    (outcome, s.platform.commits() - before)
}

fn journal(s: &Setup) -> Vec<(String, String)> {
    let db = crate::common::db_at(&s.db);
    let mut stmt = db
        .conn()
        .prepare("SELECT step_key, status FROM run_steps ORDER BY run_id, seq")
        .expect("journal");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("journal")
        .collect::<Result<_, _>>()
        .expect("journal")
}

fn pair(key: &str, status: &str) -> (String, String) {
    (key.to_owned(), status.to_owned())
}

#[test]
fn the_three_step_run_commits_three_times_its_pure_steps_riding_with_the_case() {
    let s = setup();
    let (outcome, commits) = run(
        &s,
        &json!({ "name": "three", "workspace": "mssp-soc", "steps": [
            { "id": "normalize", "uses": TRANSFORM, "with": { "indicators": ["10.0.0.1", "evil.example"] } },
            { "id": "echo", "uses": ECHO, "with": { "ips": "$.steps.normalize.ips" } },
            { "id": "open", "uses": "cases/create-case", "with": { "title": "t {{ $.steps.echo.ips[0] }}", "severity": "low" } }
        ] }),
    );
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    // Its start; the case with the two pure steps' entries; its end with the case step's.
    assert_eq!(
        commits, 3,
        "was 4 while pure entries committed on their own"
    );
    assert_eq!(
        journal(&s),
        [
            pair("normalize", "succeeded"),
            pair("echo", "succeeded"),
            pair("open", "succeeded")
        ]
    );
}

#[test]
fn a_run_of_pure_steps_commits_at_its_start_and_its_end() {
    let s = setup();
    let (outcome, commits) = run(
        &s,
        &json!({ "name": "pure", "workspace": "mssp-soc", "steps": [
            { "id": "a", "uses": ECHO, "with": { "n": 1 } },
            { "id": "b", "uses": ECHO, "with": { "n": 2 } }
        ] }),
    );
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(commits, 2);
}

/// A step with an effect that commits nothing (refused before its write) leaves the entries
/// before it pending; they commit with the run's end, beside its own failure.
#[test]
fn entries_aboard_a_step_that_writes_nothing_commit_with_the_runs_end() {
    let s = setup();
    let (outcome, commits) = run(
        &s,
        &json!({ "name": "refused", "workspace": "mssp-soc", "steps": [
            { "id": "a", "uses": ECHO, "with": { "n": 1 } },
            // A severity the step reads from another's output: refused when the run reads it
            // (one written so is refused where the definition is written).
            { "id": "open", "uses": "cases/create-case", "with": { "title": "t", "severity": "$.steps.a.n" } }
        ] }),
    );
    assert!(outcome.error.is_some(), "the case step must fail");
    assert_eq!(
        commits, 2,
        "its start and its end: the refused write committed nothing"
    );
    assert_eq!(
        journal(&s),
        [pair("a", "succeeded"), pair("open", "failed")]
    );
    let db = crate::common::db_at(&s.db);
    let cases: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
        .expect("count");
    assert_eq!(cases, 0);
}

/// Another connection's commits (another process's) are not counted.
#[test]
fn the_commit_count_is_the_connections_own() {
    let s = setup();
    let db = crate::common::db_at(&s.db);
    let before = s.platform.commits();
    db.conn()
        .execute_batch("BEGIN IMMEDIATE; CREATE TABLE other (x); COMMIT;")
        .expect("other connection");
    assert_eq!(s.platform.commits(), before);
}

/// A component step that may write is never carried: its pure predecessors commit before it
/// starts, so their entries are not written inside its deadline (SPEC ST-4) and a failure to
/// write them is not its own host call's error. (Carried, this run made 2 commits.)
#[test]
fn pending_entries_commit_before_a_component_step_that_may_write() {
    let s = setup();
    let (outcome, commits) = run(
        &s,
        &json!({ "name": "component-write", "workspace": "mssp-soc", "steps": [
            { "id": "a", "uses": ECHO, "with": { "n": 1 } },
            { "id": "b", "uses": ECHO, "grants": ["cases:write"], "with": { "n": 2 } }
        ] }),
    );
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    // Its start; `a` settled before `b`; its end with `b`'s entry.
    assert_eq!(commits, 3);
    assert_eq!(
        journal(&s),
        [pair("a", "succeeded"), pair("b", "succeeded")]
    );
}

#[test]
fn runs_in_flight_share_commits_and_each_lands_whole() {
    // Issue 19, group commit: eight runs at once in one process commit fewer than three
    // times a run between them, and every run ends with its case and its whole journal.
    let s = setup();
    let text = json!({ "name": "three", "workspace": "mssp-soc", "steps": [
        { "id": "normalize", "uses": TRANSFORM, "with": { "indicators": ["10.0.0.1"] } },
        { "id": "echo", "uses": ECHO, "with": { "ips": "$.steps.normalize.ips" } },
        { "id": "open", "uses": "cases/create-case", "with": { "title": "t {{ $.steps.echo.ips[0] }}", "severity": "low" } }
    ] })
    .to_string();
    let wf = parse("test", &text, &Resolver::default()).expect("valid");
    let owner = Principal::local(Email::parse(OWNER).expect("email"));
    let (threads, each) = (8, 10);
    let before = s.platform.commits();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..each {
                    let outcome = s
                        .engine
                        .run_manual(&wf, &text, "test", owner.clone(), json!({}), &Quiet)
                        .expect("run");
                    assert!(outcome.error.is_none(), "{:?}", outcome.error);
                }
            });
        }
    });
    let runs = threads * each;
    let commits = s.platform.commits() - before;
    assert!(
        commits < 3 * runs,
        "{commits} commits for {runs} runs in flight: no commit was shared"
    );
    let journal = journal(&s);
    for key in ["normalize", "echo", "open"] {
        let done = journal
            .iter()
            .filter(|(k, st)| k == key && st == "succeeded")
            .count();
        assert_eq!(
            u64::try_from(done).ok(),
            Some(runs),
            "journal entries of `{key}`"
        );
    }
    let db = crate::common::db_at(&s.db);
    let cases: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
        .expect("cases");
    assert_eq!(u64::try_from(cases).ok(), Some(runs), "one case a run");
}
