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
    /// A host call's budget ([`budget`]): how long its statements may run once it holds the
    /// connection.
    static BUDGET: Cell<Option<Duration>> = const { Cell::new(None) };
    /// When the budgeted work's statements must stop (set when the connection is taken).
    static WORK: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Whether the budget interrupted a statement.
    static SPENT: Cell<bool> = const { Cell::new(false) };
    /// Whether a wait for the shared connection ended at the bound deadline ([`waited_out`]).
    static WAITED_OUT: Cell<bool> = const { Cell::new(false) };
    /// Whether waits that reach the deadline are the work's own whatever they waited for
    /// ([`own_waits`]).
    static OWN_WAITS: Cell<bool> = const { Cell::new(false) };
    /// How long the work bound now has waited, in waits that ended well, for what others
    /// held ([`waited_for_others`]).
    static OTHERS_TOOK: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    /// Of those, how long behind work of its own share (its organization's calls).
    static OWN_SHARE_TOOK: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    /// Whether a wait that was the host's business was, for half the bound's time or more,
    /// behind work of its own share ([`waited_out_behind`], [`others_took_its_time`]) since
    /// [`waited_behind_its_own_since_asked`] was last asked, whatever bound it was under.
    static OWN_SHARE_SINCE_ASKED: Cell<bool> = const { Cell::new(false) };
    /// When the deadline bound now was bound.
    static BOUND_AT: Cell<Option<Instant>> = const { Cell::new(None) };
    /// When this thread's PostgreSQL transaction under a bound began ([`transaction_begun`]).
    static BEGUN: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Whose work the deadline bounds ([`bind_shared`]): the share it waits for the shared
    /// connection in.
    static SHARE: std::cell::RefCell<Option<std::sync::Arc<str>>> =
        const { std::cell::RefCell::new(None) };
    /// Whose work this thread does outside a step's bound ([`label`]): a run's engine work,
    /// its journal's writes.
    static LABEL: std::cell::RefCell<Option<std::sync::Arc<str>>> =
        const { std::cell::RefCell::new(None) };
}

/// While the returned guard lives, this thread's work is of `share` (a run's organization)
/// when others wait behind it, without a deadline and outside any turn: a run's engine work
/// and journal writes, which another tenant's steps waited behind unlabelled, and so counted
/// as their own towards their stops in a row (round 28 self-review).
pub fn label(share: &str) -> Label {
    label_as(Some(share.into()))
}

/// This thread's [`label`], if any: for the threads doing parts of the same work
/// ([`label_as`]).
pub fn current_label() -> Option<std::sync::Arc<str>> {
    LABEL.with(|l| l.borrow().clone())
}

/// [`label`] with a label read on another thread ([`current_label`]): a run's parallel parts
/// run on helper threads, and their journal writes went unlabelled, so another tenant's
/// steps waiting behind them counted the wait as their own again (round 29 reviews).
pub fn label_as(label: Option<std::sync::Arc<str>>) -> Label {
    Label {
        outer: LABEL.with(|l| l.replace(label)),
    }
}

/// Restores what [`label`] changed.
pub struct Label {
    outer: Option<std::sync::Arc<str>>,
}

impl Drop for Label {
    fn drop(&mut self) {
        let outer = self.outer.take();
        LABEL.with(|l| *l.borrow_mut() = outer);
    }
}

/// Whose work this thread does, for one who waits behind it: the step's share it is bound
/// to, else its [`label`], if any.
pub(crate) fn holder_label() -> Option<std::sync::Arc<str>> {
    share().or_else(|| LABEL.with(|l| l.borrow().clone()))
}

/// SQLite virtual-machine instructions between two looks at the deadline: a look is one
/// thread-local read, and a few thousand instructions take microseconds.
pub(super) const PROGRESS_OPS: i32 = 4096;

/// The longest single sleep while waiting for the write lock.
const BUSY_STEP: Duration = Duration::from_millis(10);

/// While the returned guard lives, storage work on this thread stops at `deadline`.
pub fn bind(deadline: Instant) -> Bound {
    Bound::with(Some(deadline))
}

/// [`bind`], for work of `share` (a step's organization): its waits for the shared
/// connection are taken in turn with other shares' (`turns.rs`, `Platform::db`).
pub fn bind_shared(deadline: Instant, share: &str) -> Bound {
    let mut bound = Bound::with(Some(deadline));
    bound.outer_share = Some(SHARE.with(|s| s.replace(Some(share.into()))));
    bound
}

/// The share the work bound now is of ([`bind_shared`]), if any.
pub(crate) fn share() -> Option<std::sync::Arc<str>> {
    SHARE.with(|s| s.borrow().clone())
}

/// Restores the deadline bound before (none, outside a step).
pub struct Bound {
    outer: Option<Instant>,
    outer_waited_out: bool,
    outer_others_took: Duration,
    outer_own_share_took: Duration,
    outer_bound_at: Option<Instant>,
    /// The share bound before, when this bound one (`bind_shared`).
    outer_share: Option<Option<std::sync::Arc<str>>>,
}

impl Bound {
    fn with(deadline: Option<Instant>) -> Bound {
        Bound {
            outer: DEADLINE.with(|d| d.replace(deadline)),
            outer_waited_out: WAITED_OUT.with(|w| w.replace(false)),
            outer_others_took: OTHERS_TOOK.with(|o| o.replace(Duration::ZERO)),
            outer_own_share_took: OWN_SHARE_TOOK.with(|o| o.replace(Duration::ZERO)),
            outer_bound_at: BOUND_AT.with(|b| b.replace(Some(Instant::now()))),
            outer_share: None,
        }
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.outer));
        WAITED_OUT.with(|w| w.set(self.outer_waited_out));
        OTHERS_TOOK.with(|o| o.set(self.outer_others_took));
        OWN_SHARE_TOOK.with(|o| o.set(self.outer_own_share_took));
        BOUND_AT.with(|b| b.set(self.outer_bound_at));
        if let Some(outer) = self.outer_share.take() {
            SHARE.with(|s| *s.borrow_mut() = outer);
        }
    }
}

/// While the returned guard lives, no deadline binds storage work on this thread: for work
/// that is not the step's own (a commit of other transactions' work with it, `batch.rs`).
pub fn lift() -> Bound {
    Bound::with(None)
}

/// Notes that this thread's wait for what the host shares between runs (the shared
/// connection, PostgreSQL's writing connections, the access index's update), which others'
/// work held, ended at the bound deadline: the deadline passed for the host's business, not
/// the work's own, and the failure is the infrastructure's (a run stops resumable, SPEC
/// WF-11). Read as the step's own timeout, one tenant's steps holding the connection failed
/// every other tenant's steps waiting behind them (round 26 hostile-step review). So is a
/// wait for another process's write lock that ends at the deadline (SQLite's busy handler,
/// PostgreSQL's `lock_timeout`: [`lock_wait_ran_out`]; round 27 kill and concurrency
/// review); one past the busy timeout is the infrastructure's there already.
///
/// Only waits that took half the bound's time count: this one, from `since` to the deadline,
/// with those before it that ended well ([`waited_for_others`]). A step that spent its own
/// time and met a busy connection at its end is out of its own time, and read as the host's
/// it was stopped resumable and run again without end (round 26 engine review; the
/// self-review found the busy timeout's 5 s too short a wait to blame the host for a step of
/// minutes); one whose time others took over several waits is not (round 27 reviews: it
/// failed as its own timeout).
pub(crate) fn waited_out(since: Instant) {
    waited_out_counting(since, Duration::ZERO, true);
}

/// Notes that this thread's PostgreSQL transaction under a bound begins now: a lock wait the
/// server ends at the deadline is taken from here ([`lock_wait_ran_out`]).
pub(crate) fn transaction_begun() {
    BEGUN.with(|b| b.set(Some(Instant::now())));
}

/// How near the deadline a PostgreSQL lock wait ends that the server ended at its
/// `lock_timeout` set by the deadline (`pg::deadline_settings` ends it just short of it).
const NEAR_THE_DEADLINE: Duration = Duration::from_millis(50);

/// Notes that a lock wait of this thread's PostgreSQL transaction ended at the server's
/// `lock_timeout` (55P03): near the bound deadline, another host's lock held it there, the
/// host's business when the wait took half the bound's time ([`waited_out`], from the
/// transaction's begin), as SQLite's busy handler decides it. Its `lock_timeout` and
/// `statement_timeout` ended at the same instant, and the server reported the second: a step
/// whose write waited for another host's lock failed as its own timeout where SQLite stopped
/// the run resumable (round 30 kill and concurrency review; SPEC WF-11). Far from it, the
/// wait ended at the busy timeout: the infrastructure's already.
///
/// The server ends it just short of the deadline: the rest is waited out here, so that the
/// deadline has passed as the wait is judged and the rule of half the bound's time (and a
/// step's own waits after stops in a row) decides whose it was, as on SQLite; judged before
/// it, every such wait read as the host's (round 30 self-review).
pub(crate) fn lock_wait_ran_out() {
    let (Some(deadline), Some(begun)) = (current(), BEGUN.with(Cell::get)) else {
        return;
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left <= NEAR_THE_DEADLINE {
        std::thread::sleep(left + Duration::from_millis(1));
        waited_out(begun);
    }
}

/// [`waited_out`] of a wait for what work of another share held (`behind_own` false: another
/// organization's step held the turn, the connection or every busy writer) or not (its own,
/// the host's, another process's, a request's: `behind_own` true). Only half the step's time
/// spent behind work not another tenant's counts towards its stops in a row
/// (`workflow/stops_in_a_row.rs`): behind another tenant's, a stop is the host's business
/// however often it comes (SPEC WF-11; round 28 hostile-step review: three stops behind
/// another organization's load failed a step as its own timeout), and behind anything else
/// it counts as before (round 28 self-review: unlabelled work let a step retry forever).
pub(crate) fn waited_out_behind(since: Instant, behind_own: bool) {
    waited_out_counting(since, Duration::ZERO, behind_own);
}

/// [`waited_out`] of a wait of which `counted` was noted already as one that ended well
/// ([`waited_for_others`]): counted once (the busy handler notes each sleep as it goes; its
/// last wait counted twice fired the rule at a quarter of the step's time, round 28 reviews).
fn waited_out_counting(since: Instant, counted: Duration, behind_own: bool) {
    if OWN_WAITS.with(Cell::get) {
        return;
    }
    let (Some(deadline), Some(bound_at)) = (current(), BOUND_AT.with(Cell::get)) else {
        return;
    };
    let whole = deadline.saturating_duration_since(bound_at);
    let waited = deadline
        .saturating_duration_since(since)
        .saturating_add(OTHERS_TOOK.with(Cell::get).saturating_sub(counted));
    if waited >= whole / 2 {
        WAITED_OUT.with(|w| w.set(true));
        let this = if behind_own {
            deadline.saturating_duration_since(since)
        } else {
            Duration::ZERO
        };
        // `counted` was noted behind its own share too (`waited_for_others`): once.
        let own = OWN_SHARE_TOOK
            .with(Cell::get)
            .saturating_sub(counted)
            .saturating_add(this);
        if own >= whole / 2 {
            OWN_SHARE_SINCE_ASKED.with(|h| h.set(true));
        }
    }
}

/// Notes that this thread's bound work waited `waited` for what others held, a wait that
/// ended well (the shared connection, a writing connection, the access index's update).
pub(crate) fn waited_for_others(waited: Duration) {
    waited_for(waited, true);
}

/// [`waited_for_others`], behind work not another share's (`behind_own`) or another's
/// (see [`waited_out_behind`]).
pub(crate) fn waited_for(waited: Duration, behind_own: bool) {
    OTHERS_TOOK.with(|o| o.set(o.get().saturating_add(waited)));
    if behind_own {
        OWN_SHARE_TOOK.with(|o| o.set(o.get().saturating_add(waited)));
    }
}

/// Whether the deadline bound now has passed after its work waited for what others held for
/// half its time or more, in waits that ended well: then the host took its time, not the
/// work (SPEC WF-11), unless its waits are its own ([`own_waits`]).
pub fn others_took_its_time() -> bool {
    if OWN_WAITS.with(Cell::get) || !passed() {
        return false;
    }
    let (Some(deadline), Some(bound_at)) = (current(), BOUND_AT.with(Cell::get)) else {
        return false;
    };
    let took = OTHERS_TOOK.with(Cell::get);
    let half = deadline.saturating_duration_since(bound_at) / 2;
    let hosts = !took.is_zero() && took >= half;
    if hosts && OWN_SHARE_TOOK.with(Cell::get) >= half {
        OWN_SHARE_SINCE_ASKED.with(|h| h.set(true));
    }
    hosts
}

/// While the returned guard lives, a wait on this thread that reaches the deadline is the
/// work's own whatever it waited for ([`waited_out`] notes nothing): for a step that stopped
/// its run resumable at such waits several times in a row (`workflow/stops_in_a_row.rs`).
pub(crate) fn own_waits() -> OwnWaits {
    OwnWaits {
        outer: OWN_WAITS.with(|o| o.replace(true)),
    }
}

/// Restores what [`own_waits`] changed.
pub(crate) struct OwnWaits {
    outer: bool,
}

impl Drop for OwnWaits {
    fn drop(&mut self) {
        OWN_WAITS.with(|o| o.set(self.outer));
    }
}

/// Whether a wait on this thread was the host's business, behind its own share's work for
/// half the step's time, since this was last asked: a step stopped for that counts towards
/// its stops in a row (`workflow/stops_in_a_row.rs`); one stopped behind another tenant's
/// work, for a full slot or a busy compiler does not.
pub(crate) fn waited_behind_its_own_since_asked() -> bool {
    OWN_SHARE_SINCE_ASKED.with(|h| h.replace(false))
}

/// Whether `held` (who holds what this thread's bound work waits for; `None`: the host's own
/// work, or no share's) is another share than this work's own: only waits behind such work
/// are not counted towards a step's stops in a row.
pub(crate) fn is_another_share(held: Option<&str>) -> bool {
    match (held, SHARE.with(|s| s.borrow().clone())) {
        (Some(held), Some(own)) => held != &*own,
        _ => false,
    }
}

/// Whether, under the deadline bound now, a wait for the shared connection ended at it
/// ([`waited_out`]).
pub fn was_waited_out() -> bool {
    WAITED_OUT.with(Cell::get)
}

/// This thread's bound deadline, if any.
pub fn current() -> Option<Instant> {
    DEADLINE.with(|d| d.get())
}

/// While the returned guard lives, the statements this thread runs on SQLite may take
/// `budget` from when it holds the shared connection ([`connection_taken`]): past it, the
/// progress handler interrupts the running statement and [`Budgeted::spent`] says so. Waits
/// for the connection or a write lock, and others' commits, are not counted ([`waited`]) and
/// stay bounded by the bound deadline alone, so a busy database is still the infrastructure's
/// failure (SPEC WF-11), not the work's. (On PostgreSQL a read's statements stop at the
/// budget too, its lock waits ending first, `pg::deadline_settings`; a write's, whose waits
/// are not told from its work there, at the deadline.) A host call's: one
/// step's query held the connection every run of the process shares up to its step's
/// deadline (minutes), and every other run's calls failed waiting for it (hostile-step
/// review).
pub fn budget(budget: Duration) -> Budgeted {
    Budgeted {
        outer_budget: BUDGET.with(|b| b.replace(Some(budget))),
        outer_work: WORK.with(|w| w.replace(None)),
        outer_spent: SPENT.with(|s| s.replace(false)),
    }
}

/// Restores what was bound before [`budget`].
pub struct Budgeted {
    outer_budget: Option<Duration>,
    outer_work: Option<Instant>,
    outer_spent: bool,
}

impl Budgeted {
    /// Whether the budget interrupted a statement of this work.
    pub fn spent(&self) -> bool {
        SPENT.with(Cell::get)
    }

    /// How much of `budget` (as given to [`budget`]) this work has used so far: its time
    /// holding the connection, waits left out; nothing if it never took the connection.
    pub fn used(&self, budget: Duration) -> Duration {
        WORK.with(Cell::get).map_or(Duration::ZERO, |until| {
            budget.saturating_sub(until.saturating_duration_since(Instant::now()))
        })
    }
}

impl Drop for Budgeted {
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(self.outer_budget));
        WORK.with(|w| w.set(self.outer_work));
        SPENT.with(|s| s.set(self.outer_spent));
    }
}

/// The shared connection was taken for this thread's work: under a [`budget`], its statements
/// may run for that budget from the first take on.
pub(crate) fn connection_taken() {
    if let Some(budget) = BUDGET.with(Cell::get)
        && WORK.with(Cell::get).is_none()
    {
        WORK.with(|w| w.set(Some(Instant::now() + budget)));
    }
}

/// This thread's work waited `waited` (for the connection again, for a write lock): under a
/// [`budget`], that wait is not the work's, and its statements may run that much longer.
pub(crate) fn waited(waited: Duration) {
    WORK.with(|w| w.set(w.get().map(|until| until + waited)));
}

/// When this thread's budgeted work must stop ([`budget`]), once it holds the connection.
pub(crate) fn work_until() -> Option<Instant> {
    WORK.with(Cell::get)
}

/// The server cancelled a statement of this thread's (PostgreSQL's `statement_timeout`): past
/// the budget and before the deadline, the budget cut it, and [`Budgeted::spent`] says so, as
/// [`interrupt`] notes it on SQLite.
pub(crate) fn cancelled() {
    if !passed() && WORK.with(Cell::get).is_some_and(|w| Instant::now() >= w) {
        SPENT.with(|s| s.set(true));
    }
}

/// Whether this thread's bound deadline has passed (never, with none bound).
pub fn passed() -> bool {
    DEADLINE
        .with(|d| d.get())
        .is_some_and(|d| Instant::now() >= d)
}

/// The progress handler: `true` interrupts the running statement, at the bound deadline or
/// past a [`budget`] (noted for [`Budgeted::spent`]).
pub(super) fn interrupt() -> bool {
    if passed() {
        return true;
    }
    let over = WORK.with(Cell::get).is_some_and(|w| Instant::now() >= w);
    if over {
        SPENT.with(|s| s.set(true));
    }
    over
}

/// The busy handler, in place of SQLite's busy timeout: waits for the write lock up to
/// `timeout` per busy episode, and never past this thread's bound deadline. `false` gives up
/// (the statement fails with `SQLITE_BUSY`).
pub(super) fn busy_handler(timeout: Duration) -> impl FnMut(i32) -> bool + Send + 'static {
    let mut started = Instant::now();
    // This episode's sleeps, noted as they went (`waited_for_others`).
    let mut slept_since = Duration::ZERO;
    move |count| {
        if count == 0 {
            started = Instant::now();
            slept_since = Duration::ZERO;
        }
        let now = Instant::now();
        let mut left = timeout.saturating_sub(now.duration_since(started));
        if let Some(deadline) = DEADLINE.with(|d| d.get()) {
            let to_deadline = deadline.saturating_duration_since(now);
            // Another process's lock held past the deadline is the host's business as the
            // shared connection is, when the wait took half the step's time (round 27 kill
            // and concurrency review: a step of a short timeout failed as its own).
            if to_deadline.is_zero() && !left.is_zero() {
                waited_out_counting(started, slept_since, true);
            }
            left = left.min(to_deadline);
        }
        if left.is_zero() {
            return false;
        }
        // Short first sleeps: most locks are held for a commit's milliseconds.
        let step = Duration::from_millis(1 << count.clamp(0, 4)).min(BUSY_STEP);
        let slept = step.min(left);
        std::thread::sleep(slept);
        // A wait for another's lock is not the work's own time (under a budget), nor the
        // step's (round 27 self-review: a step whose time another process's lock took over
        // several waits failed as its own timeout).
        waited(slept);
        waited_for_others(slept);
        slept_since = slept_since.saturating_add(slept);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    /// A wait that began with at least half the bound's time left and ran out is the
    /// host's business; one begun near the end is the step's own time run out (round 26
    /// engine review: read as the host's, such a step was stopped resumable and run again
    /// without end).
    #[test]
    fn only_a_wait_begun_with_half_the_time_left_is_waited_out() {
        let start = Instant::now();
        let bound = bind(start + Duration::from_millis(200));
        waited_out(start + Duration::from_millis(150));
        assert!(
            !was_waited_out(),
            "begun with a quarter left: the step's own"
        );
        waited_out(start);
        assert!(was_waited_out(), "begun with all of it left: the host's");
        drop(bound);
        assert!(!was_waited_out(), "no bound, nothing noted");
        // Under a long bound, a wait of the store's busy timeout is still the step's own.
        let start = Instant::now();
        let _long = bind(start + Duration::from_secs(600));
        waited_out(start + Duration::from_secs(600) - crate::store::BUSY_TIMEOUT);
        assert!(
            !was_waited_out(),
            "5 s before a long deadline: the step's own"
        );
        waited_out(start + Duration::from_secs(290));
        assert!(was_waited_out(), "half of it waited: the host's");
    }

    /// Waits that ended well count with the one that ran out: a step whose time others took
    /// over several waits is not out of its own time (round 27 reviews). Once its deadline
    /// passed after such waits, the host took its time; not under [`own_waits`].
    #[test]
    fn waits_that_ended_well_count_towards_the_hosts_time() {
        let start = Instant::now();
        let bound = bind(start + Duration::from_millis(200));
        waited_for_others(Duration::from_millis(60));
        waited_out(start + Duration::from_millis(150));
        assert!(was_waited_out(), "60 ms before and 50 ms at the end: half");
        drop(bound);
        let _bound = bind(Instant::now() + Duration::from_millis(40));
        assert!(!others_took_its_time(), "not passed yet");
        waited_for_others(Duration::from_millis(25));
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            others_took_its_time(),
            "passed after 25 of its 40 ms waited"
        );
        let own = own_waits();
        assert!(!others_took_its_time(), "its own waits");
        drop(own);
        let _inner = bind(Instant::now());
        assert!(!others_took_its_time(), "a new bound starts afresh");
    }

    /// The busy handler's wait that ran to the deadline counts once: its sleeps, noted as
    /// they went, were counted again at the deadline, and a step that spent 70 % of its
    /// time in its own code was stopped resumable as the host's (round 28 reviews of round
    /// 27). One that took half the step's time is still the host's.
    #[test]
    fn the_busy_handlers_last_wait_counts_once() {
        let drive = |own: Duration| {
            let _bound = bind(Instant::now() + Duration::from_millis(200));
            std::thread::sleep(own);
            let mut handler = busy_handler(Duration::from_secs(5));
            let mut count = 0;
            while handler(count) {
                count += 1;
            }
            was_waited_out()
        };
        assert!(
            !drive(Duration::from_millis(140)),
            "60 of its 200 ms waited"
        );
        assert!(drive(Duration::from_millis(40)), "160 of its 200 ms waited");
    }

    /// The busy handler's last wait counts once towards the time behind its own share too: its
    /// noted sleeps counted twice there, and a step that spent 60 of its 200 ms behind its own
    /// share's work counted a stop in a row (round 29 review of round 28).
    #[test]
    fn the_busy_handlers_last_wait_counts_once_behind_its_own_share() {
        let start = Instant::now();
        let _bound = bind_shared(start + Duration::from_millis(200), "org-a");
        waited_behind_its_own_since_asked();
        // 90 ms behind another organization's work, ended well.
        waited_for(Duration::from_millis(90), false);
        std::thread::sleep(Duration::from_millis(140).saturating_sub(start.elapsed()));
        let mut handler = busy_handler(Duration::from_secs(5));
        let mut count = 0;
        while handler(count) {
            count += 1;
        }
        assert!(was_waited_out(), "150 of its 200 ms waited");
        assert!(
            !waited_behind_its_own_since_asked(),
            "only about 60 ms behind work not another's"
        );
    }

    /// A wait that was the host's business counts towards a step's stops in a row only when
    /// half the step's time went behind work not another tenant's: behind another tenant's,
    /// never (round 28 hostile-step review); behind unlabelled work, as before (self-review).
    #[test]
    fn only_waits_behind_its_own_share_count_towards_its_stops_in_a_row() {
        let start = Instant::now();
        let _bound = bind_shared(start + Duration::from_millis(200), "org-a");
        waited_behind_its_own_since_asked();
        waited_out_behind(start, false);
        assert!(was_waited_out(), "the host's business");
        assert!(!waited_behind_its_own_since_asked(), "behind another's");
        waited_out_behind(start, true);
        assert!(waited_behind_its_own_since_asked(), "behind its own");
        assert!(!waited_behind_its_own_since_asked(), "asked once");
        // Waits that ended well behind its own work count with the last one.
        waited_for(Duration::from_millis(80), true);
        waited_out_behind(start + Duration::from_millis(170), false);
        assert!(
            !waited_behind_its_own_since_asked(),
            "80 ms of its 200 behind its own"
        );
        waited_for(Duration::from_millis(30), true);
        waited_out_behind(start + Duration::from_millis(170), false);
        assert!(waited_behind_its_own_since_asked(), "110 ms behind its own");
        assert!(!is_another_share(Some("org-a")));
        assert!(is_another_share(Some("org-b")));
        assert!(!is_another_share(None), "the host's own work");
        waited_out(start);
        assert!(
            waited_behind_its_own_since_asked(),
            "unlabelled work counts"
        );
    }

    /// Whose work a thread does, for one who waits behind it: a step's bound share, else the
    /// run's label, else nobody's.
    #[test]
    fn a_threads_work_is_labelled_by_its_steps_share_else_its_runs() {
        assert_eq!(holder_label(), None);
        let label = label("org-a");
        assert_eq!(holder_label().as_deref(), Some("org-a"));
        {
            let _bound = bind_shared(Instant::now() + Duration::from_secs(1), "org-b");
            assert_eq!(holder_label().as_deref(), Some("org-b"));
        }
        assert_eq!(holder_label().as_deref(), Some("org-a"));
        drop(label);
        assert_eq!(holder_label(), None);
    }

    /// Under [`own_waits`] no wait is the host's: a step stopped resumable several times in a
    /// row fails at its deadline instead (round 26 self-review: it was stopped without end).
    #[test]
    fn under_own_waits_no_wait_is_the_hosts() {
        let start = Instant::now();
        let _bound = bind(start + Duration::from_millis(200));
        {
            let _own = own_waits();
            waited_out(start);
            assert!(!was_waited_out(), "the step's own");
        }
        waited_out(start);
        assert!(was_waited_out(), "the guard gone, the host's again");
    }

    #[test]
    fn a_budget_starts_when_the_connection_is_taken_and_ends_with_its_guard() {
        let step = Instant::now() + Duration::from_secs(60);
        let _step = bind(step);
        {
            let spent = budget(Duration::from_millis(20));
            assert!(!interrupt(), "not yet holding the connection");
            connection_taken();
            assert!(!interrupt() && !spent.spent(), "within the budget");
            std::thread::sleep(Duration::from_millis(30));
            assert!(interrupt() && spent.spent(), "the budget interrupts");
            assert!(
                !passed(),
                "the step's deadline has not passed: waits go on to it"
            );
            assert_eq!(current(), Some(step));
        }
        assert!(!interrupt(), "no budget outside its guard");
        connection_taken();
        assert!(!interrupt());
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
