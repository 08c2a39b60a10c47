//! Groups: static (managed by hand) or dynamic (synced from IdP claims) (SPEC GR-1..3).

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::json;

use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::platform::{Platform, internal};
use crate::principal::Principal;
use crate::services::HostError;
use crate::text::{MAX_CLAIM_CHARS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, check_len};

use super::{email, member_role, user_id, workspace_id};

/// A group's membership type, fixed at creation (SPEC GR-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    Static,
    Dynamic,
}

impl GroupKind {
    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Static => "static",
            GroupKind::Dynamic => "dynamic",
        }
    }

    /// Parses `static` or `dynamic`.
    pub fn parse(s: &str) -> Result<Self, HostError> {
        match s {
            "static" => Ok(GroupKind::Static),
            "dynamic" => Ok(GroupKind::Dynamic),
            _ => Err(HostError::Invalid(format!(
                "group type must be `static` or `dynamic`, not `{s}`"
            ))),
        }
    }
}

/// A group as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub description: String,
    pub kind: GroupKind,
    pub claim_value: Option<String>,
    pub members: Vec<String>,
}

/// (id, kind) of group `name` in workspace `ws`.
pub(crate) fn group(
    tx: &Transaction<'_>,
    ws: i64,
    ws_name: &str,
    name: &str,
) -> Result<(i64, GroupKind), HostError> {
    let row: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, kind FROM groups WHERE workspace_id = ?1 AND name = ?2",
            params![ws, name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(internal)?;
    let (id, kind) = row
        .ok_or_else(|| HostError::NotFound(format!("there is no group `{name}` in `{ws_name}`")))?;
    Ok((id, GroupKind::parse(&kind)?))
}

/// Whether workspace `ws` trusts at least one IdP.
pub(crate) fn has_idp(tx: &Transaction<'_>, ws: i64) -> Result<bool, HostError> {
    tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM idps WHERE workspace_id = ?1)",
        [ws],
        |r| r.get(0),
    )
    .map_err(internal)
}

impl Platform {
    /// Creates a group; a dynamic one needs an IdP configured for the workspace (SPEC GR-3).
    /// `claim_value` is the IdP group a dynamic group mirrors (default: the group's name).
    pub(crate) fn create_group(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        description: &str,
        kind: GroupKind,
        claim_value: Option<&str>,
    ) -> Result<(), HostError> {
        if name.trim().is_empty() {
            return Err(HostError::Invalid("a group needs a name".into()));
        }
        // Documented caps (crate::text, issue 13 item 8).
        let caps = [
            ("a group name", name, MAX_NAME_CHARS),
            ("a group description", description, MAX_DESCRIPTION_CHARS),
            (
                "a claim value",
                claim_value.unwrap_or_default(),
                MAX_CLAIM_CHARS,
            ),
        ];
        for (what, value, max) in caps {
            check_len(what, value, max).map_err(HostError::Invalid)?;
        }
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            if kind == GroupKind::Dynamic && !has_idp(tx, ws)? {
                return Err(HostError::Invalid(format!(
                    "dynamic group `{name}` needs an IdP configured for `{workspace}` (SPEC GR-3)"
                )));
            }
            let claim_value = match kind {
                GroupKind::Dynamic => Some(claim_value.unwrap_or(name)),
                GroupKind::Static => None,
            };
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO groups (workspace_id, name, description, kind, claim_value) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![ws, name, description, kind.as_str(), claim_value],
                )
                .map_err(internal)?;
            if inserted == 0 {
                return Err(HostError::Conflict(format!("group `{name}` already exists in `{workspace}` (names are unique, SPEC GR-1)")));
            }
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "group.create",
                name,
                json!({ "type": kind.as_str(), "description": description, "claim_value": claim_value }),
            )
        })
    }

    /// Adds a workspace member to a static group (SPEC GR-2); dynamic groups refuse (GR-3).
    pub(crate) fn add_group_member(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
        raw_email: &str,
    ) -> Result<(), HostError> {
        self.edit_static_group(actor, workspace, group_name, raw_email, true)
    }

    /// Removes a member from a static group; dynamic groups refuse (SPEC GR-3).
    pub(crate) fn remove_group_member(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
        raw_email: &str,
    ) -> Result<(), HostError> {
        self.edit_static_group(actor, workspace, group_name, raw_email, false)
    }

    fn edit_static_group(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
        raw_email: &str,
        add: bool,
    ) -> Result<(), HostError> {
        let email = email(raw_email)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            let (group_id, kind) = group(tx, ws, workspace, group_name)?;
            if kind == GroupKind::Dynamic {
                return Err(HostError::Invalid(format!(
                    "group `{group_name}` is dynamic: its members come from IdP claims at SSO login and cannot be edited by hand (SPEC GR-3)"
                )));
            }
            let user = user_id(tx, &email)?;
            let changed = match (add, user) {
                (true, user) => {
                    let is_member = match user {
                        Some(u) => member_role(tx, ws, u)?.is_some(),
                        None => false,
                    };
                    let Some(user) = user.filter(|_| is_member) else {
                        return Err(HostError::Invalid(format!(
                            "{email} is not a member of `{workspace}`; only members can join its groups (SPEC GR-2)"
                        )));
                    };
                    tx.execute("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)", params![group_id, user])
                        .map_err(internal)?
                }
                (false, Some(user)) => tx
                    .execute("DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2", params![group_id, user])
                    .map_err(internal)?,
                (false, None) => 0,
            };
            if changed == 0 {
                return Ok(());
            }
            let action = if add { "group.add_member" } else { "group.remove_member" };
            audit::record(tx, &Actor::Principal(actor), workspace, action, group_name, json!({ "member": email.as_str() }))
        })
    }

    /// Deletes a group and its memberships.
    pub(crate) fn delete_group(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
    ) -> Result<(), HostError> {
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            let (group_id, kind) = group(tx, ws, workspace, group_name)?;
            tx.execute("DELETE FROM groups WHERE id = ?1", [group_id])
                .map_err(internal)?;
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "group.delete",
                group_name,
                json!({ "type": kind.as_str() }),
            )
        })
    }

    /// The groups of a workspace with their members; needs `user.read`.
    pub(crate) fn list_groups(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<GroupInfo>, HostError> {
        self.authorize(actor, workspace, Scope::UserRead)?;
        let db = self.db();
        groups_of(db.conn(), workspace).map_err(internal)
    }
}

/// Every group of `workspace` with its members (emails, sorted).
pub(crate) fn groups_of(
    conn: &rusqlite::Connection,
    workspace: &str,
) -> rusqlite::Result<Vec<GroupInfo>> {
    let mut stmt = conn.prepare(
        "SELECT g.id, g.name, g.description, g.kind, g.claim_value FROM groups g
         JOIN workspaces w ON w.id = g.workspace_id WHERE w.name = ?1 ORDER BY g.name",
    )?;
    let mut members = conn.prepare(
        "SELECT u.email FROM group_members gm JOIN users u ON u.id = gm.user_id WHERE gm.group_id = ?1 ORDER BY u.email",
    )?;
    let rows: Vec<(i64, String, String, String, Option<String>)> = stmt
        .query_map([workspace], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(id, name, description, kind, claim_value)| {
            let members = members
                .query_map([id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let kind = if kind == "dynamic" {
                GroupKind::Dynamic
            } else {
                GroupKind::Static
            };
            Ok(GroupInfo {
                name,
                description,
                kind,
                claim_value,
                members,
            })
        })
        .collect()
}
