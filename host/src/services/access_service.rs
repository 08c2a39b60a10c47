//! The access service behind `flowhost:step/access`: `has-scope` answers through the same
//! check as every other decision, for the run's principal in the run's workspace.

use crate::access::{AccessDecision, Reason, Scope};
use crate::platform::Platform;
use crate::principal::Caller;

use super::HostError;
use super::access::{AccessApi, Decision};

impl AccessApi for Platform {
    fn check_flow_access(&self, _: &Caller, flow: &str, _: &str) -> Result<Decision, HostError> {
        // Interaction Flows arrive with the Interactions work; until then no flow exists.
        Ok(Decision::deny(format!(
            "there is no Interaction Flow `{flow}` (default deny, SPEC RB-3)"
        )))
    }

    fn has_scope(&self, caller: &Caller, scope: &str) -> Decision {
        match Scope::parse(scope) {
            Some(scope) => self.check(&caller.principal, &caller.workspace, scope),
            None => AccessDecision::deny(Reason::UnknownScope(scope.to_owned())),
        }
        .into()
    }
}
