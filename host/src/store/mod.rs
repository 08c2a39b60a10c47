//! Storage: opening the database (an SQLite file, or a PostgreSQL server), versioned
//! migrations, and the records of step executions. Every storage module speaks to either
//! through the facade in `sql/`. On SQLite: WAL mode and foreign keys on; every multi-row
//! write is one transaction, and every transaction takes the write lock when it begins (see
//! [`Db::open`]).

pub mod access;
pub mod audit;
mod batch;
mod checkpoint;
pub mod clock;
pub mod deadline;
pub mod events;
pub(crate) mod failure;
#[cfg(test)]
pub(crate) use failure::sample_errors;
pub mod json;
mod migrations;
pub mod postgres;
pub(crate) mod sight;
pub mod sql;
mod steps;
mod values;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::TransactionBehavior;
use rusqlite::config::DbConfig;
use std::ops::Deref;

use self::sql::{Engine, Params, Row};

pub(crate) use batch::{Entry, Failure, Joined};
pub use events::StoredEvent;
pub use failure::{chain_is_infrastructure, is_infrastructure, refused_input};
/// The handles the services pass to their storage modules (`*/store.rs`): only storage
/// modules query them (see ARCHITECTURE.md, "The storage boundary").
pub use sql::{Connection, Error as StoreError};
pub use steps::{
    ExecutionRecord, RecordedExecution, record_in, record_later_unless_journaled, record_without_id,
};

/// The default database location, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = ".flowhost/flowhost.db";

/// WAL pages after which the database file is checkpointed (`checkpoint.rs`).
const WAL_CHECKPOINT_PAGES: u32 = 32_768;

/// How long a statement or a transaction waits for another process's write lock before
/// failing with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a PostgreSQL session may sit idle inside a transaction before the server ends it
/// and frees its locks. Flowhost's transactions wait on nothing but the database (no step
/// runs inside one, and group commit does not wait there), so an idle one belongs to a host
/// paused (SIGSTOP, a VM frozen) or cut off mid-transaction: it held the deployment's write
/// lock or a workspace's lock, and every other host's writes failed as busy until it came
/// back, or for the kernel's two hours of keepalive after a partition (kill and concurrency
/// review). The default heartbeat TTL (`runs/lease.rs`): such a host is fenced by then.
pub const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(10);

/// An open, migrated database.
pub struct Db {
    conn: Connection,
    /// The file it was opened from; `None` in memory and on PostgreSQL.
    path: Option<std::path::PathBuf>,
    /// The PostgreSQL server it is connected to.
    url: Option<String>,
    /// Transactions this connection has committed (its commit hook counts them).
    commits: Arc<AtomicU64>,
    /// The group commit open on it, if any (`batch.rs`).
    batch: Option<batch::OpenBatch>,
    /// The thread that checkpoints an SQLite file's WAL (`checkpoint.rs`), stopped when the
    /// database is dropped; `None` in memory and on PostgreSQL.
    _checkpointer: Option<checkpoint::Checkpointer>,
}

/// The transaction a piece of work is done in: the connection, inside a transaction that
/// the caller ([`crate::platform::Platform`]) commits or rolls back. Several pieces of work
/// may share one transaction (`batch.rs`), so it offers no commit of its own.
pub struct Transaction<'c> {
    conn: &'c Connection,
}

impl<'c> Transaction<'c> {
    fn new(conn: &'c Connection) -> Self {
        Self { conn }
    }
}

impl Db {
    /// Its connection as a [`Transaction`], each statement committing on its own: for unit
    /// tests of storage functions that take one.
    #[cfg(test)]
    pub(crate) fn autocommit_tx(&self) -> Transaction<'_> {
        Transaction::new(&self.conn)
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Db {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        // Checked before anything is created: a bad setting leaves no file behind.
        synchronous()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!(
                    "cannot create the database directory {}: {e}",
                    dir.display()
                )
            })?;
        }
        let conn = rusqlite::Connection::open(path)
            .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", path.display()))?;
        Self::init(conn, Some(path.to_owned()))
    }

    /// Opens the database at `location`: an SQLite file, or a PostgreSQL server (whose schema
    /// is migrated to this version's).
    pub fn open_at(location: &Location) -> anyhow::Result<Self> {
        match location {
            Location::File(path) => Self::open(path),
            Location::Postgres(url) => Self::open_postgres(url),
        }
    }

    /// Connects to the PostgreSQL database at `url` and migrates its schema.
    pub fn open_postgres(url: &str) -> anyhow::Result<Self> {
        let mut client = postgres::connect(url)?;
        postgres::migrate(&mut client)?;
        drop(client);
        Self::on_server(url, "")
    }

    /// Another connection to the PostgreSQL database at `url`, whose schema a first
    /// connection has migrated (a host's writing connections for its runs,
    /// `platform/writers.rs`).
    pub fn open_writer(url: &str) -> anyhow::Result<Self> {
        // Its transactions run the same keyed statements (a run's rows, a new case) thousands
        // of times a second: planned once, not afresh at each run as the server otherwise
        // does when a parameter's value could matter (`benches/README.md`, 2026-12-05: 7-10%
        // more runs a second).
        Self::on_server(url, "SET plan_cache_mode = force_generic_plan")
    }

    fn on_server(url: &str, setup: &str) -> anyhow::Result<Self> {
        let conn = Connection::open_postgres(url, setup)?;
        let commits = conn
            .commit_counter()
            .ok_or_else(|| anyhow::anyhow!("a PostgreSQL connection counts its commits"))?;
        Ok(Self {
            conn,
            path: None,
            url: Some(url.to_owned()),
            commits,
            batch: None,
            _checkpointer: None,
        })
    }

    /// An in-memory database (tests and benchmarks).
    pub fn open_in_memory() -> anyhow::Result<Self> {
        Self::init(rusqlite::Connection::open_in_memory()?, None)
    }

    fn init(
        mut conn: rusqlite::Connection,
        path: Option<std::path::PathBuf>,
    ) -> anyhow::Result<Self> {
        // The busy timeout, but never past a step's deadline; and a statement a step's host
        // call started is interrupted once the deadline passes (`deadline.rs`, SPEC ST-4).
        conn.busy_handler(Some(deadline::busy_handler(BUSY_TIMEOUT)))?;
        conn.progress_handler(deadline::PROGRESS_OPS, Some(deadline::interrupt))?;
        // Every transaction begins IMMEDIATE, i.e. holding the write lock (SPEC WF-11). Our
        // transactions all write; a deferred one that reads first would have to upgrade its
        // lock, and SQLite fails such an upgrade at once with SQLITE_BUSY when another process
        // wrote meanwhile (the busy timeout cannot help: waiting could deadlock). Beginning
        // IMMEDIATE waits on the busy timeout instead, and whatever the transaction reads is
        // current until it commits. Set here, so no write path can forget it.
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        // Room for every statement on the hot paths (runs, journal, cases, audit, events).
        conn.set_prepared_statement_cache_capacity(128);
        refuse_another_applications(&conn)?;
        enable_wal(&conn)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", synchronous()?)?;
        // Savepoints' journals in memory: group commit (`batch.rs`) puts each member's work in
        // a savepoint, whose journal SQLite otherwise writes to a temporary file, page by
        // page, as often as the WAL frames the batch saves (`benches/README.md`).
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Checkpoint after ~128 MiB of WAL rather than SQLite's 4 MiB: a run rewrites the
        // same few hot pages, which a checkpoint copies once however often they were written,
        // and each checkpoint costs two fsyncs. At 32 MiB the stalls were the p99 of runs in
        // flight (~30 ms) and ~10% of their throughput (`benches/README.md`); at 4 MiB, ~7% of
        // a run one at a time. A file's checkpoints then move to a thread of their own, below.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        // Plans that never depend on bound values. Without this, a statement whose plan SQLite
        // thinks a binding might change is re-prepared every time the statement cache clears
        // its bindings, which made a case read cost more than the write beside it.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        migrations::migrate(&mut conn)?;
        // After the migrations, which checkpoint as they go: no run waits for those.
        let checkpointer = match &path {
            Some(path) => Some(checkpoint::Checkpointer::install(
                &mut conn,
                path,
                WAL_CHECKPOINT_PAGES,
            )?),
            None => None,
        };
        // Counted after the migrations: what the workflow bench and the tests of issue 19
        // read as commits per run.
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        conn.commit_hook(Some(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            false
        }))?;
        Ok(Self {
            conn: Connection::from_sqlite(conn),
            path,
            url: None,
            commits,
            batch: None,
            _checkpointer: checkpointer,
        })
    }

    /// The count of transactions this connection has committed since it was opened, live.
    pub fn commit_counter(&self) -> Arc<AtomicU64> {
        self.commits.clone()
    }

    /// The file this database was opened from; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The PostgreSQL server it is connected to (`None` for SQLite).
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// Which engine it is.
    pub fn engine(&self) -> Engine {
        self.conn.engine()
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> anyhow::Result<u32> {
        match self.conn.sqlite() {
            Some(c) => Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?),
            None => {
                let v: i64 = self.conn.query_row(
                    &format!(
                        "SELECT coalesce(max(version), 0) FROM {}",
                        postgres::VERSION_TABLE
                    ),
                    [],
                    |r| r.get(0),
                )?;
                Ok(u32::try_from(v)?)
            }
        }
    }

    /// A second connection to the same file, for reads that must not wait behind the writes
    /// of this one (WAL lets a reader go on while a writer writes); `None` in memory, where
    /// a second connection would open another, empty database. It refuses writes
    /// (`query_only`), so nothing can bypass the transactions of this one.
    ///
    /// On PostgreSQL, a second connection whose transactions are read-only.
    pub fn open_reader(&self) -> anyhow::Result<Option<Connection>> {
        if let Some(url) = &self.url {
            let conn = Connection::open_postgres(url, "SET default_transaction_read_only = on")?;
            return Ok(Some(conn));
        }
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let mut conn = rusqlite::Connection::open(path)
            .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", path.display()))?;
        conn.busy_handler(Some(deadline::busy_handler(BUSY_TIMEOUT)))?;
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(Some(Connection::from_sqlite(conn)))
    }

    /// The PostgreSQL server this database is on, to open more connections to it (a host's
    /// heartbeat, its wake-up listener); `None` on SQLite.
    pub fn server(&self) -> Option<postgres::Server> {
        self.url.as_deref().map(postgres::Server::new)
    }

    /// The underlying connection, for the store modules of later layers.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// The condition that run `run` (an SQL expression: a column, or a cast parameter) read a
/// case, as `c` (joined from `cases`), for which `cond` (an SQL condition on `c`) holds: among
/// its own reads numbered up to `upto` (an SQL expression; all it has read where it is NULL),
/// or among what its ancestors (`run_ancestors`: the runs whose events started it, and
/// theirs) had read when its event was written (`upto` there), which are not copied to it.
///
/// Two lookups by key, one per side: written as one condition on a row of `run_cases`
/// (`run_id = run OR EXISTS (ancestor)`), neither SQLite nor PostgreSQL could use the key,
/// and every check scanned the whole table, every tenant's (storage and kill reviews).
pub(crate) fn lineage_read(run: &str, upto: &str, cond: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM run_cases rc JOIN cases c ON c.id = rc.case_id
                  WHERE rc.run_id = {run} AND ({upto} IS NULL OR rc.seq <= {upto}) AND {cond})
          OR EXISTS (SELECT 1 FROM run_ancestors a
                     JOIN run_cases rc ON rc.run_id = a.ancestor_id AND rc.seq <= a.upto
                     JOIN cases c ON c.id = rc.case_id
                     WHERE a.run_id = {run} AND {cond}))"
    )
}

/// The condition that run `run` (an SQL expression), or a run it descends from
/// (`run_ancestors`), was started by a case event for which `cond` (an SQL condition on `se`,
/// the event, and `sc`, its case) holds: two keyed looks, as [`lineage_read`].
pub(crate) fn lineage_started(run: &str, cond: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM runs sr JOIN events se ON se.id = sr.trigger_event
                  JOIN cases sc ON sc.id = se.case_id
                  WHERE sr.id = {run} AND {cond})
          OR EXISTS (SELECT 1 FROM run_ancestors sa JOIN runs sr ON sr.id = sa.ancestor_id
                     JOIN events se ON se.id = sr.trigger_event
                     JOIN cases sc ON sc.id = se.case_id
                     WHERE sa.run_id = {run} AND {cond}))"
    )
}

/// The payloads (as stored) of the events that started run `run` or a run it descends from
/// (`run_ancestors`) for which `cond` (an SQL condition on `e`, the event) holds: two keyed
/// looks, not one `OR` (PostgreSQL scanned every tenant's runs for that; round 27 storage
/// review), as [`lineage_started`].
pub(crate) fn lineage_payloads(
    conn: &Connection,
    run: i64,
    cond: &str,
) -> sql::Result<Vec<String>> {
    let sql = format!(
        "SELECT e.payload FROM runs r JOIN events e ON e.id = r.trigger_event
         WHERE r.id = ?1 AND {cond}
         UNION ALL
         SELECT e.payload FROM run_ancestors a
           JOIN runs r ON r.id = a.ancestor_id JOIN events e ON e.id = r.trigger_event
         WHERE a.run_id = ?1 AND {cond}"
    );
    all_rows(conn, &sql, sql::params![run], |r| r.get::<String>(0))
}

/// [`lineage_started`]'s condition that a case event written at a restricted sight
/// (`events.sight`) is about a case widened since (`cases.widened`), or names who left it in a
/// change that widened it (-1): those who see it now may not have seen it then, and the run
/// it started is hidden from every reader who does not bypass restrictions (round 28 leak
/// reviews).
pub(crate) const STAMP_CHANGED: &str =
    "se.sight IS NOT NULL AND (se.sight < 0 OR sc.widened > se.sight)";

/// The condition (on `c`, the case, and `rc`, its `run_cases` row, as [`lineage_read`]
/// joins them) that a run's read of a restricted case is hidden from a reader given as SQL
/// expressions: `reads_cases` (0 or 1: may they read cases at all, SPEC CS-4), `email` (as
/// `case_people` stores it), `also` (a second person who must be named too, a run's), and
/// `as_read` (0 or 1): the case is restricted now and does not name them, or, judged as read,
/// it was widened (`cases.widened`) since a read that kept its sight (`run_cases.sight`, not
/// NULL): those it was widened to did not see it then (SPEC CS-2; see `cases::store::Judged`). Written once for every reader of a run's reads.
pub(crate) fn read_hidden(
    reads_cases: &str,
    email: &str,
    also: Option<&str>,
    as_read: &str,
) -> String {
    let also = also.map_or(String::new(), |also| {
        format!(
            "OR (CAST({also} AS TEXT) IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM case_people p WHERE p.case_id = c.id AND p.email = {also}))"
        )
    });
    format!(
        "((c.restricted <> 0
           AND ({reads_cases} = 0
                OR NOT EXISTS (SELECT 1 FROM case_people p WHERE p.case_id = c.id AND p.email = {email})
                {also}))
          OR ({as_read} <> 0 AND rc.sight IS NOT NULL AND c.widened > rc.sight))"
    )
}

/// Every row `sql` returns for `params`, each read by `read`, collected (into a `Vec`, a map,
/// ...): the prepare, query and collect every storage module's lists would spell out again.
pub fn all_rows<T, C: FromIterator<T>, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    read: impl FnMut(&Row<'_>) -> sql::Result<T>,
) -> sql::Result<C> {
    let mut stmt = conn.prepare(sql)?;
    stmt.query_map(params, read)?.collect()
}

/// Runs a bounded delete: `sql` takes the bound it deletes before as `?1` and the most rows
/// to delete as `?2` (housekeeping's batches); how many it deleted.
pub fn delete_at_most(
    conn: &Connection,
    sql: &str,
    bound: i64,
    limit: usize,
) -> sql::Result<usize> {
    // A batch size never comes near `i64::MAX`.
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(sql)?
        .execute(sql::params![bound, limit])
}

/// Where the database is: an SQLite file, or a PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (created with its schema on first use).
    File(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://user@host/db`).
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is a server; anything else a file path.
    pub fn parse(text: &str) -> Self {
        let scheme = |s: &str| {
            text.get(..s.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(s))
        };
        if scheme("postgres://") || scheme("postgresql://") {
            Location::Postgres(text.to_owned())
        } else {
            Location::File(text.into())
        }
    }
}

/// For messages: the file's path, or the server's URL without its password (the userinfo's
/// `:PASSWORD` and a `password=` query parameter are left out).
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

/// `url` as PostgreSQL's client reads it, rebuilt from what it read (user, hosts, ports,
/// database) with no password: cut by hand, a password holding `/` or `?` (which the client
/// reads up to the first `@`) was printed whole, and a percent-encoded `password` key passed
/// (leak review). A URL the client cannot read is shown by its scheme only.
fn without_password(url: &str) -> String {
    let scheme = url
        .split_once("://")
        .map_or("postgres", |(scheme, _)| scheme);
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return format!("{scheme}://… (a URL that does not read)");
    };
    let mut shown = format!("{scheme}://");
    if let Some(user) = config.get_user() {
        shown.push_str(&encoded(user));
        shown.push('@');
    }
    // A password holding a raw `@` is read only up to the first (anywhere in the URL, past
    // `/` and `?` too), and the rest taken for the host, the database and the options: shown,
    // they would be part of the password. Such a URL names nothing past its user here.
    if url.matches('@').count() > 1 {
        shown.push('…');
        return shown;
    }
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => encoded(&path.to_string_lossy()),
            };
            // One port for every host, or one each.
            match ports.get(i).or(if ports.len() == 1 {
                ports.first()
            } else {
                None
            }) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    shown.push_str(&hosts.join(","));
    if let Some(db) = config.get_dbname() {
        shown.push('/');
        shown.push_str(&encoded(db));
    }
    shown
}

/// `text` with what a URL's part may not hold as is percent-encoded.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod shown_tests {
    use super::without_password;

    #[test]
    fn no_password_is_shown_whatever_it_holds() {
        for (url, shown) in [
            (
                "postgres://ann:pa/ss?word@db.example:5433/flow",
                "postgres://ann@db.example:5433/flow",
            ),
            (
                "postgresql://ann:s3cret@h1,h2/flow?passw%6frd=x&sslmode=disable",
                "postgresql://ann@h1:5432,h2:5432/flow",
            ),
            (
                "postgres://postgres@%2Frun%2Fpg/flowhost?password=x",
                "postgres://postgres@%2Frun%2Fpg:5432/flowhost",
            ),
        ] {
            assert_eq!(without_password(url), shown);
        }
        let unread = without_password("postgres://ann:secret@host:notaport/db");
        assert!(!unread.contains("secret"), "{unread}");
    }
}

/// The variable that chooses when commits reach the disk: `normal` (the default: a commit
/// is durable against a crash of the process; against a power loss or an OS crash, once the
/// next checkpoint has synced the WAL) or `full` (every commit synced before it returns; with
/// group commit, one sync for all the runs in a batch).
pub const SYNC_VAR: &str = "FLOWHOST_SYNC";

/// SQLite's `synchronous` setting from [`SYNC_VAR`]; any other value is an error naming it.
fn synchronous() -> anyhow::Result<&'static str> {
    match std::env::var(SYNC_VAR) {
        Err(std::env::VarError::NotPresent) => Ok("NORMAL"),
        Ok(v) if v.eq_ignore_ascii_case("normal") => Ok("NORMAL"),
        Ok(v) if v.eq_ignore_ascii_case("full") => Ok("FULL"),
        Ok(v) => Err(anyhow::anyhow!(
            "{SYNC_VAR}={v:?} is not a durability: use `normal` or `full`"
        )),
        Err(e) => Err(anyhow::anyhow!("{SYNC_VAR}: {e}")),
    }
}

/// Refuses, before anything is written, a file that holds tables but no Flowhost schema (its
/// version 0): another application's database, which opening migrated beside its own tables
/// or left half-migrated on a clashing name, where PostgreSQL refuses a database without the
/// schema (round 20 storage review). A new or empty file is made a Flowhost database.
pub(crate) fn refuse_another_applications(conn: &rusqlite::Connection) -> anyhow::Result<()> {
    // One statement, one snapshot: another process migrating a new file may commit its first
    // migration between two reads (round 20 self-review).
    let (version, tables, ours): (i64, i64, bool) = conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version),
                (SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'),
                EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'step_executions')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    // Any version a Flowhost migration set holds the first migration's table; another
    // application's own `user_version` does not (round 20 self-review: one at 37 was
    // migrated on from there).
    if (version == 0 && tables > 0) || (version > 0 && !ours) {
        anyhow::bail!(
            "the file holds {tables} tables or indexes but no Flowhost schema: it is not a \
             Flowhost database (give a new file, or one a flowhost command made)"
        );
    }
    Ok(())
}

/// Puts the database in WAL mode. On a new database several processes may try at once;
/// switching needs an exclusive lock, and SQLite refuses the losers with SQLITE_BUSY without
/// waiting (they hold a shared lock, so waiting could deadlock). They try again until the
/// busy timeout has passed (SPEC WF-11).
fn enable_wal(conn: &rusqlite::Connection) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => return Ok(()),
            Err(e) if failure::is_sqlite_infrastructure(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot switch the database to WAL mode: {e}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// A cached statement runs again without being compiled again, whatever is bound to it.
    #[test]
    fn cached_statements_are_not_reprepared_per_binding() {
        let db = Db::open_in_memory().expect("db");
        let conn = db.conn().sqlite().expect("SQLite");
        for id in 1..=5_i64 {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT part, email FROM case_people WHERE case_id = ?1 ORDER BY part, email LIMIT ?2",
                )
                .expect("prepare");
            let rows: Vec<(String, String)> = stmt
                .query_map(rusqlite::params![id, id], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            assert!(rows.is_empty());
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "call {id}");
        }
    }

    #[test]
    fn a_postgres_url_is_a_server_and_anything_else_a_file() {
        for url in ["postgres://u@h/db", "POSTGRESQL://u@h/db", "postgres://x"] {
            assert_eq!(
                Location::parse(url),
                Location::Postgres(url.to_owned()),
                "{url}"
            );
        }
        for path in ["flowhost.db", "postgres", "./postgres://x", ""] {
            assert_eq!(Location::parse(path), Location::File(path.into()), "{path}");
        }
    }

    /// Issue 18: a URL's password never reaches a message. Shown as the client read it
    /// (user, hosts with their ports, database), nothing else of it.
    #[test]
    fn a_server_is_shown_without_its_password() {
        for (url, shown) in [
            ("postgres://u:secret@h/db", "postgres://u@h:5432/db"),
            (
                "postgresql://u:s%40cr:et@h:5433/db",
                "postgresql://u@h:5433/db",
            ),
            // A raw `@` in the password: nothing past the user is shown (it would be the
            // password's end).
            (
                "postgres://u:p@secret@h/db?sslmode=disable",
                "postgres://u@…",
            ),
            ("postgres://u:ab@secret/ef@h:5432/db", "postgres://u@…"),
            ("postgres://u:Xy?9@secret@h:5432/db", "postgres://u@…"),
            (
                "postgres://u@h/db?password=secret&application_name=x",
                "postgres://u@h:5432/db",
            ),
            // The client reads no such key: nothing of it is shown.
            (
                "postgres://u@h/db?PASSWORD=secret",
                "postgres://… (a URL that does not read)",
            ),
            ("postgres://u:secret@h", "postgres://u@h:5432"),
            ("postgres://u@h/db", "postgres://u@h:5432/db"),
            (
                "postgres://%2Ftmp%2Fsock/db",
                "postgres://%2Ftmp%2Fsock:5432/db",
            ),
        ] {
            let location = Location::parse(url);
            assert_eq!(location.to_string(), shown, "{url}");
            assert!(!location.to_string().contains("secret"), "{url}");
        }
        let file = Location::parse("/srv/flowhost/u:secret@x.db");
        assert_eq!(
            file.to_string(),
            "/srv/flowhost/u:secret@x.db",
            "a file is its path"
        );
    }
}
