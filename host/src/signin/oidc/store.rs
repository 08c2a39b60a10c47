//! The SQL of pending OIDC logins: started by the sign-in button, taken (once) by the IdP's
//! callback. Keyed by the SHA-256 of the state; bound to the SHA-256 of the browser's cookie.

use crate::store::sql::{OptionalExtension, params};

use crate::Error;
use crate::platform::internal;
use crate::store::{Connection, Transaction};

/// A pending login as the callback needs it.
pub(super) struct PendingRow {
    pub browser_hash: String,
    pub workspace: String,
    pub idp: String,
    pub nonce_hash: String,
    pub verifier: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A pending login being stored.
pub(super) struct NewPending<'a> {
    pub state_hash: &'a str,
    pub browser_hash: &'a str,
    pub ws: i64,
    pub idp: &'a str,
    pub nonce_hash: &'a str,
    pub verifier: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// The most logins of one workspace under way at once. Anyone may press a sign-in button,
/// so the rows are capped; a real sign-in takes one for at most `LOGIN_TTL_SECS`.
pub(super) const MAX_PENDING_PER_WORKSPACE: i64 = 1_000;

/// Stores a started login. At [`MAX_PENDING_PER_WORKSPACE`] unused ones under way, the
/// oldest goes to make room: refusing new ones instead let anyone who pressed the button a
/// thousand times shut a workspace's people out of SSO sign-in for ten minutes (HTTP
/// review); now a flood has to outpace every real sign-in's round trip to the IdP. Always
/// `Ok(true)` (kept for the caller's refusal path).
pub(super) fn insert(tx: &Transaction<'_>, p: &NewPending<'_>) -> Result<bool, Error> {
    // Logins past their time are of no use to anyone: cleared whenever a new one starts.
    tx.execute("DELETE FROM oidc_logins WHERE expires_at <= ?1", [p.now])
        .map_err(internal)?;
    let live: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM oidc_logins
             WHERE workspace_id = ?1 AND expires_at > ?2 AND used_at IS NULL",
            params![p.ws, p.now],
            |r| r.get(0),
        )
        .map_err(internal)?;
    if live >= MAX_PENDING_PER_WORKSPACE {
        tx.execute(
            "DELETE FROM oidc_logins WHERE state_hash IN (
               SELECT state_hash FROM oidc_logins WHERE workspace_id = ?1 AND used_at IS NULL
               ORDER BY expires_at, state_hash LIMIT ?2)",
            params![p.ws, live - MAX_PENDING_PER_WORKSPACE + 1],
        )
        .map_err(internal)?;
    }
    tx.execute(
        "INSERT INTO oidc_logins (state_hash, browser_hash, workspace_id, idp, nonce_hash,
                                  verifier, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            p.state_hash,
            p.browser_hash,
            p.ws,
            p.idp,
            p.nonce_hash,
            p.verifier,
            p.expires_at
        ],
    )
    .map_err(internal)?;
    Ok(true)
}

pub(super) fn find(conn: &Connection, state_hash: &str) -> Result<Option<PendingRow>, Error> {
    conn.query_row(
        "SELECT l.browser_hash, w.name, l.idp, l.nonce_hash, l.verifier, l.expires_at, l.used_at
         FROM oidc_logins l JOIN workspaces w ON w.id = l.workspace_id
         WHERE l.state_hash = ?1",
        [state_hash],
        |r| {
            Ok(PendingRow {
                browser_hash: r.get(0)?,
                workspace: r.get(1)?,
                idp: r.get(2)?,
                nonce_hash: r.get(3)?,
                verifier: r.get(4)?,
                expires_at: r.get(5)?,
                used_at: r.get(6)?,
            })
        },
    )
    .optional()
    .map_err(internal)
}

/// Marks the login used; `false` if it already was (another request won the race).
pub(super) fn use_once(tx: &Transaction<'_>, state_hash: &str, now: i64) -> Result<bool, Error> {
    let changed = tx
        .execute(
            "UPDATE oidc_logins SET used_at = ?2 WHERE state_hash = ?1 AND used_at IS NULL",
            params![state_hash, now],
        )
        .map_err(internal)?;
    Ok(changed == 1)
}

/// Deletes at most `limit` logins that expired at or before `now` (used or not); how many.
pub(super) fn prune(tx: &Transaction<'_>, now: i64, limit: usize) -> Result<usize, Error> {
    crate::store::delete_at_most(
        tx,
        "DELETE FROM oidc_logins WHERE state_hash IN (
             SELECT state_hash FROM oidc_logins WHERE expires_at <= ?1 LIMIT ?2)",
        now,
        limit,
    )
    .map_err(internal)
}
