//! Loading and executing step components: compile once, keep one `InstancePre` per component,
//! a fresh `Store` per execution (the shape of wasmtime's `wasip2-plugins` example).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{AsContextMut, Engine, Store};

use crate::principal::Caller;
use crate::services::HostServices;
use crate::services::events::CustomEvent;
use crate::store::RecordedExecution;

use super::async_abi;
use super::bindings::{Step, StepError, StepPre};
use super::cache::{CacheOutcome, ComponentCache, content_digest};
use super::compiler::CompileError;
use super::engine::{self, Allocator, EngineSettings};
use super::failure::StepFailure;
use super::limits::StepLimits;
use super::state::{LogLine, StepState};
use crate::turns::Taken;

/// A component ready to instantiate.
pub struct LoadedStep {
    /// SHA-256 of the component's bytes.
    pub digest: String,
    /// The path it was loaded from (for messages).
    pub path: PathBuf,
    /// Whether this load hit the on-disk cache.
    pub cache: CacheOutcome,
    /// Bytes of its compiled image, held while it is loaded.
    code_bytes: usize,
    pre: StepPre<StepState>,
}

impl LoadedStep {
    /// Bytes of its compiled image, held while it is loaded (`loaded.rs`).
    pub fn code_bytes(&self) -> usize {
        self.code_bytes
    }
}

impl super::loaded::Kept for LoadedStep {
    fn digest(&self) -> &str {
        &self.digest
    }

    fn code_bytes(&self) -> usize {
        self.code_bytes
    }
}

/// Everything one execution produced.
#[derive(Debug)]
pub struct StepExecution {
    /// The output JSON, or why there is none.
    pub result: Result<serde_json::Value, StepFailure>,
    /// Log lines, kept even when the step failed.
    pub logs: Vec<LogLine>,
    /// Log lines beyond the cap.
    pub dropped_logs: usize,
    /// Events to publish; empty when the step failed (a failed step publishes nothing).
    pub events: Vec<CustomEvent>,
    /// Wall-clock time of instantiate + call.
    pub duration: Duration,
    /// About how many JSON values the output holds (counted before it was parsed); 0 when
    /// the step failed.
    pub output_values: usize,
    /// Bytes of the output's JSON text; 0 when the step failed.
    pub output_bytes: usize,
    /// Host calls that reached the database (cases, access questions).
    pub database_calls: usize,
    /// The events its case calls published, whatever its outcome (their effects committed
    /// as they were made), counted as they were written: by number, bytes and values they
    /// count towards the run's event budget as its own events do.
    pub case_events: crate::step_call::CaseEventCount,
    /// What it charged to its run's allowance as it went (settled against what it kept).
    pub charged: crate::step_call::Charged,
}

/// What the store records of an execution (the store names what it needs; the runtime
/// provides it).
impl RecordedExecution for StepExecution {
    fn outcome(&self) -> Result<&serde_json::Value, (&'static str, String)> {
        self.result.as_ref().map_err(|f| (f.kind(), f.to_string()))
    }

    fn log_lines(&self) -> Box<dyn Iterator<Item = (&'static str, &str)> + '_> {
        Box::new(
            self.logs
                .iter()
                .map(|line| (line.level.as_str(), line.message.as_str())),
        )
    }

    fn published_events(&self) -> Box<dyn Iterator<Item = (&str, &serde_json::Value)> + '_> {
        Box::new(self.events.iter().map(|e| (e.kind.as_str(), &e.payload)))
    }

    fn duration(&self) -> Duration {
        self.duration
    }
}

/// The step host: one engine, one linker, the component cache and the loaded components.
pub struct StepRuntime {
    engine: Engine,
    allocator: Allocator,
    /// The ceiling of any step's memory limit (the pool's slot size when pooling).
    max_memory_bytes: usize,
    linker: Linker<StepState>,
    cache: ComponentCache,
    /// The components loaded, bounded by their code's bytes (`loaded.rs`).
    loaded: super::loaded::Loaded<LoadedStep>,
    /// Why components that did not compile or link (by digest) did not: the same bytes fail
    /// the same way, so a broken or hostile component costs one compile, not one per run.
    failed: Mutex<HashMap<String, String>>,
    /// The components whose compile was killed from outside once (by digest): a second kill
    /// fails them, for this process (`CompileError::Killed`).
    killed: Mutex<HashSet<String>>,
    /// Held while a cached component is mapped and linked: one at a time per process.
    loading: Mutex<()>,
    /// Taken to read and hash a whole component file not known yet: up to 128 MiB each, read
    /// at once by every thread that asked (a parallel step of 32 branches, a few runs) took
    /// gigabytes (hostile-step review). One at a time, each finds what the one before hashed.
    reading: parking_lot::Mutex<()>,
    /// Held while a component is compiled and linked: one at a time per process. Runs that
    /// start together on a new component waited for none of each other, and each compiled it
    /// (a hostile step's large component, eight times over on two cores; hostile-step
    /// review); now the first compiles and the others find its result. A compile already
    /// uses every core. Waited for within a bound ([`StepRuntime::load_within`]): a costly
    /// compile holds it for minutes. Given in turn to the shares waiting (`turns.rs`).
    compiling: crate::turns::Turns,
    /// The components waiting to be compiled for loads that gave up waiting (by digest: the
    /// share whose turn compiles it).
    later: Mutex<HashMap<String, String>>,
    /// Instance slots shared between workspaces (`slots.rs`).
    slots: super::slots::Slots,
    /// Whether swap appeared since the pool chose how to reset its slots (`swap_watch.rs`).
    swap_watch: super::swap_watch::SwapWatch,
}

/// How many failed components' reasons are kept; past it the memory starts afresh.
const FAILED_KEPT: usize = 256;

/// Why a component did not load.
enum NotLoaded {
    /// Its file could not be read (perhaps for now): tried again next time.
    Unreadable(super::component_file::ReadError),
    /// The machine failed it (no compiler process, a deadline on a busy machine): tried again
    /// next time.
    ForNow(String),
    /// Its bytes do not compile or link: the same bytes never will.
    Broken { digest: String, why: String },
}

/// Why a load stopped short of a loaded component.
enum LoadStop {
    /// It failed.
    Failed(StepFailure),
    /// Its wait for the host to read another component ran out.
    ReaderBusy,
    /// Its wait for the compiler ran out; `digest` is its component's.
    CompilerBusy { digest: String },
}

impl From<StepFailure> for LoadStop {
    fn from(failure: StepFailure) -> Self {
        Self::Failed(failure)
    }
}

impl LoadStop {
    /// The failure a load of `path` that waited `wait` reports: a wait that ran out is the
    /// host's, for now (a run stops resumable, SPEC WF-11).
    fn into_failure(self, path: &Path, wait: Duration) -> StepFailure {
        let waited = |what: &str, then: &str| {
            StepFailure::Host(format!(
                "step `{}` waited {} for {what}; it is {then}",
                path.display(),
                super::failure::fmt_duration(wait)
            ))
        };
        match self {
            Self::Failed(failure) => failure,
            Self::ReaderBusy => waited(
                "the host to read another component",
                "read once the host is free",
            ),
            Self::CompilerBusy { .. } => waited(
                "the host's compiler, which is busy",
                "compiled meanwhile, in its turn",
            ),
        }
    }
}

/// How many components may wait to be compiled for loads that gave up waiting, in all and
/// per share (`StepRuntime::compile_later`).
const LATER_KEPT: usize = 64;
const LATER_PER_SHARE: usize = 4;

/// The failure of a load whose file did not read: the machine's, for now (`Host`: the run
/// stops resumable, SPEC WF-11), or the file's (`Load`: the step fails).
fn unread(path: &Path, e: super::component_file::ReadError) -> StepFailure {
    if e.for_now {
        StepFailure::Host(format!(
            "cannot read step `{}` for now: {}",
            path.display(),
            e.why
        ))
    } else {
        StepFailure::Load {
            path: path.display().to_string(),
            message: e.why,
        }
    }
}

/// The components waiting to be compiled later, whoever panicked while holding them (each
/// entry is whole: inserted or removed at once).
fn lock_later(
    later: &Mutex<HashMap<String, String>>,
) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
    later
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes a lock that guards no data (a turn), whoever panicked while holding it.
fn lock(turn: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    turn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl StepRuntime {
    /// Builds the engine and linker; `cache_dir` holds precompiled artifacts (`None`: none).
    pub fn new(settings: &EngineSettings, cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let (engine, allocator, scanning) = engine::build_engine_scanning(settings)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        super::deadline::clamp_clock_waits(&mut linker)?;
        super::random::cap_random_bytes(&mut linker)?;
        Step::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        let cache = ComponentCache::new(&engine, cache_dir);
        Ok(Self {
            engine,
            allocator,
            max_memory_bytes: settings.max_memory_bytes,
            linker,
            cache,
            loaded: super::loaded::Loaded::new(settings.loaded_bytes),
            failed: Mutex::new(HashMap::new()),
            killed: Mutex::new(HashSet::new()),
            loading: Mutex::new(()),
            reading: parking_lot::Mutex::new(()),
            compiling: crate::turns::Turns::default(),
            later: Mutex::new(HashMap::new()),
            slots: super::slots::Slots::new(
                settings.pool_instances as usize,
                super::slots::SLOT_WAIT,
            ),
            swap_watch: super::swap_watch::SwapWatch::new(scanning),
        })
    }

    /// The engine (shared with anything that must load components the same way).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Which instance allocator is in use.
    pub fn allocator(&self) -> &Allocator {
        &self.allocator
    }

    /// Loads the component at `path`: from memory if already loaded in this process, else
    /// from the on-disk cache, else by compiling it. Errors name the path and the cause.
    pub fn load(&self, path: &Path) -> Result<Arc<LoadedStep>, StepFailure> {
        self.load_waiting(path, None, "")
            .map_err(|stop| stop.into_failure(path, Duration::ZERO))
    }

    /// [`StepRuntime::load`], waiting at most `wait` for another component's compile to end
    /// before its own: past it, a [`StepFailure::Host`] (for now; a run stops resumable). A
    /// step author's costly component holds the compile turn for minutes, and every other
    /// tenant's first load of a new component waited for it without any bound (hostile-step
    /// review). `None` waits as long as it takes (a command run by hand). The compile turn
    /// is taken in turn by `share` (the run's organization, as its instance slot is) and the
    /// others waiting.
    ///
    /// A load whose wait for the compiler runs out leaves its component to be compiled in
    /// `share`'s turn all the same (`compile_later`), so the run tried again finds it
    /// compiled: a share that gave up was absent whenever the turn freed, and another
    /// always waiting took every turn (round 25 hostile-step review).
    pub fn load_within(
        self: &Arc<Self>,
        path: &Path,
        wait: Option<Duration>,
        share: &str,
    ) -> Result<Arc<LoadedStep>, StepFailure> {
        self.load_waiting(path, wait, share).map_err(|stop| {
            if let LoadStop::CompilerBusy { digest } = &stop {
                self.compile_later(path, digest.clone(), share);
            }
            stop.into_failure(path, wait.unwrap_or_default())
        })
    }

    /// Compiles the component at `path` (of `digest`) in `share`'s turn, on a thread of its
    /// own, unless as many are queued already: one per component, [`LATER_PER_SHARE`] per
    /// share, [`LATER_KEPT`] in all (each is a thread waiting).
    fn compile_later(self: &Arc<Self>, path: &Path, digest: String, share: &str) {
        let mut later = lock_later(&self.later);
        if later.len() >= LATER_KEPT
            || later.values().filter(|s| *s == share).count() >= LATER_PER_SHARE
            || later.contains_key(&digest)
        {
            return;
        }
        later.insert(digest.clone(), share.to_owned());
        drop(later);
        let (runtime, path, share) = (Arc::clone(self), path.to_owned(), share.to_owned());
        let queued = digest.clone();
        let spawned = std::thread::Builder::new()
            .name("flowhost-compile".into())
            .spawn(move || {
                // What it came to is kept as any load's is (`settle`); a run that asks
                // again finds it, or loads afresh.
                let _ = runtime.load_waiting(&path, None, &share);
                lock_later(&runtime.later).remove(&queued);
            });
        if spawned.is_err() {
            lock_later(&self.later).remove(&digest);
        }
    }

    /// [`StepRuntime::load_within`] without leaving anything queued.
    fn load_waiting(
        &self,
        path: &Path,
        wait: Option<Duration>,
        share: &str,
    ) -> Result<Arc<LoadedStep>, LoadStop> {
        let load_error = |message: String| {
            LoadStop::Failed(StepFailure::Load {
                path: path.display().to_string(),
                message,
            })
        };
        // A file unchanged since it was loaded (same size and mtime) is not read and hashed
        // again: that costs more than running a small step.
        let meta = std::fs::metadata(path).ok();
        let stamp = meta.as_ref().map(|m| (m.len(), m.modified().ok()));
        if let Some(stamp) = &stamp
            && let Some(step) = self.loaded.by_path(path, stamp)
        {
            return Ok(step);
        }
        // The cache key: vouched for by the cache's stamp of this file while the file keeps
        // its identity (a 19 MB Python component takes ~40 ms to hash), else hashed now.
        let known =
            |meta: Option<&std::fs::Metadata>| meta.and_then(|m| self.cache.known_digest(path, m));
        let digest = match known(meta.as_ref()) {
            Some(digest) => digest,
            None => {
                // Waited for within the step's own bound, as the compiler is: a slow read of
                // another's large file must not hold every first load past its deadline.
                let _reading = match wait {
                    None => self.reading.lock(),
                    Some(wait) => self
                        .reading
                        .try_lock_for(wait)
                        .ok_or(LoadStop::ReaderBusy)?,
                };
                match known(meta.as_ref()) {
                    Some(digest) => digest,
                    None => {
                        // Not kept: a compile reads the file again, rather than hold it
                        // through a wait for the compiler of minutes.
                        let bytes =
                            super::component_file::read(path).map_err(|e| unread(path, e))?;
                        let digest = content_digest(&bytes);
                        if let Some(meta) = &meta {
                            self.cache.remember_digest(path, meta, &digest);
                        }
                        digest
                    }
                }
            }
        };
        let remember = |step: &Arc<LoadedStep>| {
            if let Some(stamp) = stamp {
                self.loaded.remember_path(path, stamp, &step.digest);
            }
        };
        if let Some(known) = self.known(&digest) {
            return known.inspect(&remember).map_err(load_error);
        }
        // A cached artifact is mapped and linked one at a time, and without waiting for a
        // compile (of another component: a costly one holds `compiling` for minutes). What a
        // turn loaded is known before the turn ends: a load that waited for it finds it.
        {
            let _loading = lock(&self.loading);
            if let Some(known) = self.known(&digest) {
                return known.inspect(&remember).map_err(load_error);
            }
            if let Some(component) = self.cache.cached(&self.engine, &digest) {
                let linked = self.link(path, digest, component, CacheOutcome::Hit);
                return self
                    .settle(path, linked)
                    .inspect(&remember)
                    .map_err(LoadStop::Failed);
            }
        }
        // One compile at a time; a turn that ends having loaded this one ends the wait.
        let ready =
            || self.loaded.get(&digest).is_some() || self.lock_failed().contains_key(&digest);
        let until = wait.map(|w| Instant::now() + w);
        let _compiling = loop {
            let left = until.map(|u| u.saturating_duration_since(Instant::now()));
            match self.compiling.take(share, left, ready) {
                Taken::Turn(turn) => break turn,
                // What the turn loaded may be gone again by now (evicted, or its failure
                // forgotten): then it compiles in a turn of its own, never beside another's
                // compile (round 27 review of round 26).
                Taken::Ready => {
                    if let Some(known) = self.known(&digest) {
                        return known.inspect(&remember).map_err(load_error);
                    }
                }
                Taken::WaitRanOut => return Err(LoadStop::CompilerBusy { digest }),
            }
        };
        if let Some(known) = self.known(&digest) {
            return known.inspect(&remember).map_err(load_error);
        }
        // Another process sharing the cache may have compiled it while this waited.
        if let Some(component) = self.cache.cached(&self.engine, &digest) {
            let linked = self.link(path, digest, component, CacheOutcome::Hit);
            return self
                .settle(path, linked)
                .inspect(&remember)
                .map_err(LoadStop::Failed);
        }
        let compiled = self.compile_and_link(path);
        self.settle(path, compiled)
            .inspect(&remember)
            .map_err(LoadStop::Failed)
    }

    /// Keeps what a load of the component at `path` came to: a loaded component, or why its
    /// bytes never load.
    fn settle(
        &self,
        path: &Path,
        loaded: Result<Arc<LoadedStep>, NotLoaded>,
    ) -> Result<Arc<LoadedStep>, StepFailure> {
        match loaded {
            Ok(step) => {
                self.loaded.insert(step.clone());
                Ok(step)
            }
            Err(NotLoaded::Unreadable(e)) => Err(unread(path, e)),
            Err(NotLoaded::ForNow(why)) => Err(StepFailure::Host(format!(
                "cannot load step `{}` for now: {why}",
                path.display()
            ))),
            Err(NotLoaded::Broken { digest, why }) => {
                // Cut as a step's own error is: a link error quotes import names the
                // component chose, up to 100,000 bytes each, into every run naming it
                // (round 19 hostile-step review).
                let why = crate::text::clip_bytes(why, crate::text::MAX_STEP_ERROR_BYTES);
                self.remember_failed(&digest, &why);
                Err(StepFailure::Load {
                    path: path.display().to_string(),
                    message: why,
                })
            }
        }
    }

    /// What this process already knows of the component with `digest`: loaded, or broken
    /// (why).
    fn known(&self, digest: &str) -> Option<Result<Arc<LoadedStep>, String>> {
        if let Some(step) = self.loaded.get(digest) {
            return Some(Ok(step));
        }
        if let Some(why) = self.lock_failed().get(digest).cloned() {
            return Some(Err(why));
        }
        // Found too costly by a process sharing the cache (this one before a restart).
        let limits = super::compiler::limits_key()?;
        let why = self.cache.too_costly(digest, &limits)?;
        self.remember_failed(digest, &why);
        Some(Err(why))
    }

    /// Remembers why the component with `digest` never loads.
    fn remember_failed(&self, digest: &str, why: &str) {
        let mut failed = self.lock_failed();
        if failed.len() >= FAILED_KEPT {
            failed.clear();
        }
        failed.insert(digest.to_owned(), why.to_owned());
    }

    /// The component at `path` compiled, and linked.
    fn compile_and_link(&self, path: &Path) -> Result<Arc<LoadedStep>, NotLoaded> {
        // The bytes compiled are the ones hashed for the key: read and hashed once more (the
        // file may have changed since its digest was taken, before the wait for the compiler).
        let bytes = super::component_file::read(path).map_err(NotLoaded::Unreadable)?;
        let digest = content_digest(&bytes);
        let broken = |why: String| NotLoaded::Broken {
            digest: digest.clone(),
            why,
        };
        // The pool's per-module shape, under either allocator, is checked where the component
        // compiles (`compiler.rs`, `module_shape.rs`).
        let component = match self.cache.compile(&self.engine, &digest, &bytes) {
            Ok(component) => component,
            Err(CompileError::Invalid(e)) => {
                return Err(broken(match async_abi::async_feature(&bytes) {
                    // SPEC ST-1: say how to rebuild, not which validator feature is off.
                    Some(feature) => format!(
                        "built for component-model async (it uses {feature}); {}",
                        async_abi::REBUILD_HINT
                    ),
                    None => format!("not a valid component: {e}"),
                }));
            }
            Err(CompileError::Failed(why) | CompileError::OutOfShape(why)) => {
                return Err(broken(why));
            }
            Err(CompileError::TooCostly(why)) => {
                if let Some(limits) = super::compiler::limits_key() {
                    self.cache.remember_too_costly(&digest, &limits, &why);
                }
                return Err(broken(why));
            }
            Err(CompileError::ForNow(why)) => return Err(NotLoaded::ForNow(why)),
            // Once is the machine's; twice the same bytes are the cause (an out-of-memory
            // killer on a machine with less free than the limit): the run fails with why,
            // where it was resumed and compiled again without end (round 30 hostile-step
            // review).
            Err(CompileError::Killed(why)) => {
                return Err(if self.killed_before(&digest) {
                    broken(format!("{why}, twice"))
                } else {
                    NotLoaded::ForNow(why)
                });
            }
        };
        self.link(path, digest, component, CacheOutcome::Compiled)
    }

    /// `component` (of `digest`) linked against the host's interfaces.
    fn link(
        &self,
        path: &Path,
        digest: String,
        component: wasmtime::component::Component,
        cache: CacheOutcome,
    ) -> Result<Arc<LoadedStep>, NotLoaded> {
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(StepPre::new)
            .map_err(|e| NotLoaded::Broken {
                digest: digest.clone(),
                why: format!("not a `flowhost:step/step` component: {e:#}"),
            })?;
        let image = component.image_range();
        Ok(Arc::new(LoadedStep {
            digest,
            path: path.to_owned(),
            cache,
            code_bytes: (image.end as usize).saturating_sub(image.start as usize),
            pre,
        }))
    }

    /// Whether the compile of the component with `digest` was killed before; notes this one.
    fn killed_before(&self, digest: &str) -> bool {
        let mut killed = self
            .killed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if killed.remove(digest) {
            return true;
        }
        if killed.len() >= FAILED_KEPT {
            killed.clear();
        }
        killed.insert(digest.to_owned());
        false
    }

    fn lock_failed(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.failed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `step` once on `input` as `caller`, within `limits`. Blocking: call it from a
    /// thread that may block (the engine runs each step on the blocking pool).
    pub fn execute(
        &self,
        step: &LoadedStep,
        input: &serde_json::Value,
        caller: Caller,
        services: HostServices,
        limits: StepLimits,
    ) -> StepExecution {
        let share = format!("workspace `{}`", caller.workspace);
        self.execute_in(step, input, caller, services, limits, &share)
    }

    /// [`StepRuntime::execute`], its instance slot counted towards `share`'s (`slots.rs`,
    /// named in a refusal): the organization of the caller's workspace, so that one tenant's
    /// workspaces together hold no more of the host's slots than one workspace may
    /// (hostile-step review: two workspaces of one organization held them all).
    pub fn execute_in(
        &self,
        step: &LoadedStep,
        input: &serde_json::Value,
        caller: Caller,
        services: HostServices,
        limits: StepLimits,
        share: &str,
    ) -> StepExecution {
        let refused = |why: String| StepExecution {
            result: Err(StepFailure::Host(why)),
            logs: Vec::new(),
            dropped_logs: 0,
            events: Vec::new(),
            duration: Duration::ZERO,
            output_values: 0,
            output_bytes: 0,
            database_calls: 0,
            case_events: Default::default(),
            charged: Default::default(),
        };
        // Not in a slot another tenant's step may find swapped-out pages of this one in.
        if let Err(why) = self.swap_watch.check() {
            return refused(why.to_owned());
        }
        // Held until the store (and its instance) is dropped, declared first so dropped last.
        let _slot = match self.slots.take(share) {
            Ok(slot) => slot,
            Err(why) => return refused(why),
        };
        let started = Instant::now();
        // The pool caps each memory at its slot size; the same ceiling without the pool.
        let limits = StepLimits {
            memory_bytes: limits.memory_bytes.min(self.max_memory_bytes),
            ..limits
        };
        let mut store = Store::new(&self.engine, StepState::new(caller, services, limits));
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(engine::deadline_ticks(limits.timeout));
        // Judged by the wall clock once its ticks run out: the ticker makes up the ticks a
        // slow pass missed (`engine.rs`), so a store made while it lagged may see several at
        // once, and would have stopped early (self-review). Not yet due, it goes on for the
        // ticks left; due, it traps as the deadline (`Trap::Interrupt`).
        store.epoch_deadline_callback(|store| {
            let left = store
                .data()
                .deadline()
                .saturating_duration_since(Instant::now());
            Ok(if left.is_zero() {
                wasmtime::UpdateDeadline::Interrupt
            } else {
                wasmtime::UpdateDeadline::Continue(engine::deadline_ticks(left))
            })
        });
        store.call_hook(|mut store, hook| {
            super::hostcall_fuel::per_direction(store.as_context_mut(), hook);
            super::deadline::refuse_late_host_calls(store, hook)
        });
        // The host calls' storage work stops at the deadline too (`store/deadline.rs`).
        // The same instant the call hook checks, so a wait that gave up at it always fails
        // the step as a deadline. Its waits for the shared connection take `share`'s turn.
        let _bound = crate::store::deadline::bind_shared(store.data().deadline(), share);

        let result = self.call(step, &mut store, input, &limits);
        let (output_values, output_bytes) = result
            .as_ref()
            .map_or((0, 0), |(_, size)| (size.values, size.bytes));
        let mut result = result.map(|(value, _)| value);
        // A step that woke from a (clamped) wait may return before an epoch check catches it;
        // its deadline still holds.
        if result.is_ok() && started.elapsed() > limits.timeout {
            result = Err(StepFailure::Deadline {
                timeout: limits.timeout,
                stderr: store.data().stderr(),
            });
        }
        // Its time ran out after others held what it waited for over half of it, in waits
        // that each ended well: the host took its time, not the step (SPEC WF-11), as when
        // one wait ran out at the deadline (round 27 reviews: it failed as its own timeout).
        if matches!(result, Err(StepFailure::Deadline { .. }))
            && crate::store::deadline::others_took_its_time()
        {
            store.data().services.note_host_took_its_time();
        }
        let database_calls = store.data().database_calls;
        let case_events = store
            .data()
            .caller
            .step
            .as_ref()
            .map(|step| step.published.counted())
            .unwrap_or_default();
        let recorder = store.data_mut().take_recorder();
        let (output_values, output_bytes) = if result.is_ok() {
            (output_values, output_bytes)
        } else {
            (0, 0)
        };
        StepExecution {
            events: if result.is_ok() {
                recorder.events
            } else {
                Vec::new()
            },
            result,
            logs: recorder.logs,
            dropped_logs: recorder.dropped_logs,
            duration: started.elapsed(),
            output_values,
            output_bytes,
            database_calls,
            case_events,
            charged: recorder.charged,
        }
    }

    fn call(
        &self,
        step: &LoadedStep,
        store: &mut Store<StepState>,
        input: &serde_json::Value,
        limits: &StepLimits,
    ) -> Result<(serde_json::Value, OutputSize), StepFailure> {
        let input = serde_json::to_string(input).map_err(|e| StepFailure::Input(e.to_string()))?;
        let trapped = |store: &Store<StepState>, e: wasmtime::Error| {
            StepFailure::from_wasm_error(&e, limits.timeout, store.data().stderr())
        };
        let instance = step
            .pre
            .instantiate(&mut *store)
            .map_err(|e| trapped(store, e))?;
        let output = instance
            .call_run(&mut *store, &input)
            .map_err(|e| trapped(store, e))?
            .map_err(|e| {
                StepFailure::Step(crate::text::clip_bytes(
                    describe_step_error(e),
                    crate::text::MAX_STEP_ERROR_BYTES,
                ))
            })?;
        limits.output_bytes_within(output.len(), || store.data().stderr())?;
        let count = crate::json_limits::text_values(&output);
        limits.output_values_within(count, || store.data().stderr())?;
        // Here, before the step's events are kept: an output refused later by the engine
        // would have published them from a failed step (hostile-step review).
        let depth = crate::json_limits::text_depth(&output);
        if depth > crate::json_limits::MAX_JSON_DEPTH {
            return Err(StepFailure::OutputTooDeep {
                depth,
                limit: crate::json_limits::MAX_JSON_DEPTH,
                stderr: store.data().stderr(),
            });
        }
        // As every JSON that enters: a key named twice (kept as the last, where the step
        // wrote two) or an integer read as the nearest float is refused (review).
        let value =
            crate::json_limits::from_str(&output).map_err(|e| StepFailure::OutputNotJson {
                message: e.to_string(),
                stderr: store.data().stderr(),
            })?;
        // Capped and charged as stored, as an event's payload is: `1e15` is stored
        // `1000000000000000.0`, and 5 MB sent were 19 MB stored, twice (round 20
        // hostile-step review). The values cap bounds the measuring.
        let Some(stored) = crate::json_limits::text_len_within(&value, limits.max_output_bytes)
        else {
            return Err(StepFailure::OutputTooLarge {
                len: crate::json_limits::text_len_within(&value, usize::MAX).unwrap_or(usize::MAX),
                limit: limits.max_output_bytes,
                stderr: store.data().stderr(),
            });
        };
        let size = OutputSize {
            values: count,
            bytes: output.len().max(stored),
        };
        Ok((value, size))
    }
}

/// What an output's text held, counted before it was parsed.
struct OutputSize {
    values: usize,
    bytes: usize,
}

fn describe_step_error(e: StepError) -> String {
    match e {
        StepError::InvalidInput(m) => format!("invalid input: {m}"),
        StepError::Host(h) => format!("host call failed: {}", super::host::describe_host_error(&h)),
        StepError::Failed(m) => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component that does not compile is compiled once: the same bytes fail the same way,
    /// and a hostile file named by every run would otherwise be compiled by every run. A file
    /// that cannot be read is not remembered (it may be readable later).
    #[test]
    fn a_component_that_fails_to_compile_is_not_compiled_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime = StepRuntime::new(&EngineSettings::default(), None).expect("runtime");
        let broken = dir.path().join("broken.wasm");
        std::fs::write(&broken, b"\0asm\x0d\0\x01\0garbage").expect("write");
        let first = runtime.load(&broken).err().expect("does not compile");
        assert!(
            first.to_string().contains("not a valid component"),
            "{first}"
        );
        assert_eq!(runtime.lock_failed().len(), 1);
        // The same bytes under another name: answered from memory, word for word.
        let again = dir.path().join("again.wasm");
        std::fs::copy(&broken, &again).expect("copy");
        let second = runtime.load(&again).err().expect("still broken");
        assert_eq!(
            second.to_string(),
            first.to_string().replace("broken.wasm", "again.wasm")
        );
        assert_eq!(runtime.lock_failed().len(), 1);
        let missing = runtime.load(&dir.path().join("missing.wasm"));
        assert!(missing.is_err());
        assert_eq!(
            runtime.lock_failed().len(),
            1,
            "an unreadable file is not remembered"
        );
    }

    /// A load waits for another component's compile only within its bound, then fails for
    /// now (a run stops resumable); before, it waited for a costly compile without any bound
    /// (hostile-step review).
    #[test]
    fn a_load_waits_for_another_compile_only_within_its_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime =
            Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
        let new = dir.path().join("new.wasm");
        std::fs::write(&new, b"\0asm\x0d\0\x01\0not compiled yet").expect("write");
        let compiling = runtime.compiling.take("another", None, || false);
        let started = Instant::now();
        let refused = runtime
            .load_within(&new, Some(Duration::from_millis(100)), "org")
            .err()
            .expect("refused while another compile goes on");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(refused.kind(), "host", "{refused}");
        assert!(
            refused
                .to_string()
                .contains("for the host's compiler, which is busy"),
            "{refused}"
        );
        assert!(runtime.lock_failed().is_empty(), "not taken for broken");
        // The load that gave up left its component to compile in its turn: when the turn
        // frees it is compiled (here: found broken) with no load asking again (round 25
        // hostile-step review: a share that gave up was absent whenever the turn freed).
        drop(compiling);
        let since = Instant::now();
        while runtime.lock_failed().is_empty() {
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "compiled in its turn"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let compiled = runtime.load_within(&new, Some(Duration::ZERO), "org");
        assert_eq!(
            compiled.err().map(|e| e.kind()),
            Some("load"),
            "what its turn found is known without a wait"
        );
    }

    /// One component waits to be compiled later once, and a share has at most
    /// `LATER_PER_SHARE` waiting: a step giving up on many components leaves no thread per
    /// give-up.
    #[test]
    fn compiles_left_for_later_are_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime =
            Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
        let compiling = runtime.compiling.take("another", None, || false);
        for i in 0..LATER_PER_SHARE + 2 {
            let file = dir.path().join(format!("new{i}.wasm"));
            std::fs::write(&file, format!("\0asm\x0d\0\x01\0later {i}")).expect("write");
            for _ in 0..2 {
                assert!(
                    runtime
                        .load_within(&file, Some(Duration::ZERO), "org")
                        .is_err()
                );
            }
        }
        let waiting = |share: &str| {
            lock_later(&runtime.later)
                .values()
                .filter(|s| *s == share)
                .count()
        };
        assert_eq!(waiting("org"), LATER_PER_SHARE);
        let other = dir.path().join("other.wasm");
        std::fs::write(&other, b"\0asm\x0d\0\x01\0other").expect("write");
        assert!(
            runtime
                .load_within(&other, Some(Duration::ZERO), "org-b")
                .is_err()
        );
        assert_eq!(waiting("org-b"), 1, "another share's place is its own");
        drop(compiling);
        let since = Instant::now();
        while !lock_later(&runtime.later).is_empty() {
            assert!(since.elapsed() < Duration::from_secs(30), "all compiled");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(runtime.lock_failed().len(), LATER_PER_SHARE + 1);
    }
}
