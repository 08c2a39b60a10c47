//! Reading access data as stored, for the access index and its explanations, and the access
//! epoch that says when to read it again. Rows come back as stored (names, text); what they
//! mean is the access layer's to parse.

use crate::store::sql::{Connection, OptionalExtension, params};

/// A `workspaces` row with its organization's name.
pub struct WorkspaceRow {
    pub id: i64,
    pub name: String,
    pub org: String,
    pub sso_only: bool,
}

/// A `custom_roles` row; `scopes` space-separated.
pub struct CustomRoleRow {
    pub workspace_id: i64,
    pub name: String,
    pub scopes: String,
}

/// A `memberships` row with the member's email.
pub struct MembershipRow {
    pub workspace_id: i64,
    pub email: String,
    pub role: String,
    pub source: String,
    pub rule_rank: Option<u32>,
    pub break_glass: bool,
}

/// An `sso_identities` row: the latest login outcome of an identity in a workspace.
pub struct SsoIdentityRow {
    pub workspace_id: i64,
    pub email: String,
    pub outcome: String,
}

/// An `api_keys` row, without its secret's hash.
pub struct KeyRow {
    pub id: String,
    pub ws_id: i64,
    pub kind: String,
    pub owner: Option<String>,
    pub role: Option<String>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Every row the access index is built from.
pub struct AccessRows {
    pub workspaces: Vec<WorkspaceRow>,
    pub custom_roles: Vec<CustomRoleRow>,
    pub memberships: Vec<MembershipRow>,
    pub sso_identities: Vec<SsoIdentityRow>,
    pub keys: Vec<KeyRow>,
}

/// The columns each query reads, in the order the row mappers below take them. The `WHERE`
/// clause is added per use: none for a full load, one workspace for an incremental one.
const WORKSPACES: &str = "SELECT w.id, w.name, o.name, w.sso_only FROM workspaces w JOIN organizations o ON o.id = w.org_id";
const CUSTOM_ROLES: &str = "SELECT workspace_id, name, scopes FROM custom_roles";
const MEMBERSHIPS: &str =
    "SELECT m.workspace_id, u.email, m.role, m.source, m.rule_rank, m.break_glass
     FROM memberships m JOIN users u ON u.id = m.user_id";
const SSO_IDENTITIES: &str = "SELECT workspace_id, email, outcome FROM sso_identities";
const KEYS: &str =
    "SELECT id, workspace_id, kind, owner_email, role, expires_at, revoked_at FROM api_keys";

fn workspace(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<WorkspaceRow> {
    Ok(WorkspaceRow {
        id: r.get(0)?,
        name: r.get(1)?,
        org: r.get(2)?,
        sso_only: r.get(3)?,
    })
}

fn custom_role(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<CustomRoleRow> {
    Ok(CustomRoleRow {
        workspace_id: r.get(0)?,
        name: r.get(1)?,
        scopes: r.get(2)?,
    })
}

fn membership(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<MembershipRow> {
    Ok(MembershipRow {
        workspace_id: r.get(0)?,
        email: r.get(1)?,
        role: r.get(2)?,
        source: r.get(3)?,
        rule_rank: r.get(4)?,
        break_glass: r.get(5)?,
    })
}

fn sso_identity(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<SsoIdentityRow> {
    Ok(SsoIdentityRow {
        workspace_id: r.get(0)?,
        email: r.get(1)?,
        outcome: r.get(2)?,
    })
}

fn key(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<KeyRow> {
    Ok(KeyRow {
        id: r.get(0)?,
        ws_id: r.get(1)?,
        kind: r.get(2)?,
        owner: r.get(3)?,
        role: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

/// Reads every row of access data (read inside one transaction when the caller holds one).
pub fn rows(conn: &Connection) -> crate::store::sql::Result<AccessRows> {
    Ok(AccessRows {
        workspaces: crate::store::all_rows(conn, WORKSPACES, [], workspace)?,
        custom_roles: crate::store::all_rows(conn, CUSTOM_ROLES, [], custom_role)?,
        memberships: crate::store::all_rows(conn, MEMBERSHIPS, [], membership)?,
        sso_identities: crate::store::all_rows(conn, SSO_IDENTITIES, [], sso_identity)?,
        keys: crate::store::all_rows(conn, KEYS, [], key)?,
    })
}

/// Reads the rows of the workspaces `ids` only, each table by its workspace index. A
/// workspace that no longer exists has none.
pub fn rows_of(conn: &Connection, ids: &[i64]) -> crate::store::sql::Result<AccessRows> {
    let mut out = AccessRows {
        workspaces: Vec::new(),
        custom_roles: Vec::new(),
        memberships: Vec::new(),
        sso_identities: Vec::new(),
        keys: Vec::new(),
    };
    let mut workspaces = conn.prepare_cached(&format!("{WORKSPACES} WHERE w.id = ?1"))?;
    let mut roles = conn.prepare_cached(&format!("{CUSTOM_ROLES} WHERE workspace_id = ?1"))?;
    let mut members = conn.prepare_cached(&format!("{MEMBERSHIPS} WHERE m.workspace_id = ?1"))?;
    let mut sso = conn.prepare_cached(&format!("{SSO_IDENTITIES} WHERE workspace_id = ?1"))?;
    let mut keys = conn.prepare_cached(&format!("{KEYS} WHERE workspace_id = ?1"))?;
    for &id in ids {
        for row in workspaces.query_map([id], workspace)? {
            out.workspaces.push(row?);
        }
        for row in roles.query_map([id], custom_role)? {
            out.custom_roles.push(row?);
        }
        for row in members.query_map([id], membership)? {
            out.memberships.push(row?);
        }
        for row in sso.query_map([id], sso_identity)? {
            out.sso_identities.push(row?);
        }
        for row in keys.query_map([id], key)? {
            out.keys.push(row?);
        }
    }
    Ok(out)
}

/// Runs `f` in a read transaction: everything it reads is one snapshot of the database (WAL
/// readers do not block writers), so the rows of a workspace changed meanwhile are not read
/// half before and half after. Not for a connection already in a transaction.
pub fn in_snapshot<T, E: From<crate::store::sql::Error>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    conn.begin(crate::store::sql::Begin::ReadSnapshot)?;
    let result = f(conn);
    // A read transaction has nothing to commit; ending it cannot lose anything.
    let ended = conn.commit();
    let value = result?;
    ended?;
    Ok(value)
}

/// The access epoch: how many access changes have committed (in any process).
pub fn epoch(conn: &Connection) -> crate::store::sql::Result<i64> {
    conn.prepare_cached("SELECT n FROM access_epoch WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Counts one more access change and returns its epoch; call it inside the change's
/// transaction, after the change (the change log's triggers name the epoch it commits as).
pub fn bump_epoch(conn: &Connection) -> crate::store::sql::Result<i64> {
    conn.prepare_cached("UPDATE access_epoch SET n = n + 1 WHERE id = 1 RETURNING n")?
        .query_row([], |r| r.get(0))
}

/// What the change log says happened after an epoch.
pub enum Changes {
    /// The workspaces changed since (each once, at most `limit`).
    Workspaces(Vec<i64>),
    /// More than `limit` workspaces changed: a full load is cheaper.
    TooMany,
    /// The log no longer holds every change after that epoch (pruned, or from before the log).
    Pruned,
}

/// The workspaces changed by the access changes after epoch `since` (one indexed range read
/// of the change log), or why only a full load will do.
pub fn changed_since(
    conn: &Connection,
    since: i64,
    limit: usize,
) -> crate::store::sql::Result<Changes> {
    let logged_from: i64 = conn
        .prepare_cached("SELECT logged_from FROM access_epoch WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    if since < logged_from {
        return Ok(Changes::Pruned);
    }
    let cap = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT workspace_id FROM access_log WHERE epoch > ?1 ORDER BY workspace_id LIMIT ?2",
    )?;
    let ids: Vec<i64> = stmt
        .query_map(params![since, cap], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if ids.len() > limit {
        return Ok(Changes::TooMany);
    }
    Ok(Changes::Workspaces(ids))
}

/// Drops the change log's rows up to epoch `through` (a process holding an older epoch then
/// loads the whole index). Call it inside an access change's transaction.
pub fn prune_log(conn: &Connection, through: i64) -> crate::store::sql::Result<()> {
    conn.prepare_cached("DELETE FROM access_log WHERE epoch <= ?1")?
        .execute([through])?;
    conn.prepare_cached("UPDATE access_epoch SET logged_from = CASE WHEN logged_from > ?1 THEN logged_from ELSE ?1 END WHERE id = 1")?
        .execute([through])?;
    Ok(())
}

/// The claim rule ranked `rank` in workspace `ws` as (claim, value, role), if any.
pub fn claim_rule(
    conn: &Connection,
    ws: i64,
    rank: u32,
) -> crate::store::sql::Result<Option<(String, String, String)>> {
    conn.query_row(
        "SELECT claim, value, role FROM claim_rules WHERE workspace_id = ?1 AND rank = ?2",
        params![ws, rank],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

/// A group `email` is in, as stored (its kind is parsed by the access layer).
pub struct MemberGroupRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
}

/// The groups of workspace `ws` that `email` is in, by name.
pub fn groups_of_member(
    conn: &Connection,
    ws: i64,
    email: &str,
) -> crate::store::sql::Result<Vec<MemberGroupRow>> {
    let mut stmt = conn.prepare(
        "SELECT g.id, g.name, g.kind FROM groups g JOIN group_members gm ON gm.group_id = g.id
         JOIN users u ON u.id = gm.user_id WHERE g.workspace_id = ?1 AND u.email = ?2 ORDER BY g.name",
    )?;
    stmt.query_map(params![ws, email], |r| {
        Ok(MemberGroupRow {
            id: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
        })
    })?
    .collect()
}
