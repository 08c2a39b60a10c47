//! Issue 14, SPEC WF-11: several processes on one database file. Writers wait for the write
//! lock instead of failing; independent access changes all go through; a new database opened
//! by several processes at once is migrated once; `serve --once` drains what is pending; a run
//! the database fails under stops resumable; and several `serve` processes beside CLI writers
//! start exactly one run per event and finish every run.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{example_tenant_path, flowhost, flowhost_bin, flowhost_ok};
use flowhost::platform::Platform;
use flowhost::principal::{Caller, Email, Principal};
use flowhost::runs::RunStatus;
use flowhost::services::CaseApi;
use flowhost::services::cases::{NewCase, Severity};
use flowhost::store::Db;
use flowhost::testing::Internals;
use flowhost::wasm::{EngineSettings, StepRuntime};
use flowhost::workflow::{Engine, Quiet, Resolver, parse};
use rusqlite::TransactionBehavior;
use serde_json::json;

const OWNER: &str = "olivia.owner@acme-mssp.test";
const WS: &str = "mssp-soc";

/// A temporary directory with the example tenant applied to `flowhost.db` in it.
fn applied() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let tenant = example_tenant_path();
    flowhost_ok(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
    (dir, db)
}

fn spawn(dir: &Path, db: &Path, args: &[String]) -> Child {
    Command::new(flowhost_bin())
        .current_dir(dir)
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowhost starts")
}

/// Starts every command at once, then waits for all of them.
fn all_at_once(dir: &Path, db: &Path, commands: &[Vec<String>]) -> Vec<Output> {
    let children: Vec<Child> = commands.iter().map(|c| spawn(dir, db, c)).collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect()
}

/// Asserts that every output is a success, naming the failures.
fn all_succeeded(what: &str, outputs: &[Output]) {
    let failures: Vec<String> = outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.status.success())
        .map(|(i, o)| format!("#{i}: {}", String::from_utf8_lossy(&o.stderr).trim()))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} {what} failed:\n{}",
        failures.len(),
        outputs.len(),
        failures.join("\n")
    );
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn query<T: flowhost::store::sql::FromSql>(db: &Path, sql: &str) -> Vec<T> {
    let db = Db::open(db).expect("db");
    let mut stmt = db.conn().prepare(sql).expect(sql);
    stmt.query_map([], |r| r.get(0))
        .expect(sql)
        .collect::<Result<_, _>>()
        .expect(sql)
}

fn count(db: &Path, sql: &str) -> i64 {
    query::<i64>(db, sql).first().copied().unwrap_or_default()
}

fn owner() -> Principal {
    Principal::local(Email::parse(OWNER).expect("email"))
}

fn new_case(title: &str, severity: Severity) -> NewCase {
    serde_json::from_value(json!({ "title": title, "severity": severity }))
        .expect("a valid new case")
}

/// Creates `n` cases of `severity` through the library (one process, quick).
fn create_cases(db: &Path, n: usize, severity: Severity) {
    let platform = Platform::new(Db::open(db).expect("db")).expect("platform");
    let caller = Caller {
        workspace: WS.into(),
        principal: owner(),
        cause: None,
        step: None,
    };
    for i in 0..n {
        platform
            .create_case(&caller, new_case(&format!("case {i}"), severity))
            .expect("created");
    }
}

/// The library workflow that restricts every new critical case (a built-in step).
fn restrict_critical() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workflows/restrict-critical-on-create.json")
        .display()
        .to_string()
}

#[test]
fn ten_concurrent_restriction_updates_all_succeed() {
    let (dir, db) = applied();
    create_cases(&db, 10, Severity::High);
    let commands: Vec<Vec<String>> = (1..=10)
        .map(|i| {
            args(&[
                "cases",
                "update-restrictions",
                &format!("C-{i}"),
                "--access-mode",
                "restricted",
                "--set-collaborators",
                "sam.lead@acme-mssp.test",
                "--workspace",
                WS,
                "--as",
                OWNER,
            ])
        })
        .collect();
    all_succeeded(
        "restriction updates",
        &all_at_once(dir.path(), &db, &commands),
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE restricted = 1"),
        10
    );
}

#[test]
fn ten_concurrent_runs_all_succeed() {
    let (dir, db) = applied();
    let workflow = json!({ "name": "open-and-lock", "workspace": WS, "steps": [
        { "id": "open", "uses": "cases/create-case", "with": { "title": "from a run", "severity": "low" } },
        { "id": "look", "uses": "cases/get-case-restrictions", "with": { "case_id": "$.steps.open.id" } },
        { "id": "lock", "uses": "cases/update-case-restrictions",
          "with": { "case_id": "$.steps.open.id", "access_mode": "restricted" } }
    ] });
    let file = dir.path().join("open-and-lock.json");
    std::fs::write(&file, workflow.to_string()).expect("write");
    let file = file.display().to_string();
    let commands: Vec<Vec<String>> = (0..10)
        .map(|_| args(&["run", &file, "--as", OWNER]))
        .collect();
    all_succeeded("runs", &all_at_once(dir.path(), &db, &commands));
    let statuses: Vec<String> = query(&db, "SELECT status FROM runs ORDER BY id");
    assert_eq!(statuses, vec!["succeeded".to_owned(); 10]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE restricted = 1"),
        10,
        "each run's effect happened once"
    );
}

#[test]
fn eight_processes_opening_a_new_database_at_once_all_succeed() {
    for round in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("new").join("flowhost.db");
        // A step run opens the database (migrating it) and writes its execution record.
        let commands: Vec<Vec<String>> = (0..8)
            .map(|_| args(&["step", "run", common::ECHO, "--input", "{}"]))
            .collect();
        let outputs = all_at_once(dir.path(), &db, &commands);
        all_succeeded(&format!("first opens (round {round})"), &outputs);
        let db = Db::open(&db).expect("migrated");
        assert_eq!(
            db.schema_version().expect("version"),
            Db::open_in_memory()
                .expect("memory")
                .schema_version()
                .expect("version"),
        );
    }
}

#[test]
fn simultaneous_independent_access_changes_all_go_through() {
    let (dir, db) = applied();
    // Five people signing in through SSO at once (SPEC SSO-2, GR-3).
    let logins: Vec<Vec<String>> = (0..5)
        .map(|i| {
            let claims =
                json!({ "email": format!("sso{i}@acme-mssp.test"), "groups": ["soc-analysts"] });
            args(&[
                "sso",
                "login",
                "--idp",
                "acme-okta",
                "--claims",
                &claims.to_string(),
            ])
        })
        .collect();
    all_succeeded("SSO logins", &all_at_once(dir.path(), &db, &logins));
    // Thirty invitations at once, each of a different person.
    let invites: Vec<Vec<String>> = (0..30)
        .map(|i| {
            args(&[
                "users",
                "invite",
                &format!("invited{i}@acme-mssp.test"),
                "--role",
                "viewer",
                "--workspace",
                WS,
                "--as",
                OWNER,
            ])
        })
        .collect();
    all_succeeded("invitations", &all_at_once(dir.path(), &db, &invites));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM users u JOIN memberships m ON m.user_id = u.id \
             WHERE u.email LIKE 'invited%' AND m.role = 'viewer'"
        ),
        30
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT u.email) FROM users u JOIN memberships m ON m.user_id = u.id \
             WHERE u.email LIKE 'sso%'"
        ),
        5
    );
}

#[test]
fn serve_once_drains_every_pending_event_past_a_batch_that_starts_nothing() {
    let (dir, db) = applied();
    let file = restrict_critical();
    flowhost_ok(
        dir.path(),
        &db,
        &["workflows", "publish", &file, "--as", OWNER],
    );
    // 70 events that start nothing (low cases), then one that starts a run.
    create_cases(&db, 70, Severity::Low);
    create_cases(&db, 1, Severity::Critical);
    flowhost_ok(dir.path(), &db, &["serve", "--once"]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM events WHERE dispatched = 0"),
        0,
        "nothing left pending"
    );
    let runs: Vec<String> = query(&db, "SELECT status FROM runs");
    assert_eq!(
        runs,
        vec!["succeeded".to_owned()],
        "the critical case's run"
    );
}

#[test]
fn serve_once_exits_non_zero_when_every_claim_fails() {
    let (dir, db) = applied();
    create_cases(&db, 1, Severity::Low);
    // Claiming an event leases its runs to this process, through a lock file in `leases/`
    // beside the database: a plain file in its place makes every claim fail.
    let leases = dir.path().join("leases");
    let _ = std::fs::remove_dir_all(&leases);
    std::fs::write(&leases, "not a directory").expect("block the lease directory");
    let out = flowhost(dir.path(), &db, &["serve", "--once"]);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("still pending"), "{stderr}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM events WHERE dispatched = 0"),
        1,
        "the event is still pending"
    );
}

/// Holds the database's write lock from another connection for `hold`, from the moment a run
/// has been recorded (so the run starts, and one of its later writes meets the lock).
fn hold_write_lock_once_a_run_exists(db: &Path, hold: Duration) -> std::thread::JoinHandle<()> {
    let db = db.to_owned();
    std::thread::spawn(move || {
        let mut conn = rusqlite::Connection::open(&db).expect("open");
        conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
        let started = Instant::now();
        loop {
            let runs: i64 = conn
                .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
                .expect("count runs");
            if runs > 0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no run started"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("the write lock");
        std::thread::sleep(hold);
        tx.rollback().expect("release");
    })
}

#[test]
fn a_run_whose_write_meets_a_busy_database_stops_resumable_and_resumes_once() {
    let (dir, db) = applied();
    let store = Db::open(&db).expect("db");
    // Give up on the lock quickly, so the test need not outwait the real timeout.
    store
        .conn()
        .sqlite()
        .expect("SQLite")
        .busy_timeout(Duration::from_millis(100))
        .expect("timeout");
    let platform = Arc::new(Platform::new(store).expect("platform"));
    let runtime = Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
    let engine = Engine::new(platform, runtime, vec![]);
    let text = json!({ "name": "open-later", "workspace": WS, "steps": [
        { "id": "pause", "wait": "400ms" },
        { "id": "open", "uses": "cases/create-case", "with": { "title": "once", "severity": "low" } }
    ] })
    .to_string();
    let workflow = parse("open-later.json", &text, &Resolver::default()).expect("valid");

    // The lock is taken once the run is recorded, and held past the step after the wait.
    let holder = hold_write_lock_once_a_run_exists(&db, Duration::from_millis(1200));
    let outcome = engine
        .run_manual(
            &workflow,
            &text,
            "open-later.json",
            owner(),
            json!({}),
            &Quiet,
        )
        .expect("started");
    holder.join().expect("holder");
    assert_eq!(outcome.status, RunStatus::Running, "{:?}", outcome.error);
    let error = outcome.error.unwrap_or_default();
    assert!(error.contains("resumable"), "{error}");
    let (run, shown) = (outcome.run_key, outcome.run_id.to_string());
    assert_eq!(
        query::<String>(&db, &format!("SELECT status FROM runs WHERE id = {run}")),
        vec!["running".to_owned()],
        "not failed"
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM run_steps WHERE run_id = {run} AND status = 'failed'")
        ),
        0,
        "no step recorded as failed"
    );

    // `runs resume` takes it up once this process is gone (its lease goes with it) and
    // finishes it; the case exists once.
    drop(engine);
    flowhost_ok(dir.path(), &db, &["runs", "resume", &shown, "--as", OWNER]);
    assert_eq!(
        query::<String>(&db, &format!("SELECT status FROM runs WHERE id = {run}")),
        vec!["succeeded".to_owned()]
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE title = 'once'"),
        1
    );
}

#[test]
fn several_serve_processes_and_cli_writers_start_one_run_per_event_and_finish_every_run() {
    let (dir, db) = applied();
    let file = restrict_critical();
    flowhost_ok(
        dir.path(),
        &db,
        &["workflows", "publish", &file, "--as", OWNER],
    );
    let started = Instant::now();
    let serves: Vec<Child> = (0..3)
        .map(|_| {
            spawn(
                dir.path(),
                &db,
                &args(&["serve", "--poll-ms", "50", "--concurrency", "4"]),
            )
        })
        .collect();
    // CLI writers beside them: new critical cases (each an event that starts a run) and
    // restriction updates of earlier cases (events that start nothing), 4 writers at a time.
    let mut writers: Vec<Vec<String>> = Vec::new();
    for i in 0..24 {
        writers.push(args(&[
            "cases",
            "create",
            "--title",
            &format!("incident {i}"),
            "--severity",
            "critical",
            "--workspace",
            WS,
            "--as",
            OWNER,
        ]));
        if i >= 4 {
            writers.push(args(&[
                "cases",
                "update-restrictions",
                &format!("C-{}", i - 3),
                "--add",
                "sam.lead@acme-mssp.test",
                "--workspace",
                WS,
                "--as",
                OWNER,
            ]));
        }
    }
    for batch in writers.chunks(4) {
        all_succeeded("CLI writes", &all_at_once(dir.path(), &db, batch));
    }
    // Every event dispatched, every run ended.
    loop {
        let pending = count(&db, "SELECT count(*) FROM events WHERE dispatched = 0");
        let running = count(
            &db,
            "SELECT count(*) FROM runs WHERE status NOT IN ('succeeded', 'failed')",
        );
        if pending == 0 && running == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{pending} event(s) pending and {running} run(s) unfinished after 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for serve in &serves {
        let _ = Command::new("kill")
            .args(["-TERM", &serve.id().to_string()])
            .status();
    }
    for serve in serves {
        let out = serve.wait_with_output().expect("serve exits");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("error"), "{stderr}");
    }
    // Exactly one run per case_created event of a critical case, each succeeded.
    let created = count(
        &db,
        "SELECT count(*) FROM events WHERE kind = 'case_created'",
    );
    assert_eq!(created, 24);
    let per_event: Vec<i64> = query(
        &db,
        "SELECT (SELECT count(*) FROM runs r WHERE r.trigger_event = e.id) FROM events e \
         WHERE e.kind = 'case_created' ORDER BY e.id",
    );
    assert_eq!(per_event, vec![1; 24], "one run per event");
    let statuses: Vec<String> = query(&db, "SELECT status FROM runs ORDER BY id");
    assert_eq!(
        statuses,
        vec!["succeeded".to_owned(); 24],
        "every run succeeded"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM cases WHERE severity = 3 AND restricted = 1"
        ),
        24,
        "every critical case restricted by its run"
    );
}

/// A platform on `db` whose waits for another process's write lock give up after 100 ms, a
/// runtime with the component at `path` loaded, and the Owner's caller in the workspace.
fn busy_in_100ms(
    db: &Path,
    path: &str,
) -> (
    Arc<Platform>,
    StepRuntime,
    Arc<flowhost::wasm::LoadedStep>,
    Caller,
) {
    let store = Db::open(db).expect("db");
    store
        .conn()
        .sqlite()
        .expect("SQLite")
        .busy_timeout(Duration::from_millis(100))
        .expect("timeout");
    let platform = Arc::new(Platform::new(store).expect("platform"));
    let runtime = StepRuntime::new(&EngineSettings::default(), None).expect("runtime");
    let step = runtime.load(Path::new(path)).expect("component loads");
    let caller = Caller {
        workspace: WS.into(),
        principal: owner(),
        cause: None,
        step: None,
    };
    (platform, runtime, step, caller)
}

#[test]
fn a_wasm_steps_host_call_that_meets_a_busy_database_is_noticed_whatever_the_step_makes_of_it() {
    let (_dir, db) = applied();
    create_cases(&db, 2, Severity::High);
    let (platform, runtime, step, caller) = busy_in_100ms(&db, common::RESTRICT_CASES);
    let input = json!({ "collaborators": ["sam.lead@acme-mssp.test"], "severity": "high" });

    // Another process holds the write lock: the step's reads go through (WAL), its update
    // cannot. The services note it, so the engine stops the run resumable (SPEC WF-11).
    let mut holder = rusqlite::Connection::open(&db).expect("open");
    let lock = holder
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("the write lock");
    let (services, watch) = flowhost::services::HostServices::of(platform.clone()).watched();
    let exec = runtime.execute(
        &step,
        &input,
        caller.clone(),
        services,
        flowhost::wasm::StepLimits::default(),
    );
    let noticed = watch.failure().expect("the busy database was noticed");
    assert!(noticed.contains("unavailable"), "{noticed}");
    assert!(
        exec.result.is_err(),
        "the step saw an error: {:?}",
        exec.result
    );
    drop(lock);

    // With the lock free, nothing is noticed and the step does its work.
    let (services, watch) = flowhost::services::HostServices::of(platform).watched();
    let exec = runtime.execute(
        &step,
        &input,
        caller,
        services,
        flowhost::wasm::StepLimits::default(),
    );
    assert_eq!(watch.failure(), None);
    assert!(exec.result.is_ok(), "{:?}", exec.result);
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE restricted = 1"),
        2
    );
}

/// `flowhost run` of a workflow that opens a case after a short wait, while another
/// connection holds the write lock past the run's busy timeout (5 s) from while it waits: the
/// run stops resumable.
fn run_left_by_a_busy_database(dir: &Path, db: &Path) -> Output {
    let workflow = json!({ "name": "open-later", "workspace": WS, "steps": [
        { "id": "pause", "wait": "300ms" },
        { "id": "open", "uses": "cases/create-case", "with": { "title": "later", "severity": "low" } }
    ] });
    let file = dir.join("open-later.json");
    std::fs::write(&file, workflow.to_string()).expect("write");
    let holder = hold_write_lock_once_a_run_exists(db, Duration::from_millis(5600));
    let out = flowhost(
        dir,
        db,
        &["run", file.to_str().expect("utf-8"), "--as", OWNER],
    );
    holder.join().expect("holder");
    out
}

#[test]
fn flowhost_run_says_when_a_busy_database_stopped_its_run_and_exits_non_zero() {
    let (dir, db) = applied();
    let out = run_left_by_a_busy_database(dir.path(), &db);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("resumable"), "{stderr}");
    assert!(stderr.contains("runs resume"), "{stderr}");
    assert_eq!(
        query::<String>(&db, "SELECT status FROM runs"),
        vec!["running".to_owned()]
    );
    let run: Vec<String> = query(&db, "SELECT public_id FROM runs");
    flowhost_ok(dir.path(), &db, &["runs", "resume", &run[0], "--as", OWNER]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE title = 'later'"),
        1
    );
}

#[test]
fn a_run_whose_write_meets_a_full_database_stops_resumable_and_resumes_once() {
    let (_dir, db) = applied();
    let platform = Arc::new(Platform::new(Db::open(&db).expect("db")).expect("platform"));
    let runtime = Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
    let engine = Engine::new(platform.clone(), runtime, vec![]);
    let description = "x".repeat(30_000);
    let text = json!({ "name": "open-big", "workspace": WS, "steps": [
        { "id": "pause", "wait": "400ms" },
        { "id": "open", "uses": "cases/create-case",
          "with": { "title": "big", "severity": "low", "description": description } }
    ] })
    .to_string();
    let workflow = parse("open-big.json", &text, &Resolver::default()).expect("valid");

    // While the run waits, the database may not grow any more: SQLite fails the next write
    // that needs a page with SQLITE_FULL, as on a full disk.
    let full = {
        let platform = platform.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            let db = platform.db();
            let pages: i64 = db
                .conn()
                .query_row("PRAGMA page_count", [], |r| r.get(0))
                .expect("page count");
            db.conn()
                .sqlite()
                .expect("SQLite")
                .pragma_update(None, "max_page_count", pages)
                .expect("cap the database");
        })
    };
    let outcome = engine
        .run_manual(
            &workflow,
            &text,
            "open-big.json",
            owner(),
            json!({}),
            &Quiet,
        )
        .expect("started");
    full.join().expect("capped");
    assert_eq!(outcome.status, RunStatus::Running, "{:?}", outcome.error);
    let error = outcome.error.unwrap_or_default();
    assert!(error.contains("resumable"), "{error}");
    let run = outcome.run_key;
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM runs WHERE id = {run} AND status = 'running'")
        ),
        1,
        "not failed"
    );

    // Room again: the run resumes and creates its case once.
    platform
        .db()
        .conn()
        .sqlite()
        .expect("SQLite")
        .pragma_update(None, "max_page_count", 1_073_741_823_i64)
        .expect("uncap");
    let resumed = engine.resume(run, &Quiet).expect("resumed");
    assert_eq!(resumed.status, RunStatus::Succeeded, "{:?}", resumed.error);
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE title = 'big'"),
        1
    );
}

#[test]
fn serve_outlasts_a_write_lock_held_past_its_busy_timeout_and_loses_no_run() {
    let (dir, db) = applied();
    let workflow = json!({ "name": "open-on-critical", "workspace": WS,
        "run_as": "automation@acme-mssp.test",
        "trigger": { "on": "case_created",
                     "if": [{ "left": "$.event.case.severity", "op": "eq", "right": "critical" }] },
        "steps": [
            { "id": "pause", "wait": "300ms" },
            { "id": "open", "uses": "cases/create-case",
              "with": { "title": "follow-up", "severity": "low" } }
        ] });
    let file = dir.path().join("open-on-critical.json");
    std::fs::write(&file, workflow.to_string()).expect("write");
    flowhost_ok(
        dir.path(),
        &db,
        &[
            "workflows",
            "publish",
            file.to_str().expect("utf-8"),
            "--as",
            OWNER,
        ],
    );
    let serve = spawn(
        dir.path(),
        &db,
        &args(&["serve", "--poll-ms", "50", "--concurrency", "2"]),
    );
    // The run starts, then the write lock is held past serve's busy timeout (5 s): serve's
    // claims fail meanwhile (reported, tried again), and its run waits or stops resumable
    // (SPEC WF-11), whichever of them meets the lock; either way the run ends succeeded.
    let holder = hold_write_lock_once_a_run_exists(&db, Duration::from_millis(5600));
    create_cases(&db, 1, Severity::Critical);
    holder.join().expect("holder");
    let started = Instant::now();
    while count(&db, "SELECT count(*) FROM runs WHERE status = 'succeeded'") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let out = serve.wait_with_output().expect("serve exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Whichever met the lock first said so: a claim (tried again next round) or the run
    // (stopped resumable, tried again later).
    assert!(
        stderr.contains("claiming work: unavailable") || stderr.contains("tried again later"),
        "{stderr}"
    );
    let statuses: Vec<String> = query(&db, "SELECT status FROM runs");
    assert_eq!(statuses, vec!["succeeded".to_owned()], "{stderr}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE title = 'follow-up'"),
        1
    );
}

/// After the infrastructure failed one of a step's calls, the execution is discarded and runs
/// again from its first call, whose creation keys are the first execution's: so the step's
/// later calls reach nothing. A step retrying a creation that met a busy database made the
/// case with its second key, and the re-execution made another with its first (kill and
/// concurrency review; SPEC WF-8, WF-11).
#[test]
fn a_step_retrying_a_creation_the_infrastructure_failed_creates_nothing_more() {
    let (_dir, db) = applied();
    let (platform, runtime, step, caller) = busy_in_100ms(&db, common::HOSTILE);
    // Another process holds the write lock for 400 ms: the first creation fails busy, the
    // step's retries come after the lock is free.
    let (held, holding) = std::sync::mpsc::channel();
    let holder = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut conn = rusqlite::Connection::open(&db).expect("open");
            let lock = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .expect("the write lock");
            held.send(()).expect("told");
            std::thread::sleep(Duration::from_millis(400));
            drop(lock);
        })
    };
    holding.recv().expect("the lock is held");
    let (services, watch) = flowhost::services::HostServices::of(platform).watched();
    let exec = runtime.execute(
        &step,
        &json!({ "attack": "retry_create" }),
        caller,
        services,
        flowhost::wasm::StepLimits::default(),
    );
    holder.join().expect("holder");
    assert!(watch.failure().is_some(), "the busy database was noticed");
    let output = exec.result.expect("the step ends");
    assert_eq!(output["attempts"], 20, "{output}");
    assert!(
        output["error"]
            .as_str()
            .is_some_and(|e| e.contains("failed an earlier call")),
        "{output}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE title = 'Retried'"),
        0,
        "no case made by a retry the re-execution would make again"
    );
}

/// A case write is decided again once it holds its workspace's lock, on the access data as
/// of then: decided only before it waited, a restriction change went through for a member
/// another process removed meanwhile, and so did a case's creation (round 18 authority
/// review; SPEC RB-4). Here the other process removes the lead while holding the write lock
/// the lead's calls wait for.
#[test]
fn a_case_write_waiting_for_the_lock_is_refused_to_who_was_removed_meanwhile() {
    let (_dir, db) = applied();
    create_cases(&db, 1, Severity::High);
    let platform = Arc::new(Platform::new(Db::open(&db).expect("db")).expect("platform"));
    let lead = Caller {
        workspace: WS.into(),
        principal: Principal::local(Email::parse("sam.lead@acme-mssp.test").expect("email")),
        cause: None,
        step: None,
    };
    let case = platform
        .query_cases(&lead, serde_json::from_value(json!({})).expect("query"))
        .expect("the lead reads cases")
        .cases[0]
        .id
        .clone();
    let mut remover = rusqlite::Connection::open(&db).expect("open");
    let removal = remover
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("the write lock");
    removal
        .execute_batch(
            "DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = 'sam.lead@acme-mssp.test');
             UPDATE access_epoch SET n = n + 1, logged_from = n + 1 WHERE id = 1;",
        )
        .expect("the lead removed");
    let writes = std::thread::spawn({
        let (platform, lead, case) = (platform.clone(), lead.clone(), case.clone());
        move || {
            let opened = platform.update_case_restrictions(
                &lead,
                &case,
                serde_json::from_value(json!({ "access_mode": "restricted" })).expect("update"),
            );
            let created = platform.create_case(&lead, new_case("after", Severity::Low));
            (opened, created)
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    removal.commit().expect("committed");
    let (opened, created) = writes.join().expect("no panic");
    assert!(opened.is_err(), "{opened:?}");
    assert!(created.is_err(), "{created:?}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM cases WHERE restricted = 1 OR title = 'after'"
        ),
        0
    );
}

/// Each time step `after` has finished or was replayed, a step of organization `share` takes
/// the turn to wait for the process's one connection next, and keeps it for `hold`: the next
/// step's storage work waits behind it (the engine's own reads between the steps do not take
/// turns, so they pass).
struct HoldAfter {
    platform: Arc<Platform>,
    after: &'static str,
    hold: Duration,
    share: String,
    holders: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl HoldAfter {
    /// Waits until every turn taken has been let go.
    fn let_go(&self) {
        for holder in self.holders.lock().expect("holders").drain(..) {
            holder.join().expect("holder");
        }
    }
}

impl flowhost::workflow::Observer for HoldAfter {
    fn step_finished(
        &self,
        key: &str,
        _: &Result<serde_json::Value, String>,
        _: Duration,
        _: bool,
    ) {
        if key != self.after {
            return;
        }
        let (platform, hold, share) = (self.platform.clone(), self.hold, self.share.clone());
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            platform.with_connection_turn(&share, || {
                held_tx.send(()).expect("send");
                std::thread::sleep(hold);
            });
        });
        held_rx.recv().expect("held");
        self.holders.lock().expect("holders").push(holder);
    }
}

/// A step whose storage work waits out its deadline behind what others hold stops its run
/// resumable (SPEC WF-11), but not without end behind its own organization's work: after
/// three such stops in a row its waits are its own, and it fails at its timeout (SPEC ST-4;
/// round 26 self-review: a tenant's own load stopped a step and ran it again forever, each
/// try holding a worker for its whole timeout). A try that gets through starts the count
/// afresh. Behind another organization's work, every stop stays the host's business (round
/// 28 hostile-step review: three such stops failed the step as its own timeout).
#[test]
fn a_step_stopped_resumable_three_times_in_a_row_at_a_busy_connection_fails_at_its_timeout() {
    let (_dir, db) = applied();
    let platform = Arc::new(Platform::new(Db::open(&db).expect("db")).expect("platform"));
    let runtime = Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
    let engine = Engine::new(platform.clone(), runtime, vec![]);
    let text = json!({ "name": "contended", "workspace": WS, "steps": [
        { "id": "look", "uses": "cases/query-cases", "with": {} },
        { "id": "open", "uses": "cases/create-case", "timeout": "300ms",
          "with": { "title": "contended", "severity": "low" } }
    ] })
    .to_string();
    let workflow = parse("contended.json", &text, &Resolver::default()).expect("valid");
    let busy = HoldAfter {
        platform: platform.clone(),
        after: "look",
        hold: Duration::from_millis(600),
        share: "another-org".into(),
        holders: Default::default(),
    };
    let created = || count(&db, "SELECT count(*) FROM cases WHERE title = 'contended'");
    // A run of it, its first step watched by `observer`.
    let start = |observer: &HoldAfter| {
        engine
            .run_manual(
                &workflow,
                &text,
                "contended.json",
                owner(),
                json!({}),
                observer,
            )
            .expect("started")
    };

    // The allowed path: stopped twice, then through once the connection is free.
    let first = start(&busy);
    assert_eq!(first.status, RunStatus::Running, "{:?}", first.error);
    let run = first.run_key;
    let stopped = engine.resume(run, &busy).expect("resumed");
    assert_eq!(stopped.status, RunStatus::Running, "{:?}", stopped.error);
    let error = stopped.error.unwrap_or_default();
    assert!(error.contains("resumable"), "{error}");
    assert_eq!(created(), 0);
    busy.let_go();
    let through = engine.resume(run, &Quiet).expect("resumed");
    assert_eq!(through.status, RunStatus::Succeeded, "{:?}", through.error);
    assert_eq!(created(), 1);

    // Behind another organization's work, never its own: stopped again and again, and
    // through once the connection is free.
    let other = start(&busy);
    for _ in 0..4 {
        let again = engine.resume(other.run_key, &busy).expect("resumed");
        assert_eq!(again.status, RunStatus::Running, "{:?}", again.error);
    }
    busy.let_go();
    let through = engine.resume(other.run_key, &Quiet).expect("resumed");
    assert_eq!(through.status, RunStatus::Succeeded, "{:?}", through.error);
    assert_eq!(created(), 2);

    // The denied path: behind its own organization's work, a new run stopped three times in
    // a row (its first step's count is its own), then failed at its timeout, having created
    // nothing.
    let busy = HoldAfter {
        share: platform.index().tenant_of(WS),
        ..busy
    };
    let second = start(&busy);
    let run = second.run_key;
    for _ in 0..2 {
        let again = engine.resume(run, &busy).expect("resumed");
        assert_eq!(again.status, RunStatus::Running, "{:?}", again.error);
    }
    let last = engine.resume(run, &busy).expect("resumed");
    assert_eq!(last.status, RunStatus::Failed, "{:?}", last.error);
    let error = last.error.unwrap_or_default();
    assert!(error.contains("deadline exceeded"), "{error}");
    assert_eq!(created(), 2, "the failed run created nothing");
}

/// `serve --once` that leaves a run unfinished (its resumes stopped by a database another
/// process holds, four times over) says so with its exit status, naming how many, where it
/// said "stopped cleanly" and exited 0 with the run `running` (round 30 kill review); the
/// next start finishes it.
#[test]
fn serve_once_that_leaves_a_run_unfinished_exits_non_zero() {
    let (dir, db) = applied();
    let out = run_left_by_a_busy_database(dir.path(), &db);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Held again past four stops of its resume at the busy timeout (5 s each) and the retries
    // between them (1, 2 and 4 s): about 30 s. Nothing is pending to claim.
    let holder = hold_write_lock_once_a_run_exists(&db, Duration::from_secs(45));
    let out = flowhost(dir.path(), &db, &["serve", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    holder.join().expect("holder");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("left 1 run(s) unfinished"), "{stderr}");
    assert!(!stderr.contains("stopped cleanly"), "{stderr}");
    assert_eq!(
        query::<String>(&db, "SELECT status FROM runs"),
        vec!["running".to_owned()]
    );
    // Allowed path: with the database free, the next start finishes it.
    let out = flowhost(dir.path(), &db, &["serve", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        query::<String>(&db, "SELECT status FROM runs"),
        vec!["succeeded".to_owned()]
    );
}
