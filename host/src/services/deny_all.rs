//! The default-deny services: what a host answers before an access engine and a case store
//! are wired in. Never a fake success (SPEC RB-3).

use crate::principal::Caller;

use super::access::{AccessApi, Decision};
use super::cases::{
    CaseApi, CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
};
use crate::Error;

/// Refuses every call with a reason that says why.
#[derive(Clone, Copy, Debug, Default)]
pub struct DenyAll;

const NO_ENGINE: &str = "no access engine is configured for this host (default deny, SPEC RB-3)";

fn denied<T>() -> Result<T, Error> {
    Err(Error::Denied(NO_ENGINE.to_owned()))
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
    fn check_flow_access(&self, _: &Caller, _: &str, _: &str) -> Result<Decision, Error> {
        Ok(Decision::deny(NO_ENGINE))
    }
    fn has_scope(&self, _: &Caller, _: &str) -> Decision {
        Decision::deny(NO_ENGINE)
    }
}
