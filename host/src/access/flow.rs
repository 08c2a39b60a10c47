//! Interaction Flow access (SPEC IX-1..6): who may see, start and answer an interaction.
//! The settings here are *resolved*: context references (IX-3) have already been turned into
//! emails and role names when the interaction started. The decision is made by
//! [`AccessIndex::check_flow`], on top of the same membership rules as every scope check.

use serde::{Deserialize, Serialize};

use crate::principal::{Email, Principal, SignIn};

use super::index::{AccessIndex, Standing};
pub use super::reason::FlowReason;
use super::reason::Reason;
use super::role::RoleName;
use super::scope::Scope;

/// Which workspace members an Interaction Flow admits (SPEC IX-1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum WorkspaceUsers {
    /// Every member (the default).
    #[default]
    All,
    /// Members listed by email or holding a listed role; Owners always (SPEC IX-2).
    Selected {
        emails: Vec<Email>,
        roles: Vec<String>,
    },
}

/// Which external SSO identities an Interaction Flow admits (SPEC IX-1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ExternalSso {
    /// None (the default).
    #[default]
    None,
    /// Any identity the workspace's IdP admitted as external.
    All,
    /// Only these identities.
    Selected { emails: Vec<Email> },
}

/// The access settings of one Interaction Flow, resolved (SPEC IX-1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowAccess {
    pub workspace_users: WorkspaceUsers,
    pub external_sso: ExternalSso,
}

impl FlowAccess {
    /// The settings as they apply in a workspace the flow was shared to: custom-role
    /// selections do not carry over (SPEC IX-6, SH-2). Returns the dropped role names too.
    pub fn shared(&self) -> (FlowAccess, Vec<String>) {
        let mut out = self.clone();
        let mut dropped = Vec::new();
        if let WorkspaceUsers::Selected { roles, .. } = &mut out.workspace_users {
            roles.retain(|r| {
                let builtin = matches!(RoleName::parse(r), RoleName::Builtin(_));
                if !builtin {
                    dropped.push(r.clone());
                }
                builtin
            });
        }
        (out, dropped)
    }
}

/// An allow/deny answer about an Interaction Flow, with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowDecision {
    pub allowed: bool,
    pub reason: FlowReason,
}

impl FlowDecision {
    fn allow(reason: FlowReason) -> Self {
        Self {
            allowed: true,
            reason,
        }
    }

    fn deny(reason: FlowReason) -> Self {
        Self {
            allowed: false,
            reason,
        }
    }
}

impl AccessIndex {
    /// Whether `principal` may be allowed on any interaction or flow: only a person is
    /// (SPEC IX-7), whatever a flow's settings say; an API key or a run never. A listing
    /// for one that may not reads none of the rows it would refuse every one of (round 27
    /// authority review: a key's list of open interactions read the whole workspace's).
    pub fn may_answer_any(&self, principal: &Principal) -> bool {
        matches!(principal, Principal::User { .. })
    }

    /// May `principal` see and answer an Interaction Flow with settings `access` in
    /// `workspace`? Access = (acting member ∧ workspace-user settings allow) ∨ (external SSO
    /// identity ∧ external settings allow) (SPEC IX-4). Membership and SSO come first: a
    /// listed non-member gets nothing, and nothing overrides an SSO denial (SPEC IX-5).
    pub fn check_flow(
        &self,
        principal: &Principal,
        workspace: &str,
        access: &FlowAccess,
    ) -> FlowDecision {
        let (email, via) = match principal {
            Principal::User { email, via } => (email, *via),
            other => return FlowDecision::deny(FlowReason::NotAPerson(other.to_string())),
        };
        match self.standing(workspace, email, via) {
            Standing::Member { role, scopes } => member(email, role, scopes, access),
            Standing::External(via) => external(email, via, &access.external_sso),
            Standing::Nothing(Reason::NotMember { email, workspace })
                if listed(&access.workspace_users, &email) =>
            {
                FlowDecision::deny(FlowReason::ListedNotMember { email, workspace })
            }
            Standing::Nothing(reason) => FlowDecision::deny(FlowReason::NoStanding(reason)),
        }
    }
}

fn member(
    email: &Email,
    role: RoleName,
    scopes: super::scope::ScopeSet,
    access: &FlowAccess,
) -> FlowDecision {
    let email = email.clone();
    // Interact Only and every ladder role hold `interaction.submit`; a custom role may not.
    if !scopes.contains(Scope::InteractionSubmit) {
        return FlowDecision::deny(FlowReason::NoSubmitScope { email, role });
    }
    match &access.workspace_users {
        WorkspaceUsers::All => FlowDecision::allow(FlowReason::AllMembers { email, role }),
        WorkspaceUsers::Selected { .. } if role.is_owner() => {
            FlowDecision::allow(FlowReason::OwnerAlways { email })
        }
        WorkspaceUsers::Selected { emails, .. } if emails.contains(&email) => {
            FlowDecision::allow(FlowReason::EmailListed { email, role })
        }
        WorkspaceUsers::Selected { roles, .. } if roles.iter().any(|r| role_listed(r, &role)) => {
            FlowDecision::allow(FlowReason::RoleListed { email, role })
        }
        WorkspaceUsers::Selected { .. } => {
            FlowDecision::deny(FlowReason::NotSelected { email, role })
        }
    }
}

/// Whether `listed`, a role named in a flow's access, is the member's `role`: a custom role
/// in any case too, as every other door reads it (round 18 hostile-input review:
/// `"Triage-Analyst"` published, and admitted none of the role's holders). No two custom
/// roles of a workspace differ only by case.
fn role_listed(listed: &str, role: &RoleName) -> bool {
    match role {
        RoleName::Custom(name) => name.eq_ignore_ascii_case(listed),
        RoleName::Builtin(_) => RoleName::parse(listed) == *role,
    }
}

fn external(email: &Email, via: SignIn, settings: &ExternalSso) -> FlowDecision {
    let email = email.clone();
    match settings {
        ExternalSso::None => FlowDecision::deny(FlowReason::ExternalNone { email }),
        _ if via != SignIn::Sso => FlowDecision::deny(FlowReason::ExternalNotViaSso { email }),
        ExternalSso::All => FlowDecision::allow(FlowReason::ExternalAll { email }),
        ExternalSso::Selected { emails } if emails.contains(&email) => {
            FlowDecision::allow(FlowReason::ExternalListed { email })
        }
        ExternalSso::Selected { .. } => FlowDecision::deny(FlowReason::ExternalNotListed { email }),
    }
}

fn listed(users: &WorkspaceUsers, email: &Email) -> bool {
    matches!(users, WorkspaceUsers::Selected { emails, .. } if emails.contains(email))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_drops_custom_roles_and_keeps_emails_and_builtins() {
        let access = FlowAccess {
            workspace_users: WorkspaceUsers::Selected {
                emails: vec![Email::parse("a@x.test").expect("email")],
                roles: vec!["contributor".into(), "tier2-analyst".into()],
            },
            external_sso: ExternalSso::All,
        };
        let (shared, dropped) = access.shared();
        assert_eq!(dropped, ["tier2-analyst"]);
        assert_eq!(
            shared.workspace_users,
            WorkspaceUsers::Selected {
                emails: vec![Email::parse("a@x.test").expect("email")],
                roles: vec!["contributor".into()],
            }
        );
        assert_eq!(shared.external_sso, ExternalSso::All);
    }

    /// A listed role admits its holders whatever its case, a custom role's too (round 18).
    #[test]
    fn a_listed_role_is_read_whatever_its_case() {
        let custom = RoleName::Custom("triage-analyst".into());
        assert!(role_listed("Triage-Analyst", &custom));
        assert!(role_listed("triage-analyst", &custom));
        assert!(!role_listed("triage-analyst2", &custom));
        let operator = RoleName::parse("operator");
        assert!(role_listed("Operator", &operator));
        assert!(!role_listed("triage-analyst", &operator));
    }

    #[test]
    fn settings_round_trip_through_their_stored_form() {
        let access = FlowAccess {
            workspace_users: WorkspaceUsers::Selected {
                emails: vec![Email::parse("A@X.test").expect("email")],
                roles: vec!["owner".into()],
            },
            external_sso: ExternalSso::Selected {
                emails: vec![Email::parse("v@vendor.test").expect("email")],
            },
        };
        let text = serde_json::to_string(&access).expect("serialize");
        let back: FlowAccess = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, access);
    }
}
