//! The storage of run leases (`runs.lease_owner`): who holds a run, and the conditional
//! updates that take and give it up. Whether a holder is alive is decided above
//! (`runs/lease.rs`: by its lock file or its heartbeat).

use crate::store::postgres::notify_work;
use crate::store::sql::{Connection, Engine, OptionalExtension, params};

use crate::Error;
use crate::platform::internal;

use super::super::RunLease as Lease;

/// The lease of the run with key `run`, if there is such a run.
pub(in crate::runs) fn lease(conn: &Connection, run: i64) -> Result<Option<Lease>, Error> {
    conn.query_row(
        "SELECT lease_owner, public_id FROM runs WHERE id = ?1",
        [run],
        |r| {
            Ok(Lease {
                owner: r.get(0)?,
                run: r.get(1)?,
            })
        },
    )
    .optional()
    .map_err(internal)
}

/// Makes `owner` the holder of `run` if `current` still holds it and the run is unfinished;
/// returns whether it did (a race between two takers is settled here). A run on hold is
/// put back to `running`: it is executed from here on (it holds again if what it waits for
/// is still to come), and only a running run's end can be recorded (`journal::finish`), so a
/// due wait resumed by hand would otherwise stay on hold for good.
///
/// On PostgreSQL a run leased to another host is taken only if that host's heartbeat is
/// stale now, in this statement: a list of live hosts read before the host (re)started or
/// took the run told it dead while it executed the run, and two live hosts executed one run
/// (kill and concurrency review). SQLite's processes lease with lock files, checked by the
/// caller: a lock file's owner does not come back once dead (a restarted process is another
/// owner).
pub(in crate::runs) fn take(
    conn: &Connection,
    run: i64,
    owner: &str,
    current: Option<&str>,
) -> Result<bool, Error> {
    let alive_elsewhere = match conn.engine() {
        Engine::Postgres => format!(
            " AND (lease_owner IS NULL OR lease_owner = ?2 OR {})",
            super::hosts::not_alive("runs.lease_owner")
        ),
        Engine::Sqlite => String::new(),
    };
    let changed = conn.execute(
        &format!(
            "UPDATE runs SET lease_owner = ?2,
                status = CASE WHEN status = 'on_hold' THEN 'running' ELSE status END
             WHERE id = ?1 AND lease_owner IS NOT DISTINCT FROM ?3 AND status IN ('running', 'queued', 'on_hold'){alive_elsewhere}"
        ),
        params![run, owner, current],
    )?;
    Ok(changed > 0)
}

/// Frees the lease of `run` if `owner` still holds it (never another host's: one that took
/// the run over while this one's heartbeat lapsed); a run left `running` and unleased is
/// then any host's to resume.
pub(in crate::runs) fn give_up(conn: &Connection, run: i64, owner: &str) -> Result<(), Error> {
    conn.execute(
        "UPDATE runs SET lease_owner = NULL WHERE id = ?1 AND lease_owner = ?2",
        params![run, owner],
    )?;
    notify_work(conn)?;
    Ok(())
}
