//! A connection to either engine, its statements and its rows: the calls every storage module
//! makes, written once. SQLite's side hands them to rusqlite as they are; PostgreSQL's goes
//! through `pg.rs`.

use super::pg::{self, PgConn, TxState};
use super::value::{FromSql, FromSqlError, ToSql, ToSqlOutput, ValueRef};
use super::{Error, Params, Result};

/// Which engine a connection talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, embedded.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How a transaction begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// A transaction that writes, holding the database's write lock from its first statement
    /// (SQLite `BEGIN IMMEDIATE`; PostgreSQL takes the deployment's write lock, see
    /// [`WRITE_LOCK`]).
    Write,
    /// A transaction that writes only rows its caller alone may write (a run's own rows,
    /// which the run's lease guards) and numbered rows, which lock their workspace
    /// ([`Connection::lock_workspace`]) (issue 18; ARCHITECTURE, "Several hosts"). On SQLite
    /// the same as [`Begin::Write`] (one writer is all SQLite has); on PostgreSQL it does not
    /// take [`WRITE_LOCK`], so hosts write their runs side by side.
    Leased,
    /// A read-only transaction that reads one snapshot throughout.
    ReadSnapshot,
}

impl Begin {
    /// Whether a transaction begun as `self` may also do the work of one begun as `wanted`
    /// on an engine `engine` (a batch's members share one transaction, `store/batch.rs`).
    pub fn covers(self, wanted: Begin, engine: Engine) -> bool {
        match (self, wanted) {
            (Begin::ReadSnapshot, _) | (_, Begin::ReadSnapshot) => self == wanted,
            (Begin::Write, _) => true,
            (Begin::Leased, Begin::Leased) => true,
            // SQLite's every write transaction holds its one write lock.
            (Begin::Leased, Begin::Write) => engine == Engine::Sqlite,
        }
    }
}

/// The PostgreSQL advisory lock a write transaction ([`Begin::Write`]) holds until it ends:
/// the one-writer rule that SQLite's write lock gives, on which the caps counted before an
/// insert and access decisions made under the lock rest (ARCHITECTURE, "PostgreSQL"). A
/// run's own rows do without it ([`Begin::Leased`]), and so do a workspace's numbered rows,
/// which take their workspace's lock ([`Connection::lock_workspace`]) whether it is held or
/// not. Its key spells "flowwrit" in ASCII (migrating holds "flowhost").
pub const WRITE_LOCK: i64 = 0x666c_6f77_7772_6974;

/// The PostgreSQL advisory lock between access data and the writes decided on it without
/// [`WRITE_LOCK`] (a case created or restricted on a writing connection): each takes it
/// shared before it reads the access data it decides on, and a change of access data
/// exclusively before it commits ([`Connection::lock_access`]). A member removed on another
/// host could otherwise commit between such a write's decision and its commit, which then
/// landed on access data already gone (round 23 kill and concurrency review). Its key spells
/// "flowaccs" in ASCII.
pub const ACCESS_LOCK: i64 = 0x666c_6f77_6163_6373;

/// A connection to the database.
pub struct Connection(Backend);

enum Backend {
    Sqlite(rusqlite::Connection),
    // Boxed: its statement cache and client make it several times SQLite's size.
    Postgres(Box<PgConn>),
}

impl Connection {
    /// The connection of an open SQLite database.
    pub fn from_sqlite(conn: rusqlite::Connection) -> Self {
        Self(Backend::Sqlite(conn))
    }

    /// A connection to the PostgreSQL server at `url`. `session` is SQL every session of it
    /// runs first (and again after a reconnect), e.g. `SET …`. Lock waits are bounded as
    /// SQLite's busy timeout bounds them. A session left idle inside a transaction for
    /// [`crate::store::IDLE_IN_TRANSACTION`] is ended by the server, with its locks.
    pub fn open_postgres(url: &str, session: &str) -> Result<Self> {
        let session = format!(
            "SET lock_timeout = {}; SET idle_in_transaction_session_timeout = {}; {session}",
            crate::store::BUSY_TIMEOUT.as_millis(),
            crate::store::IDLE_IN_TRANSACTION.as_millis()
        );
        Ok(Self(Backend::Postgres(Box::new(PgConn::open(
            url, &session,
        )?))))
    }

    /// Which engine it talks to.
    pub fn engine(&self) -> Engine {
        match &self.0 {
            Backend::Sqlite(_) => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    /// SQLite's connection, for what only SQLite has (pragmas, hooks); `None` on PostgreSQL.
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.0 {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    /// [`Connection::sqlite`], mutable (migrations).
    pub fn sqlite_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.0 {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    /// A statement for `sql`, kept prepared for the next call with the same text.
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement(match &self.0 {
            Backend::Sqlite(c) => StatementInner::SqliteCached(c.prepare_cached(sql)?),
            Backend::Postgres(c) => StatementInner::Postgres(c, sql.to_owned()),
        }))
    }

    /// A statement for `sql`, prepared for this use (PostgreSQL keeps every statement).
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement(match &self.0 {
            Backend::Sqlite(c) => StatementInner::Sqlite(c.prepare(sql)?),
            Backend::Postgres(c) => StatementInner::Postgres(c, sql.to_owned()),
        }))
    }

    /// Runs `sql` once; the rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    /// The first row `sql` returns, read by `f`; [`Error::QueryReturnedNoRows`] if none.
    pub fn query_row<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare(sql)?.query_row(params, f)
    }

    /// Runs statements without parameters (schema changes in tests, `SET`).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(c) => c.batch(sql),
        }
    }

    /// Begins a transaction.
    pub fn begin(&self, how: Begin) -> Result<()> {
        match (&self.0, how) {
            (Backend::Sqlite(c), Begin::Write | Begin::Leased) => {
                Ok(c.execute_batch("BEGIN IMMEDIATE")?)
            }
            (Backend::Sqlite(c), Begin::ReadSnapshot) => Ok(c.execute_batch("BEGIN DEFERRED")?),
            (Backend::Postgres(c), write @ (Begin::Write | Begin::Leased)) => {
                // One round trip: begin, bound it by the step's deadline if one is bound to
                // this thread (SPEC ST-4: SQLite's progress handler does this there), take
                // the write lock unless the work is a run's own.
                // READ COMMITTED whatever the server's default: a number drawn as `max + 1`
                // under a lock must see what the lock's last holder committed.
                let mut sql = vec!["BEGIN ISOLATION LEVEL READ COMMITTED".to_owned()];
                sql.extend(super::pg::deadline_settings(false));
                if write == Begin::Write {
                    sql.push(format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"));
                }
                // The write lock is waited for here, so that its holder may go on; so is a
                // begin bound by a step's deadline, so that even its first statement's
                // prepare is bounded by it (second review). Any other begin goes out with the
                // transaction's first statement (`pg.rs`).
                let deadline = crate::store::deadline::current().is_some();
                c.begin(&sql.join("; "), write == Begin::Write || deadline)
            }
            (Backend::Postgres(c), Begin::ReadSnapshot) => {
                // Bounded by the deadline bound to this thread (a request's, a step's), as
                // SQLite's progress handler bounds every statement.
                let mut sql = vec!["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_owned()];
                sql.extend(super::pg::deadline_settings(true));
                c.begin(&sql.join("; "), false)
            }
        }
    }

    /// Commits the open transaction. On PostgreSQL, a transaction a failed statement aborted
    /// is rolled back and the commit is an error (PostgreSQL itself would answer `COMMIT`
    /// with a silent rollback).
    pub fn commit(&self) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(c) => Ok(c.execute_batch("COMMIT")?),
            Backend::Postgres(c) => match c.state() {
                TxState::Open => c.commit(),
                TxState::Aborted => {
                    c.control("ROLLBACK", TxState::Idle)?;
                    Err(Error::TransactionState(
                        "the transaction was aborted by a failed statement and rolled back",
                    ))
                }
                TxState::Idle => Err(Error::TransactionState("no transaction is open to commit")),
            },
        }
    }

    /// Rolls the open transaction back.
    pub fn rollback(&self) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(c) => Ok(c.execute_batch("ROLLBACK")?),
            Backend::Postgres(c) => c.control("ROLLBACK", TxState::Idle),
        }
    }

    /// Notifies `channel` (an identifier) when the open transaction commits, never if it
    /// rolls back, in the commit's own round trip; at once outside a transaction. Nothing
    /// on SQLite (one machine: no other host listens).
    pub fn notify_on_commit(&self, channel: &str) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(c) => c.notify_on_commit(channel),
        }
    }

    /// Holds, until the open transaction ends, the lock of workspace `name`'s numbered rows:
    /// its case and audit numbers and the order of its events (SPEC ID-4: numbered per
    /// workspace, each next number drawn as `max + 1`). Every insert of such a row takes it
    /// first, so transactions of different workspaces go side by side and those of one
    /// workspace draw its numbers one after the other. On PostgreSQL an advisory lock (after
    /// [`WRITE_LOCK`], if the transaction holds it: always in that order); nothing on SQLite,
    /// whose write lock every writing transaction holds from its start. On PostgreSQL the
    /// lock is taken with the transaction's next statement (or [`Connection::flush`]), which
    /// waits for it.
    pub fn lock_workspace(&self, name: &str) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(c) => c.lock_workspace(name),
        }
    }

    /// Holds [`ACCESS_LOCK`] until the open transaction ends: `shared` by a write deciding on
    /// access data without [`WRITE_LOCK`], before it reads them; exclusively by a change of
    /// access data, last before its commit (after its workspaces' locks, which a shared
    /// holder may hold: taken first, it could wait for one that waits for it). Taken with the
    /// transaction's next statement, or its commit. Nothing on SQLite, whose one write lock
    /// every writing transaction holds.
    pub fn lock_access(&self, shared: bool) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(c) => {
                let lock = if shared {
                    "pg_advisory_xact_lock_shared"
                } else {
                    "pg_advisory_xact_lock"
                };
                c.defer(&format!("SELECT {lock}({ACCESS_LOCK})"), &[])
            }
        }
    }

    /// Runs `sql` with the next statement whose answer is waited for, or with the commit, on
    /// PostgreSQL inside a transaction (one round trip fewer: `pg.rs`); at once elsewhere.
    /// For writes whose count and rows nobody reads. A failure of it is the failure of
    /// whatever sends it, at the latest [`Connection::flush`] or the commit.
    pub fn execute_later<P: Params>(&self, sql: &str, params: P) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(_) => self.prepare_cached(sql)?.execute(params).map(drop),
            Backend::Postgres(c) => params.with(|p| c.defer(sql, p)),
        }
    }

    /// Whether the open or last transaction failed in a statement it deferred
    /// ([`Connection::execute_later`]): its failure is then the work's own, wherever it was
    /// reported (a commit). Never on SQLite, which defers nothing.
    pub fn deferred_failed(&self) -> bool {
        match &self.0 {
            Backend::Sqlite(_) => false,
            Backend::Postgres(c) => c.deferred_failed(),
        }
    }

    /// Sends what [`Connection::execute_later`] deferred and waits for it: the work's own
    /// failures are known (and are its own) before it is kept or committed.
    pub fn flush(&self) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(c) => c.flush(),
        }
    }

    /// Opens savepoint `name` inside the open transaction.
    pub fn savepoint(&self, name: &str) -> Result<()> {
        self.execute_batch(&format!("SAVEPOINT {name}"))
    }

    /// Keeps the work since savepoint `name` in the transaction.
    pub fn release(&self, name: &str) -> Result<()> {
        self.execute_batch(&format!("RELEASE {name}"))
    }

    /// Undoes the work since savepoint `name` and ends it; the transaction stays open (and
    /// usable again on PostgreSQL).
    pub fn rollback_to(&self, name: &str) -> Result<()> {
        let sql = format!("ROLLBACK TO {name}; RELEASE {name}");
        match &self.0 {
            Backend::Sqlite(c) => Ok(c.execute_batch(&sql)?),
            Backend::Postgres(c) => {
                // Locks taken since the savepoint may have gone with it.
                c.forget_workspace_locks();
                c.control(&sql, TxState::Open)
            }
        }
    }

    /// Whether no transaction is open (one an error ended counts as ended).
    pub fn is_autocommit(&self) -> bool {
        match &self.0 {
            Backend::Sqlite(c) => c.is_autocommit(),
            Backend::Postgres(c) => c.state() == TxState::Idle,
        }
    }

    /// Whether the open transaction can no longer do work until rolled back (a PostgreSQL
    /// transaction after a failed statement; never on SQLite, which rolls back the statement
    /// only, or everything).
    pub fn is_aborted(&self) -> bool {
        match &self.0 {
            Backend::Sqlite(_) => false,
            Backend::Postgres(c) => c.state() == TxState::Aborted,
        }
    }

    /// PostgreSQL's count of committed transactions (SQLite's is its commit hook's).
    pub fn commit_counter(&self) -> Option<std::sync::Arc<std::sync::atomic::AtomicU64>> {
        match &self.0 {
            Backend::Sqlite(_) => None,
            Backend::Postgres(c) => Some(c.commit_counter()),
        }
    }

    /// Rows changed through this connection since it opened.
    pub fn total_changes(&self) -> Result<u64> {
        match &self.0 {
            Backend::Sqlite(c) => {
                let n: i64 = c
                    .prepare_cached("SELECT total_changes()")?
                    .query_row([], |r| r.get(0))?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
            Backend::Postgres(c) => c.changes(),
        }
    }
}

/// A prepared statement.
pub struct Statement<'c>(StatementInner<'c>);

enum StatementInner<'c> {
    Sqlite(rusqlite::Statement<'c>),
    SqliteCached(rusqlite::CachedStatement<'c>),
    /// Prepared when it first runs, typed by what is bound to it (`pg.rs`).
    Postgres(&'c PgConn, String),
}

impl Statement<'_> {
    /// Runs it; the rows it changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.0 {
            StatementInner::Sqlite(s) => execute_sqlite(s, params),
            StatementInner::SqliteCached(s) => execute_sqlite(s, params),
            StatementInner::Postgres(conn, stmt) => {
                let n = params.with(|p| conn.execute(stmt, p))?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// The first row it returns, read by `f`; [`Error::QueryReturnedNoRows`] if none.
    pub fn query_row<T, P: Params>(
        &mut self,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(Error::QueryReturnedNoRows),
        }
    }

    /// Every row it returns, each read by `f`, in order.
    pub fn query_map<T, P: Params>(
        &mut self,
        params: P,
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let mut rows = self.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(f(&row));
        }
        Ok(out.into_iter())
    }

    /// Whether it returns any row.
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        Ok(self.query(params)?.next()?.is_some())
    }

    /// Its rows, to step through with [`Rows::next`].
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        Ok(Rows(match &mut self.0 {
            StatementInner::Sqlite(s) => RowsInner::Sqlite(query_sqlite(s, params)?),
            StatementInner::SqliteCached(s) => RowsInner::Sqlite(query_sqlite(s, params)?),
            StatementInner::Postgres(conn, stmt) => RowsInner::Postgres {
                rows: params.with(|p| conn.query(stmt, p))?.into_iter(),
                current: None,
            },
        }))
    }
}

fn execute_sqlite<P: Params>(s: &mut rusqlite::Statement<'_>, params: P) -> Result<usize> {
    params.with(|p| Ok(s.execute(rusqlite::params_from_iter(p.iter().map(|v| Bind(*v))))?))
}

fn query_sqlite<'s, P: Params>(
    s: &'s mut rusqlite::Statement<'_>,
    params: P,
) -> Result<rusqlite::Rows<'s>> {
    params.with(|p| Ok(s.query(rusqlite::params_from_iter(p.iter().map(|v| Bind(*v))))?))
}

/// The rows of a query, one at a time.
pub struct Rows<'s>(RowsInner<'s>);

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres {
        rows: std::vec::IntoIter<::postgres::Row>,
        current: Option<::postgres::Row>,
    },
}

impl Rows<'_> {
    /// The next row; `None` after the last.
    #[allow(clippy::should_implement_trait)] // a row borrows from the cursor: not an Iterator
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.0 {
            RowsInner::Sqlite(rows) => Ok(rows.next()?.map(|r| Row(RowInner::Sqlite(r)))),
            RowsInner::Postgres { rows, current } => {
                *current = rows.next();
                Ok(current.as_ref().map(|r| Row(RowInner::Postgres(r))))
            }
        }
    }
}

/// One row of a query's result.
pub struct Row<'a>(RowInner<'a>);

enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a ::postgres::Row),
}

impl Row<'_> {
    /// Column `idx` as a `T`; an error naming the column when it is not one.
    pub fn get<T: FromSql>(&self, idx: usize) -> Result<T> {
        let value = self.get_ref(idx)?;
        T::column_result(value).map_err(|e| match e {
            FromSqlError::InvalidType => {
                Error::InvalidColumnType(idx, self.column_name(idx), value.data_type())
            }
            FromSqlError::OutOfRange(i) => {
                Error::IntegralValueOutOfRange(idx, self.column_name(idx), i)
            }
            FromSqlError::Other(e) => Error::FromSqlConversionFailure(idx, value.data_type(), e),
        })
    }

    /// The name of column `idx`, for messages.
    fn column_name(&self, idx: usize) -> String {
        let name = match &self.0 {
            RowInner::Sqlite(r) => r.as_ref().column_name(idx).ok(),
            RowInner::Postgres(r) => r.columns().get(idx).map(|c| c.name()),
        };
        name.unwrap_or("?").to_owned()
    }

    /// Column `idx` as stored.
    pub fn get_ref(&self, idx: usize) -> Result<ValueRef<'_>> {
        match &self.0 {
            RowInner::Sqlite(r) => Ok(from_rusqlite(r.get_ref(idx)?)),
            RowInner::Postgres(r) => pg::column(r, idx),
        }
    }
}

/// A parameter as rusqlite binds it.
struct Bind<'a>(&'a dyn ToSql);

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput as Out, Value as V};
        let value = self
            .0
            .to_sql()
            .and_then(super::value::bindable)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(match value {
            ToSqlOutput::Borrowed(v) => Out::Borrowed(to_rusqlite(v)),
            ToSqlOutput::Owned(v) => Out::Owned(match v {
                super::Value::Null => V::Null,
                super::Value::Integer(i) => V::Integer(i),
                super::Value::Real(f) => V::Real(f),
                super::Value::Text(t) => V::Text(t),
                super::Value::Blob(b) => V::Blob(b),
            }),
        })
    }
}

fn to_rusqlite(v: ValueRef<'_>) -> rusqlite::types::ValueRef<'_> {
    use rusqlite::types::ValueRef as R;
    match v {
        ValueRef::Null => R::Null,
        ValueRef::Integer(i) => R::Integer(i),
        ValueRef::Real(f) => R::Real(f),
        ValueRef::Text(t) => R::Text(t),
        ValueRef::Blob(b) => R::Blob(b),
    }
}

fn from_rusqlite(v: rusqlite::types::ValueRef<'_>) -> ValueRef<'_> {
    use rusqlite::types::ValueRef as R;
    match v {
        R::Null => ValueRef::Null,
        R::Integer(i) => ValueRef::Integer(i),
        R::Real(f) => ValueRef::Real(f),
        R::Text(t) => ValueRef::Text(t),
        R::Blob(b) => ValueRef::Blob(b),
    }
}

#[cfg(test)]
mod tests {
    use super::{Begin, Engine};

    /// A batch begun for a run's own work does not take in work that needs the deployment's
    /// write lock on PostgreSQL (it would run without it); on SQLite every write
    /// transaction holds the one lock there is.
    #[test]
    fn only_a_transaction_holding_the_write_lock_takes_in_work_that_needs_it() {
        for engine in [Engine::Sqlite, Engine::Postgres] {
            assert!(Begin::Write.covers(Begin::Write, engine));
            assert!(Begin::Write.covers(Begin::Leased, engine));
            assert!(Begin::Leased.covers(Begin::Leased, engine));
            assert!(!Begin::ReadSnapshot.covers(Begin::Leased, engine));
            assert!(!Begin::Write.covers(Begin::ReadSnapshot, engine));
        }
        assert!(Begin::Leased.covers(Begin::Write, Engine::Sqlite));
        assert!(!Begin::Leased.covers(Begin::Write, Engine::Postgres));
    }
}
