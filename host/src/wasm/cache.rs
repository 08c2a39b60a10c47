//! Compiled components, cached on disk as precompiled artifacts.
//!
//! An artifact is named by the SHA-256 of the component's bytes and of the engine's
//! compatibility hash (wasmtime version and every setting that affects code generation), so a
//! changed component or a changed engine never loads a stale artifact. Artifacts are loaded by
//! mmap, which takes a fraction of a millisecond where compiling takes tens of milliseconds.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a component came from on this load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a precompiled artifact.
    Hit,
    /// Compiled now (and written to the cache when it has a directory).
    Compiled,
}

/// The on-disk cache of precompiled components.
#[derive(Clone, Debug)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl ComponentCache {
    /// A cache in `dir` for artifacts of `engine`; `None` compiles every time.
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self {
            dir,
            engine_key: hex(&hasher.0.finalize()),
        }
    }

    /// Compiles `bytes` or loads its cached artifact. A corrupt or unloadable artifact is
    /// replaced by a fresh compilation.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> anyhow::Result<(Component, CacheOutcome)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::new(engine, bytes)?, CacheOutcome::Compiled));
        };
        let artifact = dir.join(format!("{digest}-{}.cwasm", &self.engine_key[..16]));
        if artifact.is_file() {
            // SAFETY: the artifact was written by `store` below from a component this engine
            // compiled; it lives in the host's own data directory, which is as trusted as the
            // database and the binary beside it.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &artifact) } {
                return Ok((component, CacheOutcome::Hit));
            }
        }
        let component = Component::new(engine, bytes)?;
        // A cache that cannot be written only costs speed; the step still runs.
        let _ = store(dir, &artifact, &component.serialize()?);
        Ok((component, CacheOutcome::Compiled))
    }
}

/// Writes `data` to `path` atomically (temporary file, then rename), so a concurrent reader
/// never maps a half-written artifact.
fn store(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(data)?;
    tmp.1.sync_all()?;
    fs::rename(&tmp.0, path)
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let name = format!(
        ".tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    let path = dir.join(name.replace(['(', ')'], ""));
    let file = fs::File::create(&path)?;
    Ok((path, file))
}

/// SHA-256 of `bytes`, as lower-case hex: the identity of a component.
pub fn content_digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Feeds `Hash` output into SHA-256, giving a key that is stable across processes.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        // Only the digest is used; `finish` exists to satisfy the trait.
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
