//! The access index kept current in O(change) (issue 19): a change reloads only the
//! workspaces it touched, in the process that made it and in every other process on the same
//! database (two platforms on one file stand for two processes); a process further behind
//! than the change log reaches loads the index whole, and decides the same either way.

use flowhost::access::Scope;
use flowhost::platform::{IndexLoads, Platform};
use flowhost::principal::{Email, Principal};
use flowhost::tenant::{self, TenantFile};
use flowhost::testing::Internals;
use serde_json::json;

use crate::common::user;

const WORKSPACES: usize = 5;

fn owner(i: usize) -> String {
    format!("owner.{i}@inc.test")
}

fn operator(i: usize) -> String {
    format!("operator.{i}@inc.test")
}

fn ws(i: usize) -> String {
    format!("ws-{i}")
}

/// `n` workspaces, each with its Owner and an operator.
fn tenant(n: usize) -> TenantFile {
    let workspaces: Vec<_> = (0..n)
        .map(|i| {
            json!({ "name": ws(i), "members": [
                { "email": owner(i), "role": "owner" },
                { "email": operator(i), "role": "operator" } ] })
        })
        .collect();
    let text = json!({ "organization": "inc", "workspaces": workspaces }).to_string();
    TenantFile::parse("inc.json", &text).expect("valid tenant")
}

fn platform_on(db: &std::path::Path) -> Platform {
    Platform::new(crate::common::db_at(db)).expect("platform")
}

/// A console that applied the tenant, and a host started after it, on one new database file.
fn two_processes(n: usize) -> (tempfile::TempDir, std::path::PathBuf, Platform, Platform) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let console = platform_on(&db);
    tenant::apply(&console, &tenant(n), None).expect("applies");
    let host = platform_on(&db);
    (dir, db, console, host)
}

fn may_run(p: &Platform, email: &str, i: usize) -> bool {
    p.check(&user(email), &ws(i), Scope::PlaybookExecute)
        .allowed()
}

/// Every person of the tenant, in every workspace (and one that does not exist), for every
/// scope: `p` decides exactly as an index loaded whole from the same file.
fn assert_decides_as_a_full_load(p: &Platform, db: &std::path::Path, people: &[String]) {
    let fresh = platform_on(db);
    for email in people {
        let email = Email::parse(email).expect("email");
        for who in [Principal::local(email.clone()), Principal::sso(email)] {
            for w in (0..WORKSPACES).map(ws).chain(["nowhere".to_owned()]) {
                for &scope in Scope::ALL {
                    assert_eq!(
                        p.check(&who, &w, scope),
                        fresh.check(&who, &w, scope),
                        "{who} in {w}, {scope}"
                    );
                }
            }
        }
    }
}

fn people() -> Vec<String> {
    (0..WORKSPACES)
        .flat_map(|i| [owner(i), operator(i)])
        .chain(["new.person@inc.test".to_owned()])
        .collect()
}

fn since(p: &Platform, before: IndexLoads) -> IndexLoads {
    let now = p.index_loads();
    IndexLoads {
        full: now.full - before.full,
        workspaces: now.workspaces - before.workspaces,
    }
}

#[test]
fn one_change_reloads_only_its_workspace_here_and_in_another_process() {
    let (_dir, db, console, host) = two_processes(WORKSPACES);
    let (console_before, host_before) = (console.index_loads(), host.index_loads());
    assert!(may_run(&host, &operator(3), 3));

    console
        .admin()
        .set_user_role(&user(&owner(3)), &ws(3), &operator(3), "viewer")
        .expect("demoted");
    // The writer replaced the one workspace's entries; nothing was loaded whole.
    let one = IndexLoads {
        full: 0,
        workspaces: 1,
    };
    assert_eq!(since(&console, console_before), one);
    assert!(!may_run(&console, &operator(3), 3), "denied here at once");

    // The other process still holds the old epoch: allowed until it refreshes...
    assert!(may_run(&host, &operator(3), 3));
    assert!(host.refresh_access().expect("refresh"));
    // ...and then reads the one workspace the change log names, of five.
    assert_eq!(since(&host, host_before), one);
    assert!(!may_run(&host, &operator(3), 3), "denied after the refresh");
    assert!(may_run(&host, &operator(2), 2), "the others keep theirs");
    assert_decides_as_a_full_load(&host, &db, &people());
    assert_decides_as_a_full_load(&console, &db, &people());
}

#[test]
fn a_process_behind_the_pruned_change_log_loads_whole_and_decides_right() {
    let (_dir, db, console, host) = two_processes(WORKSPACES);
    let before = host.index_loads();
    console
        .admin()
        .set_user_role(&user(&owner(1)), &ws(1), &operator(1), "viewer")
        .expect("demoted");
    console
        .admin()
        .invite_user(&user(&owner(4)), &ws(4), &owner(1), "owner")
        .expect("invited");
    // The log is pruned up to now, past the epoch the host holds.
    {
        let guard = console.db();
        let epoch = flowhost::store::access::epoch(guard.conn()).expect("epoch");
        flowhost::store::access::prune_log(guard.conn(), epoch).expect("pruned");
    }
    assert!(host.refresh_access().expect("refresh"));
    assert_eq!(
        since(&host, before),
        IndexLoads {
            full: 1,
            workspaces: 0
        },
        "the log no longer reaches back: a full load"
    );
    assert!(!may_run(&host, &operator(1), 1));
    assert!(may_run(&host, &owner(1), 4), "the new Owner of ws-4");
    assert_decides_as_a_full_load(&host, &db, &people());

    // From the new epoch on, the log reaches back again: one workspace.
    let before = host.index_loads();
    console
        .admin()
        .set_user_role(&user(&owner(0)), &ws(0), &operator(0), "viewer")
        .expect("demoted");
    host.refresh_access().expect("refresh");
    assert_eq!(
        since(&host, before),
        IndexLoads {
            full: 0,
            workspaces: 1
        }
    );
    assert!(!may_run(&host, &operator(0), 0));
}

#[test]
fn changes_made_in_sql_by_another_tool_are_logged_by_the_database() {
    // Whatever code writes access rows, the database's triggers log the workspaces: here a
    // person's email is changed and an organization renamed in plain SQL, then the epoch
    // bumped, as a tool outside flowhost might.
    let (_dir, db, _console, host) = two_processes(WORKSPACES);
    let before = host.index_loads();
    let conn = rusqlite::Connection::open(&db).expect("open");
    let change = |sql: &str| {
        let bump = "UPDATE access_epoch SET n = n + 1 WHERE id = 1";
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {sql}; {bump}; COMMIT;"))
            .expect("changed in SQL");
    };
    change("UPDATE users SET email = 'renamed.2@inc.test' WHERE email = 'operator.2@inc.test'");
    assert!(host.refresh_access().expect("refresh"));
    let one = IndexLoads {
        full: 0,
        workspaces: 1,
    };
    assert_eq!(since(&host, before), one, "the email's one workspace");
    assert!(
        !may_run(&host, &operator(2), 2),
        "the old email holds nothing"
    );
    assert!(
        may_run(&host, "renamed.2@inc.test", 2),
        "the new one is the member"
    );

    let before = host.index_loads();
    change("UPDATE organizations SET name = 'inc-renamed' WHERE name = 'inc'");
    assert!(host.refresh_access().expect("refresh"));
    let all = IndexLoads {
        full: 0,
        workspaces: WORKSPACES as u64,
    };
    assert_eq!(since(&host, before), all, "the organization's workspaces");
    let org = host.index().workspace(&ws(0)).map(|w| w.org.clone());
    assert_eq!(org.as_deref(), Some("inc-renamed"));
    let mut people = people();
    people.push("renamed.2@inc.test".to_owned());
    assert_decides_as_a_full_load(&host, &db, &people);
}

/// Access data another process changed that does not read (a custom role with a scope this
/// host does not know, as an older host beside a newer one would meet) fails every refresh
/// until it reads again, and what would decide on the index held before stops instead: a run
/// does not start. Before, the refresh's error was dropped and the run started on the old
/// index, with every revocation made after it unseen (cross-host review).
#[test]
fn access_data_that_does_not_read_stops_what_would_decide_on_the_old_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (host, engine, _other) = example_host(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("flowhost.db")).expect("open");
    let change = |sql: &str| {
        let bump = "UPDATE access_epoch SET n = n + 1 WHERE id = 1";
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {sql}; {bump}; COMMIT;"))
            .expect("changed in SQL");
    };
    change(
        "INSERT INTO custom_roles (workspace_id, name, scopes)
         SELECT id, 'from-a-newer-host', 'case.read case.teleport' FROM workspaces
         WHERE name = 'mssp-soc'",
    );
    for _ in 0..2 {
        let Err(e) = host.refresh_access() else {
            panic!("a custom role with an unknown scope must not read");
        };
        assert!(e.to_string().contains("case.teleport"), "{e}");
    }
    let refused = try_run_steps(
        &engine,
        LEAD,
        json!([echo("a")]),
        &flowhost::workflow::Quiet,
    );
    let Err(e) = refused else {
        panic!("a run must not start on access data that could not be confirmed");
    };
    assert!(e.to_string().contains("case.teleport"), "{e}");
    change("DELETE FROM custom_roles WHERE name = 'from-a-newer-host'");
    let outcome = run_steps(
        &engine,
        LEAD,
        json!([echo("a")]),
        &flowhost::workflow::Quiet,
    );
    assert_eq!(outcome.status, flowhost::runs::RunStatus::Succeeded);
}

#[test]
fn a_change_to_more_workspaces_than_pay_one_by_one_loads_whole() {
    // 300 new workspaces in one tenant file: past the 256 reloaded one by one, so the writer
    // and the other process load whole, once each.
    let (_dir, db, console, host) = two_processes(1);
    let (console_before, host_before) = (console.index_loads(), host.index_loads());
    tenant::apply(&console, &tenant(300), None).expect("applies");
    let whole = IndexLoads {
        full: 1,
        workspaces: 0,
    };
    assert_eq!(since(&console, console_before), whole);
    assert!(host.refresh_access().expect("refresh"));
    assert_eq!(since(&host, host_before), whole);
    assert!(may_run(&host, &operator(299), 299));
    assert!(!may_run(&host, &operator(299), 298));
    assert_decides_as_a_full_load(&host, &db, &people());
}

/// Every run and every step looks at the access epoch (`refresh_access`); that look reads a
/// connection of its own, so it does not wait while another run of the process holds the
/// shared one (a commit, a checkpoint): issue 19, runs in flight. A change another process
/// made still waits for the shared connection, under which this process's index updates are
/// made one at a time, and is applied once it is free.
#[test]
fn the_epoch_look_does_not_wait_for_the_connection_another_run_holds() {
    let (_dir, _db, console, host) = two_processes(WORKSPACES);
    let held = host.db();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let _ = tx.send(host.refresh_access().map_err(|e| e.to_string()));
        });
        let looked = rx.recv_timeout(std::time::Duration::from_secs(5));
        drop(held);
        assert_eq!(
            looked.expect("the look returned while the connection was held"),
            Ok(false)
        );
    });

    console
        .admin()
        .set_user_role(&user(&owner(2)), &ws(2), &operator(2), "viewer")
        .expect("demoted");
    let held = host.db();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let _ = tx.send(host.refresh_access().map_err(|e| e.to_string()));
        });
        let short = std::time::Duration::from_millis(100);
        assert!(
            rx.recv_timeout(short).is_err(),
            "a change is applied under the connection"
        );
        drop(held);
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(5))
                .expect("caught up once free"),
            Ok(true)
        );
    });
    assert!(!may_run(&host, &operator(2), 2), "the demotion holds");
}

const LEAD: &str = "sam.lead@acme-mssp.test";

/// The example tenant applied on a new database file in `dir`: a host's platform and engine
/// on it, and another process's platform.
fn example_host(
    dir: &std::path::Path,
) -> (
    std::sync::Arc<Platform>,
    flowhost::workflow::Engine,
    Platform,
) {
    use std::sync::Arc;
    let db = dir.join("flowhost.db");
    let p = Arc::new(platform_on(&db));
    let text = std::fs::read_to_string(crate::common::example_tenant_path()).expect("tenant");
    let file = TenantFile::parse("acme-mssp.json", &text).expect("valid");
    tenant::apply(&p, &file, None).expect("applies");
    let e = flowhost::workflow::Engine::new(p.clone(), Arc::new(crate::common::runtime()), vec![]);
    (p, e, platform_on(&db))
}

/// Runs the workflow of mssp-soc made of `steps` as `who`, `observer` hearing its steps.
fn run_steps(
    e: &flowhost::workflow::Engine,
    who: &str,
    steps: serde_json::Value,
    observer: &dyn flowhost::workflow::Observer,
) -> flowhost::workflow::RunOutcome {
    try_run_steps(e, who, steps, observer).expect("run")
}

/// [`run_steps`], its start's refusal answered.
fn try_run_steps(
    e: &flowhost::workflow::Engine,
    who: &str,
    steps: serde_json::Value,
    observer: &dyn flowhost::workflow::Observer,
) -> Result<flowhost::workflow::RunOutcome, flowhost::Error> {
    use flowhost::workflow::{Resolver, parse};
    let text = json!({ "name": "steps", "workspace": "mssp-soc", "steps": steps }).to_string();
    let wf = parse("wf.json", &text, &Resolver::default()).expect("valid");
    e.run_manual(&wf, &text, "wf.json", user(who), json!({}), observer)
}

/// How many notifications the example's runs have emitted and kept.
fn notifications(p: &Platform) -> i64 {
    p.db()
        .conn()
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'notification.requested'",
            [],
            |r| r.get(0),
        )
        .expect("count")
}

fn echo(id: &str) -> serde_json::Value {
    json!({ "id": id, "uses": crate::common::ECHO, "with": { "n": 1 } })
}

/// A step granted `events:emit` that asks for a notification to the lead.
fn notify() -> serde_json::Value {
    json!({ "id": "tell", "uses": crate::common::NOTIFY, "grants": ["events:emit"],
        "with": { "to": [LEAD], "subject": "s" } })
}

/// Only a step that may consult access data looks at the access epoch as it starts (a round
/// trip on PostgreSQL): a component step granted nothing reaches no access decision, since
/// every host call that consults one requires a grant first. The run looks as it starts.
#[test]
fn only_steps_that_may_consult_access_look_at_the_access_epoch() {
    use flowhost::workflow::Quiet;
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, e, _) = example_host(dir.path());
    let looks = |steps: serde_json::Value| {
        let before = p.epoch_looks();
        let done = run_steps(&e, "olivia.owner@acme-mssp.test", steps, &Quiet);
        assert_eq!(
            done.status,
            flowhost::runs::RunStatus::Succeeded,
            "{:?}",
            done.error
        );
        p.epoch_looks() - before
    };
    // A manual run looks twice itself: before its row is written, and once it has committed
    // (decided again, `a_demotion_committed_as_a_manual_run_starts_refuses_the_run`).
    assert_eq!(looks(json!([echo("a"), echo("b"), echo("c")])), 2);
    let open = json!({ "id": "open", "uses": "cases/create-case",
        "with": { "title": "t", "severity": "low" } });
    // A step that emitted looks once more as it ends, its events decided again before they
    // are kept (round 22 authority review).
    assert_eq!(looks(json!([echo("a"), notify(), open])), 5);
}

/// Demotes the lead to viewer in mssp-soc, through another process, once step `step` ends.
struct DemoteAfter<'p> {
    other: &'p Platform,
    /// The step whose end demotes the lead.
    step: &'static str,
}

impl flowhost::workflow::Observer for DemoteAfter<'_> {
    fn step_finished(
        &self,
        key: &str,
        _: &Result<serde_json::Value, String>,
        _: std::time::Duration,
        _: bool,
    ) {
        if key == self.step {
            self.other
                .admin()
                .set_user_role(
                    &user("olivia.owner@acme-mssp.test"),
                    "mssp-soc",
                    LEAD,
                    "viewer",
                )
                .expect("demoted");
        }
    }
}

/// SPEC RB-3 and WF-6 with the look above: a granted component step looks at the access data
/// as it starts although the step before it, granted nothing, made no look. The lead's run
/// emits its notification; demoted by another process as its first step ends, the lead's
/// next run is refused at its granted step, and emits nothing.
#[test]
fn a_demotion_by_another_process_mid_run_holds_for_the_next_granted_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, e, other) = example_host(dir.path());
    let done = run_steps(
        &e,
        LEAD,
        json!([echo("one"), notify()]),
        &flowhost::workflow::Quiet,
    );
    assert_eq!(
        done.status,
        flowhost::runs::RunStatus::Succeeded,
        "{:?}",
        done.error
    );
    assert_eq!(notifications(&p), 1);

    let done = run_steps(
        &e,
        LEAD,
        json!([echo("one"), notify()]),
        &DemoteAfter {
            other: &other,
            step: "one",
        },
    );
    assert_eq!(done.status, flowhost::runs::RunStatus::Failed);
    let error = done.error.unwrap_or_default();
    assert!(error.contains("playbook.execute"), "{error}");
    assert_eq!(notifications(&p), 1, "nothing emitted after the demotion");
}

/// A step's events are decided again as it ends, before they are kept (SPEC WF-10): allowed
/// at its emit, on the access data of then, they were published after another process
/// demoted the lead mid-step, and started their listeners (round 22 authority review).
#[test]
fn an_emit_is_decided_again_before_its_events_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, e, other) = example_host(dir.path());
    let step = json!({ "id": "tell", "uses": crate::common::HOSTILE, "grants": ["events:emit"],
        "with": { "attack": "emit_then_linger", "ms": 800 } });
    // The allowed path: kept when nothing changed.
    let done = run_steps(&e, LEAD, json!([step.clone()]), &flowhost::workflow::Quiet);
    assert_eq!(
        done.status,
        flowhost::runs::RunStatus::Succeeded,
        "{:?}",
        done.error
    );
    assert_eq!(notifications(&p), 1);
    // Demoted by another process while the step lingers after its emit.
    let demote = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        other
            .admin()
            .set_user_role(
                &user("olivia.owner@acme-mssp.test"),
                "mssp-soc",
                LEAD,
                "viewer",
            )
            .expect("demoted");
    });
    let done = run_steps(&e, LEAD, json!([step]), &flowhost::workflow::Quiet);
    demote.join().expect("demoted");
    assert_eq!(done.status, flowhost::runs::RunStatus::Failed);
    let error = done.error.unwrap_or_default();
    assert!(error.contains("its events are not published"), "{error}");
    assert_eq!(
        notifications(&p),
        1,
        "nothing kept of what it emitted after the demotion"
    );
}

/// A manual run is decided again once its row has committed (SPEC WF-6): a demotion another
/// process commits after the run's first look at access data but before the run's row (here
/// held open under SQLite's write lock across that look) ends the run before its first step,
/// and the starter is refused. Before, the run went on with every step that does not consult
/// access (authority review: a start decided outside the lock its row commits under).
#[test]
fn a_demotion_committed_as_a_manual_run_starts_refuses_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, e, _other) = example_host(dir.path());
    // The run's first look finds the lead a contributor; the demotion commits while its row
    // waits for the write lock.
    let mut conn = rusqlite::Connection::open(dir.path().join("flowhost.db")).expect("open");
    let (began, begun) = std::sync::mpsc::channel();
    let refused = std::thread::scope(|s| {
        s.spawn(move || {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .expect("write lock");
            tx.execute_batch(&format!(
                "UPDATE memberships SET role = 'viewer'
                 WHERE user_id = (SELECT id FROM users WHERE email = '{LEAD}')
                   AND workspace_id = (SELECT id FROM workspaces WHERE name = 'mssp-soc');
                 UPDATE access_epoch SET n = n + 1 WHERE id = 1;"
            ))
            .expect("demoted");
            began.send(()).expect("told");
            std::thread::sleep(std::time::Duration::from_millis(400));
            tx.commit().expect("committed");
        });
        begun.recv().expect("the demotion began");
        try_run_steps(&e, LEAD, json!([echo("a")]), &flowhost::workflow::Quiet)
    });
    let Err(err) = refused else {
        panic!("a run whose starter was demoted as it started must not go on");
    };
    assert!(err.to_string().contains("playbook.execute"), "{err}");
    let (status, error): (String, String) = p
        .db()
        .conn()
        .query_row(
            "SELECT status, error FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the run's row");
    assert_eq!(status, "failed");
    assert!(error.contains("refused as it started"), "{error}");
    let steps: i64 = p
        .db()
        .conn()
        .query_row("SELECT count(*) FROM run_steps", [], |r| r.get(0))
        .expect("journal");
    assert_eq!(steps, 0, "no step ran");
}
