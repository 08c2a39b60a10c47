//! How a command traces a run it executes for someone who may not be its principal (a
//! resume, an answer's, a flow's start): live, a line a step, only to whoever sees every case
//! of its workspace; anyone else's trace is kept until the run stops, then shown only if the
//! run read no restricted case hidden from them, since which steps ran names what such a case
//! decided (SPEC CS-2). The decisions are the run service's (`handles::Runs`).

use std::time::Duration;

use flowhost::Error;
use flowhost::public_id::PublicId;
use flowhost::runs::RunStatus;
use flowhost::workflow::run_access::{HeldTrace, LoopSummary};
use flowhost::workflow::{Observer, Quiet, RunOutcome};
use serde_json::Value;

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

/// Prints one line per step as it finishes. A failed step's message is not printed: the
/// person at the terminal may not be one who may see what the run saw (a flow's starter, the
/// answerer of an interaction); the run's error is reported at its end as they may see it.
pub(super) struct Trace;

impl Observer for Trace {
    fn step_finished(
        &self,
        key: &str,
        result: &Result<Value, String>,
        duration: Duration,
        replayed: bool,
    ) {
        match (result, replayed) {
            (Ok(_), true) => println!("  ↺ {key:<32} replayed from the journal"),
            (Ok(_), false) => println!("  ✓ {key:<32} {:>9.2} ms", duration.as_secs_f64() * 1e3),
            (Err(_), _) => println!(
                "  ✗ {key:<32} {:>9.2} ms  failed",
                duration.as_secs_f64() * 1e3
            ),
        }
    }

    /// Not named here: a trace may be shown to someone (a flow's starter, an answerer) who
    /// may not see the interaction (SPEC IX-7; round 16 leak review); the outcome printed
    /// after names those they may.
    fn step_waiting(&self, key: &str, _interaction: &PublicId) {
        println!("  ⏸ {key:<32} waiting for an interaction");
    }

    fn step_sleeping(&self, key: &str, wake_ms: i64) {
        println!(
            "  ⏸ {key:<32} waiting until {} (the run is on hold; `flowhost serve` wakes it)",
            flowhost::clock::rfc3339(wake_ms.div_euclid(1000))
        );
    }
}
