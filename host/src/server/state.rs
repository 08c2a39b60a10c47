//! What every handler shares: the engine (and through it the platform's handles).

use std::sync::Arc;

use crate::platform::Platform;
use crate::workflow::engine::Engine;

/// The server's shared state: cheap to clone, one per request.
#[derive(Clone)]
pub struct AppState {
    engine: Arc<Engine>,
}

impl AppState {
    /// State over the engine `serve` also schedules runs with.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The engine: runs, resumes.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The platform, whose handles (`runs()`, `access()`, …) are the doors.
    pub fn platform(&self) -> &Platform {
        self.engine.platform()
    }

    /// Runs `work` on tokio's blocking pool: the services speak SQLite synchronously, and a
    /// handler must not hold a runtime thread while they do.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let engine = self.engine.clone();
        Ok(tokio::task::spawn_blocking(move || work(&engine)).await?)
    }
}
