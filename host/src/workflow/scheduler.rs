//! The scheduler of `flowhost serve` (SPEC WF-8, WF-11), a library type that `cli/serve.rs`
//! only configures: it keeps resuming the runs no live process is executing (those an
//! earlier process left unfinished included), starts the runs that new events trigger, wakes
//! runs whose waits are due and fires interaction timeouts, with up to `concurrency` runs in
//! flight at once. Every [`housekeeping::EVERY`] it also deletes expired rows
//! (`crate::housekeeping`), a failure of which is reported and never stops it.
//!
//! On a stop (the engine's stop flag, set on SIGINT or SIGTERM when asked to listen) it stops
//! claiming work: each run in flight finishes the step it is executing (that step is
//! journaled) and stops there, still `running`, so the next start resumes it at its first
//! unfinished step.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::engine::{Engine, Quiet, RunOutcome};
use crate::Error;
use crate::housekeeping::{self, Pruned};
use crate::runs::RunStatus;

/// How the scheduler runs.
#[derive(Clone, Debug)]
pub struct SchedulerOptions {
    /// How long to sleep when there is nothing to do; also the longest a round waits for a
    /// busy worker before its due waits, timeouts and housekeeping come round again.
    pub poll: Duration,
    /// Dispatch what is pending once, wait for it, and return.
    pub once: bool,
    /// How many runs may be in flight at once (at least 1).
    pub concurrency: usize,
    /// Set the engine's stop flag on SIGINT or SIGTERM (a process's choice, not a test's).
    pub stop_on_signals: bool,
}

/// What the scheduler reports as it goes.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A run ended or stopped; `kind` is "resumed" or "triggered".
    Finished {
        kind: &'static str,
        /// The run's id as people see it (SPEC ID-4), or "(unreadable)"; never its internal key.
        run: &'a str,
        outcome: &'a Result<RunOutcome, Error>,
    },
    /// A run's worker thread failed (panicked or was cancelled).
    WorkerFailed(&'a tokio::task::JoinError),
    /// A round could not claim work (the database busy, say); the next round tries again.
    ClaimFailed(&'a anyhow::Error),
    /// A stop was asked with runs in flight: they finish their current step and stop there.
    Stopping { in_flight: usize },
    /// A housekeeping pass deleted rows (reported only when it deleted some).
    Pruned(&'a Pruned),
    /// A housekeeping pass failed (the database busy, say); the next one tries again.
    HousekeepingFailed(&'a Error),
    /// Listening for other hosts' work on PostgreSQL failed: until it listens again, work
    /// another host leaves is found at the next poll.
    ListenFailed(&'a Error),
}

type Notify = Arc<dyn Fn(Notice<'_>) + Send + Sync>;

/// The long-running host's loop over an [`Engine`].
pub struct Scheduler {
    engine: Arc<Engine>,
    options: SchedulerOptions,
    notify: Notify,
    /// Woken when another task left work (the HTTP server recorded a run), so it is claimed
    /// now rather than at the next poll.
    wake: Arc<tokio::sync::Notify>,
}

impl Scheduler {
    /// A scheduler over `engine`; `notify` hears of every run that ends or stops and of
    /// every failed claim (the CLI prints them).
    pub fn new(
        engine: Arc<Engine>,
        options: SchedulerOptions,
        notify: impl Fn(Notice<'_>) + Send + Sync + 'static,
    ) -> Self {
        Scheduler {
            engine,
            options,
            notify: Arc::new(notify),
            wake: Arc::default(),
        }
    }

    /// What to notify to have the loop look for work at once instead of at its next poll.
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// Runs until stopped (the engine's stop flag: SIGINT/SIGTERM with
    /// [`SchedulerOptions::stop_on_signals`]) or, with [`SchedulerOptions::once`], until
    /// nothing is pending or in flight. Blocks the calling thread on a runtime of its own.
    pub fn run(self) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_stack_size(super::engine::RUN_THREAD_STACK)
            .build()?;
        // The engine is let go here, after the loop, not inside it: on PostgreSQL its last
        // drop closes the database client, which blocks and must not happen on a thread
        // that drives the runtime (the client would panic there).
        let engine = self.engine.clone();
        let served = runtime.block_on(self.serve());
        drop(engine);
        served
    }

    /// The loop of [`Scheduler::run`] on a runtime the caller owns, so other tasks (the HTTP
    /// server of `serve --http`) share it. Returns when the engine's stop flag is set.
    pub async fn serve(self) -> anyhow::Result<()> {
        let Scheduler {
            engine,
            options,
            notify,
            wake,
        } = self;
        let stop = engine.stop_flag();
        if options.stop_on_signals {
            tokio::spawn(stop_on_signal(stop.clone()));
        }
        // On PostgreSQL, other hosts' work wakes the loop (their NOTIFY); the poll stays as
        // the fallback. The listener ends with the loop.
        let _listening = match engine.platform().db_unbounded().server() {
            Some(server) if !options.once => {
                Some(Listening::start(server, wake.clone(), notify.clone())?)
            }
            _ => None,
        };
        let mut workers = Workers::new(
            engine.clone(),
            options.concurrency.max(1),
            options.once,
            notify.clone(),
        );
        // Rounds in a row whose claim failed.
        // Unreadable rows already reported by this scheduler (see `claim_work`).
        let mut reported = std::collections::HashSet::new();
        let mut failed_rounds = 0;
        // The first pass at once; `--once` runs only that one.
        let mut next_housekeeping = Some(Instant::now());
        // Why this host gave up: its heartbeat went stale (PostgreSQL), so it may have been
        // declared dead and can never lease again; it stops for its supervisor to restart it.
        let mut fenced = None;
        while !stop.load(Ordering::SeqCst) {
            if let Some(why) = engine.fenced() {
                stop.store(true, Ordering::SeqCst);
                fenced = Some(why);
                break;
            }
            if let Some(due) = next_housekeeping
                && due <= Instant::now()
            {
                let after = keep_house(&engine, &notify).await;
                next_housekeeping = (!options.once).then(|| Instant::now() + after);
            }
            // A failed claim (the database busy past its timeout, say) is reported and tried
            // again next round; the runs in flight carry on.
            let claimed = match claim_work(&engine, &mut workers, &stop, options.poll).await {
                Ok(claimed) => {
                    // The infrastructure's failure fails the round (tried again, and counted
                    // for `--once`); stored data that does not read is named once, not every
                    // round, while the rest goes on.
                    let infrastructure = claimed.failed.iter().any(Error::is_infrastructure);
                    if infrastructure {
                        failed_rounds += 1;
                    } else {
                        failed_rounds = 0;
                    }
                    if reported.len() > REPORTED_KEPT {
                        reported.clear();
                    }
                    for e in &claimed.failed {
                        if e.is_infrastructure() || reported.insert(e.to_string()) {
                            notify(Notice::ClaimFailed(&anyhow::Error::msg(e.to_string())));
                        }
                    }
                    claimed
                }
                Err(e) => {
                    notify(Notice::ClaimFailed(&e));
                    failed_rounds += 1;
                    Claimed::default()
                }
            };
            workers.reap();
            if options.once {
                if failed_rounds >= ONCE_CLAIM_ATTEMPTS {
                    // Pending work may be left: say so with the exit status.
                    workers.drain().await;
                    anyhow::bail!(
                        "`serve --once` could not claim pending work ({failed_rounds} attempts in a row failed); what was pending is still pending"
                    );
                }
                if failed_rounds > 0 {
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
                // Done when a round found nothing to claim (events that start no workflow
                // count as claimed: they were pending) and nothing is in flight or due again.
                if claimed.nothing() && workers.in_flight() == 0 {
                    match workers.next_retry() {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        // Runs it gave up on are left unfinished: said with the exit status,
                        // as pending work left is (round 30 kill review: "stopped cleanly").
                        None if workers.left_unfinished() > 0 => anyhow::bail!(
                            "`serve --once` left {} run(s) unfinished (the infrastructure kept \
                             stopping them, or they could not be resumed); a later `serve`, or \
                             `flowhost runs resume`, carries them on",
                            workers.left_unfinished()
                        ),
                        None => break,
                    }
                    continue;
                }
                if claimed.idle() && workers.in_flight() > 0 {
                    workers.next_finished().await;
                }
                continue;
            }
            if claimed.idle() {
                // Nothing new: sleep until the poll interval ends or a run finishes (a
                // finished run may have emitted events that start others).
                tokio::select! {
                    () = tokio::time::sleep(options.poll) => {}
                    () = workers.next_finished() => {}
                    () = wake.notified() => {}
                }
            }
        }
        if stop.load(Ordering::SeqCst) && workers.in_flight() > 0 {
            notify(Notice::Stopping {
                in_flight: workers.in_flight(),
            });
        }
        workers.drain().await;
        match fenced {
            Some(why) => anyhow::bail!("{why}"),
            None => Ok(()),
        }
    }
}

/// How often the listener looks up from its wait to see whether the loop has ended, and how
/// long it waits before connecting again after a failure.
const LISTEN_TICK: Duration = Duration::from_millis(250);
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// The thread listening for other hosts' work (`NOTIFY flowhost_work`, issue 18) and waking
/// the loop; it stops when this is dropped.
struct Listening {
    done: Arc<AtomicBool>,
}

impl Listening {
    fn start(
        server: crate::store::postgres::Server,
        wake: Arc<tokio::sync::Notify>,
        notify: Notify,
    ) -> anyhow::Result<Self> {
        let done = Arc::new(AtomicBool::new(false));
        let ended = done.clone();
        // A thread of its own: the PostgreSQL client blocks while it waits.
        std::thread::Builder::new()
            .name("flowhost-listen".into())
            .spawn(move || listen(&server, &wake, &notify, &ended))?;
        Ok(Listening { done })
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

fn listen(
    server: &crate::store::postgres::Server,
    wake: &tokio::sync::Notify,
    notify: &Notify,
    done: &AtomicBool,
) {
    let mut listener: Option<crate::store::postgres::Listener> = None;
    // Reported once per run of failures, not once a second.
    let mut failing = false;
    while !done.load(Ordering::SeqCst) {
        let waited = match &mut listener {
            Some(l) => l.wait(LISTEN_TICK),
            None => server.listen().map(|l| {
                listener = Some(l);
                // Whatever was sent while nobody listened is looked for now.
                true
            }),
        };
        match waited {
            Ok(woken) => {
                failing = false;
                if woken {
                    wake.notify_one();
                }
            }
            Err(e) => {
                listener = None;
                if !std::mem::replace(&mut failing, true) {
                    notify(Notice::ListenFailed(&e.into()));
                }
                std::thread::sleep(LISTEN_RETRY);
            }
        }
    }
}

/// One housekeeping pass off the runtime's threads; reports what it deleted or why it failed
/// (never more: the server goes on). How long until the next pass.
async fn keep_house(engine: &Arc<Engine>, notify: &Notify) -> Duration {
    let e = engine.clone();
    let pass = tokio::task::spawn_blocking(move || e.platform().housekeeping().prune()).await;
    match pass {
        Ok(Ok(pruned)) => {
            if pruned.total() > 0 {
                notify(Notice::Pruned(&pruned));
            }
            if pruned.more_left() {
                return housekeeping::CATCH_UP;
            }
        }
        Ok(Err(e)) => notify(Notice::HousekeepingFailed(&e)),
        Err(e) => notify(Notice::HousekeepingFailed(&Error::Internal(format!(
            "the housekeeping worker failed: {e}"
        )))),
    }
    housekeeping::EVERY
}

/// One unit of work for a worker.
enum Job {
    Resume(i64),
    Triggered(Box<super::triggers::TriggeredRun>),
}

impl Job {
    fn run(&self) -> i64 {
        match self {
            Job::Resume(run) => *run,
            Job::Triggered(triggered) => triggered.run.key,
        }
    }
}

/// Events claimed per round at most, so that due waits and timeouts are not starved by runs
/// that keep emitting events.
const EVENTS_PER_ROUND: usize = 64;

/// Events one organization's workspaces claim at most in a round: three quarters, as its
/// share of the workers. Turns are taken by workspace, and an organization of thirty
/// workspaces took thirty claims for each of another tenant's (hostile-step review).
const EVENTS_PER_TENANT_PER_ROUND: usize = EVENTS_PER_ROUND * 3 / 4;

/// How many rounds in a row `serve --once` tries to claim before giving up with an error.
const ONCE_CLAIM_ATTEMPTS: u32 = 5;

/// The pause before claiming again after a failed claim (`--once`).
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// A run stopped by the infrastructure (SPEC WF-11) is tried again after this, doubling up to
/// [`RETRY_MAX`] each time it stops again.
const RETRY_FIRST: Duration = Duration::from_millis(250);

/// How long a run given up on is left alone before a round may take it again, the first time.
const GIVE_UP_FOR: Duration = Duration::from_secs(300);

/// The longest a run given up on is left alone (and, under `--once`, for the process's life).
const GIVE_UP_MAX: Duration = Duration::from_secs(6 * 3600);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// How often `serve --once` tries a run the infrastructure stopped before leaving it to the
/// next start.
const ONCE_RUN_ATTEMPTS: u32 = 4;

/// What a round claimed.
#[derive(Default)]
struct Claimed {
    /// Runs handed to the workers.
    started: usize,
    /// Events claimed, whether or not they started a run.
    events: usize,
    /// What failed while the rest was claimed: reported, and tried again next round.
    failed: Vec<Error>,
    /// Whether work was left for a later round (its tenant held its share of the workers,
    /// or no worker freed within the round's patience): not "nothing pending", or `--once`
    /// ended with it still pending.
    deferred: bool,
}

impl Claimed {
    /// Whether the round started nothing (work it left for later included).
    fn idle(&self) -> bool {
        self.started == 0 && self.events == 0
    }

    /// Whether the round found nothing pending.
    fn nothing(&self) -> bool {
        self.idle() && !self.deferred
    }
}

/// How many reported unreadable rows a scheduler remembers before it starts afresh.
const REPORTED_KEPT: usize = 1024;

/// Hands due work to the workers: runs whose wait is due or whose interaction timed out,
/// runs left `running` that no live process executes (a killed process's, a stopped one's, or
/// one claimed here whose resume failed), and the runs of pending events (up to
/// [`EVENTS_PER_ROUND`]).
async fn claim_work(
    engine: &Arc<Engine>,
    workers: &mut Workers,
    stop: &AtomicBool,
    patience: Duration,
) -> anyhow::Result<Claimed> {
    let mut claimed = Claimed::default();
    let e = engine.clone();
    // Each part claims on its own: one that fails (a row this host cannot read, say) is
    // reported, and the others' work still starts (concurrency review).
    type Round = (Vec<i64>, Vec<crate::runs::Interrupted>, Vec<Error>, bool);
    let (woken, interrupted, failed, tenants) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<Round> {
            // Trigger matching decides who may see a case: with today's access data.
            e.refresh_access()?;
            let (woken, mut failed) = e.claim_due_runs();
            let interrupted = e.platform_runs_interrupted().unwrap_or_else(|err| {
                failed.push(err);
                Vec::new()
            });
            Ok((woken, interrupted, failed, several_tenants(&e)))
        })
        .await??;
    claimed.failed = failed;
    // With one organization there is nobody to keep workers for: no cap, so a round hands
    // the workers as much as before (a capped round claimed no more than the free workers,
    // and a busy host made a round per finished run; review).
    workers.share = if tenants {
        tenant_share(workers.limit)
    } else {
        usize::MAX
    };
    // A run claimed from its hold (its wait due, its interaction timed out) is new work:
    // that this process gave up on it before does not stand, or it would stay claimed and
    // unexecuted until a restart (kill and concurrency review).
    for run in &woken {
        workers.gave_up.remove(run);
    }
    // A bounded share of resumes a round, workspaces taking turns: a tenant's backlog (a flood
    // of webhook runs, thousands of waits due at once) waits its turn behind the others' runs
    // and behind the round's events, instead of every other tenant's work waiting hours
    // behind it (amplification review). The runs just woken are among `interrupted` (set
    // `running`, leased to nobody), so they take their workspace's turns too; what this
    // process has in flight, gave up or waits to retry is left out before the bound, which
    // it would otherwise fill round after round (review). The rest are found again next
    // round: still `running` with no live lease.
    let (mut resumes, deferred) = workers.to_resume(interrupted);
    claimed.deferred = deferred;
    // Those the free workers take now; the rest after the round's events, which take the
    // next workers to free (kill and concurrency review: all of them first held the round,
    // its events unclaimed, until about three times the workers' runs had finished).
    let mut later: std::collections::VecDeque<_> = resumes
        .split_off(
            workers
                .limit
                .saturating_sub(workers.in_flight())
                .min(resumes.len()),
        )
        .into();
    for (run, workspace) in resumes {
        workers.start(Job::Resume(run), &workspace).await;
        claimed.started += 1;
    }
    let claims: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
    // With one organization there is nobody to keep claims for (as for workers).
    let per_tenant = if tenants {
        EVENTS_PER_TENANT_PER_ROUND
    } else {
        usize::MAX
    };
    // A round waits for busy workers this long at most: its due waits, interaction timeouts,
    // wake-ups and housekeeping come with the next round, not after up to 64 runs' lengths
    // (round 17 kill review: a 1-minute approval timeout fired tens of minutes late).
    let waited_out = tokio::time::Instant::now() + patience;
    // A worker freed within the round goes in turn to one of its later resumes and to an
    // event: to the events alone, a host kept busy by events resumed nothing it had woken.
    let mut resume_next = true;
    let mut tries = 0;
    while tries < EVENTS_PER_ROUND {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // A worker free before an event is claimed, not after: claimed first, its runs were
        // leased to this process and waited behind its long steps while other hosts idled
        // (round 16 kill review). Meanwhile the event stays pending, for whoever has a
        // worker first.
        workers.reap();
        if workers.in_flight() >= workers.limit {
            // Waited for only when an event is pending: with none, the round ends (round 16
            // self-review).
            // A read that fails is taken for "pending" and reported with the round: the round
            // keeps what it started (self-review).
            let e = engine.clone();
            match tokio::task::spawn_blocking(move || e.event_pending()).await? {
                Ok(true) => {}
                Ok(false) => break,
                Err(err) => claimed.failed.push(err),
            }
        }
        let mut out_of_patience = false;
        while workers.in_flight() >= workers.limit && !stop.load(Ordering::SeqCst) {
            tokio::select! {
                () = workers.next_finished() => {}
                () = tokio::time::sleep_until(waited_out) => {
                    out_of_patience = true;
                    break;
                }
            }
        }
        if out_of_patience {
            claimed.deferred = true;
            break;
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if std::mem::replace(&mut resume_next, false)
            && let Some((run, workspace)) = later.pop_front()
        {
            if workers.holds_its_share(&workspace) {
                claimed.deferred = true;
            } else {
                workers.start(Job::Resume(run), &workspace).await;
                claimed.started += 1;
            }
            continue;
        }
        resume_next = true;
        tries += 1;
        let e = engine.clone();
        // The events of a tenant that holds its share of the workers, or has claimed its
        // share of the round's events, wait for a later round.
        let full = workers.full_tenants();
        let claims = claims.clone();
        let (runs, passed_over) = tokio::task::spawn_blocking(move || {
            let passed_over = AtomicBool::new(false);
            let runs = e.claim_next_event_admitting(None, &|ws| {
                let tenant = tenant_of(&e, ws);
                let mut claims = claims.lock().unwrap_or_else(|p| p.into_inner());
                let claimed = claims.entry(tenant.clone()).or_default();
                let admitted = !full.contains(&tenant) && *claimed < per_tenant;
                if admitted {
                    *claimed += 1;
                } else {
                    passed_over.store(true, Ordering::Relaxed);
                }
                admitted
            });
            runs.map(|runs| (runs, passed_over.into_inner()))
        })
        .await??;
        claimed.deferred |= passed_over;
        let Some(runs) = runs else {
            break;
        };
        claimed.events += 1;
        for run in runs {
            let workspace = run.workspace.clone();
            // One event may start a run of every workflow it matches: those past their
            // tenant's share, or past the free workers, are not started here (one event
            // matching fifty sleeping workflows took every worker; review). Left to any host:
            // unleased, it is resumed by whoever has a worker first, this process's later
            // rounds among them (round 16 kill review: kept leased here, it waited behind
            // this process's long steps while other hosts idled).
            if workers.holds_its_share(&workspace) || workers.in_flight() >= workers.limit {
                claimed.deferred = true;
                let e = engine.clone();
                tokio::task::spawn_blocking(move || e.leave_for_others(run)).await?;
                continue;
            }
            workers
                .start(Job::Triggered(Box::new(run)), &workspace)
                .await;
            claimed.started += 1;
        }
    }
    for (run, workspace) in later {
        if stop.load(Ordering::SeqCst) {
            // Still `running` and leased to nobody: found again by whoever serves next.
            claimed.deferred = true;
            break;
        }
        // The round's events may have filled its tenant's share meanwhile (review).
        if workers.holds_its_share(&workspace) {
            claimed.deferred = true;
            continue;
        }
        // No worker free: the next round, which a finished run starts, finds it again rather
        // than this one waiting a step's length with its due scans and housekeeping behind it.
        if workers.in_flight() >= workers.limit {
            claimed.deferred = true;
            break;
        }
        workers.start(Job::Resume(run), &workspace).await;
        claimed.started += 1;
    }
    Ok(claimed)
}

/// How many runs a round resumes at most, with `limit` runs in flight: enough to keep the
/// workers busy until the next round, few enough that a round comes round to its events.
fn resumes_per_round(limit: usize) -> usize {
    limit.saturating_mul(4).max(16)
}

/// The first `bound` of `runs` (oldest first within each workspace) in workspace turns: each
/// workspace's oldest, then each one's next, and so on.
fn in_turns(runs: Vec<crate::runs::Interrupted>, bound: usize) -> Vec<i64> {
    // Workspaces in the order of their oldest run; each one's runs oldest first.
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut queues: Vec<std::collections::VecDeque<i64>> = Vec::new();
    for r in runs {
        let i = *at.entry(r.workspace).or_insert_with(|| {
            queues.push(std::collections::VecDeque::new());
            queues.len() - 1
        });
        queues[i].push_back(r.run);
    }
    let mut out = Vec::new();
    while out.len() < bound {
        let before = out.len();
        for q in &mut queues {
            if out.len() >= bound {
                break;
            }
            if let Some(run) = q.pop_front() {
                out.push(run);
            }
        }
        if out.len() == before {
            break;
        }
    }
    out
}

/// The tenant whose share of the workers a run of `workspace` takes (as for the instance
/// slots: `AccessIndex::tenant_of`).
fn tenant_of(engine: &Engine, workspace: &str) -> String {
    engine.platform().index().tenant_of(workspace)
}

/// Whether the deployment holds more than one organization (a workspace the index does not
/// place counting as one of its own).
fn several_tenants(engine: &Engine) -> bool {
    let index = engine.platform().index();
    let mut first = None;
    index.workspace_names().any(|name| {
        let org = index.workspace(name).map(|w| w.org.as_str());
        match (first, org) {
            (_, None) => true,
            (None, Some(org)) => {
                first = Some(org);
                false
            }
            (Some(seen), Some(org)) => seen != org,
        }
    })
}

/// The most workers one tenant's runs hold of `limit` when the deployment holds several: three quarters, at least one. A
/// tenant's runs may take long (a wait of a minute sleeps in its worker, a step up to 15
/// minutes), and one organization's took every worker, so that no other tenant's event,
/// due wait or timeout was claimed for hours (hostile-step review).
fn tenant_share(limit: usize) -> usize {
    (limit * 3 / 4).max(1)
}

/// What a worker reports: which kind of run, the run's internal key, its id as shown (SPEC
/// ID-4), and how it ended.
type Report = (&'static str, i64, String, Result<RunOutcome, Error>);

/// Runs in flight on blocking threads (runs do SQLite and wasm work), at most `limit` at once.
struct Workers {
    engine: Arc<Engine>,
    notify: Notify,
    limit: usize,
    tasks: JoinSet<Report>,
    /// The runs in `tasks`, so that a run is not started twice.
    runs: std::collections::HashSet<i64>,
    /// Each task's run and tenant, so that a task that panicked gives both back too.
    tasks_of: std::collections::HashMap<tokio::task::Id, (i64, String)>,
    /// How many workers each tenant's runs hold ([`tenant_of`]); at most `share` are
    /// started for one (a claimed event's several runs may pass it by those): its
    /// [`tenant_share`] when the deployment holds several tenants, else no bound.
    by_tenant: std::collections::HashMap<String, usize>,
    share: usize,
    /// Runs that came back unfinished with an error (a refused resume, a failed write), until
    /// when they are left alone and how many times they were given up on: not retried at
    /// once, which would spin on them, but after [`GIVE_UP_FOR`], doubling each time up to
    /// [`GIVE_UP_MAX`]: a run given up on and then claimed again by an answer its request left
    /// to the scheduler stayed unexecuted until a restart (review).
    gave_up: std::collections::HashMap<i64, (Instant, u32)>,
    /// Runs the infrastructure stopped (SPEC WF-11): tried again from the given time, after
    /// the given number of attempts.
    retry: std::collections::HashMap<i64, (Instant, u32)>,
    /// `serve --once`: a run the infrastructure keeps stopping is left to the next start.
    once: bool,
}

impl Workers {
    fn new(engine: Arc<Engine>, limit: usize, once: bool, notify: Notify) -> Self {
        Workers {
            engine,
            notify,
            limit,
            tasks: JoinSet::new(),
            runs: std::collections::HashSet::new(),
            tasks_of: std::collections::HashMap::new(),
            by_tenant: std::collections::HashMap::new(),
            share: tenant_share(limit),
            gave_up: std::collections::HashMap::new(),
            retry: std::collections::HashMap::new(),
            once,
        }
    }

    /// Which of `interrupted` this round resumes, each with its workspace: those this process
    /// neither has in flight, nor gave up, nor waits to retry, at most [`resumes_per_round`]
    /// in workspace turns, and no more of a tenant's than its share of the workers leaves
    /// room for; and whether any were left for a later round for that.
    fn to_resume(&self, interrupted: Vec<crate::runs::Interrupted>) -> (Vec<(i64, String)>, bool) {
        let mut workspace_of = std::collections::HashMap::new();
        let mut tenants = std::collections::HashMap::new();
        let mut held = self.by_tenant.clone();
        let mut deferred = false;
        let waiting = interrupted
            .into_iter()
            .filter(|r| !self.has(r.run))
            .filter(|r| {
                let tenant = tenants
                    .entry(r.workspace.clone())
                    .or_insert_with(|| tenant_of(&self.engine, &r.workspace));
                let room = held.get(tenant.as_str()).copied().unwrap_or(0) < self.share;
                deferred |= !room;
                room
            })
            .inspect(|r| {
                workspace_of.insert(r.run, r.workspace.clone());
            })
            .collect();
        let resumes = in_turns(waiting, resumes_per_round(self.limit))
            .into_iter()
            .filter_map(|run| {
                let workspace = workspace_of.remove(&run)?;
                let tenant = tenants.get(&workspace)?.clone();
                let n = held.entry(tenant).or_insert(0);
                if *n >= self.share {
                    deferred = true;
                    return None;
                }
                *n += 1;
                Some((run, workspace))
            })
            .collect();
        (resumes, deferred)
    }

    /// The tenants whose runs hold their share of the workers.
    fn full_tenants(&self) -> std::collections::HashSet<String> {
        self.by_tenant
            .iter()
            .filter(|(_, n)| **n >= self.share)
            .map(|(tenant, _)| tenant.clone())
            .collect()
    }

    /// Whether the tenant `workspace` counts towards holds its share of the workers.
    fn holds_its_share(&self, workspace: &str) -> bool {
        let tenant = tenant_of(&self.engine, workspace);
        self.by_tenant.get(&tenant).copied().unwrap_or(0) >= self.share
    }

    /// Whether `run` is in flight here, came back unfinished before, or waits to be retried.
    fn has(&self, run: i64) -> bool {
        self.runs.contains(&run)
            || self
                .gave_up
                .get(&run)
                .is_some_and(|(until, _)| *until > Instant::now())
            || self
                .retry
                .get(&run)
                .is_some_and(|(at, _)| *at > Instant::now())
    }

    /// Leaves `run` alone for a while, longer each time; for good under `--once`.
    fn give_up(&mut self, run: i64) {
        let times = self.gave_up.get(&run).map_or(0, |(_, n)| *n) + 1;
        let wait = if self.once {
            GIVE_UP_MAX
        } else {
            GIVE_UP_FOR
                .saturating_mul(1 << (times - 1).min(16))
                .min(GIVE_UP_MAX)
        };
        self.gave_up.insert(run, (Instant::now() + wait, times));
    }

    /// How many of the runs given up on are unfinished still: another host may have
    /// finished one since (round 30 self-review: `--once` exited 2 for it); one whose row
    /// does not read counts.
    fn left_unfinished(&self) -> usize {
        self.gave_up
            .keys()
            .filter(|run| self.engine.is_unfinished(**run))
            .count()
    }

    /// When the next run stopped by the infrastructure may be tried again, if one waits.
    fn next_retry(&self) -> Option<Instant> {
        let now = Instant::now();
        self.retry
            .iter()
            .filter(|(run, _)| !self.gave_up.contains_key(run))
            .map(|(_, (at, _))| *at)
            .filter(|at| *at > now)
            .min()
    }

    /// Starts `job` once a worker is free (reporting the runs that finish meanwhile). A
    /// claimed job is started even while stopping: its run then stops at its first step
    /// boundary, still `running`, for the next start to resume.
    async fn start(&mut self, job: Job, workspace: &str) {
        while self.tasks.len() >= self.limit {
            self.next_finished().await;
        }
        let run = job.run();
        self.runs.insert(run);
        let tenant = tenant_of(&self.engine, workspace);
        *self.by_tenant.entry(tenant.clone()).or_default() += 1;
        let engine = self.engine.clone();
        let task = self.tasks.spawn_blocking(move || run_job(&engine, job));
        self.tasks_of.insert(task.id(), (run, tenant));
    }

    /// Gives back the worker of task `id`: its run is no longer in flight, and its tenant
    /// holds one worker fewer.
    fn let_go(&mut self, id: tokio::task::Id) {
        let Some((run, tenant)) = self.tasks_of.remove(&id) else {
            return;
        };
        self.runs.remove(&run);
        if let Some(n) = self.by_tenant.get_mut(&tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_tenant.remove(&tenant);
            }
        }
    }

    /// A task joined: its worker given back, then its report.
    fn joined(&mut self, done: Result<(tokio::task::Id, Report), tokio::task::JoinError>) {
        let id = match &done {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        // A worker that panicked sends no report: its run is given up on as a failed one is,
        // not resumed at once by every round, replayed into the same panic (kill and
        // concurrency review).
        let panicked = match &done {
            Err(e) if e.is_panic() => self.tasks_of.get(&id).map(|(run, _)| *run),
            _ => None,
        };
        self.let_go(id);
        if let Some(run) = panicked {
            self.give_up(run);
        }
        self.finished(done.map(|(_, report)| report));
    }

    /// Reports a finished task and forgets its run.
    fn finished(&mut self, done: Result<Report, tokio::task::JoinError>) {
        if let Ok((_, run, _, outcome)) = &done {
            self.runs.remove(run);
            let stopped_by_infrastructure = match outcome {
                Ok(o) => o.status == RunStatus::Running && o.error.is_some(),
                Err(e) => e.is_infrastructure(),
            };
            match outcome {
                // Stopped by the infrastructure (or its resume refused for that reason),
                // resumable: try again later (SPEC WF-11).
                _ if stopped_by_infrastructure => {
                    let attempts = self.retry.get(run).map_or(0, |(_, n)| *n) + 1;
                    let delay = RETRY_FIRST
                        .saturating_mul(1 << attempts.min(8))
                        .min(RETRY_MAX);
                    self.retry.insert(*run, (Instant::now() + delay, attempts));
                    if self.once && attempts >= ONCE_RUN_ATTEMPTS {
                        self.give_up(*run);
                    }
                }
                // Still `running` with nothing wrong: it was stopped (the host stops), or it
                // was to go on as it was put on hold and another process took it up first
                // (`Engine::carried_on`). Forgotten as a run taken elsewhere is: given up, it
                // was left alone for hours, or for good under `--once`, should that process
                // die (kill and concurrency review).
                Ok(o) if o.status == RunStatus::Running => {
                    self.retry.remove(run);
                }
                Ok(_) => {
                    self.retry.remove(run);
                    self.gave_up.remove(run);
                }
                // Another host took it first (hosts race for a dead host's runs): forgotten,
                // not given up, so that if that host dies too this one takes it over; while
                // its holder lives, the rounds leave it alone (`platform_runs_interrupted`).
                Err(e) if crate::runs::lease::leased_elsewhere(e) => {
                    self.retry.remove(run);
                }
                Err(_) => {
                    self.give_up(*run);
                }
            }
        }
        match &done {
            Ok((kind, _, shown, outcome)) => (self.notify)(Notice::Finished {
                kind,
                run: shown,
                outcome,
            }),
            Err(e) => (self.notify)(Notice::WorkerFailed(e)),
        }
    }

    fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    /// Reports the runs that have finished, without waiting.
    fn reap(&mut self) {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.joined(done);
        }
    }

    /// Waits for one run to finish and reports it; pends forever when none is in flight (for
    /// use in `select!`).
    async fn next_finished(&mut self) {
        match self.tasks.join_next_with_id().await {
            Some(done) => self.joined(done),
            None => std::future::pending().await,
        }
    }

    async fn drain(&mut self) {
        while let Some(done) = self.tasks.join_next_with_id().await {
            self.joined(done);
        }
    }
}

fn run_job(engine: &Engine, job: Job) -> Report {
    let run = job.run();
    let (kind, outcome) = match job {
        Job::Resume(run) => ("resumed", engine.resume(run, &Quiet)),
        Job::Triggered(triggered) => ("triggered", engine.run_triggered(*triggered, &Quiet)),
    };
    // The internal key is never shown: the run's public id, when it can be read (SPEC ID-4).
    let shown = match &outcome {
        Ok(o) => o.run_id.to_string(),
        Err(_) => engine.runs().run_detail(run).map_or_else(
            |_| "(unreadable)".to_owned(),
            |(info, _)| info.id.to_string(),
        ),
    };
    (kind, run, shown, outcome)
}

async fn stop_on_signal(stop: Arc<AtomicBool>) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    stop.store(true, Ordering::SeqCst);
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    stop.store(true, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Platform;
    use crate::store::Db;
    use crate::wasm::{EngineSettings, StepRuntime};

    /// A round resumes a bounded share of the runs left running, workspaces taking turns: a
    /// tenant's backlog of thousands (a webhook flood) no longer keeps every other tenant's
    /// runs, and the round's events, waiting until it is through (amplification review).
    #[test]
    fn a_rounds_resumes_take_workspace_turns_within_its_bound() {
        let run = |run: i64, workspace: &str| crate::runs::Interrupted {
            run,
            owner: None,
            workspace: workspace.into(),
        };
        let mut backlog: Vec<_> = (1..=10_000).map(|n| run(n, "flooded")).collect();
        backlog.insert(5_000, run(20_001, "quiet"));
        backlog.push(run(20_002, "other"));
        backlog.push(run(20_003, "quiet"));
        let bound = resumes_per_round(2);
        assert_eq!(bound, 16);
        assert_eq!(
            in_turns(backlog, bound)[..6],
            [1, 20_001, 20_002, 2, 20_003, 3],
            "each workspace's oldest first, in the order of their oldest runs"
        );
        let few = vec![run(1, "a"), run(2, "a"), run(3, "b")];
        assert_eq!(
            in_turns(few, 16),
            [1, 3, 2],
            "all of them when under the bound"
        );
        let many: Vec<_> = (0..100).map(|n| run(n, "a")).collect();
        assert_eq!(in_turns(many, 16).len(), 16);
    }

    fn workers() -> Workers {
        workers_of(1)
    }

    fn workers_of(limit: usize) -> Workers {
        let platform =
            Arc::new(Platform::new(Db::open_in_memory().expect("db")).expect("platform"));
        let runtime =
            Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
        let engine = Arc::new(Engine::new(platform, runtime, Vec::new()));
        Workers::new(engine, limit, false, Arc::new(|_: Notice<'_>| {}))
    }

    fn runs_of((resumes, _): (Vec<(i64, String)>, bool)) -> Vec<i64> {
        resumes.into_iter().map(|(run, _)| run).collect()
    }

    /// A round resumes no more of a tenant's runs than its share of the workers leaves room
    /// for, counting those it has in flight; another tenant's are resumed beside them.
    #[test]
    fn a_round_resumes_a_tenants_runs_up_to_its_share_of_the_workers() {
        let mut w = workers_of(4);
        assert_eq!(w.share, 3);
        let run = |run: i64, workspace: &str| crate::runs::Interrupted {
            run,
            owner: None,
            workspace: workspace.into(),
        };
        let listed = || {
            let mut l: Vec<_> = (1..=5).map(|n| run(n, "hog")).collect();
            l.push(run(6, "other"));
            l
        };
        assert_eq!(runs_of(w.to_resume(listed())), [1, 6, 2, 3]);
        assert!(
            w.to_resume(listed()).1,
            "the hog's others wait: not nothing pending"
        );
        // One of the hog's runs in flight: two more fit.
        w.by_tenant.insert(tenant_of(&w.engine, "hog"), 1);
        assert_eq!(runs_of(w.to_resume(listed())), [1, 6, 2]);
        w.by_tenant.insert(tenant_of(&w.engine, "hog"), 3);
        assert_eq!(runs_of(w.to_resume(listed())), [6]);
        assert!(w.full_tenants().contains(&tenant_of(&w.engine, "hog")));
    }

    /// Runs this process gave up on stay `running` and are listed every round: they are left
    /// out before the round's bound, which they filled round after round, so no other run
    /// of their workspace was resumed again until a restart (second review).
    #[test]
    fn a_run_given_up_is_taken_again_once_its_time_is_up() {
        let mut w = workers();
        let run = |run: i64| crate::runs::Interrupted {
            run,
            owner: None,
            workspace: "soc".into(),
        };
        w.give_up(1);
        let past = Instant::now().checked_sub(Duration::from_millis(1));
        w.gave_up.insert(2, (past.expect("after boot"), 1));
        assert_eq!(runs_of(w.to_resume(vec![run(1), run(2)])), [2]);
        // Given up on again, it is left alone longer: a run that always fails costs a try
        // every few hours at most.
        w.give_up(2);
        let (until, times) = w.gave_up[&2];
        assert_eq!(times, 2);
        assert!(until > Instant::now() + GIVE_UP_FOR, "doubled");
    }

    /// A run whose worker panicked is given up on, as a failed one, not resumed by the next
    /// round into the same panic (round 14).
    #[test]
    fn a_run_whose_worker_panicked_is_given_up_on() {
        let mut w = workers();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let panicked = runtime.block_on(async {
            let mut tasks: JoinSet<()> = JoinSet::new();
            let task = tasks.spawn(async { panic!("a worker's panic") });
            w.tasks_of.insert(task.id(), (7, "soc".into()));
            w.runs.insert(7);
            tasks.join_next_with_id().await.expect("joined")
        });
        let e = panicked.expect_err("it panicked");
        w.joined(Err(e));
        assert!(w.gave_up.contains_key(&7));
        assert!(!w.runs.contains(&7), "its worker given back");
    }

    #[test]
    fn runs_given_up_here_do_not_fill_a_rounds_bound() {
        let mut w = workers();
        let bound = i64::try_from(resumes_per_round(w.limit)).expect("small");
        // Each of its own tenant, so that no tenant's share of the workers bounds them.
        let run = |run: i64| crate::runs::Interrupted {
            run,
            owner: None,
            workspace: format!("soc-{run}"),
        };
        for run in 1..=bound {
            w.give_up(run);
        }
        let listed: Vec<_> = (1..=bound + 2).map(run).collect();
        assert_eq!(
            runs_of(w.to_resume(listed)),
            [bound + 1, bound + 2],
            "the two runs not given up are resumed"
        );
    }

    fn report(
        run: i64,
        outcome: Result<RunOutcome, Error>,
    ) -> Result<Report, tokio::task::JoinError> {
        Ok(("resumed", run, "R-0000000000000001".into(), outcome))
    }

    /// Several hosts race to take over a dead host's run and one wins: the others must try it
    /// again later (the winner may die too), where a run refused for another reason is left
    /// to the next start.
    #[test]
    fn a_run_another_host_took_first_is_tried_again_and_a_refused_one_is_not() {
        let mut w = workers();
        let taken = Error::Conflict(
            "run R-0000000000000001 is being executed by another flowhost process (or was \
             finished by one meanwhile)"
                .into(),
        );
        assert!(crate::runs::lease::leased_elsewhere(&taken));
        w.finished(report(1, Err(taken)));
        assert!(!w.has(1), "a run another host took first is tried again");
        w.finished(report(
            2,
            Err(Error::Invalid("the definition does not parse".into())),
        ));
        assert!(w.has(2), "a refused run is not tried again by this process");
        // Its execution went on elsewhere after a hold (an `Ok` still running): as taken.
        let run_ref = crate::runs::RunRef {
            key: 3,
            id: crate::public_id::PublicId::new(crate::public_id::IdKind::Run).expect("id"),
        };
        w.finished(report(
            3,
            Ok(RunOutcome::unfinished(&run_ref, RunStatus::Running, None)),
        ));
        assert!(!w.has(3), "a run that went on elsewhere is tried again");
    }
}
