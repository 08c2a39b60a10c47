//! Compiled components, cached on disk as precompiled artifacts.
//!
//! An artifact is named by the SHA-256 of the component's bytes and of the engine's
//! compatibility hash (wasmtime version and every setting that affects code generation), so a
//! changed component or a changed engine never loads a stale artifact.
//!
//! An artifact is machine code that is mapped and run without further checks, so a damaged
//! file (truncated, bit-flipped, overwritten) would crash the host every time it loads it
//! (issue 14 item 6). Beside each artifact, a stamp (`<artifact>.stamp`, see [`stamp`]) holds
//! the SHA-256 the artifact had when it was written; the artifact is mapped only after its
//! contents were checked against it, and otherwise discarded and compiled again.
//!
//! Checking costs a full read and hash (~70 ms for a 36 MB Python artifact), so it is done
//! once per *file identity*: after a check, the stamp records the artifact's device, inode,
//! size, mtime and ctime, and a later load whose `stat` shows the same identity maps the file
//! directly (`Component::deserialize_file`, no read, no copy). Any rewrite, truncation or
//! replacement changes the identity and brings the full check back. The same is done for the
//! cache key of a component file (`sources/`): its SHA-256 is trusted while its identity
//! holds.
//!
//! Every stamp is sealed ([`seal`]) under a key only this user's processes read: a stamp
//! written anywhere else (a cache a project shipped, a state directory linked from elsewhere)
//! vouches for nothing, and its artifact is compiled again rather than mapped as code.

pub mod seal;
pub mod stamp;

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::compiler::CompileError;
use crate::encoding::hex;
use seal::Seal;
use stamp::{Identity, Stamp};

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
    seal: Seal,
    /// The seal's id, in file names (computed once).
    key_id: String,
}

/// Artifacts of this layout: wasmtime's own serialization, the digest in the stamp beside it.
/// (Version 1 put a header before the code, which kept it from being mapped directly; version
/// 2's may hold dense images of sparse memories, a setting wasmtime's compatibility hash does
/// not cover, and its verdicts out-of-memory compiles: neither is read any more; version 3's
/// stamps were not sealed; version 4's were written before a core module's instance size was
/// checked at compile, `module_shape.rs`, round 26: read, they would load unchecked;
/// version 5's were checked module by module, not as the component's total, round 27.)
const FORMAT: &str = "v6";

/// Verdicts of this layout (too costly to compile: `remember_too_costly`), versioned apart
/// from artifacts: a verdict says what a compile cost, which the instance-size check of
/// artifacts' version 5 does not change. Named after the artifacts' format, every bomb's
/// verdict was dropped at version 5 and its minutes of CPU spent again (round 27 review of
/// round 26). Version 5's names, which round 26 wrote, are read too.
const VERDICT_FORMAT: &str = "v4";
const VERDICT_FORMATS_READ: [&str; 2] = [VERDICT_FORMAT, "v5"];

impl ComponentCache {
    /// A cache in `dir` for artifacts of `engine`; `None` compiles every time.
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let seal = Seal::for_user();
        // Without a key other processes share, a disk cache would only grow: each process's
        // files under a name of its own, read by none after it (review).
        let dir = dir.filter(|_| seal.kept());
        Self {
            dir,
            engine_key: hex(&hasher.0.finalize()),
            key_id: seal.id(),
            seal,
        }
    }

    fn artifact(&self, dir: &Path, digest: &str) -> PathBuf {
        dir.join(format!(
            "{digest}-{}-{}.{FORMAT}.cwasm",
            &self.engine_key[..16],
            self.key_id
        ))
    }

    /// The digest of the component file at `path`, if a stamp recorded it for the identity
    /// `meta` shows (taken before any read of the file).
    pub fn known_digest(&self, path: &Path, meta: &fs::Metadata) -> Option<String> {
        let (stamp_path, subject) = self.source_stamp(path)?;
        let stamp = Stamp::read(&stamp_path, &self.seal, &subject)?;
        (stamp.verified == Some(Identity::of(meta))).then_some(stamp.sha256)
    }

    /// Records that the component file at `path`, with the identity `meta` showed before it
    /// was read, has `digest`. Best effort: a cache that cannot be written only costs speed.
    pub fn remember_digest(&self, path: &Path, meta: &fs::Metadata, digest: &str) {
        let Some((stamp_path, subject)) = self.source_stamp(path) else {
            return;
        };
        if let Some(identity) = Identity::settled(meta) {
            let _ = Stamp::new(digest, Some(identity)).write(&stamp_path, &self.seal, &subject);
        }
    }

    /// `sources/<SHA-256 of the absolute path>.stamp` in the cache directory, and what it
    /// stands for (the path).
    fn source_stamp(&self, path: &Path) -> Option<(PathBuf, String)> {
        let dir = self.dir.as_ref()?;
        let absolute = std::path::absolute(path).ok()?;
        let key = content_digest(absolute.as_os_str().as_encoded_bytes());
        let subject = format!("source {key}");
        Some((
            dir.join("sources")
                .join(format!("{}-{}.stamp", self.key_id, &key[..32])),
            subject,
        ))
    }

    /// What an artifact's stamp stands for: the artifact, by its file name.
    fn artifact_subject(artifact: &Path) -> String {
        let name = artifact
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        format!("artifact {}", name.unwrap_or_default())
    }

    /// The cached artifact of the component with `digest`, if there is an intact one.
    pub fn cached(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let dir = self.dir.as_ref()?;
        let artifact = self.artifact(dir, digest);
        // Checked and mapped through one open file: by its path twice, a file renamed into
        // its place between the check and the map was mapped as code (kill and concurrency
        // review).
        let file = crate::regular_file::open(&artifact).ok()?;
        let meta = file.metadata().ok()?;
        let stamp_path = stamp::beside(&artifact);
        // No stamp: being written (`store` writes it last), or left so by a crash; the next
        // compile of the component replaces it. Either way it is not loaded, nor removed
        // under the writer.
        fs::metadata(&stamp_path).ok()?;
        // A stamp that does not read or is not this user's seal: as damaged (below).
        let subject = Self::artifact_subject(&artifact);
        let stamp = Stamp::read(&stamp_path, &self.seal, &subject);
        if let Some(stamp) = &stamp
            && verified(&file, &meta, &stamp_path, stamp, &self.seal, &subject)
        {
            // SAFETY: the open file is byte for byte what `compile` wrote from a component
            // this engine compiled (checked against the SHA-256 recorded then, or unchanged
            // in identity since it was), and the stamp recording it carries this user's
            // seal, which only this user's host can make: no artifact from elsewhere is
            // mapped. It is mapped through that same open file, and artifacts are only ever
            // replaced by rename, never written in place, so it does not change under us.
            if let Ok(component) = unsafe { deserialize_open(engine, &file) } {
                return Some(component);
            }
        }
        // Damaged or from another format: never load it again. Unless it was replaced while
        // it was checked (a compile's rename): the new one is not the one found wanting.
        let unchanged =
            fs::metadata(&artifact).is_ok_and(|now| Identity::of(&now) == Identity::of(&meta));
        if unchanged {
            let _ = fs::remove_file(&artifact);
            let _ = fs::remove_file(&stamp_path);
        }
        None
    }

    /// `<digest>-<engine hash>.<limits>.<format>.too-costly` in the cache directory.
    fn verdict(&self, digest: &str, limits: &str, format: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!(
            "{digest}-{}-{}.{limits}.{format}.too-costly",
            &self.engine_key[..16],
            self.key_id
        )))
    }

    /// Why the component with `digest` was too costly to compile under `limits`
    /// ([`super::compiler::limits_key`]), if a process sharing this cache found it so.
    pub fn too_costly(&self, digest: &str, limits: &str) -> Option<String> {
        VERDICT_FORMATS_READ
            .iter()
            .find_map(|format| self.verdict_in(&self.verdict(digest, limits, format)?))
    }

    /// The verdict at `path`, if it is there and sealed by this user.
    fn verdict_in(&self, path: &Path) -> Option<String> {
        let text = String::from_utf8(crate::regular_file::read(path, 4096).ok()?).ok()?;
        // Sealed as stamps are: a verdict put there by someone else refuses nothing.
        let (sealed, why) = text.strip_prefix("seal ")?.split_once('\n')?;
        self.seal
            .verifies(&verdict_message(path, why), sealed)
            .then(|| why.to_owned())
    }

    /// Remembers that the component with `digest` was too costly to compile under `limits`,
    /// `why`: every process sharing this cache, this one after a restart included, refuses
    /// it without compiling it again. Kept only in memory, a verdict cost a bomb's minutes of
    /// CPU again once the memory of failures was full or the host restarted, and every
    /// tenant's compiles waited behind it (hostile-step review). Best effort.
    pub fn remember_too_costly(&self, digest: &str, limits: &str, why: &str) {
        if let (Some(dir), Some(path)) = (&self.dir, self.verdict(digest, limits, VERDICT_FORMAT)) {
            let sealed = self.seal.of(&verdict_message(&path, why));
            let _ = fs::create_dir_all(dir);
            let _ = write_atomically(dir, &path, format!("seal {sealed}\n{why}").as_bytes());
        }
    }

    /// Compiles `bytes` (the component with `digest`), where [`super::compiler`] says, and
    /// writes its artifact, when the cache has a directory.
    pub fn compile(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> Result<Component, CompileError> {
        let (component, code) = super::compiler::compile(engine, bytes)?;
        // A cache that cannot be written (or a component that cannot be serialized for it)
        // only costs speed: the step still runs, and its component is not taken for broken.
        if let (Some(dir), Some(code)) = (&self.dir, code) {
            let _ = store(dir, &self.artifact(dir, digest), &code, &self.seal);
        }
        Ok(component)
    }
}

/// What a verdict's seal covers: the verdict's file name and its text.
fn verdict_message(path: &Path, why: &str) -> Vec<u8> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    format!("verdict {}\0{why}", name.unwrap_or_default()).into_bytes()
}

/// Whether the artifact (identity `meta`) matches its stamp: by identity when the stamp
/// vouches for it, else by reading and hashing it, after which the stamp vouches for this
/// identity.
fn verified(
    artifact: &fs::File,
    meta: &fs::Metadata,
    stamp_path: &Path,
    stamp: &Stamp,
    seal: &Seal,
    subject: &str,
) -> bool {
    let identity = Identity::of(meta);
    if stamp.verified == Some(identity) {
        return true;
    }
    // At most what a compile may write (opened as a regular file: a link to `/dev/zero` put
    // in its place was read without end).
    let mut data = Vec::new();
    let limit = super::compiler::MAX_ARTIFACT_BYTES;
    if std::io::Read::read_to_end(&mut std::io::Read::take(artifact, limit + 1), &mut data).is_err()
        || data.len() as u64 > limit
    {
        return false;
    }
    if data.len() as u64 != meta.len() || content_digest(&data) != stamp.sha256 {
        return false;
    }
    if let Some(identity) = Identity::settled(meta) {
        let _ = Stamp::new(&stamp.sha256, Some(identity)).write(stamp_path, seal, subject);
    }
    true
}

/// The component serialized in the open `file`, mapped through it: by its descriptor's own
/// path where the system has one (`/proc/self/fd`, which reopens that very file whatever is
/// at its name now), else read whole from it.
///
/// # Safety
/// As [`Component::deserialize_file`]: `file` holds what this engine serialized.
unsafe fn deserialize_open(engine: &Engine, file: &fs::File) -> wasmtime::Result<Component> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let own = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        if own.exists() {
            // SAFETY: as this function's.
            return unsafe { Component::deserialize_file(engine, &own) };
        }
    }
    let mut bytes = Vec::new();
    let mut from_start = file;
    std::io::Seek::rewind(&mut from_start)?;
    std::io::Read::read_to_end(&mut from_start, &mut bytes)?;
    // SAFETY: as this function's.
    unsafe { Component::deserialize(engine, &bytes) }
}

/// Writes `code` to `path` atomically (temporary file, then rename), so a concurrent reader
/// never maps a half-written artifact, then its stamp: the digest of `code` (checked on the
/// next load, which then vouches for the file's identity).
fn store(dir: &Path, path: &Path, code: &[u8], seal: &Seal) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let stamp_path = stamp::beside(path);
    // An old stamp must not vouch for the new file while it is written.
    let _ = fs::remove_file(&stamp_path);
    write_atomically(dir, path, code)?;
    let subject = ComponentCache::artifact_subject(path);
    Stamp::new(&content_digest(code), None).write(&stamp_path, seal, &subject)
}

/// Writes `data` to a temporary file in `dir`, syncs it, and renames it to `path`.
pub(crate) fn write_atomically(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    sweep_abandoned(dir);
    let (tmp, mut file) = tempfile_in(dir)?;
    let written = file.write_all(data).and_then(|()| file.sync_all());
    match written.and_then(|()| fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// How long a temporary file goes untouched before it is taken for abandoned: a write takes
/// seconds, and is written to all along.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes the temporary files in `dir` that writes killed midway left (`.tmp-…` untouched
/// for [`ABANDONED_AFTER`]): nothing else ever would, and a host killed again and again
/// filled its cache with artifacts' halves (kill review). By age alone: in a container every
/// host is pid 1, so a pid tells nothing of whose a file was (review). Best effort: what
/// cannot be read or deleted stays.
fn sweep_abandoned(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let abandoned = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age >= ABANDONED_AFTER);
        if abandoned {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
    let path = dir.join(format!(".tmp-{}-{}", std::process::id(), hex(&random)));
    let file = fs::File::create_new(&path)?;
    Ok((path, file))
}

/// SHA-256 of `bytes`, as lower-case hex: the identity of a component.
pub fn content_digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
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
    fn a_write_sweeps_the_temporary_files_left_long_ago() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = |name: &str, age_secs: u64| {
            let path = dir.path().join(name);
            let file = fs::File::create(&path).expect("create");
            let then = std::time::SystemTime::now() - std::time::Duration::from_secs(age_secs);
            file.set_modified(then).expect("mtime");
            path
        };
        let abandoned = at(".tmp-999999999-aa", 3600);
        // In a container every host is pid 1: this process's pid tells nothing.
        let earlier_self = at(&format!(".tmp-{}-cc", std::process::id()), 3600);
        let recent = at(".tmp-999999999-bb", 1);
        let other = at("artifact-of-another-name", 3600);
        write_atomically(dir.path(), &dir.path().join("new"), b"data").expect("written");
        assert!(!abandoned.exists(), "an old half is deleted");
        assert!(!earlier_self.exists(), "whatever pid it names");
        assert!(
            recent.exists(),
            "one written a moment ago may be a live write elsewhere"
        );
        assert!(other.exists(), "only temporary files are swept");
        assert_eq!(fs::read(dir.path().join("new")).expect("read"), b"data");
    }

    /// A component found too costly is refused by every process sharing the cache under the
    /// same limits, without compiling it again; under other limits it is compiled again.
    #[test]
    fn a_too_costly_verdict_holds_for_the_limits_it_was_found_under() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::default();
        let one = ComponentCache::new(&engine, Some(dir.path().to_owned()));
        let limits = "cpu120s-mem4294967296b";
        assert_eq!(one.too_costly("abc", limits), None);
        one.remember_too_costly("abc", limits, "past 120 s of CPU");
        let another = ComponentCache::new(&engine, Some(dir.path().to_owned()));
        assert_eq!(
            another.too_costly("abc", limits).as_deref(),
            Some("past 120 s of CPU")
        );
        assert_eq!(another.too_costly("abc", "cpu600s-mem4294967296b"), None);
        assert_eq!(another.too_costly("abd", limits), None);
        // A verdict not sealed by this user refuses nothing (one put there by a project).
        if let Some(path) = another.verdict("abd", limits, VERDICT_FORMAT) {
            std::fs::write(&path, "past 120 s of CPU").expect("plant");
            assert_eq!(another.too_costly("abd", limits), None, "unsealed");
            std::fs::write(&path, "seal 00\npast 120 s of CPU").expect("plant");
            assert_eq!(another.too_costly("abd", limits), None, "another's seal");
        }
        // One written under round 26's name holds too.
        if let (Some(v5), Some(v4)) = (
            another.verdict("abe", limits, "v5"),
            another.verdict("abc", limits, VERDICT_FORMAT),
        ) {
            let sealed = another.seal.of(&verdict_message(&v5, "past 120 s of CPU"));
            std::fs::write(&v5, format!("seal {sealed}\npast 120 s of CPU")).expect("v5");
            assert!(
                another.too_costly("abe", limits).is_some(),
                "round 26's name"
            );
            assert!(v4.exists(), "written under the verdicts' own version");
        }
        let none = ComponentCache::new(&engine, None);
        none.remember_too_costly("abc", limits, "kept nowhere");
        assert_eq!(none.too_costly("abc", limits), None);
    }

    /// An artifact is mapped through the file that was checked, whatever is renamed into its
    /// place meanwhile (kill and concurrency review).
    #[test]
    fn the_open_file_is_mapped_not_what_its_name_holds_now() {
        let engine = Engine::default();
        let bytes = engine
            // The empty component, in binary: the magic, version 0x0d, layer 1.
            .precompile_component(&[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00])
            .expect("an empty component compiles");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("artifact");
        fs::write(&path, &bytes).expect("write");
        let file = crate::regular_file::open(&path).expect("open");
        fs::write(dir.path().join("swap"), b"not machine code").expect("write");
        fs::rename(dir.path().join("swap"), &path).expect("renamed into its place");
        // SAFETY: `file` holds what `engine` serialized.
        let mapped = unsafe { deserialize_open(&engine, &file) };
        assert!(mapped.is_ok(), "{:?}", mapped.err());
        // SAFETY: this is the test of refusing what the name holds now.
        assert!(unsafe { Component::deserialize_file(&engine, &path) }.is_err());
    }
}
