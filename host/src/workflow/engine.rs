//! Running a workflow (SPEC WF-3..8): the definition is interpreted top to bottom over a JSON
//! context; every finished action step is journaled, and a resumed run replays journaled
//! steps instead of executing them again, so it continues at the first unfinished step.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Error;
use crate::access::Scope;
use crate::definition::model::{
    BACKOFF, MAX_LOOP_ITEMS, MAX_STEP_KEY_BYTES, Retry, Step, StepKind, Uses, Workflow,
};
use crate::definition::parse::parse;
use crate::definition::resolver::Resolver;
use crate::json_locate::joined;
use crate::platform::Platform;
use crate::principal::{Caller, Cause, Principal};
use crate::public_id::{IdKind, PublicId};
use crate::runs::lease::{Executing, Leases};
use crate::runs::{
    NewRun, OutOfReach, ResumeData, RunEnd, RunRef, RunRules, RunStatus, RunStore, StartKey,
};
use crate::services::HostServices;
pub(crate) use crate::stored_principal::principal_from_stored;
pub use crate::stored_principal::principal_to_stored;
use crate::wasm::{StepLimits, StepRuntime};

use super::fanout::{self, Group, MAX_RUN_THREADS, Part, Slots};
use super::pending::{Finished, Pending, StepRecordData};

/// How deep nested workflows may go.
const MAX_NESTING: usize = 8;

/// The native stack of every thread that executes runs (the scheduler's and the server's
/// workers, a run's parallel parts, the harness's workers). The engine recurses once per
/// `if`, `switch`, `loop`, `parallel` and nested workflow (up to about 280 levels: 31 a
/// file at JSON depth 64, 9 files; about 12 KB a level in a debug build), and a step then
/// needs the 512 KiB of stack wasmtime assumes is free (`max_wasm_stack`) without checking
/// it. On the default 2 MiB threads a recursing step under nested workflows overflowed the
/// thread and aborted the whole host, and its run aborted every host that resumed it
/// (round 18 hostile-step review). Reserved, not committed: pages are taken as touched.
pub const RUN_THREAD_STACK: usize = 16 << 20;

/// Waits up to this long sleep in the process by default; a longer one puts the run on hold
/// and frees the worker until `serve` wakes it (its deadline is stored either way).
pub const SLEEP_LIMIT: Duration = Duration::from_secs(60);

/// How often a sleeping wait looks whether the host is stopping.
const STOP_POLL: Duration = Duration::from_millis(50);

use super::held::{Held, Records, Size};
pub use super::held::{
    MAX_RUN_CONTEXT_COPIES, MAX_RUN_LOOP_COPIES, MAX_RUN_OUTPUT_BYTES, MAX_RUN_OUTPUT_VALUES,
};

/// Hears about steps as they run (the CLI prints a live trace).
pub trait Observer: Send + Sync {
    /// A step (by journal key) finished, or was replayed from the journal.
    fn step_finished(
        &self,
        key: &str,
        result: &Result<Value, String>,
        duration: Duration,
        replayed: bool,
    );

    /// The run now waits on interaction `interaction`, opened by step `key`.
    fn step_waiting(&self, key: &str, interaction: &PublicId) {
        let _ = (key, interaction);
    }

    /// The `wait` step `key` lasts past the in-process limit: the run goes on hold until
    /// `wake_ms` (Unix milliseconds).
    fn step_sleeping(&self, key: &str, wake_ms: i64) {
        let _ = (key, wake_ms);
    }
}

/// Prints nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn step_finished(&self, _: &str, _: &Result<Value, String>, _: Duration, _: bool) {}
}

/// How a run ended.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunOutcome {
    /// The run's internal key; never shown.
    #[serde(skip)]
    pub run_key: i64,
    /// The run's id as people see it (`R-…`, SPEC ID-4).
    pub run_id: PublicId,
    pub status: RunStatus,
    /// The `exit` step's status, if the run exited.
    pub exit_status: Option<String>,
    pub output: Value,
    /// For a failed run: the failing step and why.
    pub error: Option<String>,
    /// For a run on hold: the interactions it waits on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_on: Vec<PublicId>,
}

impl RunOutcome {
    /// A run that stopped before its end (on hold, or stopped with the host), with no output.
    pub fn unfinished(run: &RunRef, status: RunStatus, error: Option<String>) -> Self {
        RunOutcome {
            run_key: run.key,
            run_id: run.id.clone(),
            status,
            exit_status: None,
            output: Value::Null,
            error,
            waiting_on: Vec::new(),
        }
    }
}

/// Runs workflows against the platform and the step runtime.
pub struct Engine {
    platform: Arc<Platform>,
    /// Where runs are kept: every read and write of a run goes through it (issue 15).
    runs: Arc<dyn RunStore>,
    runtime: Arc<StepRuntime>,
    step_dirs: Vec<PathBuf>,
    /// Step outputs (or errors) to use instead of executing those steps: the test harness's
    /// per-step mocks, keyed by journal key.
    mocks: std::collections::HashMap<String, Result<Value, String>>,
    /// The keys of the mocks that answered a step, shared by its siblings: a mock keyed by a
    /// step that is journaled but never invoked (a `wait`, an interaction) answered nothing
    /// (steps and projects review).
    mocked: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Set when the host is stopping: runs stop at their next step boundary.
    stop: Arc<AtomicBool>,
    /// The longest `wait` that sleeps in the process (see [`SLEEP_LIMIT`]).
    sleep_limit: Duration,
    /// Whether a step waits out another component's compile whatever its own timeout (a
    /// command that runs a few steps and exits), rather than stop its run resumable past it
    /// (`serve`, whose other runs wait for their workers meanwhile).
    patient_compiles: bool,
    /// This process's claim on the runs it executes.
    leases: Arc<Leases>,
    /// The workspace whose event was claimed last: the next claim takes the oldest pending
    /// event of the workspace after it, so workspaces take turns (see
    /// [`Engine::claim_next_event_in`]).
    dispatch_turn: std::sync::Mutex<String>,
    /// How many times in a row each step stopped its run resumable, shared with siblings:
    /// past a few, its waits for what others hold are its own (`stops_in_a_row.rs`).
    stops: Arc<super::stops_in_a_row::StopsInARow>,
    /// How long a built-in step's statements may run once it holds the connection: a WASM
    /// host call's bound ([`StepLimits::max_call_storage`]) unless set otherwise.
    storage_bound: Duration,
}

/// A step failure, with the journal key of the step.
struct Failure {
    step: String,
    message: String,
}

/// Bytes of JSON a run's exit output may hold: it is stored with the run and read whole by
/// each `runs show`, flow answer and trace (SPEC ST-4; a rendering alone may copy 64 MiB).
pub const MAX_EXIT_OUTPUT_BYTES: usize = 16 << 20;

/// Why execution stopped before the end.
enum Halt {
    Fail(Failure),
    /// The run waits, for people (an interaction) or for a long `wait`: it goes on hold.
    Hold,
    /// The host is stopping: the run stops at a step boundary and stays `running`; every
    /// finished step is journaled, so the next start resumes it where it stopped.
    Stop,
    /// The infrastructure failed under a step (the database busy past its timeout, a full
    /// disk: SPEC WF-11). Not the step's failure: the run stops like [`Halt::Stop`], still
    /// `running` and resumable, and the step runs again when it resumes.
    Unavailable(String),
}

impl Halt {
    /// How parallel branches that paused combine: a stop outranks a hold (a stopped branch
    /// must be resumed by the next start, not by an answer or a timer).
    fn or(paused: Option<Halt>, next: Halt) -> Halt {
        match (paused, next) {
            (Some(Halt::Unavailable(why)), _) | (_, Halt::Unavailable(why)) => {
                Halt::Unavailable(why)
            }
            (Some(Halt::Stop), _) | (_, Halt::Stop) => Halt::Stop,
            _ => Halt::Hold,
        }
    }

    /// A failed host or store call of step `key`: the infrastructure's failure stops the run
    /// resumable (SPEC WF-11); any other fails the step.
    fn host(key: &str, error: Error) -> Halt {
        if error.is_infrastructure() {
            Halt::Unavailable(format!("step `{key}`: {error}"))
        } else {
            Halt::Fail(Failure {
                step: key.to_owned(),
                message: error.to_string(),
            })
        }
    }
}

impl From<Failure> for Halt {
    fn from(f: Failure) -> Self {
        Halt::Fail(f)
    }
}

/// What the rest of a step list should do.
enum Flow {
    Continue,
    Exit { status: String, output: Value },
}

/// This process's run leases: lock files beside a database file, which every process on it
/// shares; heartbeats in the database on PostgreSQL, which every host sees (issue 18).
fn leases_for(platform: &Platform) -> Leases {
    Leases::for_db(&platform.db_unbounded())
}

impl Engine {
    /// An engine; `step_dirs` resolve `step:<name>` components.
    pub fn new(
        platform: Arc<Platform>,
        runtime: Arc<StepRuntime>,
        step_dirs: Vec<PathBuf>,
    ) -> Self {
        let leases = Arc::new(leases_for(&platform));
        Self {
            runs: platform.clone(),
            platform,
            runtime,
            step_dirs,
            mocks: Default::default(),
            mocked: Arc::default(),
            stop: Arc::default(),
            sleep_limit: SLEEP_LIMIT,
            patient_compiles: false,
            leases,
            dispatch_turn: std::sync::Mutex::default(),
            stops: Arc::default(),
            storage_bound: StepLimits::default().max_call_storage,
        }
    }

    /// The workspace whose event was claimed last (see [`Engine::claim_next_event_in`]).
    pub(super) fn lock_dispatch_turn(&self) -> std::sync::MutexGuard<'_, String> {
        // A name: a panic elsewhere cannot leave it half-written.
        self.dispatch_turn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Another engine over the same platform, step runtime, step directories, stop flag and
    /// run leases: the HTTP server executes requests' runs with it. One process, one lease
    /// holder: a run the scheduler has in flight is refused to a request by the process's
    /// marks of what it executes (issue 16), and a run a request could not let go of (the
    /// database failing twice) is the scheduler's to resume, as its own are. With a lease
    /// holder of its own, such a run was held by a process alive for as long as the server
    /// ran, and no host resumed it (kill and concurrency review).
    pub fn sibling(&self) -> Engine {
        Engine {
            platform: self.platform.clone(),
            runs: self.runs.clone(),
            runtime: self.runtime.clone(),
            step_dirs: self.step_dirs.clone(),
            mocks: self.mocks.clone(),
            mocked: self.mocked.clone(),
            stop: self.stop.clone(),
            sleep_limit: self.sleep_limit,
            patient_compiles: self.patient_compiles,
            leases: self.leases.clone(),
            dispatch_turn: std::sync::Mutex::default(),
            stops: self.stops.clone(),
            storage_bound: self.storage_bound,
        }
    }

    /// Records a new run, leased to this process and marked as executing here (see
    /// [`crate::runs::lease`]).
    pub(crate) fn start_run(&self, run: NewRun<'_>) -> Result<(RunRef, Executing), Error> {
        let owner = self.lease_owner()?;
        let id = PublicId::new(IdKind::Run)?;
        // No take of this process gets the run between its record's commit and its mark.
        let _starting = self.leases.starting(&id);
        let run = self.runs.start_run(
            &NewRun {
                lease_owner: Some(owner),
                ..run
            },
            &id,
        )?;
        let executing = self.executing(&run)?;
        Ok((run, executing))
    }

    /// Marks `run`, recorded or claimed with this process's lease, as executing here.
    pub(crate) fn executing(&self, run: &RunRef) -> Result<Executing, Error> {
        self.leases.executing(run.key, &run.id)
    }

    /// Takes this process's lease now: a serving host is then seen alive from its start,
    /// before its scheduler's first round takes it (`db migrate` refuses a file a host uses).
    pub fn hold_lease(&self) -> Result<(), Error> {
        self.leases.hold()
    }

    /// This process's lease owner id, once it holds its lease.
    pub(crate) fn lease_owner(&self) -> Result<&str, Error> {
        self.leases.hold()?;
        Ok(self.leases.owner())
    }

    /// This engine with its steps waiting out other components' compiles, whatever their own
    /// timeouts: for a command that runs a few steps and exits, where a run stopped resumable
    /// is a run not done (a cold cache's compiles one after the other took longer than a
    /// step's timeout, and `flowhost test` failed on a fresh machine).
    pub fn waiting_out_compiles(mut self) -> Self {
        self.patient_compiles = true;
        self
    }

    /// This engine with another bound on a built-in step's storage work, from when it holds
    /// the connection (a WASM host call's by default).
    pub fn with_storage_bound(mut self, bound: Duration) -> Self {
        self.storage_bound = bound;
        self
    }

    /// This engine with another in-process limit for `wait` steps: longer waits hold the run.
    pub fn with_sleep_limit(mut self, limit: Duration) -> Self {
        self.sleep_limit = limit;
        self
    }

    /// The flag that stops this engine's runs at their next step boundary (set by `serve` on
    /// SIGINT or SIGTERM).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// This engine with `mocks`: each named action step returns its mock instead of running
    /// (still journaled, so replays and assertions see it like any output).
    pub fn with_mocks(
        mut self,
        mocks: std::collections::HashMap<String, Result<Value, String>>,
    ) -> Self {
        self.mocks = mocks;
        self
    }

    /// The keys of the mocks that answered a step so far.
    pub fn mocks_answered(&self) -> std::collections::HashSet<String> {
        self.mocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The platform runs act on.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Where this engine's runs are kept.
    pub(crate) fn runs(&self) -> &dyn RunStore {
        &*self.runs
    }

    /// Runs an earlier process left unfinished (see [`RunStore::interrupted_runs`]), leaving
    /// out those another live process is executing. Runs still leased to this process are
    /// included (one whose lease could not be given up when the database was busy, SPEC
    /// WF-11): the caller knows which of them it has in flight.
    pub(crate) fn platform_runs_interrupted(&self) -> Result<Vec<crate::runs::Interrupted>, Error> {
        let observed = Instant::now();
        let runs = self.runs.interrupted_runs()?;
        let mine = self.leases.owner();
        Ok(runs
            .into_iter()
            .filter(|r| {
                !r.owner
                    .as_deref()
                    .is_some_and(|o| o != mine && self.leases.alive_as_of(o, observed))
            })
            // What this process executes now (its scheduler's, its requests'): not left over.
            .filter(|r| !self.leases.is_executing(r.run))
            .collect())
    }

    /// Why this process may never lease a run again (its heartbeat went stale on
    /// PostgreSQL: other hosts may have taken its runs over); `None` while it may.
    pub(crate) fn fenced(&self) -> Option<String> {
        self.leases.fenced()
    }

    /// Picks up other processes' access changes (see [`Platform::refresh_access`]).
    pub fn refresh_access(&self) -> Result<bool, Error> {
        self.platform.refresh_access()
    }

    /// Where `step:<name>` components are found.
    pub(crate) fn step_dirs(&self) -> &[PathBuf] {
        &self.step_dirs
    }

    /// Starts and runs a manual run as `principal`, who needs `playbook.execute` in the
    /// workflow's workspace (SPEC WF-6).
    pub fn run_manual(
        &self,
        workflow: &Workflow,
        definition: &str,
        origin: &str,
        principal: Principal,
        event: Value,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, Error> {
        self.run_manual_pinned(
            workflow, definition, origin, None, None, principal, event, None, observer,
        )
    }

    /// [`Engine::run_manual`] of a definition file, its components and nested workflows
    /// pinned first (as a publish pins them, `components.rs`) and recorded with the run: the
    /// run, resumed too, runs exactly what it started with, whatever step directories or files
    /// the resuming process finds. Nothing is stored for someone who may not run it.
    pub fn run_file(
        &self,
        workflow: &Workflow,
        definition: &str,
        origin: &str,
        principal: Principal,
        event: Value,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, Error> {
        self.may_start(&principal, &workflow.workspace)?;
        let mut found = super::components::collect(definition, &workflow.resolver)?;
        // A nested file that asks people is its runner's asking too, refused before anything
        // runs (round 23 engine review: the steps before it made their effects first).
        if super::components::collect_nested(workflow, &mut found)? {
            self.platform
                .authorize(&principal, &workflow.workspace, Scope::InteractionWrite)?;
        }
        let pins = self
            .platform
            .transact(|tx| super::components::store(tx, &found))?;
        let pins_text =
            serde_json::to_string(&pins).map_err(|e| Error::Internal(format!("pins: {e}")))?;
        let resolver = self.platform.pinned_resolver(origin, &pins)?;
        let pinned = parse(origin, definition, &resolver)
            .map_err(|errors| Error::Invalid(joined(&errors)))?;
        self.run_manual_pinned(
            &pinned,
            definition,
            origin,
            Some(&pins_text),
            None,
            principal,
            event,
            None,
            observer,
        )
    }

    /// [`Engine::run_manual`] of a published revision, recording the components it pinned
    /// (JSON) so that a resumed run runs them, and who answers for what it asks of people
    /// (`binder`, stored: its publisher or share's acceptor; `None`: its runner, for a file).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_manual_pinned(
        &self,
        workflow: &Workflow,
        definition: &str,
        origin: &str,
        components: Option<&str>,
        binder: Option<&str>,
        principal: Principal,
        event: Value,
        request: Option<StartKey<'_>>,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, Error> {
        // A long-lived engine decides with the access data as it is now, not as it was when
        // it started (one read when nothing changed; on a failed read the index stays as it
        // was). Each step refreshes again (`Exec::action`).
        self.may_start(&principal, &workflow.workspace)?;
        // A published revision's binder must still act here (fail closed, naming nobody).
        let vouched = binder
            .map(|b| principal_from_stored(b, "workflow_revisions", "publisher", &workflow.name))
            .transpose()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let vouched_for = |engine: &Self| match &vouched {
            Some(b) if !engine.platform.index().binder_acts(b, &workflow.workspace) => Err(
                super::run_standing::no_standing(&workflow.name, &workflow.workspace),
            ),
            _ => Ok(()),
        };
        vouched_for(self)?;
        // Not by hand, whatever the door (a file, a harness's `when.run`): an Interaction
        // Flow's steps read a form's checked answers and the responder its settings allowed,
        // which a forged event would hand them unchecked (round 21 hostile-input review;
        // round 23 steps review: the harness ran one so). `run --published` refuses it too.
        if workflow.trigger.on == crate::definition::model::TriggerKind::Interaction {
            return Err(Error::Invalid(format!(
                "`{}` is an Interaction Flow: it starts through its form once published \
                 (`flowhost interact start`, the API's or the web's flow start), or as a \
                 `flowhost test` file's start (SPEC IX-4)",
                workflow.name
            )));
        }
        // A definition its runner answers for (a file, a harness's run) that asks people is
        // their asking, as publishing it would be: refused before anything runs (round 23
        // authority review). One a nested file asks is refused where it would open
        // (`Exec::interaction`).
        if binder.is_none() && workflow.asks_people() {
            self.platform
                .authorize(&principal, &workflow.workspace, Scope::InteractionWrite)?;
        }
        let stored = principal_to_stored(&principal);
        let binder = binder.map_or_else(|| stored.clone(), str::to_owned);
        let (id, executing) = self.start_run(NewRun {
            workflow: &workflow.name,
            workspace: &workflow.workspace,
            principal: &stored,
            event: &event,
            definition,
            source: origin,
            lease_owner: None,
            components,
            binder: Some(&binder),
            audit: None,
            request,
        })?;
        // Decided again once its row has committed (SPEC WF-6): an access write committed
        // before it (the starter's role narrowed, their key revoked, after the look above)
        // is seen now, and the run ends before its first step; one committed after it came
        // after the start. Its steps that consult access decide for themselves (authority
        // review: a run started on a decision the lock did not cover).
        if let Err(e) = self
            .may_start(&principal, &workflow.workspace)
            .and_then(|()| vouched_for(self))
        {
            let why = match &e {
                // A binder who no longer acts is a conflict (`run_standing::no_standing`).
                Error::Denied(_) | Error::NotFound(_) | Error::Conflict(_) => {
                    format!("refused as it started: {e}")
                }
                // Not decided (the access data did not read): it ends too, rather than be
                // resumed by a scheduler with nobody's decision behind it (review); the
                // starter is told the infrastructure's failure and may start it again.
                _ => "its start could not be decided (the access data did not read); start \
                      it again"
                    .to_owned(),
            };
            // Its key answers no retry with this ending: the retry is decided anew (round
            // 19 self-review: a 503's "start it again" answered the ended run for good), as
            // a start refused before its commit recorded nothing.
            let key = request.as_ref().map(|r| (workflow.workspace.as_str(), r));
            self.end_before_its_steps_forgetting(id, executing, why, key)?;
            return Err(e);
        }
        Ok(self.execute(
            &id,
            executing,
            Journal::New,
            workflow,
            held_by_binder_too(principal, vouched),
            event,
            0,
            observer,
        ))
    }

    /// `Ok` if `principal` may start a run in `workspace` (SPEC WF-6), on the access data as
    /// it is now, not as this long-lived engine last read it (one read when nothing changed).
    fn may_start(&self, principal: &Principal, workspace: &str) -> Result<(), Error> {
        self.platform.refresh_access()?;
        self.platform
            .authorize(principal, workspace, Scope::PlaybookExecute)
    }

    /// Whether run `run` (by its internal key) is unfinished, as stored; a row that does not
    /// read counts as unfinished.
    pub(super) fn is_unfinished(&self, run: i64) -> bool {
        self.runs
            .run_resume_data(run)
            .map_or(true, |data| data.status.is_unfinished())
    }

    /// Resumes an unfinished run (by its internal key): journaled steps are replayed, the rest
    /// executed.
    pub fn resume(&self, run: i64, observer: &dyn Observer) -> Result<RunOutcome, Error> {
        let once = self.resume_once(run, observer)?;
        Ok(self.carried_on(once, observer))
    }

    /// [`Engine::resume`] up to the run's end or hold, or until it is to go on (see
    /// [`Executed`]).
    fn resume_once(&self, run: i64, observer: &dyn Observer) -> Result<Executed, Error> {
        let ResumeData {
            id,
            definition,
            source,
            principal,
            event,
            status,
            depth,
            workspace,
            components,
            trigger_case,
            rules,
        } = self.runs.run_resume_data(run)?;
        if !status.is_unfinished() {
            return Err(Error::Conflict(format!(
                "run {id} is {status}; only unfinished runs resume"
            )));
        }
        // A run of a published revision runs the components it started with (issue 14).
        let file_resolver = || Resolver {
            stored: true,
            ..Resolver::for_file(std::path::Path::new(&source), self.step_dirs.clone())
        };
        let loaded = match super::components::read_pins(components, &format!("run {id}")) {
            Ok(Some(pins)) => match self.platform.pinned_resolver(&source, &pins) {
                Ok(resolver) => Ok(resolver),
                // The host failed (a busy database, a full disk): it stays resumable.
                Err(e) if e.is_infrastructure() || matches!(e, Error::Internal(_)) => {
                    return Err(e);
                }
                // Its pinned parts are gone or damaged for good (not in the database, bytes
                // not their digest): it can never go on, and ends failed saying why, as a run
                // of the revision an event triggers does. It stayed `running`, retried for
                // hours by every host, a webhook's runs first (round 27 engine review).
                Err(e) => Err(e.to_string()),
            },
            Ok(None) => Ok(file_resolver()),
            Err(e) => Err(e.to_string()),
        }
        .and_then(|resolver| {
            parse(&source, &definition, &resolver).map_err(|errors| {
                format!(
                    "the definition this run started with no longer reads: {}",
                    joined(&errors)
                )
            })
        });
        let mut workflow = match loaded {
            Ok(workflow) => workflow,
            Err(why) => {
                // The definition it started with does not read under this host's rules (a
                // bound added since, such as a step's longest timeout): it can never go on.
                // It ends failed saying why, rather than staying `running` for every host to
                // try again after every restart (review of this session's bounds). So do its
                // pinned components' list, should it not read.
                self.lease_owner()?;
                let executing = self.leases.take(&*self.runs, run)?;
                return self
                    .end_before_its_steps(RunRef { key: run, id }, executing, why)
                    .map(Executed::Ended);
            }
        };
        // A run of a shared workflow acts in the workspace it was started in (SPEC SH-1).
        if workflow.workspace != workspace {
            workflow.shared_from = Some(std::mem::replace(&mut workflow.workspace, workspace));
        }
        // One process executes a run at a time, and it once.
        self.lease_owner()?;
        let executing = self.leases.take(&*self.runs, run)?;
        let principal = principal_from_stored(&principal, "runs", "principal", format!("run {id}"))
            .map_err(|e| self.let_go(run, Error::Internal(e.to_string())))?;
        // What it saw was visible to its identity when it was claimed; a run resumed later
        // (after a wait, an answer, a restart) goes on only while it still is.
        let shared = workflow.shared_from.is_some();
        // A shared workflow's run stored before shared runs were marked: whether its identity
        // bound itself was never decided, so it acts with nothing of its own here (fail
        // closed; storage review: it kept its identity's power in the destination).
        let principal = match principal {
            Principal::Run(mut run) if shared && !run.shared => {
                run.shared = true;
                run.borrowed = true;
                Principal::Run(run)
            }
            principal => principal,
        };
        // A hand run of a published revision holds what its binder holds too, as it started.
        let acting = match &principal {
            Principal::Run(_) => principal.clone(),
            starter => {
                let binder = self
                    .runs
                    .run_binder(run)
                    .and_then(|b| {
                        b.map(|b| principal_from_stored(&b, "runs", "binder", format!("run {id}")))
                            .transpose()
                            .map_err(|e| Error::Internal(e.to_string()))
                    })
                    .map_err(|e| self.let_go(run, e))?;
                held_by_binder_too(starter.clone(), binder)
            }
        };
        // A run an event started reads as a listener does, as when it started (below).
        let listener = depth > 0;
        match self.no_longer_sees(
            run,
            &principal,
            &acting,
            &workflow.workspace,
            shared,
            trigger_case,
            listener,
        ) {
            Ok(None) => {}
            Ok(Some(why)) => {
                return self
                    .end_before_its_steps(RunRef { key: run, id }, executing, why)
                    .map(Executed::Ended);
            }
            Err(e) => return Err(self.let_go(run, e)),
        }
        Ok(self.execute_once(
            &RunRef { key: run, id },
            executing,
            Journal::Look,
            &workflow,
            acting,
            event,
            depth,
            rules,
            observer,
        ))
    }

    /// Why run `run` may not go on as `principal` (stored; `acting`: as it acts, a hand run
    /// held by its binder too) in `workspace`, if it may not: its identity
    /// (unless `shared`: then its source's) or whoever bound it no longer acts there (WF-10),
    /// or the case
    /// whose event started it, or a restricted case it holds in its context (read by its
    /// steps, or by the run whose custom event started it), is no longer visible to it. A
    /// restriction made while it waited for a worker, an answer or a restart holds for its
    /// steps too: they would copy what it read elsewhere (SPEC CS-2, WF-10 "now"; case
    /// visibility and leak reviews). The reason names none of the cases.
    ///
    /// `listener`: a run an event started, whose identity must also still hold `case.read`
    /// for the restricted cases its event came with, as it had to when the event was matched
    /// (round 22 leak review: a custom event's run started after its identity lost it, where a
    /// case event's run ended); the cases it read or created itself need sight alone.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn no_longer_sees(
        &self,
        run: i64,
        principal: &Principal,
        acting: &Principal,
        workspace: &str,
        shared: bool,
        trigger_case: Option<i64>,
        listener: bool,
    ) -> Result<Option<String>, Error> {
        // Whoever bound its identity must still act here (SPEC WF-10, fail closed), on
        // current access data: a run recorded, waiting for a worker, or put on hold while
        // they did went on after their removal, opening interactions in their name
        // (authority review). Naming nobody.
        self.platform.refresh_access()?;
        let index = self.platform.index();
        // Its identity too, unless shared (then it is its source's: SPEC SH-1): a removed
        // `run_as` person's paused runs went on asking people (authority review).
        if !index.run_goes_on(principal, workspace, shared) {
            return Ok(Some(format!(
                "the identity this run acts as, or whoever bound it, no longer acts in \
                 `{workspace}`; the run ends here (SPEC WF-10)"
            )));
        }
        // A person's or a key's own run goes on while they may still run workflows here (a
        // run of a published revision is decided by its binder, above): one left unfinished
        // by a start that could not be decided, or resumed after its starter's demotion,
        // went on with their power gone (review).
        if !matches!(principal, Principal::Run(_))
            && !index
                .check(principal, workspace, Scope::PlaybookExecute)
                .allowed()
        {
            return Ok(Some(format!(
                "whoever started this run may no longer run workflows in `{workspace}`; the \
                 run ends here (SPEC WF-6)"
            )));
        }
        // Nor one started by hand of a published revision whose binder (its publisher, or its
        // share's acceptor) no longer acts here (round 29 authority review: it went on).
        if !matches!(principal, Principal::Run(_))
            && let Some(binder) = self.runs.run_binder(run)?
            && binder != principal_to_stored(principal)
            && !index.binder_acts(
                &principal_from_stored(&binder, "runs", "binder", "this run")
                    .map_err(|e| Error::Internal(e.to_string()))?,
                workspace,
            )
        {
            return Ok(Some(format!(
                "whoever bound this run no longer acts in `{workspace}`; the run ends here \
                 (SPEC WF-10)"
            )));
        }
        // The reasons below name nobody: a run's error is read by whoever sees the run, to
        // whom its identity may be another workspace's (a shared flow's) or a key id they
        // are not told (round 24 leaks review). Judged as the run acts (`acting`: a hand
        // run held by its binder too, round 30 self-review), not as its starter alone.
        let caller = Caller::of(acting, workspace);
        if let Some(case) = trigger_case {
            match self
                .platform
                .case_ref(case)
                .and_then(|text| self.platform.get_case(&caller, &text))
            {
                Ok(_) => {}
                Err(Error::NotFound(_)) => {
                    return Ok(Some(
                        "the case that started this run is no longer visible to the identity \
                         it acts as; the run ends here"
                            .to_owned(),
                    ));
                }
                Err(Error::Denied(_)) => {
                    return Ok(Some(
                        "the identity this run acts as may no longer read the case that \
                         started it; the run ends here"
                            .to_owned(),
                    ));
                }
                // The infrastructure, or a row that does not read: not the run's to end.
                Err(e) => return Err(e),
            }
        }
        // What an event started it with (the reads of the runs before it in its chain) needs
        // `case.read` as at its match; what it read or created itself, sight alone (a run
        // creating restricted cases with `case.write` alone goes on: self-review of 3dd2f7b).
        // Its own reads are numbered from 1: up to 0 are only those it was started with.
        // Both as the cases stand now: the run was matched on them as they stood when read,
        // and holds them since (`triggers.rs`).
        if listener
            && !self.sees_what_run_read(
                acting,
                workspace,
                crate::cases::RunReads::at_event(run, Some(0)),
                true,
                crate::cases::Judged::Now,
            )?
        {
            return Ok(Some(
                "the identity this run acts as may no longer read the cases it was started \
                 with; the run ends here"
                    .to_owned(),
            ));
        }
        if !self.sees_what_run_read(
            acting,
            workspace,
            crate::cases::RunReads::all(run),
            false,
            crate::cases::Judged::Now,
        )? {
            return Ok(Some(
                "a case this run read is no longer visible to the identity it acts as; the run \
                 ends here"
                    .to_owned(),
            ));
        }
        Ok(None)
    }

    /// Ends run `run` (leased and marked executing here) failed with `why` before it resumes
    /// a step: it can never go on.
    pub(super) fn end_before_its_steps(
        &self,
        run: RunRef,
        executing: Executing,
        why: String,
    ) -> Result<RunOutcome, Error> {
        self.end_before_its_steps_forgetting(run, executing, why, None)
    }

    /// [`Engine::end_before_its_steps`], forgetting the start key the run was made with
    /// (`(workspace, key)`) in the same transaction ([`RunStore::end_unstarted`]).
    fn end_before_its_steps_forgetting(
        &self,
        run: RunRef,
        executing: Executing,
        why: String,
        key: Option<(&str, &StartKey<'_>)>,
    ) -> Result<RunOutcome, Error> {
        let end = RunEnd {
            status: RunStatus::Failed,
            exit_status: None,
            output: None,
            error: Some(&why),
        };
        self.runs
            .end_unstarted(run.key, self.leases.owner(), &end, key)
            .map_err(|e| self.let_go(run.key, e))?;
        drop(executing);
        Ok(RunOutcome::unfinished(&run, RunStatus::Failed, Some(why)))
    }

    /// `e`, after giving up this process's lease of `run`, which it took and does not go on
    /// with: left leased to a live process with nothing executing it, no host resumed it
    /// until that process ended (its own scheduler resumes only its own leftovers; kill and
    /// concurrency review). Best effort: a database that refused the work may refuse this
    /// too, and then the run waits for this process to end.
    pub(super) fn let_go(&self, run: i64, e: Error) -> Error {
        self.give_up_lease(run);
        e
    }

    /// Gives up this process's lease of `run`, if it holds it, waking the other hosts. Best
    /// effort, as [`Engine::let_go`].
    pub(super) fn give_up_lease(&self, run: i64) {
        let _ = self.runs.give_up_lease(run, self.leases.owner());
    }

    /// Executes run `run` (leased to this process, and marked as executing here by
    /// `executing`, recorded by this host: under [`RunRules::CURRENT`]) to the end and
    /// records how it ended.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn execute(
        &self,
        run_ref: &RunRef,
        executing: Executing,
        journal: Journal,
        workflow: &Workflow,
        principal: Principal,
        event: Value,
        depth: u32,
        observer: &dyn Observer,
    ) -> RunOutcome {
        let once = self.execute_once(
            run_ref,
            executing,
            journal,
            workflow,
            principal,
            event,
            depth,
            RunRules::CURRENT,
            observer,
        );
        self.carried_on(once, observer)
    }

    /// The outcome of `executed`, resuming its run here for as long as it is to go on: a loop,
    /// where a resume from inside the execution nested one call per arrival, each holding
    /// its context, until a steady flow of answers overflowed the thread's stack and ended
    /// the process (kill and concurrency review).
    fn carried_on(&self, mut executed: Executed, observer: &dyn Observer) -> RunOutcome {
        loop {
            let run_ref = match executed {
                Executed::Ended(outcome) => return outcome,
                Executed::GoesOn(run_ref) => run_ref,
            };
            executed = match self.resume_once(run_ref.key, observer) {
                Ok(next) => next,
                // Another request took it up first: it goes on there.
                Err(e) if crate::runs::lease::leased_elsewhere(&e) => {
                    return RunOutcome::unfinished(&run_ref, RunStatus::Running, None);
                }
                Err(e) => {
                    // Not left leased to this process with nothing executing it (unless
                    // another request of it is): any host may resume it.
                    if let Ok(_mark) = self.leases.executing(run_ref.key, &run_ref.id) {
                        let _ = self.runs.give_up_lease(run_ref.key, self.leases.owner());
                    }
                    let why = format!("the run could not be resumed: {e}");
                    return RunOutcome::unfinished(&run_ref, RunStatus::Running, Some(why));
                }
            };
        }
    }

    /// [`Engine::execute`] up to the run's end or hold, or until it is to go on.
    #[allow(clippy::too_many_arguments)]
    fn execute_once(
        &self,
        run_ref: &RunRef,
        executing: Executing,
        journal: Journal,
        workflow: &Workflow,
        principal: Principal,
        event: Value,
        depth: u32,
        rules: RunRules,
        observer: &dyn Observer,
    ) -> Executed {
        let run = run_ref.key;
        // Its work is its organization's to those who wait behind it (`deadline::label`).
        let _label =
            crate::store::deadline::label(&self.platform.index().tenant_of(&workflow.workspace));
        // Counted while it executes: batches of commits wait for the runs in flight
        // (`store/batch.rs`).
        let in_flight = self.platform.in_flight();
        let mut principal = principal;
        // What a run does is audited under its id (SPEC AU-1, WF-10).
        if let Principal::Run(r) = &mut principal {
            r.run = Some(run_ref.id.clone());
        }
        let caller = Caller {
            workspace: workflow.workspace.clone(),
            principal,
            cause: Some(Cause {
                run,
                depth,
                read_upto: None,
            }),
            step: None,
        };
        let mut lease = LeaseGuard {
            runs: &*self.runs,
            run,
            owner: self.leases.owner(),
            released: false,
            executing: Some(executing),
        };
        // Only a run with journaled steps replays; a fresh run skips the lookup per step (and
        // a run this process has just recorded, the lookup itself: one use of the shared
        // connection less per run).
        let replay = match journal {
            Journal::New => false,
            Journal::Look => self.runs.has_journal(run).unwrap_or(true),
        };
        let pending = Pending::default();
        let threads = Slots::new(MAX_RUN_THREADS);
        let held = Held::counting(rules.counting());
        let reached = std::sync::Mutex::new(Vec::new());
        let nested = NestedWorkflows::default();
        let exec = Exec {
            engine: self,
            workflow,
            run,
            caller,
            observer,
            depth: 0,
            rules,
            replay,
            pending: &pending,
            waiting: std::sync::Mutex::new(Vec::new()),
            threads: &threads,
            held: &held,
            reached: &reached,
            nested: &nested,
        };
        let mut ctx = json!({ "event": event, "vars": workflow.vars, "steps": {} });
        let (status, exit_status, output, error) = match exec.steps(&workflow.steps, &mut ctx, "") {
            Ok(Flow::Continue) => (RunStatus::Succeeded, None, Value::Null, None),
            Ok(Flow::Exit { status, output }) => (RunStatus::Succeeded, Some(status), output, None),
            Err(Halt::Hold) => {
                let waiting_on = exec.waiting.into_inner().unwrap_or_else(|p| p.into_inner());
                let mut held = true;
                let error = pending
                    .commit(|entries| {
                        held = self.runs.hold_run(run, self.leases.owner(), entries)?;
                        Ok(())
                    })
                    .err()
                    .map(|e| format!("the run could not be put on hold: {e}"));
                lease.released = error.is_none() && held;
                // What it waited for arrived meanwhile (an answer, a timeout), or arrived
                // just after the hold while its resume was turned away by this execution's
                // mark: go on now (counted once, by the resumed execution, which takes the
                // lease and the mark over). A turned-away resume alone is no reason (a flood of
                // them would re-execute the run without end): only an arrival is, and each
                // arrives once.
                let knocked = error.is_none() && lease.leave();
                // Only an arrival is a reason to go on, and each arrival is taken up by a step
                // of the resumed execution, so this goes on a bounded number of times. A hold refused with
                // nothing arrived (another host holds the run now, or its stored rows say
                // it waits for nothing) ends this execution instead: before, it resumed the
                // run again and again, until the stack overflowed (robustness review).
                let arrived = error.is_none()
                    && (knocked || !held)
                    && self.runs.wait_is_over(run).unwrap_or(true);
                if error.is_none() && !held && !arrived {
                    let why = "the run could not be put on hold: nothing it waits for is \
                               open, and nothing it waited for has arrived (its stored rows \
                               disagree)";
                    return Executed::Ended(RunOutcome::unfinished(
                        run_ref,
                        RunStatus::Running,
                        Some(why.into()),
                    ));
                }
                // What arrived is for steps this execution did not reach, and the next,
                // replaying the same journal, does not reach them either: held for what it
                // still waits for rather than resumed again without end (a run whose replay
                // took another path than it journaled, such as one recorded under other
                // engine rules by an older host: round 23 self-review D).
                if arrived && !held {
                    let reached = reached.into_inner().unwrap_or_else(|p| p.into_inner());
                    let stuck =
                        match self
                            .runs
                            .hold_out_of_reach(run, self.leases.owner(), &reached)
                        {
                            Ok(OutOfReach::Reachable) => None,
                            Ok(OutOfReach::Held) => Some((RunStatus::OnHold, None)),
                            Ok(OutOfReach::NothingOpen) => Some((
                                RunStatus::Running,
                                Some(
                                    "the run could not be put on hold: what arrived for it (an \
                                     answer, a due wait) is for steps its replay no longer \
                                     reaches, and nothing it reaches is open"
                                        .to_owned(),
                                ),
                            )),
                            Err(e) => Some((
                                RunStatus::Running,
                                Some(format!("the run could not be put on hold: {e}")),
                            )),
                        };
                    if let Some((status, why)) = stuck {
                        lease.released = status == RunStatus::OnHold;
                        return Executed::Ended(RunOutcome {
                            waiting_on,
                            ..RunOutcome::unfinished(run_ref, status, why)
                        });
                    }
                }
                if arrived {
                    lease.released = true;
                    drop(lease);
                    drop(in_flight);
                    return Executed::GoesOn(run_ref.clone());
                }
                // Not held (another host holds or ended the run): not said to be on hold.
                let status = if error.is_some() {
                    RunStatus::Running
                } else {
                    RunStatus::OnHold
                };
                return Executed::Ended(RunOutcome {
                    waiting_on,
                    ..RunOutcome::unfinished(run_ref, status, error)
                });
            }
            Err(halt @ (Halt::Stop | Halt::Unavailable(_))) => {
                // Left `running`: the next start resumes it after its last journaled step.
                let committed = pending
                    .commit(|entries| self.runs.release_run(run, self.leases.owner(), entries))
                    .err()
                    .map(|e| format!("the finished steps could not be journaled: {e}"));
                lease.released = committed.is_none();
                let error = match (halt, committed) {
                    (Halt::Unavailable(why), None) => Some(format!(
                        "stopped, resumable: {why} (`flowhost runs resume {}` or `serve` goes on)",
                        run_ref.id
                    )),
                    (Halt::Unavailable(why), Some(more)) => Some(format!(
                        "stopped, resumable: {why}; and {more} (`flowhost runs resume {}` or `serve` goes on)",
                        run_ref.id
                    )),
                    (_, committed) => committed,
                };
                return Executed::Ended(RunOutcome::unfinished(run_ref, RunStatus::Running, error));
            }
            Err(Halt::Fail(f)) => (
                RunStatus::Failed,
                None,
                Value::Null,
                Some(format!("step `{}` failed: {}", f.step, f.message)),
            ),
        };
        // The run's outcome is already decided; a journal failure here is reported, not hidden.
        let end = RunEnd {
            status,
            exit_status: exit_status.as_deref(),
            output: Some(&output),
            error: error.as_deref(),
        };
        let recorded = pending.commit(|entries| {
            self.runs
                .finish_run(run, self.leases.owner(), &end, entries)
        });
        lease.released = recorded.is_ok();
        let (status, error) = match recorded {
            Ok(()) => (status, error),
            // Not recorded, so not ended: still `running`, and a resume replays what was
            // journaled and runs the rest again (SPEC WF-11).
            Err(e) if e.is_infrastructure() => (
                RunStatus::Running,
                Some(format!(
                    "stopped, resumable: its end could not be recorded: {e} (`flowhost runs resume {}` or `serve` goes on)",
                    run_ref.id
                )),
            ),
            Err(e) => (
                status,
                Some(format!(
                    "{}; and the run could not be recorded: {e}",
                    error.unwrap_or_default()
                )),
            ),
        };
        Executed::Ended(RunOutcome {
            run_key: run,
            run_id: run_ref.id.clone(),
            status,
            exit_status,
            output,
            error,
            waiting_on: Vec::new(),
        })
    }
}

/// How one execution of a run ended: with its outcome, or with what it waited for arrived
/// as it was put on hold, so that it is to go on ([`Engine::carried_on`] resumes it).
enum Executed {
    Ended(RunOutcome),
    GoesOn(RunRef),
}

/// Whether a run about to execute may have journaled steps to replay.
#[derive(Clone, Copy)]
pub(crate) enum Journal {
    /// Recorded by this process just now: nothing is journaled yet.
    New,
    /// Resumed or claimed: look in the journal.
    Look,
}

/// Gives up this process's lease of a run that did not reach a recorded end (a failed write,
/// a panic), so that the run is not blocked for as long as this process lives. A recorded end
/// (finish, hold, stop) gives the lease up in its own transaction.
struct LeaseGuard<'a> {
    runs: &'a dyn RunStore,
    run: i64,
    owner: &'a str,
    released: bool,
    /// Dropped after the lease is given up: the run is this process's to execute again.
    executing: Option<Executing>,
}

impl LeaseGuard<'_> {
    /// Ends the mark that this process executes the run (see [`Executing::leave`]).
    fn leave(&mut self) -> bool {
        self.executing.take().is_some_and(Executing::leave)
    }
}

impl Drop for LeaseGuard<'_> {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.runs.give_up_lease(self.run, self.owner);
        }
    }
}

/// One run in progress.
struct Exec<'a> {
    engine: &'a Engine,
    workflow: &'a Workflow,
    run: i64,
    caller: Caller,
    observer: &'a dyn Observer,
    depth: usize,
    /// The engine rules the run started under.
    rules: RunRules,
    /// Whether finished steps may be in the journal (a resumed run).
    replay: bool,
    /// Finished steps not journaled yet (see [`super::pending`]).
    pending: &'a Pending,
    /// Interactions this execution stopped to wait on.
    waiting: std::sync::Mutex<Vec<PublicId>>,
    /// The run's helper-thread slots, shared with its nested workflows (see [`fanout`]).
    threads: &'a Slots,
    /// What its WASM steps' outputs hold so far, shared with its nested workflows
    /// ([`super::held`]).
    held: &'a Held,
    /// The keys of the interactions and waits this execution stopped at, shared with its
    /// nested workflows (see [`RunStore::hold_out_of_reach`]).
    reached: &'a std::sync::Mutex<Vec<String>>,
    /// The nested workflows the run has read, by path, shared with its nested workflows: read
    /// and parsed once a run, not at every call (round 26 engine review: a loop calling a
    /// large nested file parsed and copied it at each of its iterations, counted by nothing).
    nested: &'a NestedWorkflows,
}

/// The nested workflows a run has read and parsed, by path (see [`Exec::nested`]).
type NestedWorkflows =
    std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, Arc<Workflow>>>;

impl Exec<'_> {
    /// `step`, the interaction or wait at `key`, noting the key when it holds the run: only
    /// where an execution stops can an arrival it did not take be within its reach (one it
    /// went through is journaled). Noting every one it passed kept a key per wait of a long
    /// loop, rebuilt at each resume (round 25 review of round 24).
    fn reaching<T>(&self, key: &str, step: impl FnOnce() -> Result<T, Halt>) -> Result<T, Halt> {
        let result = step();
        if matches!(result, Err(Halt::Hold)) {
            self.reached
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(key.to_owned());
        }
        result
    }

    /// Records a finished step; its entry commits with the run's next write (see
    /// [`super::pending`]).
    fn journal(
        &self,
        key: &str,
        result: Result<Value, String>,
        attempts: u32,
        elapsed: Duration,
        record: Option<StepRecordData>,
    ) {
        self.pending.push(Finished {
            key: key.to_owned(),
            result,
            attempts,
            duration_us: i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX),
            record,
        });
    }

    /// Sleeps for `duration`, or stops early with [`Halt::Stop`] if the host stops.
    fn sleep(&self, duration: Duration) -> Result<(), Halt> {
        // Checked: a duration is capped when parsed, but an overflow must never panic a run.
        let until = Instant::now().checked_add(duration);
        // No commit need wait for this run while it sleeps.
        let _idle = self.engine.platform.idle();
        loop {
            if self.engine.stopping() {
                return Err(Halt::Stop);
            }
            self.lease_held()?;
            let left = until.map_or(STOP_POLL, |u| u.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(STOP_POLL));
        }
    }

    /// Stops the run, resumable, when this host's lease on it may be lost (its heartbeat on
    /// PostgreSQL not current: another host may take the run over, issue 18).
    fn lease_held(&self) -> Result<(), Halt> {
        match self.engine.leases.lapsed() {
            None => Ok(()),
            Some(why) => Err(Halt::Unavailable(why)),
        }
    }

    /// Commits the entries of every finished step now.
    fn settle(&self) -> Result<(), Error> {
        self.pending.commit(|entries| {
            let owner = self.engine.leases.owner();
            self.engine.runs.journal_steps(self.run, owner, entries)
        })
    }

    fn steps(&self, steps: &[Step], ctx: &mut Value, prefix: &str) -> Result<Flow, Halt> {
        for step in steps {
            if self.engine.stopping() {
                return Err(Halt::Stop);
            }
            self.lease_held()?;
            if let Flow::Exit { status, output } = self.step(step, ctx, prefix)? {
                return Ok(Flow::Exit { status, output });
            }
        }
        Ok(Flow::Continue)
    }

    /// How far the run has read restricted cases so far (`run_cases.seq`): what an event it
    /// writes later may quote.
    fn read_upto(&self, key: &str) -> Result<i64, Halt> {
        let platform = &self.engine.platform;
        platform
            .db()
            .and_then(|db| crate::cases::run_read_upto(db.conn(), self.run))
            .map_err(|e| Halt::host(key, e))
    }

    /// Counts the outputs of inner `loops` an iteration made as copies the outer loop's output
    /// holds beside the inner loop's own (see [`MAX_RUN_LOOP_COPIES`]): loops of one item
    /// nested 30 deep held 30 copies of what the innermost made.
    fn hold_inner_loops(&self, outputs: &Value, loops: &[&str]) -> Result<(), String> {
        loops
            .iter()
            .filter_map(|id| Some((*id, outputs.get(*id)?)))
            .try_for_each(|(id, output)| {
                let bytes = crate::json_limits::text_len(output);
                // Named: since round 25 a nested workflow's output counts too, and "an inner
                // loop's" named a step the author never wrote (round 26 review).
                self.held.copy_loop(bytes).map_err(|left| {
                    format!(
                        "the output of `{}` ({bytes} bytes) would be copied into the outer \
                         loop's, and a run's nested loops and workflows may copy \
                         {MAX_RUN_LOOP_COPIES} bytes of outputs in all, {left} of them left \
                         (SPEC ST-4)",
                        crate::text::clip(id)
                    )
                })
            })
    }

    /// Takes a fresh `output` into what the run holds, or fails saying which bound it passes.
    fn hold(&self, output: &Value) -> Result<(), String> {
        self.held
            .take(self.held.size_of(output))
            .map_err(|size| super::held::refusal(size, self.held.left()))
    }

    /// Whether a run resumed here journaled step `key` before keys were capped: its steps
    /// replay as they ran (review: a run started earlier failed at its first long key).
    fn journaled_before_the_cap(&self, key: &str) -> Result<bool, Halt> {
        if !self.replay {
            return Ok(false);
        }
        let entry = self
            .engine
            .runs
            .journaled_output(self.run, key)
            .map_err(|e| Halt::host(key, e))?;
        Ok(entry.is_some())
    }

    fn step(&self, step: &Step, ctx: &mut Value, prefix: &str) -> Result<Flow, Halt> {
        let key = format!("{prefix}{}", step.id);
        // A key grows with nested workflows and loops: bounded, it keys the step's journal
        // entry, interaction, timer and case idempotency in every store (PostgreSQL indexes
        // no entry past ~2.7 KB; review).
        if key.len() > MAX_STEP_KEY_BYTES && !self.journaled_before_the_cap(&key)? {
            return Err(Failure {
                step: crate::text::clip(&key).into_owned(),
                message: format!(
                    "this step's key (its place among nested workflows and loop iterations) is \
                     {} bytes long; at most {MAX_STEP_KEY_BYTES} are allowed",
                    key.len()
                ),
            }
            .into());
        }
        let fail = |message: String| Failure {
            step: key.clone(),
            message,
        };
        self.held.step().map_err(fail)?;
        match &step.kind {
            StepKind::Action {
                uses,
                with,
                grants,
                timeout,
                retry,
            } => {
                let output = self.action(&key, uses, with, *grants, *timeout, *retry, ctx)?;
                put_output(ctx, &step.id, output, self.held.next_stamp());
            }
            StepKind::If {
                conditions,
                then,
                otherwise,
            } => {
                let branch = if self.all_hold(conditions, ctx).map_err(fail)? {
                    then
                } else {
                    otherwise
                };
                return self.steps(branch, ctx, prefix);
            }
            StepKind::Switch { cases, default } => {
                for (when, body) in cases {
                    if self.all_hold(when, ctx).map_err(fail)? {
                        return self.steps(body, ctx, prefix);
                    }
                }
                return self.steps(default, ctx, prefix);
            }
            StepKind::Loop {
                over,
                parallel,
                break_if,
                body,
            } => {
                let items = match self.render(over, ctx).map_err(fail)? {
                    Value::Array(items) if items.len() > MAX_LOOP_ITEMS => {
                        return Err(fail(format!(
                            "`loop.over` has {} items; a loop goes over at most {MAX_LOOP_ITEMS} (split the list)",
                            items.len()
                        ))
                        .into());
                    }
                    Value::Array(items) => items,
                    other => {
                        return Err(fail(format!(
                            "`loop.over` must be an array, got {}",
                            crate::text::clip(&other.to_string())
                        ))
                        .into());
                    }
                };
                let collected = match parallel {
                    Some(cap) if *cap > 1 => {
                        // Each part in flight works on a copy, reused by the next iteration.
                        let copies = items.len().min(*cap as usize);
                        self.copies_of(ctx, copies).map_err(fail)?;
                        self.parallel_loop(&step.id, &items, body, ctx, prefix, *cap as usize)?
                    }
                    _ => self.sequential_loop(&step.id, &items, body, break_if, ctx, prefix)?,
                };
                put_output(
                    ctx,
                    &step.id,
                    Value::Array(collected),
                    self.held.next_stamp(),
                );
            }
            StepKind::Parallel { branches } => {
                self.copies_of(ctx, branches.len()).map_err(fail)?;
                let base: &Value = ctx;
                let outcome = self.group(branches.len()).run(
                    branches.len(),
                    |i| {
                        let mut local = base.clone();
                        self.steps(&branches[i], &mut local, prefix)
                            .map(|f| (f, local))
                    },
                    |r| matches!(r, Err(Halt::Fail(_))),
                );
                let results = self.parts(outcome, &key, "a parallel branch")?;
                // A failure wins, then a stop (the host is stopping: the run must be resumed, not
                // ended by another branch's exit), then an exit; a branch waiting (on people or
                // a long wait) holds the run once the others have finished (their steps are
                // journaled, so a resume replays them).
                let mut exit = None;
                let mut paused = None;
                // Only what a branch wrote is taken back: each copy holds what the others hold
                // too, and inside a loop a later branch's copy of an output an earlier branch
                // wrote again (the iteration before's) overwrote the new one (self-review).
                let base_stamps = ctx[STAMPS].clone();
                for result in results {
                    let (flow, local) = match result {
                        Ok(done) => done,
                        Err(Halt::Fail(f)) => return Err(Halt::Fail(f)),
                        Err(pause) => {
                            paused = Some(Halt::or(paused, pause));
                            continue;
                        }
                    };
                    if let Some(stamps) = local[STAMPS].as_object() {
                        for (id, stamp) in stamps {
                            if base_stamps.get(id) != Some(stamp) {
                                ctx["steps"][id] = local["steps"][id].clone();
                                ctx[STAMPS][id] = stamp.clone();
                            }
                        }
                    }
                    if let Flow::Exit { .. } = flow {
                        exit.get_or_insert(flow);
                    }
                }
                if let Some(halt @ (Halt::Stop | Halt::Unavailable(_))) = paused {
                    return Err(halt);
                }
                // Inside a nested workflow a branch that waits (people, a long wait) outranks
                // a sibling's exit: the nested workflow is not over until that branch is. Its
                // parent went on with the branch's interaction or timer live, whose answer or
                // expiry resumed the run and replayed the branch past the exit (its effects
                // made, or its timeout failing the run; round 23 engine review). Only for runs
                // recorded under this rule: one recorded before, replayed so, held where no
                // step it had journaled could go on (self-review D). At the top level the
                // exit ends the run: nothing replays it.
                if self.rules.wait_outranks_nested_exit()
                    && self.depth > 0
                    && exit.is_some()
                    && let Some(pause) = paused
                {
                    return Err(pause);
                }
                if let Some(exit) = exit {
                    return Ok(exit);
                }
                if let Some(pause) = paused {
                    return Err(pause);
                }
            }
            StepKind::Wait { duration } => self.reaching(&key, || self.wait(&key, *duration))?,
            StepKind::Exit { status, output } => {
                let output = self.render(output, ctx).map_err(fail)?;
                // Stored as the run's output: it must read back (issue 14 item 9).
                crate::json_limits::check_depth("the exit output", &output).map_err(fail)?;
                // Stored with the run and read again by each `show`, flow answer and trace.
                if crate::json_limits::text_len_within(&output, MAX_EXIT_OUTPUT_BYTES).is_none() {
                    return Err(Halt::from(fail(format!(
                        "the exit output is more than {MAX_EXIT_OUTPUT_BYTES} bytes of JSON; \
                         a run's output is at most that (keep bulk data in cases)"
                    ))));
                }
                return Ok(Flow::Exit {
                    status: status.clone(),
                    output,
                });
            }
            StepKind::Nested { path, with } => {
                let output = self.nested(&key, path, with, ctx)?;
                put_output(ctx, &step.id, output, self.held.next_stamp());
            }
            StepKind::Interaction(ix) => {
                let response = self.reaching(&key, || self.interaction(&key, ix, ctx))?;
                let timed_out = response["timed_out"] == Value::Bool(true);
                put_output(ctx, &step.id, response, self.held.next_stamp());
                if timed_out {
                    // Fail closed: a timeout never counts as approval (SPEC IX-8).
                    if ix.on_timeout.is_empty() {
                        return Err(fail(format!(
                            "interaction `{}` timed out and has no `on_timeout` path (a timeout never counts as approval, SPEC IX-8)",
                            step.id
                        ))
                        .into());
                    }
                    return self.steps(&ix.on_timeout, ctx, prefix);
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// An interaction step: the response once there is one; otherwise open the interaction
    /// (resolving its references now, SPEC IX-3) and hold the run.
    fn interaction(
        &self,
        key: &str,
        ix: &crate::definition::model::Interaction,
        ctx: &Value,
    ) -> Result<Value, Halt> {
        let fail = |message: String| Failure {
            step: key.to_owned(),
            message,
        };
        let platform = &self.engine.platform;
        if self.replay
            && let Some(output) = self
                .engine
                .runs
                .journaled_output(self.run, key)
                .map_err(|e| Halt::host(key, e))?
        {
            self.observer
                .step_finished(key, &Ok(output.clone()), Duration::ZERO, true);
            return Ok(output);
        }
        let state = platform
            .interaction_state(self.run, key)
            .map_err(|e| Halt::host(key, e))?;
        let binder = self.manual_binder(key)?;
        let may_not_ask = |index: &crate::access::AccessIndex| {
            !index
                .asker_check(
                    &self.caller.principal,
                    binder.as_ref(),
                    &self.caller.workspace,
                    Scope::InteractionWrite,
                )
                .allowed()
        };
        // The answer to an approval a manual run recorded before binders were (no binder,
        // not a run principal) opened is used as it was then: its approvals in flight at the
        // upgrade are not thrown away (self-review). A new one it opens is decided on its
        // runner (`asker_check`), failing closed (storage review).
        let answered_before =
            binder.is_none() && !matches!(self.caller.principal, Principal::Run(_));
        let id = match state {
            // An answer given after whoever published the workflow lost `interaction.write`
            // is not theirs to have asked for: the run ends there, naming nobody, rather
            // than go on with it (SPEC WF-10; round 16 authority review: an approval opened
            // before the demotion drove the run on). It stays listed until answered or timed
            // out, so that its run ends rather than wait for ever; a timeout is no answer.
            Some(crate::interact::State::Closed(response))
                if response["timed_out"] != Value::Bool(true)
                    && !answered_before
                    && may_not_ask(&platform.index()) =>
            {
                return Err(Failure {
                    step: key.to_owned(),
                    message: "whoever published this workflow (or runs it from a file) may no \
                              longer ask people for input (`interaction.write`, SPEC WF-10); \
                              the answer is not used"
                        .to_owned(),
                }
                .into());
            }
            Some(crate::interact::State::Closed(response)) => {
                self.journal(key, Ok(response.clone()), 1, Duration::ZERO, None);
                self.observer
                    .step_finished(key, &Ok(response.clone()), Duration::ZERO, false);
                return Ok(response);
            }
            Some(crate::interact::State::Open { id, .. }) => id,
            None => {
                self.settle().map_err(|e| Halt::host(key, e))?;
                // Asking people is its publisher's act: one who may no longer write
                // interactions asks nobody (SPEC WF-10, RB-1; authority review: a demoted
                // publisher's flows kept opening approvals in Owners' queues). Nor does a run
                // whose identity, or binder, no longer acts here: it ends at its resume, and
                // its approval opened in every Owner's queue first (round 15 authority
                // review: a key revoked during a wait). Decided first on the index, then
                // again as the interaction is written.
                let shared = self.workflow.shared_from.is_some();
                // Whoever started it by hand, if anyone did: a hand run held by its binder
                // acts as a run principal, its starter its identity (round 30 self-review).
                let starter = match &self.caller.principal {
                    Principal::Run(run) => self
                        .engine
                        .runs
                        .run_binder(self.run)
                        .map_err(|e| Halt::host(key, e))?
                        .map(|_| run.identity.clone()),
                    own => Some(own.clone()),
                };
                let refused: std::cell::RefCell<Option<&str>> = std::cell::RefCell::new(None);
                let decided = |index: &crate::access::AccessIndex| {
                    let why = if !index.run_goes_on(
                        &self.caller.principal,
                        &self.caller.workspace,
                        shared,
                    ) {
                        Some(
                            "the identity this run acts as, or whoever bound it, no longer \
                             acts here; it asks nobody (SPEC WF-10)",
                        )
                    } else if let Some(starter) = &starter
                        && !index
                            .check(starter, &self.caller.workspace, Scope::PlaybookExecute)
                            .allowed()
                    {
                        // A person's or key's own run, as its resume decides it (self-review).
                        Some(
                            "whoever runs this workflow may no longer run workflows here; it \
                             asks nobody (SPEC WF-6)",
                        )
                    } else if may_not_ask(index) {
                        // Naming nobody, as the publisher's removal does.
                        Some(
                            "whoever published this workflow (or runs it from a file) may no \
                             longer ask people for input (`interaction.write`, SPEC WF-10)",
                        )
                    } else {
                        None
                    };
                    *refused.borrow_mut() = why;
                    why.map_or(Ok(()), |why| Err(Error::Conflict(why.to_owned())))
                };
                let refusal = || refused.borrow().map(|why| fail(why.to_owned()).into());
                platform.refresh_access().map_err(|e| Halt::host(key, e))?;
                if decided(&platform.index()).is_err()
                    && let Some(halt) = refusal()
                {
                    return Err(halt);
                }
                let mut access =
                    crate::interact::resolve::resolve_with(&ix.access, &|t| self.render(t, ctx))
                        .map_err(fail)?;
                if self.workflow.shared_from.is_some() {
                    access = access.shared().0;
                }
                let rendered = match self.render(&ix.title, ctx).map_err(fail)? {
                    Value::String(s) if !s.is_empty() => Some(s),
                    Value::String(_) | Value::Null => None,
                    other => Some(other.to_string()),
                };
                // A rendered title is bounded (checked before its NULs are replaced, each by
                // three bytes); without one, the step's key (bounded itself).
                if let Some(title) = &rendered {
                    let chars = title.chars().count();
                    let max = crate::text::MAX_INTERACTION_TITLE_CHARS;
                    if chars > max {
                        return Err(fail(format!(
                            "the interaction's title `{}` is too long: {chars} characters, at most {max}",
                            crate::text::clip(title)
                        ))
                        .into());
                    }
                }
                // Without a title of its own, its key without loop indexes (leak review: the
                // index told how many items the run's query found).
                let title = rendered
                    .map_or_else(|| crate::runs::without_indexes(key), crate::text::storable);
                let timeout_ms = ix
                    .timeout
                    .map(|t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
                let owner = self.engine.lease_owner().map_err(|e| Halt::host(key, e))?;
                let new = crate::interact::NewInteraction {
                    run: self.run,
                    step_key: key,
                    workspace: &self.caller.workspace,
                    workflow: &self.workflow.name,
                    title: &title,
                    form: &ix.form,
                    access: &access,
                    timeout_ms,
                    owner,
                };
                match platform.open_interaction(&new, &decided) {
                    Ok(id) => id,
                    Err(e) => return Err(refusal().unwrap_or_else(|| Halt::host(key, e))),
                }
            }
        };
        self.observer.step_waiting(key, &id);
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id);
        Err(Halt::Hold)
    }

    #[allow(clippy::too_many_arguments)]
    fn action(
        &self,
        key: &str,
        uses: &Uses,
        with: &crate::definition::refs::Template,
        grants: crate::services::grants::Grants,
        timeout: Option<Duration>,
        retry: Option<Retry>,
        ctx: &Value,
    ) -> Result<Value, Halt> {
        let fail = |message: String| Failure {
            step: key.to_owned(),
            message,
        };
        let platform = &self.engine.platform;
        let journaled = if self.replay {
            self.engine
                .runs
                .journaled_output(self.run, key)
                .map_err(|e| Halt::host(key, e))?
        } else {
            None
        };
        if let Some(output) = journaled {
            // A replayed output is held as a fresh one is: each resume does not start the
            // run's bound afresh.
            self.held.replayed(self.held.size_of(&output));
            self.observer
                .step_finished(key, &Ok(output.clone()), Duration::ZERO, true);
            return Ok(output);
        }
        // Each step decides with the access data as it is when the step starts, so that a
        // demotion made by another process meanwhile (during a wait, say) holds from the next
        // step on. One indexed read when nothing changed; a read that fails stops the run
        // resumable, whatever failed: access data that does not read is not the step's
        // failure, and the step runs once it reads (review).
        // A component step granted nothing decides nothing: every host call that consults
        // access data requires a grant first (`services/grants.rs`), so it makes no read.
        if consults_access(uses, grants) {
            platform.refresh_access().map_err(|e| {
                Halt::Unavailable(format!("step `{key}`: access data could not be read: {e}"))
            })?;
        }
        let input = self
            .render(with, ctx)
            .map_err(|e| fail(format!("{e} (in the input of step `{key}`)")))?;
        // A built-in step that writes has its output held without refusal once its effect has
        // committed: it does not start once the run holds all it may, or a loop of them held
        // outputs without bound (review).
        if let Uses::Builtin(step) = uses
            && step.writes()
        {
            let left = self.held.left();
            if left.values == 0 || left.bytes == 0 {
                return Err(fail(format!(
                    "the outputs of this run's steps hold all they may ({MAX_RUN_OUTPUT_VALUES} \
                     values, {MAX_RUN_OUTPUT_BYTES} bytes): a step that writes does not start \
                     (SPEC ST-4)"
                ))
                .into());
            }
        }
        // A step that may write must not run while an earlier output is uncommitted.
        let effects = match uses {
            Uses::Builtin(step) => step.writes(),
            Uses::Component(_) => grants.cases_write,
        };
        // Alone on its thread, the run lets its pending entries ride in a built-in step's own
        // first transaction (one commit less); with parallel parts running, another part's
        // effect could commit before them, so they commit first. Never in a component step's:
        // writing them would be charged to its deadline (SPEC ST-4), and a failure to write
        // them would reach the step as its own host call's error. Nor in a built-in step with
        // a `timeout` of its own, which bounds its storage work for the same reason (round 20
        // engine review: a case step failed for the time other steps' outputs took to write).
        let carry = effects
            && matches!(uses, Uses::Builtin(_))
            && timeout.is_none()
            && self.threads.free() == MAX_RUN_THREADS;
        if effects && !carry {
            self.settle().map_err(|e| Halt::host(key, e))?;
        }
        let attempt = || self.attempts(key, uses, &input, grants, timeout, retry);
        let (result, record, attempts, elapsed) = if carry {
            self.pending
                .carry(self.run, self.engine.leases.owner(), attempt)?
        } else {
            attempt()?
        };
        // An output is journaled and read back on resume: cap its nesting (issue 14 item 9).
        let result = result.and_then(|output| {
            crate::json_limits::check_depth(&format!("the output of step `{key}`"), &output)
                .map(|()| output)
        });
        // A built-in step's output is held as a component's is (a component's was taken as it
        // was read): a loop of case queries held gigabytes outside every bound (review). One
        // that wrote has committed its effect: its output (a case) is held without refusal,
        // and the run's next output past the bound fails instead (second review).
        let result = match (uses, result) {
            (Uses::Builtin(step), Ok(output)) if step.writes() => {
                self.held.replayed(self.held.size_of(&output));
                Ok(output)
            }
            (Uses::Builtin(_), Ok(output)) => self.hold(&output).map(|()| output),
            (_, result) => result,
        };
        let mut record = record;
        let result = self.emits_still_allowed(key, result, &mut record)?;
        self.observer.step_finished(key, &result, elapsed, false);
        // The step's execution record (WASM) and its journal entry commit together, with the
        // run's next write (README, durability): a pure step lost to a crash runs again.
        self.journal(key, result.clone(), attempts, elapsed, record);
        result.map_err(|message| fail(message).into())
    }

    /// Who answers for what this manual run asks of people, as its row stores it (its
    /// revision's publisher or share's acceptor, or whoever runs its file): `None` for a run
    /// whose principal carries its publisher, or recorded before binders were stored.
    fn manual_binder(&self, key: &str) -> Result<Option<Principal>, Halt> {
        if matches!(self.caller.principal, Principal::Run(_)) {
            return Ok(None);
        }
        let stored = self
            .engine
            .runs
            .run_binder(self.run)
            .map_err(|e| Halt::host(key, e))?;
        stored
            .map(|text| {
                principal_from_stored(&text, "runs", "binder", "this run")
                    .map_err(|e| Halt::host(key, Error::Internal(e.to_string())))
            })
            .transpose()
    }

    /// `result` of a component step whose events (in `record`) are about to be journaled,
    /// unless its identity may no longer emit: they were allowed as it emitted them, on the
    /// access data of then, and are decided again on today's as it ends, before they are
    /// journaled (round 22 authority review: a publisher removed mid-step still started the
    /// listeners of what it emitted; SPEC WF-10). Refused, the step fails and its events are
    /// dropped. They commit with the run's next write, as every journal entry does.
    fn emits_still_allowed(
        &self,
        key: &str,
        result: Result<Value, String>,
        record: &mut Option<StepRecordData>,
    ) -> Result<Result<Value, String>, Halt> {
        let Some(rec) = record.as_mut() else {
            return Ok(result);
        };
        let (Ok(_), Some(event)) = (&result, rec.execution.events.first()) else {
            return Ok(result);
        };
        let decided = self
            .engine
            .platform
            .emits_still_allowed(&self.caller, &event.kind)
            .map_err(|e| Halt::host(key, e))?;
        match decided {
            Ok(()) => Ok(result),
            Err(e) => {
                let why = format!("its events are not published: {e} (decided again as it ended)");
                rec.execution.result = Err(crate::wasm::StepFailure::Step(why.clone()));
                rec.execution.events.clear();
                Ok(Err(why))
            }
        }
    }

    /// Runs an action step's attempts (up to its retry policy): the last result, its
    /// execution record, the attempts made and the time they took.
    #[allow(clippy::type_complexity)]
    fn attempts(
        &self,
        key: &str,
        uses: &Uses,
        input: &Value,
        grants: crate::services::grants::Grants,
        timeout: Option<Duration>,
        retry: Option<Retry>,
    ) -> Result<(Result<Value, String>, Option<StepRecordData>, u32, Duration), Halt> {
        let started = Instant::now();
        let retry = retry.unwrap_or(Retry {
            attempts: 1,
            delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        });
        let mut delay = retry.delay.min(retry.max_delay);
        let mut attempts = 0;
        let (result, record) = loop {
            attempts += 1;
            // An attempt the infrastructure failed is neither a result nor retried here: the
            // run stops resumable, and the step runs again when it resumes (SPEC WF-11); its
            // waits for what others hold are its own once it stopped so a few times in a row.
            // Only stops at such waits count (not a full slot or a busy compiler), and only a
            // success starts the count afresh: a try under its own waits that failed at its
            // timeout, then retried by the step's `retry`, stopped again without end (round
            // 27 self-review).
            let invoked = {
                let _own = self
                    .engine
                    .stops
                    .waits_are_own(self.run, key)
                    .then(crate::store::deadline::own_waits);
                crate::store::deadline::waited_behind_its_own_since_asked();
                self.invoke(key, uses, input, grants, timeout)
            };
            match &invoked {
                Err(Halt::Unavailable(_))
                    if crate::store::deadline::waited_behind_its_own_since_asked() =>
                {
                    self.engine.stops.stopped(self.run, key);
                }
                Ok((Ok(_), _)) => self.engine.stops.went_through(self.run, key),
                _ => {}
            }
            let (result, record) = invoked?;
            if result.is_ok() || attempts >= retry.attempts {
                break (result, record);
            }
            // An attempt that will be retried is recorded on its own.
            if let Some(rec) = &record {
                let _ = self.engine.runs.record_attempt(&rec.as_record());
            }
            self.sleep(delay)?;
            // Checked: the next delay never exceeds `max_delay`, and never panics (SPEC WF-5).
            delay = Duration::try_from_secs_f64(delay.as_secs_f64() * BACKOFF)
                .unwrap_or(retry.max_delay)
                .min(retry.max_delay);
        };
        Ok((result, record, attempts, started.elapsed()))
    }

    /// A `wait` step: a durable timer. Its deadline is stored when the wait first starts, so
    /// a run resumed after a crash or a stop waits only for what is left. Up to
    /// the engine's sleep limit ([`SLEEP_LIMIT`] by default) it sleeps here, stopping at once
    /// if the host stops; beyond, the run goes on hold and `serve` wakes it when it is due.
    fn wait(&self, key: &str, duration: Duration) -> Result<(), Halt> {
        let runs = &self.engine.runs;
        if self.replay {
            let journaled = runs
                .journaled_output(self.run, key)
                .map_err(|e| Halt::host(key, e))?;
            if let Some(output) = journaled {
                self.observer
                    .step_finished(key, &Ok(output), Duration::ZERO, true);
                return Ok(());
            }
        }
        let started = Instant::now();
        // A run about to wait commits what it has done so far.
        self.settle().map_err(|e| Halt::host(key, e))?;
        let owner = self.engine.lease_owner().map_err(|e| Halt::host(key, e))?;
        let wake_ms = runs
            .timer_deadline(self.run, owner, key, duration)
            .map_err(|e| Halt::host(key, e))?;
        // Slept here by this host's monotonic clock, from what is left by the clock the
        // deadline is judged by (the database's on PostgreSQL).
        let now = runs.shared_now_ms().map_err(|e| Halt::host(key, e))?;
        let until = Instant::now()
            + Duration::from_millis(u64::try_from(wake_ms.saturating_sub(now)).unwrap_or(0));
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if left > self.engine.sleep_limit {
                self.observer.step_sleeping(key, wake_ms);
                return Err(Halt::Hold);
            }
            self.sleep(left)?;
        }
        let output = Ok(json!({ "waited_until_ms": wake_ms }));
        let elapsed = started.elapsed();
        self.observer.step_finished(key, &output, elapsed, false);
        self.journal(key, output, 1, elapsed, None);
        Ok(())
    }

    /// A mocked step's `mock`, measured and held as a component's output is: past a step's
    /// caps (`StepLimits`) or what the run may still hold, the step fails as a real one
    /// would. A mock outside every bound passed a sample whose every real run failed, and
    /// gave the steps after it room no real run has (round 26 steps review).
    fn mocked_output(&self, mock: &Result<Value, String>) -> Result<Value, String> {
        let output = mock.clone()?;
        let size = self.held.size_of(&output);
        let limits = StepLimits::default();
        limits
            .output_bytes_within(size.bytes, String::new)
            .and_then(|()| limits.output_values_within(size.values, String::new))
            .map_err(|e| e.to_string())?;
        self.hold(&output).map(|()| output)
    }

    /// One attempt of an action step: its result and, for a component, its execution record;
    /// [`Halt::Unavailable`] when the infrastructure failed under it.
    fn invoke(
        &self,
        key: &str,
        uses: &Uses,
        input: &Value,
        grants: crate::services::grants::Grants,
        timeout: Option<Duration>,
    ) -> Result<(Result<Value, String>, Option<StepRecordData>), Halt> {
        let platform = &self.engine.platform;
        // A built-in step is never mocked: it runs against the test's database, its access
        // and input checks made as in every real run (round 22 engine review: a mock passed
        // a test for a role every real run of the step is denied).
        if let Some(mock) = self.engine.mocks.get(key)
            && !matches!(uses, Uses::Builtin(_))
        {
            self.engine
                .mocked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.to_owned());
            return Ok((self.mocked_output(mock), None));
        }
        match uses {
            Uses::Builtin(step) => {
                // Its case write spends the run's budget of events, as a WASM step's does: by
                // number before, by size once written.
                if let Err(why) = self.held.take_events(step.events_at_most()) {
                    return Ok((Err(format!("`{}`: {why}", step.name())), None));
                }
                // A built-in step is its own grant; it acts as the run's principal.
                let idempotency = format!("run:{}/{key}", self.run);
                let mut caller = self.caller.clone();
                let published = std::sync::Arc::new(crate::step_call::CaseEvents::default());
                caller.step = Some(crate::step_call::StepCall {
                    published: published.clone(),
                    ..Default::default()
                });
                // Its `timeout`, when written, bounds its storage work as a WASM step's
                // deadline bounds its host calls (SPEC WF-5, ST-4): it bounded nothing (round
                // 19 engine review). Without one, its writes share the run's commits (group
                // commit, `store/batch.rs`) bounded by the store's busy timeout as before: a
                // bound deadline takes a transaction out of the batch.
                // A step that only reads keeps the default: it shares no commit, and unbounded
                // a query held the connection every run shares (round 20 self-review).
                let limit = timeout.or((!step.writes()).then(|| StepLimits::default().timeout));
                let (result, timed_out, spent, hosts_time) = match limit {
                    Some(limit) => {
                        let mut until = Instant::now() + limit;
                        if let Some(outer) = crate::store::deadline::current() {
                            until = until.min(outer);
                        }
                        // Its waits for the shared connection take its organization's
                        // turn, as a WASM step's host calls do (`turns.rs`).
                        let share = platform.index().tenant_of(&self.caller.workspace);
                        let _bound = crate::store::deadline::bind_shared(until, &share);
                        // Its statements stop at a host call's storage bound once it holds
                        // the connection, as a WASM step's calls do: a query whose `timeout`
                        // was minutes held the connection every run shares for them (round
                        // 27 hostile-step review; SPEC ST-4).
                        let budget = crate::store::deadline::budget(self.engine.storage_bound);
                        let result = step.run(platform, &caller, input, Some(&idempotency));
                        let spent = result.is_err() && budget.spent();
                        drop(budget);
                        // A deadline passed waiting for the connection others held, or after
                        // they held what it waited for over half its time, is the database's
                        // business: the run stops resumable (below; SPEC WF-11).
                        let hosts = crate::store::deadline::was_waited_out()
                            || crate::store::deadline::others_took_its_time();
                        let passed = crate::store::deadline::passed();
                        (result, !hosts && passed, spent, hosts && passed)
                    }
                    None => (
                        step.run(platform, &caller, input, Some(&idempotency)),
                        false,
                        false,
                        false,
                    ),
                };
                let counted = published.counted();
                self.held
                    .give_back_events(step.events_at_most().saturating_sub(counted.events));
                self.held.recorded(super::held::Records {
                    event_bytes: counted.bytes,
                    event_values: counted.values,
                    ..Default::default()
                });
                match result {
                    Err(e) if hosts_time => Err(Halt::host(
                        key,
                        if e.is_infrastructure() {
                            e
                        } else {
                            Error::Busy(
                                "the database stayed in use by other runs for half the step's \
                                 time or more"
                                    .into(),
                            )
                        },
                    )),
                    // Its own doing, not the infrastructure's: it asked for too much.
                    Err(_) if spent => Ok((
                        Err(format!(
                            "`{}`: its storage work passed its bound of {} ms (SPEC ST-4); ask \
                             for less (a narrower filter, a smaller page)",
                            step.name(),
                            self.engine.storage_bound.as_millis()
                        )),
                        None,
                    )),
                    // What it was doing when its deadline passed was rolled back (its
                    // statement interrupted, or its wait for a lock ended), as a WASM step's
                    // host call that returns past its deadline fails as the deadline.
                    Err(_) if timed_out => Ok((
                        Err(format!(
                            "`{}`: deadline exceeded: the step ran longer than {} ms",
                            step.name(),
                            limit.unwrap_or_default().as_millis()
                        )),
                        None,
                    )),
                    Err(e) if e.is_infrastructure() => Err(Halt::host(key, e)),
                    result => Ok((result.map_err(|e| e.to_string()), None)),
                }
            }
            Uses::Component(path) => {
                // Waiting for another component's compile within the step's own time: past
                // it the run stops resumable (below), rather than wait for a costly compile.
                let wait = (!self.engine.patient_compiles)
                    .then(|| timeout.unwrap_or(StepLimits::default().timeout));
                // A pinned component is `<digest>.wasm` in the server's state directory.
                let pinned = self.workflow.resolver.pinned.is_some();
                // The compile turn is taken in turn by organizations, as instance slots are.
                let share = self
                    .engine
                    .platform
                    .index()
                    .tenant_of(&self.caller.workspace);
                let step = match self.engine.runtime.load_within(path, wait, &share) {
                    // What loaded must be what was pinned: the file, checked when the run
                    // started or resumed, may have been replaced since. The run stops
                    // resumable, and the file is written out again at its resume (SPEC
                    // WF-7, WF-11; review of the kill and concurrency fix).
                    Ok(step)
                        if pinned
                            && !path
                                .file_stem()
                                .and_then(|s| s.to_str())
                                .is_some_and(|pin| pin.eq_ignore_ascii_case(&step.digest)) =>
                    {
                        return Err(Halt::Unavailable(format!(
                            "step `{key}`: its pinned component's file changed while the run \
                             waited; it is written out again when the run resumes"
                        )));
                    }
                    Ok(step) => step,
                    // Its file did not read for the machine's reasons (no file handle left):
                    // the run stops resumable, and the step runs when it resumes (SPEC WF-11).
                    Err(crate::wasm::StepFailure::Host(why)) => {
                        return Err(Halt::Unavailable(format!("step `{key}`: {why}")));
                    }
                    // A pinned component sits in the server's state directory, and a definition
                    // that came without a file of its own reads from the server's: its file
                    // is named alone (leak review; the server's paths are not its reader's).
                    Err(crate::wasm::StepFailure::Load { path: at, message })
                        if pinned || !self.workflow.resolver.names_files() =>
                    {
                        let name = Path::new(&at)
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                        let failure = crate::wasm::StepFailure::Load {
                            path: name,
                            message,
                        };
                        return Ok((Err(failure.to_string()), None));
                    }
                    Err(e) => return Ok((Err(e.to_string()), None)),
                };
                let (services, infra) = HostServices::of(platform.clone())
                    .keyed(format!("run:{}/{key}", self.run))
                    .granted(grants)
                    .allowed(self.held.allowance())
                    .watched();
                // What the run may still hold bounds this output too, so an output past it
                // is refused before it is parsed.
                let left = self.held.left();
                let defaults = StepLimits::default();
                let limits = self.held.records_left().bound(StepLimits {
                    timeout: timeout.unwrap_or(defaults.timeout),
                    max_output_values: defaults.max_output_values.min(left.values),
                    max_output_bytes: defaults.max_output_bytes.min(left.bytes),
                    ..defaults
                });
                // The instance slot counts towards the organization's share of the host's.
                let share = platform.index().tenant_of(&self.caller.workspace);
                let mut exec = self.engine.runtime.execute_in(
                    &step,
                    input,
                    self.caller.clone(),
                    services,
                    limits,
                    &share,
                );
                // Taken into what the run holds only if it fits: parallel parts check `left`
                // at once, so the check that counts is this one, atomic. An output refused by
                // a bound the run lowered is the run's refusal too.
                use crate::wasm::StepFailure::{OutputTooLarge, OutputTooManyValues};
                let held = match &exec.result {
                    Ok(_) => self.held.take(Size {
                        values: exec.output_values,
                        bytes: exec.output_bytes,
                    }),
                    Err(OutputTooManyValues { count, .. })
                        if left.values < defaults.max_output_values =>
                    {
                        Err(Size {
                            values: *count,
                            bytes: 0,
                        })
                    }
                    Err(OutputTooLarge { len, .. }) if left.bytes < defaults.max_output_bytes => {
                        Err(Size {
                            values: 0,
                            bytes: *len,
                        })
                    }
                    Err(_) => Ok(()),
                };
                let result = match held {
                    Ok(()) => exec
                        .result
                        .as_ref()
                        .map(Value::clone)
                        .map_err(|e| e.to_string()),
                    Err(size) => {
                        // Failed as a whole: nothing of it is kept, its events are not
                        // published.
                        let left = self.held.left();
                        // What it wrote to stderr, when the runtime refused the output at the
                        // run's lowered bound (self-review: dropped here).
                        let stderr = match &exec.result {
                            Err(
                                OutputTooManyValues { stderr, .. } | OutputTooLarge { stderr, .. },
                            ) => stderr.clone(),
                            _ => String::new(),
                        };
                        let message = format!(
                            "{}{}",
                            super::held::refusal(size, left),
                            crate::wasm::failure::stderr_suffix(&stderr)
                        );
                        let failure = if size.values > left.values {
                            OutputTooManyValues {
                                count: size.values,
                                limit: left.values,
                                stderr,
                            }
                        } else {
                            OutputTooLarge {
                                len: size.bytes,
                                limit: left.bytes,
                                stderr,
                            }
                        };
                        exec.result = Err(failure);
                        exec.events.clear();
                        exec.output_values = 0;
                        exec.output_bytes = 0;
                        Err(message)
                    }
                };
                // Its logs are kept whatever its outcome; its events only if it succeeded: what
                // it charged as it went is settled against that.
                // Its case calls charged each event as the service wrote it.
                let charged = exec.charged.with_case_events(exec.case_events);
                self.held.settle(charged, Records::of(&exec));
                // Its events are written with its journal entry, maybe after later steps
                // read more: they may quote what the run had read by now, not that (kill
                // review).
                let cause = match self.caller.cause {
                    Some(cause) if !exec.events.is_empty() => Some(Cause {
                        read_upto: Some(self.read_upto(key)?),
                        ..cause
                    }),
                    cause => cause,
                };
                let record = StepRecordData {
                    workspace: self.caller.workspace.clone(),
                    principal: principal_to_stored(&self.caller.principal),
                    component: path.display().to_string(),
                    digest: step.digest.clone(),
                    execution: exec,
                    cause,
                };
                // Whatever the step made of it, a host call of it failed for the
                // infrastructure's reasons: its effect may be missing, so it runs again.
                if let Some(why) = infra.failure() {
                    return Err(Halt::Unavailable(format!("step `{key}`: {why}")));
                }
                // No free instance slot is the host's capacity, not the step's failure: the
                // run stops resumable rather than failing (SPEC WF-11).
                if let Err(crate::wasm::StepFailure::Host(why)) = &record.execution.result {
                    return Err(Halt::Unavailable(format!("step `{key}`: {why}")));
                }
                Ok((result, Some(record)))
            }
        }
    }

    fn sequential_loop(
        &self,
        id: &str,
        items: &[Value],
        body: &[Step],
        break_if: &[crate::definition::model::Condition],
        ctx: &mut Value,
        prefix: &str,
    ) -> Result<Vec<Value>, Halt> {
        let mut collected = Vec::with_capacity(items.len());
        let made = IterationOutputs::of(body, self.rules);
        let ids = &made.ids;
        // An enclosing loop's `$.loop` is its again once this loop is done.
        let outer = ctx.get("loop").cloned();
        for (i, item) in items.iter().enumerate() {
            self.held.step().map_err(|message| Failure {
                step: format!("{prefix}{id}"),
                message,
            })?;
            ctx["loop"] = json!({ "item": item, "index": i });
            // What this iteration writes is told apart by its stamps: the outputs of the one
            // before stay readable (`$.steps.page.next_cursor?` pages on), and one equal to
            // the last iteration's is still this one's (hostile-input review).
            let before = stamps_of(ids, ctx);
            if let Flow::Exit { status, .. } =
                self.steps(body, ctx, &format!("{prefix}{id}[{i}]."))?
            {
                return Err(Failure {
                    step: format!("{prefix}{id}"),
                    message: format!(
                        "`exit` ({status}) inside a loop is not supported; use `break_if`"
                    ),
                }
                .into());
            }
            let outputs = iteration_outputs(ids, ctx, &before);
            self.hold_inner_loops(&outputs, &made.loops)
                .map_err(|message| Failure {
                    step: format!("{prefix}{id}"),
                    message,
                })?;
            collected.push(outputs);
            let stop = self.all_hold(break_if, ctx).map_err(|message| Failure {
                step: format!("{prefix}{id}"),
                message,
            })?;
            if !break_if.is_empty() && stop {
                break;
            }
        }
        match (outer, ctx.as_object_mut()) {
            (Some(outer), _) => ctx["loop"] = outer,
            (None, Some(o)) => {
                o.remove("loop");
            }
            (None, None) => {}
        }
        Ok(collected)
    }

    fn parallel_loop(
        &self,
        id: &str,
        items: &[Value],
        body: &[Step],
        ctx: &Value,
        prefix: &str,
        cap: usize,
    ) -> Result<Vec<Value>, Halt> {
        let mut collected = vec![Value::Null; items.len()];
        let mut paused = None;
        let made = IterationOutputs::of(body, self.rules);
        let ids = &made.ids;
        // Copies of the context that iterations have finished with. An iteration only adds
        // outputs (step ids are unique in a workflow) and sets `loop`, so a copy is made the
        // parent's again by dropping the outputs the parent lacks (their stamps stay, told
        // apart from the next iteration's by their value): at most one copy per part
        // in flight, where a copy per item made a loop of n items over a context holding its
        // list cost n² (hostile-step review).
        let spare: std::sync::Mutex<Vec<Value>> = std::sync::Mutex::default();
        let spares = || spare.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = self.group(cap).run(
            items.len(),
            |i| {
                self.held.step().map_err(|message| Failure {
                    step: format!("{prefix}{id}"),
                    message,
                })?;
                let taken = spares().pop();
                let mut local = taken.unwrap_or_else(|| ctx.clone());
                local["loop"] = json!({ "item": items[i], "index": i });
                let before = stamps_of(ids, &local);
                let ran = self.steps(body, &mut local, &format!("{prefix}{id}[{i}]."));
                // As in a sequential loop (parsing refuses it now; before, an iteration's exit
                // was passed over, and the run went on past a timed-out approval's `exit`).
                if let Ok(Flow::Exit { status, .. }) = &ran {
                    return Err(Failure {
                        step: format!("{prefix}{id}"),
                        message: format!(
                            "`exit` ({status}) inside a loop is not supported; use `break_if`"
                        ),
                    }
                    .into());
                }
                let outputs = ran.and_then(|_| {
                    let outputs = iteration_outputs(ids, &local, &before);
                    self.hold_inner_loops(&outputs, &made.loops)
                        .map_err(|message| Failure {
                            step: format!("{prefix}{id}"),
                            message,
                        })?;
                    Ok(outputs)
                });
                if let (Some(steps), Some(parent)) =
                    (local["steps"].as_object_mut(), ctx["steps"].as_object())
                {
                    steps.retain(|key, _| parent.contains_key(key));
                    spares().push(local);
                }
                outputs
            },
            |r| matches!(r, Err(Halt::Fail(_))),
        );
        let results = self.parts(outcome, &format!("{prefix}{id}"), "a loop iteration")?;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => collected[i] = v,
                Err(Halt::Fail(f)) => return Err(Halt::Fail(f)),
                // Every other iteration still runs; the run then waits (like `parallel`).
                Err(pause) => paused = Some(Halt::or(paused, pause)),
            }
        }
        if let Some(pause) = paused {
            return Err(pause);
        }
        Ok(collected)
    }

    /// `template` rendered against `ctx`, what it copied taken from the run's budget for
    /// renderings ([`super::held::MAX_RUN_RENDERED_BYTES`]).
    fn render(
        &self,
        template: &crate::definition::refs::Template,
        ctx: &Value,
    ) -> Result<Value, String> {
        let value = template.render_counted(ctx, self.held.counts_by())?;
        self.charge_render(&value)?;
        Ok(value)
    }

    /// Whether every condition holds, what their sides copy taken as [`Exec::render`] takes it.
    fn all_hold(
        &self,
        conditions: &[crate::definition::model::Condition],
        ctx: &Value,
    ) -> Result<bool, String> {
        crate::definition::conditions::all_hold_charged(
            conditions,
            ctx,
            self.held.counts_by(),
            &|v| self.charge_render(v),
        )
    }

    /// Takes what rendering `value` copied from the run's budget for renderings.
    fn charge_render(&self, value: &Value) -> Result<(), String> {
        let len = crate::json_limits::text_len(value);
        self.held.rendered(len).map_err(|left| {
            format!(
                "rendering copies {len} bytes of the run's context, and a run's renderings may \
                 copy {} bytes of it in all (past {} bytes each), {left} of them left (SPEC \
                 ST-4)",
                super::held::MAX_RUN_RENDERED_BYTES,
                super::held::RENDER_ALLOWANCE
            )
        })
    }

    /// Takes the copies of `ctx` that `parts` parallel parts work on from the run's budget
    /// ([`MAX_RUN_CONTEXT_COPIES`]); the failure's message if it does not hold them.
    fn copies_of(&self, ctx: &Value, parts: usize) -> Result<(), String> {
        let each = crate::json_limits::text_len(ctx);
        let all = each.saturating_mul(parts);
        self.held.copy(all).map_err(|left| {
            format!(
                "{parts} parallel parts would each copy the run's context of {each} bytes, and \
                 a run's parallel parts may copy {MAX_RUN_CONTEXT_COPIES} bytes of it in all, \
                 {left} of them left: make the outputs before it smaller, or the loop \
                 sequential (SPEC ST-4)"
            )
        })
    }

    /// A group of `width` parts of this run, within the run's thread slots.
    fn group(&self, width: usize) -> Group<'_> {
        Group {
            width,
            slots: self.threads,
            stack_size: Some(RUN_THREAD_STACK),
        }
    }

    /// The results of a group's parts, in order: a part that panicked fails the step `key`,
    /// and a helper thread the OS refused stops the run resumable (SPEC WF-11: the host's
    /// capacity, not the step's failure). A part that did not start because another failed
    /// is left out (the failure is among the results).
    fn parts<R>(
        &self,
        outcome: fanout::Outcome<Result<R, Halt>>,
        key: &str,
        what: &str,
    ) -> Result<Vec<Result<R, Halt>>, Halt> {
        let mut results = Vec::with_capacity(outcome.parts.len());
        let mut failed = false;
        for part in outcome.parts {
            match part {
                Part::Done(r) => {
                    failed |= matches!(r, Err(Halt::Fail(_)));
                    results.push(r);
                }
                Part::Panicked => {
                    failed = true;
                    results.push(Err(Failure {
                        step: key.to_owned(),
                        message: format!("{what} panicked"),
                    }
                    .into()));
                }
                Part::NotRun => {}
            }
        }
        if let Some(e) = outcome.refused
            && !failed
        {
            return Err(Halt::Unavailable(format!(
                "step `{key}`: the system refused a thread for {what}: {e}"
            )));
        }
        Ok(results)
    }

    fn nested(
        &self,
        key: &str,
        path: &std::path::Path,
        with: &crate::definition::refs::Template,
        ctx: &Value,
    ) -> Result<Value, Halt> {
        let fail = |message: String| Failure {
            step: key.to_owned(),
            message,
        };
        if self.depth >= MAX_NESTING {
            return Err(fail(format!("nested workflows go deeper than {MAX_NESTING}")).into());
        }
        let inner = self.nested_workflow(path).map_err(fail)?;
        let inputs = self.render(with, ctx).map_err(fail)?;
        let mut inner_ctx =
            json!({ "event": ctx["event"], "vars": inner.vars, "inputs": inputs, "steps": {} });
        // A copy of the event and the nested workflow's `vars` at each call: counted as a
        // parallel part's copy of the context is, for runs recorded under that rule.
        if self.rules.counts_nested_calls() {
            let bytes = crate::json_limits::text_len(&inner_ctx);
            self.held.copy(bytes).map_err(|left| {
                fail(format!(
                    "the nested workflow's call would copy the event, its vars and its inputs \
                     ({bytes} bytes), and a run may copy {MAX_RUN_CONTEXT_COPIES} bytes of \
                     contexts in all, {left} of them left (SPEC ST-4)"
                ))
            })?;
        }
        let child = Exec {
            engine: self.engine,
            workflow: &inner,
            run: self.run,
            caller: self.caller.clone(),
            observer: self.observer,
            depth: self.depth + 1,
            rules: self.rules,
            replay: self.replay,
            pending: self.pending,
            waiting: std::sync::Mutex::new(Vec::new()),
            threads: self.threads,
            held: self.held,
            reached: self.reached,
            nested: self.nested,
        };
        let result = child.steps(&inner.steps, &mut inner_ctx, &format!("{key}/"));
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(
                child
                    .waiting
                    .into_inner()
                    .unwrap_or_else(|p| p.into_inner()),
            );
        match result? {
            // Rendered from the nested workflow's context: new to what the run holds.
            Flow::Exit { output, .. } => {
                self.hold(&output).map_err(fail)?;
                Ok(output)
            }
            // Its steps' outputs, each held already.
            Flow::Continue => Ok(inner_ctx["steps"].take()),
        }
    }

    /// The nested workflow at `path`, read and parsed once a run ([`NestedWorkflows`]), as
    /// it runs here.
    fn nested_workflow(&self, path: &std::path::Path) -> Result<Arc<Workflow>, String> {
        if let Some(known) = self
            .nested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
        {
            return Ok(known.clone());
        }
        let origin = path.display().to_string();
        // A published revision's nested workflows are those pinned with it, not the files as
        // they are now (SPEC WF-7, SH-3).
        let (text, resolver) = self
            .workflow
            .resolver
            .nested(path, &self.engine.step_dirs)?;
        let mut inner = parse(&origin, &text, &resolver).map_err(|errors| joined(&errors))?;
        super::components::not_a_flow(&inner, &origin)?;
        // A nested workflow belongs where its parent was published; in a run of a shared
        // workflow it runs as its parent does, shared: its custom-role selections are dropped
        // too (SPEC SH-2, IX-6). Before, a nested file naming the destination kept them, and
        // the destination's own role of that name answered its interactions (IX review).
        let home = self
            .workflow
            .shared_from
            .as_deref()
            .unwrap_or(&self.workflow.workspace);
        if inner.workspace != home {
            return Err(format!(
                "nested workflow `{}` belongs to workspace `{}`, not `{home}`",
                inner.name, inner.workspace
            ));
        }
        if let Some(from) = &self.workflow.shared_from {
            inner.shared_from = Some(from.clone());
            inner.workspace.clone_from(&self.caller.workspace);
        }
        let inner = Arc::new(inner);
        self.nested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_owned(), inner.clone());
        Ok(inner)
    }
}

/// Whether a step of `uses` with `grants` may consult access data: a built-in step acts as
/// the run's principal; a component reaches access data only through host calls that
/// require a grant.
fn consults_access(uses: &Uses, grants: crate::services::grants::Grants) -> bool {
    matches!(uses, Uses::Builtin(_)) || grants != crate::services::grants::Grants::default()
}

/// The steps whose outputs one iteration of a loop's body makes: the body's and its
/// branches', at any depth, but not those inside an inner loop, whose own output holds them
/// (collecting both doubled a loop's output at each level of nesting: 30 nested loops of one
/// item each built 2^30 values; hostile-step and hostile-input reviews).
struct IterationOutputs<'a> {
    ids: Vec<&'a str>,
    /// Those of `ids` whose output is a copy the run holds again: inner loops, and nested
    /// workflows (their output holds their loops' outputs beside the last iteration's, so a
    /// loop calling one that loops doubled what it made at each level of nesting, outside
    /// every bound: round 25 engine review). Nested workflows only for runs recorded under
    /// that rule (`RunRules::counts_nested_copies`).
    loops: Vec<&'a str>,
}

impl<'a> IterationOutputs<'a> {
    fn of(body: &'a [Step], rules: RunRules) -> Self {
        let steps = crate::definition::model::steps_outside_loops(body);
        let copies = |kind: &StepKind| match kind {
            StepKind::Loop { .. } => true,
            StepKind::Nested { .. } => rules.counts_nested_copies(),
            _ => false,
        };
        IterationOutputs {
            ids: steps.iter().map(|s| s.id.as_str()).collect(),
            loops: steps
                .iter()
                .filter(|s| copies(&s.kind))
                .map(|s| s.id.as_str())
                .collect(),
        }
    }
}

/// The context's member, beside `steps`, stamping each output as it is written: no reference
/// starts at it (references start at `$.event`, `$.steps`, `$.vars`, `$.loop`, `$.inputs`); a
/// filter's `$` reads it, so the stamps are the run's own count (see `Held::next_stamp`).
const STAMPS: &str = "stamps";

/// Writes step `id`'s output into the context, stamped with the run's next stamp.
fn put_output(ctx: &mut Value, id: &str, output: Value, stamp: u64) {
    ctx["steps"][id] = output;
    ctx[STAMPS][id] = Value::from(stamp);
}

/// The stamps of `ids`' outputs in `ctx` (0 for none yet).
fn stamps_of(ids: &[&str], ctx: &Value) -> Vec<u64> {
    ids.iter()
        .map(|id| ctx[STAMPS][*id].as_u64().unwrap_or(0))
        .collect()
}

/// The outputs of `ids` written since their stamps were `before`: what one iteration made.
fn iteration_outputs(ids: &[&str], ctx: &Value, before: &[u64]) -> Value {
    Value::Object(
        ids.iter()
            .zip(before)
            .filter(|(id, was)| ctx[STAMPS][**id].as_u64().unwrap_or(0) != **was)
            .filter_map(|(id, _)| ctx["steps"].get(*id).map(|v| (id.to_string(), v.clone())))
            .collect(),
    )
}

/// What a run started by hand acts as: its starter, holding only what `binder` (its
/// revision's publisher, or its share's acceptor) holds too when that is someone else (SPEC
/// WF-10: a run acts with what both its identity and its publisher hold now). A hand run
/// used to act with the starter's whole power: a Contributor's revision, run by an Owner,
/// put the Contributor on every restricted case (round 30 authority review). A file's run,
/// or one its own publisher starts, acts as its starter alone.
fn held_by_binder_too(starter: Principal, binder: Option<Principal>) -> Principal {
    match binder {
        Some(binder) if !same_actor(&starter, &binder) => Principal::run(starter, binder),
        _ => starter,
    }
}

/// Whether `a` and `b` are the same person or key, however each signed in.
fn same_actor(a: &Principal, b: &Principal) -> bool {
    match (a, b) {
        (Principal::User { email: a, .. }, Principal::User { email: b, .. }) => a == b,
        (Principal::ApiKey(a), Principal::ApiKey(b)) => a == b,
        _ => false,
    }
}
