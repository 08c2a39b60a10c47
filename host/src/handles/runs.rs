//! [`Runs`]: who sees which runs and how much, for a named principal (SPEC ID-4, CS-2, RB-3).
//! The decisions are `workflow/run_access.rs`'s; this is their only public door.

use crate::Error;
use crate::access::Scope;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::public_id::PublicId;
use crate::runs::{RunInfo, RunsPage, StepRecord};
use crate::workflow::RunOutcome;
use crate::workflow::triggers::WaitingEvent;

/// The runs of a [`Platform`], each call for a principal.
#[derive(Clone, Copy)]
pub struct Runs<'p> {
    platform: &'p Platform,
}

impl<'p> Runs<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// Records a `flowhost step run` execution (its logs and events) under `record.workspace`
    /// for the principal it ran as, and returns whether it did: an outsider's run leaves no
    /// trace in an existing workspace they have no standing in (SPEC ID-4), as their host
    /// calls were answered as for nothing. A step tried out before any tenant exists (no such
    /// workspace) is recorded, which tells nobody anything.
    pub fn record_step_run(
        &self,
        principal: &Principal,
        record: &crate::store::ExecutionRecord<'_>,
    ) -> Result<bool, Error> {
        let index = self.platform.index();
        if index.workspace(record.workspace).is_some()
            && index.is_outsider(principal, record.workspace)
        {
            return Ok(false);
        }
        self.platform
            .db()?
            .record_step_execution(record)
            .map_err(|e| Error::Internal(format!("recording the step's execution: {e:#}")))?;
        Ok(true)
    }

    /// One page of the runs `principal` may see, newest first: of `workspace`, or of every
    /// workspace (a workspace they have no standing in lists nothing, SPEC ID-4).
    pub fn list(
        &self,
        principal: &Principal,
        workspace: Option<&str>,
        page: &RunsPage,
    ) -> Result<Vec<RunInfo>, Error> {
        self.platform.runs_for(principal, workspace, page)
    }

    /// Run `id` and its journaled steps as far as `principal` may see them; "there is no
    /// run" when they may see nothing of it (SPEC ID-4).
    pub fn show(
        &self,
        principal: &Principal,
        id: &PublicId,
    ) -> Result<(RunInfo, Vec<StepRecord>), Error> {
        self.platform.run_for(principal, id)
    }

    /// Like [`Runs::show`], with the definition the run executes (for drawing it).
    pub fn show_with_definition(
        &self,
        principal: &Principal,
        id: &PublicId,
    ) -> Result<(RunInfo, Vec<StepRecord>, serde_json::Value), Error> {
        self.platform.run_with_definition_for(principal, id)
    }

    /// [`Runs::show_with_definition`] for a door bound to `workspace` (a web session): a run
    /// of another workspace reads there as a missing one.
    pub fn show_with_definition_in(
        &self,
        principal: &Principal,
        workspace: &str,
        id: &PublicId,
    ) -> Result<(RunInfo, Vec<StepRecord>, serde_json::Value), Error> {
        let shown = self.platform.run_with_definition_for(principal, id)?;
        if shown.0.workspace != workspace {
            return Err(Error::NotFound("there is no such run".into()));
        }
        Ok(shown)
    }

    /// `Ok` with the run if `principal` holds `scope` in its workspace (e.g.
    /// `playbook.execute` to resume it); "there is no run" to an outsider.
    pub fn authorize(
        &self,
        principal: &Principal,
        id: &PublicId,
        scope: Scope,
    ) -> Result<RunInfo, Error> {
        self.platform.authorize_run(principal, id, scope)
    }

    /// `outcome` as `principal` may see it: `None` when the run does not exist for them.
    pub fn outcome(&self, principal: &Principal, outcome: RunOutcome) -> Option<RunOutcome> {
        self.platform.outcome_for(principal, outcome)
    }

    /// Whether a trace of run `id` (a resume, an answer's, a flow's start) may show
    /// `principal` its steps: asked once the run has stopped, not when it read a restricted
    /// case they may not see, since which steps ran names the branches that case decided
    /// (SPEC CS-2). Until then keep the trace ([`crate::workflow::run_access::HeldTrace`]).
    pub fn trace_shows_steps(&self, principal: &Principal, id: &PublicId) -> bool {
        self.platform.trace_shows_steps(principal, id)
    }

    /// Whether `principal` may follow run `id`'s steps as they happen, a trace shown live:
    /// only if they see every case of its workspace.
    pub fn trace_is_live(&self, principal: &Principal, id: &PublicId) -> bool {
        self.platform.trace_is_live(principal, id)
    }

    /// The outcome of a run `principal` caused (started through a flow, resumed with an
    /// answer): its id and status, and what it saw only if they may see that.
    pub fn caused_outcome(&self, principal: &Principal, outcome: RunOutcome) -> RunOutcome {
        self.platform.caused_outcome_for(principal, outcome)
    }

    /// The outcome of an Interaction Flow `principal` started: its output as is (shaped by
    /// its publisher for those its settings let start it, SPEC IX-1), its error only if they
    /// may see what the run saw.
    pub fn flow_outcome(&self, principal: &Principal, outcome: RunOutcome) -> RunOutcome {
        self.platform.flow_outcome_for(principal, outcome)
    }

    /// The events of `workspace` waiting for dispatch, or (`quarantined`) those set aside and
    /// why, each by its opaque id; needs `playbook.execute` and `event.read` there (SPEC WF-2,
    /// ID-4).
    pub fn waiting_events(
        &self,
        principal: &Principal,
        workspace: &str,
        quarantined: bool,
    ) -> Result<Vec<WaitingEvent>, Error> {
        self.platform
            .waiting_events_for(principal, workspace, quarantined)
    }

    /// Puts quarantined event `id` of `workspace` back in line; `false` if there is no such
    /// quarantined event. Needs `playbook.execute` and `event.read` there.
    pub fn release_event(
        &self,
        principal: &Principal,
        workspace: &str,
        id: &crate::public_id::PublicId,
    ) -> Result<bool, Error> {
        self.platform.release_event_for(principal, workspace, id)
    }
}
