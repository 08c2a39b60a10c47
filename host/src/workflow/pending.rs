//! Journal entries of finished steps that are not committed yet (SPEC WF-8, issue 5's
//! throughput target).
//!
//! A finished step's entry waits here and is committed with the run's next write: before the
//! next step that may write, with a wait or an interaction, or with the run's end. A
//! run of pure steps therefore commits once at its end instead of once per step.
//!
//! Why this keeps runs exactly-once: effects (cases written by writing built-in steps, or by
//! WASM steps granted `cases:write`) carry idempotency keys from run, step and call sequence,
//! so a step re-executed after a crash does not repeat them; events a step emits commit with
//! its entry, and only if the entry is new; and no effect is ever made while an earlier step's
//! output is uncommitted, so nothing stored can depend on an output that a re-execution might
//! answer differently.
//!
//! Before a step with an effect, the entries either commit on their own ([`Pending::commit`])
//! or, when the run has no other thread that could make an effect meanwhile, ride in the
//! step's own first transaction ([`Pending::carry`], `carry.rs`), so the effect and the
//! outputs before it commit together: one commit a run less (issue 19).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Mutex;

use serde_json::Value;

use crate::principal::Cause;
use crate::store::ExecutionRecord;

use crate::Error;

use crate::runs::JournalEntry;

/// What is recorded about a WASM step execution, owned until it is written.
pub(super) struct StepRecordData {
    pub workspace: String,
    pub principal: String,
    pub component: String,
    pub digest: String,
    pub execution: crate::wasm::StepExecution,
    pub cause: Option<Cause>,
}

impl StepRecordData {
    /// The record as [`crate::store::record_in`] writes it.
    pub fn as_record(&self) -> ExecutionRecord<'_> {
        ExecutionRecord {
            workspace: &self.workspace,
            principal: &self.principal,
            component: &self.component,
            digest: &self.digest,
            execution: &self.execution,
            cause: self.cause,
        }
    }
}

/// A finished step, owned until its entry is committed.
pub(super) struct Finished {
    pub key: String,
    pub result: Result<Value, String>,
    pub attempts: u32,
    pub duration_us: i64,
    pub record: Option<StepRecordData>,
}

impl Finished {
    /// The journal entry of this step.
    pub fn entry(&self) -> JournalEntry<'_> {
        JournalEntry {
            key: &self.key,
            result: &self.result,
            attempts: self.attempts,
            duration_us: self.duration_us,
            execution: self.record.as_ref().map(StepRecordData::as_record),
        }
    }
}

/// The finished steps of one run (shared by its parallel branches and nested workflows) whose
/// entries are not committed yet.
#[derive(Default)]
pub(super) struct Pending(Mutex<Vec<Finished>>);

impl Pending {
    /// Adds a finished step.
    pub fn push(&self, finished: Finished) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(finished);
    }

    /// Commits every entry through `write` (called even when there is none, so that a run's
    /// end is one write). The buffer stays locked until the write returns: a parallel branch
    /// about to make an effect waits until the entries another branch took are committed.
    /// On failure the entries stay, for the next write to try again.
    pub fn commit(
        &self,
        write: impl FnOnce(&[JournalEntry<'_>]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut finished = self.0.lock().unwrap_or_else(|p| p.into_inner());
        write(&entries(&finished))?;
        finished.clear();
        Ok(())
    }

    /// Runs `step`, a step that may make an effect, with the pending entries of run `run`
    /// aboard its first transaction: they commit with its effect, or stay pending, in order,
    /// if it committed nothing (no write, or a write that failed and rolled back). Only for a
    /// run with no other thread (no parallel branch running): the buffer stays locked while
    /// the step runs, and another thread's effect must never commit before these entries.
    pub fn carry<T>(&self, run: i64, owner: &str, step: impl FnOnce() -> T) -> T {
        let mut finished = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if finished.is_empty() {
            return step();
        }
        let carried = Rc::new(Carried {
            run,
            owner: owner.to_owned(),
            finished: RefCell::new(std::mem::take(&mut *finished)),
            landed: Cell::new(false),
        });
        // Declared before the rider goes aboard, so dropped after it: on a return and on a
        // panic alike, entries that did not land go back to the buffer.
        let _restore = Restore {
            carried: carried.clone(),
            finished: &mut finished,
        };
        let _aboard = crate::carry::aboard(Box::new(Ride(carried)));
        step()
    }
}

/// Puts carried entries that did not land back in front of anything finished meanwhile
/// (nothing, since the buffer stays locked), in the order they finished.
struct Restore<'a, 'b> {
    carried: Rc<Carried>,
    finished: &'a mut std::sync::MutexGuard<'b, Vec<Finished>>,
}

impl Drop for Restore<'_, '_> {
    fn drop(&mut self) {
        if !self.carried.landed.get() {
            let mut back = self.carried.finished.take();
            back.append(self.finished);
            **self.finished = back;
        }
    }
}

/// Pending entries aboard a step's transaction: written there, and known as committed once
/// that transaction lands.
struct Carried {
    run: i64,
    /// The lease holder writing them (`journal::fence`).
    owner: String,
    finished: RefCell<Vec<Finished>>,
    landed: Cell<bool>,
}

/// The [`Rider`](crate::carry::Rider) the thread-local slot owns, sharing [`Carried`]
/// with [`Pending::carry`].
struct Ride(Rc<Carried>);

impl crate::carry::Rider for Ride {
    fn write(&self, tx: &crate::store::Transaction<'_>) -> Result<(), Error> {
        crate::runs::store::journal::write_entries(
            tx,
            self.0.run,
            Some(&self.0.owner),
            &entries(&self.0.finished.borrow()),
        )
    }

    fn landed(&self) {
        self.0.landed.set(true);
    }
}

/// The entries of `finished`, for one journal write.
fn entries(finished: &[Finished]) -> Vec<JournalEntry<'_>> {
    finished.iter().map(Finished::entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(key: &str) -> Finished {
        Finished {
            key: key.into(),
            result: Ok(Value::Null),
            attempts: 1,
            duration_us: 0,
            record: None,
        }
    }

    fn keys(pending: &Pending) -> Vec<String> {
        let mut keys = Vec::new();
        pending
            .commit(|entries| {
                keys = entries.iter().map(|e| e.key.to_string()).collect();
                Err(Error::Internal("only looking".into()))
            })
            .expect_err("the look refuses to commit");
        keys
    }

    #[test]
    fn carried_entries_that_did_not_land_stay_pending_even_when_the_step_panics() {
        let pending = Pending::default();
        pending.push(finished("a"));
        pending.push(finished("b"));
        // A step that commits nothing: the entries are back, in order.
        pending.carry(1, "host", || ());
        assert_eq!(keys(&pending), ["a", "b"]);
        // A step that panics (a parallel group's caller catches it): still back, in order.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pending.carry(1, "host", || panic!("the step panicked"))
        }));
        assert!(panicked.is_err());
        assert_eq!(keys(&pending), ["a", "b"]);
    }
}
