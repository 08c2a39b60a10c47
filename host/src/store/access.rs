//! Reading access data as stored, for the access index and its explanations, and the access
//! epoch that says when to read it again. Rows come back as stored (names, text); what they
//! mean is the access layer's to parse.

use rusqlite::{Connection, OptionalExtension, params};

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

/// Reads every row of access data (read inside one transaction when the caller holds one).
pub fn rows(conn: &Connection) -> rusqlite::Result<AccessRows> {
    let workspaces = conn
        .prepare(
            "SELECT w.id, w.name, o.name, w.sso_only FROM workspaces w JOIN organizations o ON o.id = w.org_id",
        )?
        .query_map([], |r| {
            Ok(WorkspaceRow {
                id: r.get(0)?,
                name: r.get(1)?,
                org: r.get(2)?,
                sso_only: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let custom_roles = conn
        .prepare("SELECT workspace_id, name, scopes FROM custom_roles")?
        .query_map([], |r| {
            Ok(CustomRoleRow {
                workspace_id: r.get(0)?,
                name: r.get(1)?,
                scopes: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let memberships = conn
        .prepare(
            "SELECT m.workspace_id, u.email, m.role, m.source, m.rule_rank, m.break_glass
             FROM memberships m JOIN users u ON u.id = m.user_id",
        )?
        .query_map([], |r| {
            Ok(MembershipRow {
                workspace_id: r.get(0)?,
                email: r.get(1)?,
                role: r.get(2)?,
                source: r.get(3)?,
                rule_rank: r.get(4)?,
                break_glass: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let sso_identities = conn
        .prepare("SELECT workspace_id, email, outcome FROM sso_identities")?
        .query_map([], |r| {
            Ok(SsoIdentityRow {
                workspace_id: r.get(0)?,
                email: r.get(1)?,
                outcome: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let keys = conn
        .prepare(
            "SELECT id, workspace_id, kind, owner_email, role, expires_at, revoked_at FROM api_keys",
        )?
        .query_map([], |r| {
            Ok(KeyRow {
                id: r.get(0)?,
                ws_id: r.get(1)?,
                kind: r.get(2)?,
                owner: r.get(3)?,
                role: r.get(4)?,
                expires_at: r.get(5)?,
                revoked_at: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(AccessRows {
        workspaces,
        custom_roles,
        memberships,
        sso_identities,
        keys,
    })
}

/// The access epoch: how many access changes have committed (in any process).
pub fn epoch(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT n FROM access_epoch WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Counts one more access change; call it inside the change's transaction.
pub fn bump_epoch(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("UPDATE access_epoch SET n = n + 1 WHERE id = 1", [])?;
    Ok(())
}

/// The claim rule ranked `rank` in workspace `ws` as (claim, value, role), if any.
pub fn claim_rule(
    conn: &Connection,
    ws: i64,
    rank: u32,
) -> rusqlite::Result<Option<(String, String, String)>> {
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
) -> rusqlite::Result<Vec<MemberGroupRow>> {
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
