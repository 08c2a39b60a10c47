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

pub use access::AccessApi;
pub use cases::CaseApi;
pub use deny_all::DenyAll;

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
