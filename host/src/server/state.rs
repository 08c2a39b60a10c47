//! What every handler shares: the engine (and through it the platform's handles).

use std::sync::Arc;

use tokio::sync::Notify;

use super::api::call::Busy;
use super::client_limit::ClientLimiter;
use crate::Error;
use crate::platform::Platform;
use crate::workflow::engine::Engine;

/// How long a request's storage work may take by default: its reads and writes, not a run
/// it executes (whose steps have deadlines of their own).
pub const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Requests whose work may be on tokio's blocking pool at once: half of its 512 threads, so
/// that the scheduler's claims, runs and housekeeping, which share the pool, always find
/// threads. Ordinary requests could take every one of them (511 requests with bad keys, each
/// waiting on a busy database connection), and every tenant's triggered runs, waits and
/// timeouts queued behind them (web review). Runs executing in requests count here too
/// (at most [`super::run_slots::IN_ALL`] of them).
pub const REQUEST_WORKERS: usize = 256;

/// The server's shared state: cheap to clone, one per request.
#[derive(Clone)]
pub struct AppState {
    engine: Arc<Engine>,
    wake: Arc<Notify>,
    /// The URL people reach the server at (the OIDC redirect URI is built on it), if known.
    public_url: Option<Arc<str>>,
    /// Attempts per client address at the anonymous sign-in requests.
    signin_limit: Arc<ClientLimiter>,
    /// Runs executing in requests.
    run_slots: Arc<super::run_slots::RunSlots>,
    /// How long a request's storage work may take (`FLOWHOST_REQUEST_DEADLINE_MS`).
    deadline: std::time::Duration,
    /// The requests' share of the blocking pool ([`REQUEST_WORKERS`]).
    workers: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State over the engine `serve` also schedules runs with. Requests execute runs on a
    /// [sibling](Engine::sibling) of it, under the process's one lease holder: a run the
    /// scheduler has in flight is refused to a request by the process's marks of what it
    /// executes (never run twice), and a run a request could not let go of is the
    /// scheduler's to resume.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine: Arc::new(engine.sibling()),
            wake: Arc::new(Notify::new()),
            public_url: None,
            signin_limit: Arc::default(),
            run_slots: Arc::default(),
            deadline: REQUEST_DEADLINE,
            workers: Arc::new(tokio::sync::Semaphore::new(REQUEST_WORKERS)),
        }
    }

    /// This state, waking `wake` (the scheduler's) when a request leaves work for it.
    pub fn with_wake(mut self, wake: Arc<Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// This state, reached by people at `url` (`serve --public-url`, or the loopback address
    /// it listens on).
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.trim_end_matches('/').into());
        self
    }

    /// The per-client limit of the anonymous sign-in requests.
    pub(crate) fn signin_limit(&self) -> &ClientLimiter {
        &self.signin_limit
    }

    /// This state, a request's storage work bounded by `deadline`.
    pub fn with_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// This state with `n` request workers instead of [`REQUEST_WORKERS`].
    pub fn with_workers(mut self, n: usize) -> Self {
        self.workers = Arc::new(tokio::sync::Semaphore::new(n));
        self
    }

    /// How long a request's storage work may take, runs it executes aside.
    pub(crate) fn deadline(&self) -> std::time::Duration {
        self.deadline
    }

    /// The slots of runs executing in requests ([`super::run_slots`]).
    pub(crate) fn run_slots(&self) -> &Arc<super::run_slots::RunSlots> {
        &self.run_slots
    }

    /// A slot for a run `principal` executes in a request, counted towards its tenant: an
    /// API key's organization, or that of the web session's `workspace`
    /// ([`super::run_slots`]).
    pub(crate) fn run_slot(
        &self,
        principal: &crate::principal::Principal,
        workspace: Option<&str>,
    ) -> Result<super::run_slots::RunSlot, super::run_slots::Full> {
        let tenant = self
            .engine
            .platform()
            .access()
            .tenant_of(principal, workspace);
        self.run_slots.take(principal, tenant.as_deref())
    }

    /// The URL people reach the server at, without a trailing slash, if known.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// Tells the scheduler there is work (a run recorded, an event emitted) instead of
    /// leaving it to its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The engine: runs, resumes.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The platform, whose handles (`runs()`, `access()`, …) are the doors.
    pub fn platform(&self) -> &Platform {
        self.engine.platform()
    }

    /// Runs `work` on tokio's blocking pool (the services speak SQLite synchronously, and a
    /// handler must not hold a runtime thread while they do), its storage work bounded by the
    /// request's deadline ([`AppState::deadline`]; see `api::call::within`). Every door's
    /// request is: the web's pages read the run, audit and interaction lists without a bound
    /// while the API's were held to it (hostile-input review).
    ///
    /// Its wait for one of the requests' workers ([`REQUEST_WORKERS`]) counts towards the
    /// deadline: a request that finds none free by then is answered as the server's trouble
    /// (503) without having held a thread.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
    ) -> anyhow::Result<Result<T, Error>> {
        let limit = self.deadline;
        let started = std::time::Instant::now();
        let worker = match self.worker().await {
            Ok(worker) => worker,
            Err(busy) => return Ok(Err(Error::Busy(busy.to_string()))),
        };
        let left = limit.saturating_sub(started.elapsed());
        self.spawn(worker, move |e| super::api::call::within(left, || work(e)))
            .await
    }

    /// One of the request workers, waited for at most the request's deadline.
    async fn worker(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Busy> {
        let limit = self.deadline;
        match tokio::time::timeout(limit, self.workers.clone().acquire_owned()).await {
            Ok(Ok(worker)) => Ok(worker),
            _ => Err(Busy(limit.as_millis())),
        }
    }

    /// [`AppState::blocking`] without the request's deadline: for work that executes a run,
    /// whose steps have deadlines of their own, and a webhook's delivery (work bound by a
    /// deadline commits alone, and deliveries share their commits with the runs' writes).
    /// It waits for a request worker as [`AppState::blocking`] does, without holding a
    /// thread meanwhile; finding none, the error is a [`Busy`].
    pub async fn blocking_unbounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let worker = self.worker().await?;
        self.spawn(worker, work).await
    }

    /// `work` on the blocking pool, holding `worker` until it ends.
    async fn spawn<T: Send + 'static>(
        &self,
        worker: tokio::sync::OwnedSemaphorePermit,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let engine = self.engine.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let _worker = worker;
            work(&engine)
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A request that finds every request worker taken until its deadline is answered busy
    /// without holding a thread; one that finds a worker free is served (web review).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_finding_no_worker_free_by_its_deadline_is_answered_busy() {
        let platform = Arc::new(
            Platform::new(crate::store::Db::open_in_memory().expect("db")).expect("platform"),
        );
        let runtime = Arc::new(
            crate::wasm::StepRuntime::new(&crate::wasm::EngineSettings::one_shot(), None)
                .expect("runtime"),
        );
        let engine = Arc::new(Engine::new(platform, runtime, Vec::new()));
        let state = AppState::new(engine)
            .with_deadline(Duration::from_millis(100))
            .with_workers(1);
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holder = {
            let state = state.clone();
            tokio::spawn(async move { state.blocking_unbounded(move |_| held.recv()).await })
        };
        while state.workers.available_permits() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let refused = state.blocking(|_| Ok(())).await.expect("no panic");
        assert!(
            matches!(&refused, Err(Error::Busy(why)) if why.contains("no request worker")),
            "{refused:?}"
        );
        // Work without the deadline (a run, a webhook's delivery) waits no longer for one.
        let unbounded = state.blocking_unbounded(|_| ()).await;
        assert!(
            unbounded
                .as_ref()
                .is_err_and(|e| e.downcast_ref::<Busy>().is_some()),
            "{unbounded:?}"
        );
        release.send(()).expect("the holder waits");
        holder
            .await
            .expect("joined")
            .expect("ran")
            .expect("released");
        assert_eq!(state.blocking(|_| Ok(7)).await.expect("ran").ok(), Some(7));
    }
}
