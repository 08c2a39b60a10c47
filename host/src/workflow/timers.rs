//! Durable timers of `wait` steps (issue 5): a wait's deadline is stored when it first starts,
//! and a run on hold for a long wait is claimed and resumed once it is due.

use std::time::Duration;

use rusqlite::params;

use crate::interact::now_ms;
use crate::platform::{Platform, internal};
use crate::services::HostError;

use super::engine::{Engine, Observer, RunOutcome};
use super::journal::claim_held;

impl Platform {
    /// The deadline (Unix milliseconds) of the wait at `key` in `run`: stored as now plus
    /// `duration` the first time, and the stored one every later time.
    pub fn timer_deadline(
        &self,
        run: i64,
        key: &str,
        duration: Duration,
    ) -> Result<i64, HostError> {
        let wake_ms =
            now_ms().saturating_add(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        self.transact(|tx| {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO run_timers (run_id, step_key, wake_ms) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut stmt| stmt.execute(params![run, key, wake_ms]))
            .map_err(internal)?;
            tx.prepare_cached("SELECT wake_ms FROM run_timers WHERE run_id = ?1 AND step_key = ?2")
                .and_then(|mut stmt| stmt.query_row(params![run, key], |r| r.get(0)))
                .map_err(internal)
        })
    }

    /// Claims the runs on hold whose wait is due: each is set `running` in the same
    /// transaction, so a run is woken by one caller only. The scan starts from the runs on
    /// hold (an index range), not from every timer ever set.
    pub fn claim_due_timers(&self) -> Result<Vec<i64>, HostError> {
        self.transact(|tx| {
            let due: Vec<i64> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT r.id FROM runs r
                         WHERE r.status = 'on_hold' AND EXISTS (
                           SELECT 1 FROM run_timers t
                           WHERE t.run_id = r.id AND t.wake_ms <= ?1
                             AND NOT EXISTS (SELECT 1 FROM run_steps s
                                             WHERE s.run_id = t.run_id AND s.step_key = t.step_key))
                         ORDER BY r.id",
                    )
                    .map_err(internal)?;
                let rows = stmt.query_map([now_ms()], |r| r.get(0)).map_err(internal)?;
                rows.collect::<Result<_, _>>().map_err(internal)?
            };
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
    pub fn claim_due_runs(&self) -> Result<Vec<i64>, HostError> {
        let mut due = self.platform().claim_due_timers()?;
        due.extend(self.platform().expire_due_interactions()?);
        due.sort_unstable();
        due.dedup();
        Ok(due)
    }

    /// Resumes every run on hold whose wait is due.
    pub fn wake_due_timers(&self, observer: &dyn Observer) -> Result<Vec<RunOutcome>, HostError> {
        let runs = self.platform().claim_due_timers()?;
        runs.into_iter()
            .map(|run| self.resume(run, observer))
            .collect()
    }
}
