//! The run journal (SPEC WF-8): runs and their finished steps in SQLite. A resumed run replays
//! finished steps from here instead of executing them again.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::clock;
use crate::platform::{Platform, internal};
use crate::public_id::{IdKind, PublicId};
use crate::services::HostError;

/// A run's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    OnHold,
    Succeeded,
    Failed,
    Stopped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::OnHold => "on_hold",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
        }
    }
}

/// A run by both its ids: the internal key and the id people see (SPEC ID-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRef {
    pub key: i64,
    pub id: PublicId,
}

/// A run as listed.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// The internal key; never shown.
    #[serde(skip)]
    pub key: i64,
    /// The id people see (`R-…`).
    pub id: PublicId,
    pub workflow: String,
    pub workspace: String,
    pub principal: String,
    pub status: String,
    pub exit_status: Option<String>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at: String,
}

/// A journaled step.
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    pub step: String,
    pub status: String,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub attempts: u32,
    pub duration_us: i64,
}

/// A finished step's journal entry, with the execution record of a WASM step.
#[derive(Clone, Copy)]
pub struct JournalEntry<'a> {
    /// The step's journal key (its id, prefixed inside loops and nested workflows).
    pub key: &'a str,
    /// Its output, or why it failed.
    pub result: &'a Result<serde_json::Value, String>,
    pub attempts: u32,
    pub duration_us: i64,
    /// The execution record of a WASM step (with its logs and events).
    pub execution: Option<crate::store::ExecutionRecord<'a>>,
}

/// How a run ended, as [`Platform::finish_run`] records it.
pub struct RunEnd<'a> {
    pub status: RunStatus,
    /// The `exit` step's status, if the run exited.
    pub exit_status: Option<&'a str>,
    pub output: Option<&'a serde_json::Value>,
    /// For a failed run: the failing step and why.
    pub error: Option<&'a str>,
}

/// What starting a run records.
pub struct NewRun<'a> {
    pub workflow: &'a str,
    pub workspace: &'a str,
    pub principal: &'a str,
    pub event: &'a serde_json::Value,
    pub definition: &'a str,
    pub source: &'a str,
    /// The process executing it (see [`super::lease`]).
    pub lease_owner: Option<&'a str>,
    /// The components pinned by the revision it runs (JSON, see `workflow::components`), so
    /// a resumed run runs the components it started with; `None` for a run of a file.
    pub components: Option<&'a str>,
}

impl Platform {
    /// Records a new run as running; returns its ids.
    pub fn start_run(&self, run: &NewRun<'_>) -> Result<RunRef, HostError> {
        self.transact(|tx| insert_run(tx, run))
    }

    /// The internal key of the run people know as `id`, if there is one.
    pub fn run_key(&self, id: &PublicId) -> Result<Option<i64>, HostError> {
        self.db()
            .conn()
            .prepare_cached("SELECT id FROM runs WHERE public_id = ?1")
            .and_then(|mut stmt| stmt.query_row([id], |r| r.get(0)).optional())
            .map_err(internal)
    }

    /// Records a finished step (once: a replayed step is not journaled again), with the
    /// execution record of a WASM step in the same transaction.
    pub fn journal_step(
        &self,
        run: i64,
        key: &str,
        result: &Result<serde_json::Value, String>,
        attempts: u32,
        duration_us: i64,
        execution: Option<&crate::store::ExecutionRecord<'_>>,
    ) -> Result<(), HostError> {
        let entry = JournalEntry {
            key,
            result,
            attempts,
            duration_us,
            execution: execution.copied(),
        };
        self.journal_steps(run, &[entry])
    }

    /// Records finished steps in one transaction (see [`Platform::journal_step`]).
    pub(crate) fn journal_steps(
        &self,
        run: i64,
        entries: &[JournalEntry<'_>],
    ) -> Result<(), HostError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.transact(|tx| write_entries(tx, run, entries))
    }

    /// Whether `run` has any journaled step.
    pub(crate) fn has_journal(&self, run: i64) -> Result<bool, HostError> {
        let db = self.db();
        db.conn()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM run_steps WHERE run_id = ?1)")
            .and_then(|mut stmt| stmt.query_row([run], |r| r.get(0)))
            .map_err(internal)
    }

    /// The journaled output of a step that succeeded in `run`, if any.
    pub fn journaled_output(
        &self,
        run: i64,
        key: &str,
    ) -> Result<Option<serde_json::Value>, HostError> {
        let db = self.db();
        let text: Option<String> = db
            .conn()
            .prepare_cached("SELECT output FROM run_steps WHERE run_id = ?1 AND step_key = ?2 AND status = 'succeeded'")
            .and_then(|mut stmt| stmt.query_row(params![run, key], |r| r.get(0)))
            .optional()
            .map_err(internal)?;
        text.map(|t| crate::stored_json::parse("run_steps.output", &t))
            .transpose()
            .map_err(|e| HostError::Internal(e.to_string()))
    }

    /// Journals `entries`, then does `then`, in one transaction.
    pub(crate) fn journal_steps_then(
        &self,
        run: i64,
        entries: &[JournalEntry<'_>],
        then: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), HostError>,
    ) -> Result<(), HostError> {
        self.transact(|tx| {
            write_entries(tx, run, entries)?;
            then(tx)
        })
    }

    /// Marks a run finished, journaling its last finished steps in the same transaction.
    pub(crate) fn finish_run(
        &self,
        run: i64,
        end: &RunEnd<'_>,
        entries: &[JournalEntry<'_>],
    ) -> Result<(), HostError> {
        self.journal_steps_then(run, entries, |tx| {
            tx.prepare_cached("UPDATE runs SET status = ?2, exit_status = ?3, output = ?4, error = ?5, finished_at = ?6, lease_owner = NULL WHERE id = ?1").and_then(|mut stmt| stmt.execute(params![run, end.status.as_str(), end.exit_status, end.output.map(|o| o.to_string()), end.error, clock::now_unix()]))
            .map_err(internal)?;
            Ok(())
        })
    }

    /// Runs of `workspace` (all workspaces if `None`), newest first, for nobody in
    /// particular: doors go through [`Platform::runs`].
    pub(crate) fn all_runs(&self, workspace: Option<&str>) -> Result<Vec<RunInfo>, HostError> {
        let db = self.db();
        let mut stmt = db
            .conn()
            .prepare(
                "SELECT id, workflow, workspace, principal, status, exit_status, output, error, started_at, public_id FROM runs
                 WHERE ?1 IS NULL OR workspace = ?1 ORDER BY id DESC",
            )
            .map_err(internal)?;
        let rows = stmt.query_map([workspace], run_info).map_err(internal)?;
        rows.collect::<Result<_, _>>().map_err(internal)
    }

    /// One run and its journaled steps, for nobody in particular: doors go through
    /// [`Platform::runs`]; by its internal key.
    pub(crate) fn run_detail(&self, run: i64) -> Result<(RunInfo, Vec<StepRecord>), HostError> {
        let db = self.db();
        let info = db
            .conn()
            .query_row(
                "SELECT id, workflow, workspace, principal, status, exit_status, output, error, started_at, public_id FROM runs WHERE id = ?1",
                [run],
                run_info,
            )
            .optional()
            .map_err(internal)?
            .ok_or_else(|| HostError::NotFound(format!("there is no run with key {run}")))?;
        Ok((info, steps(db.conn(), run).map_err(internal)?))
    }
}

/// Moves `run` from `on_hold` to `running` in `tx`; returns whether it was on hold. The one
/// way a waiting run is claimed (a due wait, a timeout, an answer), so one caller resumes it.
pub(crate) fn claim_held(tx: &rusqlite::Transaction<'_>, run: i64) -> Result<bool, HostError> {
    let changed = tx
        .prepare_cached("UPDATE runs SET status = 'running' WHERE id = ?1 AND status = 'on_hold'")
        .and_then(|mut stmt| stmt.execute([run]))
        .map_err(internal)?;
    Ok(changed > 0)
}

fn write_entries(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    entries: &[JournalEntry<'_>],
) -> Result<(), HostError> {
    for entry in entries {
        let (status, output, error) = match entry.result {
            Ok(v) => ("succeeded", Some(v.to_string()), None),
            Err(e) => ("failed", None, Some(e.as_str())),
        };
        let inserted = tx.prepare_cached(
            "INSERT OR IGNORE INTO run_steps (run_id, step_key, seq, status, output, error, attempts, duration_us)
             VALUES (?1, ?2, (SELECT count(*) FROM run_steps WHERE run_id = ?1), ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![run, entry.key, status, output, error, entry.attempts, entry.duration_us])
        })
        .map_err(internal)?;
        // A step journaled already (the same run executed twice at once) keeps its first
        // record: its events must not be published a second time.
        if let (1.., Some(rec)) = (inserted, &entry.execution) {
            crate::store::record_in(tx, rec).map_err(internal)?;
        }
    }
    Ok(())
}

fn run_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfo> {
    let output = crate::stored_json::optional_column(r, 6, "runs.output")?;
    Ok(RunInfo {
        key: r.get(0)?,
        id: r.get(9)?,
        workflow: r.get(1)?,
        workspace: r.get(2)?,
        principal: r.get(3)?,
        status: r.get(4)?,
        exit_status: r.get(5)?,
        output,
        error: r.get(7)?,
        started_at: clock::rfc3339(r.get(8)?),
    })
}

fn steps(conn: &Connection, run: i64) -> rusqlite::Result<Vec<StepRecord>> {
    let mut stmt = conn.prepare("SELECT step_key, status, output, error, attempts, duration_us FROM run_steps WHERE run_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([run], |r| {
        let output = crate::stored_json::optional_column(r, 2, "run_steps.output")?;
        Ok(StepRecord {
            step: r.get(0)?,
            status: r.get(1)?,
            output,
            error: r.get(3)?,
            attempts: r.get(4)?,
            duration_us: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Records a new run as running in `tx` (see [`Platform::start_run`]), for a caller that
/// records more with it atomically (a webhook's request, issue 16).
pub(crate) fn insert_run(
    tx: &rusqlite::Transaction<'_>,
    run: &NewRun<'_>,
) -> Result<RunRef, HostError> {
    let id = PublicId::new(IdKind::Run)?;
    tx.prepare_cached("INSERT INTO runs (workflow, workspace, principal, status, event, definition, source, started_at, lease_owner, components, public_id)
         VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8, ?9, ?10)").and_then(|mut stmt| stmt.execute(params![run.workflow, run.workspace, run.principal, run.event.to_string(), run.definition, run.source, clock::now_unix(), run.lease_owner, run.components, id]))
        .map_err(internal)?;
    Ok(RunRef {
        key: tx.last_insert_rowid(),
        id,
    })
}
