//! `flowhost:step/cases`: forwards to [`CaseApi`](crate::services::CaseApi).

use crate::wasm::bindings::cases::{self, CasePage, CaseQuery, NewCase, RestrictionUpdate};
use crate::wasm::bindings::types::{CaseRecord, HostError, Restrictions};
use crate::wasm::state::StepState;

use super::convert;

impl StepState {
    /// The execution's case budget (SPEC ST-4): a limit of the sandbox, like its event budget.
    fn may_create_case(&self) -> Result<(), HostError> {
        if self.cases_created >= self.limits.max_cases_created {
            return Err(HostError::Invalid(format!(
                "a step may create at most {} cases per execution (SPEC ST-4)",
                self.limits.max_cases_created
            )));
        }
        Ok(())
    }
}

impl cases::Host for StepState {
    fn create_case(&mut self, input: NewCase) -> Result<CaseRecord, HostError> {
        self.may_create_case()?;
        let input = convert::new_case(input)?;
        let services = &self.services;
        let case = services.note(
            services
                .cases()
                .and_then(|c| c.create_case(&self.caller, input)),
        )?;
        self.cases_created += 1;
        Ok(case.into())
    }

    fn create_case_from_json(&mut self, case_json: String) -> Result<CaseRecord, HostError> {
        self.may_create_case()?;
        let services = &self.services;
        let case = services.note(
            services
                .cases()
                .and_then(|c| c.create_case_from_json(&self.caller, &case_json)),
        )?;
        self.cases_created += 1;
        Ok(case.into())
    }

    fn query_cases(&mut self, query: CaseQuery) -> Result<CasePage, HostError> {
        let services = &self.services;
        let page = services.note(
            services
                .cases()
                .and_then(|c| c.query_cases(&self.caller, query.into())),
        )?;
        Ok(page.into())
    }

    fn get_case_restrictions(&mut self, case_id: String) -> Result<Restrictions, HostError> {
        let services = &self.services;
        let r = services.note(
            services
                .cases()
                .and_then(|c| c.get_case_restrictions(&self.caller, &case_id)),
        )?;
        Ok(r.into())
    }

    fn update_case_restrictions(
        &mut self,
        case_id: String,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, HostError> {
        let services = &self.services;
        let r = services.note(
            services
                .cases()
                .and_then(|c| c.update_case_restrictions(&self.caller, &case_id, update.into())),
        )?;
        Ok(r.into())
    }
}
