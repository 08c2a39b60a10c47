//! `flowhost db migrate --to URL` (issue 18), through the real binary: a SQLite database the
//! binary filled (the example tenant, an SSO login, a published workflow with its pinned
//! component, runs that create cases, an interaction answered, audit entries) is copied into
//! an empty PostgreSQL database row for row; a second copy is refused and changes nothing; a
//! bad URL, an unreachable server and a missing file are refused with exit status 2 (invalid
//! input or the host's failure, cli/error.rs); a value of the wrong storage class is refused
//! naming table, column and row, leaving PostgreSQL as it was.

use crate::common;

use std::path::Path;

use common::postgres::{Client, TestDb, postgres_rows, sqlite_rows};
use common::{Deployment, ECHO, library, text};
use serde_json::Value;

const OWNER: &str = "olivia.owner@acme-mssp.test";
const LEAD: &str = "sam.lead@acme-mssp.test";
const ANALYST: &str = "tina.analyst@acme-mssp.test";

fn steps_dir() -> String {
    Path::new(ECHO)
        .parent()
        .expect("component directory")
        .display()
        .to_string()
}

/// A database the real binary filled with a bit of everything.
fn filled_deployment() -> Deployment {
    let env = Deployment::new();
    let steps = steps_dir();
    env.ok(&[
        "sso",
        "login",
        "--idp",
        "globex-entra",
        "--claims",
        r#"{"email":"rita@globex.test","groups":["Flowhost-Requesters"]}"#,
    ]);
    env.ok(&[
        "workflows",
        "publish",
        &library("collaborators-from-step.json"),
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    env.ok(&[
        "run",
        &library("collaborators-from-step.json"),
        "--as",
        LEAD,
        "--steps",
        &steps,
    ]);
    let started: Value = serde_json::from_str(&env.ok(&[
        "run",
        &library("mssp-analyst-triage.json"),
        "--as",
        LEAD,
        "--event",
        r#"{"alert":"beacon"}"#,
        "--steps",
        &steps,
        "--json",
    ]))
    .expect("JSON");
    let interaction = started["waiting_on"][0]
        .as_str()
        .expect("an interaction id")
        .to_owned();
    env.ok(&[
        "interact",
        "respond",
        &interaction,
        "--as",
        ANALYST,
        "--values",
        r#"{"verdict":"escalate"}"#,
    ]);
    env
}

/// Each SQLite table's columns and the order its rows are compared in (its primary key).
fn tables(conn: &rusqlite::Connection) -> Vec<(String, Vec<String>, String)> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    names
        .into_iter()
        .map(|table| {
            let columns: Vec<(String, i64)> = conn
                .prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")
                .and_then(|mut s| {
                    s.query_map([&table], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .expect("columns");
            let mut key: Vec<(i64, String)> = columns
                .iter()
                .filter(|c| c.1 > 0)
                .map(|c| (c.1, format!("\"{}\"", c.0)))
                .collect();
            key.sort();
            assert!(
                !key.is_empty(),
                "{table} has a primary key to compare rows by"
            );
            let order = key.into_iter().map(|k| k.1).collect::<Vec<_>>().join(", ");
            (table, columns.into_iter().map(|c| c.0).collect(), order)
        })
        .collect()
}

/// Every table's rows, all columns, as both sides print them.
fn dump_sqlite(db: &Path) -> Vec<(String, common::postgres::Rows)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open SQLite");
    tables(&conn)
        .into_iter()
        .map(|(table, columns, order)| {
            let rows = sqlite_rows(&conn, &table, &columns, &order);
            (table, rows)
        })
        .collect()
}

fn dump_postgres(db: &Path, pg: &mut Client) -> Vec<(String, common::postgres::Rows)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open SQLite");
    tables(&conn)
        .into_iter()
        .map(|(table, columns, order)| {
            let rows = postgres_rows(pg, &table, &columns, &order);
            (table, rows)
        })
        .collect()
}

/// The database file and its WAL, byte for byte.
fn file_bytes(db: &Path) -> Vec<Vec<u8>> {
    ["", "-wal"]
        .iter()
        .map(|suffix| std::fs::read(format!("{}{suffix}", db.display())).unwrap_or_default())
        .collect()
}

fn migrate(env: &Deployment, url: &str) -> std::process::Output {
    env.cli(&["db", "migrate", "--to", url])
}

#[test]
fn a_filled_database_is_copied_row_for_row_and_a_second_copy_is_refused() {
    let env = filled_deployment();
    let pg_db = TestDb::new();
    let before = file_bytes(&env.db);
    let out = migrate(&env, &pg_db.url);
    assert!(out.status.success(), "db migrate: {}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("counts verified"), "{printed}");
    assert_eq!(file_bytes(&env.db), before, "the SQLite file is only read");

    let sqlite = dump_sqlite(&env.db);
    let mut pg = pg_db.client();
    let copied = dump_postgres(&env.db, &mut pg);
    for ((table, expected), (_, got)) in sqlite.iter().zip(&copied) {
        assert_eq!(got, expected, "table {table} differs after the copy");
        let line = printed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table.as_str()))
            .unwrap_or_else(|| panic!("no summary line for {table}: {printed}"));
        assert!(
            line.ends_with(&format!(" {} rows", expected.len())),
            "{line}"
        );
    }
    // The copy is no formality: the tables the sample work fills hold rows, blobs included.
    for table in [
        "cases",
        "case_people",
        "case_timeline",
        "runs",
        "run_steps",
        "interactions",
        "audit_log",
        "access_log",
        "memberships",
        "sso_identities",
        "workflow_revisions",
        "components",
    ] {
        let rows = &sqlite.iter().find(|(t, _)| t == table).expect(table).1;
        assert!(
            !rows.is_empty(),
            "{table} is empty: the sample work did not fill it"
        );
    }
    // New ids continue past the copied ones.
    for table in ["runs", "cases", "audit_log"] {
        let (max, next): (i64, i64) = {
            let row = pg
                .query_one(
                    &format!(
                        "SELECT (SELECT MAX(id) FROM {table}), nextval(pg_get_serial_sequence('{table}', 'id'))"
                    ),
                    &[],
                )
                .expect("sequence");
            (row.get(0), row.get(1))
        };
        assert_eq!(next, max + 1, "{table}'s next id");
    }

    // A second copy into the same database is refused and changes nothing.
    let again = migrate(&env, &pg_db.url);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let message = text(&again);
    assert!(
        message.contains("the PostgreSQL database is not empty")
            && message.contains("nothing was written"),
        "{message}"
    );
    assert_eq!(
        dump_postgres(&env.db, &mut pg),
        copied,
        "the refused copy changed PostgreSQL"
    );
}

#[test]
fn a_bad_url_an_unreachable_server_and_a_missing_file_exit_2_with_a_clear_error() {
    let env = Deployment::new();
    for (url, expected) in [
        ("not a url at all ://", "not a PostgreSQL URL"),
        // What `--db` would read as a file afterwards (round 17 storage review).
        (
            "host=/tmp dbname=flowhost",
            "not a PostgreSQL URL as --db reads one",
        ),
        (
            "postgres://postgres@127.0.0.1:1/flowhost",
            "cannot connect to PostgreSQL at 127.0.0.1 port 1",
        ),
        (
            "postgres://postgres@%2Fnonexistent%2Fflowhost-socket/flowhost",
            "cannot connect to PostgreSQL at /nonexistent/flowhost-socket",
        ),
    ] {
        let out = migrate(&env, url);
        assert_eq!(out.status.code(), Some(2), "{url}: {}", text(&out));
        assert!(text(&out).contains(expected), "{url}: {}", text(&out));
    }
    let pg_db = TestDb::new();
    let missing = env.dir.path().join("missing.db");
    let out = common::flowhost(
        env.dir.path(),
        &missing,
        &["db", "migrate", "--to", &pg_db.url],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("there is no SQLite database file at"),
        "{}",
        text(&out)
    );
    assert!(!missing.exists(), "the missing file was created");
    assert_eq!(
        tables_in(&mut pg_db.client()),
        0,
        "nothing was written to PostgreSQL"
    );
    // Another application's file at a schema version of its own is no source, said so (round
    // 21 storage review: told to open it first, which then refused it).
    let foreign = env.dir.path().join("notes.db");
    rusqlite::Connection::open(&foreign)
        .expect("open")
        .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY); PRAGMA user_version = 37;")
        .expect("another application's file");
    let out = common::flowhost(
        env.dir.path(),
        &foreign,
        &["db", "migrate", "--to", &pg_db.url],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a Flowhost database"),
        "{}",
        text(&out)
    );
    assert_eq!(tables_in(&mut pg_db.client()), 0);
    // Nor another application's PostgreSQL database a target: refused as not Flowhost's, its
    // table left alone (it failed as the host's own "schemas do not match").
    pg_db
        .client()
        .batch_execute("CREATE TABLE users (id INT PRIMARY KEY)")
        .expect("another application's table");
    let out = migrate(&env, &pg_db.url);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a Flowhost database"),
        "{}",
        text(&out)
    );
    assert_eq!(tables_in(&mut pg_db.client()), 1);
}

/// A file a live flowhost process uses is not copied: what that host accepts after the
/// copy's snapshot would exist only in SQLite, and its runs would be taken over on
/// PostgreSQL and executed again (round 25 kill and concurrency review). Its lock file
/// released, the copy goes ahead; a stale one left by an ended process is no process.
#[test]
fn a_file_a_live_process_uses_is_not_copied() {
    let env = Deployment::new();
    let pg_db = TestDb::new();
    let leases = env.dir.path().join("leases");
    std::fs::create_dir_all(&leases).expect("leases");
    std::fs::write(leases.join("00000000deadbeef"), b"").expect("a stale lock file");
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(leases.join("0123456789abcdef"))
        .expect("a lock file");
    held.try_lock().expect("held, as a live host holds it");
    let out = migrate(&env, &pg_db.url);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("owner 0123456789abcdef") && text(&out).contains("stop it first"),
        "{}",
        text(&out)
    );
    assert_eq!(tables_in(&mut pg_db.client()), 0, "nothing written");
    drop(held);
    // A live process naming this database by another path is this one's: a path that does
    // not resolve here (written in a container) and an alias (a hard link, as a bind mount
    // is) (round 26 review of round 25: compared as text, the copy went on under it).
    let alias = env.dir.path().join("alias.db");
    std::fs::hard_link(&env.db, &alias).expect("an alias");
    for named in [
        std::path::PathBuf::from("/elsewhere/flowhost.db"),
        alias.clone(),
    ] {
        let other = held_naming(&leases.join("0123456789abcdef"), &named);
        let out = migrate(&env, &pg_db.url);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            named.display(),
            text(&out)
        );
        assert!(text(&out).contains("stop it first"), "{}", text(&out));
        drop(other);
    }
    std::fs::remove_file(&alias).expect("alias removed");
    // A live process of another database beside it (its lock file names that database) is
    // none of this one's: databases in one directory share `leases/` (round 25 self-review).
    let other_db = env.dir.path().join("other.db");
    std::fs::write(&other_db, b"").expect("another database");
    let beside = held_naming(&leases.join("fedcba9876543210"), &other_db);
    let out = migrate(&env, &pg_db.url);
    assert!(out.status.success(), "{}", text(&out));
    drop(beside);
}

/// A lock file at `path`, held as a live host holds it, naming database `db`.
fn held_naming(path: &std::path::Path, db: &std::path::Path) -> std::fs::File {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .expect("a lock file");
    file.try_lock().expect("held");
    std::fs::write(path, db.display().to_string()).expect("names its database");
    file
}

/// A `serve` idle since its start is seen: its lock file is held from its scheduler's first
/// round (and, since round 25, from its start, before that round), so the copy is refused;
/// stopped, the file is copied. Round 25 storage review; this guards `live_processes`
/// finding an idle host, not the earlier hold, which its first round makes anyway (round 26
/// review).
#[test]
fn a_file_an_idle_serve_uses_is_not_copied() {
    let env = Deployment::new();
    let pg_db = TestDb::new();
    let mut serve = std::process::Command::new(common::flowhost_bin())
        .current_dir(env.dir.path())
        .arg("--db")
        .arg(common::db_arg(&env.db))
        .args(["serve", "--poll-ms", "50"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    // Started: its lock file is there (before its first run, which never comes).
    let leases = env.dir.path().join("leases");
    let started = std::time::Instant::now();
    while std::fs::read_dir(&leases).map_or(true, |mut d| d.next().is_none()) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "serve took no lock file"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let refused = migrate(&env, &pg_db.url);
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("stop it first"),
        "{}",
        text(&refused)
    );
    assert_eq!(tables_in(&mut pg_db.client()), 0, "nothing written");
    let out = migrate(&env, &pg_db.url);
    assert!(out.status.success(), "{}", text(&out));
}

/// A file written while it is copied (a command, a host not seen by its lock file) is not
/// copied: the copy would leave out what was written after its snapshot. PostgreSQL is left
/// as it was (round 25 storage review).
#[test]
fn a_file_written_during_its_copy_is_not_copied() {
    let env = filled_deployment();
    let pg_db = TestDb::new();
    let writer = rusqlite::Connection::open(&env.db).expect("open");
    writer
        .busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let mut copy = std::process::Command::new(common::flowhost_bin())
        .current_dir(env.dir.path())
        .arg("--db")
        .arg(common::db_arg(&env.db))
        .args(["db", "migrate", "--to", &pg_db.url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("db migrate starts");
    while copy.try_wait().expect("status").is_none() {
        writer
            .execute("UPDATE cases SET updated_at = updated_at + 1", [])
            .expect("a write");
    }
    let out = copy.wait_with_output().expect("output");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("was written while it was copied"),
        "{}",
        text(&out)
    );
    assert_eq!(tables_in(&mut pg_db.client()), 0, "nothing written");
}

fn tables_in(pg: &mut Client) -> i64 {
    pg.query_one(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
        &[],
    )
    .expect("count")
    .get(0)
}

#[test]
fn a_value_of_the_wrong_storage_class_is_refused_naming_where_and_nothing_is_written() {
    let env = filled_deployment();
    let run: i64 = {
        let conn = rusqlite::Connection::open(&env.db).expect("open");
        // INTEGER affinity keeps text that is not a number as text: PostgreSQL's bigint
        // cannot hold it, and the copy must not guess.
        conn.execute(
            "UPDATE runs SET started_at = 'yesterday' WHERE id = (SELECT MAX(id) FROM runs)",
            [],
        )
        .expect("corrupt a value");
        conn.query_row("SELECT MAX(id) FROM runs", [], |r| r.get(0))
            .expect("id")
    };
    let pg_db = TestDb::new();
    let out = migrate(&env, &pg_db.url);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains(&format!(
            "runs.started_at of the row id={run}: the text \"yesterday\", which does not fit PostgreSQL's bigint"
        )),
        "{message}"
    );
    assert_eq!(
        tables_in(&mut pg_db.client()),
        0,
        "PostgreSQL is as it was: not even the schema"
    );

    // Fixed, the same database copies.
    rusqlite::Connection::open(&env.db)
        .expect("open")
        .execute("UPDATE runs SET started_at = 0 WHERE id = ?1", [run])
        .expect("fix");
    let out = migrate(&env, &pg_db.url);
    assert!(out.status.success(), "{}", text(&out));
}
