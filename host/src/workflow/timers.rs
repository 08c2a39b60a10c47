//! Durable timers of `wait` steps (issue 5): a wait's deadline is stored when it first starts,
//! and a run on hold for a long wait is claimed and resumed once it is due.

use crate::Error;

use super::engine::{Engine, Observer, RunOutcome};

impl Engine {
    /// Claims the runs due to resume now: those whose wait is due, and those whose
    /// interaction timed out (SPEC IX-8). Each is `running` again and claimed once.
    pub(crate) fn claim_due_runs(&self) -> Result<Vec<i64>, Error> {
        let mut due = self.runs().claim_due_timers()?;
        due.extend(self.platform().expire_due_interactions()?);
        due.sort_unstable();
        due.dedup();
        Ok(due)
    }

    /// Resumes every run on hold whose wait is due.
    pub fn wake_due_timers(&self, observer: &dyn Observer) -> Result<Vec<RunOutcome>, Error> {
        let runs = self.runs().claim_due_timers()?;
        runs.into_iter()
            .map(|run| self.resume(run, observer))
            .collect()
    }
}
