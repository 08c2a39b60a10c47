//! [`Admin`]: users, custom roles, groups, API keys and SSO of a workspace (SPEC UA, RB-2,
//! RB-4, GR, SSO). Every change is decided under the write lock by `admin/`, in one
//! transaction, and audited. Two doors establish a principal instead of taking one:
//! `authenticate_key` (a key's secret token) and `sso_login` (claims an IdP presents).

use crate::Error;
use crate::admin::groups::{GroupInfo, GroupKind};
use crate::admin::keys::{CreatedKey, KeyInfo, NewKey};
use crate::admin::oidc::{NewOidc, OidcSettings};
use crate::admin::sso::{ClaimRule, LoginResult};
use crate::admin::users::MemberInfo;
use crate::platform::Platform;
use crate::principal::Principal;

/// Workspace administration over a [`Platform`], each change for an acting principal.
#[derive(Clone, Copy)]
pub struct Admin<'p> {
    platform: &'p Platform,
}

impl<'p> Admin<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// Invites one email with one role (SPEC UA-1).
    pub fn invite_user(
        &self,
        actor: &Principal,
        workspace: &str,
        raw_email: &str,
        role: &str,
    ) -> Result<(), Error> {
        self.platform.invite_user(actor, workspace, raw_email, role)
    }

    /// Deletes a user from the workspace: membership, group memberships and personal keys go;
    /// workflows, case references and audit entries naming them stay (SPEC UA-2). The last
    /// Owner who can act cannot be deleted (SPEC UA-3).
    pub fn delete_user(
        &self,
        actor: &Principal,
        workspace: &str,
        raw_email: &str,
    ) -> Result<(), Error> {
        self.platform.delete_user(actor, workspace, raw_email)
    }

    /// Changes a member's role (SPEC UA-1); the last Owner who can act cannot be demoted
    /// (SPEC UA-3).
    pub fn set_user_role(
        &self,
        actor: &Principal,
        workspace: &str,
        raw_email: &str,
        role: &str,
    ) -> Result<(), Error> {
        self.platform
            .set_user_role(actor, workspace, raw_email, role)
    }

    /// The members of a workspace; needs `user.read`.
    pub fn list_users(&self, actor: &Principal, workspace: &str) -> Result<Vec<MemberInfo>, Error> {
        self.platform.list_users(actor, workspace)
    }

    /// Defines a custom role; only `user.write` holders may (SPEC RB-2).
    pub fn create_role(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        scopes: &[String],
    ) -> Result<(), Error> {
        self.platform.create_role(actor, workspace, name, scopes)
    }

    /// Deletes a custom role that no member or service key holds.
    pub fn delete_role(&self, actor: &Principal, workspace: &str, name: &str) -> Result<(), Error> {
        self.platform.delete_role(actor, workspace, name)
    }

    /// Creates a group; a dynamic one needs an IdP configured for the workspace (SPEC GR-3).
    /// `claim_value` is the IdP group a dynamic group mirrors (default: the group's name).
    pub fn create_group(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        description: &str,
        kind: GroupKind,
        claim_value: Option<&str>,
    ) -> Result<(), Error> {
        self.platform
            .create_group(actor, workspace, name, description, kind, claim_value)
    }

    /// Adds a workspace member to a static group (SPEC GR-2); dynamic groups refuse (GR-3).
    pub fn add_group_member(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
        raw_email: &str,
    ) -> Result<(), Error> {
        self.platform
            .add_group_member(actor, workspace, group_name, raw_email)
    }

    /// Removes a member from a static group; dynamic groups refuse (SPEC GR-3).
    pub fn remove_group_member(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
        raw_email: &str,
    ) -> Result<(), Error> {
        self.platform
            .remove_group_member(actor, workspace, group_name, raw_email)
    }

    /// Deletes a group and its memberships.
    pub fn delete_group(
        &self,
        actor: &Principal,
        workspace: &str,
        group_name: &str,
    ) -> Result<(), Error> {
        self.platform.delete_group(actor, workspace, group_name)
    }

    /// The groups of a workspace with their members; needs `user.read`.
    pub fn list_groups(&self, actor: &Principal, workspace: &str) -> Result<Vec<GroupInfo>, Error> {
        self.platform.list_groups(actor, workspace)
    }

    /// Creates a key in `workspace`. Personal keys need `apikey.write`; service keys need
    /// `user.write` (an Owner chooses their role). `expires_in` is in seconds.
    pub fn create_key(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        kind: NewKey<'_>,
        expires_in: Option<i64>,
    ) -> Result<CreatedKey, Error> {
        self.platform
            .create_key(actor, workspace, name, kind, expires_in)
    }

    /// Revokes a key: its owner (with `apikey.write`) or an Owner may.
    pub fn revoke_key(&self, actor: &Principal, workspace: &str, id: &str) -> Result<(), Error> {
        self.platform.revoke_key(actor, workspace, id)
    }

    /// Keys of `workspace`: all of them for `user.write` holders, else the caller's own
    /// personal keys (needs `apikey.read`).
    pub fn list_keys(&self, actor: &Principal, workspace: &str) -> Result<Vec<KeyInfo>, Error> {
        self.platform.list_keys(actor, workspace)
    }

    /// Authenticates a key token (`fhk_<id>_<secret>`) to the principal it acts as. The
    /// decision about what the key may do is still [`Platform::check`]'s.
    pub fn authenticate_key(&self, token: &str) -> Result<Principal, Error> {
        self.platform.authenticate_key(token)
    }

    /// [`Admin::authenticate_key`], refusing a revoked or expired key as a wrong token (the
    /// HTTP API's bearer check, SPEC SV-1).
    pub fn authenticate_live_key(&self, token: &str) -> Result<Principal, Error> {
        self.platform.authenticate_live_key(token)
    }

    /// Adds a rule at `rank` (default: last), moving later rules down.
    pub fn add_claim_rule(
        &self,
        actor: &Principal,
        workspace: &str,
        rule: ClaimRule,
        rank: Option<u32>,
    ) -> Result<u32, Error> {
        self.platform.add_claim_rule(actor, workspace, rule, rank)
    }

    /// Moves the rule at rank `from` to rank `to` (SPEC SSO-2: re-ranking moves one rule).
    pub fn move_claim_rule(
        &self,
        actor: &Principal,
        workspace: &str,
        from: u32,
        to: u32,
    ) -> Result<(), Error> {
        self.platform.move_claim_rule(actor, workspace, from, to)
    }

    /// Deletes the rule at `rank`, moving later rules up.
    pub fn delete_claim_rule(
        &self,
        actor: &Principal,
        workspace: &str,
        rank: u32,
    ) -> Result<(), Error> {
        self.platform.delete_claim_rule(actor, workspace, rank)
    }

    /// The rules in rank order; needs `user.read`.
    pub fn list_claim_rules(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<ClaimRule>, Error> {
        self.platform.list_claim_rules(actor, workspace)
    }

    /// Turns SSO-only sign-in on or off (SPEC SSO-4).
    pub fn set_sso_only(&self, actor: &Principal, workspace: &str, on: bool) -> Result<(), Error> {
        self.platform.set_sso_only(actor, workspace, on)
    }

    /// An SSO login: `claims` (with an `email` claim) presented by IdP `idp`, applied to every
    /// workspace that trusts it. Returns what happened in each.
    pub fn sso_login(
        &self,
        idp: &str,
        claims: &serde_json::Value,
    ) -> Result<Vec<LoginResult>, Error> {
        self.platform.sso_login(idp, claims)
    }

    /// Sets the OIDC settings of an IdP the workspace trusts (browser sign-in); needs
    /// `user.write`. Audited, without the secret.
    pub fn set_oidc(&self, actor: &Principal, workspace: &str, new: NewOidc) -> Result<(), Error> {
        self.platform.set_oidc(actor, workspace, new)
    }

    /// The OIDC settings of the workspace's IdPs, never a secret; needs `user.read`.
    pub fn oidc_settings(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<OidcSettings>, Error> {
        self.platform.oidc_settings(actor, workspace)
    }

    /// Removes the OIDC settings of `idp`; needs `user.write`. Audited.
    pub fn remove_oidc(&self, actor: &Principal, workspace: &str, idp: &str) -> Result<(), Error> {
        self.platform.remove_oidc(actor, workspace, idp)
    }
}
