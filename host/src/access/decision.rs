//! Decisions and their reasons, as data (SPEC RB-3): every check says why.

pub use super::reason::Reason;

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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::access::{RoleName, Scope};

    // SPEC RB-3: whether a check allowed something is read from the variant that carries the
    // reason (the WIT door's printing of it: `wasm/host/convert.rs`).
    #[test]
    fn allowed_is_the_variant_that_carries_the_reason() {
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
        assert_eq!(denied.into_result(), Err(missing));
    }
}
