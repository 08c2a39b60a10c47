//! Custom roles: named sets of scopes, per workspace (SPEC RB-2).

use rusqlite::params;
use serde_json::json;

use crate::access::{BuiltinRole, Scope, ScopeSet};
use crate::audit::{self, Actor};
use crate::platform::{Platform, internal};
use crate::principal::Principal;
use crate::services::HostError;

use super::{scopes_text, workspace_id};

/// Checks a custom role name: non-empty, not a built-in name, no whitespace.
pub(crate) fn validate_role_name(name: &str) -> Result<(), HostError> {
    if name.is_empty() || name.chars().any(char::is_whitespace) || name.len() > 64 {
        return Err(HostError::Invalid(format!(
            "`{}` is not a role name (1-64 characters, no spaces)",
            crate::text::clip(name)
        )));
    }
    if BuiltinRole::parse(name).is_some() || name.eq_ignore_ascii_case("external") {
        return Err(HostError::Invalid(format!(
            "`{name}` is a reserved role name"
        )));
    }
    Ok(())
}

impl Platform {
    /// Defines a custom role; only `user.write` holders may (SPEC RB-2).
    pub(crate) fn create_role(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        scopes: &[String],
    ) -> Result<(), HostError> {
        validate_role_name(name)?;
        let set = ScopeSet::parse(scopes.iter().map(String::as_str)).map_err(HostError::Invalid)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO custom_roles (workspace_id, name, scopes) VALUES (?1, ?2, ?3)",
                    params![ws, name, scopes_text(set)],
                )
                .map_err(internal)?;
            if inserted == 0 {
                return Err(HostError::Conflict(format!("role `{name}` already exists in `{workspace}`")));
            }
            audit::record(tx, &Actor::Principal(actor), workspace, "role.create", name, json!({ "scopes": set.names() }))
        })
    }

    /// Deletes a custom role that no member or service key holds.
    pub(crate) fn delete_role(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
    ) -> Result<(), HostError> {
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            let users: i64 = tx
                .query_row(
                    "SELECT (SELECT count(*) FROM memberships WHERE workspace_id = ?1 AND role = ?2)
                          + (SELECT count(*) FROM api_keys WHERE workspace_id = ?1 AND role = ?2 AND revoked_at IS NULL)
                          + (SELECT count(*) FROM claim_rules WHERE workspace_id = ?1 AND role = ?2)",
                    params![ws, name],
                    |r| r.get(0),
                )
                .map_err(internal)?;
            if users > 0 {
                return Err(HostError::Conflict(format!(
                    "role `{name}` is held by {users} member(s), key(s) or claim rule(s) in `{workspace}`; reassign them first"
                )));
            }
            let deleted = tx
                .execute("DELETE FROM custom_roles WHERE workspace_id = ?1 AND name = ?2", params![ws, name])
                .map_err(internal)?;
            if deleted == 0 {
                return Err(HostError::NotFound(format!("there is no custom role `{name}` in `{workspace}`")));
            }
            audit::record(tx, &Actor::Principal(actor), workspace, "role.delete", name, json!({}))
        })
    }
}
