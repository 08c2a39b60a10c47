//! Noticing the infrastructure's failures behind a step's host calls (SPEC WF-11). A step sees
//! such a failure as an internal error and may fail, or ignore it and succeed without the
//! effect it asked for; either way the engine must not record that step as finished. The
//! WIT glue hands every storage-backed call's result to [`HostServices::note`], which keeps
//! the first such failure, and the engine asks after the execution.

use std::sync::{Arc, Mutex};

use crate::Error;

use super::HostServices;

/// The first infrastructure failure a step's host calls met, if any.
#[derive(Clone, Default)]
pub struct InfraWatch(Arc<Mutex<Option<String>>>);

impl InfraWatch {
    /// The failure, if one happened.
    pub fn failure(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl HostServices {
    /// These services, with the infrastructure failures of their calls noted in the returned
    /// [`InfraWatch`].
    pub fn watched(mut self) -> (HostServices, InfraWatch) {
        let watch = InfraWatch::default();
        self.watch = Some(watch.clone());
        (self, watch)
    }

    /// Whether a call of these (watched) services met the infrastructure's failure: the
    /// execution will not be recorded, and runs again from its first call.
    pub fn failed(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| w.failure().is_some())
    }

    /// Notes, if these services are watched, that the step's deadline passed after its calls
    /// waited for what others held over half its time (`store/deadline.rs`): the
    /// infrastructure's failure, not the step's timeout.
    pub fn note_host_took_its_time(&self) {
        if let Some(watch) = &self.watch {
            watch
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| {
                    Error::Busy(
                        "the database stayed in use by other runs for half the step's time or \
                         more"
                            .into(),
                    )
                    .to_string()
                });
        }
    }

    /// `result`, its infrastructure failure noted if these services are watched.
    pub fn note<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        // A busy wait that gave up at the calling step's deadline is the step's own timeout
        // (it fails as a deadline, SPEC ST-4), not the infrastructure's failure; unless what
        // it waited for was the shared connection others' work held (round 26 hostile-step
        // review: one tenant's steps holding it failed other tenants' steps as their own
        // timeouts; SPEC WF-11).
        if let (Some(watch), Err(e)) = (&self.watch, &result)
            && e.is_infrastructure()
            && (!crate::store::deadline::passed() || crate::store::deadline::was_waited_out())
        {
            watch
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| e.to_string());
        }
        result
    }
}
