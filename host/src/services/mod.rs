//! The services host calls forward to. The WIT glue converts types and calls these traits;
//! every authorization decision is made behind them, with the caller passed explicitly. The
//! case and access traits are the WIT interfaces, one method per function: a step's grants
//! and idempotency keys travel in its [`Caller`](crate::principal::Caller), so no layer
//! wraps a service to add them.

pub mod access;
pub(crate) mod access_service;
pub mod caps;
pub mod cases;
pub mod events;
pub mod grants;
pub mod watch;

use std::sync::Arc;

use crate::Error;
use crate::access::Reason;
use crate::step_call::{CallKeys, Grant, Grants, StepCall};

pub use access::AccessApi;
pub use cases::CaseApi;
use watch::InfraWatch;

/// The services a step execution may reach, one handle per WIT interface that needs one, and
/// the step context its calls carry.
#[derive(Clone)]
pub struct HostServices {
    /// Behind `flowhost:step/cases`; `None` refuses every call (default deny, SPEC RB-3).
    cases: Option<Arc<dyn CaseApi>>,
    /// Behind `flowhost:step/access` (and the host's own question whether a step may emit).
    access: Option<Arc<dyn AccessApi>>,
    /// What the step is granted and how its case creations are keyed; the runtime puts it in
    /// the [`Caller`](crate::principal::Caller) of every call of the execution.
    pub step: StepCall,
    /// Where the infrastructure failures behind the calls are noted, if anyone asks.
    watch: Option<InfraWatch>,
}

impl HostServices {
    /// Services that refuse everything: the default-deny answer (SPEC RB-3) for hosts that
    /// have no access engine or case store wired in.
    pub fn deny_all() -> Self {
        Self {
            cases: None,
            access: None,
            step: StepCall::default(),
            watch: None,
        }
    }

    /// Every interface served by `engine` (the platform), with every grant.
    pub fn of<T: CaseApi + AccessApi + 'static>(engine: Arc<T>) -> Self {
        Self {
            cases: Some(engine.clone()),
            access: Some(engine),
            step: StepCall::default(),
            watch: None,
        }
    }

    /// These services for a step the workflow grants `grants` (SPEC WF-6).
    pub fn granted(mut self, grants: Grants) -> HostServices {
        self.step.grants = grants;
        self
    }

    /// These services with case creations keyed by `prefix` and the call's sequence number
    /// (SPEC WF-8).
    pub fn keyed(mut self, prefix: String) -> HostServices {
        self.step.keys = Some(CallKeys::new(prefix));
        self
    }

    /// These services with what the step records charged to its run's `allowance` as it is
    /// made (SPEC ST-4).
    pub fn allowed(
        mut self,
        allowance: Arc<dyn crate::step_call::RecordAllowance>,
    ) -> HostServices {
        self.step.allowance = Some(allowance);
        self
    }

    /// The case service.
    pub fn cases(&self) -> Result<&dyn CaseApi, Error> {
        self.cases.as_deref().ok_or(Error::Denied(Reason::NoEngine))
    }

    /// The access service, or the reason there is none to answer.
    pub fn access(&self) -> Result<&dyn AccessApi, Reason> {
        self.access.as_deref().ok_or(Reason::NoEngine)
    }

    /// `Ok` if the step may emit event `kind` into the caller's workspace: the workflow
    /// grants it, and the access engine allows it ([`AccessApi::may_emit`]).
    pub fn authorize_emit(
        &self,
        caller: &crate::principal::Caller,
        kind: &str,
        payload_json: &str,
    ) -> Result<(), Error> {
        grants::require(caller, Grant::EventsEmit)?;
        self.access()
            .map_err(Error::Denied)?
            .may_emit(caller, kind, payload_json)
    }
}
