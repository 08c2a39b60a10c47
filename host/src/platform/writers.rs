//! A host's extra writing connections on PostgreSQL, for the transactions of its runs' own
//! rows and of cases created, from a run or any door ([`super::Platform::transact_in_workspace`];
//! issue 18). Those take no deployment lock, so
//! on connections of their own the runs in flight write side by side on the server (whose
//! WAL then flushes their commits together) rather than queueing on the one connection the
//! host's other writes share. SQLite has one writer: no pool, and that work goes on the
//! one connection.
//!
//! Connections are opened as runs in flight need them, up to [`WRITERS_VAR`] (default
//! [`DEFAULT_WRITERS`]), so a host running one run at a time holds one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};

use crate::Error;
use crate::store::Db;

/// The variable that sets how many writing connections a host may open for its runs' own
/// transactions on PostgreSQL (0: none, they share the host's one connection).
pub const WRITERS_VAR: &str = "FLOWHOST_PG_WRITERS";

/// Writing connections for runs unless [`WRITERS_VAR`] says otherwise: one for each of 16
/// runs in flight, so that none waits for another's round trips (`benches/README.md`,
/// 2026-12-05: 16 in flight over 16 workspaces, 743 runs/s with 4 writers, 995 with 16), and
/// few enough for four hosts within PostgreSQL's default `max_connections` of 100. They
/// are opened as runs in flight need them: a host running two at a time opens two.
pub const DEFAULT_WRITERS: usize = 16;

/// The most [`WRITERS_VAR`] may ask for.
const MAX_WRITERS: usize = 64;

/// How long a wait for a busy pool stays on one connection before it tries the next.
const TURN: Duration = Duration::from_millis(1);

/// The pool size in force: [`WRITERS_VAR`], else [`DEFAULT_WRITERS`]; a value that is not a
/// number up to [`MAX_WRITERS`] is an error naming the variable.
pub fn writers_from_env() -> Result<usize, Error> {
    crate::env_number::number_from_env(
        WRITERS_VAR,
        DEFAULT_WRITERS,
        0..=MAX_WRITERS,
        &format!("a number of connections: use 0 to {MAX_WRITERS}"),
    )
}

/// The pool: slots opened on first use.
pub(crate) struct Writers {
    /// The server's address; `None` for no pool (SQLite, or a size of 0).
    url: Option<String>,
    slots: Box<[Mutex<Option<Db>>]>,
    /// Where the next wait for a busy pool starts, so waiters spread over the slots.
    next: AtomicUsize,
    /// Each opened connection's commit count.
    commits: Mutex<Vec<Arc<AtomicU64>>>,
    /// Steps' calls waiting for a busy pool take turns by organization (`turns.rs`).
    turns: crate::turns::Turns,
    /// The share whose step's call took each slot last (`None`: the host's own work): whose
    /// work a wait for the pool is behind.
    holders: Box<[Mutex<Option<Arc<str>>>]>,
}

/// A connection of the pool, held.
pub(crate) type Writer<'a> = MappedMutexGuard<'a, Db>;

/// `held`'s connection, if its slot has one open.
fn ready(held: MutexGuard<'_, Option<Db>>) -> Option<Writer<'_>> {
    MutexGuard::try_map(held, Option::as_mut).ok()
}

impl Writers {
    /// A pool of up to `size` connections to the server of `db`; none for SQLite.
    pub(crate) fn new(db: &Db, size: usize) -> Writers {
        let url = db.url().filter(|_| size > 0).map(str::to_owned);
        let size = if url.is_some() { size } else { 0 };
        Writers {
            url,
            slots: (0..size).map(|_| Mutex::new(None)).collect(),
            holders: (0..size).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            commits: Mutex::default(),
            turns: crate::turns::Turns::default(),
        }
    }

    /// Whether there is a pool at all.
    pub(crate) fn any(&self) -> bool {
        !self.slots.is_empty()
    }

    /// A free connection: an open one, else one more while the pool may grow; when every
    /// one is busy, whichever frees first, until `deadline` if one is given (a step's host
    /// call, SPEC ST-4). A connection the server refuses (its connection limit) leaves the
    /// open ones to wait for.
    pub(crate) fn take(&self, deadline: Option<Instant>) -> Result<Writer<'_>, Error> {
        let (slot, writer) = self.take_slot(deadline)?;
        *self.holders[slot].lock() = crate::store::deadline::holder_label();
        Ok(writer)
    }

    /// Whether a wait for the pool is behind work not another organization's: some busy
    /// writer is held by this thread's own share, the host's work or no share's (a wait only
    /// behind other tenants' calls does not count towards a step's stops in a row).
    fn behind_own(&self) -> bool {
        self.slots
            .iter()
            .zip(self.holders.iter())
            .any(|(slot, holder)| {
                slot.is_locked()
                    && !crate::store::deadline::is_another_share(holder.lock().as_deref())
            })
    }

    /// [`Writers::take`], with the index of the slot taken.
    fn take_slot(&self, deadline: Option<Instant>) -> Result<(usize, Writer<'_>), Error> {
        // A step's call takes a free one at once only while no step's call waits its turn:
        // one tenant's arrivals otherwise took every writer that freed before the turn's
        // holder saw it (round 27 self-review).
        let share = crate::store::deadline::share();
        if (share.is_none() || self.turns.is_free())
            && let Some(taken) = self.free()
        {
            return Ok(taken);
        }
        let mut refused = None;
        let mut opening_or_busy = false;
        // One more connection, while the pool may grow. Only an empty slot: one open and free
        // here freed after the look above, and is the turn's holder's while a step's call
        // waits (this loop handed it to any arrival, round 28 reviews of round 27), or taken
        // below at once otherwise.
        for (at, slot) in self.slots.iter().enumerate() {
            let Some(mut held) = slot.try_lock() else {
                opening_or_busy = true;
                continue;
            };
            if held.is_some() {
                opening_or_busy = true;
                continue;
            }
            match self.open() {
                Ok(db) => *held = Some(db),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
            if let Some(writer) = ready(held) {
                return Ok((at, writer));
            }
        }
        if let Some(e) = refused {
            // The server refused one more: wait for an open one, if there is one.
            if self.commits.lock().is_empty() {
                return Err(e);
            }
        } else if !opening_or_busy {
            return Err(Error::Internal("no writing connection in the pool".into()));
        }
        // Every open one busy, or every slot held with some still opening their connection
        // (with none open yet this answered `Internal`, and a scheduler's event claim at
        // start-up set its event aside for good: kill and concurrency review): wait on each
        // in turn for a moment, so the first to free is taken within a turn, and never past
        // the deadline.
        let since = Instant::now();
        let behind_own = self.behind_own();
        let gave_up = || {
            // Others' work held them: the database's business, not the caller's (SPEC
            // WF-11; round 26 storage review), as for the shared connection.
            crate::store::deadline::waited_out_behind(since, behind_own && self.behind_own());
            Error::Busy("every writing connection stayed in use past the step's deadline".into())
        };
        // A step's call waits in its organization's turn, as for the shared connection: one
        // tenant's calls, each holding a writer while it waited for its own workspace's
        // lock, took every writer that freed before another tenant's calls (round 27
        // hostile-step review). The turn is the right to take the next writer that frees;
        // the host's own writes (a run's journal) wait beside it.
        let _turn = match share {
            Some(share) => {
                let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                match self.turns.take(&share, wait, || false) {
                    crate::turns::Taken::Turn(turn) => Some(turn),
                    crate::turns::Taken::Ready | crate::turns::Taken::WaitRanOut => {
                        return Err(gave_up());
                    }
                }
            }
            None => None,
        };
        let mut i = self.next.fetch_add(1, Ordering::Relaxed);
        loop {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(gave_up());
            }
            // Any that freed since is taken at once, then one is waited on for a moment.
            if let Some(taken) = self.free() {
                Self::waited(since, behind_own);
                return Ok(taken);
            }
            let turn = now + TURN;
            let until = deadline.map_or(turn, |d| d.min(turn));
            let at = i % self.slots.len();
            if let Some(mut held) = self.slots[at].try_lock_until(until) {
                // An empty slot is passed over while another connection is open to wait for
                // (the server may be at its limit: review); with none open, the openings
                // waited for failed, and this one is opened here or refused as they were.
                if held.is_none() && self.commits.lock().is_empty() {
                    *held = Some(self.open()?);
                }
                if let Some(writer) = ready(held) {
                    Self::waited(since, behind_own);
                    return Ok((at, writer));
                }
            }
            i = i.wrapping_add(1);
        }
    }

    /// An open connection no one holds, if there is one, with its slot.
    fn free(&self) -> Option<(usize, Writer<'_>)> {
        self.slots
            .iter()
            .enumerate()
            .find_map(|(at, slot)| slot.try_lock().and_then(ready).map(|w| (at, w)))
    }

    /// Notes a wait since `since` for writers others held (`behind_own`: its own share's
    /// work among them): neither the work's storage budget nor its own time
    /// (`store/deadline.rs`).
    fn waited(since: Instant, behind_own: bool) {
        crate::store::deadline::waited(since.elapsed());
        crate::store::deadline::waited_for(since.elapsed(), behind_own);
    }

    /// One more connection to the server.
    fn open(&self) -> Result<Db, Error> {
        let url = self
            .url
            .as_deref()
            .ok_or_else(|| Error::Internal("a writing connection without a server".into()))?;
        let db = Db::open_writer(url).map_err(|e| {
            Error::Busy(format!(
                "cannot open another connection to the database: {e:#}"
            ))
        })?;
        self.commits.lock().push(db.commit_counter());
        Ok(db)
    }

    /// Transactions the pool's connections have committed.
    pub(crate) fn commits(&self) -> u64 {
        self.commits
            .lock()
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}
