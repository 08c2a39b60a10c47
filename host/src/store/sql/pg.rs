//! The PostgreSQL side of the facade: one client connection, its prepared statements, the
//! mapping of PostgreSQL's types onto the storage classes, and the transaction state that
//! SQLite reports itself and PostgreSQL does not.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use ::postgres::types::{FromSql as PgFromSql, IsNull, ToSql as PgToSql, Type as PgType};

/// Writes `v` as PostgreSQL's binary form of `ty`.
fn put<T: PgToSql>(
    v: T,
    ty: &PgType,
    out: &mut BytesMut,
) -> std::result::Result<IsNull, Box<dyn StdError + Sync + Send>> {
    v.to_sql(ty, out)
}
use bytes::BytesMut;

use super::value::{ToSql, ToSqlOutput, ValueRef};
use super::{Error, Result};

/// Prepared statements kept per connection. The case query builds one shape per filter
/// combination; past this many the cache starts again rather than grow without end.
const STATEMENT_CACHE: usize = 1024;

/// Where the connection's transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TxState {
    /// None open.
    Idle,
    /// Open and usable.
    Open,
    /// Open, and a statement in it failed: PostgreSQL refuses everything until it is rolled
    /// back (to a savepoint or whole). SQLite has no such state; the batch asks for it.
    Aborted,
}

/// A statement prepared for one set of parameter types.
type Prepared = (Vec<PgType>, ::postgres::Statement);

/// A PostgreSQL connection. One the server dropped (a restart, a network cut) is opened
/// again by the next operation outside a transaction; the transaction it was in is lost and
/// its operation failed as the infrastructure's failure.
pub(super) struct PgConn {
    client: RefCell<::postgres::Client>,
    /// Where to connect again, and what to set on a new session.
    url: String,
    session: String,
    /// Prepared statements by SQL text, one per set of parameter types it was bound with.
    statements: RefCell<HashMap<String, Vec<Prepared>>>,
    state: Cell<TxState>,
    /// The session is gone (the server ended it, the socket failed): the next operation
    /// connects again.
    broken: Cell<bool>,
    /// Rows changed by statements of this connection, as SQLite's `total_changes()`.
    changes: Cell<u64>,
    /// Transactions committed, as SQLite's commit hook counts them.
    commits: Arc<AtomicU64>,
    /// Channels to notify when the open transaction commits: sent with its `COMMIT`, in the
    /// same round trip.
    notify: RefCell<Vec<String>>,
    /// Workspaces whose lock the open transaction holds ([`PgConn::lock_workspace`]).
    workspaces: RefCell<Vec<String>>,
}

impl PgConn {
    /// `client`, connected to `url`, after running `session` (settings every session of
    /// this connection needs; run again on a new session).
    pub(super) fn new(mut client: ::postgres::Client, url: &str, session: &str) -> Result<Self> {
        client.batch_execute(session)?;
        Ok(Self {
            client: RefCell::new(client),
            url: url.to_owned(),
            session: session.to_owned(),
            statements: RefCell::new(HashMap::new()),
            state: Cell::new(TxState::Idle),
            broken: Cell::new(false),
            changes: Cell::new(0),
            commits: Arc::default(),
            notify: RefCell::default(),
            workspaces: RefCell::default(),
        })
    }

    /// The client, connected again first if the server dropped it while no transaction was
    /// open (nothing is lost then).
    fn client(&self) -> Result<std::cell::RefMut<'_, ::postgres::Client>> {
        let closed = self.broken.get() || self.client.borrow().is_closed();
        if closed && self.state.get() == TxState::Idle {
            let mut fresh = crate::store::postgres::connect(&self.url)
                .map_err(|e| Error::Reconnect(e.to_string()))?;
            fresh.batch_execute(&self.session)?;
            *self.client.borrow_mut() = fresh;
            self.statements.borrow_mut().clear();
            self.broken.set(false);
        }
        Ok(self.client.borrow_mut())
    }

    pub(super) fn commit_counter(&self) -> Arc<AtomicU64> {
        self.commits.clone()
    }

    /// Commits the open transaction, with the notifications it asked for.
    pub(super) fn commit(&self) -> Result<()> {
        let mut sql: Vec<String> = self
            .notify
            .borrow()
            .iter()
            .map(|channel| format!("NOTIFY {channel}"))
            .collect();
        sql.push("COMMIT".to_owned());
        self.control(&sql.join("; "), TxState::Idle)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Notifies `channel` (an identifier) when the open transaction commits, never if it
    /// rolls back; at once outside a transaction. A savepoint rolled back keeps its request
    /// (a wake-up too many costs a host one look for work, nothing more).
    pub(super) fn notify_on_commit(&self, channel: &str) -> Result<()> {
        if self.state.get() == TxState::Idle {
            return self.batch(&format!("NOTIFY {channel}"));
        }
        let mut pending = self.notify.borrow_mut();
        if !pending.iter().any(|c| c == channel) {
            pending.push(channel.to_owned());
        }
        Ok(())
    }

    /// Holds workspace `name`'s lock until the open transaction ends (one round trip the
    /// first time in a transaction, none after). The key is the server's hash of the name, so
    /// every host computes the same one whatever its build.
    pub(super) fn lock_workspace(&self, name: &str) -> Result<()> {
        if self.state.get() == TxState::Idle {
            return Err(Error::TransactionState(
                "a workspace's lock is held by a transaction, and none is open",
            ));
        }
        if self.workspaces.borrow().iter().any(|w| w == name) {
            return Ok(());
        }
        let key = format!("flowhost workspace {name}");
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(?1, 0))",
            &[&key],
        )?;
        self.workspaces.borrow_mut().push(name.to_owned());
        Ok(())
    }

    /// Forgets the workspace locks taken since a savepoint that was rolled back (PostgreSQL
    /// releases them with it): the next need takes them again.
    pub(super) fn forget_workspace_locks(&self) {
        self.workspaces.borrow_mut().clear();
    }

    pub(super) fn state(&self) -> TxState {
        self.state.get()
    }

    pub(super) fn changes(&self) -> u64 {
        self.changes.get()
    }

    /// The statement for `sql` (written with `?N` parameters) with parameters of the types of
    /// `values`, prepared once per connection. Typed by the values bound, so that a parameter
    /// PostgreSQL could not type from the text alone (one a query shape leaves unused, one in
    /// a `CASE`) is the type the caller binds; a NULL leaves its parameter's type to the
    /// server.
    fn statement(&self, sql: &str, values: &[ToSqlOutput<'_>]) -> Result<::postgres::Statement> {
        let types: Vec<PgType> = values.iter().map(|v| param_type(v.as_ref())).collect();
        if let Some(shapes) = self.statements.borrow().get(sql)
            && let Some((_, stmt)) = shapes.iter().find(|(t, _)| *t == types)
        {
            return Ok(stmt.clone());
        }
        let translated = dollar_parameters(sql);
        let prepared = self.client()?.prepare_typed(&translated, &types);
        let stmt = self.track(prepared)?;
        let mut cache = self.statements.borrow_mut();
        if cache.len() >= STATEMENT_CACHE {
            cache.clear();
        }
        cache
            .entry(sql.to_owned())
            .or_default()
            .push((types, stmt.clone()));
        Ok(stmt)
    }

    /// Runs `sql`; the rows it changed.
    pub(super) fn execute(&self, sql: &str, params: &[&dyn ToSql]) -> Result<u64> {
        let values = bind(params)?;
        let stmt = self.statement(sql, &values)?;
        let pg = as_pg(&values);
        let refs: Vec<&(dyn PgToSql + Sync)> = pg.iter().map(|p| p as _).collect();
        let executed = self.client()?.execute(&stmt, &refs);
        let n = self.track(executed)?;
        self.changes.set(self.changes.get().saturating_add(n));
        Ok(n)
    }

    /// Runs `sql`; every row it returned.
    pub(super) fn query(&self, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<::postgres::Row>> {
        let values = bind(params)?;
        let stmt = self.statement(sql, &values)?;
        let pg = as_pg(&values);
        let refs: Vec<&(dyn PgToSql + Sync)> = pg.iter().map(|p| p as _).collect();
        let queried = self.client()?.query(&stmt, &refs);
        self.track(queried)
    }

    /// Runs statements without parameters (transaction control, `SET`).
    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        let done = self.client()?.batch_execute(sql);
        self.track(done)
    }

    /// Transaction control: `sql` moves the transaction to `to` when it succeeds.
    pub(super) fn control(&self, sql: &str, to: TxState) -> Result<()> {
        let before = self.state.get();
        if to == TxState::Idle || before == TxState::Idle {
            // A transaction ends or begins: nothing of another's is left to notify, and
            // no lock of another's is held.
            self.notify.borrow_mut().clear();
            self.workspaces.borrow_mut().clear();
        }
        match self.batch(sql) {
            Ok(()) => {
                self.state.set(to);
                Ok(())
            }
            Err(e) => {
                if before == TxState::Idle && to == TxState::Open {
                    // A begin that failed after `BEGIN` itself (the write lock's wait timed
                    // out) leaves an aborted transaction on the server: end it, so that
                    // Idle means idle. Failing, the connection is gone anyway.
                    if !self.broken.get() {
                        let _ = self.client.borrow_mut().batch_execute("ROLLBACK");
                    }
                    self.state.set(TxState::Idle);
                } else if to == TxState::Idle {
                    // A failed COMMIT or ROLLBACK ends the transaction all the same; but a
                    // statement sent before the COMMIT (a NOTIFY) that failed left it open
                    // and aborted: end it (a warning if nothing is open).
                    let _ = self.client().map(|mut c| c.batch_execute("ROLLBACK"));
                    self.state.set(TxState::Idle);
                }
                Err(e)
            }
        }
    }

    /// Called with the client's borrow ended. An error inside an open transaction aborts it (PostgreSQL's rule, kept here so the
    /// batch can ask); a lost connection has no transaction at all.
    fn track<T>(&self, result: std::result::Result<T, ::postgres::Error>) -> Result<T> {
        result.map_err(|e| {
            if self.client.borrow().is_closed() || session_lost(&e) {
                // The transaction, if any, died with the session.
                self.broken.set(true);
                self.state.set(TxState::Idle);
            } else if self.state.get() == TxState::Open {
                self.state.set(TxState::Aborted);
            }
            Error::Postgres(e)
        })
    }
}

/// Whether `e` ended the session: a socket error, or the server terminating it (class 57P:
/// shutdown, admin termination; class 08: connection exception; 25P03: idle too long inside
/// a transaction).
fn session_lost(e: &::postgres::Error) -> bool {
    match e.code() {
        Some(state) => {
            let code = state.code();
            code.starts_with("57P") || code.starts_with("08") || code == "25P03"
        }
        None => {
            e.is_closed()
                || StdError::source(e).is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
        }
    }
}

/// `sql` with SQLite's `?N` parameters written as PostgreSQL's `$N`; quoted text, quoted
/// names and comments are left alone.
pub(super) fn dollar_parameters(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for q in chars.by_ref() {
                    out.push(q);
                    if q == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for q in chars.by_ref() {
                    out.push(q);
                    if q == '\n' {
                        break;
                    }
                }
            }
            '?' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            c => out.push(c),
        }
    }
    out
}

/// The type a parameter is prepared with for a bound `value`.
fn param_type(value: ValueRef<'_>) -> PgType {
    match value {
        ValueRef::Null => unspecified().clone(),
        ValueRef::Integer(_) => PgType::INT8,
        ValueRef::Real(_) => PgType::FLOAT8,
        ValueRef::Text(_) => PgType::TEXT,
        ValueRef::Blob(_) => PgType::BYTEA,
    }
}

/// "No type": OID 0 in a prepare asks the server to infer the parameter's type.
fn unspecified() -> &'static PgType {
    static UNSPECIFIED: OnceLock<PgType> = OnceLock::new();
    UNSPECIFIED.get_or_init(|| {
        PgType::new(
            "unspecified".to_owned(),
            0,
            ::postgres::types::Kind::Pseudo,
            "pg_catalog".to_owned(),
        )
    })
}

/// The parameters' values, converted once for the call.
fn bind<'p>(params: &'p [&dyn ToSql]) -> Result<Vec<ToSqlOutput<'p>>> {
    params.iter().map(|p| p.to_sql()).collect()
}

fn as_pg<'v>(values: &'v [ToSqlOutput<'_>]) -> Vec<Param<'v>> {
    values.iter().map(|v| Param(v.as_ref())).collect()
}

/// A bound value as PostgreSQL takes it, converted to the parameter's type: an integer binds
/// to BIGINT, INT, SMALLINT or (as 0 or 1) BOOL; anything else that does not fit is an error
/// naming both types, never a truncation.
#[derive(Debug)]
struct Param<'a>(ValueRef<'a>);

impl PgToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &PgType,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match (self.0, ty) {
            (ValueRef::Null, _) => Ok(IsNull::Yes),
            (ValueRef::Integer(i), &PgType::INT8) => put(i, ty, out),
            (ValueRef::Integer(i), &PgType::INT4) => put(i32::try_from(i)?, ty, out),
            (ValueRef::Integer(i), &PgType::INT2) => put(i16::try_from(i)?, ty, out),
            (ValueRef::Integer(0), &PgType::BOOL) => put(false, ty, out),
            (ValueRef::Integer(1), &PgType::BOOL) => put(true, ty, out),
            (ValueRef::Integer(i), &PgType::FLOAT8) => put(i as f64, ty, out),
            (ValueRef::Real(f), &PgType::FLOAT8) => put(f, ty, out),
            (
                ValueRef::Text(t),
                &PgType::TEXT
                | &PgType::VARCHAR
                | &PgType::BPCHAR
                | &PgType::NAME
                | &PgType::UNKNOWN,
            ) => put(std::str::from_utf8(t)?, ty, out),
            (ValueRef::Blob(b), &PgType::BYTEA) => put(b, ty, out),
            (v, ty) => Err(format!(
                "a {} value cannot bind to a parameter of PostgreSQL type {ty}",
                v.data_type()
            )
            .into()),
        }
    }

    fn accepts(_: &PgType) -> bool {
        true
    }

    ::postgres::types::to_sql_checked!();
}

/// A column as the storage classes see it: BOOL and the integer types are integers, the
/// text types text, BYTEA bytes. Another type is an error naming it (a query that needs one
/// casts it, e.g. a `sum` to BIGINT).
#[derive(Debug)]
pub(super) struct Column<'a>(pub ValueRef<'a>);

impl<'a> PgFromSql<'a> for Column<'a> {
    fn from_sql(
        ty: &PgType,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn StdError + Sync + Send>> {
        let value = match *ty {
            PgType::BOOL => ValueRef::Integer(i64::from(bool::from_sql(ty, raw)?)),
            PgType::INT2 => ValueRef::Integer(i64::from(i16::from_sql(ty, raw)?)),
            PgType::INT4 => ValueRef::Integer(i64::from(i32::from_sql(ty, raw)?)),
            PgType::INT8 => ValueRef::Integer(i64::from_sql(ty, raw)?),
            PgType::OID => ValueRef::Integer(i64::from(u32::from_sql(ty, raw)?)),
            PgType::FLOAT4 => ValueRef::Real(f64::from(f32::from_sql(ty, raw)?)),
            PgType::FLOAT8 => ValueRef::Real(f64::from_sql(ty, raw)?),
            PgType::TEXT | PgType::VARCHAR | PgType::BPCHAR | PgType::NAME | PgType::UNKNOWN => {
                ValueRef::Text(raw)
            }
            PgType::BYTEA => ValueRef::Blob(raw),
            ref other => {
                return Err(format!(
                    "PostgreSQL type {other} has no storage class here (cast it in the query)"
                )
                .into());
            }
        };
        Ok(Column(value))
    }

    fn from_sql_null(_: &PgType) -> std::result::Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Column(ValueRef::Null))
    }

    fn accepts(_: &PgType) -> bool {
        true
    }
}

/// Column `idx` of `row`.
pub(super) fn column(row: &::postgres::Row, idx: usize) -> Result<ValueRef<'_>> {
    if idx >= row.len() {
        return Err(Error::InvalidColumnIndex(idx));
    }
    row.try_get::<_, Column<'_>>(idx)
        .map(|c| c.0)
        .map_err(Error::Postgres)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollar_parameters_outside_quotes() {
        assert_eq!(
            dollar_parameters(
                "SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?12) AND d = '?3' -- ?4\n AND \"?5\" = ?6"
            ),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $12) AND d = '?3' -- ?4\n AND \"?5\" = $6"
        );
    }
}
