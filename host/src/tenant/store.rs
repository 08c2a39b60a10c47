//! The storage of tenant files: reading an organization's access data for an export or a diff,
//! and writing the differences an apply decided. The only module of `tenant/` that speaks SQL;
//! storage errors come back as [`Error`] through [`internal`].

use std::collections::{BTreeMap, BTreeSet};

use crate::store::sql::{Connection, OptionalExtension, params};

use crate::Error;
use crate::admin::groups::GroupKind;
use crate::platform::internal;

use super::{MemberSpec, RoleSpec};

// Organizations and workspaces.

/// (id, name) of every organization, by name.
pub(super) fn organizations(conn: &Connection) -> Result<Vec<(i64, String)>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT id, name FROM organizations ORDER BY name",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(internal)
}

/// Every (organization, workspace) pair, by name.
pub(super) fn all_workspaces(conn: &Connection) -> Result<Vec<(String, String)>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT o.name, w.name FROM workspaces w JOIN organizations o ON o.id = w.org_id
             ORDER BY o.name, w.name",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(internal)
}

/// (id, name, SSO-only) of the workspaces of organization `org`, by name.
pub(super) fn org_workspaces(
    conn: &Connection,
    org: i64,
) -> Result<Vec<(i64, String, bool)>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT id, name, sso_only FROM workspaces WHERE org_id = ?1 ORDER BY name",
        [org],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .map_err(internal)
}

/// Names of the workspaces of the organization named `org`.
pub(super) fn workspaces_of_org_named(conn: &Connection, org: &str) -> Result<Vec<String>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT w.name FROM workspaces w JOIN organizations o ON o.id = w.org_id WHERE o.name = ?1",
        [org],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// How many Owners the workspaces of the organization named `org` have.
pub(super) fn owners_in_org(conn: &Connection, org: &str) -> Result<i64, Error> {
    conn.query_row(
        "SELECT count(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
         JOIN organizations o ON o.id = w.org_id WHERE o.name = ?1 AND m.role = 'owner'",
        [org],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// How many Owners the workspace named `workspace` has.
pub(super) fn owners_in_workspace(conn: &Connection, workspace: &str) -> Result<i64, Error> {
    conn.query_row(
        "SELECT count(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
         WHERE w.name = ?1 AND m.role = 'owner'",
        [workspace],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Another organization whose name differs from `name` only by (ASCII) case, if any and if
/// none is named `name` exactly (two stored before the refusal each still apply).
pub(super) fn organization_alike(conn: &Connection, name: &str) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT name FROM organizations WHERE lower(name) = ?1 AND name <> ?2
             AND NOT EXISTS (SELECT 1 FROM organizations WHERE name = ?2) LIMIT 1",
        params![name.to_ascii_lowercase(), name],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// The id of organization `name`, created if needed.
pub(super) fn ensure_org(conn: &Connection, name: &str) -> Result<i64, Error> {
    conn.execute(
        "INSERT INTO organizations (name) VALUES (?1) ON CONFLICT DO NOTHING",
        [name],
    )?;
    conn.query_row(
        "SELECT id FROM organizations WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// A workspace as stored.
pub(super) struct StoredWorkspace {
    pub id: i64,
    pub org: i64,
    pub sso_only: bool,
}

/// Workspace `name`, if it exists.
pub(super) fn find_workspace(
    conn: &Connection,
    name: &str,
) -> Result<Option<StoredWorkspace>, Error> {
    conn.query_row(
        "SELECT id, org_id, sso_only FROM workspaces WHERE name = ?1",
        [name],
        |r| {
            Ok(StoredWorkspace {
                id: r.get(0)?,
                org: r.get(1)?,
                sso_only: r.get(2)?,
            })
        },
    )
    .optional()
    .map_err(internal)
}

/// The name of a workspace other than `name` that differs from it only by ASCII case, if
/// one exists (in any organization). Folded here, not by the database: SQLite's `lower`
/// folds ASCII alone, PostgreSQL's by its locale (review); the column's, on either, by ASCII.
pub(super) fn workspace_alike(conn: &Connection, name: &str) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT name FROM workspaces WHERE lower(name) = ?1 AND name <> ?2 LIMIT 1",
        params![name.to_ascii_lowercase(), name],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// Sets SSO-only sign-in of workspace `ws`.
pub(super) fn set_sso_only(conn: &Connection, ws: i64, on: bool) -> Result<(), Error> {
    conn.execute(
        "UPDATE workspaces SET sso_only = ?2 WHERE id = ?1",
        params![ws, on],
    )?;
    Ok(())
}

/// Stores a new workspace of organization `org`; returns its id.
pub(super) fn insert_workspace(
    conn: &Connection,
    org: i64,
    name: &str,
    sso_only: bool,
) -> Result<i64, Error> {
    Ok(conn.query_row(
        "INSERT INTO workspaces (org_id, name, sso_only) VALUES (?1, ?2, ?3) RETURNING id",
        params![org, name, sso_only],
        |r| r.get(0),
    )?)
}

// IdPs.

/// Names of the IdPs workspace `ws` trusts, by name.
pub(super) fn idps(conn: &Connection, ws: i64) -> Result<BTreeSet<String>, Error> {
    strings(conn, "SELECT name FROM idps WHERE workspace_id = ?1", ws)
}

/// Another organization that trusts IdP `idp`, if one does (one organization per IdP name).
pub(super) fn idp_elsewhere(
    conn: &Connection,
    idp: &str,
    ws: i64,
) -> Result<Option<String>, Error> {
    conn.query_row(
        "SELECT o.name FROM idps i JOIN workspaces w ON w.id = i.workspace_id
         JOIN organizations o ON o.id = w.org_id
         WHERE i.name = ?1 AND o.id != (SELECT org_id FROM workspaces WHERE id = ?2) LIMIT 1",
        params![idp, ws],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// Trusts IdP `idp` in workspace `ws`.
pub(super) fn insert_idp(conn: &Connection, ws: i64, idp: &str) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO idps (workspace_id, name) VALUES (?1, ?2)",
        params![ws, idp],
    )?;
    Ok(())
}

/// (user, email) of the members of `ws` provisioned through SSO whose standing `idp`'s
/// login recorded.
pub(super) fn members_through_idp(
    conn: &Connection,
    ws: i64,
    idp: &str,
) -> Result<Vec<(i64, String)>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT m.user_id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
           JOIN sso_identities s ON s.workspace_id = m.workspace_id AND s.email = u.email
           WHERE m.workspace_id = ?1 AND m.source = 'sso' AND s.idp = ?2
           ORDER BY u.email",
        params![ws, idp],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(internal)
}

/// Stops trusting `idp` in workspace `ws`: what it vouched for goes with it, its people's
/// web sessions and the standing its logins granted (SSO member or external; a denial
/// stays), which lived on
/// up to a session's 8 hours, and for good for an external identity no Owner could delete
/// (web review; SPEC SSO-1).
pub(super) fn delete_idp(conn: &Connection, ws: i64, idp: &str) -> Result<(), Error> {
    crate::admin::store::end_idp_sessions(conn, ws, idp)?;
    // A denial stays: it is what shuts an invited member the IdP refused out, and dropping it
    // with the IdP gave them their role back (review of this change; SPEC SSO-5).
    conn.execute(
        "DELETE FROM sso_identities WHERE workspace_id = ?1 AND idp = ?2 AND outcome <> 'denied'",
        params![ws, idp],
    )?;
    conn.execute(
        "DELETE FROM idps WHERE workspace_id = ?1 AND name = ?2",
        params![ws, idp],
    )?;
    Ok(())
}

// Custom roles.

/// The custom roles of workspace `ws`: name → scopes as stored (space-separated).
pub(super) fn custom_roles(conn: &Connection, ws: i64) -> Result<BTreeMap<String, String>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT name, scopes FROM custom_roles WHERE workspace_id = ?1",
        [ws],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(internal)
}

/// The custom roles of workspace `ws` as a tenant file lists them, by name.
pub(super) fn role_specs(conn: &Connection, ws: i64) -> Result<Vec<RoleSpec>, Error> {
    Ok(custom_roles(conn, ws)?
        .into_iter()
        .map(|(name, scopes)| RoleSpec {
            name,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        })
        .collect())
}

/// Changes the scopes of custom role `name`; when they come to hold `case.read`, widens to
/// its members the restricted cases naming them (`store::sight`).
pub(super) fn set_role_scopes(
    conn: &Connection,
    ws: i64,
    name: &str,
    scopes: &str,
) -> Result<(), Error> {
    let was = crate::admin::store::role_reads_cases(conn, ws, name)?;
    conn.execute(
        "UPDATE custom_roles SET scopes = ?3 WHERE workspace_id = ?1 AND name = ?2",
        params![ws, name, scopes],
    )?;
    if !was && crate::admin::store::role_reads_cases(conn, ws, name)? {
        crate::store::sight::widen_to_role(conn, ws, name)?;
    }
    Ok(())
}

/// Stores custom role `name`.
pub(super) fn insert_role(
    conn: &Connection,
    ws: i64,
    name: &str,
    scopes: &str,
) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO custom_roles (workspace_id, name, scopes) VALUES (?1, ?2, ?3)",
        params![ws, name, scopes],
    )?;
    Ok(())
}

/// How many members and live keys hold role `name` in `ws`.
pub(super) fn role_holders(conn: &Connection, ws: i64, name: &str) -> Result<i64, Error> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM memberships WHERE workspace_id = ?1 AND role = ?2)
              + (SELECT count(*) FROM api_keys WHERE workspace_id = ?1 AND role = ?2 AND revoked_at IS NULL)",
        params![ws, name],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Deletes custom role `name`.
pub(super) fn delete_role(conn: &Connection, ws: i64, name: &str) -> Result<(), Error> {
    conn.execute(
        "DELETE FROM custom_roles WHERE workspace_id = ?1 AND name = ?2",
        params![ws, name],
    )?;
    Ok(())
}

// Members.

/// A membership as stored.
pub(super) struct StoredMember {
    pub user: i64,
    pub role: String,
    /// `invite` or `sso`.
    pub source: String,
    pub break_glass: bool,
}

/// The members of workspace `ws`, by email.
pub(super) fn members(conn: &Connection, ws: i64) -> Result<BTreeMap<String, StoredMember>, Error> {
    crate::store::all_rows(conn, "SELECT u.id, u.email, m.role, m.source, m.break_glass FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ?1", [ws], |r| {
            Ok((
                r.get::<String>(1)?,
                StoredMember {
                    user: r.get(0)?,
                    role: r.get(2)?,
                    source: r.get(3)?,
                    break_glass: r.get(4)?,
                },
            ))
        }).map_err(internal)
}

/// The members of workspace `ws` as a tenant file lists them, by email: invited members, and
/// Owners provisioned through SSO (marked `sso`). Other SSO members are runtime state, but
/// without its Owners a workspace would not re-apply (SPEC UA-3).
pub(super) fn listed_members(conn: &Connection, ws: i64) -> Result<Vec<MemberSpec>, Error> {
    crate::store::all_rows(conn, "SELECT u.email, m.role, m.break_glass, m.source = 'sso' FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE m.workspace_id = ?1 AND (m.source = 'invite' OR m.role = 'owner') ORDER BY u.email", [ws], |r| {
            Ok(MemberSpec {
                email: r.get(0)?,
                role: r.get(1)?,
                break_glass: r.get(2)?,
                sso: r.get(3)?,
            })
        }).map_err(internal)
}

/// Sets a membership's role and source (`invite`, or `sso` for an Owner a tenant file lists
/// as provisioned through SSO), whatever they were.
pub(super) fn set_member(
    conn: &Connection,
    ws: i64,
    user: i64,
    role: &str,
    break_glass: bool,
    source: &str,
) -> Result<(), Error> {
    let old = crate::admin::store::role_of(conn, ws, user)?;
    conn.execute(
        "UPDATE memberships SET role = ?3, source = ?5, rule_rank = NULL, break_glass = ?4 WHERE workspace_id = ?1 AND user_id = ?2",
        params![ws, user, role, break_glass, source],
    )?;
    crate::admin::store::widen_if_reading_now(conn, ws, user, old.as_deref(), role)
}

/// Stores a membership with `source` (`invite` or `sso`).
pub(super) fn insert_member(
    conn: &Connection,
    ws: i64,
    user: i64,
    role: &str,
    break_glass: bool,
    source: &str,
) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO memberships (workspace_id, user_id, role, source, break_glass) VALUES (?1, ?2, ?3, ?5, ?4)",
        params![ws, user, role, break_glass, source],
    )?;
    crate::admin::store::widen_if_reading_now(conn, ws, user, None, role)
}

// Groups.

/// A group as stored.
pub(super) struct StoredGroup {
    pub id: i64,
    pub description: String,
    /// As stored: `static` or `dynamic`.
    pub kind: String,
    pub claim_value: Option<String>,
}

/// The groups of workspace `ws`, by name.
pub(super) fn groups(conn: &Connection, ws: i64) -> Result<BTreeMap<String, StoredGroup>, Error> {
    crate::store::all_rows(
        conn,
        "SELECT id, name, description, kind, claim_value FROM groups WHERE workspace_id = ?1",
        [ws],
        |r| {
            Ok((
                r.get::<String>(1)?,
                StoredGroup {
                    id: r.get(0)?,
                    description: r.get(2)?,
                    kind: r.get(3)?,
                    claim_value: r.get(4)?,
                },
            ))
        },
    )
    .map_err(internal)
}

/// Changes a group's description and claim value.
pub(super) fn update_group(
    conn: &Connection,
    group: i64,
    description: &str,
    claim_value: Option<&str>,
) -> Result<(), Error> {
    conn.execute(
        "UPDATE groups SET description = ?2, claim_value = ?3 WHERE id = ?1",
        params![group, description, claim_value],
    )?;
    Ok(())
}

/// Stores a group; returns its id.
pub(super) fn insert_group(
    conn: &Connection,
    ws: i64,
    name: &str,
    description: &str,
    kind: GroupKind,
    claim_value: Option<&str>,
) -> Result<i64, Error> {
    Ok(conn.query_row(
        "INSERT INTO groups (workspace_id, name, description, kind, claim_value) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![ws, name, description, kind.as_str(), claim_value],
        |r| r.get(0),
    )?)
}

/// Deletes a group and (by cascade) its memberships.
pub(super) fn delete_group(conn: &Connection, group: i64) -> Result<(), Error> {
    conn.execute("DELETE FROM groups WHERE id = ?1", [group])?;
    Ok(())
}

/// Emails of a group's members other than SSO-provisioned ones.
pub(super) fn listed_group_members(
    conn: &Connection,
    group: i64,
) -> Result<BTreeSet<String>, Error> {
    strings(
        conn,
        "SELECT u.email FROM group_members gm JOIN users u ON u.id = gm.user_id
         JOIN groups g ON g.id = gm.group_id
         LEFT JOIN memberships m ON m.user_id = u.id AND m.workspace_id = g.workspace_id
         WHERE gm.group_id = ?1 AND (m.source IS NULL OR m.source != 'sso')",
        group,
    )
}

/// Adds user `user` to group `group`.
pub(super) fn add_group_member(conn: &Connection, group: i64, user: i64) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)",
        params![group, user],
    )?;
    Ok(())
}

/// Removes the user with `email` from group `group`.
pub(super) fn remove_group_member(conn: &Connection, group: i64, email: &str) -> Result<(), Error> {
    conn.execute(
        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = (SELECT id FROM users WHERE email = ?2)",
        params![group, email],
    )?;
    Ok(())
}

/// The strings `sql` selects for id `id`, sorted.
fn strings(conn: &Connection, sql: &str, id: i64) -> Result<BTreeSet<String>, Error> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    rows.collect::<Result<_, _>>().map_err(internal)
}
