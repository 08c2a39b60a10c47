//! The storage facade on PostgreSQL (issue 18): what differs from SQLite underneath and must
//! not show above it. Flags and small numbers read and bind as on SQLite; a parameter is
//! typed by what is bound to it; text sorts bytewise; a failed statement aborts the
//! transaction, and then a commit is an error (never PostgreSQL's silent rollback) while a
//! rollback to a savepoint makes it usable again; group commit keeps a failed member's work
//! out and the others' in; a dropped connection fails as the infrastructure's failure and is
//! opened again by the next operation.

use crate::common::postgres::TestDb;

use flowhost::store::Db;
use flowhost::store::sql::{Begin, Engine, OptionalExtension};

fn fresh() -> (TestDb, Db) {
    let test = TestDb::new();
    let db = Db::open_postgres(&test.url).expect("a migrated PostgreSQL database");
    assert_eq!(db.engine(), Engine::Postgres);
    (test, db)
}

#[test]
fn flags_numbers_and_unused_parameters_behave_as_on_sqlite() {
    let (_test, db) = fresh();
    let conn = db.conn();
    // A BOOL expression reads as a Rust bool, and a bool binds into a BOOL context.
    let yes: bool = conn
        .query_row("SELECT ?1 <> 0 AND EXISTS (SELECT 1)", [true], |r| r.get(0))
        .expect("bool");
    assert!(yes);
    // A u32 that does not fit is refused when read, never truncated.
    let err = conn
        .query_row("SELECT CAST(-1 AS BIGINT)", [], |r| r.get::<u32>(0))
        .expect_err("-1 is no u32");
    assert!(err.to_string().contains("out of range"), "{err}");
    // A parameter the query never uses still binds (typed by its value).
    let n: i64 = conn
        .query_row(
            "SELECT CAST(?1 AS BIGINT) + 1 WHERE ?2 IS NULL OR TRUE",
            (41_i64, "x"),
            |r| r.get(0),
        )
        .expect("typed by the bound values");
    assert_eq!(n, 42);
    // A parameter PostgreSQL would type as text from a CASE alone binds as the integer it is.
    let n: Option<i64> = conn
        .query_row(
            "SELECT CASE WHEN ?1 = 'failed' THEN ?2 END",
            ("failed", 7_i64),
            |r| r.get(0),
        )
        .expect("CASE");
    assert_eq!(n, Some(7));
    // No row is None, not an error.
    let none: Option<i64> = conn
        .query_row("SELECT 1 WHERE FALSE", [], |r| r.get(0))
        .optional()
        .expect("optional");
    assert_eq!(none, None);
}

#[test]
fn text_sorts_bytewise_as_on_sqlite() {
    let (_test, db) = fresh();
    let conn = db.conn();
    for name in ["beta", "Zulu", "alpha", "Alpha", "_x"] {
        conn.execute("INSERT INTO organizations (name) VALUES (?1)", [name])
            .expect("insert");
    }
    let mut stmt = conn
        .prepare("SELECT name FROM organizations ORDER BY name")
        .expect("prepare");
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    // Bytewise: upper case before `_` before lower case, as SQLite's BINARY collation.
    assert_eq!(names, ["Alpha", "Zulu", "_x", "alpha", "beta"]);
}

#[test]
fn a_failed_statement_aborts_the_transaction_and_its_commit_is_refused() {
    let (_test, db) = fresh();
    let conn = db.conn();
    conn.begin(Begin::Write).expect("begin");
    conn.execute("INSERT INTO organizations (name) VALUES ('kept?')", [])
        .expect("insert");
    conn.execute("INSERT INTO organizations (name) VALUES ('kept?')", [])
        .expect_err("a duplicate name");
    assert!(conn.is_aborted(), "PostgreSQL aborted the transaction");
    let err = conn
        .commit()
        .expect_err("an aborted transaction does not commit");
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert!(conn.is_autocommit());
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM organizations WHERE name = 'kept?'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(n, 0, "nothing of it committed");

    // Rolled back to a savepoint, the transaction works again and commits the rest.
    conn.begin(Begin::Write).expect("begin");
    conn.execute("INSERT INTO organizations (name) VALUES ('first')", [])
        .expect("insert");
    conn.savepoint("member").expect("savepoint");
    conn.execute("INSERT INTO organizations (name) VALUES ('first')", [])
        .expect_err("a duplicate name");
    assert!(conn.is_aborted());
    conn.rollback_to("member").expect("rollback to");
    assert!(!conn.is_aborted());
    conn.commit().expect("commit");
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM organizations WHERE name = 'first'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(n, 1);
}

#[test]
fn the_write_lock_makes_a_second_writer_wait_and_a_bounded_one_give_up() {
    let (test, first) = fresh();
    let second = Db::open_postgres(&test.url).expect("second host");
    first
        .conn()
        .begin(Begin::Write)
        .expect("first holds the write lock");
    let started = std::time::Instant::now();
    let err = {
        let _bound =
            flowhost::store::deadline::bind(started + std::time::Duration::from_millis(200));
        second
            .conn()
            .begin(Begin::Write)
            .expect_err("the lock is held past the deadline")
    };
    let waited = started.elapsed();
    assert!(
        flowhost::store::is_infrastructure(&err),
        "a lock wait that timed out is the infrastructure's failure: {err}"
    );
    assert!(
        waited >= std::time::Duration::from_millis(150),
        "{waited:?}"
    );
    assert!(
        second.conn().is_autocommit(),
        "the failed begin left nothing open"
    );
    first.conn().commit().expect("commit");
    second.conn().begin(Begin::Write).expect("free now");
    second.conn().commit().expect("commit");
}

/// The server process of `db`'s connection.
fn backend_pid(db: &Db) -> i32 {
    db.conn()
        .query_row("SELECT pg_backend_pid()", [], |r| r.get(0))
        .expect("pid")
}

/// Ends server process `pid` (its session) from another session.
fn terminate(test: &TestDb, pid: i32) {
    test.client()
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .expect("terminate");
}

/// The organizations named `name`.
fn count_named(db: &Db, name: &str) -> i64 {
    db.conn()
        .query_row(
            "SELECT count(*) FROM organizations WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .expect("count")
}

/// Issue 18, round trips: a write nobody reads the answer of goes out with the next
/// statement that needs one. It is done in order (the next query sees it), its failure is
/// the failure of whatever sent it, as the work's own and never as the infrastructure's, and
/// a rollback drops what was never sent without failing.
#[test]
fn a_deferred_write_is_done_in_order_and_its_failure_is_the_senders() {
    let (_test, db) = fresh();
    let conn = db.conn();
    // In order: the query sent after it sees it.
    conn.begin(Begin::Leased).expect("begin");
    conn.execute_later("INSERT INTO organizations (name) VALUES (?1)", ["later"])
        .expect("deferred");
    let seen: i64 = conn
        .query_row(
            "SELECT count(*) FROM organizations WHERE name = 'later'",
            [],
            |r| r.get(0),
        )
        .expect("the query sends it first");
    assert_eq!(seen, 1);
    conn.commit().expect("commit");
    assert_eq!(count_named(&db, "later"), 1);

    // A failing one fails the statement sent after it, which did nothing.
    conn.begin(Begin::Leased).expect("begin");
    conn.execute_later("INSERT INTO organizations (name) VALUES (?1)", ["later"])
        .expect("deferred: nothing is sent yet");
    let err = conn
        .execute("INSERT INTO organizations (name) VALUES ('after')", [])
        .expect_err("the duplicate name goes out first");
    assert!(err.to_string().contains("duplicate"), "{err}");
    assert!(!flowhost::store::is_infrastructure(&err), "{err}");
    assert!(conn.is_aborted());
    conn.rollback().expect("rollback");
    assert_eq!(count_named(&db, "after"), 0);

    // One the commit sends fails the commit, and nothing of the transaction is kept.
    conn.begin(Begin::Leased).expect("begin");
    conn.execute("INSERT INTO organizations (name) VALUES ('with it')", [])
        .expect("insert");
    conn.execute_later("INSERT INTO organizations (name) VALUES (?1)", ["later"])
        .expect("deferred");
    let err = conn.commit().expect_err("the commit sends the duplicate");
    assert!(!flowhost::store::is_infrastructure(&err), "{err}");
    assert!(conn.is_autocommit());
    assert_eq!(count_named(&db, "with it"), 0, "nothing of it committed");

    // A rollback drops what was never sent: no error, nothing done.
    conn.begin(Begin::Leased).expect("begin");
    conn.execute_later("INSERT INTO organizations (name) VALUES (?1)", ["later"])
        .expect("deferred");
    conn.execute_later("INSERT INTO organizations (name) VALUES (?1)", ["dropped"])
        .expect("deferred");
    conn.rollback().expect("a rollback of nothing sent");
    assert!(conn.is_autocommit());
    assert_eq!(count_named(&db, "dropped"), 0);

    // Outside a transaction it runs at once.
    conn.execute_later("INSERT INTO organizations (name) VALUES (?1)", ["at once"])
        .expect("autocommit");
    assert_eq!(count_named(&db, "at once"), 1);

    // One that cannot be prepared fails its sender and loses nothing of the transaction: its
    // begin still goes first, so what follows is inside it and goes with its rollback
    // (review of the change: the begin was dropped with it, and what followed committed on
    // its own).
    conn.begin(Begin::Leased).expect("begin");
    conn.execute_later("INSERT INTO no_such_table (name) VALUES (?1)", ["x"])
        .expect("deferred");
    conn.execute("INSERT INTO organizations (name) VALUES ('unprepared')", [])
        .expect_err("the deferred statement does not prepare");
    let _ = conn.execute("INSERT INTO organizations (name) VALUES ('after it')", []);
    conn.rollback().expect("rollback");
    assert_eq!(
        count_named(&db, "after it"),
        0,
        "nothing ran outside the transaction"
    );
}

/// A server that takes no writes (a standby, a database set read-only) is the
/// infrastructure's failure, as SQLite's read-only file is, not the host's own: a run stops
/// resumable and an event stays pending (SPEC WF-11; storage review).
#[test]
fn a_read_only_server_is_the_infrastructures_failure() {
    let (_test, db) = fresh();
    let conn = db.conn();
    conn.execute("SET default_transaction_read_only = on", [])
        .expect("set");
    let err = conn
        .execute("INSERT INTO organizations (name) VALUES ('refused')", [])
        .expect_err("read-only");
    assert!(flowhost::store::is_infrastructure(&err), "{err}");
    conn.execute("SET default_transaction_read_only = off", [])
        .expect("set");
    let err = conn
        .execute(
            "INSERT INTO organizations (id, name) VALUES (NULL, 'x')",
            [],
        )
        .expect_err("a broken constraint");
    assert!(!flowhost::store::is_infrastructure(&err), "{err}");
}

/// A transaction whose session dies while a deferred statement of it is being prepared is
/// lost whole: nothing of it goes out on the next session, inside another transaction or on
/// its own (second review of the pipelining: the unsent statements were put back, and the
/// next operation sent them, so failed work committed).
#[test]
fn a_deferred_statement_of_a_transaction_lost_with_its_session_is_never_sent() {
    let (test, db) = fresh();
    let conn = db.conn();
    let pid = backend_pid(&db);
    // Prepared already: the next one goes straight to sending what waits before it.
    conn.query_row("SELECT 1", [], |r| r.get::<i64>(0))
        .expect("prepared");
    conn.begin(Begin::Leased).expect("begin");
    conn.execute("INSERT INTO organizations (name) VALUES ('sent')", [])
        .expect("sent: the transaction is under way");
    // A statement this session has not prepared: its prepare is a round trip of its own.
    conn.execute_later(
        "INSERT INTO organizations (name) VALUES (?1) -- not prepared yet",
        ["stale"],
    )
    .expect("deferred");
    terminate(&test, pid);
    let err = conn
        .query_row("SELECT 1", [], |r| r.get::<i64>(0))
        .expect_err("the session is gone");
    assert!(flowhost::store::is_infrastructure(&err), "{err}");
    assert!(
        conn.is_autocommit(),
        "the transaction died with its session"
    );
    conn.execute("INSERT INTO organizations (name) VALUES ('next')", [])
        .expect("a new session");
    assert_eq!(count_named(&db, "next"), 1);
    assert_eq!(
        count_named(&db, "stale"),
        0,
        "the lost transaction's statement was sent"
    );
    assert_eq!(count_named(&db, "sent"), 0);
}

/// A session the server dropped while idle is replaced by a transaction's first statement
/// when nothing of the transaction was sent yet (its begin waits to go with it): the work
/// goes through, where a begin sent at once would have failed on the dead session.
#[test]
fn a_transaction_begun_on_a_dropped_session_goes_through_on_a_new_one() {
    let (test, db) = fresh();
    let pid = backend_pid(&db);
    terminate(&test, pid);
    // Let the server's termination reach the client's socket.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let conn = db.conn();
    conn.begin(Begin::Leased).expect("begin");
    conn.execute(
        "INSERT INTO organizations (name) VALUES ('on a new session')",
        [],
    )
    .expect("sent on a new session");
    conn.commit().expect("commit");
    assert_eq!(count_named(&db, "on a new session"), 1);
    let new_pid = backend_pid(&db);
    assert_ne!(new_pid, pid);
}

/// A session dropped under a transaction that had sent work fails it as the infrastructure's
/// failure (the work is lost and tried again), and the next operation opens a new one.
#[test]
fn a_dropped_connection_fails_as_infrastructure_and_is_opened_again() {
    let (test, db) = fresh();
    let pid = backend_pid(&db);
    db.conn().begin(Begin::Leased).expect("begin");
    db.conn()
        .execute("INSERT INTO organizations (name) VALUES ('lost')", [])
        .expect("sent");
    terminate(&test, pid);
    let err = db
        .conn()
        .query_row("SELECT 1", [], |r| r.get::<i64>(0))
        .expect_err("the server dropped the connection");
    assert!(flowhost::store::is_infrastructure(&err), "{err}");
    assert!(db.conn().is_autocommit(), "the transaction died with it");
    assert_eq!(count_named(&db, "lost"), 0);
    let one: i64 = db
        .conn()
        .query_row("SELECT 1", [], |r| r.get(0))
        .expect("opened again");
    assert_eq!(one, 1);
}

/// A transaction's wake-up goes with its `COMMIT` (the same round trip): delivered once
/// however often it was asked for, never for a transaction rolled back, at once outside one.
#[test]
fn a_notification_is_sent_with_its_commit_and_never_after_a_rollback() {
    use flowhost::store::postgres::notify_work;
    use std::time::Duration;
    let (_test, db) = fresh();
    let mut listener = db.server().expect("a server").listen().expect("listening");
    let conn = db.conn();
    let quiet = Duration::from_millis(300);

    conn.begin(Begin::Write).expect("begin");
    notify_work(conn).expect("asked");
    conn.rollback().expect("rollback");
    assert!(
        !listener.wait(quiet).expect("listen"),
        "nothing rolled back wakes anyone"
    );

    conn.begin(Begin::Write).expect("begin");
    notify_work(conn).expect("asked");
    notify_work(conn).expect("asked again");
    assert!(
        !listener.wait(quiet).expect("listen"),
        "nothing before the commit"
    );
    conn.commit().expect("commit");
    assert!(
        listener.wait(Duration::from_secs(5)).expect("listen"),
        "woken by the commit"
    );
    assert!(!listener.wait(quiet).expect("listen"), "once");

    // A rolled-back transaction's request does not ride on the next one's commit.
    conn.begin(Begin::Write).expect("begin");
    notify_work(conn).expect("asked");
    conn.rollback().expect("rollback");
    conn.begin(Begin::Write).expect("begin");
    conn.commit().expect("commit");
    assert!(!listener.wait(quiet).expect("listen"));

    notify_work(conn).expect("outside a transaction");
    assert!(
        listener.wait(Duration::from_secs(5)).expect("listen"),
        "at once"
    );
}

/// A host paused (SIGSTOP) or cut off inside a transaction held the deployment's write lock
/// for as long as its session lived, and every other host's writes failed as busy (kill and
/// concurrency review). The server now ends a session idle in a transaction after
/// `IDLE_IN_TRANSACTION`, freeing its locks; the paused host's transaction is lost, never
/// committed, and its connection opens again for its next operation.
#[test]
fn a_session_idle_in_a_transaction_is_ended_and_its_locks_freed() {
    use std::time::{Duration, Instant};
    let (test, paused) = fresh();
    paused.conn().begin(Begin::Write).expect("begin");
    paused
        .conn()
        .execute("INSERT INTO organizations (name) VALUES ('lost')", [])
        .expect("insert");
    let other = Db::open_postgres(&test.url).expect("a second host");
    let started = Instant::now();
    let bound = flowhost::store::IDLE_IN_TRANSACTION + Duration::from_secs(10);
    let mut refused = 0;
    while let Err(e) = other.conn().begin(Begin::Write) {
        refused += 1;
        assert!(started.elapsed() < bound, "still locked out: {e}");
    }
    other
        .conn()
        .execute("INSERT INTO organizations (name) VALUES ('kept')", [])
        .expect("insert");
    other.conn().commit().expect("commit");
    assert!(refused > 0, "the paused session's lock was held at first");
    // Lost, as the infrastructure's failure (SPEC WF-11): the host's work is tried again,
    // not failed or set aside as if it were the data's.
    let lost = paused
        .conn()
        .commit()
        .expect_err("the paused host's work is lost");
    assert!(flowhost::store::is_infrastructure(&lost), "{lost}");
    let names: Vec<String> = paused
        .conn()
        .prepare("SELECT name FROM organizations WHERE name IN ('lost', 'kept')")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("its connection opens again")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(names, ["kept"]);
}

/// Under a deadline (a request's, a step's), a statement outside any transaction runs in one
/// of its own bounded by it, begun, run and committed in one round trip (its COMMIT sent
/// with it): a write commits (another connection sees it), a statement past the deadline is
/// stopped at it, a failed one leaves nothing open, and the connection goes on.
#[test]
fn a_statement_outside_a_transaction_is_bounded_by_the_deadline_and_leaves_nothing_open() {
    let (test, db) = fresh();
    let other = Db::open_postgres(&test.url).expect("another connection");
    let conn = db.conn();
    conn.execute_batch("CREATE TABLE t (n BIGINT PRIMARY KEY)")
        .expect("table");
    let bound = |ms: u64| {
        flowhost::store::deadline::bind(
            std::time::Instant::now() + std::time::Duration::from_millis(ms),
        )
    };
    {
        let _deadline = bound(10_000);
        conn.execute("INSERT INTO t (n) VALUES (?1)", [1_i64])
            .expect("a write");
        let seen: i64 = other
            .conn()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(seen, 1, "committed");
        conn.execute("INSERT INTO t (n) VALUES (?1)", [1_i64])
            .expect_err("a duplicate key");
        conn.execute("INSERT INTO t (n) VALUES (?1)", [2_i64])
            .expect("the connection goes on");
    }
    {
        let _deadline = bound(200);
        let started = std::time::Instant::now();
        conn.query_row("SELECT 1 FROM pg_sleep(5)", [], |r| r.get::<i64>(0))
            .expect_err("stopped at the deadline");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
    }
    let n: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .expect("nothing left open");
    assert_eq!(n, 2);
    conn.begin(Begin::Write).expect("a transaction begins");
    conn.commit().expect("and commits");
}

/// A workspace's lock changes no row: a transaction that only takes it counts no change, as
/// on SQLite (round 19 storage review: its `SELECT 1` tag counted one, and a refusal that
/// only locked read as an access write on PostgreSQL).
#[test]
fn a_workspace_lock_counts_no_changed_row() {
    let (_test, db) = fresh();
    let conn = db.conn();
    let before = conn.total_changes().expect("changes");
    conn.begin(Begin::Leased).expect("begin");
    conn.lock_workspace("mssp-soc").expect("locked");
    conn.execute("INSERT INTO organizations (name) VALUES ('counted')", [])
        .expect("one write, sent with the lock");
    conn.commit().expect("commit");
    assert_eq!(conn.total_changes().expect("changes"), before + 1);
}
