//! Issue 5, the host process: durable `wait` timers, `serve` stopping runs at a step boundary
//! on SIGTERM (and the next start finishing them), several runs in flight at once, and a run
//! seeing another process's access changes from its next step on.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ECHO, example_tenant_path, flowhost, flowhost_bin, flowhost_ok};
use flowhost::platform::Platform;
use flowhost::principal::{Email, Principal};
use flowhost::runs::RunStatus;
use flowhost::testing::Internals;
use flowhost::wasm::{EngineSettings, StepRuntime};
use flowhost::workflow::{Engine, Quiet, Resolver, parse};
use serde_json::{Value, json};

const OWNER: &str = "olivia.owner@acme-mssp.test";

fn apply_tenant(dir: &Path, db: &Path) {
    let tenant = example_tenant_path();
    flowhost_ok(
        dir,
        db,
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
}

fn spawn(dir: &Path, db: &Path, args: &[&str]) -> Child {
    Command::new(flowhost_bin())
        .current_dir(dir)
        .arg("--db")
        .arg(crate::common::db_arg(db))
        .args(args)
        // On PostgreSQL a killed process's runs are free once its heartbeat is older than
        // its TTL (on SQLite at once): short, so these tests need not wait 10 s for it.
        .env(flowhost::runs::lease::TTL_VAR, "1000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowhost starts")
}

fn query<T: flowhost::store::sql::FromSql>(db: &Path, sql: &str) -> Vec<T> {
    let db = crate::common::db_at(db);
    let mut stmt = db.conn().prepare(sql).expect(sql);
    stmt.query_map([], |r| r.get(0))
        .expect(sql)
        .collect::<Result<_, _>>()
        .expect(sql)
}

/// Polls until `sql` returns a row, for at most 20 s (a cold component compile included).
fn wait_for_row(db: &Path, sql: &str) {
    let started = Instant::now();
    while query::<i64>(db, sql).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no row for {sql}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// A library engine on a fresh database file, with the example tenant applied.
fn engine(dir: &Path, sleep_limit: Duration) -> Engine {
    let db = dir.join("flowhost.db");
    apply_tenant(dir, &db);
    let platform = Arc::new(Platform::new(crate::common::db_at(&db)).expect("platform"));
    let runtime = Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
    Engine::new(platform, runtime, vec![]).with_sleep_limit(sleep_limit)
}

/// A run on hold whose wait is due, resumed by hand (`runs resume`, the way to go on
/// without `serve`), runs to its end: taking its lease puts it back to `running`. Before,
/// the lease was taken with the run left `on_hold`, so its end could not be recorded (only
/// a running run ends) and the resume reported it stopped, on hold for good.
#[test]
fn a_due_wait_resumed_by_hand_runs_to_its_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), Duration::ZERO);
    let text = json!({ "name": "nap", "workspace": "mssp-soc", "steps": [
        { "id": "nap", "wait": "50ms" },
        { "exit": { "status": "rested" } }
    ] })
    .to_string();
    let workflow = parse("nap.json", &text, &Resolver::default()).expect("valid");
    let owner = Principal::local(Email::parse(OWNER).expect("email"));
    let held = engine
        .run_manual(&workflow, &text, "nap.json", owner, json!({}), &Quiet)
        .expect("run");
    assert_eq!(held.status, RunStatus::OnHold, "{:?}", held.error);
    std::thread::sleep(Duration::from_millis(100));
    let resumed = engine.resume(held.run_key, &Quiet).expect("resume");
    assert_eq!(resumed.status, RunStatus::Succeeded, "{:?}", resumed.error);
    assert_eq!(resumed.exit_status.as_deref(), Some("rested"));
    let db = dir.path().join("flowhost.db");
    assert_eq!(
        query::<String>(&db, "SELECT status FROM runs"),
        ["succeeded"]
    );
}

#[test]
fn a_long_wait_holds_the_run_until_due_and_keeps_its_first_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Every wait is "long" here, so the run goes on hold instead of sleeping.
    let engine = engine(dir.path(), Duration::ZERO);
    let text = json!({ "name": "nap", "workspace": "mssp-soc", "steps": [
        { "id": "before", "uses": ECHO, "with": { "n": 1 } },
        { "id": "nap", "wait": "600ms" },
        { "exit": { "status": "rested", "output": "$.steps.before" } }
    ] })
    .to_string();
    let workflow = parse("nap.json", &text, &Resolver::default()).expect("valid");
    let owner = Principal::local(Email::parse(OWNER).expect("email"));

    let held = engine
        .run_manual(&workflow, &text, "nap.json", owner, json!({}), &Quiet)
        .expect("run");
    assert_eq!(held.status, RunStatus::OnHold, "{:?}", held.error);
    let db = dir.path().join("flowhost.db");
    let deadline: Vec<i64> = query(&db, "SELECT wake_ms FROM run_timers");
    assert_eq!(
        deadline.len(),
        1,
        "the deadline is stored when the wait starts"
    );

    // Not due yet: nothing wakes, and a manual resume only holds again, on the same deadline.
    assert!(engine.wake_due_timers(&Quiet).expect("wake").is_empty());
    let again = engine.resume(held.run_key, &Quiet).expect("resume");
    assert_eq!(again.status, RunStatus::OnHold);
    assert_eq!(
        query::<i64>(&db, "SELECT wake_ms FROM run_timers"),
        deadline
    );

    std::thread::sleep(Duration::from_millis(700));
    let woken = engine.wake_due_timers(&Quiet).expect("wake");
    assert_eq!(woken.len(), 1);
    assert_eq!(
        woken[0].status,
        RunStatus::Succeeded,
        "{:?}",
        woken[0].error
    );
    assert_eq!(woken[0].exit_status.as_deref(), Some("rested"));
    assert_eq!(woken[0].output, json!({ "n": 1 }));
    // The wait is journaled with the deadline it kept; the step before ran once.
    let waited: Vec<String> = query(&db, "SELECT output FROM run_steps WHERE step_key = 'nap'");
    let waited: Value = serde_json::from_str(&waited[0]).expect("json");
    assert_eq!(waited["waited_until_ms"], deadline[0]);
    assert_eq!(
        query::<i64>(&db, "SELECT count(*) FROM step_executions"),
        [1]
    );
    // Woken once: nothing is due any more.
    assert!(engine.wake_due_timers(&Quiet).expect("wake").is_empty());
}

/// A fresh database with the example tenant, and a process executing `slow.json` (echo, a wait
/// of `wait`, echo) that has reached its wait. Returns the directory, the database and the
/// process.
fn slow_run_in_its_wait(wait: &str) -> (tempfile::TempDir, std::path::PathBuf, Child) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    apply_tenant(dir.path(), &db);
    let workflow = json!({ "name": "slow", "workspace": "mssp-soc", "steps": [
        { "id": "one", "uses": ECHO, "with": { "n": 1 } },
        { "id": "pause", "wait": wait },
        { "id": "two", "uses": ECHO, "with": { "n": 2 } }
    ] });
    std::fs::write(dir.path().join("slow.json"), workflow.to_string()).expect("write");
    let run = spawn(
        dir.path(),
        &db,
        &["run", "slow.json", "--as", OWNER, "--no-triggers"],
    );
    wait_for_row(&db, "SELECT 1 FROM run_timers");
    (dir, db, run)
}

#[test]
fn sigterm_stops_a_run_at_a_step_boundary_and_the_next_start_finishes_it_once() {
    // A run killed outright (SIGKILL) while it waits: left `running`, step one journaled.
    let (dir, db, mut run) = slow_run_in_its_wait("4s");
    let killed: Vec<String> = query(&db, "SELECT lease_owner FROM runs");
    run.kill().expect("kill");
    run.wait().expect("reaped");
    let deadline: Vec<i64> = query(&db, "SELECT wake_ms FROM run_timers");

    // `serve` resumes it (at once on SQLite, a heartbeat TTL later on PostgreSQL) and is
    // stopped with SIGTERM during the wait: it must not sit out the wait, and must leave the
    // run for the next start.
    let serve = spawn(dir.path(), &db, &["serve", "--poll-ms", "50"]);
    wait_for_row(
        &db,
        &format!(
            "SELECT 1 FROM runs WHERE lease_owner IS NOT NULL AND lease_owner <> '{}'",
            killed[0]
        ),
    );
    std::thread::sleep(Duration::from_millis(300));
    let stopped_at = Instant::now();
    sigterm(&serve);
    let out = serve.wait_with_output().expect("serve exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stopped_at.elapsed() < Duration::from_millis(2500),
        "serve sat out the wait instead of stopping at the step boundary"
    );
    assert!(stderr.contains("stopped at a step boundary"), "{stderr}");
    assert!(stderr.contains("stopped cleanly"), "{stderr}");
    assert_eq!(query::<String>(&db, "SELECT status FROM runs"), ["running"]);
    assert_eq!(
        query::<String>(&db, "SELECT step_key FROM run_steps ORDER BY seq"),
        ["one"]
    );
    assert_eq!(
        query::<i64>(&db, "SELECT wake_ms FROM run_timers"),
        deadline,
        "the stop keeps the wait's deadline"
    );

    // The next start finishes it: the wait ends at its first deadline, each step once.
    flowhost_ok(dir.path(), &db, &["serve", "--once"]);
    assert_eq!(
        query::<String>(&db, "SELECT status FROM runs"),
        ["succeeded"]
    );
    assert_eq!(
        query::<String>(&db, "SELECT step_key FROM run_steps ORDER BY seq"),
        ["one", "pause", "two"]
    );
    assert_eq!(
        query::<i64>(&db, "SELECT count(*) FROM step_executions"),
        [2],
        "each echo step executed exactly once"
    );
    let waited: Vec<String> = query(&db, "SELECT output FROM run_steps WHERE step_key = 'pause'");
    let waited: Value = serde_json::from_str(&waited[0]).expect("json");
    assert_eq!(waited["waited_until_ms"], deadline[0]);
}

/// Publishes a workflow that every new case in mssp-soc starts, then creates `cases` cases and
/// runs `serve --once` with `concurrency`; returns the wait deadlines of the runs, in order.
/// Publishes `on-case` in mssp-soc: `steps`, run as the automation account whenever a case is
/// created (an Owner may bind another identity as `run_as`, SPEC WF-10).
fn publish_on_case_created(dir: &Path, db: &Path, steps: serde_json::Value) {
    let workflow = json!({ "name": "on-case", "workspace": "mssp-soc",
        "run_as": "automation@acme-mssp.test", "trigger": { "on": "case_created" },
        "steps": steps });
    std::fs::write(dir.join("on-case.json"), workflow.to_string()).expect("write");
    flowhost_ok(
        dir,
        db,
        &["workflows", "publish", "on-case.json", "--as", OWNER],
    );
}

/// Creates a low case titled `title` in mssp-soc as the Owner.
fn create_case(dir: &Path, db: &Path, title: &str) {
    flowhost_ok(
        dir,
        db,
        &[
            "cases",
            "create",
            "--title",
            title,
            "--severity",
            "low",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ],
    );
}

fn deadlines_of_triggered_runs(cases: usize, concurrency: &str) -> Vec<i64> {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    apply_tenant(dir.path(), &db);
    publish_on_case_created(
        dir.path(),
        &db,
        json!([ { "id": "settle", "wait": "700ms" } ]),
    );
    for n in 0..cases {
        create_case(dir.path(), &db, &format!("case {n}"));
    }
    flowhost_ok(
        dir.path(),
        &db,
        &["serve", "--once", "--concurrency", concurrency],
    );
    assert_eq!(
        query::<String>(&db, "SELECT status FROM runs"),
        vec!["succeeded"; cases],
        "every triggered run finished"
    );
    query(&db, "SELECT wake_ms FROM run_timers ORDER BY wake_ms")
}

#[test]
fn serve_keeps_several_triggered_runs_in_flight_and_honours_its_limit() {
    // Three runs that each wait 700 ms: in flight together, their waits start together...
    let together = deadlines_of_triggered_runs(3, "3");
    let spread = together[2] - together[0];
    assert!(
        spread < 700,
        "waits started {spread} ms apart: the runs did not overlap"
    );
    // ...and one at a time, each starts after the previous one has finished.
    let one_by_one = deadlines_of_triggered_runs(3, "1");
    for pair in one_by_one.windows(2) {
        assert!(
            pair[1] - pair[0] >= 700,
            "{one_by_one:?}: runs overlapped with --concurrency 1"
        );
    }
}

#[test]
fn a_run_that_a_live_process_executes_is_not_resumed_by_another_until_that_process_dies() {
    // Process A executes the run and sits in its wait.
    let (dir, db, mut a) = slow_run_in_its_wait("3s");

    // Neither a hand-typed resume nor a starting host takes it from A.
    let run: String = crate::common::db_at(&db)
        .conn()
        .query_row("SELECT public_id FROM runs", [], |r| r.get(0))
        .expect("the run");
    let resumed = flowhost(
        dir.path(),
        &db,
        &[
            "runs",
            "resume",
            &run,
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert_eq!(resumed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains("being executed by another flowhost process"),
        "{stderr}"
    );
    let served = flowhost(dir.path(), &db, &["serve", "--once"]);
    assert!(served.status.success());
    assert!(
        !String::from_utf8_lossy(&served.stderr).contains("resumed run 1"),
        "serve resumed a run another process is executing"
    );
    assert_eq!(
        query::<i64>(&db, "SELECT count(*) FROM step_executions"),
        [1]
    );

    // A host already running takes the run over once A is gone (killed outright): the lease
    // is free at once, with nothing to wait out, and the host looks again every round.
    let host = spawn(dir.path(), &db, &["serve", "--poll-ms", "50"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(query::<String>(&db, "SELECT status FROM runs"), ["running"]);
    a.kill().expect("kill");
    a.wait().expect("reaped");
    wait_for_row(&db, "SELECT 1 FROM runs WHERE status = 'succeeded'");
    sigterm(&host);
    let out = host.wait_with_output().expect("serve exits");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        query::<String>(&db, "SELECT step_key FROM run_steps ORDER BY seq"),
        ["one", "pause", "two"]
    );
    assert_eq!(
        query::<i64>(&db, "SELECT count(*) FROM step_executions"),
        [2],
        "each step executed once"
    );
    assert_eq!(
        query::<Option<String>>(&db, "SELECT lease_owner FROM runs"),
        [None],
        "a finished run holds no lease"
    );
}

/// Issue 3 with issue 5 (SPEC RB-3, WF-6): a run's steps decide with the access data as it is
/// when each step starts. A contributor's run creates a case; the same run demoted to viewer
/// by the Owner, from another process, while it waits, is refused at its case step.
#[test]
fn a_demotion_made_while_a_run_waits_holds_from_its_next_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    apply_tenant(dir.path(), &db);
    let lead = "sam.lead@acme-mssp.test";
    let workflow = json!({ "name": "late-case", "workspace": "mssp-soc", "steps": [
        { "id": "one", "uses": ECHO, "with": { "n": 1 } },
        { "id": "pause", "wait": "1500ms" },
        { "id": "open", "uses": "cases/create-case", "with": { "title": "late", "severity": "low" } }
    ] });
    std::fs::write(dir.path().join("late.json"), workflow.to_string()).expect("write");
    let args = ["run", "late.json", "--as", lead, "--no-triggers"];

    // Not demoted: the case is created.
    flowhost_ok(dir.path(), &db, &args);
    assert_eq!(query::<i64>(&db, "SELECT count(*) FROM cases"), vec![1]);

    // Demoted while the second run waits.
    let run = spawn(dir.path(), &db, &args);
    wait_for_row(
        &db,
        "SELECT 1 FROM run_timers t JOIN runs r ON r.id = t.run_id WHERE r.status = 'running'",
    );
    flowhost_ok(
        dir.path(),
        &db,
        &[
            "users",
            "set-role",
            lead,
            "--role",
            "viewer",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ],
    );
    let out = run.wait_with_output().expect("run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "the case step must be refused:\n{stdout}\n{stderr}"
    );
    assert!(
        format!("{stdout}{stderr}").contains("case.write"),
        "the refusal names the missing scope:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        query::<i64>(&db, "SELECT count(*) FROM cases"),
        vec![1],
        "no second case"
    );
}

/// Issue 15: the scheduler of `serve` is a library type. In-process, `once`: it resumes a run
/// an earlier process left `running` (journaled steps replayed), reports it, and returns when
/// nothing is pending or in flight; a second pass finds nothing and reports nothing.
#[test]
fn the_scheduler_resumes_an_interrupted_run_in_process_and_returns_when_idle() {
    use flowhost::workflow::scheduler::{Notice, Scheduler, SchedulerOptions};
    use std::sync::Mutex;

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    apply_tenant(dir.path(), &db);
    let definition = json!({ "name": "left", "workspace": "mssp-soc", "steps": [
        { "id": "open", "uses": "cases/create-case", "with": { "title": "left behind", "severity": "low" } },
        { "exit": { "output": { "case": "$.steps.open.id" } } }
    ] })
    .to_string();
    let platform = Arc::new(Platform::new(crate::common::db_at(&db)).expect("platform"));
    let runtime = Arc::new(common::runtime());
    // A run whose process stopped before it executed a step: `running`, leased to nobody
    // (an engine stopping, as on SIGTERM, leaves it so at its first step boundary).
    let stopped = Engine::new(platform.clone(), runtime.clone(), Vec::new());
    stopped
        .stop_flag()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let workflow = parse("left.json", &definition, &Resolver::default()).expect("valid");
    let run = stopped
        .run_manual(
            &workflow,
            &definition,
            "left.json",
            common::user(OWNER),
            json!({}),
            &Quiet,
        )
        .expect("run");
    assert_eq!(run.status, RunStatus::Running, "{:?}", run.error);
    let run = flowhost::runs::RunRef {
        key: run.run_key,
        id: run.run_id,
    };
    let engine = Arc::new(Engine::new(platform.clone(), runtime, Vec::new()));
    let options = SchedulerOptions {
        poll: Duration::from_millis(20),
        once: true,
        concurrency: 2,
        stop_on_signals: false,
    };
    let heard = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let heard = heard.clone();
        move |notice: Notice<'_>| {
            let line = match notice {
                Notice::Finished {
                    kind,
                    run,
                    outcome: Ok(o),
                } => format!("{kind} {run} {}", o.status.as_str()),
                other => format!("{other:?}"),
            };
            heard.lock().expect("lock").push(line);
        }
    };
    Scheduler::new(engine.clone(), options.clone(), record.clone())
        .run()
        .expect("serves");
    assert_eq!(
        *heard.lock().expect("lock"),
        [format!("resumed {} succeeded", run.id)]
    );
    let status: String = platform
        .db()
        .conn()
        .query_row("SELECT status FROM runs WHERE id = ?1", [run.key], |r| {
            r.get(0)
        })
        .expect("status");
    assert_eq!(status, "succeeded");

    // Nothing left: the next pass claims nothing and returns.
    Scheduler::new(engine, options, record)
        .run()
        .expect("serves");
    assert_eq!(heard.lock().expect("lock").len(), 1, "nothing more ran");
}

/// One organization's slow runs hold at most three quarters of `serve`'s workers: its four
/// runs sleeping 50 s each took all four workers, and another organization's event waited
/// for them (every tenant's events, due waits and timeouts with it; hostile-step review).
/// Here three sleep, the fourth's event waits its organization's turn, and the other
/// organization's run starts and ends meanwhile.
#[test]
fn one_organizations_slow_runs_leave_workers_for_the_others() {
    slow_runs_leave_workers_for_the_others(1, 4);
}

/// The same when the four runs come from one event that four workflows match: the share was
/// checked only before an event was claimed, and all its runs started (hostile-step review).
#[test]
fn one_events_many_slow_runs_leave_workers_for_the_others() {
    slow_runs_leave_workers_for_the_others(4, 1);
}

/// `hogs` workflows of one organization sleeping 50 s on `case_created`, `cases` cases
/// created there (four runs in all), then another organization's quick run.
fn slow_runs_leave_workers_for_the_others(hogs: usize, cases: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    apply_tenant(dir.path(), &db);
    let olga = "olga@other.test";
    let write = |name: &str, doc: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, doc.to_string()).expect("write");
        path.display().to_string()
    };
    let other = json!({ "organization": "other-org",
        "workspaces": [{ "name": "other-ws", "members": [{ "email": olga, "role": "owner" }] }] });
    flowhost_ok(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            &write("other.json", &other),
            "--as",
            olga,
        ],
    );
    let quick = json!({ "name": "quick", "workspace": "other-ws", "run_as": olga,
        "trigger": { "on": "case_created" }, "steps": [{ "id": "nap", "wait": "1ms" }] });
    let mut published = vec![("quick.json".to_owned(), quick, olga)];
    for i in 0..hogs {
        let hog = json!({ "name": format!("hog-{i}"), "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_created" }, "steps": [{ "id": "sleep", "wait": "50s" }] });
        published.push((format!("hog-{i}.json"), hog, OWNER));
    }
    for (file, doc, who) in &published {
        flowhost_ok(
            dir.path(),
            &db,
            &["workflows", "publish", &write(file, doc), "--as", who],
        );
    }
    let create = |workspace: &str, who: &str| {
        flowhost_ok(
            dir.path(),
            &db,
            &[
                "cases",
                "create",
                "--workspace",
                workspace,
                "--title",
                "t",
                "--severity",
                "low",
                "--as",
                who,
            ],
        );
    };
    for _ in 0..cases {
        create("mssp-soc", OWNER);
    }
    let mut serve = spawn(
        dir.path(),
        &db,
        &["serve", "--concurrency", "4", "--poll-ms", "20"],
    );
    wait_for_row(
        &db,
        "SELECT COUNT(*) FROM runs WHERE workflow LIKE 'hog%' AND status = 'running' HAVING COUNT(*) >= 3",
    );
    create("other-ws", olga);
    wait_for_row(
        &db,
        "SELECT 1 FROM runs WHERE workflow = 'quick' AND status = 'succeeded'",
    );
    // The fourth hog waits its turn: its event unclaimed, or its run recorded and not begun.
    let begun: Vec<String> = query(
        &db,
        "SELECT r.workflow FROM runs r WHERE r.workflow LIKE 'hog%'
           AND EXISTS (SELECT 1 FROM run_timers t WHERE t.run_id = r.id)",
    );
    assert_eq!(begun.len(), 3, "{begun:?}");
    sigterm(&serve);
    let status = serve.wait().expect("serve stops");
    assert!(status.success(), "{status:?}");
}

/// `serve --http` executes requests' runs under the process's one lease holder: a run a
/// request could not let go of (the database failing as it stopped, twice) is the scheduler's
/// to resume in the same process, as its own are. With a holder of their own, requests left
/// such a run leased to a holder alive for as long as the server ran, and no host resumed it
/// (kill and concurrency review).
#[test]
fn a_run_a_request_could_not_let_go_of_is_resumed_by_the_scheduler_of_its_process() {
    use flowhost::workflow::scheduler::{Scheduler, SchedulerOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    apply_tenant(dir.path(), &db);
    let platform = Arc::new(Platform::new(crate::common::db_at(&db)).expect("platform"));
    let engine = Arc::new(Engine::new(
        platform.clone(),
        Arc::new(common::runtime()),
        Vec::new(),
    ));
    // The HTTP side's engine lives as long as the server does.
    let requests = Arc::new(engine.sibling());
    let definition = json!({ "name": "held", "workspace": "mssp-soc", "steps": [
        { "id": "nap", "wait": "1s" },
        { "id": "open", "uses": "cases/create-case", "with": { "title": "after", "severity": "low" } }
    ] })
    .to_string();
    let workflow = parse("held.json", &definition, &Resolver::default()).expect("valid");
    let request = std::thread::spawn({
        let requests = requests.clone();
        move || {
            requests.run_manual(
                &workflow,
                &definition,
                "held.json",
                common::user(OWNER),
                json!({}),
                &Quiet,
            )
        }
    });
    // The request's lease holder, while it executes the run.
    let started = Instant::now();
    let owner = loop {
        let owners: Vec<String> = query(
            &db,
            "SELECT lease_owner FROM runs WHERE lease_owner IS NOT NULL",
        );
        if let Some(owner) = owners.into_iter().next() {
            break owner;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run starts"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    engine
        .stop_flag()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let stopped = request.join().expect("the request").expect("outcome");
    assert_eq!(stopped.status, RunStatus::Running, "{:?}", stopped.error);
    // Its lease as it would stay had letting go failed.
    platform
        .db()
        .conn()
        .execute(
            "UPDATE runs SET lease_owner = ?1 WHERE id = ?2",
            (owner.as_str(), stopped.run_key),
        )
        .expect("lease");
    engine
        .stop_flag()
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let options = SchedulerOptions {
        poll: Duration::from_millis(20),
        once: true,
        concurrency: 2,
        stop_on_signals: false,
    };
    Scheduler::new(engine.clone(), options, |_| {})
        .run()
        .expect("serves");
    let status: Vec<String> = query(&db, "SELECT status FROM runs");
    assert_eq!(
        status,
        ["succeeded"],
        "resumed by the scheduler of its process"
    );
    let cases: Vec<i64> = query(&db, "SELECT count(*) FROM cases WHERE title = 'after'");
    assert_eq!(cases, [1]);
    drop(requests);
}

/// A component whose core module's table is larger than a pool slot's is refused by the
/// server's pooling engine as it loads the compiled artifact (the compiler's child process
/// makes no pool checks): the step fails, naming why. Before, that refusal read as the
/// machine's, and the run was stopped resumable and compiled again every retry, for ever
/// (hostile-step review; SPEC ST-2, WF-11).
#[test]
fn a_component_past_the_pools_limits_fails_its_step_under_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    apply_tenant(dir.path(), &db);
    // One core module defining one funcref table of 20,001 elements (the pool holds 20,000).
    let module: &[u8] = b"\0asm\x01\0\0\0\x04\x06\x01\x70\x00\xa1\x9c\x01";
    let mut component = b"\0asm\x0d\0\x01\0\x01".to_vec();
    component.push(u8::try_from(module.len()).expect("small"));
    component.extend(module);
    std::fs::write(dir.path().join("big-table.wasm"), component).expect("write");
    publish_on_case_created(
        dir.path(),
        &db,
        json!([ { "id": "big", "uses": "big-table.wasm" } ]),
    );
    create_case(dir.path(), &db, "t");
    flowhost_ok(dir.path(), &db, &["serve", "--once"]);
    assert_eq!(query::<String>(&db, "SELECT status FROM runs"), ["failed"]);
    let errors = query::<String>(&db, "SELECT error FROM run_steps WHERE step_key = 'big'");
    assert_eq!(errors.len(), 1, "the step failed once");
    assert!(errors[0].contains("under this host's limits"), "{errors:?}");
    assert!(errors[0].contains("table"), "{errors:?}");
}

/// A scheduler round waits for busy workers no longer than its poll: one that waited for a
/// worker before each of its events left an interaction's timeout unclaimed, and its run on
/// hold, until every pending event had taken its turn (a 1-minute approval timed out tens of
/// minutes late); and a worker freed within a round goes to a resume as to an event (round
/// 17 kill review).
#[test]
fn a_timeout_is_resumed_while_events_keep_the_workers_busy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    apply_tenant(dir.path(), &db);
    publish_on_case_created(
        dir.path(),
        &db,
        json!([ { "id": "nap", "wait": "1500ms" } ]),
    );
    let ask = json!({ "name": "ask", "workspace": "mssp-soc",
        "steps": [ { "id": "go", "interaction": {
            "title": "Go?",
            "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
            "access": { "workspace_users": { "emails": [OWNER] } },
            "timeout": "1s",
            "on_timeout": [{ "exit": { "status": "timed_out" } }] } } ] });
    std::fs::write(dir.path().join("ask.json"), ask.to_string()).expect("write");
    let out = flowhost_ok(
        dir.path(),
        &db,
        &["run", "ask.json", "--as", OWNER, "--json"],
    );
    let started: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(started["status"], "on_hold", "{started}");
    for n in 0..5 {
        create_case(dir.path(), &db, &format!("case {n}"));
    }
    let child = spawn(
        dir.path(),
        &db,
        &["serve", "--concurrency", "1", "--poll-ms", "20"],
    );
    wait_for_row(
        &db,
        "SELECT 1 FROM runs WHERE workflow = 'ask' AND status = 'succeeded'",
    );
    sigterm(&child);
    let output = child.wait_with_output().expect("serve ends");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        query::<String>(&db, "SELECT exit_status FROM runs WHERE workflow = 'ask'"),
        ["timed_out"]
    );
    // Events still pending when it timed out were claimed after it ended, not all before.
    let after: Vec<i64> = query(
        &db,
        "SELECT count(*) FROM events e WHERE e.kind = 'case_created' AND NOT EXISTS \
         (SELECT 1 FROM runs r WHERE r.trigger_event = e.id \
          AND r.started_at <= (SELECT finished_at FROM runs WHERE workflow = 'ask'))",
    );
    assert!(
        after[0] >= 2,
        "{} of 5 events were left when the timed-out run ended",
        after[0]
    );
}
