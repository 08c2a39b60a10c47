//! `flowhost:step/access`: forwards to [`AccessApi`](crate::services::AccessApi).

use crate::wasm::bindings::access;
use crate::wasm::bindings::types::{Decision, HostError};
use crate::wasm::state::StepState;

impl access::Host for StepState {
    fn check_flow_access(&mut self, flow: String, email: String) -> Result<Decision, HostError> {
        let d = self
            .services
            .access
            .check_flow_access(&self.caller, &flow, &email)?;
        Ok(d.into())
    }

    fn has_scope(&mut self, scope: String) -> Decision {
        self.services.access.has_scope(&self.caller, &scope).into()
    }
}
