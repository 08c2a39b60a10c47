//! The scope catalogue (SPEC RB-1) and sets of scopes as bitmasks.

use std::fmt;

macro_rules! scopes {
    ($($variant:ident => $name:literal,)*) => {
        /// One permission within a workspace (SPEC RB-1).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Scope {
            $($variant,)*
        }

        impl Scope {
            /// Every scope, in catalogue order.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant,)*];

            /// The scope's name, e.g. `case.read`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Scope::$variant => $name,)*
                }
            }

            /// Parses a scope name; an unknown name is `None` (SPEC RB-2: an error to the caller).
            pub fn parse(name: &str) -> Option<Scope> {
                match name {
                    $($name => Some(Scope::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

scopes! {
    PlaybookGet => "playbook.get",
    PlaybookList => "playbook.list",
    EventRead => "event.read",
    IntegrationRead => "integration.read",
    CaseRead => "case.read",
    InteractionSubmit => "interaction.submit",
    PlaybookExecute => "playbook.execute",
    ApikeyRead => "apikey.read",
    ApikeyWrite => "apikey.write",
    CaseWrite => "case.write",
    PlaybookWrite => "playbook.write",
    IntegrationWrite => "integration.write",
    UserRead => "user.read",
    SecretWrite => "secret.write",
    InteractionWrite => "interaction.write",
    PlaybookPublish => "playbook.publish",
    UserWrite => "user.write",
    SupportWrite => "support.write",
    AuditRead => "audit.read",
    BypassCaseAccessRestriction => "bypass.case.access.restriction",
    ResourceShare => "resource.share",
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of scopes; membership is one bit test.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u32);

impl ScopeSet {
    /// The empty set.
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// The set of `scopes`.
    pub const fn of(scopes: &[Scope]) -> ScopeSet {
        let mut bits = 0;
        let mut i = 0;
        while i < scopes.len() {
            bits |= 1 << scopes[i] as u32;
            i += 1;
        }
        ScopeSet(bits)
    }

    /// Whether `scope` is in the set.
    #[inline]
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & (1 << scope as u32) != 0
    }

    /// The union of two sets.
    pub const fn union(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 | other.0)
    }

    /// The scopes of this set that `other` lacks.
    pub const fn without(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & !other.0)
    }

    /// Whether the set holds no scope.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in the set, in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .iter()
            .copied()
            .filter(move |s| self.contains(*s))
    }

    /// Parses scope names; the first unknown one is the error (SPEC RB-2).
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<ScopeSet, String> {
        let mut set = ScopeSet::EMPTY;
        for raw in names {
            // Trimmed: `--scopes "case.read, case.write"` names two scopes (issue 13 item 8).
            let name = raw.trim();
            let scope = Scope::parse(name)
                .ok_or_else(|| format!("unknown scope `{}`", crate::text::clip(name)))?;
            set = set.union(ScopeSet::of(&[scope]));
        }
        Ok(set)
    }

    /// The scope names, in catalogue order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::name).collect()
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Scope::name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_through_its_name() {
        for &scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.name()), Some(scope));
        }
        assert!(Scope::ALL.len() <= 32, "ScopeSet is a u32");
    }

    #[test]
    fn unknown_scopes_are_errors_naming_them() {
        let err = ScopeSet::parse(["case.read", "case.delete"]).expect_err("unknown");
        assert_eq!(err, "unknown scope `case.delete`");
    }
}
