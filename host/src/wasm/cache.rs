//! Compiled components, cached on disk as precompiled artifacts.
//!
//! An artifact is named by the SHA-256 of the component's bytes and of the engine's
//! compatibility hash (wasmtime version and every setting that affects code generation), so a
//! changed component or a changed engine never loads a stale artifact.
//!
//! An artifact is machine code that is mapped and run without further checks, so a damaged
//! file (truncated, bit-flipped, overwritten) would crash the host every time it loads it
//! (issue 14 item 6). Each artifact therefore starts with a header holding the SHA-256 of the
//! code that follows; the code is loaded only when its digest matches, and is otherwise
//! discarded and compiled again. Reading and hashing an artifact costs a few milliseconds
//! once per component and process, against tens to hundreds for compiling it.

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
        if let Ok(file) = fs::read(&artifact) {
            if let Some(code) = verified_code(&file) {
                // SAFETY: `code` is byte for byte what `seal` wrote from a component this
                // engine compiled (its SHA-256 matches the header), in the host's own data
                // directory, which is as trusted as the database and the binary beside it.
                if let Ok(component) = unsafe { Component::deserialize(engine, code) } {
                    return Ok((component, CacheOutcome::Hit));
                }
            }
            // Damaged or from another format: never load it again; a fresh one replaces it.
            let _ = fs::remove_file(&artifact);
        }
        let component = Component::new(engine, bytes)?;
        // A cache that cannot be written only costs speed; the step still runs.
        let _ = store(dir, &artifact, &seal(&component.serialize()?));
        Ok((component, CacheOutcome::Compiled))
    }
}

/// First bytes of every artifact this cache writes (the format's version is the last byte).
const MAGIC: &[u8; 16] = b"flowhost-cwasm\0\x01";
/// Bytes before the code: the magic, then the SHA-256 of the code.
const HEADER_LEN: usize = MAGIC.len() + 32;

/// An artifact's file contents: header (magic, SHA-256 of `code`), then `code`.
fn seal(code: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + code.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&Sha256::digest(code));
    out.extend_from_slice(code);
    out
}

/// The code of an artifact whose header is intact and whose code has the digest the header
/// names; `None` for anything else (truncated, altered, foreign).
fn verified_code(file: &[u8]) -> Option<&[u8]> {
    let rest = file.strip_prefix(MAGIC.as_slice())?;
    let (expected, code) = rest.split_at_checked(32)?;
    (Sha256::digest(code).as_slice() == expected).then_some(code)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_code_verifies_and_any_damage_is_refused() {
        let code = b"machine code".repeat(100);
        let file = seal(&code);
        assert_eq!(verified_code(&file), Some(code.as_slice()));

        assert_eq!(verified_code(&file[..file.len() - 1]), None, "truncated");
        assert_eq!(verified_code(&file[..HEADER_LEN - 1]), None, "header cut");
        assert_eq!(verified_code(&[]), None, "empty");
        assert_eq!(verified_code(&code), None, "no header");
        for at in [0, MAGIC.len(), HEADER_LEN, file.len() - 1] {
            let mut flipped = file.clone();
            flipped[at] ^= 0x40;
            assert_eq!(verified_code(&flipped), None, "byte {at} flipped");
        }
    }
}
