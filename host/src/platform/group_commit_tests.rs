//! Group commit (issue 19, `store/batch.rs`): runs in flight share commits, and no member's
//! failure becomes another's success or loses another's work unannounced.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Platform;
use crate::error::Error;
use crate::store::{Db, deadline};

/// Long enough that members meet on any machine; the tests that wait it out say so.
const WAIT: Duration = Duration::from_millis(400);

/// A file database (a second connection sees only what committed) with a table `t`.
fn platform(dir: &tempfile::TempDir) -> Arc<Platform> {
    let db = Db::open(&dir.path().join("flowhost.db")).expect("db");
    let platform = Platform::new(db).expect("platform").with_group_wait(WAIT);
    platform
        .transact(|tx| {
            tx.execute("CREATE TABLE t (x INTEGER)", [])
                .map_err(super::internal)?;
            Ok(())
        })
        .expect("table");
    Arc::new(platform)
}

fn insert(platform: &Platform, x: i64) -> Result<(), Error> {
    platform.transact(|tx| {
        tx.execute("INSERT INTO t (x) VALUES (?1)", [x])
            .map_err(super::internal)?;
        Ok(())
    })
}

/// The rows of `t` that committed, read through a connection of their own.
fn committed(dir: &tempfile::TempDir) -> Vec<i64> {
    let conn = rusqlite::Connection::open(dir.path().join("flowhost.db")).expect("reader");
    let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Inserts `x` on another thread, once that thread's work waits in the open batch.
fn member(platform: &Arc<Platform>, x: i64) -> JoinHandle<Result<(), Error>> {
    let p = platform.clone();
    let handle = std::thread::spawn(move || insert(&p, x));
    let until = Instant::now() + Duration::from_secs(10);
    while platform.lock().open_members() == 0 {
        assert!(Instant::now() < until, "the member never joined a batch");
        std::thread::sleep(Duration::from_millis(1));
    }
    handle
}

#[test]
fn runs_in_flight_share_one_commit_and_each_returns_only_once_it_committed() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let before = platform.commits();
    let first = member(&platform, 1);
    assert!(
        committed(&dir).is_empty(),
        "the first member's work waits for the second run, uncommitted"
    );
    // The second run's work completes the batch: one commit for both.
    insert(&platform, 2).expect("second");
    first.join().expect("thread").expect("first");
    assert_eq!(platform.commits(), before + 1);
    assert_eq!(committed(&dir), vec![1, 2]);
}

#[test]
fn a_lone_run_commits_at_once() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _only = platform.in_flight();
    let started = Instant::now();
    insert(&platform, 1).expect("insert");
    assert!(
        started.elapsed() < WAIT,
        "nobody else is in flight: no wait"
    );
    assert_eq!(committed(&dir), vec![1]);
}

#[test]
fn a_failed_member_rolls_back_its_own_work_only() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let first = member(&platform, 1);
    let failed: Result<(), Error> = platform.transact(|tx| {
        tx.execute("INSERT INTO t (x) VALUES (2)", [])
            .map_err(super::internal)?;
        Err(Error::Invalid("refused after writing".into()))
    });
    assert!(matches!(failed, Err(Error::Invalid(_))), "{failed:?}");
    // The first member commits once its wait is over (the second run never joined).
    first.join().expect("thread").expect("first");
    assert_eq!(committed(&dir), vec![1]);
}

#[test]
fn a_member_that_panics_leaves_the_others_work_to_commit_without_its_own() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let first = member(&platform, 1);
    let p = platform.clone();
    let panicked = std::thread::spawn(move || {
        let _: Result<(), Error> = p.transact(|tx| {
            tx.execute("INSERT INTO t (x) VALUES (2)", [])
                .map_err(super::internal)?;
            panic!("a bug in the middle of a write");
        });
    })
    .join();
    assert!(panicked.is_err());
    first.join().expect("thread").expect("first");
    assert_eq!(committed(&dir), vec![1]);
}

#[test]
fn a_batch_that_sqlite_rolled_back_fails_every_member_and_commits_nothing() {
    // SQLite ends the whole transaction after some errors (an interrupt, a full disk, an
    // I/O error). Then no member may be told its work committed.
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let first = member(&platform, 1);
    let second = platform.transact(|tx| {
        tx.execute("INSERT INTO t (x) VALUES (2)", [])
            .map_err(super::internal)?;
        // What SQLite does to the transaction after such an error, with the error swallowed.
        tx.execute_batch("ROLLBACK").map_err(super::internal)?;
        Ok(())
    });
    assert!(matches!(second, Err(Error::Busy(_))), "{second:?}");
    let first = first.join().expect("thread");
    assert!(matches!(first, Err(Error::Busy(_))), "{first:?}");
    assert!(committed(&dir).is_empty());
    // The connection goes on.
    drop((_a, _b));
    insert(&platform, 3).expect("after");
    assert_eq!(committed(&dir), vec![3]);
}

#[test]
fn a_deadline_bound_member_never_shares_a_transaction_it_may_be_interrupted_in() {
    // SPEC ST-4: a step's statement is interrupted at its deadline, and an interrupt rolls
    // back the whole transaction. The batch waiting when such a step writes commits first.
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let first = member(&platform, 1);
    let (seen_tx, seen_rx) = mpsc::channel();
    let d = dir.path().to_owned();
    let step = {
        let p = platform.clone();
        std::thread::spawn(move || {
            let _bound = deadline::bind(Instant::now() + Duration::from_millis(100));
            p.transact(|tx| {
                let conn = rusqlite::Connection::open(d.join("flowhost.db")).expect("reader");
                let seen: i64 = conn
                    .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .expect("count");
                seen_tx.send(seen).expect("send");
                tx.execute("INSERT INTO t (x) VALUES (2)", [])
                    .map_err(super::internal)?;
                // Runs past the deadline: interrupted.
                tx.query_row(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
                    [],
                    |r| r.get::<i64>(0),
                )
                .map_err(super::internal)?;
                Ok(())
            })
        })
    };
    assert_eq!(
        seen_rx.recv().expect("seen"),
        1,
        "the batch committed before the step's work began"
    );
    assert!(step.join().expect("thread").is_err(), "interrupted");
    first.join().expect("thread").expect("first");
    assert_eq!(committed(&dir), vec![1]);
}

#[test]
fn a_read_never_sees_work_that_has_not_committed() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let first = member(&platform, 1);
    // A read on the shared connection commits the batch first.
    let seen: i64 = platform
        .db()
        .expect("db")
        .conn()
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .expect("count");
    assert_eq!(seen, 1);
    assert_eq!(committed(&dir), vec![1], "what was read had committed");
    first.join().expect("thread").expect("first");
}

#[test]
fn a_deadline_bound_member_commits_at_once_rather_than_wait_for_other_runs() {
    // SPEC ST-4: a step's host call never waits past its deadline for other runs' work.
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let started = Instant::now();
    let _bound = deadline::bind(started + Duration::from_secs(30));
    insert(&platform, 1).expect("insert");
    assert!(started.elapsed() < WAIT, "it waited for the runs in flight");
    assert_eq!(committed(&dir), vec![1]);
}

#[test]
fn an_error_that_may_rest_on_another_members_work_waits_for_that_work_to_commit() {
    // A key seen taken by a row another member inserted is an answer only once that row
    // has committed (had the batch failed, the key would never have been taken).
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    platform
        .transact(|tx| {
            tx.execute("CREATE UNIQUE INDEX t_x ON t (x)", [])
                .map_err(super::internal)?;
            Ok(())
        })
        .expect("index");
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let first = member(&platform, 7);
    let again = insert(&platform, 7);
    assert!(again.is_err(), "the key is taken");
    assert_eq!(
        committed(&dir),
        vec![7],
        "the refusal came before the row it rests on had committed"
    );
    first.join().expect("thread").expect("first");
}

#[test]
fn only_the_thread_executing_a_counted_run_can_take_it_out_of_the_count() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let count = || {
        platform
            .runs_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    let run = platform.in_flight();
    // A parallel part of the run, on a thread of its own, sleeps: the run is still counted.
    std::thread::scope(|s| {
        s.spawn(|| {
            let _idle = platform.idle();
            assert_eq!(count(), 1);
        });
    });
    {
        let _idle = platform.idle();
        assert_eq!(count(), 0, "the run's own sleep");
        let _again = platform.idle();
        assert_eq!(count(), 0, "idle once");
    }
    assert_eq!(count(), 1);
    drop(run);
    assert_eq!(count(), 0);
}

#[test]
fn after_a_wait_no_run_joined_in_time_the_next_transactions_do_not_wait() {
    // A run in flight busy with a long step never joins: its wait is paid once, not by
    // every transaction after it.
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _busy = platform.in_flight();
    let _this = platform.in_flight();
    let started = Instant::now();
    insert(&platform, 1).expect("first");
    assert!(
        started.elapsed() >= WAIT,
        "the first waits for the other run"
    );
    let started = Instant::now();
    for x in 2..=super::SKIP_AFTER_UNPAID_WAIT + 1 {
        insert(&platform, i64::from(x)).expect("insert");
    }
    assert!(
        started.elapsed() < WAIT,
        "later transactions waited again: {:?}",
        started.elapsed()
    );
    let again = Instant::now();
    insert(&platform, 100).expect("probe");
    assert!(again.elapsed() >= WAIT, "it never waits again");
    assert_eq!(committed(&dir).len(), 34);
}

#[test]
fn a_wait_runs_kept_joining_paid_and_the_next_transaction_waits_again() {
    // On a machine slower than the wait, runs in flight come round late in it: a batch whose
    // wait ended with two of three runs in it, the second joining in the wait's second half,
    // saved a commit, and stopping the waits after it stopped batching altogether there
    // (issue 19).
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _busy = platform.in_flight();
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let commits = platform.commits();
    let first = member(&platform, 1);
    std::thread::sleep(WAIT * 3 / 4);
    insert(&platform, 2).expect("second, in the first's batch");
    first.join().expect("thread").expect("first");
    assert_eq!(platform.commits() - commits, 1, "the two share one commit");
    let again = Instant::now();
    insert(&platform, 3).expect("third");
    assert!(
        again.elapsed() >= WAIT,
        "a wait that runs kept joining was taken for one that did not pay"
    );
    assert_eq!(committed(&dir), vec![1, 2, 3]);
}

#[test]
fn a_wait_nobody_joined_late_in_did_not_pay_however_many_joined_early() {
    // Two runs writing over and over beside a third in a long step: each batch fills at
    // once with the two and then waits for the third in vain. Its wait is unpaid, so the
    // next transactions do not each pay it (review of the rule above).
    let dir = tempfile::tempdir().expect("dir");
    let platform = platform(&dir);
    let _busy = platform.in_flight();
    let _a = platform.in_flight();
    let _b = platform.in_flight();
    let first = member(&platform, 1);
    let started = Instant::now();
    insert(&platform, 2).expect("second, in the first's batch");
    first.join().expect("thread").expect("first");
    assert!(
        started.elapsed() >= WAIT / 2,
        "the batch waited for the third run"
    );
    let again = Instant::now();
    insert(&platform, 3).expect("third");
    assert!(
        again.elapsed() < WAIT,
        "the next transaction waited again: {:?}",
        again.elapsed()
    );
    assert_eq!(committed(&dir), vec![1, 2, 3]);
}
