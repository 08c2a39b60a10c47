//! The PostgreSQL schema is the SQLite schema's twin (issue 18): every SQLite table exists in
//! PostgreSQL with the same columns, nullability, primary key, types and named indexes, so a
//! SQLite migration without its PostgreSQL twin fails here naming the table and column; the
//! triggers behave alike (an access change logs the same access_log rows on both, SPEC AU-2
//! and ID-4 hold on both); migrating is idempotent, safe from two hosts at once, and refuses
//! a database migrated by a newer flowhost.

use crate::common;

use std::collections::BTreeMap;

use common::postgres::{Client, TestDb};
use flowhost::store::postgres::{VERSION_TABLE, migrate, newest_version};

/// A fresh SQLite database migrated by flowhost, opened raw, with its directory.
fn fresh_sqlite() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("flowhost.db");
    drop(flowhost::store::Db::open(&path).expect("migrated SQLite database"));
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.pragma_update(None, "foreign_keys", "ON").expect("fk");
    (dir, conn)
}

fn fresh_postgres() -> (TestDb, Client) {
    let db = TestDb::new();
    let mut client = db.client();
    migrate(&mut client).expect("PostgreSQL schema migrates");
    (db, client)
}

/// (name, declared type, not null, position in the primary key: 0 if none).
type SqliteColumn = (String, String, bool, i64);

fn sqlite_tables(conn: &rusqlite::Connection) -> BTreeMap<String, Vec<SqliteColumn>> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    names
        .into_iter()
        .map(|table| {
            let columns = conn
                .prepare(
                    "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
                )
                .and_then(|mut s| {
                    s.query_map([&table], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect()
                })
                .expect("columns");
            (table, columns)
        })
        .collect()
}

/// What differs between the two schemas, each naming its table (and column): empty when
/// PostgreSQL has every SQLite table as SQLite has it.
fn schema_differences(sqlite: &rusqlite::Connection, pg: &mut Client) -> Vec<String> {
    let mut differences = Vec::new();
    let tables = sqlite_tables(sqlite);
    let pg_tables: Vec<String> = pg
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name::text <> $1",
            &[&VERSION_TABLE],
        )
        .expect("tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    for extra in pg_tables.iter().filter(|t| !tables.contains_key(*t)) {
        differences.push(format!("table {extra}: in PostgreSQL, not in SQLite"));
    }
    for (table, columns) in &tables {
        if !pg_tables.contains(table) {
            differences.push(format!(
                "table {table}: no PostgreSQL twin (add it to store/postgres with the SQLite migration)"
            ));
            continue;
        }
        let pg_columns: BTreeMap<String, (String, bool)> = pg
            .query(
                "SELECT column_name::text, data_type::text, is_nullable::text = 'YES'
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1",
                &[table],
            )
            .expect("columns")
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect();
        for (name, declared, not_null, pk) in columns {
            let Some((ty, nullable)) = pg_columns.get(name) else {
                differences.push(format!("{table}.{name}: no such column in PostgreSQL"));
                continue;
            };
            // PostgreSQL's primary keys are never NULL; flowhost never stores NULL in a
            // SQLite key either (a rowid key cannot be NULL).
            let sqlite_nullable = !*not_null && *pk == 0;
            if sqlite_nullable != *nullable {
                differences.push(format!(
                    "{table}.{name}: nullable in SQLite {sqlite_nullable}, in PostgreSQL {nullable}"
                ));
            }
            let expected = match declared.to_ascii_uppercase().as_str() {
                "INTEGER" => "bigint",
                "TEXT" => "text",
                "BLOB" => "bytea",
                "REAL" => "double precision",
                other => {
                    differences.push(format!(
                        "{table}.{name}: SQLite type {other} has no mapping"
                    ));
                    continue;
                }
            };
            if ty != expected {
                differences.push(format!(
                    "{table}.{name}: {declared} in SQLite, {ty} in PostgreSQL (expected {expected})"
                ));
            }
        }
        for name in pg_columns.keys() {
            if !columns.iter().any(|c| &c.0 == name) {
                differences.push(format!("{table}.{name}: in PostgreSQL, not in SQLite"));
            }
        }
        let mut sqlite_key: Vec<(i64, String)> = columns
            .iter()
            .filter(|c| c.3 > 0)
            .map(|c| (c.3, c.0.clone()))
            .collect();
        sqlite_key.sort();
        let sqlite_key: Vec<String> = sqlite_key.into_iter().map(|k| k.1).collect();
        let pg_key: Vec<String> = pg
            .query(
                "SELECT a.attname::text FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
                 WHERE i.indrelid = to_regclass($1) AND i.indisprimary
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
                &[table],
            )
            .expect("primary key")
            .iter()
            .map(|r| r.get(0))
            .collect();
        if sqlite_key != pg_key {
            differences.push(format!(
                "{table}: primary key {sqlite_key:?} in SQLite, {pg_key:?} in PostgreSQL"
            ));
        }
    }
    // Named indexes (the automatic ones of keys and UNIQUE aside) exist on the same table.
    let indexes: Vec<(String, String)> = sqlite
        .prepare(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        )
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("indexes");
    for (index, table) in indexes {
        let found: Option<String> = pg
            .query_opt(
                "SELECT tablename::text FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1",
                &[&index],
            )
            .expect("index")
            .map(|r| r.get(0));
        if found.as_deref() != Some(table.as_str()) {
            differences.push(format!(
                "index {index} on {table}: PostgreSQL has {found:?}"
            ));
        }
    }
    differences
}

#[test]
fn every_sqlite_table_has_its_postgres_twin() {
    let (_dir, sqlite) = fresh_sqlite();
    let (_db, mut pg) = fresh_postgres();
    let differences = schema_differences(&sqlite, &mut pg);
    assert!(
        differences.is_empty(),
        "the PostgreSQL schema is not the SQLite schema's twin:\n{}",
        differences.join("\n")
    );
}

/// The comparison is no formality: a SQLite column or table without its twin is named.
#[test]
fn a_sqlite_change_without_its_postgres_twin_is_named() {
    let (_dir, sqlite) = fresh_sqlite();
    let (_db, mut pg) = fresh_postgres();
    sqlite
        .execute_batch(
            "ALTER TABLE runs ADD COLUMN priority INTEGER;
             CREATE TABLE run_labels (run_id INTEGER NOT NULL, label TEXT NOT NULL, PRIMARY KEY (run_id, label));
             CREATE INDEX runs_by_priority ON runs (priority);",
        )
        .expect("a new SQLite migration");
    pg.batch_execute("ALTER TABLE cases ALTER COLUMN title DROP NOT NULL")
        .expect("a drifted PostgreSQL column");
    let differences = schema_differences(&sqlite, &mut pg).join("\n");
    for expected in [
        "runs.priority: no such column in PostgreSQL",
        "table run_labels: no PostgreSQL twin",
        "index runs_by_priority on runs",
        "cases.title: nullable in SQLite false, in PostgreSQL true",
    ] {
        assert!(
            differences.contains(expected),
            "{expected} not in:\n{differences}"
        );
    }
}

/// access_log rows: (epoch, workspace_id).
type LogRows = Vec<(i64, i64)>;

/// The same statements on both databases: what the access change log holds afterwards.
fn access_log_after(
    statements: &[&str],
    sqlite: &rusqlite::Connection,
    pg: &mut Client,
) -> (LogRows, LogRows) {
    for sql in statements {
        sqlite
            .execute_batch(sql)
            .unwrap_or_else(|e| panic!("SQLite {sql}: {e}"));
        pg.batch_execute(sql)
            .unwrap_or_else(|e| panic!("PostgreSQL {sql}: {e}"));
    }
    let on_sqlite: Vec<(i64, i64)> = sqlite
        .prepare("SELECT epoch, workspace_id FROM access_log ORDER BY epoch, workspace_id")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("SQLite access_log");
    let on_pg: Vec<(i64, i64)> = pg
        .query(
            "SELECT epoch, workspace_id FROM access_log ORDER BY epoch, workspace_id",
            &[],
        )
        .expect("PostgreSQL access_log")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    (on_sqlite, on_pg)
}

#[test]
fn access_changes_log_the_same_rows_on_both() {
    let (_dir, sqlite) = fresh_sqlite();
    let (_db, mut pg) = fresh_postgres();
    const BUMP: &str = "UPDATE access_epoch SET n = n + 1 WHERE id = 1";
    let (on_sqlite, on_pg) = access_log_after(
        &[
            // Epoch 1: three workspaces created.
            "INSERT INTO organizations (id, name) VALUES (1, 'acme'), (2, 'other')",
            "INSERT INTO workspaces (id, org_id, name) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c')",
            BUMP,
            // Epoch 2: members of a and b, and an upsert of one (its conflict clause must not
            // swallow the log's row).
            "INSERT INTO users (id, email) VALUES (1, 'ann@x.test'), (2, 'bob@x.test')",
            "INSERT INTO memberships (workspace_id, user_id, role, source) VALUES (1, 1, 'viewer', 'invite'), (2, 1, 'viewer', 'invite')",
            "INSERT INTO memberships (workspace_id, user_id, role, source) VALUES (2, 1, 'owner', 'invite')
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
            BUMP,
            // Epoch 3: a user's email keys their memberships in a and b.
            "UPDATE users SET email = 'ann2@x.test' WHERE id = 1",
            BUMP,
            // Epoch 4: an organization's name is part of its workspaces' entries (a, b only).
            "UPDATE organizations SET name = 'acme2' WHERE id = 1",
            BUMP,
            // Epoch 5: a custom role moved from b to c logs both; an SSO identity in a.
            "INSERT INTO custom_roles (workspace_id, name, scopes) VALUES (2, 'r', '[]')",
            "UPDATE custom_roles SET workspace_id = 3 WHERE name = 'r'",
            "INSERT INTO sso_identities (workspace_id, email, idp, outcome, claims, at) VALUES (1, 'x@y.test', 'idp', 'member', '{}', 0)",
            BUMP,
            // Epoch 6: keys in c, a membership deleted in a, a workspace updated (b).
            "INSERT INTO api_keys (id, workspace_id, name, kind, role, secret_hash, created_by, created_at) VALUES ('k1', 3, 'k', 'service', 'viewer', 'h', 'ann@x.test', 0)",
            "UPDATE api_keys SET revoked_at = 1 WHERE id = 'k1'",
            "DELETE FROM memberships WHERE workspace_id = 1",
            "UPDATE workspaces SET sso_only = 1 WHERE id = 2",
            BUMP,
            // Epoch 7 (not bumped yet): an SSO identity deleted, a key deleted.
            "DELETE FROM sso_identities",
            "DELETE FROM api_keys",
            // A write the index does not read logs nothing: a user added.
            "INSERT INTO users (id, email) VALUES (3, 'cy@x.test')",
        ],
        &sqlite,
        &mut pg,
    );
    let expected: Vec<(i64, i64)> = vec![
        (1, 1),
        (1, 2),
        (1, 3),
        (2, 1),
        (2, 2),
        (3, 1),
        (3, 2),
        (4, 1),
        (4, 2),
        (5, 1),
        (5, 2),
        (5, 3),
        (6, 1),
        (6, 2),
        (6, 3),
        (7, 1),
        (7, 3),
    ];
    assert_eq!(on_sqlite, expected, "SQLite's triggers");
    assert_eq!(
        on_pg, on_sqlite,
        "PostgreSQL's triggers log what SQLite's do"
    );
}

/// SPEC AU-2 and ID-4 hold in PostgreSQL as in SQLite: the audit log refuses updates and
/// deletes; runs, interactions and shares refuse an insert without a public id. The allowed
/// paths (an append, an insert with an id) pass.
#[test]
fn the_audit_log_is_append_only_and_public_ids_are_required_in_postgres() {
    let (_db, mut pg) = fresh_postgres();
    pg.batch_execute(
        "INSERT INTO audit_log (at, actor, actor_kind, workspace, action, target, number)
         VALUES (1, 'ann@x.test', 'user', 'a', 'user.invite', 'bob@x.test', 1)",
    )
    .expect("an append");
    for sql in [
        "UPDATE audit_log SET actor = 'eve@x.test'",
        "DELETE FROM audit_log",
    ] {
        let err = pg.batch_execute(sql).expect_err(sql);
        let text = format!("{:?}", err.as_db_error().map(|d| d.message()));
        assert!(text.contains("append-only (SPEC AU-2)"), "{sql}: {text}");
    }
    let err = pg
        .batch_execute(
            "INSERT INTO runs (workflow, workspace, principal, status, definition, source, started_at)
             VALUES ('wf', 'a', 'user:ann@x.test', 'running', '{}', 'wf.json', 0)",
        )
        .expect_err("a run without a public id");
    let text = format!("{:?}", err.as_db_error().map(|d| d.message()));
    assert!(
        text.contains("runs.public_id is required (SPEC ID-4)"),
        "{text}"
    );
    pg.batch_execute(
        "INSERT INTO runs (workflow, workspace, principal, status, definition, source, started_at, public_id)
         VALUES ('wf', 'a', 'user:ann@x.test', 'running', '{}', 'wf.json', 0, 'R-0123456789abcdef')",
    )
    .expect("a run with its public id");
    let err = pg
        .batch_execute(
            "INSERT INTO shares (kind, name, source, destination, status, shared_by, shared_at)
             VALUES ('workflow', 'wf', 'a', 'b', 'pending', 'ann@x.test', 0)",
        )
        .expect_err("a share without a public id");
    let text = format!("{:?}", err.as_db_error().map(|d| d.message()));
    assert!(
        text.contains("shares.public_id is required (SPEC ID-4)"),
        "{text}"
    );
    // An event written without an id (by a flowhost of before) gets one.
    pg.batch_execute(
        "INSERT INTO events (workspace, kind, payload, source) VALUES ('a', 'x', '{}', 't')",
    )
    .expect("an event from a flowhost of before");
    let id: String = pg
        .query_one("SELECT public_id FROM events", &[])
        .expect("its id")
        .get(0);
    flowhost::public_id::PublicId::parse(flowhost::public_id::IdKind::Event, &id).expect(&id);
    // Emails compare case-insensitively: stored lower-cased and trimmed, or refused.
    pg.batch_execute("INSERT INTO users (email) VALUES ('ann@x.test')")
        .expect("a lower-cased email");
    pg.batch_execute("INSERT INTO users (email) VALUES ('Ann@X.test')")
        .expect_err("a mixed-case email is refused");
}

/// Two hosts migrating at once, on a database whose default isolation is REPEATABLE READ too:
/// the one that waited for the other's lock read the version from before it, applied the
/// baseline again and failed to start (storage review).
#[test]
fn migrating_is_idempotent_safe_from_two_hosts_at_once_and_refuses_a_newer_schema() {
    for isolation in [None, Some("repeatable read"), Some("serializable")] {
        let db = TestDb::new();
        if let Some(level) = isolation {
            db.client()
                .batch_execute(&format!(
                    "ALTER DATABASE \"{}\" SET default_transaction_isolation = '{level}'",
                    db.name
                ))
                .expect("set the default isolation");
        }
        migrated_by_two_hosts_at_once(&db, isolation);
    }
}

fn migrated_by_two_hosts_at_once(db: &TestDb, isolation: Option<&str>) {
    let hosts: Vec<_> = (0..2)
        .map(|_| {
            let mut client = db.client();
            std::thread::spawn(move || migrate(&mut client))
        })
        .collect();
    for host in hosts {
        host.join()
            .expect("no panic")
            .unwrap_or_else(|e| panic!("each host migrates ({isolation:?}): {e}"));
    }
    let mut client = db.client();
    migrate(&mut client).expect("again: nothing to do");
    let versions: Vec<i64> = client
        .query(
            &format!("SELECT version FROM {VERSION_TABLE} ORDER BY version"),
            &[],
        )
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        versions,
        (1..=newest_version()).collect::<Vec<_>>(),
        "each migration once"
    );
    client
        .batch_execute(&format!(
            "INSERT INTO {VERSION_TABLE} (version, what) VALUES (999, 'future')"
        ))
        .expect("a newer flowhost's migration");
    let err = migrate(&mut client).expect_err("a newer schema is refused");
    assert!(err.to_string().contains("999"), "{err}");
}

/// Opening a database already at this version takes no lock, so one opener holding the
/// migration lock (paused, cut off) holds no other; an opener's session idle inside its
/// migration is ended by the server (round 16 kill review: every open waited behind it).
#[test]
fn opening_a_migrated_database_waits_for_no_other_opener() {
    let (db, mut holder) = fresh_postgres();
    let mut tx = holder.transaction().expect("begin");
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&0x666c_6f77_686f_7374_i64],
    )
    .expect("the migration lock, held");
    let (done, opened) = std::sync::mpsc::channel();
    let mut client = db.client();
    std::thread::spawn(move || {
        let _ = done.send(migrate(&mut client));
    });
    let result = opened
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("opened while another opener holds the lock");
    result.expect("migrated already");
    tx.rollback().expect("release");
}

/// A database whose encoding is not UTF-8 is refused at migration, naming it: text that
/// SQLite stores (an emoji in a title) failed there as the host's own failure (storage
/// review).
#[test]
fn a_database_not_in_utf8_is_refused_naming_its_encoding() {
    let db =
        TestDb::created_with("ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
    let mut client = db.client();
    let err = migrate(&mut client).expect_err("LATIN1");
    assert!(
        err.to_string().contains("encoding is LATIN1") && err.to_string().contains("UTF8"),
        "{err}"
    );
    let (_utf8, _) = fresh_postgres();
}

/// Another application's database is refused before anything is written, as its SQLite file
/// is: Flowhost's tables went in beside its own, or a clashing name (`users`) failed as the
/// host's own error (round 21 storage review). An empty database, and one holding only an
/// extension's relations, are made Flowhost's.
#[test]
fn another_applications_database_is_refused_and_left_as_it_was() {
    let db = TestDb::new();
    let mut client = db.client();
    client
        .batch_execute("CREATE TABLE users (id INT PRIMARY KEY); INSERT INTO users VALUES (7)")
        .expect("another application's table");
    let err = migrate(&mut client).expect_err("another application's database");
    assert!(err.to_string().contains("not a Flowhost database"), "{err}");
    let tables: Vec<String> = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .expect("tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tables, ["users"], "nothing written beside it");
    // Through the platform's own opening too, named as the database's fault.
    let opened = flowhost::store::Db::open_postgres(&db.url);
    let opened = opened.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(opened.contains("not a Flowhost database"), "{opened}");
    // An extension's relations are no one's data.
    let empty = TestDb::new();
    let mut client = empty.client();
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .ok();
    migrate(&mut client).expect("an empty database is made Flowhost's");
}

/// A migration's statement waits for its table's lock as any write does, then the migration
/// rolls back and is tried again: waiting on, it queued every other session's writes of that
/// table behind it for as long as one open transaction lasted (round 19 storage review).
/// PostgreSQL migration 24 trims case states of every white space as the doors trim them,
/// as SQLite's 44 does (round 25 review: `btrim` and `trim` remove spaces only).
#[test]
fn migration_24_trims_states_as_the_doors_trim_them() {
    let (_db, mut pg) = fresh_postgres();
    let stored = [
        "\t",
        "open\n",
        " open",
        "\u{a0}closed\u{3000}",
        "in progress",
        "\r\n\u{2028}",
    ];
    // Rows of before, with no workspace row behind them.
    pg.batch_execute("SET session_replication_role = replica")
        .expect("no foreign keys");
    for (n, state) in stored.iter().enumerate() {
        let n = n as i64 + 1;
        pg.execute(
            "INSERT INTO cases (workspace_id, title, severity, state, created_at, updated_at, number, restricted, public_id, shown_number)
             VALUES (1, 't', 2, $1, 0, 0, $2, 0, $3, $2)",
            &[state, &n, &format!("C-{n}")],
        )
        .expect("a row of before");
    }
    pg.batch_execute(&format!(
        "SET session_replication_role = DEFAULT; DELETE FROM {VERSION_TABLE} WHERE version >= 24"
    ))
    .expect("migration 24 back");
    migrate(&mut pg).expect("migrate");
    let states: Vec<String> = pg
        .query("SELECT state FROM cases ORDER BY number", &[])
        .expect("states")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        states,
        ["open", "open", "open", "closed", "in progress", "open"]
    );
}

#[test]
fn a_migration_waiting_for_a_tables_lock_lets_other_writers_by_and_then_applies() {
    let (db, mut setup) = fresh_postgres();
    // As an older database: migration 18 (its foreign key locks `runs`) and those after it
    // not applied.
    let newest = newest_version();
    setup
        .batch_execute(&format!(
            "DROP TABLE start_requests; ALTER TABLE signin_links DROP COLUMN used_by;
             ALTER TABLE case_updates DROP COLUMN run, DROP COLUMN request;
             ALTER TABLE runs DROP COLUMN binder, DROP COLUMN rules;
             ALTER TABLE cases DROP COLUMN request;
             ALTER TABLE run_timers DROP COLUMN passed_over;
             DELETE FROM {VERSION_TABLE} WHERE version >= 18"
        ))
        .expect("migrations back");
    // A writer of `runs` holds its transaction open.
    let mut holder = db.client();
    let mut held = holder.transaction().expect("begin");
    held.batch_execute("LOCK TABLE runs IN ROW EXCLUSIVE MODE")
        .expect("a write's lock");
    let (done, migrated) = std::sync::mpsc::channel();
    let mut client = db.client();
    std::thread::spawn(move || {
        let _ = done.send(migrate(&mut client));
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Another writer of `runs`, queued behind the migrator's wait, gets by within its own
    // wait.
    let mut writer = db.client();
    writer
        .batch_execute("SET lock_timeout = 8000; UPDATE runs SET status = status WHERE false")
        .expect("another write gets by the waiting migration");
    held.rollback().expect("the first writer ends");
    let result = migrated
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the migration is tried again");
    result.expect("applied once the table was free");
    let version: i64 = setup
        .query_one(&format!("SELECT max(version) FROM {VERSION_TABLE}"), &[])
        .expect("version")
        .get(0);
    assert_eq!(version, newest);
}
