//! `start_requests`: the keys runs were started with (the API's `Idempotency-Key`, a web
//! form's start token), so that a start sent again answers the run it started.

use crate::store::Transaction;
use crate::store::sql::{Connection, OptionalExtension, params};

use crate::Error;
use crate::platform::internal;
use crate::runs::{StartKey, StartedBefore};

/// The run a start with `key` in `workspace` recorded, if one did.
pub(crate) fn run_of(
    conn: &Connection,
    workspace: &str,
    key: &StartKey<'_>,
) -> Result<Option<StartedBefore>, Error> {
    let found = conn
        .prepare_cached(
            "SELECT runs.id, runs.event
             FROM start_requests JOIN runs ON runs.id = start_requests.run
             WHERE start_requests.workspace = ?1 AND start_requests.requester = ?2
               AND start_requests.request_key = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![workspace, key.requester, key.key], |r| {
                // An event that does not read is an error naming it, not a start it never
                // was.
                Ok((
                    r.get::<i64>(0)?,
                    crate::store::json::column(r, 1, "runs.event")?,
                ))
            })
            .optional()
        })
        .map_err(internal)?;
    let Some((run, event)) = found else {
        return Ok(None);
    };
    let info = super::journal::info(conn, run)?.ok_or_else(|| {
        Error::Internal(format!("start_requests names run key {run}, not stored"))
    })?;
    Ok(Some(StartedBefore { info, event }))
}

/// Records that the start with `key` in `workspace` recorded `run`; `false` if another start
/// with that key has (on PostgreSQL, one committed while this transaction waited for it).
pub(crate) fn record(
    tx: &Transaction<'_>,
    workspace: &str,
    key: &StartKey<'_>,
    run: i64,
    at: i64,
) -> Result<bool, Error> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO start_requests (workspace, requester, request_key, run, at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![workspace, key.requester, key.key, run, at]))
        .map_err(internal)?;
    Ok(inserted == 1)
}

/// Forgets the start with `key` in `workspace`, whatever run it recorded.
pub(crate) fn forget(
    tx: &Transaction<'_>,
    workspace: &str,
    key: &StartKey<'_>,
) -> Result<(), Error> {
    tx.prepare_cached(
        "DELETE FROM start_requests WHERE workspace = ?1 AND requester = ?2 AND request_key = ?3",
    )
    .and_then(|mut stmt| stmt.execute(params![workspace, key.requester, key.key]))
    .map_err(internal)?;
    Ok(())
}

/// Deletes at most `limit` start keys recorded before `before` whose run has ended; how
/// many. A key of a run still queued, running, on hold or stopped (resumable) is kept: sent
/// again past the retention, it started a second run beside the first (round 21 kill
/// review).
pub(crate) fn prune(tx: &Transaction<'_>, before: i64, limit: usize) -> Result<usize, Error> {
    crate::store::delete_at_most(
        tx,
        "DELETE FROM start_requests WHERE (workspace, requester, request_key) IN (
             SELECT s.workspace, s.requester, s.request_key
               FROM start_requests s JOIN runs r ON r.id = s.run
              WHERE s.at < ?1 AND r.status IN ('succeeded', 'failed') LIMIT ?2)",
        before,
        limit,
    )
    .map_err(internal)
}
