//! `flowhost:step/access`: forwards to [`AccessApi`](crate::services::AccessApi).

use crate::access::AccessDecision;
use crate::wasm::bindings::access;
use crate::wasm::bindings::types::{Decision, HostError};
use crate::wasm::state::StepState;

impl access::Host for StepState {
    fn check_flow_access(&mut self, flow: String, email: String) -> Result<Decision, HostError> {
        // It reads the flow's revision (its whole definition) and its share. Without an
        // access service, the services' reason for that is the answer (a denial, as for any
        // flow: SPEC RB-3). The grant before the budget, as for every case call (round 21
        // hostile-step review).
        crate::services::grants::require(&self.caller, crate::services::grants::Grant::AccessCheck)
            .map_err(HostError::from)?;
        let d = self.database_call(|services, caller| match services.access() {
            Ok(access) => access.check_flow_access(caller, &flow, &email),
            Err(reason) => Ok(AccessDecision::Denied(reason)),
        })?;
        Ok(d.into())
    }

    fn has_scope(&mut self, scope: String) -> Decision {
        // Decided from the in-memory index: no storage behind it to fail, nothing to note.
        // Without an access service, the services' reason for that is the answer.
        self.services
            .access()
            .map_or_else(AccessDecision::Denied, |a| {
                a.has_scope(&self.caller, &scope)
            })
            .into()
    }
}
