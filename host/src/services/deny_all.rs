//! The default-deny services: what a host answers before an access engine and a case store
//! are wired in. Never a fake success (SPEC RB-3).

use crate::access::{AccessDecision, Reason};
use crate::principal::Caller;

use super::access::AccessApi;
use super::cases::{
    CaseApi, CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
};
use crate::Error;

/// Refuses every call with a reason that says why.
#[derive(Clone, Copy, Debug, Default)]
pub struct DenyAll;

fn denied<T>() -> Result<T, Error> {
    Err(Error::Denied(Reason::NoEngine))
}

impl CaseApi for DenyAll {
    fn create_case(&self, _: &Caller, _: NewCase) -> Result<CaseRecord, Error> {
        denied()
    }
    fn create_case_from_json(&self, _: &Caller, _: &str) -> Result<CaseRecord, Error> {
        denied()
    }
    fn create_case_keyed(&self, _: &Caller, _: NewCase, _: &str) -> Result<CaseRecord, Error> {
        denied()
    }
    fn query_cases(&self, _: &Caller, _: CaseQuery) -> Result<CasePage, Error> {
        denied()
    }
    fn get_case_restrictions(&self, _: &Caller, _: &str) -> Result<Restrictions, Error> {
        denied()
    }
    fn update_case_restrictions(
        &self,
        _: &Caller,
        _: &str,
        _: RestrictionUpdate,
    ) -> Result<Restrictions, Error> {
        denied()
    }
}

impl AccessApi for DenyAll {
    fn check_flow_access(&self, _: &Caller, _: &str, _: &str) -> Result<AccessDecision, Error> {
        Ok(AccessDecision::Denied(Reason::NoEngine))
    }
    fn has_scope(&self, _: &Caller, _: &str) -> AccessDecision {
        AccessDecision::Denied(Reason::NoEngine)
    }
}
