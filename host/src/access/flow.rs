//! Interaction Flow access (SPEC IX-1..6): who may see, start and answer an interaction.
//! The settings here are *resolved*: context references (IX-3) have already been turned into
//! emails and role names when the interaction started. The decision is made by
//! [`AccessIndex::check_flow`], on top of the same membership rules as every scope check.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::principal::{Email, Principal, SignIn};

use super::decision::Reason;
use super::index::{AccessIndex, Standing};
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

/// Why a flow decision came out as it did; every variant cites its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowReason {
    /// `workspace_users: all` and the person is an acting member.
    AllMembers { email: Email, role: RoleName },
    /// `selected` always includes the Owner role (SPEC IX-2).
    OwnerAlways { email: Email },
    /// The member is listed by email.
    EmailListed { email: Email, role: RoleName },
    /// The member's role is listed.
    RoleListed { email: Email, role: RoleName },
    /// `external_sso: all` and the person is an external SSO identity.
    ExternalAll { email: Email },
    /// The external SSO identity is listed.
    ExternalListed { email: Email },
    /// The member's role cannot submit interactions at all.
    NoSubmitScope { email: Email, role: RoleName },
    /// `selected`, and neither the email nor the role is listed.
    NotSelected { email: Email, role: RoleName },
    /// Listed by email, but not a member: the list grants nothing (SPEC IX-5).
    ListedNotMember { email: Email, workspace: String },
    /// An external identity, and the flow admits none.
    ExternalNone { email: Email },
    /// An external identity the flow does not list.
    ExternalNotListed { email: Email },
    /// External identities are authenticated by the IdP, so they answer through SSO only.
    ExternalNotViaSso { email: Email },
    /// Interactions are answered by people, not by API keys or nobody.
    NotAPerson(String),
    /// No standing in the workspace (not a member, SSO denial, SSO-only, unknown workspace).
    NoStanding(Reason),
}

impl fmt::Display for FlowReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowReason::AllMembers { email, role } => write!(
                f,
                "workspace users: all, and {email} is a member with role `{role}` (SPEC IX-1, IX-4)"
            ),
            FlowReason::OwnerAlways { email } => write!(
                f,
                "{email} holds the Owner role, which `selected` always includes (SPEC IX-2)"
            ),
            FlowReason::EmailListed { email, role } => write!(
                f,
                "{email} is listed by email and is a member with role `{role}` (SPEC IX-1, IX-4)"
            ),
            FlowReason::RoleListed { email, role } => {
                write!(f, "{email}'s role `{role}` is listed (SPEC IX-1, IX-4)")
            }
            FlowReason::ExternalAll { email } => write!(
                f,
                "external SSO users: all, and {email} is an external SSO identity (SPEC IX-1, IX-4)"
            ),
            FlowReason::ExternalListed { email } => write!(
                f,
                "{email} is an external SSO identity listed by the flow (SPEC IX-1, IX-4)"
            ),
            FlowReason::NoSubmitScope { email, role } => write!(
                f,
                "{email}'s role `{role}` does not include `{}` (SPEC RB-1, RB-3)",
                Scope::InteractionSubmit
            ),
            FlowReason::NotSelected { email, role } => write!(
                f,
                "workspace users: selected, and neither {email} nor role `{role}` is listed (SPEC IX-1)"
            ),
            FlowReason::ListedNotMember { email, workspace } => write!(
                f,
                "{email} is listed by email but is not a member of `{workspace}`, so the list grants nothing (SPEC IX-5)"
            ),
            FlowReason::ExternalNone { email } => write!(
                f,
                "{email} is an external SSO identity and the flow admits none (external SSO users: none, SPEC IX-1)"
            ),
            FlowReason::ExternalNotListed { email } => write!(
                f,
                "{email} is an external SSO identity the flow does not list (SPEC IX-1)"
            ),
            FlowReason::ExternalNotViaSso { email } => write!(
                f,
                "{email} is an external SSO identity and must sign in through SSO (SPEC ID-3)"
            ),
            FlowReason::NotAPerson(who) => write!(
                f,
                "{who} cannot answer: interactions are answered by people (SPEC IX-8)"
            ),
            FlowReason::NoStanding(reason) => write!(f, "{reason}"),
        }
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
        WorkspaceUsers::Selected { roles, .. }
            if roles.iter().any(|r| RoleName::parse(r) == role) =>
        {
            FlowDecision::allow(FlowReason::RoleListed { email, role })
        }
        WorkspaceUsers::Selected { .. } => {
            FlowDecision::deny(FlowReason::NotSelected { email, role })
        }
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
