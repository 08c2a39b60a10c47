//! The SQL of browser sign-in (private to `signin/`): one-time links and sessions, each kept
//! only as the SHA-256 of its secret.

use crate::store::sql::{OptionalExtension, params};

use crate::Error;
use crate::platform::internal;
use crate::store::{Connection, Transaction, delete_at_most};

/// A stored sign-in link, as redeeming it needs it.
pub(super) struct LinkRow {
    pub workspace: String,
    pub email: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// Who issued it, as the actor's name (`email`, `email (sso)`, `key:<id>`).
    pub issued_by: String,
    /// The hash of the browser-bound token that used it, if used since migration 39.
    pub used_by: Option<String>,
}

/// A stored session.
pub(super) struct SessionRow {
    pub workspace: String,
    pub email: String,
    pub via: String,
    pub csrf: String,
    pub expires_at: i64,
    /// Who issued the sign-in link a local session was opened by, as the link stored it.
    pub issued_by: Option<String>,
}

/// The id of workspace `name`, if it exists.
pub(super) fn workspace_id(conn: &Connection, name: &str) -> Result<Option<i64>, Error> {
    conn.query_row("SELECT id FROM workspaces WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .map_err(internal)
}

pub(super) fn insert_link(
    tx: &Transaction<'_>,
    hash: &str,
    ws: i64,
    email: &str,
    issued_by: &str,
    expires_at: i64,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO signin_links (token_hash, workspace_id, email, issued_by, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![hash, ws, email, issued_by, expires_at],
    )
    .map_err(internal)?;
    Ok(())
}

pub(super) fn link(conn: &Connection, hash: &str) -> Result<Option<LinkRow>, Error> {
    conn.query_row(
        "SELECT w.name, l.email, l.expires_at, l.used_at, l.issued_by, l.used_by
         FROM signin_links l JOIN workspaces w ON w.id = l.workspace_id
         WHERE l.token_hash = ?1",
        [hash],
        |r| {
            Ok(LinkRow {
                workspace: r.get(0)?,
                email: r.get(1)?,
                expires_at: r.get(2)?,
                used_at: r.get(3)?,
                issued_by: r.get(4)?,
                used_by: r.get(5)?,
            })
        },
    )
    .optional()
    .map_err(internal)
}

/// Marks the link used; `false` if it already was (another request won the race).
pub(super) fn use_link(
    tx: &Transaction<'_>,
    hash: &str,
    now: i64,
    by: &str,
) -> Result<bool, Error> {
    let changed = tx
        .execute(
            "UPDATE signin_links SET used_at = ?2, used_by = ?3
             WHERE token_hash = ?1 AND used_at IS NULL",
            params![hash, now, by],
        )
        .map_err(internal)?;
    Ok(changed == 1)
}

pub(super) struct NewSessionRow<'a> {
    pub hash: &'a str,
    pub ws: i64,
    pub email: &'a str,
    pub via: &'a str,
    /// The IdP an SSO session's login went through; `None` for a local one.
    pub idp: Option<&'a str>,
    /// Who issued the link a local session was opened by; `None` for an SSO one.
    pub issued_by: Option<&'a str>,
    pub csrf: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub(super) fn insert_session(tx: &Transaction<'_>, s: &NewSessionRow<'_>) -> Result<(), Error> {
    // Expired sessions are of no use to anyone: cleared whenever a new one starts.
    tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [s.now])
        .map_err(internal)?;
    tx.execute(
        "INSERT INTO web_sessions (id_hash, workspace_id, email, via, idp, csrf, created_at, expires_at, issued_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![s.hash, s.ws, s.email, s.via, s.idp, s.csrf, s.now, s.expires_at, s.issued_by],
    )
    .map_err(internal)?;
    Ok(())
}

pub(super) fn session(conn: &Connection, hash: &str) -> Result<Option<SessionRow>, Error> {
    conn.query_row(
        "SELECT w.name, s.email, s.via, s.csrf, s.expires_at, s.issued_by
         FROM web_sessions s JOIN workspaces w ON w.id = s.workspace_id
         WHERE s.id_hash = ?1",
        [hash],
        |r| {
            Ok(SessionRow {
                workspace: r.get(0)?,
                email: r.get(1)?,
                via: r.get(2)?,
                csrf: r.get(3)?,
                expires_at: r.get(4)?,
                issued_by: r.get(5)?,
            })
        },
    )
    .optional()
    .map_err(internal)
}

pub(super) fn delete_session(tx: &Transaction<'_>, hash: &str) -> Result<(), Error> {
    tx.execute("DELETE FROM web_sessions WHERE id_hash = ?1", [hash])
        .map_err(internal)?;
    Ok(())
}

/// Deletes at most `limit` links that expired, or were used, before `before`; how many.
pub(super) fn prune_links(tx: &Transaction<'_>, before: i64, limit: usize) -> Result<usize, Error> {
    delete_at_most(
        tx,
        "DELETE FROM signin_links WHERE token_hash IN (
             SELECT token_hash FROM signin_links WHERE expires_at < ?1
             UNION SELECT token_hash FROM signin_links WHERE used_at < ?1
             LIMIT ?2)",
        before,
        limit,
    )
    .map_err(internal)
}

/// Deletes at most `limit` sessions that expired at or before `now`; how many.
pub(super) fn prune_sessions(tx: &Transaction<'_>, now: i64, limit: usize) -> Result<usize, Error> {
    delete_at_most(
        tx,
        "DELETE FROM web_sessions WHERE id_hash IN (
             SELECT id_hash FROM web_sessions WHERE expires_at <= ?1 LIMIT ?2)",
        now,
        limit,
    )
    .map_err(internal)
}
