//! Idempotent host calls for workflow steps (SPEC WF-8): a WASM step re-executed after a crash
//! makes the same calls in the same order, so the n-th case it creates is keyed by run, step
//! and call sequence, and the re-execution gets the case the first execution created.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::principal::Caller;

use super::HostServices;
use super::cases::{
    CaseApi, CasePage, CaseQuery, CaseRecord, NewCase, RestrictionUpdate, Restrictions,
    parse_case_json,
};
use crate::Error;

impl HostServices {
    /// These services with case creations keyed by `prefix` and the call's sequence number.
    pub fn keyed(&self, prefix: String) -> HostServices {
        let keyed = Keyed {
            inner: self.cases.clone(),
            prefix,
            calls: AtomicU32::new(0),
        };
        HostServices {
            cases: Arc::new(keyed),
            ..self.clone()
        }
    }
}

struct Keyed {
    inner: Arc<dyn CaseApi>,
    prefix: String,
    calls: AtomicU32,
}

impl CaseApi for Keyed {
    fn create_case(&self, caller: &Caller, input: NewCase) -> Result<CaseRecord, Error> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner
            .create_case_keyed(caller, input, &format!("{}/call-{n}", self.prefix))
    }
    fn create_case_from_json(&self, caller: &Caller, json: &str) -> Result<CaseRecord, Error> {
        self.create_case(caller, parse_case_json(json)?)
    }
    fn create_case_keyed(
        &self,
        caller: &Caller,
        input: NewCase,
        key: &str,
    ) -> Result<CaseRecord, Error> {
        self.inner.create_case_keyed(caller, input, key)
    }
    fn query_cases(&self, caller: &Caller, query: CaseQuery) -> Result<CasePage, Error> {
        self.inner.query_cases(caller, query)
    }
    fn get_case_restrictions(&self, caller: &Caller, case_id: &str) -> Result<Restrictions, Error> {
        self.inner.get_case_restrictions(caller, case_id)
    }
    fn update_case_restrictions(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, Error> {
        self.inner.update_case_restrictions(caller, case_id, update)
    }
}
