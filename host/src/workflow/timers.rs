//! Durable timers of `wait` steps (issue 5): a wait's deadline is stored when it first starts,
//! and a run on hold for a long wait is claimed and resumed once it is due.

use std::time::Duration;

use crate::Error;
use crate::interact::now_ms;
use crate::platform::Platform;

use super::engine::{Engine, Observer, RunOutcome};
use super::journal::claim_held;
use super::store::timers as store;

impl Platform {
    /// The deadline (Unix milliseconds) of the wait at `key` in `run`: stored as now plus
    /// `duration` the first time, and the stored one every later time.
    pub fn timer_deadline(&self, run: i64, key: &str, duration: Duration) -> Result<i64, Error> {
        let wake_ms =
            now_ms().saturating_add(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        self.transact(|tx| store::deadline(tx, run, key, wake_ms))
    }

    /// Claims the runs on hold whose wait is due: each is set `running` in the same
    /// transaction, so a run is woken by one caller only. The scan starts from the runs on
    /// hold (an index range), not from every timer ever set.
    pub fn claim_due_timers(&self) -> Result<Vec<i64>, Error> {
        self.transact(|tx| {
            let due = store::due_runs(tx, now_ms())?;
            let mut claimed = Vec::new();
            for run in due {
                if claim_held(tx, run)? {
                    claimed.push(run);
                }
            }
            Ok(claimed)
        })
    }
}

impl Engine {
    /// Claims the runs due to resume now: those whose wait is due, and those whose
    /// interaction timed out (SPEC IX-8). Each is `running` again and claimed once.
    pub fn claim_due_runs(&self) -> Result<Vec<i64>, Error> {
        let mut due = self.platform().claim_due_timers()?;
        due.extend(self.platform().expire_due_interactions()?);
        due.sort_unstable();
        due.dedup();
        Ok(due)
    }

    /// Resumes every run on hold whose wait is due.
    pub fn wake_due_timers(&self, observer: &dyn Observer) -> Result<Vec<RunOutcome>, Error> {
        let runs = self.platform().claim_due_timers()?;
        runs.into_iter()
            .map(|run| self.resume(run, observer))
            .collect()
    }
}
