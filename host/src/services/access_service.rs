//! The access service behind `flowhost:step/access`: both questions answer through the access
//! layer, for the run's principal in the run's workspace, and only to a principal with a
//! standing there (SPEC ID-4).

use crate::access::{AccessDecision, FlowReason, Reason, Scope};
use crate::platform::Platform;
use crate::principal::{Caller, Email, Principal};

use super::access::AccessApi;
use super::caps;
use super::grants::{Grant, granted, require};
use crate::Error;

impl Platform {
    /// The answer to a `check-flow-access` question about `email` that its asker may not
    /// ask, whatever the flow: one outside the workspace gets one denial, asked nothing
    /// else (SPEC ID-4); one asking about someone else without `user.read` is told it is
    /// withheld, since whether someone may start a flow tells whether they are a member,
    /// their role or their sign-in (leak review: the decision was a membership oracle).
    /// `None`: the question is theirs to ask. `step test`'s mocks answer only after it
    /// (round 22 steps review).
    pub(crate) fn flow_question_refused(
        &self,
        caller: &Caller,
        email: &str,
    ) -> Result<Option<AccessDecision>, Error> {
        let index = self.index();
        if let Err(outsider) = index.may_ask(&caller.principal, &caller.workspace) {
            return Ok(Some(AccessDecision::Denied(outsider)));
        }
        let email = Email::parse(email).map_err(Error::Invalid)?;
        // A personal key asks as its owner, as every other decision reads it (round 24
        // authority review: the key was told "withheld" about its own owner).
        let about_self = index.person_of(&caller.principal).as_ref() == Some(&email);
        if !about_self
            && !index
                .check(&caller.principal, &caller.workspace, Scope::UserRead)
                .allowed()
        {
            return Ok(Some(AccessDecision::Denied(Reason::Flow(Box::new(
                FlowReason::Withheld { email },
            )))));
        }
        Ok(None)
    }
}

impl AccessApi for Platform {
    /// The same decision `flowhost interact start` makes for `email`, signed in the way they
    /// sign in to the caller's workspace (SPEC IX-4). A caller without a standing in the
    /// workspace gets one denial, asked nothing else: the same for an existing and a missing
    /// flow, workspace or person (SPEC ID-4); so does one asking about someone else without
    /// `user.read` (member data).
    fn check_flow_access(
        &self,
        caller: &Caller,
        flow: &str,
        email: &str,
    ) -> Result<AccessDecision, Error> {
        require(caller, Grant::AccessCheck)?;
        caps::check_flow_question(flow, email)?;
        if let Some(refused) = self.flow_question_refused(caller, email)? {
            return Ok(refused);
        }
        let index = self.index();
        let email = Email::parse(email).map_err(Error::Invalid)?;
        let Some(entry) = self.interaction_flow(&caller.workspace, flow)? else {
            return Ok(AccessDecision::Denied(Reason::UnknownFlow {
                flow: flow.to_owned(),
                workspace: caller.workspace.clone(),
            }));
        };
        let via = index.usual_sign_in(&caller.workspace, &email);
        let decision = index.check_flow(
            &Principal::User {
                email: email.clone(),
                via,
            },
            &caller.workspace,
            &entry.access,
        );
        let reason = Reason::Flow(Box::new(decision.reason));
        Ok(if decision.allowed {
            AccessDecision::Allowed(reason)
        } else {
            AccessDecision::Denied(reason)
        })
    }

    /// The caller's own decision; an outsider gets the one outsider denial (SPEC ID-4), so
    /// the answer does not tell which workspaces exist.
    fn has_scope(&self, caller: &Caller, scope: &str) -> AccessDecision {
        if let Err(reason) = granted(caller, Grant::AccessCheck) {
            return AccessDecision::Denied(reason);
        }
        self.scope_decision(caller, scope)
    }

    /// The principal may run automation in the caller's workspace (`playbook.execute`),
    /// whatever the step may ask itself.
    fn may_emit(&self, caller: &Caller, _kind: &str, _payload_json: &str) -> Result<(), Error> {
        match self.scope_decision(caller, Scope::PlaybookExecute.name()) {
            AccessDecision::Allowed(_) => Ok(()),
            AccessDecision::Denied(reason) => Err(Error::Denied(Reason::Emit(Box::new(reason)))),
        }
    }
}

impl Platform {
    /// Whether the events a step emitted may still be published as it ends: allowed as it
    /// emitted them, on the access data of then, they are decided again on today's, the index
    /// brought up to date first (round 22 authority review: a publisher removed mid-step still
    /// started the listeners of what it emitted; SPEC WF-10). The outer `Err` is the
    /// infrastructure's (the refresh failed); the inner one the refusal. One decision for
    /// every step that emits: a run's (`workflow/engine.rs`) and `flowhost step run`'s.
    pub fn emits_still_allowed(
        &self,
        caller: &Caller,
        kind: &str,
    ) -> Result<Result<(), Error>, Error> {
        self.refresh_access()?;
        match AccessApi::may_emit(self, caller, kind, "") {
            Err(e) if e.is_infrastructure() => Err(e),
            decided => Ok(decided),
        }
    }

    /// The caller's own decision on `scope`, asked through the access layer (ID-4 first).
    fn scope_decision(&self, caller: &Caller, scope: &str) -> AccessDecision {
        let index = self.index();
        if let Err(outsider) = index.may_ask(&caller.principal, &caller.workspace) {
            return AccessDecision::Denied(outsider);
        }
        match Scope::parse(scope) {
            Some(scope) => self.check(&caller.principal, &caller.workspace, scope),
            // The reason names the scope asked for: no more than a scope name's cap of it.
            None => {
                AccessDecision::Denied(Reason::UnknownScope(crate::text::clip(scope).into_owned()))
            }
        }
    }
}
