//! Durable timers of `wait` steps (issue 5): a wait's deadline is stored when it first starts,
//! and a run on hold for a long wait is claimed and resumed once it is due.

use crate::Error;

use super::engine::{Engine, Observer, RunOutcome};

impl Engine {
    /// Claims the runs due to resume now: those whose wait is due, and those whose
    /// interaction timed out (SPEC IX-8). Each is `running` again and claimed once. What
    /// failed is returned beside them, so that runs already claimed are resumed whatever
    /// failed after (a claimed run dropped here waited for a restart).
    pub(crate) fn claim_due_runs(&self) -> (Vec<i64>, Vec<Error>) {
        let mut failed = Vec::new();
        let mut due = self.runs().claim_due_timers().unwrap_or_else(|e| {
            failed.push(e);
            Vec::new()
        });
        match self.platform().expire_due_interactions() {
            Ok((runs, unreadable)) => {
                due.extend(runs);
                failed.extend(unreadable);
            }
            Err(e) => failed.push(e),
        }
        due.sort_unstable();
        due.dedup();
        (due, failed)
    }

    /// Resumes every run on hold whose wait is due.
    pub fn wake_due_timers(&self, observer: &dyn Observer) -> Result<Vec<RunOutcome>, Error> {
        let runs = self.runs().claim_due_timers()?;
        runs.into_iter()
            .map(|run| self.resume(run, observer))
            .collect()
    }
}
