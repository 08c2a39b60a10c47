//! The run journal (SPEC WF-8): runs and their finished steps in SQLite. A resumed run replays
//! finished steps from here instead of executing them again.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::clock;
use crate::platform::{Platform, internal};
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

/// A run as listed.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub id: i64,
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

/// What starting a run records.
pub struct NewRun<'a> {
    pub workflow: &'a str,
    pub workspace: &'a str,
    pub principal: &'a str,
    pub event: &'a serde_json::Value,
    pub definition: &'a str,
    pub source: &'a str,
}

impl Platform {
    /// Records a new run as running; returns its id.
    pub fn start_run(&self, run: &NewRun<'_>) -> Result<i64, HostError> {
        self.transact(|tx| {
            tx.prepare_cached("INSERT INTO runs (workflow, workspace, principal, status, event, definition, source, started_at)
                 VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7)").and_then(|mut stmt| stmt.execute(params![run.workflow, run.workspace, run.principal, run.event.to_string(), run.definition, run.source, clock::now_unix()]))
            .map_err(internal)?;
            Ok(tx.last_insert_rowid())
        })
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
        let (status, output, error) = match result {
            Ok(v) => ("succeeded", Some(v.to_string()), None),
            Err(e) => ("failed", None, Some(e.as_str())),
        };
        self.transact(|tx| {
            if let Some(rec) = execution {
                crate::store::record_in(tx, rec).map_err(internal)?;
            }
            tx.prepare_cached(
                "INSERT OR IGNORE INTO run_steps (run_id, step_key, seq, status, output, error, attempts, duration_us)
                 VALUES (?1, ?2, (SELECT count(*) FROM run_steps WHERE run_id = ?1), ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut stmt| stmt.execute(params![run, key, status, output, error, attempts, duration_us]))
            .map_err(internal)?;
            Ok(())
        })
    }

    /// Whether `run` has any journaled step.
    pub fn has_journal(&self, run: i64) -> Result<bool, HostError> {
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
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Marks a run finished.
    pub fn finish_run(
        &self,
        run: i64,
        status: RunStatus,
        exit_status: Option<&str>,
        output: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<(), HostError> {
        self.transact(|tx| {
            tx.prepare_cached("UPDATE runs SET status = ?2, exit_status = ?3, output = ?4, error = ?5, finished_at = ?6 WHERE id = ?1").and_then(|mut stmt| stmt.execute(params![run, status.as_str(), exit_status, output.map(|o| o.to_string()), error, clock::now_unix()]))
            .map_err(internal)?;
            Ok(())
        })
    }

    /// Runs of `workspace` (all workspaces if `None`), newest first.
    pub fn runs(&self, workspace: Option<&str>) -> Result<Vec<RunInfo>, HostError> {
        let db = self.db();
        let mut stmt = db
            .conn()
            .prepare(
                "SELECT id, workflow, workspace, principal, status, exit_status, output, error, started_at FROM runs
                 WHERE ?1 IS NULL OR workspace = ?1 ORDER BY id DESC",
            )
            .map_err(internal)?;
        let rows = stmt.query_map([workspace], run_info).map_err(internal)?;
        rows.collect::<Result<_, _>>().map_err(internal)
    }

    /// One run and its journaled steps.
    pub fn run_detail(&self, run: i64) -> Result<(RunInfo, Vec<StepRecord>), HostError> {
        let db = self.db();
        let info = db
            .conn()
            .query_row(
                "SELECT id, workflow, workspace, principal, status, exit_status, output, error, started_at FROM runs WHERE id = ?1",
                [run],
                run_info,
            )
            .optional()
            .map_err(internal)?
            .ok_or_else(|| HostError::NotFound(format!("there is no run {run}")))?;
        Ok((info, steps(db.conn(), run).map_err(internal)?))
    }
}

fn run_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfo> {
    let output: Option<String> = r.get(6)?;
    Ok(RunInfo {
        id: r.get(0)?,
        workflow: r.get(1)?,
        workspace: r.get(2)?,
        principal: r.get(3)?,
        status: r.get(4)?,
        exit_status: r.get(5)?,
        output: output.and_then(|o| serde_json::from_str(&o).ok()),
        error: r.get(7)?,
        started_at: clock::rfc3339(r.get(8)?),
    })
}

fn steps(conn: &Connection, run: i64) -> rusqlite::Result<Vec<StepRecord>> {
    let mut stmt = conn.prepare("SELECT step_key, status, output, error, attempts, duration_us FROM run_steps WHERE run_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([run], |r| {
        let output: Option<String> = r.get(2)?;
        Ok(StepRecord {
            step: r.get(0)?,
            status: r.get(1)?,
            output: output.and_then(|o| serde_json::from_str(&o).ok()),
            error: r.get(3)?,
            attempts: r.get(4)?,
            duration_us: r.get(5)?,
        })
    })?;
    rows.collect()
}
