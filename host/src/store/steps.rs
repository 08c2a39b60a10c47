//! Records of step executions: the execution, its log lines and the events it published, in
//! one transaction.

use rusqlite::params;

use crate::services::events::CustomEvent;
use crate::wasm::{LogLine, StepExecution};

use super::Db;

/// What is stored about one execution.
#[derive(Clone, Copy)]
pub struct ExecutionRecord<'a> {
    pub workspace: &'a str,
    pub principal: &'a str,
    pub component: &'a str,
    pub digest: &'a str,
    pub execution: &'a StepExecution,
    /// The run the step ran in, if any.
    pub cause: Option<crate::principal::Cause>,
}

impl Db {
    /// Stores an execution with its logs and events; returns the execution id.
    pub fn record_step_execution(&mut self, rec: &ExecutionRecord<'_>) -> anyhow::Result<i64> {
        let tx = self.conn_mut().transaction()?;
        let id = record_in(&tx, rec)?;
        tx.commit()?;
        Ok(id)
    }

    /// Log lines of one execution, in order, as (level, message).
    pub fn step_logs(&self, execution_id: i64) -> anyhow::Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT level, message FROM step_logs WHERE execution_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([execution_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Writes an execution record inside the caller's transaction (so a workflow step's record
/// and its journal entry commit together); returns the execution id.
pub fn record_in(
    tx: &rusqlite::Transaction<'_>,
    rec: &ExecutionRecord<'_>,
) -> rusqlite::Result<i64> {
    let exec = rec.execution;
    let (status, kind, error, output) = match &exec.result {
        Ok(value) => ("succeeded", None, None, Some(value.to_string())),
        Err(f) => ("failed", Some(f.kind()), Some(f.to_string()), None),
    };
    tx.prepare_cached(
        "INSERT INTO step_executions
            (workspace, principal, component, digest, status, failure_kind, error, output, duration_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        rec.workspace,
        rec.principal,
        rec.component,
        rec.digest,
        status,
        kind,
        error,
        output,
        i64::try_from(exec.duration.as_micros()).unwrap_or(i64::MAX),
    ])?;
    let id = tx.last_insert_rowid();
    insert_logs(tx, id, &exec.logs)?;
    insert_events(
        tx,
        rec.workspace,
        &format!("step-execution:{id}"),
        &exec.events,
        rec.cause,
    )?;
    Ok(id)
}

fn insert_logs(tx: &rusqlite::Transaction<'_>, id: i64, logs: &[LogLine]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO step_logs (execution_id, seq, level, message) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (seq, line) in logs.iter().enumerate() {
        stmt.execute(params![id, seq as i64, line.level.as_str(), line.message])?;
    }
    Ok(())
}

fn insert_events(
    tx: &rusqlite::Transaction<'_>,
    workspace: &str,
    source: &str,
    events: &[CustomEvent],
    cause: Option<crate::principal::Cause>,
) -> rusqlite::Result<()> {
    for event in events {
        super::events::append(
            tx,
            workspace,
            &event.kind,
            &event.payload,
            source,
            None,
            cause,
        )?;
    }
    Ok(())
}
