//! `flowhost:step/cases`: forwards to [`CaseApi`](crate::services::CaseApi).

use crate::wasm::bindings::cases::{self, CasePage, CaseQuery, NewCase, RestrictionUpdate};
use crate::wasm::bindings::types::{CaseRecord, HostError, Restrictions};
use crate::wasm::state::StepState;

use super::convert;

impl cases::Host for StepState {
    fn create_case(&mut self, input: NewCase) -> Result<CaseRecord, HostError> {
        let input = convert::new_case(input)?;
        Ok(self.services.cases.create_case(&self.caller, input)?.into())
    }

    fn create_case_from_json(&mut self, case_json: String) -> Result<CaseRecord, HostError> {
        let case = self
            .services
            .cases
            .create_case_from_json(&self.caller, &case_json)?;
        Ok(case.into())
    }

    fn query_cases(&mut self, query: CaseQuery) -> Result<CasePage, HostError> {
        Ok(self
            .services
            .cases
            .query_cases(&self.caller, query.into())?
            .into())
    }

    fn get_case_restrictions(&mut self, case_id: String) -> Result<Restrictions, HostError> {
        let r = self
            .services
            .cases
            .get_case_restrictions(&self.caller, &case_id)?;
        Ok(r.into())
    }

    fn update_case_restrictions(
        &mut self,
        case_id: String,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, HostError> {
        let r =
            self.services
                .cases
                .update_case_restrictions(&self.caller, &case_id, update.into())?;
        Ok(r.into())
    }
}
