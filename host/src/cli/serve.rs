//! `flowhost serve`: the long-running host. It resumes runs an earlier process left unfinished,
//! then keeps firing interaction timeouts and starting the runs that new events trigger, several at a time, until SIGINT or
//! SIGTERM; a run in flight finishes before the process exits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flowhost::workflow::{Engine, Quiet};
use tokio::sync::Semaphore;

use super::run::engine;

/// Runs resumed at once at start-up.
const CONCURRENT_RUNS: usize = 4;

pub fn serve(db: &Path, steps: Vec<PathBuf>, poll: Duration, once: bool) -> anyhow::Result<()> {
    let engine = Arc::new(engine(db, steps)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        tokio::spawn(stop_on_signal(stop.clone()));
        resume_interrupted(&engine).await?;
        loop {
            // Dispatch on a blocking thread: runs do SQLite and wasm work.
            let e = engine.clone();
            let resumed = tokio::task::spawn_blocking(move || e.fire_timeouts(&Quiet)).await??;
            for o in &resumed {
                eprintln!(
                    "timed-out interaction resumed run {}: {}",
                    o.run_id,
                    o.status.as_str()
                );
            }
            let e = engine.clone();
            let outcomes =
                tokio::task::spawn_blocking(move || e.dispatch_triggers(&Quiet)).await??;
            for o in &outcomes {
                eprintln!("triggered run {}: {}", o.run_id, o.status.as_str());
            }
            if once || stop.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(poll).await;
            if stop.load(Ordering::SeqCst) {
                break;
            }
        }
        eprintln!("flowhost serve: stopped cleanly");
        anyhow::Ok(())
    })
}

/// Resumes every run left running or queued, a few at a time.
async fn resume_interrupted(engine: &Arc<Engine>) -> anyhow::Result<()> {
    let e = engine.clone();
    let runs = tokio::task::spawn_blocking(move || e.platform_runs_interrupted()).await??;
    let permits = Arc::new(Semaphore::new(CONCURRENT_RUNS));
    let mut tasks = Vec::new();
    for run in runs {
        let permit = permits.clone().acquire_owned().await?;
        let e = engine.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let outcome = e.resume(run, &Quiet);
            drop(permit);
            outcome
        }));
    }
    for task in tasks {
        match task.await? {
            Ok(o) => eprintln!("resumed run {}: {}", o.run_id, o.status.as_str()),
            Err(e) => eprintln!("error: resuming a run: {e}"),
        }
    }
    Ok(())
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
