//! Records of step executions: the execution, its log lines and the events it published, in
//! one transaction.

use std::time::Duration;

use crate::store::sql::{ToSql, params};

use super::Db;

/// What the store reads of one step execution. The store defines it and the runtime
/// implements it (`wasm::StepExecution`), so the store needs nothing from the layers above.
pub trait RecordedExecution {
    /// The output, or the failure as (kind, message).
    fn outcome(&self) -> Result<&serde_json::Value, (&'static str, String)>;
    /// Log lines in order, as (level, message).
    fn log_lines(&self) -> Box<dyn Iterator<Item = (&'static str, &str)> + '_>;
    /// Events to publish, as (kind, payload).
    fn published_events(&self) -> Box<dyn Iterator<Item = (&str, &serde_json::Value)> + '_>;
    /// How long the execution took.
    fn duration(&self) -> Duration;
}

/// What is stored about one execution.
#[derive(Clone, Copy)]
pub struct ExecutionRecord<'a> {
    pub workspace: &'a str,
    pub principal: &'a str,
    pub component: &'a str,
    pub digest: &'a str,
    pub execution: &'a dyn RecordedExecution,
    /// The run the step ran in, if any.
    pub cause: Option<crate::principal::Cause>,
}

impl ExecutionRecord<'_> {
    /// Whether the execution published events (inserted into its workspace's event log,
    /// under that workspace's lock).
    pub fn publishes(&self) -> bool {
        self.execution.published_events().next().is_some()
    }
}

impl Db {
    /// Stores an execution with its logs and events; returns the execution id.
    pub fn record_step_execution(&mut self, rec: &ExecutionRecord<'_>) -> anyhow::Result<i64> {
        let conn = self.conn();
        conn.begin(super::sql::Begin::Write)?;
        match record_in(conn, rec) {
            Ok(id) => {
                conn.commit()?;
                Ok(id)
            }
            Err(e) => {
                // The error is the news; a failed rollback leaves nothing committed either.
                let _ = conn.rollback();
                Err(e.into())
            }
        }
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
    tx: &crate::store::sql::Connection,
    rec: &ExecutionRecord<'_>,
) -> crate::store::sql::Result<i64> {
    let row = Row::of(rec);
    let id = tx
        .prepare_cached(INSERT_EXECUTION_RETURNING_ID)?
        .query_row(row.params(&[]).as_slice(), |r| r.get::<i64>(0))?;
    let exec = rec.execution;
    insert_logs(tx, id, exec)?;
    let source = format!("step-execution:{id}");
    for (kind, payload) in exec.published_events() {
        super::events::append(
            tx,
            rec.workspace,
            kind,
            payload,
            &source,
            None,
            rec.cause,
            None,
        )?;
    }
    Ok(id)
}

/// [`record_in`] for a caller that needs no id: an execution with no log lines and no events
/// (whose rows would name it) is sent with the transaction's next round trip
/// ([`crate::store::sql::Connection::execute_later`]).
pub fn record_without_id(
    tx: &crate::store::sql::Connection,
    rec: &ExecutionRecord<'_>,
) -> crate::store::sql::Result<()> {
    if names_itself(rec) {
        return record_in(tx, rec).map(drop);
    }
    let row = Row::of(rec);
    tx.execute_later(INSERT_EXECUTION, row.params(&[]).as_slice())
}

/// For a journal entry written with its execution: an execution with no log lines and no
/// events is stored, unless run `run` has journaled step `key` already (the same run executed
/// twice at once keeps its first record; a success replaces only a failure, as the entry's
/// own write does), with the transaction's next round trip, before the entry's own insert;
/// `false` (nothing done) for any other, which needs the entry's answer first
/// ([`record_in`]). Two hosts executing one run at once may both store theirs: an execution
/// record without events, which each did make.
pub fn record_later_unless_journaled(
    tx: &crate::store::sql::Connection,
    rec: &ExecutionRecord<'_>,
    run: i64,
    key: &str,
    succeeded: bool,
) -> crate::store::sql::Result<bool> {
    if names_itself(rec) {
        return Ok(false);
    }
    let row = Row::of(rec);
    tx.execute_later(
        "INSERT INTO step_executions
            (workspace, principal, component, digest, status, failure_kind, error, output, duration_us)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
         WHERE NOT EXISTS (SELECT 1 FROM run_steps WHERE run_id = ?10 AND step_key = ?11
                           AND (status = 'succeeded' OR ?12 = 0))",
        row.params(&[&run, &key, &i64::from(succeeded)]).as_slice(),
    )?;
    Ok(true)
}

/// The insert of an execution's row, whose text both forms share.
macro_rules! insert_execution {
    () => {
        "INSERT INTO step_executions
            (workspace, principal, component, digest, status, failure_kind, error, output, duration_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    };
}

/// The insert of an execution's row.
const INSERT_EXECUTION: &str = insert_execution!();

/// [`INSERT_EXECUTION`], answering with the row's id.
const INSERT_EXECUTION_RETURNING_ID: &str = concat!(insert_execution!(), " RETURNING id");

/// Whether other rows name the execution's (its log lines, its events' source): its insert
/// must return its id.
fn names_itself(rec: &ExecutionRecord<'_>) -> bool {
    let exec = rec.execution;
    exec.log_lines().next().is_some() || exec.published_events().next().is_some()
}

/// An execution's row, as its insert binds it.
struct Row<'a> {
    rec: &'a ExecutionRecord<'a>,
    status: &'static str,
    kind: Option<&'static str>,
    error: Option<String>,
    output: Option<String>,
    micros: i64,
}

impl<'a> Row<'a> {
    fn of(rec: &'a ExecutionRecord<'a>) -> Row<'a> {
        let exec = rec.execution;
        let (status, kind, error, output) = match exec.outcome() {
            Ok(value) => ("succeeded", None, None, Some(value.to_string())),
            Err((kind, message)) => (
                "failed",
                Some(kind),
                Some(crate::text::storable(message)),
                None,
            ),
        };
        Row {
            rec,
            status,
            kind,
            error,
            output,
            micros: i64::try_from(exec.duration().as_micros()).unwrap_or(i64::MAX),
        }
    }

    /// The nine columns' parameters, then `more`.
    fn params<'p>(&'p self, more: &[&'p dyn ToSql]) -> Vec<&'p dyn ToSql> {
        let mut params: Vec<&dyn ToSql> = vec![
            &self.rec.workspace,
            &self.rec.principal,
            &self.rec.component,
            &self.rec.digest,
            &self.status,
            &self.kind,
            &self.error,
            &self.output,
            &self.micros,
        ];
        params.extend_from_slice(more);
        params
    }
}

fn insert_logs(
    tx: &crate::store::sql::Connection,
    id: i64,
    exec: &dyn RecordedExecution,
) -> crate::store::sql::Result<()> {
    // Nobody reads their counts: they go out together (on PostgreSQL).
    for (seq, (level, message)) in exec.log_lines().enumerate() {
        tx.execute_later(
            "INSERT INTO step_logs (execution_id, seq, level, message) VALUES (?1, ?2, ?3, ?4)",
            params![id, seq as i64, level, message],
        )?;
    }
    Ok(())
}
