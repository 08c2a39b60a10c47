//! The storage of webhook triggers (issue 16): `webhooks` (a workflow's opaque id and
//! secret), `webhook_signatures` (replays), `webhook_requests` (idempotency keys).

use crate::store::sql::{Connection, OptionalExtension, params};

use crate::store::Transaction;
use serde_json::Value;

use crate::Error;
use crate::platform::internal;

/// A workflow's webhook as stored.
pub(in crate::workflow) struct Hook {
    pub id: String,
    pub workspace: String,
    pub workflow: String,
    pub secret: String,
    /// The `run_as` (as stored) its secret was issued for; `None` for one issued unbound.
    pub run_as: Option<String>,
    /// Who issued or last rotated its secret (a publisher as stored); `None` for a secret
    /// issued before this was kept.
    pub issued_by: Option<String>,
}

fn hook(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<Hook> {
    Ok(Hook {
        id: r.get(0)?,
        workspace: r.get(1)?,
        workflow: r.get(2)?,
        secret: r.get(3)?,
        run_as: r.get(4)?,
        issued_by: r.get(5)?,
    })
}

/// The webhook with URL id `id`.
pub(in crate::workflow) fn by_id(conn: &Connection, id: &str) -> Result<Option<Hook>, Error> {
    conn.prepare_cached(
        "SELECT id, workspace, workflow, secret, run_as, issued_by FROM webhooks WHERE id = ?1",
    )
    .and_then(|mut stmt| stmt.query_row([id], hook).optional())
    .map_err(internal)
}

/// The webhook of workflow `workflow` in `workspace`.
pub(in crate::workflow) fn of_workflow(
    conn: &Connection,
    workspace: &str,
    workflow: &str,
) -> Result<Option<Hook>, Error> {
    conn.prepare_cached(
        "SELECT id, workspace, workflow, secret, run_as, issued_by FROM webhooks WHERE workspace = ?1 AND workflow = ?2",
    )
    .and_then(|mut stmt| stmt.query_row([workspace, workflow], hook).optional())
    .map_err(internal)
}

/// Stores a new webhook.
pub(in crate::workflow) fn insert(tx: &Transaction<'_>, h: &Hook, now: i64) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO webhooks (id, workspace, workflow, secret, created_at, run_as, issued_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![h.id, h.workspace, h.workflow, h.secret, now, h.run_as, h.issued_by],
    )
    .map_err(internal)?;
    Ok(())
}

/// Replaces the secret of webhook `id`, issued now for `run_as` by `issued_by`.
pub(in crate::workflow) fn rotate(
    tx: &Transaction<'_>,
    id: &str,
    secret: &str,
    now: i64,
    run_as: Option<&str>,
    issued_by: &str,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE webhooks SET secret = ?2, rotated_at = ?3, run_as = ?4, issued_by = ?5 WHERE id = ?1",
        params![id, secret, now, run_as, issued_by],
    )
    .map_err(internal)?;
    Ok(())
}

/// Records `signature`, signing timestamp `at`, as seen for `hook`; `false` if it was seen
/// already (a replay). Signatures signed before `forget_before` are dropped first: past the
/// freshness window their requests are refused as stale anyway.
pub(in crate::workflow) fn see_signature(
    tx: &Transaction<'_>,
    hook: &str,
    signature: &str,
    at: i64,
    forget_before: i64,
) -> Result<bool, Error> {
    tx.prepare_cached("DELETE FROM webhook_signatures WHERE at < ?1")
        .and_then(|mut stmt| stmt.execute([forget_before]))
        .map_err(internal)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO webhook_signatures (hook, signature, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![hook, signature, at]))
        .map_err(internal)?;
    Ok(inserted == 1)
}

/// The public id of the run an earlier request with `key` started, if there was one.
pub(in crate::workflow) fn run_of_key(
    tx: &Transaction<'_>,
    hook: &str,
    key: &str,
) -> Result<Option<(String, Value)>, Error> {
    tx.prepare_cached(
        "SELECT runs.public_id, runs.event FROM webhook_requests JOIN runs ON runs.id = webhook_requests.run
         WHERE webhook_requests.hook = ?1 AND webhook_requests.idempotency_key = ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_row([hook, key], |r| {
            // An event that does not read is an error naming it, not a request it never was.
            Ok((r.get(0)?, crate::store::json::column(r, 1, "runs.event")?))
        })
        .optional()
    })
    .map_err(internal)
}

/// Records that the request with `key` started `run`.
pub(in crate::workflow) fn record_key(
    tx: &Transaction<'_>,
    hook: &str,
    key: &str,
    run: i64,
    at: i64,
) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO webhook_requests (hook, idempotency_key, run, at) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![hook, key, run, at]))
    .map_err(internal)?;
    Ok(())
}

/// Deletes at most `limit` remembered signatures seen before `before`; how many.
pub(in crate::workflow) fn prune_signatures(
    tx: &Transaction<'_>,
    before: i64,
    limit: usize,
) -> Result<usize, Error> {
    crate::store::delete_at_most(
        tx,
        "DELETE FROM webhook_signatures WHERE (hook, signature) IN (
             SELECT hook, signature FROM webhook_signatures WHERE at < ?1 LIMIT ?2)",
        before,
        limit,
    )
    .map_err(internal)
}

/// Deletes at most `limit` idempotency keys recorded before `before` whose run has ended;
/// how many. A key is kept while its run may go on, as a start key is: a delivery resent
/// on day 8 of a held run started a second one (round 22 kill review).
pub(in crate::workflow) fn prune_keys(
    tx: &Transaction<'_>,
    before: i64,
    limit: usize,
) -> Result<usize, Error> {
    crate::store::delete_at_most(
        tx,
        "DELETE FROM webhook_requests WHERE (hook, idempotency_key) IN (
             SELECT w.hook, w.idempotency_key
               FROM webhook_requests w JOIN runs r ON r.id = w.run
              WHERE w.at < ?1 AND r.status IN ('succeeded', 'failed') LIMIT ?2)",
        before,
        limit,
    )
    .map_err(internal)
}
