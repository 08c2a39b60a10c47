//! Access questions a step may ask (SPEC RB-3, IX).

use crate::access::Scope;
use crate::principal::Caller;

use crate::Error;

/// An allow/deny answer and the reason that produced it (SPEC RB-3).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// The role and scope that granted it, or what was missing.
    pub reason: String,
}

impl Decision {
    /// A denial with `reason`.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self {
            allowed: false,
            reason: reason.into(),
        }
    }

    /// An allowance with `reason`.
    pub fn allow(reason: impl Into<String>) -> Self {
        Self {
            allowed: true,
            reason: reason.into(),
        }
    }
}

/// The service behind `flowhost:step/access`.
pub trait AccessApi: Send + Sync {
    /// May `email` access the Interaction Flow `flow` in the caller's workspace? (SPEC IX-4)
    fn check_flow_access(
        &self,
        caller: &Caller,
        flow: &str,
        email: &str,
    ) -> Result<Decision, Error>;

    /// Does the caller's principal hold `scope` in the caller's workspace? (SPEC RB-3)
    fn has_scope(&self, caller: &Caller, scope: &str) -> Decision;

    /// May the caller emit event `kind` with `payload_json` into its workspace (SPEC WF-2)?
    /// Asked before the event is validated. By default: the principal may run automation
    /// there (`playbook.execute`); `flowhost step test` answers it from a test's mocks.
    fn may_emit(&self, caller: &Caller, _kind: &str, _payload_json: &str) -> Result<(), Error> {
        let decision = self.has_scope(caller, Scope::PlaybookExecute.name());
        if decision.allowed {
            Ok(())
        } else {
            Err(Error::Denied(format!(
                "emitting events: {}",
                decision.reason
            )))
        }
    }
}
