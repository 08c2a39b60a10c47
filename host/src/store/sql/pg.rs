//! The PostgreSQL side of the facade: one session with the server, its prepared statements,
//! the mapping of PostgreSQL's types onto the storage classes, and the transaction state that
//! SQLite reports itself and PostgreSQL does not.
//!
//! Round trips are what a run costs on PostgreSQL (issue 18, `benches/README.md`), so a
//! statement whose answer nobody waits for (a transaction's `BEGIN`, a workspace's lock, an
//! insert whose count and rows are not read: [`PgConn::defer`]) is not sent on its own: it
//! goes out with the next statement that needs an answer, or with the commit, in one write,
//! and the server answers them in order. A deferred statement's failure is the failure of
//! the call that sent it (the transaction is aborted either way); a rollback drops what was
//! never sent.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
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

use super::value::{ToSql, ToSqlOutput, Value, ValueRef};
use super::{Error, Result};
use crate::store::postgres::Session;

/// Prepared statements kept per connection. The case query builds one shape per filter
/// combination; past this many the cache starts again rather than grow without end.
const STATEMENT_CACHE: usize = 1024;

/// Deferred statements held at most before they are sent anyway (a transaction of many
/// small writes, e.g. a step's log lines), so that what waits unsent stays small.
const MAX_DEFERRED: usize = 256;

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

/// A statement waiting to go out with the next one that needs an answer.
enum Deferred {
    /// Statements without parameters (a transaction's begin).
    Simple(String),
    /// A statement (its SQL text, prepared when it is sent) and its parameters.
    Execute(String, Vec<ToSqlOutput<'static>>),
}

impl Deferred {
    /// Whether it reads only (`SELECT`): its answer counts no changed row.
    fn reads_only(&self) -> bool {
        match self {
            Deferred::Execute(sql, _) => sql.trim_start().starts_with("SELECT"),
            Deferred::Simple(_) => false,
        }
    }
}

/// What a call sends after the deferred statements, and waits for.
enum Request<'a> {
    Simple(&'a str),
    Execute(&'a ::postgres::Statement, &'a [Param<'a>]),
    Query(&'a ::postgres::Statement, &'a [Param<'a>]),
}

/// The server's answer to a [`Request`].
enum Answer {
    Done,
    Changed(u64),
    Rows(Vec<::postgres::Row>),
}

/// A call in flight, among others sent together.
type Call<'a> = Pin<Box<dyn Future<Output = std::result::Result<Answer, ::postgres::Error>> + 'a>>;

/// A PostgreSQL connection. One the server dropped (a restart, a network cut) is opened
/// again by the next operation outside a transaction (or in one of which nothing was sent
/// yet); the transaction it was in is lost and its operation failed as the infrastructure's
/// failure.
pub(super) struct PgConn {
    session: RefCell<Session>,
    /// Where to connect again, and what to set on a new session.
    url: String,
    setup: String,
    /// Prepared statements by SQL text, one per set of parameter types it was bound with.
    statements: RefCell<HashMap<String, Vec<Prepared>>>,
    state: Cell<TxState>,
    /// Statements not sent yet, in order ([`PgConn::defer`]).
    deferred: RefCell<Vec<Deferred>>,
    /// The open transaction's begin has been sent (before that, a lost session can be
    /// replaced with nothing lost).
    begun: Cell<bool>,
    /// A deferred statement of the transaction failed: its failure is the work's own, where
    /// one of the commit itself (a notification that did not fit) is the infrastructure's.
    deferred_failed: Cell<bool>,
    /// The next request commits the transaction in its own round trip (a bounded statement
    /// alone in a transaction: [`PgConn::bounded`]).
    commit_after: Cell<bool>,
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
    /// A session with the server at `url`, after running `setup` (settings every session of
    /// this connection needs; run again on a new session).
    pub(super) fn open(url: &str, setup: &str) -> Result<Self> {
        let session = connect(url, setup)?;
        Ok(Self {
            session: RefCell::new(session),
            url: url.to_owned(),
            setup: setup.to_owned(),
            statements: RefCell::new(HashMap::new()),
            state: Cell::new(TxState::Idle),
            deferred: RefCell::default(),
            begun: Cell::new(false),
            deferred_failed: Cell::new(false),
            commit_after: Cell::new(false),
            broken: Cell::new(false),
            changes: Cell::new(0),
            commits: Arc::default(),
            notify: RefCell::default(),
            workspaces: RefCell::default(),
        })
    }

    /// Connects again if the server dropped the session while nothing of a transaction had
    /// been sent on it (nothing is lost then). Called before anything is prepared or sent.
    fn ready(&self) -> Result<()> {
        let unsent = self.state.get() == TxState::Idle || !self.begun.get();
        if unsent && !self.broken.get() {
            // The connection is driven only while a call blocks on it: let it read what
            // came while it was idle (the server's goodbye), so that a dead session is known
            // now, while replacing it loses nothing (one look at the socket). Twice: the
            // first yield has the runtime poll the socket and wake the connection, the
            // second lets the woken connection run before the call returns.
            let session = self.session.borrow();
            session.block_on(async {
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
            });
        }
        let closed = self.broken.get() || self.session.borrow().is_closed();
        if closed && unsent {
            *self.session.borrow_mut() =
                connect(&self.url, &self.setup).map_err(|e| Error::Reconnect(e.to_string()))?;
            self.statements.borrow_mut().clear();
            self.broken.set(false);
        }
        Ok(())
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

    /// Holds workspace `name`'s lock until the open transaction ends: sent with the next
    /// statement (the lock is waited for there), and once a transaction. The key is the
    /// server's hash of the name, so every host computes the same one whatever its build.
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
        self.defer(
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

    /// Where the transaction stands, as far as the server has answered (a deferred statement
    /// that will fail is not known to yet: [`PgConn::flush`] first to know).
    pub(super) fn state(&self) -> TxState {
        self.state.get()
    }

    /// Whether the open or last transaction failed in a statement it deferred (the work's own
    /// failure, wherever it was reported).
    pub(super) fn deferred_failed(&self) -> bool {
        self.deferred_failed.get()
    }

    /// Rows changed so far, deferred statements' included (they are sent first).
    pub(super) fn changes(&self) -> Result<u64> {
        self.flush()?;
        Ok(self.changes.get())
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
        let prepared = {
            let session = self.session.borrow();
            session.block_on(session.client().prepare_typed(&translated, &types))
        };
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

    /// Runs `sql` with the next statement that needs an answer, or with the commit: for
    /// writes whose count and rows nobody reads, inside a transaction. Outside one it runs
    /// at once. Its failure is that of the call that sends it.
    pub(super) fn defer(&self, sql: &str, params: &[&dyn ToSql]) -> Result<()> {
        if self.state.get() != TxState::Open {
            return self.execute(sql, params).map(drop);
        }
        let values = params
            .iter()
            .map(|p| {
                p.to_sql()
                    .and_then(super::value::bindable)
                    .and_then(|v| owned(v.as_ref()))
            })
            .collect::<Result<Vec<_>>>()?;
        let full = {
            let mut deferred = self.deferred.borrow_mut();
            deferred.push(Deferred::Execute(sql.to_owned(), values));
            deferred.len() >= MAX_DEFERRED
        };
        if full { self.flush() } else { Ok(()) }
    }

    /// Sends the deferred statements, if any, and waits for their answers.
    pub(super) fn flush(&self) -> Result<()> {
        if self.deferred.borrow().is_empty() {
            return Ok(());
        }
        self.ready()?;
        self.send(None).map(drop)
    }

    /// Runs `op`, a statement, bounded by the deadline bound to this thread: inside the open
    /// transaction (whose begin set the bound), or alone in a transaction of its own, since
    /// PostgreSQL bounds a statement by its session's `statement_timeout`, which `SET LOCAL`
    /// sets for one transaction without a round trip to reset it. Unbounded without one.
    fn bounded<T>(&self, reads: bool, op: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.state.get() != TxState::Idle {
            return op();
        }
        let settings = deadline_settings(reads);
        if settings.is_empty() {
            return op();
        }
        let mut begin = vec!["BEGIN ISOLATION LEVEL READ COMMITTED".to_owned()];
        begin.extend(settings);
        self.begin(&begin.join("; "), false)?;
        // Begun, run and committed in one round trip (`send`).
        self.commit_after.set(true);
        let done = op();
        self.commit_after.set(false);
        if self.state.get() == TxState::Idle {
            return done;
        }
        // Not sent, or failed: nothing of it stays open.
        let end = match &done {
            Ok(_) => self.control("COMMIT", TxState::Idle),
            Err(_) => self.control("ROLLBACK", TxState::Idle),
        };
        let out = done?;
        end.map(|()| out)
    }

    /// Runs `sql`; the rows it changed.
    pub(super) fn execute(&self, sql: &str, params: &[&dyn ToSql]) -> Result<u64> {
        self.bounded(false, || self.execute_now(sql, params))
    }

    fn execute_now(&self, sql: &str, params: &[&dyn ToSql]) -> Result<u64> {
        self.ready()?;
        let values = bind(params)?;
        let stmt = self.statement(sql, &values)?;
        let pg = as_pg(&values);
        match self.send(Some(Request::Execute(&stmt, &pg)))? {
            Answer::Changed(n) => Ok(n),
            _ => Err(Error::TransactionState(
                "a statement's count did not come back",
            )),
        }
    }

    /// Runs `sql`; every row it returned.
    pub(super) fn query(&self, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<::postgres::Row>> {
        self.bounded(true, || self.query_now(sql, params))
    }

    fn query_now(&self, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<::postgres::Row>> {
        self.ready()?;
        let values = bind(params)?;
        let stmt = self.statement(sql, &values)?;
        let pg = as_pg(&values);
        match self.send(Some(Request::Query(&stmt, &pg)))? {
            Answer::Rows(rows) => Ok(rows),
            _ => Err(Error::TransactionState("a query's rows did not come back")),
        }
    }

    /// Runs statements without parameters (transaction control, `SET`).
    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        self.ready()?;
        self.send(Some(Request::Simple(sql))).map(drop)
    }

    /// The deferred statements, then `request`, sent together; the answer to `request` (or
    /// to the last deferred one). The first failure among them is the call's.
    fn send(&self, request: Option<Request<'_>>) -> Result<Answer> {
        let deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        // Deferred statements are prepared now, on the session they go out on. Failing here,
        // nothing is sent and nothing is lost: a begin not sent yet stays to be sent (or
        // dropped by the rollback). Once prepared, a call cannot fail in the client (which
        // would send nothing while the others, a commit among them, went on): each parameter
        // is prepared as the type of the value bound to it, and text was checked as UTF-8
        // when deferred.
        let mut prepared = Vec::with_capacity(deferred.len());
        let mut params: Vec<Vec<Param<'_>>> = Vec::with_capacity(deferred.len());
        for d in &deferred {
            let checked = match d {
                Deferred::Simple(_) => Ok((None, Vec::new())),
                Deferred::Execute(sql, values) => self
                    .statement(sql, values)
                    .map(|stmt| (Some(stmt), as_pg(values))),
            };
            match checked {
                Ok((stmt, pg)) => {
                    prepared.push(stmt);
                    params.push(pg);
                }
                Err(e) => {
                    drop(params);
                    // Unless the session died meanwhile, and the transaction with it: then
                    // nothing of it may go out on the next one (second review).
                    if !self.broken.get() && self.state.get() != TxState::Idle {
                        let mut back = self.deferred.borrow_mut();
                        let later = std::mem::replace(&mut *back, deferred);
                        back.extend(later);
                    }
                    return Err(e);
                }
            }
        }
        let session = self.session.borrow();
        let client = session.client();
        let mut calls: Vec<Call<'_>> = Vec::with_capacity(deferred.len() + 1);
        for ((d, stmt), params) in deferred.iter().zip(&prepared).zip(&params) {
            calls.push(match (d, stmt) {
                (Deferred::Execute(..), Some(stmt)) => call(client, Request::Execute(stmt, params)),
                (Deferred::Simple(sql), _) | (Deferred::Execute(sql, _), None) => {
                    call(client, Request::Simple(sql))
                }
            });
        }
        if let Some(request) = request {
            calls.push(call(client, request));
        }
        let commit = self.commit_after.replace(false) && self.state.get() == TxState::Open;
        if commit {
            calls.push(call(client, Request::Simple("COMMIT")));
        }
        let answered = calls.len();
        // Polled in order, so they are sent in order, in one write.
        let answers = session.block_on(futures_util::future::join_all(calls));
        drop(session);
        if deferred.iter().any(|d| matches!(d, Deferred::Simple(_))) {
            self.begun.set(true);
        }
        let mut last = Answer::Done;
        let mut failed = None;
        let sent_before = deferred.len();
        for (i, answer) in answers.into_iter().enumerate() {
            match answer {
                // The commit's answer is not the request's.
                Ok(_) if commit && i + 1 == answered => {}
                Ok(answer) => {
                    // A deferred `SELECT` (a workspace's lock) changes no row, though its
                    // tag says `SELECT 1`: counted, a refusal that only took a lock read as a
                    // write on PostgreSQL and not on SQLite (round 19 storage review).
                    let reads = deferred.get(i).is_some_and(Deferred::reads_only);
                    if let (Answer::Changed(n), false) = (&answer, reads) {
                        self.changes.set(self.changes.get().saturating_add(*n));
                    }
                    last = answer;
                }
                // Those after a failure fail as the transaction is aborted: the first is
                // the cause.
                Err(e) => {
                    if failed.is_none() && i < sent_before {
                        self.deferred_failed.set(true);
                    }
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            // A failed statement before it aborted the transaction, and its COMMIT rolled it
            // back; a failed COMMIT ends it too: nothing is open either way.
            Some(e) if commit => {
                let out = self.track(Err(e));
                if !self.broken.get() {
                    self.state.set(TxState::Idle);
                    self.begun.set(false);
                    self.deferred.borrow_mut().clear();
                }
                out
            }
            Some(e) => self.track(Err(e)),
            None => {
                if commit {
                    self.state.set(TxState::Idle);
                    self.begun.set(false);
                }
                Ok(last)
            }
        }
    }

    /// Begins a transaction with `sql`: at once if `now` (one whose begin waits for a lock
    /// the caller must hold before going on), else with the transaction's first statement.
    pub(super) fn begin(&self, sql: &str, now: bool) -> Result<()> {
        // One begun inside an open transaction goes at once, as the server's warning.
        if now || self.state.get() != TxState::Idle {
            return self.control(sql, TxState::Open);
        }
        // Nothing of another transaction's is left to notify or locked.
        self.notify.borrow_mut().clear();
        self.workspaces.borrow_mut().clear();
        self.deferred_failed.set(false);
        let mut deferred = self.deferred.borrow_mut();
        deferred.clear();
        deferred.push(Deferred::Simple(sql.to_owned()));
        self.begun.set(false);
        self.state.set(TxState::Open);
        Ok(())
    }

    /// Transaction control: `sql` moves the transaction to `to` when it succeeds. A rollback
    /// drops the statements not sent yet, and a whole rollback of a transaction nothing was
    /// sent of costs no round trip.
    pub(super) fn control(&self, sql: &str, to: TxState) -> Result<()> {
        let before = self.state.get();
        if to == TxState::Idle || before == TxState::Idle {
            // A transaction ends or begins: nothing of another's is left to notify, and
            // no lock of another's is held.
            self.notify.borrow_mut().clear();
            self.workspaces.borrow_mut().clear();
        }
        if before == TxState::Idle {
            // Nor is anything of another's left to send.
            self.deferred.borrow_mut().clear();
            self.deferred_failed.set(false);
        }
        if sql.starts_with("ROLLBACK") {
            // Never sent, so never done: only a begin still waiting matters.
            self.deferred
                .borrow_mut()
                .retain(|d| matches!(d, Deferred::Simple(_)));
            if to == TxState::Idle && !self.begun.get() {
                self.deferred.borrow_mut().clear();
                self.state.set(TxState::Idle);
                return Ok(());
            }
        }
        match self.batch(sql) {
            Ok(()) => {
                if before == TxState::Idle {
                    self.begun.set(true);
                }
                self.state.set(to);
                Ok(())
            }
            Err(e) => {
                if before == TxState::Idle && to == TxState::Open {
                    // A begin that failed after `BEGIN` itself (the write lock's wait timed
                    // out) leaves an aborted transaction on the server: end it, so that
                    // Idle means idle. Failing, the connection is gone anyway.
                    if !self.broken.get() {
                        let session = self.session.borrow();
                        let _ = session.block_on(session.client().batch_execute("ROLLBACK"));
                    }
                    self.state.set(TxState::Idle);
                } else if to == TxState::Idle {
                    // A failed COMMIT or ROLLBACK ends the transaction all the same; but a
                    // statement sent before the COMMIT (a NOTIFY, a deferred write) that
                    // failed left it open and aborted: end it (a warning if nothing is
                    // open).
                    if !self.broken.get() {
                        let session = self.session.borrow();
                        let _ = session.block_on(session.client().batch_execute("ROLLBACK"));
                    }
                    self.deferred.borrow_mut().clear();
                    self.state.set(TxState::Idle);
                }
                Err(e)
            }
        }
    }

    /// An error inside an open transaction aborts it (PostgreSQL's rule, kept here so the
    /// batch can ask); a lost connection has no transaction at all.
    fn track<T>(&self, result: std::result::Result<T, ::postgres::Error>) -> Result<T> {
        result.map_err(|e| {
            if self.session.borrow().is_closed() || session_lost(&e) {
                // The transaction, if any, died with the session.
                self.broken.set(true);
                self.deferred.borrow_mut().clear();
                self.state.set(TxState::Idle);
            } else if self.state.get() == TxState::Open {
                self.state.set(TxState::Aborted);
            }
            Error::from(e)
        })
    }
}

/// The settings that bound a transaction by the deadline bound to this thread (a request's,
/// a step's: `store/deadline.rs`), none without one: its statements stop at the deadline,
/// and its waits for a lock at the deadline or after the busy timeout, whichever is first.
/// A transaction that `reads` stops at a host call's budget too (`deadline::budget`), as
/// SQLite's progress handler stops every statement.
pub(super) fn deadline_settings(reads: bool) -> Vec<String> {
    let Some(deadline) = crate::store::deadline::current() else {
        return Vec::new();
    };
    crate::store::deadline::transaction_begun();
    let now = std::time::Instant::now();
    let ms = timeout_ms(deadline.saturating_duration_since(now));
    // A lock another host holds past the busy timeout is the infrastructure's, as SQLite's
    // busy handler decides it: waited for to the deadline, a step failed at its deadline
    // where SQLite stopped the run resumable (SPEC WF-11; round 18 storage review). One held
    // to the deadline ends just short of it (55P03), told from the statement's own timeout,
    // which the server reports first when both end at once (`deadline::lock_wait_ran_out`;
    // round 30 kill and concurrency review).
    let mut lock_ms = ms
        .min(timeout_ms(crate::store::BUSY_TIMEOUT))
        .min(ms.saturating_sub(2).max(1));
    // A read's statements stop at the call's budget: on PostgreSQL one read held the
    // connection every run shares up to its step's deadline, minutes, where SQLite's stopped
    // at the budget (round 26 hostile-step review). A wait for a lock ends first, the
    // infrastructure's (55P03), so a statement the budget cuts (57014, noted as spent by the
    // error's conversion) is one that worked past it. Writes stay bounded by the deadline:
    // their waits are not told from their work.
    let ms = match crate::store::deadline::work_until().filter(|_| reads) {
        Some(until) => {
            let work_ms = timeout_ms(until.saturating_duration_since(now));
            lock_ms = lock_ms.min(work_ms.saturating_sub(2).max(1));
            ms.min(work_ms)
        }
        None => ms,
    };
    vec![
        format!("SET LOCAL statement_timeout = {ms}"),
        format!("SET LOCAL lock_timeout = {lock_ms}"),
    ]
}

/// Whole milliseconds of `left` rounded up, and one more: the server's cancel must reach
/// the host after the deadline, where it reads as the step's own timeout; rounded down, it
/// arrived just before and read as the infrastructure's failure, and the run was retried
/// for ever (SPEC ST-4, WF-11; hostile-step review).
///
/// At most `i32::MAX` (about 24.8 days), the most the server takes: past it every begin was
/// refused (22023), and every host call of a `step run --timeout-ms` that long failed as
/// the host's own error where SQLite ran it (storage review).
fn timeout_ms(left: std::time::Duration) -> u128 {
    (left.as_nanos().div_ceil(1_000_000) + 1).min(i32::MAX as u128)
}

/// A session with the server at `url`, after running `setup` on it.
fn connect(url: &str, setup: &str) -> Result<Session> {
    let session = Session::open(url).map_err(|e| Error::Reconnect(e.to_string()))?;
    session
        .block_on(session.client().batch_execute(setup))
        .map_err(Error::from)?;
    Ok(session)
}

/// `request` on `client`, as a call to send with others.
fn call<'a>(client: &'a tokio_postgres::Client, request: Request<'a>) -> Call<'a> {
    match request {
        Request::Simple(sql) => {
            Box::pin(async move { client.batch_execute(sql).await.map(|()| Answer::Done) })
        }
        Request::Execute(stmt, params) => Box::pin(async move {
            let refs: Vec<&(dyn PgToSql + Sync)> = params.iter().map(|p| p as _).collect();
            client.execute(stmt, &refs).await.map(Answer::Changed)
        }),
        Request::Query(stmt, params) => Box::pin(async move {
            let refs: Vec<&(dyn PgToSql + Sync)> = params.iter().map(|p| p as _).collect();
            client.query(stmt, &refs).await.map(Answer::Rows)
        }),
    }
}

/// `value`, owned (a deferred statement's parameter outlives the caller's); text that is not
/// UTF-8 is refused here, as binding it at once would refuse it.
fn owned(value: ValueRef<'_>) -> Result<ToSqlOutput<'static>> {
    Ok(ToSqlOutput::Owned(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec())
                .map_err(|e| Error::ToSqlConversionFailure(Box::new(e)))?,
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }))
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
    params
        .iter()
        .map(|p| p.to_sql().and_then(super::value::bindable))
        .collect()
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
        .map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement's bound ends after the deadline, never before it (hostile-step review).
    #[test]
    fn the_servers_timeouts_end_after_the_deadline() {
        use std::time::Duration;
        assert_eq!(timeout_ms(Duration::ZERO), 1);
        assert_eq!(timeout_ms(Duration::from_micros(1)), 2);
        assert_eq!(timeout_ms(Duration::from_micros(1_999)), 3);
        assert_eq!(timeout_ms(Duration::from_millis(5)), 6);
        assert_eq!(
            timeout_ms(Duration::from_secs(3_660 * 86_400)),
            i32::MAX as u128
        );
    }

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
