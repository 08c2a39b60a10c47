//! Decisions and their reasons, as data (SPEC RB-3): every check says why.

use std::fmt;

use crate::principal::Email;

use super::role::RoleName;
use super::scope::Scope;

/// Why a check came out the way it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A member's role holds the scope.
    Granted { role: RoleName, scope: Scope },
    /// An API key's effective role holds the scope; `owner` for personal keys.
    GrantedToKey {
        key: String,
        owner: Option<Email>,
        role: RoleName,
        scope: Scope,
    },
    /// The role does not hold the scope.
    Missing { role: RoleName, scope: Scope },
    /// No such workspace.
    UnknownWorkspace(String),
    /// No such scope in the catalogue.
    UnknownScope(String),
    /// Nobody is acting.
    Anonymous,
    /// The person is not a member of the workspace (SPEC ID-1).
    NotMember { email: Email, workspace: String },
    /// An external SSO identity holds no scopes (SPEC ID-3).
    External { email: Email, workspace: String },
    /// The person's latest SSO login was denied (SPEC SSO-3, SSO-5).
    SsoDenied { email: Email, workspace: String },
    /// Local sign-in refused: the workspace enforces SSO (SPEC SSO-4).
    SsoOnly { email: Email, workspace: String },
    /// The person claims an SSO sign-in but has no SSO login as a member here.
    NoSsoLogin { email: Email, workspace: String },
    /// No such key.
    UnknownKey(String),
    /// The key was revoked (SPEC RB-4).
    KeyRevoked(String),
    /// The key has expired (SPEC RB-4).
    KeyExpired(String),
    /// The key belongs to another workspace (SPEC ID-1).
    KeyOtherWorkspace { key: String, workspace: String },
    /// A personal key's owner no longer has a role here (SPEC RB-4).
    KeyOwnerGone { key: String, owner: Email },
    /// The role assigned no longer exists in the workspace.
    RoleGone(RoleName),
    /// An access question from someone without a standing in the workspace (SPEC ID-4): the
    /// same words whether the workspace exists or not.
    NoStanding { who: String, workspace: String },
    /// A run's identity holds the scope, but the workflow's publisher does not, now
    /// (SPEC WF-10: a run acts with what both hold).
    PublisherLacks {
        publisher: String,
        reason: Box<Reason>,
    },
}

impl Reason {
    /// The principal has no standing in the workspace asked about (or it does not exist):
    /// such a principal is told nothing more about it (SPEC ID-4).
    pub fn is_outsider(&self) -> bool {
        matches!(
            self,
            Reason::UnknownWorkspace(_)
                | Reason::NotMember { .. }
                | Reason::KeyOtherWorkspace { .. }
                | Reason::UnknownKey(_)
                | Reason::Anonymous
        )
    }
}

/// The one answer for a workspace that is missing or not the asker's (SPEC ID-4).
fn outsider(f: &mut fmt::Formatter<'_>, workspace: &str) -> fmt::Result {
    write!(
        f,
        "there is no workspace `{workspace}` you are a member of (SPEC ID-1, ID-4)"
    )
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Granted { role, scope } => {
                write!(f, "granted by role `{role}`, which includes `{scope}`")
            }
            Reason::GrantedToKey {
                key,
                owner: Some(owner),
                role,
                scope,
            } => write!(
                f,
                "granted to personal key `{key}` through its owner {owner}'s current role `{role}`, which includes `{scope}`"
            ),
            Reason::GrantedToKey {
                key,
                owner: None,
                role,
                scope,
            } => write!(
                f,
                "granted to service key `{key}` by its role `{role}`, which includes `{scope}`"
            ),
            Reason::Missing { role, scope } => {
                write!(
                    f,
                    "role `{role}` does not include `{scope}` (default deny, SPEC RB-3)"
                )
            }
            // An outsider learns nothing (SPEC ID-4): a missing workspace, one the person is not
            // a member of and one the key does not belong to read alike.
            Reason::UnknownWorkspace(workspace)
            | Reason::NotMember { workspace, .. }
            | Reason::KeyOtherWorkspace { workspace, .. } => outsider(f, workspace),
            Reason::UnknownScope(s) => write!(f, "`{s}` is not a known scope (SPEC RB-1)"),
            Reason::Anonymous => f.write_str("no principal is acting (default deny, SPEC RB-3)"),
            Reason::External { email, workspace } => write!(
                f,
                "{email} is an external SSO identity in `{workspace}` and holds no scopes (SPEC ID-3)"
            ),
            Reason::SsoDenied { email, workspace } => write!(
                f,
                "{email} was denied by SSO claim mapping in `{workspace}` (SPEC SSO-3, SSO-5)"
            ),
            Reason::SsoOnly { email, workspace } => write!(
                f,
                "workspace `{workspace}` enforces SSO-only sign-in and {email} is not a break-glass account (SPEC SSO-4)"
            ),
            Reason::NoSsoLogin { email, workspace } => {
                write!(f, "{email} has no SSO login as a member of `{workspace}`")
            }
            Reason::UnknownKey(key) => write!(f, "there is no API key `{key}`"),
            Reason::KeyRevoked(key) => write!(f, "API key `{key}` was revoked (SPEC RB-4)"),
            Reason::KeyExpired(key) => write!(f, "API key `{key}` has expired (SPEC RB-4)"),
            Reason::KeyOwnerGone { key, owner } => write!(
                f,
                "personal key `{key}` acts with its owner's current role, and {owner} has none here (SPEC RB-4)"
            ),
            Reason::RoleGone(role) => write!(f, "role `{role}` no longer exists in this workspace"),
            Reason::NoStanding { who, workspace } => write!(
                f,
                "{who} has no standing in workspace `{workspace}`, and questions about access there are answered only to those who do (default deny, SPEC ID-4)"
            ),
            Reason::PublisherLacks { publisher, reason } => write!(
                f,
                "the run acts with what its publisher {publisher} holds now, and that is denied: {reason} (SPEC WF-10)"
            ),
        }
    }
}

/// An allow/deny answer, each side carrying its reason as data: whether a check allowed
/// something cannot be read apart from why (SPEC RB-3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessDecision {
    /// The principal holds the scope; the reason names the role (and key) granting it.
    Allowed(Reason),
    /// The principal does not; the reason says what is missing (default deny).
    Denied(Reason),
}

impl AccessDecision {
    pub(crate) fn deny(reason: Reason) -> Self {
        Self::Denied(reason)
    }

    /// Whether the check allowed the action.
    pub fn allowed(&self) -> bool {
        matches!(self, Self::Allowed(_))
    }

    /// Why the check came out as it did.
    pub fn reason(&self) -> &Reason {
        match self {
            Self::Allowed(reason) | Self::Denied(reason) => reason,
        }
    }

    /// The reason, consuming the decision.
    pub fn into_reason(self) -> Reason {
        match self {
            Self::Allowed(reason) | Self::Denied(reason) => reason,
        }
    }

    /// `Ok(reason)` when allowed, `Err(reason)` when denied: for `?` and `match`.
    pub fn into_result(self) -> Result<Reason, Reason> {
        match self {
            Self::Allowed(reason) => Ok(reason),
            Self::Denied(reason) => Err(reason),
        }
    }
}

impl From<AccessDecision> for crate::services::Decision {
    /// The WIT door prints the reason (SPEC RB-3): the only place a decision becomes text.
    fn from(d: AccessDecision) -> Self {
        match d {
            AccessDecision::Allowed(reason) => crate::services::Decision::allow(reason.to_string()),
            AccessDecision::Denied(reason) => crate::services::Decision::deny(reason.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // SPEC RB-3: whether a check allowed something is read from the variant that carries the
    // reason, and the WIT door prints that reason unchanged.
    #[test]
    fn allowed_is_the_variant_and_the_door_prints_its_reason() {
        let granted = Reason::Granted {
            role: RoleName::parse("viewer"),
            scope: Scope::CaseRead,
        };
        let missing = Reason::Missing {
            role: RoleName::parse("viewer"),
            scope: Scope::CaseWrite,
        };
        let allowed = AccessDecision::Allowed(granted.clone());
        let denied = AccessDecision::deny(missing.clone());
        assert!(allowed.allowed() && !denied.allowed());
        assert_eq!(allowed.clone().into_result(), Ok(granted.clone()));
        assert_eq!(denied.clone().into_result(), Err(missing.clone()));
        let wit: crate::services::Decision = denied.into();
        assert!(!wit.allowed);
        assert_eq!(
            wit.reason,
            "role `viewer` does not include `case.write` (default deny, SPEC RB-3)"
        );
        let wit: crate::services::Decision = allowed.into();
        assert!(wit.allowed);
        assert_eq!(wit.reason, granted.to_string());
    }
}
