//! What every handler shares: the engine (and through it the platform's handles).

use std::sync::Arc;

use tokio::sync::Notify;

use super::client_limit::ClientLimiter;
use crate::Error;
use crate::platform::Platform;
use crate::workflow::engine::Engine;

/// How long a request's storage work may take by default: its reads and writes, not a run
/// it executes (whose steps have deadlines of their own).
pub const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

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
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
    ) -> anyhow::Result<Result<T, Error>> {
        let limit = self.deadline;
        self.blocking_unbounded(move |e| super::api::call::within(limit, || work(e)))
            .await
    }

    /// [`AppState::blocking`] without the request's deadline: for work that executes a run,
    /// whose steps have deadlines of their own, and a webhook's delivery (work bound by a
    /// deadline commits alone, and deliveries share their commits with the runs' writes).
    pub async fn blocking_unbounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let engine = self.engine.clone();
        Ok(tokio::task::spawn_blocking(move || work(&engine)).await?)
    }
}
