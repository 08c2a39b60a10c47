//! Per-step grants (SPEC WF-6, least privilege per step): a step's host calls need both the
//! run principal's scopes (checked by the services) and the grant the workflow gave the step.

use std::sync::Arc;

use crate::access::{AccessDecision, Reason};
use crate::principal::Caller;

use super::HostServices;
use super::access::AccessApi;
use super::cases::{
    CaseApi, CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
};
use crate::Error;

/// What a workflow lets one step reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    pub cases_read: bool,
    pub cases_write: bool,
    pub events_emit: bool,
    pub access_check: bool,
}

impl Grants {
    /// Everything: a step run on its own (`flowhost step run`), bounded by its principal only.
    pub const ALL: Grants = Grants {
        cases_read: true,
        cases_write: true,
        events_emit: true,
        access_check: true,
    };

    fn require(&self, granted: bool, name: &'static str) -> Result<(), Error> {
        if granted {
            Ok(())
        } else {
            Err(Error::Denied(Reason::NotGranted(name)))
        }
    }
}

impl HostServices {
    /// These services narrowed to `grants`.
    pub fn granted(&self, grants: Grants) -> HostServices {
        let narrowed = Arc::new(Narrowed {
            inner: self.clone(),
            grants,
        });
        HostServices {
            cases: narrowed.clone(),
            access: narrowed,
            grants,
            authority: self.authority.clone(),
        }
    }

    /// `Ok` if the step may emit event `kind` into the caller's workspace: the workflow
    /// grants it, and the access engine allows it ([`AccessApi::may_emit`]).
    pub fn authorize_emit(
        &self,
        caller: &Caller,
        kind: &str,
        payload_json: &str,
    ) -> Result<(), Error> {
        self.grants
            .require(self.grants.events_emit, "events:emit")?;
        self.authority.may_emit(caller, kind, payload_json)
    }
}

struct Narrowed {
    inner: HostServices,
    grants: Grants,
}

impl CaseApi for Narrowed {
    fn create_case(&self, caller: &Caller, input: NewCase) -> Result<CaseRecord, Error> {
        self.grants
            .require(self.grants.cases_write, "cases:write")?;
        self.inner.cases.create_case(caller, input)
    }
    fn create_case_keyed(
        &self,
        caller: &Caller,
        input: NewCase,
        key: &str,
    ) -> Result<CaseRecord, Error> {
        self.grants
            .require(self.grants.cases_write, "cases:write")?;
        self.inner.cases.create_case_keyed(caller, input, key)
    }
    fn create_case_from_json(&self, caller: &Caller, json: &str) -> Result<CaseRecord, Error> {
        self.grants
            .require(self.grants.cases_write, "cases:write")?;
        self.inner.cases.create_case_from_json(caller, json)
    }
    fn query_cases(&self, caller: &Caller, query: CaseQuery) -> Result<CasePage, Error> {
        self.grants.require(self.grants.cases_read, "cases:read")?;
        self.inner.cases.query_cases(caller, query)
    }
    fn get_case_restrictions(&self, caller: &Caller, case_id: &str) -> Result<Restrictions, Error> {
        self.grants.require(self.grants.cases_read, "cases:read")?;
        self.inner.cases.get_case_restrictions(caller, case_id)
    }
    fn update_case_restrictions(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, Error> {
        self.grants
            .require(self.grants.cases_write, "cases:write")?;
        self.inner
            .cases
            .update_case_restrictions(caller, case_id, update)
    }
}

impl AccessApi for Narrowed {
    fn check_flow_access(
        &self,
        caller: &Caller,
        flow: &str,
        email: &str,
    ) -> Result<AccessDecision, Error> {
        self.grants
            .require(self.grants.access_check, "access:check")?;
        self.inner.access.check_flow_access(caller, flow, email)
    }
    fn has_scope(&self, caller: &Caller, scope: &str) -> AccessDecision {
        if self.grants.access_check {
            self.inner.access.has_scope(caller, scope)
        } else {
            AccessDecision::Denied(Reason::NotGranted("access:check"))
        }
    }
}
