//! Exporting an organization in the tenant-file format; applying the export changes nothing.

use std::collections::BTreeSet;

use crate::Error;
use crate::admin::groups::groups_of;
use crate::admin::sso;
use crate::store::Connection;

use super::store;
use super::{GroupSpec, MemberSpec, RuleSpec, TenantSpec, WorkspaceSpec};

/// The organization `org` (or the only one, if `None`) as a tenant spec.
pub fn export(conn: &Connection, org: Option<&str>) -> Result<TenantSpec, Error> {
    let orgs = store::organizations(conn)?;
    let (org_id, name) = match org {
        Some(want) => orgs
            .into_iter()
            .find(|(_, n)| n == want)
            .ok_or_else(|| Error::NotFound(format!("there is no organization `{want}`")))?,
        None if orgs.len() == 1 => orgs
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound("no organization".into()))?,
        None => {
            let names: Vec<String> = orgs.into_iter().map(|(_, n)| n).collect();
            return Err(Error::Invalid(format!(
                "name the organization to export (--org): {}",
                names.join(", ")
            )));
        }
    };
    let workspaces = store::org_workspaces(conn, org_id)?
        .into_iter()
        .map(|(id, name, sso_only)| workspace(conn, id, name, sso_only))
        .collect::<Result<_, _>>()?;
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
) -> Result<WorkspaceSpec, Error> {
    let idps = store::idps(conn, id)?.into_iter().collect();
    let custom_roles = store::role_specs(conn, id)?;
    let members = store::listed_members(conn, id)?;
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
