//! Inviting, deleting and re-roling workspace users (SPEC UA-1..4).

use serde_json::json;

use crate::Error;
use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::platform::Platform;
use crate::principal::Principal;
use crate::store::Connection;

pub use super::model::MemberInfo;

use super::{
    email, ensure_user, existing_member, existing_role, member_role, other_usable_owners, store,
    workspace_id,
};

/// Removes a membership with what hangs on it: the person's group memberships and personal
/// keys in the workspace (SPEC UA-2). Returns (groups left, keys deleted).
pub(crate) fn remove_member(
    conn: &Connection,
    ws: i64,
    user: i64,
    email: &crate::principal::Email,
) -> Result<(usize, usize), Error> {
    store::delete_member(conn, ws, user, email)
}

/// The refusal of UA-3; Owners denied by SSO or unable to sign in do not count.
fn last_owner(email: &crate::principal::Email, workspace: &str, what: &str) -> Error {
    Error::Conflict(format!(
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
    ) -> Result<(), Error> {
        // An address that enters now: what a mail client brings along is refused.
        let email = crate::principal::Email::parse_new(raw_email).map_err(Error::Invalid)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // Who is a member, and with what role, is told to who may read members: a role
            // holding `user.write` alone learnt it from these answers (round 18 leak review).
            self.authorize(actor, workspace, Scope::UserRead)?;
            let ws = workspace_id(tx, workspace)?;
            let role = existing_role(tx, ws, workspace, role)?;
            self.may_hand_out(actor, workspace, &role)?;
            let user = ensure_user(tx, &email)?;
            if member_role(tx, ws, user)?.is_some() {
                return Err(Error::Conflict(format!(
                    "{email} is already a member of `{workspace}`; use set-role to change the role"
                )));
            }
            if store::idp_made_member(tx, ws, &email)? {
                self.may_configure_sso(actor, workspace)?;
            }
            store::insert_invited_member(tx, ws, user, role.as_str())?;
            store::forget_untrusted_standing(tx, ws, &email)?;
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "user.invite",
                email.as_str(),
                json!({ "role": role.as_str() }),
            )
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
    ) -> Result<(), Error> {
        let email = email(raw_email)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // Who is a member, and with what role, is told to who may read members: a role
            // holding `user.write` alone learnt it from these answers (round 18 leak review).
            self.authorize(actor, workspace, Scope::UserRead)?;
            let ws = workspace_id(tx, workspace)?;
            let (user, role) = existing_member(tx, ws, workspace, &email)?;
            self.may_act_on(actor, workspace, &email, "delete")?;
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
    ) -> Result<(), Error> {
        let email = email(raw_email)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            // Who is a member, and with what role, is told to who may read members: a role
            // holding `user.write` alone learnt it from these answers (round 18 leak review).
            self.authorize(actor, workspace, Scope::UserRead)?;
            let ws = workspace_id(tx, workspace)?;
            let new = existing_role(tx, ws, workspace, role)?;
            let (user, old) = existing_member(tx, ws, workspace, &email)?;
            if old == new {
                return Ok(());
            }
            self.may_act_on(actor, workspace, &email, "change the role of")?;
            self.may_hand_out(actor, workspace, &new)?;
            if old.is_owner() && other_usable_owners(tx, ws, user)? == 0 {
                return Err(last_owner(&email, workspace, "demoted"));
            }
            // A member the claim rules provisioned has the role they give, at each SSO
            // sign-in (SPEC ID-2, SSO-3): changed here, it was put back at their next one,
            // unannounced (round 23 identity review). Refused, saying where it is decided.
            if store::membership(tx, ws, user)?.is_some_and(|(_, source)| source == "sso") {
                return Err(Error::Conflict(format!(
                    "{email}'s role in `{workspace}` follows the SSO claim rules at each SSO \
                     sign-in: change the rules (`sso rules`), or list them in the tenant file \
                     with `\"sso\": false` to set it by hand (SPEC ID-2, SSO-3)"
                )));
            }
            store::set_member_role(tx, ws, user, new.as_str())?;
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
    ) -> Result<Vec<MemberInfo>, Error> {
        self.authorize(actor, workspace, Scope::UserRead)?;
        store::members(self.db()?.conn(), workspace)
    }
}
