//! Turns taken in turn by tenants: one holder at a time, and when the turn frees it goes to
//! the waiting share (a run's organization, as for instance slots: `wasm/slots.rs`) served
//! longest ago, first come first served within one share. Two things are so shared:
//!
//! - The compile turn (`wasm/runtime.rs`): one component compiles at a time in a process (a
//!   compile already uses every core). It was one lock, taken by whoever the scheduler woke:
//!   one organization queueing costly components (each compiling for minutes, each step
//!   waiting its own 15-minute timeout) kept every other tenant's new component waiting
//!   behind them (round 24 hostile-step review). A load whose wait ran out leaves a compile
//!   of its component waiting in its place (`StepRuntime::load_within`): a share that gave up
//!   was absent whenever the turn freed (round 25 hostile-step review).
//! - The shared connection, for steps' host calls that wait for it (`Platform::db`): one
//!   tenant's steps, 48 at once, each holding it up to its call's storage budget, queued
//!   every other tenant's calls behind all of theirs, and past their deadlines (round 26
//!   hostile-step review). The turn is the right to wait for the connection next.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One turn, taken in turn by shares.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Whether the turn is held.
    busy: bool,
    /// The share holding it, while it is held.
    holder: Option<String>,
    /// Who waits, in the order they came.
    waiting: Vec<Waiter>,
    next_ticket: u64,
    /// When each share was last given the turn (a count of turns given).
    served: HashMap<String, u64>,
    turns: u64,
    /// How many turns have ended.
    ended: u64,
}

#[derive(Debug)]
struct Waiter {
    ticket: u64,
    share: String,
}

/// What a wait for the turn came to.
#[derive(Debug)]
pub(crate) enum Taken<'a> {
    /// The turn, held until dropped.
    Turn(Turn<'a>),
    /// What the turn was wanted for was done meanwhile (by a turn another took).
    Ready,
    /// The wait ran out first.
    WaitRanOut,
}

/// The turn, held until dropped.
#[derive(Debug)]
pub(crate) struct Turn<'a> {
    turns: &'a Turns,
}

/// How many shares' last turns are remembered; past it the memory starts afresh (every
/// share then counts as never served, which orders them by arrival).
const SERVED_KEPT: usize = 4096;

impl Turns {
    /// The turn for `share`, waiting at most `wait` (`None`: as long as it takes), unless
    /// `ready` says, when a turn ends, that what it was wanted for is done. `ready` is asked
    /// without the turn's lock held.
    pub(crate) fn take(
        &self,
        share: &str,
        wait: Option<Duration>,
        ready: impl Fn() -> bool,
    ) -> Taken<'_> {
        // Done before this came (a turn that ended as it looked elsewhere): no turn to wait for.
        if ready() {
            return Taken::Ready;
        }
        let deadline = wait.map(|w| Instant::now() + w);
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push(Waiter {
            ticket,
            share: share.to_owned(),
        });
        let mut ended_seen = state.ended;
        loop {
            // Another's turn ended since this last looked: what it did may be this one's.
            if state.ended != ended_seen {
                ended_seen = state.ended;
                drop(state);
                let done = ready();
                state = self.lock();
                if done {
                    state.leave(ticket);
                    self.freed.notify_all();
                    return Taken::Ready;
                }
            }
            if !state.busy && state.next_up() == Some(ticket) {
                state.give(ticket);
                return Taken::Turn(Turn { turns: self });
            }
            // A turn that ended while `ready` was asked is looked at again before waiting.
            if state.ended != ended_seen {
                continue;
            }
            state = match deadline {
                None => self.freed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        state.leave(ticket);
                        // Who is next may be another now.
                        self.freed.notify_all();
                        return Taken::WaitRanOut;
                    }
                    self.freed
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }

    /// How many wait for the turn (for tests that order takers).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    /// The share holding the turn now, if any: whose work a wait for it is behind.
    pub(crate) fn holder(&self) -> Option<String> {
        self.lock().holder.clone()
    }

    /// Whether nobody holds the turn or waits for it: then a taker need not queue.
    pub(crate) fn is_free(&self) -> bool {
        let state = self.lock();
        !state.busy && state.waiting.is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// The ticket the turn goes to next: of the waiting share served longest ago (never
    /// first), the earliest.
    fn next_up(&self) -> Option<u64> {
        self.waiting
            .iter()
            .min_by_key(|w| (self.served.get(&w.share).copied().unwrap_or(0), w.ticket))
            .map(|w| w.ticket)
    }

    /// Takes `ticket` out of the line.
    fn leave(&mut self, ticket: u64) {
        self.waiting.retain(|w| w.ticket != ticket);
    }

    /// Gives the turn to `ticket`.
    fn give(&mut self, ticket: u64) {
        let Some(at) = self.waiting.iter().position(|w| w.ticket == ticket) else {
            return;
        };
        let waiter = self.waiting.remove(at);
        if self.served.len() >= SERVED_KEPT {
            self.served.clear();
        }
        self.turns += 1;
        self.served.insert(waiter.share.clone(), self.turns);
        self.holder = Some(waiter.share);
        self.busy = true;
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = self.turns.lock();
        state.busy = false;
        state.holder = None;
        state.ended += 1;
        drop(state);
        self.turns.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn never() -> bool {
        false
    }

    fn turn(taken: Taken<'_>) -> Option<Turn<'_>> {
        match taken {
            Taken::Turn(turn) => Some(turn),
            Taken::Ready | Taken::WaitRanOut => None,
        }
    }

    /// Waits until `n` takers wait for the turn.
    fn until_waiting(turns: &Turns, n: usize) {
        let since = Instant::now();
        while turns.lock().waiting.len() < n {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "{n} never waited"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Another share's first waiter is served before a share's second, whatever the order
    /// they came in (round 24 hostile-step review: one organization's queued compiles kept
    /// every other tenant's waiting behind them).
    #[test]
    fn another_shares_waiter_is_served_before_a_shares_second() {
        let turns = Arc::new(Turns::default());
        let first = turn(turns.take("org-a", None, never)).expect("free");
        let order = Arc::new(Mutex::new(Vec::new()));
        let waiter = |share: &'static str| {
            let (turns, order) = (turns.clone(), order.clone());
            std::thread::spawn(move || {
                let _turn = turn(turns.take(share, None, never)).expect("served");
                order.lock().expect("order").push(share);
            })
        };
        let a2 = waiter("org-a");
        until_waiting(&turns, 1);
        let a3 = waiter("org-a");
        until_waiting(&turns, 2);
        let b1 = waiter("org-b");
        until_waiting(&turns, 3);
        drop(first);
        for t in [a2, a3, b1] {
            t.join().expect("taker");
        }
        let order = order.lock().expect("order").clone();
        assert_eq!(order[0], "org-b", "{order:?}");
        assert_eq!(order.len(), 3);
    }

    /// A wait that runs out gives up its place and takes nothing; the turn is free after.
    #[test]
    fn a_wait_that_runs_out_takes_nothing() {
        let turns = Turns::default();
        let held = turn(turns.take("org-a", None, never)).expect("free");
        assert!(matches!(
            turns.take("org-b", Some(Duration::from_millis(20)), never),
            Taken::WaitRanOut
        ));
        assert!(turns.lock().waiting.is_empty());
        drop(held);
        assert!(turn(turns.take("org-b", Some(Duration::ZERO), never)).is_some());
    }

    /// A wait whose work was done before it came takes no place in the line, however long
    /// the turn held now lasts (round 27 review of round 26: it waited behind another
    /// share's compile for a component already loaded).
    #[test]
    fn a_wait_whose_work_is_done_already_does_not_queue() {
        let turns = Turns::default();
        let _held = turn(turns.take("org-b", None, never)).expect("free");
        assert!(matches!(turns.take("org-a", None, || true), Taken::Ready));
        assert_eq!(turns.waiting(), 0);
    }

    /// A wait whose work another turn did ends when that turn ends, taking no turn: a load
    /// whose component a compile left in its place made (round 25 hostile-step review) does
    /// not wait behind another share's compile for what it already has.
    #[test]
    fn a_wait_whose_work_was_done_meanwhile_takes_no_turn() {
        let turns = Arc::new(Turns::default());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let held = turn(turns.take("org-b", None, never)).expect("free");
        let a = {
            let turns = turns.clone();
            std::thread::spawn(move || turn(turns.take("org-a", None, never)).is_some())
        };
        until_waiting(&turns, 1);
        let b = {
            let (turns, done) = (turns.clone(), done.clone());
            std::thread::spawn(move || {
                matches!(
                    turns.take("org-b", None, || done
                        .load(std::sync::atomic::Ordering::SeqCst)),
                    Taken::Ready
                )
            })
        };
        until_waiting(&turns, 2);
        // The turn held compiles what `b` waits for; `a` is served next, `b` not at all.
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(held);
        assert!(b.join().expect("b"), "b's work was done: it took no turn");
        assert!(a.join().expect("a"), "a was served");
        assert!(turns.lock().waiting.is_empty());
    }
}
