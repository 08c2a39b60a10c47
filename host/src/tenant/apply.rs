//! Applying a tenant file: one transaction; only differences are written and audited, so a
//! second apply of the same file changes nothing and writes no audit entry.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;

use crate::Error;
use crate::access::Reason;
use crate::access::{BuiltinRole, Scope, ScopeSet};
use crate::admin::groups::GroupKind;
use crate::admin::sso::{self, ClaimRule};
use crate::admin::{ensure_user, scopes_text};
use crate::audit::{self, Actor};
use crate::json_locate::JsonPath;
use crate::platform::Platform;
use crate::principal::{Email, Principal};
use crate::store::Transaction;

use super::store::{self, StoredGroup, StoredMember, StoredWorkspace};
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
    Host(Error),
}

impl From<Error> for ApplyError {
    fn from(e: Error) -> Self {
        ApplyError::Host(e)
    }
}

/// Applies `file`. `actor` is `None` for the library's own set-up (tests, benches, the
/// harness, step tests: a database of their own); a principal must hold `user.write` and
/// `user.read` in every existing workspace of the file, and be an owner of each new one. Doors (the CLI) go
/// through [`Platform::tenant`] instead, which never passes `None`.
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
fn refuse_if_owned(tx: &Transaction<'_>, spec: &super::TenantSpec) -> Result<(), Error> {
    let mut owned = store::owners_in_org(tx, &spec.organization)? > 0;
    for ws in &spec.workspaces {
        owned |= store::owners_in_workspace(tx, &ws.name)? > 0;
    }
    if owned {
        return Err(Error::Denied(Reason::BootstrapOwned));
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
        // Names that differ only by case read as one, an organization's too: a file spelling
        // an existing one otherwise created a second organization beside it (round 18
        // hostile-input review). Not named: another tenant's is none of the file's business.
        if store::organization_alike(tx, &spec.organization)?.is_some() {
            spec_problems.push(Located::new(
                JsonPath::default().key("organization"),
                format!(
                    "the organization name `{}` is not available: another differs from it \
                     only by case (an organization is written as it is stored)",
                    crate::text::clip(&spec.organization)
                ),
            ));
            return Err(Error::Invalid("tenant file has errors".into()));
        }
        if bootstrap {
            refuse_if_owned(tx, spec)?;
        }
        // Decided under the write lock, on current access data (see `Platform::write`).
        if let Some(actor) = actor {
            authorize(platform, tx, spec, actor)?;
        }
        let org = store::ensure_org(tx, &spec.organization)?;
        let mut report = ApplyReport::default();
        for (i, ws) in spec.workspaces.iter().enumerate() {
            let mut changes = Changes {
                tx,
                who: &who,
                workspace: &ws.name,
                lines: &mut report.changes,
                // A workspace the file creates is its creator's to fill (they list themselves
                // its Owner); in one that exists, the actor's power there bounds the file.
                power: actor
                    .filter(|_| platform.index().workspace(&ws.name).is_some())
                    .map(|a| (platform, a)),
            };
            match apply_workspace(&mut changes, org, ws, ws_path(i)) {
                Ok(()) => {}
                Err(ApplyError::Spec(p)) => spec_problems.extend(p),
                Err(ApplyError::Host(e)) => return Err(e),
            }
        }
        if !spec_problems.is_empty() {
            // Roll back everything: a bad file applies nothing.
            return Err(Error::Invalid("tenant file has errors".into()));
        }
        let listed: BTreeSet<&str> = spec.workspaces.iter().map(|w| w.name.as_str()).collect();
        // Only those the actor manages (`user.write`), as `tenant export` holds: the others of
        // the organization are not theirs to learn the names of (SPEC ID-1; leak review).
        let manages = |ws: &str| {
            actor.is_none_or(|actor| platform.check(actor, ws, Scope::UserWrite).allowed())
        };
        report.untouched_workspaces = store::org_workspaces(tx, org)?
            .into_iter()
            .map(|(_, name, _)| name)
            .filter(|n| !listed.contains(n.as_str()) && manages(n))
            .collect();
        Ok(report)
    });
    match result {
        Ok(report) => Ok(report),
        Err(_) if !spec_problems.is_empty() => Err(ApplyError::Spec(spec_problems)),
        Err(e) => Err(ApplyError::Host(e)),
    }
}

/// Whether `actor` may apply `spec`: `user.write` and `user.read` in every existing workspace
/// of the file, an owner listed in each new one, and an Owner of the organization when adding
/// to it.
fn authorize(
    platform: &Platform,
    tx: &Transaction<'_>,
    spec: &TenantSpec,
    actor: &Principal,
) -> Result<(), Error> {
    let index = platform.index();
    for ws in &spec.workspaces {
        // To someone with no standing in it, an existing workspace is answered as a missing
        // one would be (SPEC ID-4): the same refusal when the file would not create it, and
        // only "not available" when it would, since names are unique (the one signal left).
        if index.workspace(&ws.name).is_some() && !index.is_outsider(actor, &ws.name) {
            platform.authorize(actor, &ws.name, Scope::UserWrite)?;
            // A file's members are compared with the workspace's: its report and refusals
            // name them (`may not delete <email>`, roles removed), which `users list`
            // refuses without `user.read`, as `tenant export` does (round 15 leak and
            // authority reviews: an apply enumerated the members).
            platform.authorize(actor, &ws.name, Scope::UserRead)?;
            continue;
        }
        // An actor with no email is listed by no member (two unreadable emails were one:
        // round 18 authority review).
        let listed = ws.members.iter().any(|m| {
            actor
                .email()
                .is_some_and(|me| Email::parse(&m.email).is_ok_and(|e| &e == me))
                && BuiltinRole::parse(&m.role) == Some(BuiltinRole::Owner)
        });
        if !listed {
            return Err(Error::Denied(Reason::NotListedOwner {
                actor: actor.clone(),
                workspace: ws.name.clone(),
            }));
        }
        if index.workspace(&ws.name).is_some() {
            return Err(name_not_available("workspace", &ws.name));
        }
    }
    // Adding workspaces to an existing organization takes an Owner of that organization
    // (every scope in one of its workspaces, as the Owner's other acts do, SPEC UA-1): an
    // outsider cannot join it by naming it (SPEC ID-1), and a people-admin cannot make
    // themselves the Owner of a sibling workspace, one that would outlive their demotion.
    // A file that only changes workspaces that exist takes `user.write` in each (above).
    let existing = store::workspaces_of_org_named(tx, &spec.organization)?;
    let adds_one = spec
        .workspaces
        .iter()
        .any(|ws| index.workspace(&ws.name).is_none());
    let owns_one = existing.iter().any(|ws| {
        if adds_one {
            platform.holds_every_scope(actor, ws, String::new).is_ok()
        } else {
            platform.check(actor, ws, Scope::UserWrite).allowed()
        }
    });
    if !existing.is_empty() && !owns_one {
        // A member of the organization learns why; to anyone else it is only a name that is
        // taken, with nothing about who holds it (SPEC ID-4).
        let member = existing.iter().any(|ws| !index.is_outsider(actor, ws));
        if !member {
            return Err(name_not_available("organization", &spec.organization));
        }
        return Err(Error::Denied(Reason::NotOrgOwner {
            actor: actor.clone(),
            organization: spec.organization.clone(),
        }));
    }
    Ok(())
}

/// A name someone else holds: names are unique across all tenants, so creating one that is
/// taken must fail, and this says no more than that (SPEC ID-4).
fn name_not_available(what: &str, name: &str) -> Error {
    Error::Conflict(format!(
        "the {what} name `{name}` is not available; choose another (names are unique across all tenants)"
    ))
}

/// Writes audit entries and report lines for one workspace's changes.
struct Changes<'a, 'tx> {
    tx: &'a Transaction<'tx>,
    who: &'a Actor<'a>,
    workspace: &'a str,
    lines: &'a mut Vec<String>,
    /// The acting principal and the platform deciding its power; `None` for a bootstrap
    /// (nobody owns the tenant yet).
    power: Option<(&'a Platform, &'a Principal)>,
}

impl Changes<'_, '_> {
    /// What the file hands out or acts on stays within the actor's own power, as through
    /// `users`, `roles`, `keys` and `sso` (`access/grant_power.rs`).
    fn within(&self, scopes: ScopeSet, what: impl FnOnce() -> String) -> Result<(), Error> {
        match self.power {
            Some((platform, actor)) => platform.within_power(actor, self.workspace, scopes, what),
            None => Ok(()),
        }
    }

    /// SSO configuration is for whoever holds every scope (`access/grant_power.rs`).
    fn configures_sso(&self) -> Result<(), Error> {
        match self.power {
            Some((platform, actor)) => platform.may_configure_sso(actor, self.workspace),
            None => Ok(()),
        }
    }

    fn hands_out(&self, role: &crate::access::RoleName) -> Result<(), Error> {
        match self.power {
            Some((platform, actor)) => platform.may_hand_out(actor, self.workspace, role),
            None => Ok(()),
        }
    }

    fn acts_on(&self, email: &Email, what: &str) -> Result<(), Error> {
        match self.power {
            Some((platform, actor)) => platform.may_act_on(actor, self.workspace, email, what),
            None => Ok(()),
        }
    }

    fn record(
        &mut self,
        action: &str,
        target: &str,
        details: serde_json::Value,
        line: String,
    ) -> Result<(), Error> {
        audit::record(self.tx, self.who, self.workspace, action, target, details)?;
        self.lines.push(format!("{}: {line}", self.workspace));
        Ok(())
    }
}

fn apply_workspace(
    c: &mut Changes<'_, '_>,
    org: i64,
    spec: &WorkspaceSpec,
    at: JsonPath,
) -> Result<(), ApplyError> {
    let tx = c.tx;
    let mut usable_owners_before = 0;
    let ws = match store::find_workspace(tx, &spec.name)? {
        Some(StoredWorkspace { org: other_org, .. }) if other_org != org => {
            return Err(ApplyError::Spec(vec![Located::new(
                at.key("name"),
                format!(
                    "the workspace name `{}` is not available: another organization uses it (names are unique across all tenants)",
                    spec.name
                ),
            )]));
        }
        Some(StoredWorkspace { id, sso_only, .. }) => {
            usable_owners_before = crate::admin::other_usable_owners(tx, id, -1)?;
            if sso_only != spec.sso_only {
                c.configures_sso()?;
                store::set_sso_only(tx, id, spec.sso_only)?;
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
            // Names that differ only by case read as one (`SOC`, `soc`) on pages and in
            // commands: a new one is refused beside another's (hostile-input review). Those
            // created before are left as they are.
            if let Some(c) = crate::text::first_hidden(&spec.name) {
                return Err(ApplyError::Spec(vec![Located::new(
                    at.key("name"),
                    format!(
                        "a new workspace's name holds U+{:04X}, an invisible character",
                        u32::from(c)
                    ),
                )]));
            }
            // A path's `.` or `..` in the API's and the sign-in's addresses: clients resolve
            // them away, so no address could name it (round 22 input review; as a workflow's).
            if is_dot_segment(&spec.name) {
                return Err(ApplyError::Spec(vec![Located::new(
                    at.key("name"),
                    format!(
                        "a new workspace's name `{}` is a path's `.` or `..`, which no address \
                         can name",
                        spec.name.trim()
                    ),
                )]));
            }
            if store::workspace_alike(tx, &spec.name)?.is_some() {
                return Err(ApplyError::Spec(vec![Located::new(
                    at.key("name"),
                    format!(
                        "the workspace name `{}` is not available: another differs from it \
                         only by case",
                        spec.name
                    ),
                )]));
            }
            let id = store::insert_workspace(tx, org, &spec.name, spec.sso_only)?;
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
    apply_roles(c, ws, spec, &at)?;
    apply_members(c, ws, spec, &at)?;
    apply_groups(c, ws, spec, &at)?;
    apply_rules(c, ws, spec)?;
    // Under SSO-only, a workspace keeps a way in for an Owner as the file leaves it (its
    // Owners, break-glass flags, IdPs and rules), as `sso enforce on` checks (UA-3); a new one
    // too (round 20 identity review: one created SSO-only without it was locked for good).
    if spec.sso_only {
        // Local sign-ins end there but for break-glass members, as `sso enforce on` ends them.
        crate::admin::store::end_local_sessions_under_sso_only(c.tx, ws)?;
    }
    if spec.sso_only {
        crate::admin::keeps_a_usable_owner(c.tx, ws, c.workspace)?;
    } else if usable_owners_before > 0 && crate::admin::other_usable_owners(c.tx, ws, -1)? == 0 {
        // Elsewhere the file may no more remove or demote the last Owner who can act than
        // `users delete` or `set-role` may (UA-3): the Owners it lists may all be denied by SSO.
        return Err(Error::Conflict(format!(
            "`{}` would have no Owner who can act (every Owner the file lists is denied by SSO): keep an Owner who can (SPEC UA-3)",
            spec.name
        ))
        .into());
    }
    delete_unlisted_roles(c, ws, spec, &at)?;
    Ok(())
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// Whether `name` is a URL path's `.` or `..` segment, which clients resolve away.
fn is_dot_segment(name: &str) -> bool {
    matches!(name.trim(), "." | "..")
}

fn apply_idps(c: &mut Changes<'_, '_>, ws: i64, spec: &WorkspaceSpec) -> Result<(), Error> {
    let have = store::idps(c.tx, ws)?;
    let want: BTreeSet<String> = spec.idps.iter().cloned().collect();
    if want != have {
        c.configures_sso()?;
    }
    for idp in want.difference(&have) {
        // Names that differ only by case read as one: a file respelling a trusted IdP so
        // removed it, every member it provisioned and their keys, and trusted a new one
        // (round 17 hostile-input review). Refused before anything is changed.
        // Its name is a segment of its sign-in and redirect addresses, as a workspace's.
        if is_dot_segment(idp) {
            return Err(Error::Invalid(format!(
                "workspace `{}`: IdP `{}` is a path's `.` or `..`, which no address can name",
                spec.name,
                idp.trim()
            )));
        }
        let folded = idp.to_lowercase();
        if let Some(other) = have
            .iter()
            .chain(want.iter().filter(|w| *w != idp))
            .find(|other| other.to_lowercase() == folded)
        {
            return Err(Error::Invalid(format!(
                "workspace `{}`: IdP `{idp}` differs from IdP `{other}` only by case; write \
                 the name as it is trusted",
                spec.name
            )));
        }
        // An IdP belongs to one organization: logins through it reach only that
        // organization's workspaces (SPEC ID-1, SSO-1).
        if store::idp_elsewhere(c.tx, idp, ws)?.is_some() {
            // Say that it is taken, not by whom: the other organization is none of this
            // file's business (SPEC ID-4).
            return Err(Error::Conflict(format!(
                "IdP `{idp}` cannot be trusted here: it belongs to another organization, and an IdP name belongs to one organization"
            )));
        }
        store::insert_idp(c.tx, ws, idp)?;
        c.record("sso.idp.add", idp, json!({}), format!("trusts IdP `{idp}`"))?;
    }
    for idp in have.difference(&want) {
        // The members its logins provisioned go with it: their role was the IdP's claims',
        // which no login can ever check again (SSO-3; authority review: they kept it for
        // good, an Owner's included). UA-3 is checked on the result, as the file leaves it.
        for (user, email) in store::members_through_idp(c.tx, ws, idp)? {
            let parsed = Email::parse(&email).map_err(Error::Invalid)?;
            // One the file lists as invited stays, as the file says (with their keys and
            // groups); one it lists as provisioned through SSO would keep the role only the
            // untrusted IdP's claims gave (review): the file must say which.
            let listed = spec
                .members
                .iter()
                .find(|m| Email::parse(&m.email).is_ok_and(|listed| listed == parsed));
            match listed {
                Some(m) if m.sso => {
                    return Err(Error::Conflict(format!(
                        "{email} is listed as provisioned through SSO, by IdP `{idp}`, which \
                         the file no longer trusts: list them as invited (`\"sso\": false`) or \
                         leave them out"
                    )));
                }
                Some(_) => continue,
                None => {}
            }
            // What went with the membership is told, as `users delete` tells it (SPEC UA-4;
            // round 26 identity review).
            let (groups, keys) = crate::admin::users::remove_member(c.tx, ws, user, &parsed)?;
            c.record(
                "user.delete",
                &email,
                json!({ "idp": idp, "groups_left": groups, "personal_keys_deleted": keys }),
                format!("removed {email}, provisioned through IdP `{idp}`"),
            )?;
        }
        store::delete_idp(c.tx, ws, idp)?;
        c.record(
            "sso.idp.remove",
            idp,
            json!({}),
            format!("no longer trusts IdP `{idp}`"),
        )?;
    }
    Ok(())
}

fn apply_roles(
    c: &mut Changes<'_, '_>,
    ws: i64,
    spec: &WorkspaceSpec,
    at: &JsonPath,
) -> Result<(), ApplyError> {
    let have = store::custom_roles(c.tx, ws)?;
    for (j, role) in spec.custom_roles.iter().enumerate() {
        let set =
            ScopeSet::parse(role.scopes.iter().map(String::as_str)).map_err(Error::Invalid)?;
        let text = scopes_text(set);
        if have.get(&role.name) != Some(&text) {
            // Both what it grants now and what it granted (redefining a role acts on whoever
            // holds it).
            let before = match have.get(&role.name) {
                Some(old) => crate::admin::stored_scopes(old)?,
                None => ScopeSet::EMPTY,
            };
            c.within(set.union(before), || {
                format!("define the role `{}`", role.name)
            })?;
            // A service key's role is chosen by an Owner, and so is the role a claim rule
            // gives (RB-4, SSO-1): widened within a people-admin's power, the key they hold
            // kept it after their demotion (authority review).
            // Narrowing it takes nothing from the Owner (an incident's revocation).
            if have.contains_key(&role.name)
                && !set.without(before).is_empty()
                && crate::admin::store::role_held_by_key_or_rule(c.tx, ws, &role.name)?
            {
                c.configures_sso()?;
            }
        }
        match have.get(&role.name) {
            Some(old) if *old == text => {}
            Some(old) => {
                store::set_role_scopes(c.tx, ws, &role.name, &text)?;
                c.record(
                    "role.update",
                    &role.name,
                    json!({ "before": old, "after": text }),
                    format!("custom role `{}` scopes changed", role.name),
                )?;
            }
            None => {
                // Said where the file names it (a role respelt by case was refused unlocated).
                crate::admin::roles::validate_new_role_name(&role.name)
                    .and_then(|()| crate::admin::roles::refuse_alike(c.tx, ws, &role.name))
                    .map_err(|e| match e {
                        Error::Invalid(why) => ApplyError::Spec(vec![Located::new(
                            at.key("custom_roles").index(j).key("name"),
                            why,
                        )]),
                        e => ApplyError::Host(e),
                    })?;
                store::insert_role(c.tx, ws, &role.name, &text)?;
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
    let have = store::custom_roles(c.tx, ws)?;
    for (name, scopes) in have
        .iter()
        .filter(|(n, _)| !spec.custom_roles.iter().any(|r| &r.name == *n))
    {
        // Deleting a role acts on what it granted, as redefining it does: a role an approval
        // names, deleted and made again within a people-admin's power, went to whom they
        // chose (authority review).
        let granted = crate::admin::stored_scopes(scopes)?;
        c.within(granted, || format!("delete the role `{name}`"))?;
        let users = store::role_holders(c.tx, ws, name)?;
        if users > 0 {
            return Err(ApplyError::Spec(vec![Located::new(
                at.key("custom_roles"),
                format!(
                    "custom role `{name}` is not listed but is still held by {users} SSO member(s) or key(s)"
                ),
            )]));
        }
        store::delete_role(c.tx, ws, name)?;
        c.record(
            "role.delete",
            name,
            json!({}),
            format!("custom role `{name}` deleted"),
        )?;
    }
    Ok(())
}

fn apply_members(
    c: &mut Changes<'_, '_>,
    ws: i64,
    spec: &WorkspaceSpec,
    at: &JsonPath,
) -> Result<(), ApplyError> {
    let tx = c.tx;
    let have = store::members(tx, ws)?;
    let mut listed = BTreeSet::new();
    for (i, m) in spec.members.iter().enumerate() {
        let email = Email::parse(&m.email).map_err(Error::Invalid)?;
        let role = stored_role(tx, ws, &m.role)?;
        let want_source = if m.sso { "sso" } else { "invite" };
        listed.insert(email.to_string());
        match have.get(email.as_str()) {
            Some(StoredMember {
                role: old_role,
                source,
                break_glass: bg,
                ..
            }) if *old_role == role && source == want_source && *bg == m.break_glass => {}
            Some(StoredMember {
                user,
                role: old_role,
                source,
                break_glass: bg,
            }) => {
                // A member the claim rules provisioned, listed as theirs (`sso`) with another
                // role: the rules decide it, and put it back at their next SSO sign-in, so
                // each apply of the file flipped it again, as `users set-role` did before it
                // was refused (round 24 credentials review). Left as the rules made it, and
                // said so; the rest of the file applies (a file exported before the IdP moved
                // them still applies). `"sso": false` sets it by hand.
                let role = if source == "sso" && want_source == "sso" && *old_role != role {
                    c.lines.push(format!(
                        "{}: {email}: the role follows the SSO claim rules (`{old_role}`), not \
                         this file's `{role}`; list them with \"sso\": false to set it by hand",
                        c.workspace
                    ));
                    old_role.clone()
                } else {
                    role
                };
                if role == *old_role && source == want_source && *bg == m.break_glass {
                    continue;
                }
                c.acts_on(&email, "change")?;
                c.hands_out(&crate::access::RoleName::parse(&role))?;
                // Whether the IdP's claims decide a member's role (`sso`) or an invitation
                // does is SSO configuration: an invited member made `sso` took the role the
                // claim rules give at the next sign-in, an Owner's among them (authority
                // review; SPEC UA-1, SSO-3).
                if *bg != m.break_glass || source != want_source {
                    c.configures_sso()?;
                }
                store::set_member(tx, ws, *user, &role, m.break_glass, want_source)?;
                c.record(
                    "user.set_role",
                    email.as_str(),
                    json!({ "before": { "role": old_role, "source": source, "break_glass": bg }, "after": { "role": role, "source": want_source, "break_glass": m.break_glass } }),
                    format!("{email}: `{old_role}` → `{role}`{}", if m.break_glass { " (break-glass)" } else { "" }),
                )?;
            }
            None => {
                // A member that enters now, invited or SSO: what a mail client brings along
                // is refused, as an IdP's first sign-in refuses it (one stored before reads
                // and is listed as it was; an SSO one listed here was then taken from the
                // IdP as known: round 22 identity review).
                if let Err(e) = Email::parse_new(&m.email) {
                    let field = at.key("members").index(i).key("email");
                    return Err(ApplyError::Spec(vec![Located::new(field, e)]));
                }
                c.hands_out(&crate::access::RoleName::parse(&role))?;
                // Listed by hand, one an IdP made a member is taken off its claim rules
                // (`admin::store::idp_made_member`).
                if m.break_glass || m.sso || crate::admin::store::idp_made_member(tx, ws, &email)? {
                    c.configures_sso()?;
                }
                let user = ensure_user(tx, &email)?;
                store::insert_member(tx, ws, user, &role, m.break_glass, want_source)?;
                crate::admin::store::forget_untrusted_standing(tx, ws, &email)?;
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
    for (
        email,
        StoredMember {
            user, role, source, ..
        },
    ) in &have
    {
        if source != "invite" || listed.contains(email) {
            continue;
        }
        let parsed = Email::parse(email).map_err(Error::Invalid)?;
        c.acts_on(&parsed, "delete")?;
        let (groups, keys) = crate::admin::users::remove_member(tx, ws, *user, &parsed)?;
        c.record(
            "user.delete",
            email,
            json!({ "role": role, "groups_left": groups, "personal_keys_deleted": keys }),
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
    let have = store::groups(tx, ws)?;
    // Names that differ only by case read as one: a file respelling a group deleted it and
    // created another, its SSO and static memberships lost (round 18 hostile-input review).
    // Refused before any group is changed.
    for (j, g) in spec.groups.iter().enumerate() {
        // One stored as written stands, whatever was created beside it before.
        if have.contains_key(&g.name) {
            continue;
        }
        // Folded by ASCII, as `groups create` and roles fold them.
        let other = have
            .keys()
            .filter(|name| **name != g.name)
            .chain(
                spec.groups
                    .iter()
                    .map(|o| &o.name)
                    .filter(|name| **name != g.name),
            )
            .find(|name| name.eq_ignore_ascii_case(&g.name));
        if let Some(other) = other {
            return Err(ApplyError::Spec(vec![Located::new(
                at.key("groups").index(j).key("name"),
                format!(
                    "group `{}` differs from group `{}` only by case; write the name as it is \
                     stored",
                    crate::text::clip(&g.name),
                    crate::text::clip(other)
                ),
            )]));
        }
    }
    for (j, g) in spec.groups.iter().enumerate() {
        let claim_value = match g.kind {
            GroupKind::Dynamic => Some(g.claim_value.clone().unwrap_or_else(|| g.name.clone())),
            GroupKind::Static => None,
        };
        let id = match have.get(&g.name) {
            Some(StoredGroup { kind, .. }) if kind != g.kind.as_str() => {
                return Err(ApplyError::Spec(vec![Located::new(
                    at.key("groups").index(j).key("type"),
                    format!(
                        "group `{}` is {kind}; a group's membership type cannot change after creation (SPEC GR-1)",
                        g.name
                    ),
                )]));
            }
            Some(StoredGroup {
                id,
                description,
                claim_value: old_claim,
                ..
            }) => {
                if *description != g.description || *old_claim != claim_value {
                    store::update_group(tx, *id, &g.description, claim_value.as_deref())?;
                    c.record("group.update", &g.name, json!({ "before": { "description": description, "claim_value": old_claim }, "after": { "description": g.description, "claim_value": claim_value } }), format!("group `{}` details changed", g.name))?;
                }
                *id
            }
            None => {
                let id = store::insert_group(
                    tx,
                    ws,
                    &g.name,
                    &g.description,
                    g.kind,
                    claim_value.as_deref(),
                )?;
                c.record("group.create", &g.name, json!({ "type": g.kind.as_str(), "description": g.description, "claim_value": claim_value }), format!("{} group `{}` created", g.kind.as_str(), g.name))?;
                id
            }
        };
        if g.kind == GroupKind::Static {
            sync_static_members(c, id, &g.name, &g.members)?;
        }
    }
    for (name, StoredGroup { id, kind, .. }) in &have {
        if !spec.groups.iter().any(|g| &g.name == name) {
            store::delete_group(tx, *id)?;
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
) -> Result<(), Error> {
    // SSO-provisioned members are runtime state, which a file cannot list (SPEC GR-2 admits
    // only its members): their static group memberships stay, as their memberships do.
    let have = store::listed_group_members(c.tx, group)?;
    let want: BTreeSet<String> = members
        .iter()
        .filter_map(|e| Email::parse(e).ok())
        .map(|e| e.to_string())
        .collect();
    for email in want.difference(&have) {
        let user = ensure_user(c.tx, &Email::parse(email).map_err(Error::Invalid)?)?;
        store::add_group_member(c.tx, group, user)?;
        c.record(
            "group.add_member",
            name,
            json!({ "member": email }),
            format!("{email} joined group `{name}`"),
        )?;
    }
    for email in have.difference(&want) {
        store::remove_group_member(c.tx, group, email)?;
        c.record(
            "group.remove_member",
            name,
            json!({ "member": email }),
            format!("{email} left group `{name}`"),
        )?;
    }
    Ok(())
}

/// The role `name` as it is stored in workspace `ws`: a custom one named in any case in its
/// stored spelling (the file's own roles are applied first), a built-in by its name, as
/// every other door names them (round 24 doors review).
fn stored_role(tx: &Transaction<'_>, ws: i64, name: &str) -> Result<String, Error> {
    Ok(match crate::access::RoleName::parse(name) {
        crate::access::RoleName::Custom(custom) => {
            crate::admin::stored_role_name(tx, ws, &custom)?.unwrap_or_else(|| custom.to_string())
        }
        builtin => builtin.to_string(),
    })
}

fn apply_rules(c: &mut Changes<'_, '_>, ws: i64, spec: &WorkspaceSpec) -> Result<(), Error> {
    let have = sso::rules(c.tx, ws)?;
    // A rule's role as `sso rules add` stores it now: its canonical name.
    let role_of = |role: &str| match role {
        external if crate::admin::sso::is_external(external) => {
            Ok(crate::admin::sso::EXTERNAL.to_owned())
        }
        named => stored_role(c.tx, ws, named),
    };
    // Normalized as `sso rules add` stores them, so that applying the file again (or its
    // export) changes nothing.
    let want: Vec<ClaimRule> = spec
        .claim_rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let rule = ClaimRule::new(&r.claim, &r.value, &r.role).map_err(Error::Invalid)?;
            Ok(ClaimRule {
                rank: i as u32 + 1,
                role: role_of(&rule.role)?,
                ..rule
            })
        })
        .collect::<Result<_, Error>>()?;
    // Rules stored before roles were stored by their canonical names (`Owner`, round 24)
    // are compared as they would be stored now: the same file applied again changes nothing,
    // asks for no SSO rights and writes no audit entry (round 25 review of round 24).
    let mut unchanged = have.len() == want.len();
    for (h, w) in have.iter().zip(&want) {
        unchanged &= ClaimRule {
            role: role_of(&h.role)?,
            ..h.clone()
        } == *w;
    }
    if unchanged {
        return Ok(());
    }
    c.configures_sso()?;
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
