//! Group commit (issue 19): several transactions of one process share one commit.
//!
//! A commit is the costly part of a short transaction: SQLite writes every page the
//! transaction touched to the WAL, and a run's writes all touch the same few hot pages
//! (`benches/README.md`). So a transaction's work is done inside an open *batch*: the first
//! member begins it (`BEGIN IMMEDIATE`), each later member does its work inside a savepoint
//! of it, and the batch commits once for all of them. A member's work that fails rolls back
//! to its savepoint and leaves the others' alone. Nobody is told their work committed before
//! the batch has: [`Outcome`] is what members wait on, outside the connection's lock, and
//! what decides whether to commit now or wait for more members is the caller's
//! ([`crate::platform::Platform::transact`]); this module only keeps the batch on the
//! connection.
//!
//! Two rules keep one member's failure from becoming the others':
//! - SQLite rolls back the whole transaction after some errors (an interrupted statement,
//!   a full disk, an I/O error). After every member's work the connection is asked whether a
//!   transaction is still open; if not, the batch is gone and every member is told so.
//! - A member bound by a step's deadline (`deadline.rs`), whose statement may be interrupted,
//!   never works on top of other members' uncommitted work: the batch commits first
//!   ([`Entry::Alone`]).

use std::sync::Arc;
use std::time::Instant;

use super::sql::{self, Begin, Connection};
use super::{Db, Transaction, deadline};
use parking_lot::{Condvar, Mutex};

/// The batch open on a connection.
pub(crate) struct OpenBatch {
    /// How its transaction began: a member whose work needs more (the deployment's write
    /// lock, on PostgreSQL) does not join it.
    begin: Begin,
    /// Members whose work succeeded and waits in it for the commit.
    members: usize,
    /// When it began: members wait for others at most a bounded time from here.
    opened: Instant,
    /// When its last member joined (its opening, if none did): whether waiting for more still
    /// paid.
    last_joined: Instant,
    outcome: Arc<Outcome>,
}

impl OpenBatch {
    /// What a member in it waits with.
    fn joined(&self) -> Joined {
        Joined {
            members: self.members,
            opened: self.opened,
            outcome: self.outcome.clone(),
        }
    }
}

/// Why a batch's work did not commit.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// What happened, for the message.
    pub(crate) why: String,
    /// The infrastructure's failure (busy, I/O, a lost session), which a retry may get past;
    /// otherwise the work's own (a statement of it that the commit sent, and that failed).
    pub(crate) infrastructure: bool,
}

impl Failure {
    /// A failure of the infrastructure's, or of the batch's bookkeeping around it.
    fn busy(why: impl Into<String>) -> Failure {
        Failure {
            why: why.into(),
            infrastructure: true,
        }
    }
}

/// How a batch ended, for its members to wait on.
#[derive(Default)]
pub(crate) struct Outcome {
    settled: Mutex<Option<Result<(), Failure>>>,
    cond: Condvar,
}

impl Outcome {
    fn settle(&self, result: Result<(), Failure>) {
        *self.settled.lock() = Some(result);
        self.cond.notify_all();
    }

    /// The batch's end, waiting for it until `until`; `None` if it is still open then.
    pub(crate) fn wait_until(&self, until: Instant) -> Option<Result<(), Failure>> {
        let mut settled = self.settled.lock();
        while settled.is_none() {
            if self.cond.wait_until(&mut settled, until).timed_out() {
                break;
            }
        }
        settled.clone()
    }
}

/// How a member enters the batch.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Joins whatever batch is open.
    Join,
    /// Commits any open batch first, so that its work is the only work in the transaction
    /// until it has succeeded (a deadline-bound member; an access change that must commit at
    /// once).
    Alone,
}

/// A member's work in progress: rolled back unless [`Member::succeed`] is called, also when
/// the work panics.
pub(crate) struct Member<'db> {
    db: &'db mut Db,
    /// Its work is in a savepoint (other members' work is in the batch under it).
    savepoint: bool,
    done: bool,
}

/// A member's work that succeeded and waits in the batch.
pub(crate) struct Joined {
    /// Members in the batch, this one included.
    pub members: usize,
    /// When the batch began.
    pub opened: Instant,
    /// What the member waits on.
    pub outcome: Arc<Outcome>,
}

/// The savepoint a member's work is done in.
const SAVEPOINT: &str = "member";

impl Db {
    /// Begins a member's work, which needs a transaction begun as `begin`, on this
    /// connection (see the module's doc).
    pub(crate) fn enter(&mut self, entry: Entry, begin: Begin) -> sql::Result<Member<'_>> {
        // Committing others' work is not this member's own time (a host call's budget).
        let flushing = std::time::Instant::now();
        if entry == Entry::Alone && self.batch.as_ref().is_some_and(|b| b.members > 0) {
            self.flush();
        }
        // A batch without the lock this work needs commits first: the lock is taken at a
        // transaction's start, before any row lock, so two hosts' batches never wait for
        // each other in opposite orders.
        let engine = self.conn.engine();
        if self
            .batch
            .as_ref()
            .is_some_and(|b| !b.begin.covers(begin, engine))
        {
            self.flush();
        }
        super::deadline::waited(flushing.elapsed());
        // A batch whose transaction vanished (an error of SQLite's that rolled it back
        // outside any member's work) is settled, not joined.
        if self.batch.is_some() && self.conn.is_autocommit() {
            self.lost("the batch's transaction ended without a commit");
        }
        // A transaction left open outside any batch (an end that failed) would swallow
        // everything after it: end it; nothing in it was anyone's.
        if self.batch.is_none() {
            roll_back(&self.conn);
        }
        let savepoint = match &self.batch {
            Some(_) => {
                self.conn.savepoint(SAVEPOINT)?;
                true
            }
            None => {
                self.conn.begin(begin)?;
                let now = Instant::now();
                self.batch = Some(OpenBatch {
                    begin,
                    members: 0,
                    opened: now,
                    last_joined: now,
                    outcome: Arc::default(),
                });
                false
            }
        };
        Ok(Member {
            db: self,
            savepoint,
            done: false,
        })
    }

    /// Commits the open batch, if any, and tells its members how that went. A failed commit
    /// rolls the batch back.
    pub(crate) fn flush(&mut self) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        // A commit is never cut short by the deadline of the step whose thread runs it: the
        // work in it is other members' too.
        let _lifted = deadline::lift();
        let result = if self.conn.is_autocommit() {
            Err(Failure::busy(
                "the batch's transaction ended without a commit",
            ))
        } else {
            // What its members deferred goes out with the commit (PostgreSQL): a failure of
            // theirs fails it, as the work's own failure rather than the infrastructure's.
            // The work's own only when a statement it deferred failed, and the batch is one
            // member's (whose failure is then told apart from the others'); a failure of the
            // commit itself stays the infrastructure's.
            let alone = batch.members <= 1;
            self.conn.commit().map_err(|e| {
                let own = alone && self.conn.deferred_failed() && !super::is_infrastructure(&e);
                roll_back(&self.conn);
                Failure {
                    why: format!("the commit failed: {e}"),
                    infrastructure: !own,
                }
            })
        };
        batch.outcome.settle(result);
    }

    /// When the last member joined the batch of `outcome`, if that batch is still open.
    pub(crate) fn last_joined(&self, outcome: &Arc<Outcome>) -> Option<Instant> {
        self.batch
            .as_ref()
            .filter(|b| Arc::ptr_eq(&b.outcome, outcome))
            .map(|b| b.last_joined)
    }

    /// Members waiting in the open batch (tests).
    #[cfg(test)]
    pub(crate) fn open_members(&self) -> usize {
        self.batch.as_ref().map_or(0, |b| b.members)
    }

    /// The batch is gone without a commit: its members are told why.
    fn lost(&mut self, why: &str) {
        if let Some(batch) = self.batch.take() {
            roll_back(&self.conn);
            batch.outcome.settle(Err(Failure::busy(why)));
        }
    }
}

/// Ends any transaction still open; there is nothing to keep in it.
fn roll_back(conn: &Connection) {
    if !conn.is_autocommit() {
        // Failing, it leaves nothing worse: the next BEGIN fails and says so.
        let _ = conn.rollback();
    }
}

impl Member<'_> {
    /// The transaction the member's work is done in.
    pub(crate) fn tx(&self) -> Transaction<'_> {
        Transaction::new(&self.db.conn)
    }

    /// The member's work succeeded: it stays in the batch, to commit with it. An error if
    /// the batch was lost meanwhile (SQLite rolled it back after an error the work
    /// swallowed): then nothing of it will commit.
    /// Its work's deferred statements (PostgreSQL, [`sql::Connection::execute_later`]) must
    /// have been sent ([`sql::Connection::flush`]): later members' work goes on top of it.
    pub(crate) fn succeed(mut self) -> Result<Joined, Failure> {
        self.keep()
    }

    /// [`Member::succeed`], then commits the batch at once; its outcome. What the work
    /// deferred goes out with the commit.
    pub(crate) fn commit(mut self) -> Result<(), Failure> {
        let joined = self.keep()?;
        self.db.flush();
        joined
            .outcome
            .wait_until(Instant::now())
            .unwrap_or_else(|| {
                Err(Failure::busy(
                    "the batch did not settle when it was committed",
                ))
            })
    }

    fn keep(&mut self) -> Result<Joined, Failure> {
        self.done = true;
        let db = &mut *self.db;
        // On PostgreSQL a swallowed error leaves the transaction aborted: nothing in it can
        // commit any more, as when SQLite rolls it back.
        if db.conn.is_autocommit() || db.conn.is_aborted() {
            let why = "the transaction was rolled back by an error inside it";
            db.lost(why);
            return Err(Failure::busy(why));
        }
        if self.savepoint
            && let Err(e) = db.conn.release(SAVEPOINT)
        {
            // Its work cannot be told apart from the others' any more.
            let why = format!("a member's work could not be kept: {e}");
            db.lost(&why);
            return Err(Failure::busy(why));
        }
        let Some(batch) = db.batch.as_mut() else {
            return Err(Failure::busy("the batch ended while a member worked in it"));
        };
        batch.members += 1;
        // Joined: the member that began the batch did not join it, however long its work.
        if self.savepoint {
            batch.last_joined = Instant::now();
        }
        Ok(batch.joined())
    }

    /// The member's work failed: it is rolled back. If it was done on top of other
    /// members' uncommitted work, which it may have read (a row another member inserted, a
    /// key it saw taken), the batch that holds that work is returned: the failure stands
    /// only if the batch commits.
    pub(crate) fn abandon(mut self) -> Option<Joined> {
        let on_others = self.savepoint;
        self.fail();
        self.db
            .batch
            .as_ref()
            .filter(|_| on_others)
            .map(OpenBatch::joined)
    }

    fn fail(&mut self) {
        self.done = true;
        let db = &mut *self.db;
        if db.conn.is_autocommit() {
            // SQLite rolled back the whole transaction: the other members' work with it.
            db.lost("another transaction's error rolled back the batch this work was in");
            return;
        }
        if !self.savepoint {
            // It began the batch and nobody joined: nothing else to keep.
            roll_back(&db.conn);
            db.batch = None;
            return;
        }
        if db.conn.rollback_to(SAVEPOINT).is_err() {
            db.lost("a failed transaction's work could not be rolled back alone");
        }
    }
}

impl Drop for Member<'_> {
    fn drop(&mut self) {
        // Neither succeeded nor failed in order: an error returned early, or a panic.
        if !self.done {
            self.fail();
        }
    }
}
