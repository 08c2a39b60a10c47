//! The storage of `wait` timers (`run_timers`): a wait's deadline, and the runs on hold whose
//! wait is due.

use crate::store::sql::{Connection, params};

use crate::Error;
use crate::platform::internal;

/// Stores `wake_ms` as the deadline of the wait at `key` in `run` unless one is stored
/// already; returns the stored one.
pub(in crate::runs) fn deadline(
    conn: &Connection,
    run: i64,
    key: &str,
    wake_ms: i64,
) -> Result<i64, Error> {
    conn.prepare_cached(
        "INSERT INTO run_timers (run_id, step_key, wake_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![run, key, wake_ms]))?;
    conn.prepare_cached("SELECT wake_ms FROM run_timers WHERE run_id = ?1 AND step_key = ?2")
        .and_then(|mut stmt| stmt.query_row(params![run, key], |r| r.get(0)))
        .map_err(internal)
}

/// The runs on hold with a wait due at `now_ms` that no step has taken up yet, the soonest
/// due first (a run's earliest such wait), 1,000 at most. The scan starts from the runs on
/// hold (an index range), not from every timer ever set. By run id, one tenant's backlog of
/// old runs' waits was claimed round after round before another's wait due earlier (round
/// 26 engine review; interaction timeouts are taken soonest first too).
pub(in crate::runs) fn due_runs(conn: &Connection, now_ms: i64) -> Result<Vec<i64>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM (
           SELECT r.id AS id, (
             SELECT MIN(t.wake_ms) FROM run_timers t
             WHERE t.run_id = r.id AND t.wake_ms <= ?1 AND t.passed_over = 0
               AND NOT EXISTS (SELECT 1 FROM run_steps s
                               WHERE s.run_id = t.run_id AND s.step_key = t.step_key)
           ) AS due
           FROM runs r WHERE r.status = 'on_hold'
         ) held
         WHERE due IS NOT NULL
         ORDER BY due, id LIMIT 1000",
    )?;
    let rows = stmt.query_map([now_ms], |r| r.get(0))?;
    rows.collect::<Result<_, _>>().map_err(internal)
}
