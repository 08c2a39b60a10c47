//! Inviting, deleting and re-roling workspace users (SPEC UA-1..4).

use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::platform::{Platform, internal};
use crate::principal::Principal;
use crate::services::HostError;

use super::{
    email, ensure_user, existing_member, existing_role, member_role, other_usable_owners,
    workspace_id,
};

/// A member as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberInfo {
    pub email: String,
    pub role: String,
    pub source: String,
    pub break_glass: bool,
}

/// Removes a membership with what hangs on it: the person's group memberships and personal
/// keys in the workspace (SPEC UA-2). Returns (groups left, keys deleted).
pub(crate) fn remove_member(
    tx: &rusqlite::Transaction<'_>,
    ws: i64,
    user: i64,
    email: &crate::principal::Email,
) -> Result<(usize, usize), HostError> {
    let groups = tx
        .execute(
            "DELETE FROM group_members WHERE user_id = ?1
             AND group_id IN (SELECT id FROM groups WHERE workspace_id = ?2)",
            params![user, ws],
        )
        .map_err(internal)?;
    let keys = tx
        .execute(
            "DELETE FROM api_keys WHERE workspace_id = ?1 AND kind = 'personal' AND owner_email = ?2",
            params![ws, email.as_str()],
        )
        .map_err(internal)?;
    tx.execute(
        "DELETE FROM memberships WHERE workspace_id = ?1 AND user_id = ?2",
        params![ws, user],
    )
    .map_err(internal)?;
    Ok((groups, keys))
}

/// The refusal of UA-3; Owners denied by SSO or unable to sign in do not count.
fn last_owner(email: &crate::principal::Email, workspace: &str, what: &str) -> HostError {
    HostError::Conflict(format!(
        "{email} is the last Owner of `{workspace}` who can act (any other Owner is denied by SSO or cannot sign in) and cannot be {what} (SPEC UA-3)"
    ))
}

impl Platform {
    /// Invites one email with one role (SPEC UA-1).
    pub(crate) fn invite_user(
        &self,
        actor: &Principal,
        workspace: &str,
        raw_email: &str,
        role: &str,
    ) -> Result<(), HostError> {
        let email = email(raw_email)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            let role = existing_role(tx, ws, workspace, role)?;
            let user = ensure_user(tx, &email)?;
            if member_role(tx, ws, user)?.is_some() {
                return Err(HostError::Conflict(format!(
                    "{email} is already a member of `{workspace}`; use set-role to change the role"
                )));
            }
            tx.execute(
                "INSERT INTO memberships (workspace_id, user_id, role, source) VALUES (?1, ?2, ?3, 'invite')",
                params![ws, user, role.as_str()],
            )
            .map_err(internal)?;
            audit::record(tx, &Actor::Principal(actor), workspace, "user.invite", email.as_str(), json!({ "role": role.as_str() }))
        })
    }

    /// Deletes a user from the workspace: membership, group memberships and personal keys go;
    /// workflows, case references and audit entries naming them stay (SPEC UA-2). The last
    /// Owner who can act cannot be deleted (SPEC UA-3).
    pub(crate) fn delete_user(
        &self,
        actor: &Principal,
        workspace: &str,
        raw_email: &str,
    ) -> Result<(), HostError> {
        let email = email(raw_email)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            let (user, role) = existing_member(tx, ws, workspace, &email)?;
            if role.is_owner() && other_usable_owners(tx, ws, user)? == 0 {
                return Err(last_owner(&email, workspace, "deleted"));
            }
            let (groups, keys) = remove_member(tx, ws, user, &email)?;
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "user.delete",
                email.as_str(),
                json!({ "role": role.as_str(), "groups_left": groups, "personal_keys_deleted": keys }),
            )
        })
    }

    /// Changes a member's role (SPEC UA-1); the last Owner who can act cannot be demoted
    /// (SPEC UA-3).
    pub(crate) fn set_user_role(
        &self,
        actor: &Principal,
        workspace: &str,
        raw_email: &str,
        role: &str,
    ) -> Result<(), HostError> {
        let email = email(raw_email)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            let new = existing_role(tx, ws, workspace, role)?;
            let (user, old) = existing_member(tx, ws, workspace, &email)?;
            if old == new {
                return Ok(());
            }
            if old.is_owner() && other_usable_owners(tx, ws, user)? == 0 {
                return Err(last_owner(&email, workspace, "demoted"));
            }
            tx.execute(
                "UPDATE memberships SET role = ?3 WHERE workspace_id = ?1 AND user_id = ?2",
                params![ws, user, new.as_str()],
            )
            .map_err(internal)?;
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "user.set_role",
                email.as_str(),
                json!({ "before": old.as_str(), "after": new.as_str() }),
            )
        })
    }

    /// The members of a workspace; needs `user.read`.
    pub(crate) fn list_users(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<MemberInfo>, HostError> {
        self.authorize(actor, workspace, Scope::UserRead)?;
        let db = self.db();
        let mut stmt = db
            .conn()
            .prepare(
                "SELECT u.email, m.role, m.source, m.break_glass FROM memberships m
                 JOIN users u ON u.id = m.user_id JOIN workspaces w ON w.id = m.workspace_id
                 WHERE w.name = ?1 ORDER BY u.email",
            )
            .map_err(internal)?;
        let rows = stmt
            .query_map([workspace], |r| {
                Ok(MemberInfo {
                    email: r.get(0)?,
                    role: r.get(1)?,
                    source: r.get(2)?,
                    break_glass: r.get(3)?,
                })
            })
            .map_err(internal)?;
        rows.collect::<Result<_, _>>().map_err(internal)
    }
}
