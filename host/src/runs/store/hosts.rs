//! The storage of hosts' heartbeats (`hosts`), for run leases on PostgreSQL (`runs/lease.rs`).
//! Every time is the database's clock (`clock_timestamp()`, Unix milliseconds), never a
//! host's: hosts on machines whose clocks differ still agree on who is alive. PostgreSQL only
//! (SQLite's processes lease with lock files), so the SQL is PostgreSQL's. None of it takes
//! the deployment's write lock: a heartbeat must not wait behind the runs' writes.

use crate::Error;
use crate::store::sql::{Connection, params};

/// The database's clock, Unix milliseconds.
const NOW_MS: &str = "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)";

/// Records `owner` as a live host, its heartbeat now, alive for `ttl_ms` after each one.
///
/// Over a row of its own already there: a start whose insert committed but which failed after
/// (its answer lost, its thread not spawned) is tried again under the same owner, and a plain
/// insert then failed on the key every time, leaving the host unable to lease for good
/// (round 17 kill review). Nothing was leased under that owner: a lease needs a started beat.
pub(crate) fn register(conn: &Connection, owner: &str, ttl_ms: i64) -> Result<(), Error> {
    conn.execute(
        &format!(
            "INSERT INTO hosts (owner, started_at, heartbeat_at, ttl_ms)
             VALUES (?1, {NOW_MS}, {NOW_MS}, ?2)
             ON CONFLICT (owner) DO UPDATE SET started_at = EXCLUDED.started_at,
                 heartbeat_at = EXCLUDED.heartbeat_at, ttl_ms = EXCLUDED.ttl_ms"
        ),
        params![owner, ttl_ms],
    )?;
    Ok(())
}

/// Renews `owner`'s heartbeat, unless it is older than its TTL (or gone): a host another host
/// may already have declared dead must not come back to life, since its runs may be
/// executing elsewhere by now. Whether it renewed.
///
/// One statement that takes the row's lock without waiting (`NOWAIT`): an update that waited
/// for the row (another session held it) would have judged the heartbeat's age before its
/// wait and renewed it after, reviving a heartbeat that went stale meanwhile and that other
/// hosts had seen dead. A row held elsewhere is a failed renewal (tried again at the next
/// beat), never a renewal. And one statement, so that it commits on the server as soon as it
/// has judged: no pause of this process can come between the two.
pub(crate) fn renew(conn: &Connection, owner: &str) -> Result<bool, Error> {
    let renewed = conn.execute(
        &format!(
            "WITH mine AS (SELECT owner FROM hosts WHERE owner = ?1 FOR UPDATE NOWAIT)
             UPDATE hosts SET heartbeat_at = {NOW_MS}
             WHERE owner IN (SELECT owner FROM mine) AND heartbeat_at > {NOW_MS} - ttl_ms"
        ),
        [owner],
    )?;
    Ok(renewed > 0)
}

/// A condition true when the host named by `column` has no heartbeat younger than its TTL,
/// judged by the database in the statement that relies on it, not from a list read earlier.
pub(crate) fn not_alive(column: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM hosts h WHERE h.owner = {column} AND h.heartbeat_at > {NOW_MS} - h.ttl_ms)"
    )
}

/// The hosts whose heartbeat is younger than the TTL each declared.
pub(crate) fn alive(conn: &Connection) -> Result<Vec<String>, Error> {
    Ok(crate::store::all_rows(
        conn,
        &format!("SELECT owner FROM hosts WHERE heartbeat_at > {NOW_MS} - ttl_ms"),
        [],
        |r| r.get(0),
    )?)
}

/// Forgets at most `limit` hosts whose heartbeat stopped more than `after_ms` ago (killed
/// hosts never forget themselves); how many. A host without a row is dead as one with a
/// stale heartbeat is, and a stale heartbeat is never renewed, so nothing changes for them.
pub(crate) fn forget_dead(conn: &Connection, after_ms: i64, limit: i64) -> Result<usize, Error> {
    Ok(conn.execute(
        &format!(
            "DELETE FROM hosts WHERE owner IN (
                 SELECT owner FROM hosts WHERE heartbeat_at < {NOW_MS} - ?1 LIMIT ?2)"
        ),
        params![after_ms, limit],
    )?)
}

/// Forgets `owner` (a host stopping cleanly): its runs are free at once.
pub(crate) fn forget(conn: &Connection, owner: &str) -> Result<(), Error> {
    conn.execute("DELETE FROM hosts WHERE owner = ?1", [owner])?;
    Ok(())
}
