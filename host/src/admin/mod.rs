//! Owner-only administration (SPEC UA, GR, SSO, RB-2, RB-4): every operation is authorized
//! through the access layer, runs in one transaction and writes its audit entry (SPEC UA-4).

pub mod groups;
pub mod keys;
pub mod oidc;
pub mod roles;
pub mod sso;
pub mod users;

mod model;
pub(crate) mod store;

use crate::Error;
use crate::access::{BuiltinRole, RoleName, ScopeSet};
use crate::principal::Email;
use crate::store::Connection;

pub(crate) use store::user_id;

/// Parses an email argument; the error names it.
pub(crate) fn email(raw: &str) -> Result<Email, Error> {
    Email::parse(raw).map_err(Error::Invalid)
}

/// The id of workspace `name`.
pub(crate) fn workspace_id(conn: &Connection, name: &str) -> Result<i64, Error> {
    store::find_workspace(conn, name)?
        .ok_or_else(|| Error::NotFound(format!("there is no workspace `{name}`")))
}

/// The id of the user with `email`, created if needed.
pub(crate) fn ensure_user(conn: &Connection, email: &Email) -> Result<i64, Error> {
    match user_id(conn, email)? {
        Some(id) => Ok(id),
        None => store::insert_user(conn, email),
    }
}

/// The role a member holds in a workspace, if a member.
pub(crate) fn member_role(
    conn: &Connection,
    ws: i64,
    user: i64,
) -> Result<Option<RoleName>, Error> {
    Ok(store::membership(conn, ws, user)?.map(|(role, _)| RoleName::parse(&role)))
}

/// The user id and role of `email`, who must be a member of workspace `ws`.
pub(crate) fn existing_member(
    conn: &Connection,
    ws: i64,
    ws_name: &str,
    email: &Email,
) -> Result<(i64, RoleName), Error> {
    let not_member = || Error::NotFound(format!("{email} is not a member of `{ws_name}`"));
    let user = user_id(conn, email)?.ok_or_else(not_member)?;
    let role = member_role(conn, ws, user)?.ok_or_else(not_member)?;
    Ok((user, role))
}

/// Owners of workspace `ws` other than user `except` who can act now (counted in the
/// transaction, not the index): not denied by SSO (SPEC SSO-5), and able to sign in at all —
/// locally unless the workspace is SSO-only, else as a break-glass account or through an SSO
/// login as a member (SSO-4). UA-3 keeps the last *usable* Owner: an Owner nobody can act as
/// leaves the workspace without `user.write` as surely as no Owner.
pub(crate) fn other_usable_owners(conn: &Connection, ws: i64, except: i64) -> Result<i64, Error> {
    store::other_usable_owners(conn, ws, except)
}

/// Refuses a change that leaves workspace `ws` with no way for an Owner to act (SPEC UA-3),
/// read after the change in its own transaction: no Owner who can act now, and no SSO login
/// that could admit one (a trusted IdP and a claim rule giving a role). SSO-only turned on
/// that way locked the workspace for good (authority review). With such a rule, Owners who
/// have not signed in yet still may: configuring SSO-only before their first login is the
/// usual order.
pub(crate) fn keeps_a_usable_owner(
    conn: &Connection,
    ws: i64,
    workspace: &str,
) -> Result<(), Error> {
    if store::other_usable_owners(conn, ws, -1)? == 0 && !store::sso_could_admit(conn, ws)? {
        return Err(Error::Conflict(format!(
            "`{workspace}` would have no Owner who can sign in: under SSO-only, mark an Owner \
             break-glass or trust an IdP they sign in through (SPEC UA-3, SSO-4)"
        )));
    }
    Ok(())
}

/// Resolves `name` to a role that exists in workspace `ws` (built-in, or custom there), a
/// custom one in any case to its stored spelling: an Interaction Flow's access reads custom
/// roles in any case, as built-in names are read everywhere, and `users invite --role
/// triage-analyst` was refused for `Triage-Analyst` (round 24 doors review). No two custom
/// roles of a workspace differ only by case (`roles::refuse_alike`).
pub(crate) fn existing_role(
    conn: &Connection,
    ws: i64,
    ws_name: &str,
    name: &str,
) -> Result<RoleName, Error> {
    let role = RoleName::parse(name);
    let RoleName::Custom(custom) = &role else {
        return Ok(role);
    };
    if custom.is_empty() {
        return Err(Error::Invalid("a role name is required".into()));
    }
    match stored_role_name(conn, ws, custom)? {
        Some(stored) => Ok(RoleName::Custom(stored.into())),
        None => {
            let builtins: Vec<&str> = BuiltinRole::ALL.iter().map(|r| r.name()).collect();
            Err(Error::Invalid(format!(
                "there is no role `{}` in workspace `{ws_name}` (built-in roles: {}; custom roles are per workspace, SPEC RB-2)",
                crate::text::clip(custom),
                builtins.join(", ")
            )))
        }
    }
}

/// The stored spelling of custom role `name` of workspace `ws`, named in any case, if it
/// exists (see [`existing_role`]).
pub(crate) fn stored_role_name(
    conn: &Connection,
    ws: i64,
    name: &str,
) -> Result<Option<String>, Error> {
    let names = store::custom_role_names(conn, ws)?;
    let exact = names.iter().position(|n| n == name);
    let found = exact.or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)));
    Ok(found.map(|at| names[at].clone()))
}

/// The scopes of a custom role as stored: space-separated names.
pub(crate) fn scopes_text(scopes: ScopeSet) -> String {
    scopes.names().join(" ")
}

/// [`scopes_text`] read back; text the host never wrote is its own failure.
pub(crate) fn stored_scopes(text: &str) -> Result<ScopeSet, Error> {
    ScopeSet::parse(text.split_whitespace()).map_err(Error::Internal)
}

impl crate::platform::Platform {
    /// Refuses, as a denial naming what it lacks, when `actor` would hand out or act on
    /// `scopes` in `workspace` beyond what it holds (`access/grant_power.rs`).
    pub(crate) fn within_power(
        &self,
        actor: &crate::principal::Principal,
        workspace: &str,
        scopes: ScopeSet,
        what: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        self.index()
            .may_grant(actor, workspace, scopes, what)
            .map_err(Error::Denied)
    }

    /// Refuses SSO configuration to anyone without every scope (`access/grant_power.rs`).
    pub(crate) fn may_configure_sso(
        &self,
        actor: &crate::principal::Principal,
        workspace: &str,
    ) -> Result<(), Error> {
        self.index()
            .may_configure_sso(actor, workspace)
            .map_err(Error::Denied)
    }

    /// [`Platform::within_power`] for handing out `role`.
    pub(crate) fn may_hand_out(
        &self,
        actor: &crate::principal::Principal,
        workspace: &str,
        role: &RoleName,
    ) -> Result<(), Error> {
        let scopes = self.index().scopes_of(workspace, role);
        self.within_power(actor, workspace, scopes, || {
            format!("hand out the role `{role}`")
        })
    }

    /// Refuses `what` to anyone without every scope in `workspace`, as the built-in Owner
    /// holds them: for what hands out more than a role's scopes.
    pub(crate) fn holds_every_scope(
        &self,
        actor: &crate::principal::Principal,
        workspace: &str,
        what: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        self.within_power(
            actor,
            workspace,
            ScopeSet::of(crate::access::Scope::ALL),
            what,
        )
    }

    /// The person `actor` acts as: themself, or a personal key's owner.
    pub(crate) fn person_acting(&self, actor: &crate::principal::Principal) -> Option<Email> {
        person_of(&self.index(), actor)
    }

    /// [`Platform::within_power`] for acting on member `email` (changing their role,
    /// deleting them); on oneself, every scope.
    pub(crate) fn may_act_on(
        &self,
        actor: &crate::principal::Principal,
        workspace: &str,
        email: &Email,
        what: &str,
    ) -> Result<(), Error> {
        // Their own role is the Owner's to change (every scope): a role's name is power
        // beyond its scopes, since an interaction may select people by it, so a people-admin
        // who defined a role an approval names and took it answered as the approver
        // (authority review; SPEC UA-1, IX-3). Through a personal key, it is its owner.
        let index = self.index();
        if person_of(&index, actor).as_ref() == Some(email) {
            drop(index);
            return self.holds_every_scope(actor, workspace, || format!("{what} themself"));
        }
        let scopes = index.member_scopes(workspace, email);
        drop(index);
        self.within_power(actor, workspace, scopes, || format!("{what} {email}"))
    }
}

/// The person `actor` acts as in `index`: themself, or a personal key's owner.
pub(crate) fn person_of(
    index: &crate::access::AccessIndex,
    actor: &crate::principal::Principal,
) -> Option<Email> {
    match actor {
        crate::principal::Principal::User { email, .. } => Some(email.clone()),
        crate::principal::Principal::ApiKey(id) => match index.key(id).map(|k| &k.kind) {
            Some(crate::access::KeyKind::Personal { owner }) => Some(owner.clone()),
            _ => None,
        },
        _ => None,
    }
}
