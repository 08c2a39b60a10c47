//! The storage of shares: the only module of `share/` that speaks SQL. It reads and writes rows
//! of `shares` (and asks `workflow_revisions` what a share needs to know) inside the caller's
//! connection or transaction; every decision stays in the service. Storage errors come back as
//! [`Error`] through [`internal`].

use crate::store::sql::{Connection, OptionalExtension, params};

use crate::Error;
use crate::clock;
use crate::platform::internal;
use crate::public_id::PublicId;

use super::Share;

/// The columns [`share_row`] reads, in its order: the share, then the source's latest revision.
const SHARE_COLUMNS: &str = "public_id, kind, name, source, destination, status, shared_by, accepted_by, revision, \
     (SELECT max(revision) FROM workflow_revisions w WHERE w.workspace = shares.source AND w.name = shares.name)";

fn share_row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<Share> {
    Ok(Share {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        source: r.get(3)?,
        destination: r.get(4)?,
        status: r.get(5)?,
        shared_by: r.get(6)?,
        accepted_by: r.get(7)?,
        revision: r.get(8)?,
        latest: r.get(9)?,
    })
}

/// The share with public id `id`, if any.
pub(super) fn share(conn: &Connection, id: &PublicId) -> Result<Option<Share>, Error> {
    conn.query_row(
        &format!("SELECT {SHARE_COLUMNS} FROM shares WHERE public_id = ?1"),
        [id],
        share_row,
    )
    .optional()
    .map_err(internal)
}

/// Shares into and out of `workspace`, oldest first.
pub(super) fn shares_of(conn: &Connection, workspace: &str) -> Result<Vec<Share>, Error> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SHARE_COLUMNS} FROM shares WHERE source = ?1 OR destination = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([workspace], share_row)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

/// The status of the share of `name` from `source` to `destination`, if there is one.
pub(super) fn status_between(
    conn: &Connection,
    name: &str,
    source: &str,
    destination: &str,
) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT status FROM shares WHERE name = ?1 AND source = ?2 AND destination = ?3",
        params![name, source, destination],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// Whether `workspace` has published a workflow `name` of its own.
pub(super) fn has_own_workflow(
    conn: &Connection,
    workspace: &str,
    name: &str,
) -> Result<bool, Error> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM workflow_revisions WHERE workspace = ?1 AND name = ?2)",
        params![workspace, name],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// A share to insert, as the service decided it.
pub(super) struct NewShare<'a> {
    pub id: &'a PublicId,
    pub kind: &'a str,
    pub name: &'a str,
    pub source: &'a str,
    pub destination: &'a str,
    /// The revision it is of; stored as accepted only when `accepted_by` is set.
    pub revision: i64,
    pub shared_by: &'a str,
    /// Who accepted it at once (the sharer), if they did.
    pub accepted_by: Option<&'a str>,
    /// That acceptor as a stored principal, the runs' publisher in the destination.
    pub accepted_as: Option<&'a str>,
}

/// Inserts `share`, pending or accepted at once (SPEC SH-1, SH-3), and returns it as stored.
pub(super) fn insert(conn: &Connection, share: &NewShare<'_>) -> Result<Share, Error> {
    let status = if share.accepted_by.is_some() {
        "accepted"
    } else {
        "pending"
    };
    conn.execute(
        "INSERT INTO shares (kind, name, source, destination, status, shared_by, shared_at, accepted_by, accepted_at, revision, accepted_as, public_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CASE WHEN ?5 = 'accepted' THEN ?7 END, CASE WHEN ?5 = 'accepted' THEN ?9 END, ?10, ?11)",
        params![
            share.kind,
            share.name,
            share.source,
            share.destination,
            status,
            share.shared_by,
            clock::now_unix(),
            share.accepted_by,
            share.revision,
            share.accepted_as,
            share.id
        ],
    )?;
    self::share(conn, share.id)?
        .ok_or_else(|| Error::Internal(format!("share {} vanished as it was made", share.id)))
}

/// Marks share `seen` accepted at `revision` by `accepted_by` (stored as `accepted_as`), if
/// it is still as `seen` (status and revision) and `revision` is newer; returns whether it did.
pub(super) fn accept(
    conn: &Connection,
    seen: &Share,
    accepted_by: &str,
    revision: i64,
    accepted_as: &str,
) -> Result<bool, Error> {
    let changed = conn.execute(
        "UPDATE shares SET status = 'accepted', accepted_by = ?2, accepted_at = ?3, revision = ?4, accepted_as = ?5
         WHERE public_id = ?1 AND status = ?6 AND revision IS NOT DISTINCT FROM ?7
           AND (status != 'accepted' OR revision IS NULL OR revision < ?4)",
        params![
            seen.id,
            accepted_by,
            clock::now_unix(),
            revision,
            accepted_as,
            seen.status,
            seen.revision
        ],
    )?;
    Ok(changed > 0)
}

/// An accepted share of a workflow into a workspace, as stored.
pub(super) struct Accepted {
    pub id: PublicId,
    pub source: String,
    /// The pinned revision; `None` for a share accepted before shares were pinned.
    pub revision: Option<i64>,
    /// The acceptor as a stored principal; `None` as for `revision`.
    pub accepted_as: Option<String>,
}

/// The accepted share of `name` into `workspace`, if any.
pub(super) fn accepted_into(
    conn: &Connection,
    workspace: &str,
    name: &str,
) -> Result<Option<Accepted>, Error> {
    conn.query_row(
        // The oldest, should a database from before the one-accepted-share rule hold two.
        "SELECT public_id, source, revision, accepted_as FROM shares WHERE destination = ?1 AND name = ?2 AND status = 'accepted' ORDER BY id LIMIT 1",
        params![workspace, name],
        |r| {
            Ok(Accepted {
                id: r.get(0)?,
                source: r.get(1)?,
                revision: r.get(2)?,
                accepted_as: r.get(3)?,
            })
        },
    )
    .optional()
    .map_err(internal)
}

/// The names of the workflows with a form published in `workspace` or shared into it and
/// accepted, by name.
pub(super) fn flow_names(conn: &Connection, workspace: &str) -> Result<Vec<String>, Error> {
    crate::store::all_rows(conn, "SELECT DISTINCT name FROM workflow_revisions WHERE workspace = ?1 AND flow IS NOT NULL
             UNION SELECT name FROM shares WHERE destination = ?1 AND status = 'accepted' ORDER BY 1", [workspace], |r| r.get(0)).map_err(internal)
}
