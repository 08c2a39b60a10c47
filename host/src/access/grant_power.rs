//! No one grants more than they hold (SPEC UA-1, RB-2). `user.write` lets its holder manage
//! people, and a custom role may carry it without the rest of the Owner's scopes; what
//! such a holder hands out (a role to a member, a custom role's scopes, a service key's
//! role, a claim rule's role) and whom they act on (changing, deleting or signing in as a
//! member) must be within what they hold. Before, a custom role with `user.write` made its
//! holder an Owner in one command (authority review). An Owner holds every scope, so this
//! never stops one.

use super::index::AccessIndex;
use super::reason::Reason;
use super::role::RoleName;
use super::scope::{Scope, ScopeSet};
use crate::principal::{Email, Principal};

impl AccessIndex {
    /// `Ok` if `actor` holds every scope of `scopes` in `workspace`; otherwise the reason,
    /// naming `what` it was to do and the scopes it lacks.
    pub fn may_grant(
        &self,
        actor: &Principal,
        workspace: &str,
        scopes: ScopeSet,
        what: impl FnOnce() -> String,
    ) -> Result<(), Reason> {
        let held = self.held(actor, workspace);
        let lacking = scopes.without(held);
        if lacking.is_empty() {
            return Ok(());
        }
        // Which scopes a role or a person holds is `user.read`'s to know.
        let named = if held.contains(Scope::UserRead) {
            lacking.names()
        } else {
            vec!["scopes"]
        };
        Err(Reason::BeyondPower {
            actor: actor.to_string(),
            workspace: workspace.to_owned(),
            what: what(),
            lacking: named,
        })
    }

    /// `Ok` if `actor` holds every scope in `workspace`, as the built-in Owner does: SSO
    /// configuration (IdPs, their OIDC settings, claim rules and their order, SSO-only,
    /// break-glass) decides who signs in as whom, so whoever changes it could otherwise hand
    /// out any role, the Owner's included (authority review).
    pub fn may_configure_sso(&self, actor: &Principal, workspace: &str) -> Result<(), Reason> {
        self.may_grant(actor, workspace, ScopeSet::of(Scope::ALL), || {
            "change how people sign in (SSO settings, claim rules, break-glass)".to_owned()
        })
    }

    /// The scopes of `role` in `workspace` (none for a role that does not exist there: the
    /// caller's own check names that).
    pub fn scopes_of(&self, workspace: &str, role: &RoleName) -> ScopeSet {
        self.workspace(workspace)
            .and_then(|ws| ws.role_scopes(role))
            .unwrap_or(ScopeSet::EMPTY)
    }

    /// The scopes member `email` holds by role in `workspace` (none for a non-member).
    pub fn member_scopes(&self, workspace: &str, email: &Email) -> ScopeSet {
        self.workspace(workspace)
            .and_then(|ws| {
                let member = ws.members.get(email.as_str())?;
                ws.role_scopes(&member.role)
            })
            .unwrap_or(ScopeSet::EMPTY)
    }
}
