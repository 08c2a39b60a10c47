//! The storage of runs (issue 15, the storage boundary): the SQL of `runs`, `run_steps`,
//! `run_timers` and run leases, and [`RunStore`] over the [`Platform`]. Each function takes
//! the caller's connection or transaction and returns the run types of [`crate::runs`];
//! decisions stay above. A run's own rows (its start, journal entries, step records, wait
//! deadlines, end) are written in leased transactions (`Platform::transact_leased`: on
//! PostgreSQL without the deployment's write lock, issue 18), since only the host holding
//! the run's lease writes them and `journal::finish` checks that it still does; events its
//! steps publish take their workspace's lock (`Platform::transact_in_workspace`). A lease
//! taken or given up and a due timer's run claimed are settled by the run's row alone
//! (`Platform::transact_claiming`). A hold is decided on other rows that other hosts write
//! (its interactions' answers and timeouts), under the lock.

pub(crate) mod hosts;
pub(crate) mod journal;
mod leases;
pub(crate) mod requests;
mod timers;

use std::time::Duration;

use serde_json::Value;

use crate::Error;
use crate::platform::{Platform, internal};
use crate::public_id::PublicId;
use crate::runs::OutOfReach;
use crate::store::ExecutionRecord;

use super::{
    CaseReader, JournalEntry, NewRun, ResumeData, RunEnd, RunInfo, RunLease, RunPlace, RunRef,
    RunStore, StartKey, StartedBefore, StepRecord,
};

/// A start whose key started `run` already.
fn started_already(run: &PublicId) -> Error {
    Error::Conflict(format!(
        "a start with this key started run {run} already; send it again to be answered with it"
    ))
}

/// Whether any of `entries` publishes events, whose rows are numbered within their
/// workspace ([`Platform::transact_in_workspace`]).
fn publishing(entries: &[JournalEntry<'_>]) -> bool {
    entries
        .iter()
        .any(|e| e.execution.as_ref().is_some_and(ExecutionRecord::publishes))
}

impl RunStore for Platform {
    fn start_run(&self, run: &NewRun<'_>, id: &PublicId) -> Result<RunRef, Error> {
        // An audited start writes a numbered row (the audit log's) and is decided again under
        // the deployment's write lock, which access writes take too (`Platform::index_in`).
        let record = |tx: &crate::store::Transaction<'_>| {
            if let Some(started) = &run.audit {
                (started.decided)(&*self.index_in(tx)?)?;
            }
            // A start whose key started a run already records nothing: the door answers that
            // run (looked up before starting; this is the start sent twice at once).
            if let Some(request) = &run.request
                && let Some(before) = requests::run_of(tx, run.workspace, request)?
            {
                return Err(started_already(&before.info.id));
            }
            let key = journal::insert(tx, run, id)?;
            if let Some(request) = &run.request
                && !requests::record(tx, run.workspace, request, key, crate::clock::now_unix())?
            {
                // Recorded by another transaction since the look above (PostgreSQL).
                return Err(Error::Conflict(
                    "a start with this key is already under way; send it again to be \
                     answered with its run"
                        .into(),
                ));
            }
            if let Some(started) = &run.audit {
                let mut details = started.details.clone();
                if let Some(d) = details.as_object_mut() {
                    d.insert("run".into(), serde_json::Value::String(id.to_string()));
                }
                let actor = crate::audit::Actor::Principal(started.actor);
                crate::audit::record(
                    tx,
                    &actor,
                    run.workspace,
                    started.action,
                    run.workflow,
                    details,
                )?;
            }
            Ok(RunRef {
                key,
                id: id.clone(),
            })
        };
        if run.audit.is_some() {
            self.transact(record)
        } else {
            self.transact_in_workspace(false, record)
        }
    }

    fn started_before(
        &self,
        workspace: &str,
        key: &StartKey<'_>,
    ) -> Result<Option<StartedBefore>, Error> {
        requests::run_of(self.db()?.conn(), workspace, key)
    }

    fn end_unstarted(
        &self,
        run: i64,
        owner: &str,
        end: &RunEnd<'_>,
        key: Option<(&str, &StartKey<'_>)>,
    ) -> Result<(), Error> {
        self.transact_in_workspace(false, |tx| {
            journal::finish(tx, run, owner, end)?;
            match key {
                Some((workspace, key)) => requests::forget(tx, workspace, key),
                None => Ok(()),
            }
        })
    }

    fn has_journal(&self, run: i64) -> Result<bool, Error> {
        journal::has_journal(self.db()?.conn(), run)
    }

    fn journaled_output(&self, run: i64, key: &str) -> Result<Option<Value>, Error> {
        journal::journaled_output(self.db()?.conn(), run, key)
    }

    fn journal_steps(
        &self,
        run: i64,
        owner: &str,
        entries: &[JournalEntry<'_>],
    ) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        self.transact_in_workspace(publishing(entries), |tx| {
            journal::write_entries(tx, run, Some(owner), entries)
        })
    }

    fn record_attempt(&self, record: &ExecutionRecord<'_>) -> Result<(), Error> {
        self.transact_in_workspace(record.publishes(), |tx| {
            crate::store::record_without_id(tx, record).map_err(internal)?;
            Ok(())
        })
    }

    fn finish_run(
        &self,
        run: i64,
        owner: &str,
        end: &RunEnd<'_>,
        entries: &[JournalEntry<'_>],
    ) -> Result<(), Error> {
        self.transact_in_workspace(publishing(entries), |tx| {
            journal::write_entries(tx, run, None, entries)?;
            journal::finish(tx, run, owner, end)
        })
    }

    fn hold_run(&self, run: i64, owner: &str, entries: &[JournalEntry<'_>]) -> Result<bool, Error> {
        self.transact(|tx| {
            journal::write_entries(tx, run, None, entries)?;
            if journal::hold_if_waiting(tx, run, owner, crate::store::clock::now_ms(tx)?)? {
                return Ok(true);
            }
            // Not held: it goes on, if it is still this host's to go on with and has not
            // ended meanwhile (another host took it over and ended it).
            let held = journal::holder(tx, run)?;
            if !matches!(held.status.as_str(), "running" | "queued") {
                return Err(journal::not_ours(&held, held.owner.as_deref()));
            }
            match held.owner.as_deref() {
                Some(holder) if holder == owner => Ok(false),
                other => Err(journal::not_ours(&held, other)),
            }
        })
    }

    fn wait_is_over(&self, run: i64) -> Result<bool, Error> {
        let db = self.db()?;
        journal::wait_is_over(db.conn(), run, crate::store::clock::now_ms(db.conn())?)
    }

    fn hold_out_of_reach(
        &self,
        run: i64,
        owner: &str,
        reached: &[String],
    ) -> Result<OutOfReach, Error> {
        self.transact(|tx| {
            let now_ms = crate::store::clock::now_ms(tx)?;
            let arrived = journal::untaken_arrivals(tx, run, now_ms)?;
            if arrived.is_empty() || arrived.iter().any(|key| reached.contains(key)) {
                return Ok(OutOfReach::Reachable);
            }
            let held =
                journal::hold_if_waiting_for(tx, run, owner, now_ms, journal::Arrivals::Ignored)?;
            if held {
                journal::pass_over_due_waits(tx, run, now_ms)?;
            }
            Ok(if held {
                OutOfReach::Held
            } else {
                OutOfReach::NothingOpen
            })
        })
    }

    fn release_run(
        &self,
        run: i64,
        owner: &str,
        entries: &[JournalEntry<'_>],
    ) -> Result<(), Error> {
        self.transact_in_workspace(publishing(entries), |tx| {
            journal::write_entries(tx, run, Some(owner), entries)?;
            leases::give_up(tx, run, owner)
        })
    }

    fn run_lease(&self, run: i64) -> Result<Option<RunLease>, Error> {
        leases::lease(self.db()?.conn(), run)
    }

    // A lease taken or given up, and a due timer's run claimed, are settled by the run's row
    // alone (a conditional update: a second taker waits for the first's row lock, then finds
    // the lease taken), so hosts do them side by side, without the deployment's lock.
    fn take_lease(&self, run: i64, owner: &str, current: Option<&str>) -> Result<bool, Error> {
        self.transact_claiming(|tx| leases::take(tx, run, owner, current))
    }

    fn give_up_lease(&self, run: i64, owner: &str) -> Result<(), Error> {
        self.transact_claiming(|tx| leases::give_up(tx, run, owner))
    }

    fn timer_deadline(
        &self,
        run: i64,
        owner: &str,
        key: &str,
        duration: Duration,
    ) -> Result<i64, Error> {
        let duration_ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        // The wait's own row, which only the run's lease holder writes (a host whose lease
        // lapsed wrote a wait of a branch the new holder never took, whose due timer then
        // kept the run from ever being held: self-review); its deadline by the clock hosts
        // share, as it is judged (`store/clock.rs`).
        self.transact_leased(|tx| {
            journal::fence(tx, run, owner)?;
            let wake_ms = crate::store::clock::now_ms(tx)?.saturating_add(duration_ms);
            timers::deadline(tx, run, key, wake_ms)
        })
    }

    fn shared_now_ms(&self) -> Result<i64, Error> {
        crate::store::clock::now_ms(self.db()?.conn())
    }

    fn claim_due_timers(&self) -> Result<Vec<i64>, Error> {
        // The scan starts from the runs on hold (an index range), not from every timer set.
        let due = {
            let db = self.db()?;
            timers::due_runs(db.conn(), crate::store::clock::now_ms(db.conn())?)?
        };
        let mut claimed = Vec::new();
        for run in due {
            // One run a transaction: a claim holding one row's lock and waiting for another's
            // could close a cycle with a transaction that locks runs in another order (a hold).
            match self.transact_claiming(|tx| journal::claim_held(tx, run)) {
                Ok(true) => claimed.push(run),
                Ok(false) => {}
                // Those claimed are this host's to resume; the rest stay due for the next look.
                Err(_) if !claimed.is_empty() => break,
                Err(e) => return Err(e),
            }
        }
        Ok(claimed)
    }

    fn interrupted_runs(&self) -> Result<Vec<super::Interrupted>, Error> {
        journal::interrupted(self.db()?.conn())
    }

    fn run_resume_data(&self, run: i64) -> Result<ResumeData, Error> {
        journal::resume_data(self.db()?.conn(), run)?
            .ok_or_else(|| Error::NotFound(format!("there is no run with key {run}")))
    }

    fn run_place(&self, id: &PublicId) -> Result<Option<RunPlace>, Error> {
        journal::place_of(self.db()?.conn(), id)
    }

    fn run_binder(&self, run: i64) -> Result<Option<String>, Error> {
        journal::binder(self.db()?.conn(), run)
    }

    fn all_runs(&self, workspace: Option<&str>) -> Result<Vec<RunInfo>, Error> {
        journal::list(self.db()?.conn(), workspace)
    }

    fn runs_before(
        &self,
        workspace: &str,
        before: Option<i64>,
        limit: usize,
        reader: &CaseReader<'_>,
    ) -> Result<Vec<RunInfo>, Error> {
        journal::list_before(self.db()?.conn(), workspace, before, limit, reader)
    }

    fn run_detail(&self, run: i64) -> Result<(RunInfo, Vec<StepRecord>), Error> {
        let db = self.db()?;
        let mut info = journal::info(db.conn(), run)?
            .ok_or_else(|| Error::NotFound(format!("there is no run with key {run}")))?;
        let (steps, omitted) = journal::steps(db.conn(), run)?;
        info.steps_omitted = omitted;
        Ok((info, steps))
    }

    fn run_definition(&self, run: i64) -> Result<serde_json::Value, Error> {
        journal::definition(self.db()?.conn(), run)
    }
}
