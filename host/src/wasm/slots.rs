//! Instance slots, shared between workspaces: a step waits for a free one rather than fail.
//! A share (a workspace, or the organization a run's workspace is in: every workspace of it
//! together) holding a sixteenth of them or more takes another only while a quarter stays
//! free: that quarter is for the shares holding less, so one tenant, or two large ones
//! together, hold at most three quarters and a sixteenth (each other share still gets its
//! sixteenth while any slot is free).
//!
//! Why: the pool has a fixed number of slots (`EngineSettings::pool_instances`), and a step
//! holds one until it returns, up to its timeout (15 minutes at most). One workspace's
//! parallel loop of sleeping steps took every slot, and every other tenant's component steps
//! then failed for want of one, their runs stopped and retried for as long as it went on
//! (hostile-step review). With a share per workspace, the others keep slots to run on.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a step waits for a slot before its run stops, to be tried again later (the
/// host's capacity, not the step's failure: SPEC WF-11).
pub const SLOT_WAIT: Duration = Duration::from_secs(30);

/// The slots of one runtime.
#[derive(Debug)]
pub(crate) struct Slots {
    total: usize,
    /// What any share may hold while a slot is free.
    floor: usize,
    /// The slots a share holding `floor` or more leaves free for the others.
    reserve: usize,
    wait: Duration,
    held: Mutex<Held>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct Held {
    all: usize,
    by_workspace: HashMap<String, usize>,
}

/// A slot taken; given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    slots: &'a Slots,
    workspace: String,
}

impl Slots {
    /// `total` slots, of which a share holding a sixteenth (at least one) takes more only
    /// while a quarter stays free, so a deployment of one workspace keeps three quarters and
    /// the quarter left is the smaller tenants' however many large ones there are (two took
    /// 48 and 16 of 64 when only a share's own count was capped: hostile-step review); a
    /// step waits at most `wait` for one.
    pub(crate) fn new(total: usize, wait: Duration) -> Self {
        Self {
            total,
            floor: (total / 16).max(1),
            reserve: total / 4,
            wait,
            held: Mutex::new(Held::default()),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        // Counts only: a panic elsewhere cannot leave them half-updated.
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for a step of `workspace`, waiting for one while the host's are all held or
    /// the workspace holds its share; `Err` once the wait is over, the same either way.
    pub(crate) fn take(&self, workspace: &str) -> Result<Slot<'_>, String> {
        let until = Instant::now() + self.wait;
        let mut held = self.lock();
        loop {
            let mine = held.by_workspace.get(workspace).copied().unwrap_or(0);
            let free = self.total.saturating_sub(held.all);
            if free > 0 && (mine < self.floor || free > self.reserve) {
                held.all += 1;
                *held.by_workspace.entry(workspace.to_owned()).or_default() += 1;
                return Ok(Slot {
                    slots: self,
                    workspace: workspace.to_owned(),
                });
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // The same words whether its own share or the whole host is taken, and no
                // counts: they reach whoever started the run, and told them other tenants'
                // load (leak review).
                return Err(format!(
                    "no free instance slot after {} s: the host is busy",
                    self.wait.as_secs()
                ));
            }
            held = self
                .freed
                .wait_timeout(held, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut held = self.slots.lock();
        held.all = held.all.saturating_sub(1);
        if let Some(n) = held.by_workspace.get_mut(&self.workspace) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.by_workspace.remove(&self.workspace);
            }
        }
        drop(held);
        self.slots.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_holds_at_most_three_quarters_and_others_still_get_slots() {
        let slots = Slots::new(4, Duration::from_millis(20));
        let a1 = slots.take("a").expect("first");
        let _a2 = slots.take("a").expect("second");
        let _a3 = slots.take("a").expect("third");
        let refused = slots
            .take("a")
            .expect_err("a fourth of a's would pass its share");
        let _b1 = slots.take("b").expect("b has the slot a leaves");
        let full = slots.take("c").expect_err("all four are held");
        assert_eq!(
            refused, full,
            "a tenant is not told whether others fill the host"
        );
        assert!(!full.contains('4'), "{full}");
        drop(a1);
        assert!(slots.take("c").is_ok(), "a slot given back is free again");
    }

    /// Two large tenants do not take the quarter the others have (hostile-step review: 48 and
    /// 16 of 64 left a third tenant's steps waiting for as long as theirs ran).
    #[test]
    fn two_large_shares_leave_the_last_quarter_to_the_smaller_ones() {
        let slots = Slots::new(16, Duration::from_millis(20));
        let a: Vec<_> = (0..12).map(|_| slots.take("a").expect("a's")).collect();
        assert!(slots.take("a").is_err(), "a leaves a quarter free");
        let b = slots.take("b").expect("b's first, its floor");
        assert!(
            slots.take("b").is_err(),
            "beyond its floor b would take the others' quarter"
        );
        let others: Vec<_> = ["c", "d", "e"]
            .iter()
            .map(|w| slots.take(w).expect("each smaller share gets its floor"))
            .collect();
        assert!(slots.take("f").is_err(), "every slot is held");
        drop(b);
        assert!(
            slots.take("f").is_ok(),
            "a slot given back goes to who holds none"
        );
        drop((a, others));
    }

    #[test]
    fn a_step_waits_for_a_slot_given_back_meanwhile() {
        let slots = Slots::new(2, Duration::from_secs(5));
        let held = slots.take("a").expect("a's share");
        std::thread::scope(|s| {
            let waiter = s.spawn(|| slots.take("a").map(|_| ()));
            std::thread::sleep(Duration::from_millis(50));
            drop(held);
            assert_eq!(waiter.join().expect("no panic"), Ok(()));
        });
    }
}
