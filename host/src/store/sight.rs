//! Who comes to see a restricted case other than through a change of its people (SPEC CS-2):
//! a person it names becomes a member of its workspace again (invited, provisioned through
//! SSO, listed in a tenant file), or their role changes, and with it whether they read cases
//! at all (SPEC CS-4). Such a case is widened to them (`cases.sight`, `cases.widened`), as a
//! restriction update adding them widens it: what runs read of it, and what its events
//! recorded, before then is judged as read (`cases::Judged::AsRead`). A deleted member stays
//! named on the cases they were on, and invited again saw what runs had read and events
//! recorded of them while they were gone (round 29 leak review).

use super::sql::{self, Connection, params};

/// Widens to user `user` every restricted case of workspace `ws` naming them, in the
/// transaction that changes their membership.
pub(crate) fn widen_to_user(conn: &Connection, ws: i64, user: i64) -> sql::Result<usize> {
    lock_cases_of(conn, ws)?;
    conn.prepare_cached(
        "UPDATE cases SET sight = sight + 1, widened = sight + 1
          WHERE restricted <> 0
            AND id IN (SELECT p.case_id FROM case_people p JOIN users u ON u.email = p.email
                        WHERE p.workspace_id = ?1 AND u.id = ?2)",
    )?
    .execute(params![ws, user])
}

/// Widens to every member holding custom role `role` in workspace `ws` the restricted cases
/// naming them: its scopes changed.
pub(crate) fn widen_to_role(conn: &Connection, ws: i64, role: &str) -> sql::Result<usize> {
    lock_cases_of(conn, ws)?;
    conn.prepare_cached(
        "UPDATE cases SET sight = sight + 1, widened = sight + 1
          WHERE restricted <> 0
            AND id IN (SELECT p.case_id FROM case_people p JOIN users u ON u.email = p.email
                         JOIN memberships m ON m.user_id = u.id AND m.workspace_id = p.workspace_id
                        WHERE p.workspace_id = ?1 AND m.role = ?2)",
    )?
    .execute(params![ws, role])
}

/// Takes workspace `ws`'s lock before its cases' rows, as every case write does (PostgreSQL;
/// nothing on SQLite): a case write holds it, then the access lock shared, then the row, and
/// an access change takes the access lock exclusively last, before its commit. Updating the
/// rows without it, an access change held a case's row while it waited for the access lock a
/// case write held waiting for that row (round 29 self-review: a deadlock, each side's
/// failure the infrastructure's).
fn lock_cases_of(conn: &Connection, ws: i64) -> sql::Result<()> {
    let name: String = conn
        .prepare_cached("SELECT name FROM workspaces WHERE id = ?1")?
        .query_row(params![ws], |r| r.get(0))?;
    conn.lock_workspace(&name)
}
