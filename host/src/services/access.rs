//! Access questions a step may ask (SPEC RB-3, IX).

use crate::Error;
use crate::access::AccessDecision;
use crate::principal::Caller;

/// The service behind `flowhost:step/access`, one method per WIT function, and the host's own
/// question whether a step may emit. Answers are decisions with their reasons as data; the
/// WIT glue prints them. A step's questions need its `access:check` grant (SPEC WF-6).
pub trait AccessApi: Send + Sync {
    /// May `email` access the Interaction Flow `flow` in the caller's workspace? (SPEC IX-4)
    fn check_flow_access(
        &self,
        caller: &Caller,
        flow: &str,
        email: &str,
    ) -> Result<AccessDecision, Error>;

    /// Does the caller's principal hold `scope` in the caller's workspace? (SPEC RB-3)
    fn has_scope(&self, caller: &Caller, scope: &str) -> AccessDecision;

    /// May the caller emit event `kind` with `payload_json` into its workspace (SPEC WF-2)?
    /// Asked by the host, before the event is validated, not by the step: no `access:check`
    /// grant is needed. The platform: the principal may run automation there
    /// (`playbook.execute`); `flowhost step test` answers it from a test's mocks.
    fn may_emit(&self, caller: &Caller, kind: &str, payload_json: &str) -> Result<(), Error>;
}
