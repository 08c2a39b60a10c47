//! The services host calls forward to. The WIT glue converts types and calls these traits;
//! every authorization decision is made behind them, with the caller passed explicitly.

pub mod access;
mod access_service;
pub mod caps;
pub mod cases;
pub mod deny_all;
pub mod events;
pub mod grants;
mod idempotency;
pub mod watch;

use std::sync::Arc;

pub use access::{AccessApi, Decision};
pub use cases::CaseApi;
pub use deny_all::DenyAll;

/// Why a service call did not succeed; mirrors `host-error` in `wit/types.wit`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The principal or the step's grants do not allow the call (SPEC RB-3, WF-6).
    #[error("denied: {0}")]
    Denied(String),
    /// The target does not exist or is invisible to the principal (SPEC CS-2).
    #[error("not found: {0}")]
    NotFound(String),
    /// Malformed arguments or a broken rule.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The call conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The host failed.
    #[error("internal error: {0}")]
    Internal(String),
    /// The infrastructure failed, not the call (SPEC WF-11): the database busy past its
    /// timeout, a full disk, an I/O error. Nothing was changed; the same call can succeed
    /// later, so a run meeting this stops resumable instead of failing.
    #[error("the database is unavailable, nothing was changed (try again): {0}")]
    Unavailable(String),
}

impl From<crate::public_id::IdError> for HostError {
    fn from(e: crate::public_id::IdError) -> Self {
        match e {
            crate::public_id::IdError::Malformed(why) => HostError::Invalid(why),
            other => HostError::Internal(other.to_string()),
        }
    }
}

impl HostError {
    /// Whether this is the infrastructure's failure rather than the call's (see
    /// [`HostError::Unavailable`]).
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, HostError::Unavailable(_))
    }
}

/// The services a step execution may reach, one handle per WIT interface that needs one.
#[derive(Clone)]
pub struct HostServices {
    /// Behind `flowhost:step/cases`.
    pub cases: Arc<dyn CaseApi>,
    /// Behind `flowhost:step/access`.
    pub access: Arc<dyn AccessApi>,
    /// What the workflow grants the step (SPEC WF-6); everything for a step run on its own.
    pub grants: grants::Grants,
    /// The access engine itself, for decisions the host makes about the step's calls (never
    /// narrowed by grants, never reachable by the step).
    pub authority: Arc<dyn AccessApi>,
}

impl HostServices {
    /// Services that refuse everything: the default-deny answer (SPEC RB-3) for hosts that
    /// have no access engine or case store wired in.
    pub fn deny_all() -> Self {
        let deny = Arc::new(DenyAll);
        Self {
            cases: deny.clone(),
            access: deny.clone(),
            grants: grants::Grants::ALL,
            authority: deny,
        }
    }

    /// Every interface served by `engine` (the platform), with every grant.
    pub fn of<T: CaseApi + AccessApi + 'static>(engine: Arc<T>) -> Self {
        Self {
            cases: engine.clone(),
            access: engine.clone(),
            grants: grants::Grants::ALL,
            authority: engine,
        }
    }
}
