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
                "a step may create at most {} cases per execution, fewer as its run nears its \
                 budget of events (SPEC ST-4)",
                self.limits.max_cases_created
            )));
        }
        Ok(())
    }

    /// The execution's budget of restriction updates (SPEC ST-4): each granted call, applied
    /// or refused, counts, so a step toggling a case's access mode in a loop is stopped at
    /// the cap instead of writing events, timeline and audit until its deadline. The run's
    /// budget of events is spent by what the calls published (`StepCall::published`).
    fn may_update_restrictions(&mut self) -> Result<(), HostError> {
        if self.restriction_updates >= self.limits.max_restriction_updates {
            return Err(HostError::Invalid(format!(
                "a step may update case restrictions at most {} times per execution, fewer as \
                 its run nears its budget of events (SPEC ST-4)",
                self.limits.max_restriction_updates
            )));
        }
        self.restriction_updates += 1;
        Ok(())
    }
}

impl cases::Host for StepState {
    fn create_case(&mut self, input: NewCase) -> Result<CaseRecord, HostError> {
        // The grant first, as every other door checks it: an ungranted step was told its
        // `fields-json` did not parse (door review).
        crate::services::grants::require(&self.caller, crate::services::grants::Grant::CasesWrite)
            .map_err(HostError::from)?;
        self.may_create_case()?;
        let input = convert::new_case(input)?;
        let case = self.database_call(|services, caller| {
            services.cases().and_then(|c| c.create_case(caller, input))
        })?;
        self.cases_created += 1;
        Ok(case.into())
    }

    fn create_case_from_json(&mut self, case_json: String) -> Result<CaseRecord, HostError> {
        // The grant first, as for `create-case` (an ungranted step was told `invalid` once
        // its budget was spent; hostile-step review).
        crate::services::grants::require(&self.caller, crate::services::grants::Grant::CasesWrite)
            .map_err(HostError::from)?;
        self.may_create_case()?;
        let case = self.database_call(|services, caller| {
            services
                .cases()
                .and_then(|c| c.create_case_from_json(caller, &case_json))
        })?;
        self.cases_created += 1;
        Ok(case.into())
    }

    fn query_cases(&mut self, query: CaseQuery) -> Result<CasePage, HostError> {
        // The grant before the budget, as for every case call (round 21 hostile-step review:
        // an ungranted step was told its calls ran out, not that it was never allowed).
        crate::services::grants::require(&self.caller, crate::services::grants::Grant::CasesRead)
            .map_err(HostError::from)?;
        let page = self.database_call(|services, caller| {
            services
                .cases()
                .and_then(|c| c.query_cases(caller, query.into()))
        })?;
        Ok(page.into())
    }

    fn get_case_restrictions(&mut self, case_id: String) -> Result<Restrictions, HostError> {
        crate::services::grants::require(&self.caller, crate::services::grants::Grant::CasesRead)
            .map_err(HostError::from)?;
        let r = self.database_call(|services, caller| {
            services
                .cases()
                .and_then(|c| c.get_case_restrictions(caller, &case_id))
        })?;
        Ok(r.into())
    }

    fn update_case_restrictions(
        &mut self,
        case_id: String,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, HostError> {
        // The grant first: an ungranted call is refused before it counts towards the cap
        // (the run's budget spends only the events the service publishes).
        crate::services::grants::require_restriction_update(&self.caller)
            .map_err(HostError::from)?;
        self.may_update_restrictions()?;
        let r = self.database_call(|services, caller| {
            services
                .cases()
                .and_then(|c| c.update_case_restrictions(caller, &case_id, update.into()))
        })?;
        Ok(r.into())
    }
}
