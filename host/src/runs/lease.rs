//! Run leases: one process executes a run at a time, so `flowhost serve` beside a hand-typed
//! `flowhost runs resume`, or two hosts on one database, never execute a run twice.
//!
//! A process that executes runs holds an exclusive lock on a file of its own,
//! `<database dir>/leases/<owner>`, for as long as it lives, and writes its owner id into
//! `runs.lease_owner` of each run it executes. A run whose owner's file is still locked belongs
//! to a live process. The operating system drops the lock when a process dies, however it
//! dies, so the runs of a killed process are free at once: there is no expiry to wait out and
//! no heartbeat to keep.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::Error;

use super::{RunLease, RunStore};

/// This process's lease identity and its lock.
pub struct Leases {
    owner: String,
    /// Where lock files live; `None` for an in-memory database (one process by nature).
    dir: Option<PathBuf>,
    /// This process's own lock file, taken before its first run.
    held: OnceLock<Result<File, String>>,
}

impl Leases {
    /// Leases for the database file at `path` (`None`: in memory).
    pub fn for_database(path: Option<&Path>) -> Self {
        let dir = path.map(|p| p.parent().unwrap_or_else(|| Path::new(".")).join("leases"));
        let mut id = [0u8; 8];
        // Without randomness the id still differs per process, which is all it must do.
        if getrandom::fill(&mut id).is_err() {
            id = u64::from(std::process::id()).to_le_bytes();
        }
        Leases {
            owner: id.iter().map(|b| format!("{b:02x}")).collect(),
            dir,
            held: OnceLock::new(),
        }
    }

    /// This process's owner id, as written into `runs.lease_owner`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes this process's lock, once; a run may be leased only after it.
    pub fn hold(&self) -> Result<(), Error> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let held = self.held.get_or_init(|| {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(&self.owner))
                .map_err(|e| e.to_string())?;
            file.try_lock().map_err(|e| e.to_string())?;
            Ok(file)
        });
        held.as_ref().map(|_| ()).map_err(|e| {
            Error::Internal(format!(
                "cannot take this process's run lease in {}: {e}",
                dir.display()
            ))
        })
    }

    /// Whether `owner` is a live process other than this one. An id that is not one of ours
    /// (not hex) names no lock file, and so no live process.
    pub fn alive(&self, owner: &str) -> bool {
        let Some(dir) = &self.dir else {
            return false;
        };
        if owner == self.owner || owner.is_empty() || !owner.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return owner == self.owner;
        }
        let path = dir.join(owner);
        let Ok(file) = File::open(&path) else {
            return false;
        };
        match file.try_lock() {
            Ok(()) => {
                // Its process is gone: tidy up after it.
                let _ = std::fs::remove_file(&path);
                false
            }
            Err(TryLockError::WouldBlock) => true,
            // Cannot tell: assume alive rather than risk executing a run twice.
            Err(TryLockError::Error(_)) => true,
        }
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        if let (Some(dir), Some(Ok(_))) = (&self.dir, self.held.get()) {
            let _ = std::fs::remove_file(dir.join(&self.owner));
        }
    }
}

/// How a refused lease reads (after "run N").
const LEASED_ELSEWHERE: &str = "is being executed by another flowhost process";

/// Whether `error` says that another live process is executing the run.
pub fn leased_elsewhere(error: &Error) -> bool {
    matches!(error, Error::Conflict(why) if why.contains(LEASED_ELSEWHERE))
}

impl Leases {
    /// Makes this process the lease holder of `run` in `runs`, unless another live process
    /// holds it; the conditional update settles a race between two takers. Call
    /// [`Leases::hold`] first.
    pub(crate) fn take(&self, runs: &dyn RunStore, run: i64) -> Result<(), Error> {
        let owner = self.owner();
        // Errors name the run by its public id, never by its key (SPEC ID-4).
        let RunLease {
            owner: current,
            run: shown,
        } = runs
            .run_lease(run)?
            .ok_or_else(|| Error::NotFound(format!("there is no run with key {run}")))?;
        if current
            .as_deref()
            .is_some_and(|o| o != owner && self.alive(o))
        {
            return Err(Error::Conflict(format!("run {shown} {LEASED_ELSEWHERE}")));
        }
        if !runs.take_lease(run, owner, current.as_deref())? {
            return Err(Error::Conflict(format!(
                "run {shown} {LEASED_ELSEWHERE} (or was finished by one meanwhile)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lease_is_alive_to_others_and_free_once_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("flowhost.db");
        let first = Leases::for_database(Some(&db));
        let second = Leases::for_database(Some(&db));
        assert_ne!(first.owner(), second.owner());
        assert!(!second.alive(first.owner()), "not held yet");
        first.hold().expect("hold");
        assert!(second.alive(first.owner()));
        assert!(first.alive(first.owner()), "a process is alive to itself");
        let owner = first.owner().to_owned();
        drop(first);
        assert!(!second.alive(&owner), "released when its holder goes");
        // Ids that are not ours name no process (and no path outside the lease directory).
        assert!(!second.alive("../flowhost.db"));
        assert!(!second.alive(""));
    }

    #[test]
    fn an_in_memory_database_has_no_other_processes() {
        let leases = Leases::for_database(None);
        leases.hold().expect("nothing to hold");
        assert!(!leases.alive("0123456789abcdef"));
    }
}
