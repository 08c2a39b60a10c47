//! Noticing the infrastructure's failures behind a step's host calls (SPEC WF-11). A step sees
//! such a failure as an internal error and may fail, or ignore it and succeed without the
//! effect it asked for; either way the engine must not record that step as finished. The
//! services remember the first such failure, and the engine asks after the execution.

use std::sync::{Arc, Mutex};

use crate::access::AccessDecision;
use crate::principal::Caller;

use super::HostServices;
use super::access::AccessApi;
use super::cases::{
    CaseApi, CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
};
use crate::Error;

/// The first infrastructure failure a step's host calls met, if any.
#[derive(Clone, Default)]
pub struct InfraWatch(Arc<Mutex<Option<String>>>);

impl InfraWatch {
    /// The failure, if one happened.
    pub fn failure(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn note<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        // A busy wait that gave up at the calling step's deadline is the step's own timeout
        // (it fails as a deadline, SPEC ST-4), not the infrastructure's failure.
        if let Err(e) = &result
            && e.is_infrastructure()
            && !crate::store::deadline::passed()
        {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| e.to_string());
        }
        result
    }
}

impl HostServices {
    /// These services, with the infrastructure failures of their calls noted in the returned
    /// [`InfraWatch`].
    pub fn watched(&self) -> (HostServices, InfraWatch) {
        let watch = InfraWatch::default();
        let services = HostServices {
            cases: Arc::new(Watched {
                inner: self.cases.clone(),
                watch: watch.clone(),
            }),
            // `check-flow-access` reads the database too (the flow, the share behind it).
            access: Arc::new(Watched {
                inner: self.access.clone(),
                watch: watch.clone(),
            }),
            ..self.clone()
        };
        (services, watch)
    }
}

/// One service, its calls' infrastructure failures noted.
struct Watched<S: ?Sized> {
    inner: Arc<S>,
    watch: InfraWatch,
}

impl AccessApi for Watched<dyn AccessApi> {
    fn check_flow_access(
        &self,
        caller: &Caller,
        flow: &str,
        email: &str,
    ) -> Result<AccessDecision, Error> {
        self.watch
            .note(self.inner.check_flow_access(caller, flow, email))
    }
    fn has_scope(&self, caller: &Caller, scope: &str) -> AccessDecision {
        // Decided from the in-memory index: no storage behind it to fail.
        self.inner.has_scope(caller, scope)
    }
}

impl CaseApi for Watched<dyn CaseApi> {
    fn create_case(&self, caller: &Caller, input: NewCase) -> Result<CaseRecord, Error> {
        self.watch.note(self.inner.create_case(caller, input))
    }
    fn create_case_keyed(
        &self,
        caller: &Caller,
        input: NewCase,
        key: &str,
    ) -> Result<CaseRecord, Error> {
        self.watch
            .note(self.inner.create_case_keyed(caller, input, key))
    }
    fn create_case_from_json(&self, caller: &Caller, json: &str) -> Result<CaseRecord, Error> {
        self.watch
            .note(self.inner.create_case_from_json(caller, json))
    }
    fn query_cases(&self, caller: &Caller, query: CaseQuery) -> Result<CasePage, Error> {
        self.watch.note(self.inner.query_cases(caller, query))
    }
    fn get_case_restrictions(&self, caller: &Caller, case_id: &str) -> Result<Restrictions, Error> {
        self.watch
            .note(self.inner.get_case_restrictions(caller, case_id))
    }
    fn update_case_restrictions(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, Error> {
        self.watch
            .note(self.inner.update_case_restrictions(caller, case_id, update))
    }
}
