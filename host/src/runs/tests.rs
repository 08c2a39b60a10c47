//! SPEC WF-8, the journal's own guarantees (white-box: the run store acts for nobody, so
//! these tests live inside the crate): a step journaled twice (one run executed by two
//! processes at once) publishes its events once, and a run goes on hold only while it still
//! waits for something.

use std::time::Duration;

use serde_json::{Value, json};

use super::{JournalEntry, NewRun, RunStore};
use crate::platform::Platform;
use crate::services::events::CustomEvent;
use crate::store::{Db, ExecutionRecord};
use crate::wasm::StepExecution;

fn platform(dir: &tempfile::TempDir) -> Platform {
    Platform::new(Db::open(&dir.path().join("flowhost.db")).expect("db")).expect("platform")
}

fn start(platform: &Platform) -> i64 {
    let id = crate::public_id::PublicId::new(crate::public_id::IdKind::Run).expect("id");
    start_leased(platform, None, &id).key
}

/// A run of a trivial workflow with public id `id`, leased to `owner` if any.
fn start_leased(
    platform: &Platform,
    owner: Option<&str>,
    id: &crate::public_id::PublicId,
) -> super::RunRef {
    platform
        .start_run(
            &NewRun {
                workflow: "wf",
                workspace: "soc",
                principal: "user:olivia.owner@acme-mssp.test",
                event: &json!({}),
                definition: "{}",
                source: "wf.json",
                lease_owner: owner,
                components: None,
                binder: None,
                audit: None,
                request: None,
            },
            id,
        )
        .expect("run")
}

/// Opens an interaction of `run` at `step` as host `owner` would, any answer allowed.
fn ask(
    platform: &Platform,
    run: i64,
    step: &str,
    owner: &str,
) -> Result<crate::public_id::PublicId, crate::Error> {
    let form = crate::definition::form::Form::default();
    let access = crate::access::flow::FlowAccess::default();
    let new = crate::interact::NewInteraction {
        run,
        step_key: step,
        workspace: "soc",
        workflow: "wf",
        title: step,
        form: &form,
        access: &access,
        timeout_ms: None,
        owner,
    };
    platform.open_interaction(&new, &|_| Ok(()))
}

fn count(platform: &Platform, sql: &str) -> i64 {
    platform
        .db()
        .expect("db")
        .conn()
        .query_row(sql, [], |r| r.get(0))
        .expect(sql)
}

#[test]
fn a_step_journaled_twice_keeps_its_first_entry_and_publishes_its_event_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let run = start(&platform);
    assert!(platform.take_lease(run, "host-a", None).expect("a leases"));
    let execution = |n: i64| StepExecution {
        result: Ok(json!({ "n": n })),
        logs: Vec::new(),
        dropped_logs: 0,
        events: vec![
            CustomEvent::parse("notification.requested", r#"{"to":"sam"}"#).expect("event"),
        ],
        duration: Duration::from_micros(5),
        output_values: 2,
        output_bytes: 8,
        database_calls: 0,
        case_events: Default::default(),
        charged: Default::default(),
    };
    for n in [1, 2] {
        let execution = execution(n);
        let record = ExecutionRecord {
            workspace: "soc",
            principal: "user:olivia.owner@acme-mssp.test",
            component: "notify.wasm",
            digest: "d",
            execution: &execution,
            cause: None,
        };
        let entry = JournalEntry {
            key: "tag",
            result: &Ok(json!({ "n": n })),
            attempts: 1,
            duration_us: 5,
            execution: Some(record),
        };
        platform
            .journal_steps(run, "host-a", &[entry])
            .expect("journal");
    }
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM events WHERE kind = 'notification.requested'"
        ),
        1,
        "the second execution's event is not published"
    );
    assert_eq!(count(&platform, "SELECT count(*) FROM step_executions"), 1);
    let first: Value = platform
        .journaled_output(run, "tag")
        .expect("read")
        .expect("journaled");
    assert_eq!(first, json!({ "n": 1 }), "the first entry stays");
}

/// A failed step's entry, committed early beside a parallel part's effect, is replaced by
/// the success of its run at a resume, with its record and event (kill and concurrency
/// review: the success was dropped, and the step ran again at every resume); a failure
/// replaces nothing.
#[test]
fn a_failed_steps_entry_is_replaced_by_its_success_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let run = start(&platform);
    assert!(platform.take_lease(run, "host-a", None).expect("a leases"));
    let execution = |result: Result<Value, crate::wasm::StepFailure>, events| StepExecution {
        result,
        logs: Vec::new(),
        dropped_logs: 0,
        events,
        duration: Duration::from_micros(5),
        output_values: 2,
        output_bytes: 8,
        database_calls: 0,
        case_events: Default::default(),
        charged: Default::default(),
    };
    let event = || CustomEvent::parse("notification.requested", r#"{"to":"sam"}"#).expect("event");
    let failed = execution(
        Err(crate::wasm::StepFailure::Step("timed out".into())),
        Vec::new(),
    );
    let succeeded = execution(Ok(json!({ "n": 2 })), vec![event()]);
    let write = |execution: &StepExecution, result: &Result<Value, String>| {
        let record = ExecutionRecord {
            workspace: "soc",
            principal: "user:olivia.owner@acme-mssp.test",
            component: "notify.wasm",
            digest: "d",
            execution,
            cause: None,
        };
        let entry = JournalEntry {
            key: "tag",
            result,
            attempts: 1,
            duration_us: 5,
            execution: Some(record),
        };
        platform
            .journal_steps(run, "host-a", &[entry])
            .expect("journal");
    };
    write(&failed, &Err("timed out".into()));
    assert_eq!(platform.journaled_output(run, "tag").expect("read"), None);
    write(&failed, &Err("timed out again".into()));
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM run_steps WHERE error = 'timed out'"
        ),
        1,
        "a failure replaces nothing"
    );
    write(&succeeded, &Ok(json!({ "n": 2 })));
    assert_eq!(
        platform.journaled_output(run, "tag").expect("read"),
        Some(json!({ "n": 2 }))
    );
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM events WHERE kind = 'notification.requested'"
        ),
        1,
        "its event published"
    );
    write(&succeeded, &Ok(json!({ "n": 3 })));
    assert_eq!(
        platform.journaled_output(run, "tag").expect("read"),
        Some(json!({ "n": 2 })),
        "a success stays"
    );
}

#[test]
fn a_run_goes_on_hold_only_while_it_still_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let status = |run: i64| -> String {
        platform
            .db()
            .expect("db")
            .conn()
            .query_row("SELECT status FROM runs WHERE id = ?1", [run], |r| r.get(0))
            .expect("status")
    };

    // Waiting on a timer that is not due: held.
    let waiting = start(&platform);
    assert!(
        platform
            .take_lease(waiting, "host-a", None)
            .expect("a leases")
    );
    platform
        .timer_deadline(waiting, "host-a", "nap", Duration::from_secs(60))
        .expect("timer");
    assert!(platform.hold_run(waiting, "host-a", &[]).expect("hold"));
    assert_eq!(status(waiting), "on_hold");

    // Its timer already due (it passed while the run was executing): not held; the caller
    // resumes it at once instead of leaving it on hold with nobody to wake it.
    let due = start(&platform);
    assert!(platform.take_lease(due, "host-a", None).expect("a leases"));
    platform
        .timer_deadline(due, "host-a", "nap", Duration::ZERO)
        .expect("timer");
    assert!(!platform.hold_run(due, "host-a", &[]).expect("hold"));
    assert_eq!(status(due), "running");

    // Nothing to wait for at all: not held either.
    let idle = start(&platform);
    assert!(platform.take_lease(idle, "host-a", None).expect("a leases"));
    assert!(!platform.hold_run(idle, "host-a", &[]).expect("hold"));
    assert_eq!(status(idle), "running");

    // The held run's timer is not due: nothing to claim.
    assert!(platform.claim_due_timers().expect("claim").is_empty());
}

/// A host whose lease lapsed writes none of its finished steps once another host took the run
/// over: not when it settles them before an effect, not when it lets the run go (kill and
/// concurrency review: a paused host's entries won over the new holder's, first entry wins).
#[test]
fn only_the_host_holding_a_run_journals_its_steps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let run = start(&platform);
    assert!(platform.take_lease(run, "host-a", None).expect("a leases"));
    assert!(
        platform
            .take_lease(run, "host-b", Some("host-a"))
            .expect("b takes it over")
    );
    let stale = Ok(json!("a's output"));
    let entry = |result| JournalEntry {
        key: "pure",
        result,
        attempts: 1,
        duration_us: 5,
        execution: None,
    };
    let refused = platform
        .journal_steps(run, "host-a", &[entry(&stale)])
        .expect_err("a no longer holds it");
    assert!(refused.to_string().contains("host-b"), "{refused}");
    let refused = platform
        .release_run(run, "host-a", &[entry(&stale)])
        .expect_err("nor may it journal them as it lets go");
    assert!(refused.to_string().contains("host-b"), "{refused}");
    let journaled = "SELECT count(*) FROM run_steps WHERE step_key = 'pure'";
    assert_eq!(count(&platform, journaled), 0, "nothing of a's was written");
    let current = Ok(json!("b's output"));
    platform
        .journal_steps(run, "host-b", &[entry(&current)])
        .expect("the holder journals");
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM run_steps WHERE step_key = 'pure' AND output = '\"b''s output\"'"
        ),
        1
    );
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM runs WHERE lease_owner = 'host-b'"
        ),
        1,
        "a's refused release left b's lease alone"
    );
}

/// The fence (issue 18): a host whose lease another host took over (its heartbeat lapsed)
/// can neither end the run nor put it on hold; the host holding it can.
#[test]
fn only_the_host_holding_a_run_ends_it_or_puts_it_on_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let run = start(&platform);
    assert!(platform.take_lease(run, "host-a", None).expect("a leases"));
    assert!(
        platform
            .take_lease(run, "host-b", Some("host-a"))
            .expect("b takes it over")
    );
    let end = super::RunEnd {
        status: super::RunStatus::Succeeded,
        exit_status: None,
        output: Some(&Value::Null),
        error: None,
    };
    let stale = platform
        .finish_run(run, "host-a", &end, &[])
        .expect_err("a no longer holds it");
    assert!(stale.to_string().contains("host-b"), "{stale}");
    let stale = platform
        .hold_run(run, "host-a", &[])
        .expect_err("nor may it put it on hold");
    assert!(stale.to_string().contains("another host"), "{stale}");
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM runs WHERE status = 'running' AND lease_owner = 'host-b'"
        ),
        1,
        "the run is still b's, running"
    );
    // The holder goes on: not waiting for anything, so not held, then finished (with a
    // branch's wait still ahead, as below).
    assert!(!platform.hold_run(run, "host-b", &[]).expect("b goes on"));
    platform
        .timer_deadline(run, "host-b", "nap", Duration::from_secs(60))
        .expect("timer");
    platform
        .finish_run(run, "host-b", &end, &[])
        .expect("b ends it");
    // Ended, it cannot be ended again, by anyone.
    let again = platform
        .finish_run(run, "host-b", &end, &[])
        .expect_err("an ended run stays ended");
    assert!(again.to_string().contains("succeeded"), "{again}");
    // Nor put back on hold by the host that lost it, though something of it still waits (a
    // branch's wait, its interaction): its lease is free once it ended, and the hold fence
    // looked only at the lease (kill and concurrency review).
    let ended = platform
        .hold_run(run, "host-a", &[])
        .expect_err("an ended run is not held");
    assert!(ended.to_string().contains("succeeded"), "{ended}");
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM runs WHERE status = 'succeeded'"
        ),
        1,
        "it stays ended"
    );
}

/// The fence holds for a run leased to nobody as well (round 23 kill-and-concurrency review):
/// the host that took it over left it to any host to go on with (its wait fell due, an answer
/// came, the database was busy). The host whose lease lapsed before may then neither journal
/// its steps, nor end the run, nor put it on hold (its success replaced a failure the new
/// holder journaled); once it takes the lease again it may.
#[test]
fn a_host_whose_lease_lapsed_writes_nothing_of_a_run_left_to_nobody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let run = start(&platform);
    assert!(platform.take_lease(run, "host-a", None).expect("a leases"));
    assert!(
        platform
            .take_lease(run, "host-b", Some("host-a"))
            .expect("b takes it over")
    );
    let failed = Err("b's attempt failed".to_owned());
    let entry = |result| JournalEntry {
        key: "step",
        result,
        attempts: 1,
        duration_us: 5,
        execution: None,
    };
    platform
        .timer_deadline(run, "host-b", "nap", Duration::from_secs(60))
        .expect("b waits");
    platform
        .release_run(run, "host-b", &[entry(&failed)])
        .expect("b journals its failure and lets the run go");
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM runs WHERE lease_owner IS NULL AND status = 'running'"
        ),
        1,
        "running, leased to nobody"
    );
    let stale = Ok(json!("a's output"));
    let refused = platform
        .journal_steps(run, "host-a", &[entry(&stale)])
        .expect_err("a holds it no more");
    assert!(
        refused.to_string().contains("leased to nobody"),
        "{refused}"
    );
    let end = super::RunEnd {
        status: super::RunStatus::Succeeded,
        exit_status: None,
        output: Some(&Value::Null),
        error: None,
    };
    platform
        .finish_run(run, "host-a", &end, &[entry(&stale)])
        .expect_err("nor may it end it");
    platform
        .timer_deadline(run, "host-a", "branch", Duration::ZERO)
        .expect_err("nor write a wait of its own (self-review)");
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM run_timers WHERE step_key = 'branch'"
        ),
        0
    );
    platform
        .hold_run(run, "host-a", &[])
        .expect_err("nor put it on hold");
    // Nor open an interaction (round 24 kill and concurrency review).
    ask(&platform, run, "ask", "host-a").expect_err("nor open an interaction");
    assert_eq!(count(&platform, "SELECT count(*) FROM interactions"), 0);
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM run_steps WHERE step_key = 'step' AND status = 'failed'"
        ),
        1,
        "b's failure stands"
    );
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM runs WHERE status = 'running'"
        ),
        1,
        "the run is neither ended nor held"
    );
    // Taken again, it is a's to go on with.
    assert!(
        platform
            .take_lease(run, "host-a", None)
            .expect("a takes it")
    );
    assert!(platform.hold_run(run, "host-a", &[]).expect("a holds it"));
}

/// A run this process is recording is not taken by this process before it is marked
/// executing: its record commits first, and the scheduler finding it leased here and
/// unmarked took it and ran it beside the request that started it (concurrency review).
#[test]
fn a_run_being_started_here_is_not_taken_here_until_it_is_marked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let platform = platform(&dir);
    let leases = super::lease::Leases::for_database(Some(&db));
    leases.hold().expect("lease");
    let id = crate::public_id::PublicId::new(crate::public_id::IdKind::Run).expect("id");
    let starting = leases.starting(&id);
    let run = start_leased(&platform, Some(leases.owner()), &id);
    let refused = leases
        .take(&platform, run.key)
        .err()
        .expect("refused while it starts");
    assert!(refused.to_string().contains("it is starting"), "{refused}");
    let executing = leases.executing(run.key, &run.id).expect("marked");
    drop(starting);
    assert!(leases.take(&platform, run.key).is_err(), "executing here");
    drop(executing);
    assert!(
        leases.take(&platform, run.key).is_ok(),
        "free once it ended"
    );
}

/// A run is held despite what arrived only when everything that arrived is for steps its
/// execution did not reach, decided in the hold's own transaction: an answer to a step it
/// reaches, given after the execution looked, takes it on rather than being held over (round
/// 24 storage review of the general bound).
#[test]
fn a_run_is_held_over_arrivals_only_when_none_is_within_its_reach() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let id = crate::public_id::PublicId::new(crate::public_id::IdKind::Run).expect("id");
    let run = start_leased(&platform, Some("host-a"), &id).key;
    for step in ["x", "y"] {
        ask(&platform, run, step, "host-a").expect("opened");
    }
    platform
        .db()
        .expect("db")
        .conn()
        .execute_batch(
            "UPDATE interactions SET status = 'responded', response_values = '{}' \
             WHERE step_key = 'y'",
        )
        .expect("y answered");
    let reached = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        platform
            .hold_out_of_reach(run, "host-a", &reached(&["x", "y"]))
            .expect("decided"),
        super::OutOfReach::Reachable,
        "y's answer is taken up by a resume"
    );
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM runs WHERE status = 'running'"
        ),
        1
    );
    assert_eq!(
        platform
            .hold_out_of_reach(run, "host-a", &reached(&["x"]))
            .expect("decided"),
        super::OutOfReach::Held,
        "y is out of reach, x still open"
    );
    assert_eq!(
        count(
            &platform,
            "SELECT count(*) FROM runs WHERE status = 'on_hold'"
        ),
        1
    );
}

/// A due wait the run's replay no longer reaches is passed over when the run is held for what
/// it still waits for: the scheduler does not claim, replay and hold the run again every round
/// (round 24 engine review); its deadline stays for a replay that reaches it.
#[test]
fn a_due_wait_out_of_reach_wakes_the_held_run_no_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let id = crate::public_id::PublicId::new(crate::public_id::IdKind::Run).expect("id");
    let run = start_leased(&platform, Some("host-a"), &id).key;
    ask(&platform, run, "x", "host-a").expect("opened");
    let due = platform
        .timer_deadline(run, "host-a", "w", Duration::ZERO)
        .expect("a wait due at once");
    assert!(platform.wait_is_over(run).expect("read"), "it arrived");
    assert_eq!(
        platform
            .hold_out_of_reach(run, "host-a", &["x".to_owned()])
            .expect("decided"),
        super::OutOfReach::Held
    );
    assert_eq!(
        platform.claim_due_timers().expect("claimed"),
        Vec::<i64>::new(),
        "the passed-over wait wakes it no more"
    );
    assert!(!platform.wait_is_over(run).expect("read"));
    assert_eq!(
        count(
            &platform,
            "SELECT wake_ms FROM run_timers WHERE step_key = 'w'"
        ),
        due,
        "its deadline stays"
    );
}

/// Due waits are claimed soonest due first, not oldest run first: one tenant's backlog of old
/// runs' waits was claimed round after round before another's wait due earlier (round 26
/// engine review).
#[test]
fn due_waits_are_claimed_soonest_due_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = platform(&dir);
    let leased = |platform: &Platform| {
        let id = crate::public_id::PublicId::new(crate::public_id::IdKind::Run).expect("id");
        start_leased(platform, Some("host-a"), &id).key
    };
    let older = leased(&platform);
    let newer = leased(&platform);
    for (run, wake) in [(older, 2_000), (newer, 1_000)] {
        platform
            .timer_deadline(run, "host-a", "w", Duration::ZERO)
            .expect("a wait");
        let db = platform.db().expect("db");
        db.conn()
            .execute(
                "UPDATE run_timers SET wake_ms = ?1 WHERE run_id = ?2",
                crate::store::sql::params![wake, run],
            )
            .expect("due then");
        db.conn()
            .execute(
                "UPDATE runs SET status = 'on_hold', lease_owner = NULL WHERE id = ?1",
                [run],
            )
            .expect("held");
    }
    assert_eq!(
        platform.claim_due_timers().expect("claimed"),
        vec![newer, older],
        "the wait due first is claimed first"
    );
}
