//! The default-deny services: what a host answers before an access engine and a case store
//! are wired in. Never a fake success (SPEC RB-3).

use crate::principal::Caller;

use super::HostError;
use super::access::{AccessApi, Decision};
use super::cases::{
    CaseApi, CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
};

/// Refuses every call with a reason that says why.
#[derive(Clone, Copy, Debug, Default)]
pub struct DenyAll;

const NO_ENGINE: &str = "no access engine is configured for this host (default deny, SPEC RB-3)";

fn denied<T>() -> Result<T, HostError> {
    Err(HostError::Denied(NO_ENGINE.to_owned()))
}

impl CaseApi for DenyAll {
    fn create_case(&self, _: &Caller, _: NewCase) -> Result<CaseRecord, HostError> {
        denied()
    }
    fn create_case_from_json(&self, _: &Caller, _: &str) -> Result<CaseRecord, HostError> {
        denied()
    }
    fn create_case_keyed(&self, _: &Caller, _: NewCase, _: &str) -> Result<CaseRecord, HostError> {
        denied()
    }
    fn query_cases(&self, _: &Caller, _: CaseQuery) -> Result<CasePage, HostError> {
        denied()
    }
    fn get_case_restrictions(&self, _: &Caller, _: &str) -> Result<Restrictions, HostError> {
        denied()
    }
    fn update_case_restrictions(
        &self,
        _: &Caller,
        _: &str,
        _: RestrictionUpdate,
    ) -> Result<Restrictions, HostError> {
        denied()
    }
}

impl AccessApi for DenyAll {
    fn check_flow_access(&self, _: &Caller, _: &str, _: &str) -> Result<Decision, HostError> {
        Ok(Decision::deny(NO_ENGINE))
    }
    fn has_scope(&self, _: &Caller, _: &str) -> Decision {
        Decision::deny(NO_ENGINE)
    }
}
