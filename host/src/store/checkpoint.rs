//! Checkpoints of an SQLite database's write-ahead log on a thread of their own (issue 19).
//!
//! By default SQLite checkpoints in the connection that commits, once the WAL has grown past
//! a size: it copies the WAL's pages into the database file and syncs it, and every run in
//! flight waits for that one connection meanwhile. Measured with the workflow bench at 16 runs
//! in flight: a p99 of 330–370 ms with those checkpoints against ~21 ms without, and 25–40%
//! of the throughput (`benches/README.md`). So the committing connection only signals, and a
//! thread with a connection of its own checkpoints `PASSIVE` (it neither blocks writers nor
//! waits for them); the WAL starts over at the first commit after a checkpoint has caught up
//! with it. Should that thread fall behind (the WAL past [`FALL_BEHIND`] times the size), the
//! committing connection checkpoints itself, as SQLite would have.

use std::ffi::c_int;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::hooks::Wal;

/// How many times the checkpoint size the WAL may reach before the committing connection
/// checkpoints itself.
const FALL_BEHIND: u32 = 4;

/// The least time between two checkpoints: under a steady stream of commits the WAL stays
/// past the size until a checkpoint catches up, and every commit says so.
const MIN_GAP: Duration = Duration::from_millis(20);

/// The checkpointing thread of one database file; stopped (and waited for) when dropped.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Checkpoints the thread has completed.
    done: AtomicU64,
}

#[derive(Default)]
struct State {
    /// A commit found the WAL past the size since the last checkpoint began.
    requested: bool,
    stop: bool,
}

impl Checkpointer {
    /// Makes `conn` (the committing connection of the file at `path`) hand its checkpoints
    /// to a new thread once its WAL holds `pages` pages. It replaces `conn`'s
    /// `wal_autocheckpoint`.
    pub(super) fn install(
        conn: &mut rusqlite::Connection,
        path: &Path,
        pages: u32,
    ) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::default());
        let signal = shared.clone();
        let behind = pages.saturating_mul(FALL_BEHIND);
        conn.wal_hook(Some(move |wal: &mut Wal, frames: c_int| {
            let frames = u32::try_from(frames).unwrap_or(0);
            if frames >= behind {
                // Never an error from here: the commit has happened, and an error would
                // report it failed. A checkpoint that cannot run now runs at a later commit.
                let _ = wal.checkpoint();
            } else if frames >= pages {
                signal.request();
            }
            Ok(())
        }))?;
        let thread = std::thread::Builder::new()
            .name("flowhost-checkpoint".into())
            .spawn({
                let shared = shared.clone();
                let path = path.to_owned();
                move || checkpoint_when_asked(&shared, &path)
            })
            .map_err(|e| anyhow::anyhow!("cannot start the checkpoint thread: {e}"))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Checkpoints the thread has completed since it started.
    #[cfg(test)]
    fn completed(&self) -> u64 {
        self.shared.done.load(Ordering::Relaxed)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // The thread never panics on its own; a checkpoint under way finishes first.
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Two flags: whatever a panicking holder left is still meaningful.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn request(&self) {
        let mut state = self.lock();
        if !state.requested {
            state.requested = true;
            self.wake.notify_one();
        }
    }

    /// Waits for a request; `false` once asked to stop.
    fn next(&self) -> bool {
        let mut state = self.lock();
        while !state.requested && !state.stop {
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.requested = false;
        !state.stop
    }
}

/// The thread: a `PASSIVE` checkpoint per request, at most one per [`MIN_GAP`]. Its
/// connection is opened at the first request (most processes never make one). A failure is
/// not reported: the WAL then grows until the committing connection checkpoints itself.
fn checkpoint_when_asked(shared: &Shared, path: &Path) {
    let mut conn = None;
    while shared.next() {
        if conn.is_none() {
            // The file exists (its committing connection made it): never create another.
            let flags = rusqlite::OpenFlags::default() & !rusqlite::OpenFlags::SQLITE_OPEN_CREATE;
            conn = rusqlite::Connection::open_with_flags(path, flags).ok();
        }
        if let Some(c) = &conn
            && c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0))
                .is_ok()
        {
            shared.done.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(MIN_GAP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAL-mode file and its committing connection, with one small table.
    fn wal_file(dir: &Path) -> (std::path::PathBuf, rusqlite::Connection) {
        let path = dir.join("wal.db");
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("WAL");
        conn.execute_batch("CREATE TABLE t (b BLOB)")
            .expect("table");
        (path, conn)
    }

    /// `commits` transactions of about a page each.
    fn commit(conn: &rusqlite::Connection, commits: usize) {
        for _ in 0..commits {
            conn.execute("INSERT INTO t VALUES (zeroblob(3000))", [])
                .expect("insert");
        }
    }

    fn wal_pages(path: &Path) -> u64 {
        let wal = path.with_extension("db-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len()) / 4096
    }

    /// Frames in the WAL now (a `PASSIVE` checkpoint reports them before it copies any).
    fn wal_frames(conn: &rusqlite::Connection) -> i64 {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .expect("checkpoint")
    }

    #[test]
    fn past_the_size_the_wal_is_checkpointed_by_the_thread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, mut conn) = wal_file(dir.path());
        let checkpointer = Checkpointer::install(&mut conn, &path, 16).expect("install");
        let started = std::time::Instant::now();
        while checkpointer.completed() == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no checkpoint by the thread"
            );
            commit(&conn, 2);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn the_committing_connection_checkpoints_only_once_the_thread_has_fallen_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, mut conn) = wal_file(dir.path());
        let checkpointer = Checkpointer::install(&mut conn, &path, 16).expect("install");
        // The thread is stopped: nobody but the committing connection checkpoints.
        drop(checkpointer);
        // Past the size, short of falling behind: no commit checkpointed (as SQLite's own
        // `wal_autocheckpoint` of the same size would have).
        commit(&conn, 14);
        let frames = wal_frames(&conn);
        assert!(frames > 32, "{frames} frames");
        // Then the WAL is held to a few times the size, its pages checkpointed by commits.
        commit(&conn, 400);
        assert!(
            wal_pages(&path) < 16 * u64::from(FALL_BEHIND) + 8,
            "{} pages",
            wal_pages(&path)
        );
    }
}
