//! Groups: static (managed by hand) or dynamic (synced from IdP claims) (SPEC GR-1..3).

use serde_json::json;

use crate::Error;
use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::platform::Platform;
use crate::principal::Principal;
use crate::store::Connection;
use crate::text::{MAX_CLAIM_CHARS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, check_len};

pub use super::model::{GroupInfo, GroupKind};
use super::{email, member_role, store, user_id, workspace_id};

pub(crate) use super::store::groups_of;

/// Why a dynamic group's claim value matches no IdP group, if it does not (every door that
/// writes one asks this): blank, as claims compare trimmed (round 16 hostile-input review;
/// absent, it is the group's name), or holding an invisible character (round 17).
pub(crate) fn claim_value_refusal(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return Some(
            "a claim value must not be blank (leave it out to follow the group's name)".into(),
        );
    }
    crate::text::first_hidden(value).map(|c| {
        format!(
            "the claim value holds U+{:04X}, an invisible character no IdP group holds",
            u32::from(c)
        )
    })
}

/// (id, kind) of group `name` in workspace `ws`.
pub(crate) fn group(
    conn: &Connection,
    ws: i64,
    ws_name: &str,
    name: &str,
) -> Result<(i64, GroupKind), Error> {
    let (id, kind) = store::find_group(conn, ws, name)?
        .ok_or_else(|| Error::NotFound(format!("there is no group `{name}` in `{ws_name}`")))?;
    Ok((id, GroupKind::parse(&kind)?))
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
    ) -> Result<(), Error> {
        if name.trim().is_empty() {
            return Err(Error::Invalid("a group needs a name".into()));
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
            check_len(what, value, max).map_err(Error::Invalid)?;
        }
        if let Some(why) = claim_value.and_then(claim_value_refusal) {
            return Err(Error::Invalid(format!("group `{name}`: {why}")));
        }
        // Listed and compared by people: one visible line, as a tenant file's (review).
        crate::text::check_name("a group name", name, MAX_NAME_CHARS).map_err(Error::Invalid)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // Which groups exist, and their names by case, are `user.read`'s to know, as the
            // listing's and `groups add/remove` (round 19 authority review).
            self.authorize(actor, workspace, Scope::UserRead)?;
            let ws = workspace_id(tx, workspace)?;
            if kind == GroupKind::Dynamic && !store::has_idp(tx, ws)? {
                return Err(Error::Invalid(format!(
                    "dynamic group `{name}` needs an IdP configured for `{workspace}` (SPEC GR-3)"
                )));
            }
            let claim_value = match (kind, claim_value) {
                (GroupKind::Dynamic, value) => Some(value.unwrap_or(name)),
                (GroupKind::Static, None) => None,
                // Dropped, it let an Owner believe the IdP would fill the group (hostile-input
                // review); a tenant file refuses it too.
                (GroupKind::Static, Some(_)) => {
                    return Err(Error::Invalid(format!(
                        "static group `{name}` takes no claim value: its members are added by \
                         hand (a dynamic group follows a claim, SPEC GR-3)"
                    )));
                }
            };
            // Names that differ only by case read as one (round 18 hostile-input review), as
            // a tenant file's groups and a workspace's roles.
            if let Some(other) = store::group_alike(tx, ws, name)? {
                return Err(Error::Invalid(format!(
                    "group `{}` differs from group `{other}` only by case: give it a name of \
                     its own",
                    crate::text::clip(name)
                )));
            }
            if !store::insert_group(tx, ws, name, description, kind, claim_value)? {
                return Err(Error::Conflict(format!("group `{name}` already exists in `{workspace}` (names are unique, SPEC GR-1)")));
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
    ) -> Result<(), Error> {
        self.edit_static_group(actor, workspace, group_name, raw_email, true)
    }

    /// Removes a member from a static group; dynamic groups refuse (SPEC GR-3).
    pub(crate) fn remove_group_member(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
        raw_email: &str,
    ) -> Result<(), Error> {
        self.edit_static_group(actor, workspace, group_name, raw_email, false)
    }

    fn edit_static_group(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
        raw_email: &str,
        add: bool,
    ) -> Result<(), Error> {
        let email = email(raw_email)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // "Not a member" is told only to who may read members (round 18 leak review).
            self.authorize(actor, workspace, Scope::UserRead)?;
            let ws = workspace_id(tx, workspace)?;
            let (group_id, kind) = group(tx, ws, workspace, group_name)?;
            if kind == GroupKind::Dynamic {
                return Err(Error::Invalid(format!(
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
                        return Err(Error::Invalid(format!(
                            "{email} is not a member of `{workspace}`; only members can join its groups (SPEC GR-2)"
                        )));
                    };
                    store::join_group(tx, group_id, user)?
                }
                (false, Some(user)) => store::leave_group(tx, group_id, user)?,
                (false, None) => false,
            };
            if !changed {
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
    ) -> Result<(), Error> {
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // Whether it exists, and the memberships it takes with it, are `user.read`'s to
            // know (round 19 authority review: a role that may not read members deleted a
            // group it had never seen).
            self.authorize(actor, workspace, Scope::UserRead)?;
            let ws = workspace_id(tx, workspace)?;
            let (group_id, kind) = group(tx, ws, workspace, group_name)?;
            store::delete_group(tx, group_id)?;
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
    ) -> Result<Vec<GroupInfo>, Error> {
        self.authorize(actor, workspace, Scope::UserRead)?;
        groups_of(self.db()?.conn(), workspace)
    }
}
