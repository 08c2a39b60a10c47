//! Applying a tenant file: one transaction; only differences are written and audited, so a
//! second apply of the same file changes nothing and writes no audit entry.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::json;

use crate::access::{BuiltinRole, Scope, ScopeSet};
use crate::admin::groups::GroupKind;
use crate::admin::sso::{self, ClaimRule};
use crate::admin::{ensure_user, scopes_text};
use crate::audit::{self, Actor};
use crate::json_locate::JsonPath;
use crate::platform::{Platform, internal};
use crate::principal::{Email, Principal};
use crate::services::HostError;

use super::{Located, TenantFile, TenantSpec, WorkspaceSpec, ws_path};

/// What an apply changed, one line per change, and what it left alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub changes: Vec<String>,
    /// Workspaces of the organization that the file does not mention (never deleted).
    pub untouched_workspaces: Vec<String>,
}

/// Why an apply did not happen. Nothing is written in either case.
#[derive(Debug)]
pub enum ApplyError {
    /// Problems located in the file.
    Spec(Vec<Located>),
    /// The actor may not, or the store failed.
    Host(HostError),
}

impl From<HostError> for ApplyError {
    fn from(e: HostError) -> Self {
        ApplyError::Host(e)
    }
}

/// Applies `file`. `actor` is `None` for the library's own callers (tests, the harness); a
/// principal must hold `user.write` in every existing workspace of the file, and be an owner
/// of each new one. The CLI never passes `None`: without a principal it uses [`bootstrap`].
pub fn apply(
    platform: &Platform,
    file: &TenantFile,
    actor: Option<&Principal>,
) -> Result<ApplyReport, ApplyError> {
    apply_as(platform, file, actor, false)
}

/// Applies `file` with nobody acting, only while no Owner exists in its organization or in
/// any workspace it names: the one way to start a brand-new tenant (`tenant apply
/// --bootstrap`). Decided inside the applying transaction, so two bootstraps cannot both pass.
pub fn bootstrap(platform: &Platform, file: &TenantFile) -> Result<ApplyReport, ApplyError> {
    apply_as(platform, file, None, true)
}

/// Refuses a bootstrap once someone owns the organization or a workspace of the file.
fn refuse_if_owned(tx: &Transaction<'_>, spec: &super::TenantSpec) -> Result<(), HostError> {
    let owners_in_org: i64 = tx
        .query_row(
            "SELECT count(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
             JOIN organizations o ON o.id = w.org_id WHERE o.name = ?1 AND m.role = 'owner'",
            [&spec.organization],
            |r| r.get(0),
        )
        .map_err(internal)?;
    let mut owned = owners_in_org > 0;
    for ws in &spec.workspaces {
        let owners: i64 = tx
            .query_row(
                "SELECT count(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
                 WHERE w.name = ?1 AND m.role = 'owner'",
                [&ws.name],
                |r| r.get(0),
            )
            .map_err(internal)?;
        owned |= owners > 0;
    }
    if owned {
        return Err(HostError::Denied(
            "--bootstrap only applies a tenant file while nobody owns it; act as an Owner with --as EMAIL"
                .into(),
        ));
    }
    Ok(())
}

fn apply_as(
    platform: &Platform,
    file: &TenantFile,
    actor: Option<&Principal>,
    bootstrap: bool,
) -> Result<ApplyReport, ApplyError> {
    let spec = &file.spec;
    let who = actor.map_or(Actor::Console, Actor::Principal);
    let mut spec_problems = Vec::new();
    let result = platform.write(|tx| {
        if bootstrap {
            refuse_if_owned(tx, spec)?;
        }
        // Decided under the write lock, on current access data (see `Platform::write`).
        if let Some(actor) = actor {
            authorize(platform, tx, spec, actor)?;
        }
        let org = org_id(tx, &spec.organization)?;
        let mut report = ApplyReport::default();
        for (i, ws) in spec.workspaces.iter().enumerate() {
            let mut changes = Changes {
                tx,
                who: &who,
                workspace: &ws.name,
                lines: &mut report.changes,
            };
            match apply_workspace(&mut changes, org, ws, ws_path(i)) {
                Ok(()) => {}
                Err(ApplyError::Spec(p)) => spec_problems.extend(p),
                Err(ApplyError::Host(e)) => return Err(e),
            }
        }
        if !spec_problems.is_empty() {
            // Roll back everything: a bad file applies nothing.
            return Err(HostError::Invalid("tenant file has errors".into()));
        }
        let mut stmt = tx
            .prepare("SELECT name FROM workspaces WHERE org_id = ?1 ORDER BY name")
            .map_err(internal)?;
        let listed: BTreeSet<&str> = spec.workspaces.iter().map(|w| w.name.as_str()).collect();
        report.untouched_workspaces = stmt
            .query_map([org], |r| r.get::<_, String>(0))
            .map_err(internal)?
            .filter_map(Result::ok)
            .filter(|n| !listed.contains(n.as_str()))
            .collect();
        Ok(report)
    });
    match result {
        Ok(report) => Ok(report),
        Err(_) if !spec_problems.is_empty() => Err(ApplyError::Spec(spec_problems)),
        Err(e) => Err(ApplyError::Host(e)),
    }
}

/// Whether `actor` may apply `spec`: `user.write` in every existing workspace of the file, an
/// owner listed in each new one, and an Owner of the organization when adding to it.
fn authorize(
    platform: &Platform,
    tx: &Transaction<'_>,
    spec: &TenantSpec,
    actor: &Principal,
) -> Result<(), HostError> {
    let index = platform.index();
    for ws in &spec.workspaces {
        // To someone with no standing in it, an existing workspace is answered as a missing
        // one would be (SPEC ID-4): the same refusal when the file would not create it, and
        // only "not available" when it would, since names are unique (the one signal left).
        if index.workspace(&ws.name).is_some() && !index.is_outsider(actor, &ws.name) {
            platform.authorize(actor, &ws.name, Scope::UserWrite)?;
            continue;
        }
        let listed = ws.members.iter().any(|m| {
            Some(&m.email).and_then(|e| Email::parse(e).ok()).as_ref() == actor.email()
                && BuiltinRole::parse(&m.role) == Some(BuiltinRole::Owner)
        });
        if !listed {
            return Err(HostError::Denied(format!(
                "{actor} may create workspace `{}` only by listing themself as its owner",
                ws.name
            )));
        }
        if index.workspace(&ws.name).is_some() {
            return Err(name_not_available("workspace", &ws.name));
        }
    }
    // Adding workspaces to an existing organization takes an Owner of that organization
    // (of one of its workspaces): an outsider cannot join it by naming it (SPEC ID-1).
    let existing: Vec<String> = tx
        .prepare("SELECT w.name FROM workspaces w JOIN organizations o ON o.id = w.org_id WHERE o.name = ?1")
        .and_then(|mut stmt| stmt.query_map([&spec.organization], |r| r.get(0))?.collect())
        .map_err(internal)?;
    let owns_one = existing
        .iter()
        .any(|ws| platform.check(actor, ws, Scope::UserWrite).allowed);
    if !existing.is_empty() && !owns_one {
        // A member of the organization learns why; to anyone else it is only a name that is
        // taken, with nothing about who holds it (SPEC ID-4).
        let member = existing.iter().any(|ws| !index.is_outsider(actor, ws));
        if !member {
            return Err(name_not_available("organization", &spec.organization));
        }
        return Err(HostError::Denied(format!(
            "{actor} is not an Owner in organization `{}`",
            spec.organization
        )));
    }
    Ok(())
}

/// A name someone else holds: names are unique across all tenants, so creating one that is
/// taken must fail, and this says no more than that (SPEC ID-4).
fn name_not_available(what: &str, name: &str) -> HostError {
    HostError::Conflict(format!(
        "the {what} name `{name}` is not available; choose another (names are unique across all tenants)"
    ))
}

/// Writes audit entries and report lines for one workspace's changes.
struct Changes<'a, 'tx> {
    tx: &'a Transaction<'tx>,
    who: &'a Actor<'a>,
    workspace: &'a str,
    lines: &'a mut Vec<String>,
}

impl Changes<'_, '_> {
    fn record(
        &mut self,
        action: &str,
        target: &str,
        details: serde_json::Value,
        line: String,
    ) -> Result<(), HostError> {
        audit::record(self.tx, self.who, self.workspace, action, target, details)?;
        self.lines.push(format!("{}: {line}", self.workspace));
        Ok(())
    }
}

fn org_id(tx: &Transaction<'_>, name: &str) -> Result<i64, HostError> {
    tx.execute(
        "INSERT OR IGNORE INTO organizations (name) VALUES (?1)",
        [name],
    )
    .map_err(internal)?;
    tx.query_row(
        "SELECT id FROM organizations WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .map_err(internal)
}

fn apply_workspace(
    c: &mut Changes<'_, '_>,
    org: i64,
    spec: &WorkspaceSpec,
    at: JsonPath,
) -> Result<(), ApplyError> {
    let tx = c.tx;
    let existing: Option<(i64, i64, bool)> = tx
        .query_row(
            "SELECT id, org_id, sso_only FROM workspaces WHERE name = ?1",
            [&spec.name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(internal)?;
    let ws = match existing {
        Some((_, other_org, _)) if other_org != org => {
            return Err(ApplyError::Spec(vec![Located::new(
                at.key("name"),
                format!(
                    "the workspace name `{}` is not available: another organization uses it (names are unique across all tenants)",
                    spec.name
                ),
            )]));
        }
        Some((id, _, sso_only)) => {
            if sso_only != spec.sso_only {
                tx.execute(
                    "UPDATE workspaces SET sso_only = ?2 WHERE id = ?1",
                    params![id, spec.sso_only],
                )
                .map_err(internal)?;
                c.record(
                    "sso.enforce",
                    &spec.name,
                    json!({ "before": sso_only, "after": spec.sso_only }),
                    format!("SSO-only sign-in {}", on_off(spec.sso_only)),
                )?;
            }
            id
        }
        None => {
            tx.execute(
                "INSERT INTO workspaces (org_id, name, sso_only) VALUES (?1, ?2, ?3)",
                params![org, spec.name, spec.sso_only],
            )
            .map_err(internal)?;
            let id = tx.last_insert_rowid();
            c.record(
                "workspace.create",
                &spec.name,
                json!({ "sso_only": spec.sso_only }),
                "workspace created".into(),
            )?;
            id
        }
    };
    apply_idps(c, ws, spec)?;
    apply_roles(c, ws, spec)?;
    apply_members(c, ws, spec)?;
    apply_groups(c, ws, spec, &at)?;
    apply_rules(c, ws, spec)?;
    delete_unlisted_roles(c, ws, spec, &at)?;
    Ok(())
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn strings(tx: &Transaction<'_>, sql: &str, ws: i64) -> Result<BTreeSet<String>, HostError> {
    let mut stmt = tx.prepare(sql).map_err(internal)?;
    let rows = stmt.query_map([ws], |r| r.get(0)).map_err(internal)?;
    rows.collect::<Result<_, _>>().map_err(internal)
}

fn apply_idps(c: &mut Changes<'_, '_>, ws: i64, spec: &WorkspaceSpec) -> Result<(), HostError> {
    let have = strings(c.tx, "SELECT name FROM idps WHERE workspace_id = ?1", ws)?;
    let want: BTreeSet<String> = spec.idps.iter().cloned().collect();
    for idp in want.difference(&have) {
        // An IdP belongs to one organization: logins through it reach only that
        // organization's workspaces (SPEC ID-1, SSO-1).
        let other: Option<String> = c
            .tx
            .query_row(
                "SELECT o.name FROM idps i JOIN workspaces w ON w.id = i.workspace_id
                 JOIN organizations o ON o.id = w.org_id
                 WHERE i.name = ?1 AND o.id != (SELECT org_id FROM workspaces WHERE id = ?2) LIMIT 1",
                params![idp, ws],
                |r| r.get(0),
            )
            .optional()
            .map_err(internal)?;
        if other.is_some() {
            // Say that it is taken, not by whom: the other organization is none of this
            // file's business (SPEC ID-4).
            return Err(HostError::Conflict(format!(
                "IdP `{idp}` cannot be trusted here: it belongs to another organization, and an IdP name belongs to one organization"
            )));
        }
        c.tx.execute(
            "INSERT INTO idps (workspace_id, name) VALUES (?1, ?2)",
            params![ws, idp],
        )
        .map_err(internal)?;
        c.record("sso.idp.add", idp, json!({}), format!("trusts IdP `{idp}`"))?;
    }
    for idp in have.difference(&want) {
        c.tx.execute(
            "DELETE FROM idps WHERE workspace_id = ?1 AND name = ?2",
            params![ws, idp],
        )
        .map_err(internal)?;
        c.record(
            "sso.idp.remove",
            idp,
            json!({}),
            format!("no longer trusts IdP `{idp}`"),
        )?;
    }
    Ok(())
}

fn apply_roles(c: &mut Changes<'_, '_>, ws: i64, spec: &WorkspaceSpec) -> Result<(), HostError> {
    let mut stmt =
        c.tx.prepare("SELECT name, scopes FROM custom_roles WHERE workspace_id = ?1")
            .map_err(internal)?;
    let have: BTreeMap<String, String> = stmt
        .query_map([ws], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    for role in &spec.custom_roles {
        let set =
            ScopeSet::parse(role.scopes.iter().map(String::as_str)).map_err(HostError::Invalid)?;
        let text = scopes_text(set);
        match have.get(&role.name) {
            Some(old) if *old == text => {}
            Some(old) => {
                c.tx.execute(
                    "UPDATE custom_roles SET scopes = ?3 WHERE workspace_id = ?1 AND name = ?2",
                    params![ws, role.name, text],
                )
                .map_err(internal)?;
                c.record(
                    "role.update",
                    &role.name,
                    json!({ "before": old, "after": text }),
                    format!("custom role `{}` scopes changed", role.name),
                )?;
            }
            None => {
                c.tx.execute(
                    "INSERT INTO custom_roles (workspace_id, name, scopes) VALUES (?1, ?2, ?3)",
                    params![ws, role.name, text],
                )
                .map_err(internal)?;
                c.record(
                    "role.create",
                    &role.name,
                    json!({ "scopes": set.names() }),
                    format!("custom role `{}` created", role.name),
                )?;
            }
        }
    }
    Ok(())
}

fn delete_unlisted_roles(
    c: &mut Changes<'_, '_>,
    ws: i64,
    spec: &WorkspaceSpec,
    at: &JsonPath,
) -> Result<(), ApplyError> {
    let have = strings(
        c.tx,
        "SELECT name FROM custom_roles WHERE workspace_id = ?1",
        ws,
    )?;
    for name in have
        .iter()
        .filter(|n| !spec.custom_roles.iter().any(|r| &r.name == *n))
    {
        let users: i64 = c
            .tx
            .query_row(
                "SELECT (SELECT count(*) FROM memberships WHERE workspace_id = ?1 AND role = ?2)
                      + (SELECT count(*) FROM api_keys WHERE workspace_id = ?1 AND role = ?2 AND revoked_at IS NULL)",
                params![ws, name],
                |r| r.get(0),
            )
            .map_err(internal)?;
        if users > 0 {
            return Err(ApplyError::Spec(vec![Located::new(
                at.key("custom_roles"),
                format!(
                    "custom role `{name}` is not listed but is still held by {users} SSO member(s) or key(s)"
                ),
            )]));
        }
        c.tx.execute(
            "DELETE FROM custom_roles WHERE workspace_id = ?1 AND name = ?2",
            params![ws, name],
        )
        .map_err(internal)?;
        c.record(
            "role.delete",
            name,
            json!({}),
            format!("custom role `{name}` deleted"),
        )?;
    }
    Ok(())
}

fn apply_members(c: &mut Changes<'_, '_>, ws: i64, spec: &WorkspaceSpec) -> Result<(), HostError> {
    let tx = c.tx;
    let mut stmt = tx
        .prepare("SELECT u.id, u.email, m.role, m.source, m.break_glass FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ?1")
        .map_err(internal)?;
    let have: BTreeMap<String, (i64, String, String, bool)> = stmt
        .query_map([ws], |r| {
            Ok((
                r.get::<_, String>(1)?,
                (r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?),
            ))
        })
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    let mut listed = BTreeSet::new();
    for m in &spec.members {
        let email = Email::parse(&m.email).map_err(HostError::Invalid)?;
        let role = crate::access::RoleName::parse(&m.role).to_string();
        let want_source = if m.sso { "sso" } else { "invite" };
        listed.insert(email.to_string());
        match have.get(email.as_str()) {
            Some((_, old_role, source, bg))
                if *old_role == role && source == want_source && *bg == m.break_glass => {}
            Some((user, old_role, source, bg)) => {
                tx.execute(
                    "UPDATE memberships SET role = ?3, source = ?5, rule_rank = NULL, break_glass = ?4 WHERE workspace_id = ?1 AND user_id = ?2",
                    params![ws, user, role, m.break_glass, want_source],
                )
                .map_err(internal)?;
                c.record(
                    "user.set_role",
                    email.as_str(),
                    json!({ "before": { "role": old_role, "source": source, "break_glass": bg }, "after": { "role": role, "source": want_source, "break_glass": m.break_glass } }),
                    format!("{email}: `{old_role}` → `{role}`{}", if m.break_glass { " (break-glass)" } else { "" }),
                )?;
            }
            None => {
                let user = ensure_user(tx, &email)?;
                tx.execute(
                    "INSERT INTO memberships (workspace_id, user_id, role, source, break_glass) VALUES (?1, ?2, ?3, ?5, ?4)",
                    params![ws, user, role, m.break_glass, want_source],
                )
                .map_err(internal)?;
                let (action, line) = if m.sso {
                    (
                        "user.provision",
                        format!("{email} provisioned through SSO as `{role}`"),
                    )
                } else {
                    ("user.invite", format!("invited {email} as `{role}`"))
                };
                c.record(
                    action,
                    email.as_str(),
                    json!({ "role": role, "break_glass": m.break_glass, "source": want_source }),
                    line,
                )?;
            }
        }
    }
    // Invited members no longer listed are deleted as `users delete` would (SPEC UA-2);
    // SSO-provisioned members are runtime state and stay.
    for (email, (user, role, source, _)) in &have {
        if source != "invite" || listed.contains(email) {
            continue;
        }
        let parsed = Email::parse(email).map_err(HostError::Invalid)?;
        crate::admin::users::remove_member(tx, ws, *user, &parsed)?;
        c.record(
            "user.delete",
            email,
            json!({ "role": role }),
            format!("removed {email}"),
        )?;
    }
    Ok(())
}

fn apply_groups(
    c: &mut Changes<'_, '_>,
    ws: i64,
    spec: &WorkspaceSpec,
    at: &JsonPath,
) -> Result<(), ApplyError> {
    let tx = c.tx;
    let mut stmt = tx
        .prepare(
            "SELECT id, name, description, kind, claim_value FROM groups WHERE workspace_id = ?1",
        )
        .map_err(internal)?;
    type Row = (i64, String, String, Option<String>);
    let have: BTreeMap<String, Row> = stmt
        .query_map([ws], |r| {
            Ok((
                r.get::<_, String>(1)?,
                (r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?),
            ))
        })
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    for (j, g) in spec.groups.iter().enumerate() {
        let claim_value = match g.kind {
            GroupKind::Dynamic => Some(g.claim_value.clone().unwrap_or_else(|| g.name.clone())),
            GroupKind::Static => None,
        };
        let id = match have.get(&g.name) {
            Some((_, _, kind, _)) if kind != g.kind.as_str() => {
                return Err(ApplyError::Spec(vec![Located::new(
                    at.key("groups").index(j).key("type"),
                    format!(
                        "group `{}` is {kind}; a group's membership type cannot change after creation (SPEC GR-1)",
                        g.name
                    ),
                )]));
            }
            Some((id, description, _, old_claim)) => {
                if *description != g.description || *old_claim != claim_value {
                    tx.execute(
                        "UPDATE groups SET description = ?2, claim_value = ?3 WHERE id = ?1",
                        params![id, g.description, claim_value],
                    )
                    .map_err(internal)?;
                    c.record("group.update", &g.name, json!({ "before": { "description": description, "claim_value": old_claim }, "after": { "description": g.description, "claim_value": claim_value } }), format!("group `{}` details changed", g.name))?;
                }
                *id
            }
            None => {
                tx.execute(
                    "INSERT INTO groups (workspace_id, name, description, kind, claim_value) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![ws, g.name, g.description, g.kind.as_str(), claim_value],
                )
                .map_err(internal)?;
                let id = tx.last_insert_rowid();
                c.record("group.create", &g.name, json!({ "type": g.kind.as_str(), "description": g.description, "claim_value": claim_value }), format!("{} group `{}` created", g.kind.as_str(), g.name))?;
                id
            }
        };
        if g.kind == GroupKind::Static {
            sync_static_members(c, id, &g.name, &g.members)?;
        }
    }
    for (name, (id, _, kind, _)) in &have {
        if !spec.groups.iter().any(|g| &g.name == name) {
            tx.execute("DELETE FROM groups WHERE id = ?1", [id])
                .map_err(internal)?;
            c.record(
                "group.delete",
                name,
                json!({ "type": kind }),
                format!("group `{name}` deleted"),
            )?;
        }
    }
    Ok(())
}

fn sync_static_members(
    c: &mut Changes<'_, '_>,
    group: i64,
    name: &str,
    members: &[String],
) -> Result<(), HostError> {
    // SSO-provisioned members are runtime state, which a file cannot list (SPEC GR-2 admits
    // only its members): their static group memberships stay, as their memberships do.
    let mut stmt =
        c.tx.prepare(
            "SELECT u.email FROM group_members gm JOIN users u ON u.id = gm.user_id
             JOIN groups g ON g.id = gm.group_id
             LEFT JOIN memberships m ON m.user_id = u.id AND m.workspace_id = g.workspace_id
             WHERE gm.group_id = ?1 AND (m.source IS NULL OR m.source != 'sso')",
        )
        .map_err(internal)?;
    let have: BTreeSet<String> = stmt
        .query_map([group], |r| r.get(0))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    let want: BTreeSet<String> = members
        .iter()
        .filter_map(|e| Email::parse(e).ok())
        .map(|e| e.to_string())
        .collect();
    for email in want.difference(&have) {
        let user = ensure_user(c.tx, &Email::parse(email).map_err(HostError::Invalid)?)?;
        c.tx.execute(
            "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2)",
            params![group, user],
        )
        .map_err(internal)?;
        c.record(
            "group.add_member",
            name,
            json!({ "member": email }),
            format!("{email} joined group `{name}`"),
        )?;
    }
    for email in have.difference(&want) {
        c.tx.execute(
            "DELETE FROM group_members WHERE group_id = ?1 AND user_id = (SELECT id FROM users WHERE email = ?2)",
            params![group, email],
        )
        .map_err(internal)?;
        c.record(
            "group.remove_member",
            name,
            json!({ "member": email }),
            format!("{email} left group `{name}`"),
        )?;
    }
    Ok(())
}

fn apply_rules(c: &mut Changes<'_, '_>, ws: i64, spec: &WorkspaceSpec) -> Result<(), HostError> {
    let have = sso::rules(c.tx, ws).map_err(internal)?;
    // Normalized as `sso rules add` stores them, so that applying the file again (or its
    // export) changes nothing.
    let want: Vec<ClaimRule> = spec
        .claim_rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let rule = ClaimRule::new(&r.claim, &r.value, &r.role).map_err(HostError::Invalid)?;
            Ok(ClaimRule {
                rank: i as u32 + 1,
                ..rule
            })
        })
        .collect::<Result<_, HostError>>()?;
    if have == want {
        return Ok(());
    }
    sso::store_rules(c.tx, ws, &want)?;
    c.record(
        "sso.rules.replace",
        &format!("{} rule(s)", want.len()),
        json!({ "before": have, "after": want }),
        format!(
            "claim-mapping rules replaced ({} → {})",
            have.len(),
            want.len()
        ),
    )
}
