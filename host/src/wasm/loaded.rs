//! The components a process keeps loaded, bounded by the bytes their compiled code takes.
//!
//! A loaded component keeps its compiled image mapped (and, once instantiated, wasmtime's
//! memory images) for as long as the process holds it. Kept for good, every distinct
//! component a step author published and ran stayed in memory: a few dozen of 120 MiB each
//! (one data segment, a byte changed per publish) took the host's memory from every tenant
//! (hostile-step review). So the least recently used are let go past [`LOADED_BYTES_VAR`];
//! one let go loads again from the on-disk cache (a mapping, no compile), and a step still
//! executing one keeps it until it ends.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// What the set keeps: a component, named by its digest, holding its code's bytes.
pub(super) trait Kept {
    /// The digest that names it.
    fn digest(&self) -> &str;
    /// Bytes of its compiled code, held while it is kept.
    fn code_bytes(&self) -> usize;
}

/// The variable bounding loaded components' code, in MiB (default [`DEFAULT_LOADED_MB`]).
pub const LOADED_BYTES_VAR: &str = "FLOWHOST_LOADED_COMPONENTS_MB";

/// The default bound: room for about thirty Python components (the largest a step author
/// builds with the project's tools, ~36 MB of code each) and hundreds of Rust ones.
pub const DEFAULT_LOADED_MB: usize = 1024;

/// The bound [`LOADED_BYTES_VAR`] sets, in bytes; an unreadable value is refused naming it.
pub fn bytes_from_env() -> Result<usize, crate::Error> {
    let mb: usize = crate::env_number::number_from_env(
        LOADED_BYTES_VAR,
        DEFAULT_LOADED_MB,
        16..=1 << 20,
        "a number of MiB from 16 to 1048576",
    )?;
    Ok(mb << 20)
}

/// Component files remembered by path (a stat instead of a hash on the next load); past it
/// the memory starts afresh (a path costs a hash, never a compile).
const PATHS_KEPT: usize = 4096;

/// Size and modification time of a component file when it was loaded.
pub(super) type FileStamp = (u64, Option<std::time::SystemTime>);

/// The loaded components, by digest, and the files they were loaded from.
pub(super) struct Loaded<T> {
    budget: usize,
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    /// Each component, and when it was last used (a counter).
    by_digest: HashMap<String, (Arc<T>, u64)>,
    /// The digests by when they were last used, least recently first: each one let go is
    /// found at once, not by a scan of every component under the lock every load takes.
    by_use: BTreeMap<u64, String>,
    /// The digest each file had when it was loaded, with the file's size and mtime then.
    by_path: HashMap<PathBuf, (FileStamp, String)>,
    bytes: usize,
    tick: u64,
}

impl<T> Default for Inner<T> {
    fn default() -> Self {
        Self {
            by_digest: HashMap::new(),
            by_use: BTreeMap::new(),
            by_path: HashMap::new(),
            bytes: 0,
            tick: 0,
        }
    }
}

impl<T> Inner<T> {
    fn touch(&mut self, digest: &str) -> Option<Arc<T>> {
        self.tick += 1;
        let tick = self.tick;
        let (step, used) = self.by_digest.get_mut(digest)?;
        let before = std::mem::replace(used, tick);
        let step = step.clone();
        self.by_use.remove(&before);
        self.by_use.insert(tick, digest.to_owned());
        Some(step)
    }
}

impl<T: Kept> Loaded<T> {
    /// An empty set holding at most `budget` bytes of code (past it, only the last loaded).
    pub(super) fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // Each operation leaves the maps consistent before anything that could panic.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The component of `digest`, if loaded.
    pub(super) fn get(&self, digest: &str) -> Option<Arc<T>> {
        self.lock().touch(digest)
    }

    /// The component last loaded from `path`, if the file still has `stamp`.
    pub(super) fn by_path(&self, path: &Path, stamp: &FileStamp) -> Option<Arc<T>> {
        let mut inner = self.lock();
        let digest = match inner.by_path.get(path) {
            Some((seen, digest)) if seen == stamp => digest.clone(),
            _ => return None,
        };
        inner.touch(&digest)
    }

    /// Remembers that `path`, with `stamp`, holds the component `digest`.
    pub(super) fn remember_path(&self, path: &Path, stamp: FileStamp, digest: &str) {
        let mut inner = self.lock();
        if inner.by_path.len() >= PATHS_KEPT && !inner.by_path.contains_key(path) {
            inner.by_path.clear();
        }
        inner
            .by_path
            .insert(path.to_owned(), (stamp, digest.to_owned()));
    }

    /// Keeps `step`, letting the least recently used others go while the code kept passes the
    /// budget.
    pub(super) fn insert(&self, step: Arc<T>) {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let size = step.code_bytes();
        let digest = step.digest().to_owned();
        if let Some((old, used)) = inner.by_digest.insert(digest.clone(), (step, tick)) {
            inner.bytes = inner.bytes.saturating_sub(old.code_bytes());
            inner.by_use.remove(&used);
        }
        inner.by_use.insert(tick, digest);
        inner.bytes = inner.bytes.saturating_add(size);
        // The least recently used first; never the one just kept (the newest).
        while inner.bytes > self.budget && inner.by_digest.len() > 1 {
            let Some((_, oldest)) = inner.by_use.pop_first() else {
                break;
            };
            if let Some((gone, _)) = inner.by_digest.remove(&oldest) {
                inner.bytes = inner.bytes.saturating_sub(gone.code_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Piece(String, usize);

    impl Kept for Piece {
        fn digest(&self) -> &str {
            &self.0
        }
        fn code_bytes(&self) -> usize {
            self.1
        }
    }

    fn piece(name: &str, bytes: usize) -> Arc<Piece> {
        Arc::new(Piece(name.into(), bytes))
    }

    /// Past the budget the least recently used go first, a use counts as recent, and the one
    /// just kept stays even alone past the budget.
    #[test]
    fn the_least_recently_used_go_first_past_the_budget() {
        let loaded = Loaded::new(100);
        loaded.insert(piece("a", 40));
        loaded.insert(piece("b", 40));
        assert!(loaded.get("a").is_some(), "a used after b");
        loaded.insert(piece("c", 40));
        assert!(
            loaded.get("b").is_none(),
            "b, the least recently used, let go"
        );
        assert!(loaded.get("a").is_some() && loaded.get("c").is_some());
        loaded.insert(piece("huge", 500));
        assert!(loaded.get("huge").is_some(), "the newest stays");
        assert!(loaded.get("a").is_none() && loaded.get("c").is_none());
        // A path names a digest: it finds the component while it is kept.
        let stamp: FileStamp = (1, None);
        loaded.remember_path(Path::new("/x.wasm"), stamp, "huge");
        assert!(loaded.by_path(Path::new("/x.wasm"), &stamp).is_some());
        assert!(loaded.by_path(Path::new("/x.wasm"), &(2, None)).is_none());
    }
}
