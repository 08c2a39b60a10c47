//! How a command traces a run it executes for someone who may not be its principal (a
//! resume, an answer's, a flow's start): live, a line a step, only to whoever sees every case
//! of its workspace; anyone else's trace is kept until the run stops, then shown only if the
//! run read no restricted case hidden from them, since which steps ran names what such a case
//! decided (SPEC CS-2). The decisions are the run service's (`handles::Runs`).

use flowhost::Error;
use flowhost::runs::RunStatus;
use flowhost::workflow::run_access::{HeldTrace, LoopSummary};
use flowhost::workflow::{Observer, Quiet, RunOutcome};

use super::run::Trace;

/// A run's trace for one command.
pub(super) enum RunTrace {
    /// `--json`: nothing but the outcome.
    Quiet,
    /// Each step as it happens (each loop step once).
    Live(LoopSummary<'static>),
    /// Kept until the run stops.
    Held(HeldTrace),
}

impl RunTrace {
    /// The trace of a command printing `json`, shown live if `live`.
    pub(super) fn new(json: bool, live: bool) -> Self {
        match (json, live) {
            (true, _) => RunTrace::Quiet,
            (false, true) => RunTrace::Live(LoopSummary::new(&Trace)),
            (false, false) => RunTrace::Held(HeldTrace::default()),
        }
    }

    /// What the run is to report to.
    pub(super) fn observer(&self) -> &dyn Observer {
        match self {
            RunTrace::Quiet => &Quiet,
            RunTrace::Live(trace) => trace,
            RunTrace::Held(held) => held,
        }
    }

    /// Once the run has stopped: prints what was kept if `shows` says it may be shown.
    pub(super) fn finish(self, shows: impl FnOnce() -> bool) {
        if let RunTrace::Held(held) = self
            && shows()
        {
            held.replay_into(&LoopSummary::new(&Trace));
        }
    }
}

/// `outcome` of a start sent under an idempotency key, gone on with when it is a run left
/// `running` and waiting on nothing: a retry after the first CLI was killed meets its run
/// leased to nobody alive, and goes on with it as `runs resume` does (round 20 self-review:
/// it answered "running" and exited 0 with nothing executing the run). `resume` goes on
/// with the run, reporting to `trace`'s observer; what `trace` kept (of this run, or of
/// the start before it) is shown once it stops only if `shows` says so, as for `runs
/// resume` (round 21 leak review: the retry of `run --published` traced replayed steps
/// live). Run elsewhere (a live process, another host), it is answered as it is.
pub(super) fn go_on_if_left(
    key: Option<&str>,
    outcome: RunOutcome,
    trace: RunTrace,
    resume: impl FnOnce(&dyn Observer) -> Result<RunOutcome, Error>,
    shows: impl FnOnce(&RunOutcome) -> bool,
) -> RunOutcome {
    let left =
        key.is_some() && outcome.status == RunStatus::Running && outcome.waiting_on.is_empty();
    let outcome = if left {
        match resume(trace.observer()) {
            Ok(resumed) => resumed,
            Err(e) => {
                eprintln!("run {} is still running: {e}", outcome.run_id);
                outcome
            }
        }
    } else {
        outcome
    };
    trace.finish(|| shows(&outcome));
    outcome
}
