//! Owner-only administration (SPEC UA, GR, SSO, RB-2, RB-4): every operation is authorized
//! through the access layer, runs in one transaction and writes its audit entry (SPEC UA-4).

pub mod groups;
pub mod keys;
pub mod roles;
pub mod sso;
pub mod users;

use rusqlite::{OptionalExtension, Transaction, params};

use crate::access::{BuiltinRole, RoleName, ScopeSet};
use crate::platform::internal;
use crate::principal::Email;
use crate::services::HostError;

/// Parses an email argument; the error names it.
pub(crate) fn email(raw: &str) -> Result<Email, HostError> {
    Email::parse(raw).map_err(HostError::Invalid)
}

/// The id of workspace `name`.
pub(crate) fn workspace_id(tx: &Transaction<'_>, name: &str) -> Result<i64, HostError> {
    tx.query_row("SELECT id FROM workspaces WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .map_err(internal)?
    .ok_or_else(|| HostError::NotFound(format!("there is no workspace `{name}`")))
}

/// The id of the user with `email`, if any.
pub(crate) fn user_id(tx: &Transaction<'_>, email: &Email) -> Result<Option<i64>, HostError> {
    tx.query_row(
        "SELECT id FROM users WHERE email = ?1",
        [email.as_str()],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}

/// The id of the user with `email`, created if needed.
pub(crate) fn ensure_user(tx: &Transaction<'_>, email: &Email) -> Result<i64, HostError> {
    if let Some(id) = user_id(tx, email)? {
        return Ok(id);
    }
    tx.execute("INSERT INTO users (email) VALUES (?1)", [email.as_str()])
        .map_err(internal)?;
    Ok(tx.last_insert_rowid())
}

/// The role a member holds in a workspace, if a member.
pub(crate) fn member_role(
    tx: &Transaction<'_>,
    ws: i64,
    user: i64,
) -> Result<Option<RoleName>, HostError> {
    let role: Option<String> = tx
        .query_row(
            "SELECT role FROM memberships WHERE workspace_id = ?1 AND user_id = ?2",
            params![ws, user],
            |r| r.get(0),
        )
        .optional()
        .map_err(internal)?;
    Ok(role.map(|r| RoleName::parse(&r)))
}

/// The user id and role of `email`, who must be a member of workspace `ws`.
pub(crate) fn existing_member(
    tx: &Transaction<'_>,
    ws: i64,
    ws_name: &str,
    email: &Email,
) -> Result<(i64, RoleName), HostError> {
    let not_member = || HostError::NotFound(format!("{email} is not a member of `{ws_name}`"));
    let user = user_id(tx, email)?.ok_or_else(not_member)?;
    let role = member_role(tx, ws, user)?.ok_or_else(not_member)?;
    Ok((user, role))
}

/// Owners of workspace `ws` other than user `except` who can act now (counted in the
/// transaction, not the index): not denied by SSO (SPEC SSO-5), and able to sign in at all —
/// locally unless the workspace is SSO-only, else as a break-glass account or through an SSO
/// login as a member (SSO-4). UA-3 keeps the last *usable* Owner: an Owner nobody can act as
/// leaves the workspace without `user.write` as surely as no Owner.
pub(crate) fn other_usable_owners(
    tx: &Transaction<'_>,
    ws: i64,
    except: i64,
) -> Result<i64, HostError> {
    tx.query_row(
        "SELECT count(*) FROM memberships m
         JOIN users u ON u.id = m.user_id
         JOIN workspaces w ON w.id = m.workspace_id
         LEFT JOIN sso_identities s ON s.workspace_id = m.workspace_id AND s.email = u.email
         WHERE m.workspace_id = ?1 AND m.role = 'owner' AND m.user_id != ?2
           AND (s.outcome IS NULL OR s.outcome != 'denied')
           AND (w.sso_only = 0 OR m.break_glass = 1 OR s.outcome = 'member')",
        params![ws, except],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Resolves `name` to a role that exists in workspace `ws` (built-in, or custom there).
pub(crate) fn existing_role(
    tx: &Transaction<'_>,
    ws: i64,
    ws_name: &str,
    name: &str,
) -> Result<RoleName, HostError> {
    let role = RoleName::parse(name);
    if let RoleName::Custom(custom) = &role {
        if custom.is_empty() {
            return Err(HostError::Invalid("a role name is required".into()));
        }
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM custom_roles WHERE workspace_id = ?1 AND name = ?2)",
                params![ws, &**custom],
                |r| r.get(0),
            )
            .map_err(internal)?;
        if !exists {
            let builtins: Vec<&str> = BuiltinRole::ALL.iter().map(|r| r.name()).collect();
            return Err(HostError::Invalid(format!(
                "there is no role `{custom}` in workspace `{ws_name}` (built-in roles: {}; custom roles are per workspace, SPEC RB-2)",
                builtins.join(", ")
            )));
        }
    }
    Ok(role)
}

/// The scopes of a custom role as stored: space-separated names.
pub(crate) fn scopes_text(scopes: ScopeSet) -> String {
    scopes.names().join(" ")
}
