//! Exporting an organization in the tenant-file format; applying the export changes nothing.

use std::collections::BTreeSet;

use rusqlite::Connection;

use crate::admin::groups::groups_of;
use crate::admin::sso;
use crate::platform::internal;
use crate::services::HostError;

use super::{GroupSpec, MemberSpec, RoleSpec, RuleSpec, TenantSpec, WorkspaceSpec};

/// The organization `org` (or the only one, if `None`) as a tenant spec.
pub fn export(conn: &Connection, org: Option<&str>) -> Result<TenantSpec, HostError> {
    let mut stmt = conn
        .prepare("SELECT id, name FROM organizations ORDER BY name")
        .map_err(internal)?;
    let orgs: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    let (org_id, name) = match org {
        Some(want) => orgs
            .into_iter()
            .find(|(_, n)| n == want)
            .ok_or_else(|| HostError::NotFound(format!("there is no organization `{want}`")))?,
        None if orgs.len() == 1 => orgs
            .into_iter()
            .next()
            .ok_or_else(|| HostError::NotFound("no organization".into()))?,
        None => {
            let names: Vec<String> = orgs.into_iter().map(|(_, n)| n).collect();
            return Err(HostError::Invalid(format!(
                "name the organization to export (--org): {}",
                names.join(", ")
            )));
        }
    };
    let mut stmt = conn
        .prepare("SELECT id, name, sso_only FROM workspaces WHERE org_id = ?1 ORDER BY name")
        .map_err(internal)?;
    let workspaces: Vec<(i64, String, bool)> = stmt
        .query_map([org_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    let workspaces = workspaces
        .into_iter()
        .map(|(id, name, sso_only)| workspace(conn, id, name, sso_only))
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    Ok(TenantSpec {
        organization: name,
        workspaces,
    })
}

fn workspace(
    conn: &Connection,
    id: i64,
    name: String,
    sso_only: bool,
) -> rusqlite::Result<WorkspaceSpec> {
    let list = |sql: &str| -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare(sql)?;
        stmt.query_map([id], |r| r.get(0))?.collect()
    };
    let idps = list("SELECT name FROM idps WHERE workspace_id = ?1 ORDER BY name")?;
    let mut stmt = conn
        .prepare("SELECT name, scopes FROM custom_roles WHERE workspace_id = ?1 ORDER BY name")?;
    let custom_roles = stmt
        .query_map([id], |r| {
            let scopes: String = r.get(1)?;
            Ok(RoleSpec {
                name: r.get(0)?,
                scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            })
        })?
        .collect::<Result<_, _>>()?;
    // Invited members, and Owners provisioned through SSO (marked `sso`): other SSO members
    // are runtime state, but without its Owners a workspace would not re-apply (SPEC UA-3).
    let mut stmt = conn.prepare(
        "SELECT u.email, m.role, m.break_glass, m.source = 'sso' FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = ?1 AND (m.source = 'invite' OR m.role = 'owner') ORDER BY u.email",
    )?;
    let members: Vec<MemberSpec> = stmt
        .query_map([id], |r| {
            Ok(MemberSpec {
                email: r.get(0)?,
                role: r.get(1)?,
                break_glass: r.get(2)?,
                sso: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    // Static groups list invited members only: SSO-provisioned members are runtime state,
    // not in the file, and a file's groups may name only its members (SPEC GR-2).
    let invited: BTreeSet<&str> = members
        .iter()
        .filter(|m| !m.sso)
        .map(|m: &MemberSpec| m.email.as_str())
        .collect();
    let groups = groups_of(conn, &name)?
        .into_iter()
        .map(|g| GroupSpec {
            claim_value: g.claim_value,
            members: if g.kind == crate::admin::groups::GroupKind::Static {
                g.members
                    .into_iter()
                    .filter(|e| invited.contains(e.as_str()))
                    .collect()
            } else {
                Vec::new()
            },
            name: g.name,
            description: g.description,
            kind: g.kind,
        })
        .collect();
    let claim_rules = sso::rules(conn, id)?
        .into_iter()
        .map(|r| RuleSpec {
            claim: r.claim,
            value: r.value,
            role: r.role,
        })
        .collect();
    Ok(WorkspaceSpec {
        name,
        sso_only,
        idps,
        custom_roles,
        members,
        groups,
        claim_rules,
    })
}
