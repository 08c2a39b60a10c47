//! Built-in roles (SPEC RB-1) and role names as stored.

use std::fmt;
use std::sync::Arc;

use super::scope::{Scope, ScopeSet};

use Scope::*;

const VIEWER: ScopeSet = ScopeSet::of(&[
    PlaybookGet,
    PlaybookList,
    EventRead,
    IntegrationRead,
    CaseRead,
    InteractionSubmit,
]);
const OPERATOR: ScopeSet = VIEWER.union(ScopeSet::of(&[
    PlaybookExecute,
    ApikeyRead,
    ApikeyWrite,
    CaseWrite,
]));
const CREATOR: ScopeSet = OPERATOR.union(ScopeSet::of(&[
    PlaybookWrite,
    IntegrationWrite,
    UserRead,
    SecretWrite,
    InteractionWrite,
]));
const CONTRIBUTOR: ScopeSet = CREATOR.union(ScopeSet::of(&[PlaybookPublish]));
const OWNER: ScopeSet = CONTRIBUTOR.union(ScopeSet::of(&[
    UserWrite,
    SupportWrite,
    AuditRead,
    BypassCaseAccessRestriction,
    ResourceShare,
]));
const INTERACT_ONLY: ScopeSet = ScopeSet::of(&[InteractionSubmit]);

/// A built-in role. The first five form a ladder, each including every scope below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuiltinRole {
    Viewer,
    Operator,
    Creator,
    Contributor,
    Owner,
    /// Not on the ladder: `interaction.submit` alone.
    InteractOnly,
}

impl BuiltinRole {
    /// Every built-in role.
    pub const ALL: [BuiltinRole; 6] = [
        BuiltinRole::Viewer,
        BuiltinRole::Operator,
        BuiltinRole::Creator,
        BuiltinRole::Contributor,
        BuiltinRole::Owner,
        BuiltinRole::InteractOnly,
    ];

    /// The scopes the role grants (SPEC RB-1).
    pub fn scopes(self) -> ScopeSet {
        match self {
            BuiltinRole::Viewer => VIEWER,
            BuiltinRole::Operator => OPERATOR,
            BuiltinRole::Creator => CREATOR,
            BuiltinRole::Contributor => CONTRIBUTOR,
            BuiltinRole::Owner => OWNER,
            BuiltinRole::InteractOnly => INTERACT_ONLY,
        }
    }

    /// The role's name as written in tenant files and on the CLI.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Viewer => "viewer",
            BuiltinRole::Operator => "operator",
            BuiltinRole::Creator => "creator",
            BuiltinRole::Contributor => "contributor",
            BuiltinRole::Owner => "owner",
            BuiltinRole::InteractOnly => "interact-only",
        }
    }

    /// Parses a built-in role name (case-insensitive).
    pub fn parse(name: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// A role as assigned to a member or a service key: built-in, or custom in one workspace.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RoleName {
    Builtin(BuiltinRole),
    /// A custom role of the member's workspace (SPEC RB-2).
    Custom(Arc<str>),
}

/// Whether `name` is shaped as a role's name: 1–64 bytes, no whitespace or control
/// characters (built-in names included).
pub fn is_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl RoleName {
    /// Built-in names win; anything else names a custom role.
    pub fn parse(name: &str) -> RoleName {
        match BuiltinRole::parse(name) {
            Some(b) => RoleName::Builtin(b),
            None => RoleName::Custom(name.trim().into()),
        }
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        match self {
            RoleName::Builtin(b) => b.name(),
            RoleName::Custom(c) => c,
        }
    }

    /// Whether this is the built-in Owner role.
    pub fn is_owner(&self) -> bool {
        matches!(self, RoleName::Builtin(BuiltinRole::Owner))
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_is_cumulative() {
        let ladder = &BuiltinRole::ALL[..5];
        for pair in ladder.windows(2) {
            let (lower, upper) = (pair[0].scopes(), pair[1].scopes());
            assert!(
                lower.iter().all(|s| upper.contains(s)),
                "{:?} ⊄ {:?}",
                pair[0],
                pair[1]
            );
            assert_ne!(lower, upper);
        }
    }

    #[test]
    fn roles_hold_exactly_the_scopes_of_spec_rb_1() {
        let names = |r: BuiltinRole| r.scopes().names();
        assert_eq!(
            names(BuiltinRole::Viewer),
            [
                "playbook.get",
                "playbook.list",
                "event.read",
                "integration.read",
                "case.read",
                "interaction.submit"
            ]
        );
        assert_eq!(names(BuiltinRole::InteractOnly), ["interaction.submit"]);
        let owner = BuiltinRole::Owner.scopes();
        assert_eq!(
            owner.iter().count(),
            Scope::ALL.len(),
            "owner holds the whole catalogue"
        );
        assert!(!BuiltinRole::Contributor.scopes().contains(Scope::UserWrite));
        assert!(
            !BuiltinRole::Operator
                .scopes()
                .contains(Scope::PlaybookWrite)
        );
        assert!(BuiltinRole::Operator.scopes().contains(Scope::CaseWrite));
        assert!(!BuiltinRole::Viewer.scopes().contains(Scope::CaseWrite));
    }

    #[test]
    fn role_names_parse_case_insensitively() {
        assert_eq!(
            RoleName::parse(" Owner "),
            RoleName::Builtin(BuiltinRole::Owner)
        );
        assert_eq!(
            RoleName::parse("Interact-Only"),
            RoleName::Builtin(BuiltinRole::InteractOnly)
        );
        assert_eq!(
            RoleName::parse("ir-analyst"),
            RoleName::Custom("ir-analyst".into())
        );
    }
}
