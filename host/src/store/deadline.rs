//! Binding a step's deadline into the storage work its host calls do (SPEC ST-4: the
//! deadline covers time spent inside host calls). A host call runs on the thread of the
//! step that made it, so the deadline is a thread-local set for the step's execution
//! ([`bind`]); the connection's progress handler interrupts a statement once it has
//! passed, and the busy handler stops waiting for another process's write lock at it.
//! Either way the statement fails and its transaction rolls back: nothing partial commits.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// A host call's budget ([`budget`]): how long its storage work may take once it holds
    /// the connection.
    static BUDGET: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// SQLite virtual-machine instructions between two looks at the deadline: a look is one
/// thread-local read, and a few thousand instructions take microseconds.
pub(super) const PROGRESS_OPS: i32 = 4096;

/// The longest single sleep while waiting for the write lock.
const BUSY_STEP: Duration = Duration::from_millis(10);

/// While the returned guard lives, storage work on this thread stops at `deadline`.
pub fn bind(deadline: Instant) -> Bound {
    let outer = DEADLINE.with(|d| d.replace(Some(deadline)));
    Bound { outer }
}

/// Restores the deadline bound before (none, outside a step).
pub struct Bound {
    outer: Option<Instant>,
}

impl Drop for Bound {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.outer));
    }
}

/// While the returned guard lives, no deadline binds storage work on this thread: for work
/// that is not the step's own (a commit of other transactions' work with it, `batch.rs`).
pub fn lift() -> Bound {
    let outer = DEADLINE.with(|d| d.replace(None));
    Bound { outer }
}

/// This thread's bound deadline, if any.
pub fn current() -> Option<Instant> {
    DEADLINE.with(|d| d.get())
}

/// While the returned guard lives, the storage work on this thread may take `budget` from
/// when it holds the connection ([`connection_taken`]), within the bound deadline; the wait
/// for the connection is bounded by that deadline alone. A host call's: one step's query
/// held the connection every run of the process shares up to its step's deadline (minutes),
/// and every other run's host calls failed waiting for it (hostile-step review).
pub fn budget(budget: Duration) -> Budgeted {
    let outer = DEADLINE.with(|d| d.get());
    let outer_budget = BUDGET.with(|b| b.replace(Some(budget)));
    Budgeted {
        outer,
        outer_budget,
    }
}

/// Restores the deadline and budget bound before [`budget`].
pub struct Budgeted {
    outer: Option<Instant>,
    outer_budget: Option<Duration>,
}

impl Budgeted {
    /// Whether the budget cut this work short: the bound deadline passed before the one
    /// bound outside the budget did.
    pub fn spent(&self) -> bool {
        let now = Instant::now();
        passed() && self.outer.is_none_or(|outer| now < outer)
    }
}

impl Drop for Budgeted {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.outer));
        BUDGET.with(|b| b.set(self.outer_budget));
    }
}

/// The connection was taken for this thread's work: under a [`budget`], the work's deadline
/// is now that budget from now (never later than the one already bound).
pub(crate) fn connection_taken() {
    if let Some(budget) = BUDGET.with(|b| b.get()) {
        let until = Instant::now() + budget;
        DEADLINE.with(|d| d.set(Some(d.get().map_or(until, |bound| bound.min(until)))));
    }
}

/// Whether this thread's bound deadline has passed (never, with none bound).
pub fn passed() -> bool {
    DEADLINE
        .with(|d| d.get())
        .is_some_and(|d| Instant::now() >= d)
}

/// The progress handler: `true` interrupts the running statement.
pub(super) fn interrupt() -> bool {
    passed()
}

/// The busy handler, in place of SQLite's busy timeout: waits for the write lock up to
/// `timeout` per busy episode, and never past this thread's bound deadline. `false` gives up
/// (the statement fails with `SQLITE_BUSY`).
pub(super) fn busy_handler(timeout: Duration) -> impl FnMut(i32) -> bool + Send + 'static {
    let mut started = Instant::now();
    move |count| {
        if count == 0 {
            started = Instant::now();
        }
        let now = Instant::now();
        let mut left = timeout.saturating_sub(now.duration_since(started));
        if let Some(deadline) = DEADLINE.with(|d| d.get()) {
            left = left.min(deadline.saturating_duration_since(now));
        }
        if left.is_zero() {
            return false;
        }
        // Short first sleeps: most locks are held for a commit's milliseconds.
        let step = Duration::from_millis(1 << count.clamp(0, 4)).min(BUSY_STEP);
        std::thread::sleep(step.min(left));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    #[test]
    fn a_budget_starts_when_the_connection_is_taken_and_ends_with_its_guard() {
        let step = Instant::now() + Duration::from_secs(60);
        let _step = bind(step);
        {
            let spent = budget(Duration::from_millis(20));
            assert_eq!(
                current(),
                Some(step),
                "waiting for the connection: the step's bound"
            );
            connection_taken();
            let work = current().expect("bound");
            assert!(work < step && work > Instant::now(), "the budget from now");
            connection_taken();
            assert!(current() <= Some(work), "never later than bound already");
            std::thread::sleep(Duration::from_millis(30));
            assert!(passed() && spent.spent(), "the budget cut it short");
        }
        assert_eq!(current(), Some(step), "the step's bound again");
        connection_taken();
        assert_eq!(current(), Some(step), "no budget outside its guard");
    }

    #[test]
    fn a_busy_wait_lasts_the_busy_timeout_or_until_the_bound_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.db");
        let db = Db::open(&path).expect("db");
        let holder = rusqlite::Connection::open(&path).expect("open");
        holder.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let started = Instant::now();
        {
            let _bound = bind(started + Duration::from_millis(200));
            let err = db
                .conn()
                .begin(crate::store::sql::Begin::Write)
                .expect_err("the lock is held");
            assert!(crate::store::is_infrastructure(&err), "{err}");
        }
        let took = started.elapsed();
        assert!(
            (Duration::from_millis(190)..Duration::from_millis(1000)).contains(&took),
            "{took:?}"
        );
        assert!(!passed(), "the bound ended with its guard");
    }
}
