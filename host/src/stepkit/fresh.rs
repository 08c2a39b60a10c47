//! Whether a step project's component is up to date: `flowhost step build` and `step test`
//! skip the build (componentize-py alone takes ~15 s) when nothing it reads has changed since
//! the last successful build.
//!
//! The fingerprint is the SHA-256 of the manifest, of every file in the project directory and
//! in the directories the build command names (`-d ../../wit`, `-p ../sdk-python`), by path
//! and contents, and of the pinned toolchains' pin files. Build outputs are not inputs:
//! `*.wasm`, `build/`, `target/`, `.flowhost/`, `__pycache__/`, `node_modules/`, `.git/`. It is
//! kept with the size and mtime the component had, so a component replaced or removed since
//! is built again, in the host's own cache directory (`builds/`, by the project's absolute
//! path), never in the project: a project handed to an operator with a fingerprint of its own
//! and a component built elsewhere passed for built from the sources they read, and its
//! component was loaded and published unbuilt (hostile-step review). A file outside these
//! places that a source imports by a relative path (`../sdk-js/...` from TypeScript) is not
//! seen: `--force` rebuilds.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::build::toolchain_dir;
use super::manifest::{MANIFEST, Manifest};

/// Where the fingerprint of the last successful build of the project in `dir` is kept: in
/// `records` (the host's cache directory), by the project's absolute path.
fn record_path(records: &Path, dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    let key = Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    Some(
        records
            .join("builds")
            .join(format!("{:x}.fingerprint", key)),
    )
}

/// Directories never read as inputs, wherever they are (caches, version control, packages).
const SKIPPED_DIRS: &[&str] = &[".flowhost", "__pycache__", "node_modules", ".git"];

/// Directories not read as inputs at the top of an input only (build outputs, virtual
/// environments): `src/build/` is a source, and skipped at every depth its edits left the
/// build "up to date" (polyglot review).
const SKIPPED_AT_TOP: &[&str] = &["build", "target", ".venv", "venv"];

/// The fingerprint of what a build of the project in `dir` reads. Errors name the file.
pub fn fingerprint(dir: &Path, manifest: &Manifest) -> Result<String, String> {
    let mut hasher = Sha256::new();
    // Each file as its label (its path's own bytes, whatever their encoding: a name that is
    // not UTF-8 was looked up by a lossy copy that does not exist), its length, and its
    // contents, streamed (a large file is not held whole).
    let mut add = |label: &[u8], path: &Path| -> Result<(), String> {
        let fail = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        // Opened as a regular file: one swapped for a FIFO after `collect` looked at it
        // would otherwise hang the build.
        let mut file = crate::regular_file::open(path).map_err(fail)?;
        let len = file.metadata().map_err(fail)?.len();
        hasher.update((label.len() as u64).to_le_bytes());
        hasher.update(label);
        hasher.update(len.to_le_bytes());
        let copied = std::io::copy(&mut (&mut file).take(len), &mut hasher).map_err(fail)?;
        // A file that changed size while read: its fingerprint would not be this one.
        if copied != len {
            return Err(format!("{} changed while it was read", path.display()));
        }
        Ok(())
    };
    add(MANIFEST.as_bytes(), &dir.join(MANIFEST))?;
    for root in roots(dir, manifest) {
        let mut files = Vec::new();
        // Each input's own top (the project's, or a directory the build command names).
        collect(&dir.join(&root), &root, true, &mut files)?;
        files.sort();
        for rel in files {
            add(rel.as_os_str().as_encoded_bytes(), &dir.join(&rel))?;
        }
    }
    if let Some(tools) = toolchain_dir() {
        for pins in ["python/.pins", "js/.pins"] {
            let path = tools.join(pins);
            if path.is_file() {
                add(pins.as_bytes(), &path)?;
            }
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// The project directory, then every directory or file outside it the build command names
/// (relative to the project).
fn roots(dir: &Path, manifest: &Manifest) -> Vec<PathBuf> {
    let mut roots = vec![PathBuf::from(".")];
    for word in manifest.build.split_whitespace() {
        let word = word.trim_matches(|c| c == '\'' || c == '"');
        let candidate = word.rsplit('=').next().unwrap_or(word);
        if candidate.starts_with("..")
            && dir.join(candidate).exists()
            && !roots.iter().any(|r| r.as_path() == Path::new(candidate))
        {
            roots.push(PathBuf::from(candidate));
        }
    }
    roots
}

/// Every input file under `path` (which is `rel` relative to the project), as project-relative
/// paths.
fn collect(path: &Path, rel: &Path, top: bool, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_file() {
        out.push(rel.to_owned());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
        let name = entry.file_name();
        let shown = name.to_string_lossy();
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if kind.is_dir() {
            let skipped = SKIPPED_DIRS.contains(&shown.as_ref())
                || (top && SKIPPED_AT_TOP.contains(&shown.as_ref()));
            if !skipped {
                collect(&entry.path(), &rel.join(&name), false, out)?;
            }
        } else if !shown.ends_with(".wasm") && entry.path().is_file() {
            // A symbolic link to a directory is not followed (no cycles).
            out.push(rel.join(&name));
        }
    }
    Ok(())
}

/// What the fingerprint file holds: the fingerprint and the component's size and mtime.
fn record(fingerprint: &str, component: &Path) -> Option<String> {
    let meta = std::fs::metadata(component).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{fingerprint}\n{} {mtime}\n", meta.len()))
}

/// Whether this host built the component of the project in `dir` from inputs with
/// `fingerprint` (a record in `records`), and it is still the file that build left.
pub fn is_fresh(records: &Path, dir: &Path, manifest: &Manifest, fingerprint: &str) -> bool {
    let Some(Ok(kept)) = record_path(records, dir).map(std::fs::read_to_string) else {
        return false;
    };
    record(fingerprint, &manifest.output_path(dir)).is_some_and(|now| now == kept)
}

/// Records in `records` that this host built the component of the project in `dir` from
/// inputs with `fingerprint`. Best effort: without it the next build only runs again.
pub fn remember(records: &Path, dir: &Path, manifest: &Manifest, fingerprint: &str) {
    if let Some(path) = record_path(records, dir)
        && let Some(text) = record(fingerprint, &manifest.output_path(dir))
        && let Some(parent) = path.parent()
        && std::fs::create_dir_all(parent).is_ok()
    {
        let _ = std::fs::write(&path, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, PathBuf, Manifest) {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("p");
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        std::fs::create_dir_all(root.path().join("wit")).expect("mkdir");
        let toml = "name = \"p\"\nlanguage = \"python\"\nbuild = \"tool -d ../wit -o p.wasm\"\noutput = \"p.wasm\"\n";
        std::fs::write(dir.join(MANIFEST), toml).expect("manifest");
        std::fs::write(dir.join("src/step.py"), "x = 1\n").expect("source");
        std::fs::write(root.path().join("wit/world.wit"), "world step {}\n").expect("wit");
        let manifest = Manifest::parse("step.toml", toml).expect("manifest");
        (root, dir, manifest)
    }

    /// A file whose name is not UTF-8 is an input like any other: it was looked up by a lossy
    /// copy of its name, and `step build` failed, `--force` too (review). A virtual
    /// environment is not an input.
    #[cfg(unix)]
    #[test]
    fn a_file_named_in_no_encoding_is_an_input_and_a_virtual_environment_is_not() {
        use std::os::unix::ffi::OsStrExt;
        let (_root, dir, manifest) = project();
        let odd = dir.join(std::ffi::OsStr::from_bytes(b"data-\xff.bin"));
        std::fs::write(&odd, b"one").expect("write");
        let before = fingerprint(&dir, &manifest).expect("fingerprint");
        std::fs::write(&odd, b"two").expect("write");
        let after = fingerprint(&dir, &manifest).expect("fingerprint");
        assert_ne!(before, after, "its contents count");
        std::fs::create_dir_all(dir.join(".venv/lib")).expect("mkdir");
        std::fs::write(dir.join(".venv/lib/big.py"), b"x").expect("write");
        assert_eq!(fingerprint(&dir, &manifest).expect("fingerprint"), after);
    }

    /// A build output's name is skipped at the project's top only: `src/build/` is a
    /// source (polyglot review).
    #[test]
    fn a_directory_named_as_an_output_below_the_top_is_an_input() {
        let (_root, dir, manifest) = project();
        std::fs::create_dir_all(dir.join("src/build")).expect("mkdir");
        std::fs::write(dir.join("src/build/gen.py"), b"one").expect("write");
        std::fs::create_dir_all(dir.join("build")).expect("mkdir");
        std::fs::write(dir.join("build/out.o"), b"one").expect("write");
        let before = fingerprint(&dir, &manifest).expect("fingerprint");
        std::fs::write(dir.join("build/out.o"), b"two").expect("write");
        assert_eq!(
            fingerprint(&dir, &manifest).expect("fp"),
            before,
            "the top's output"
        );
        std::fs::write(dir.join("src/build/gen.py"), b"two").expect("write");
        assert_ne!(
            fingerprint(&dir, &manifest).expect("fp"),
            before,
            "a source"
        );
    }

    #[test]
    fn a_build_is_fresh_until_an_input_or_the_component_changes() {
        let (root, dir, manifest) = project();
        let fp = fingerprint(&dir, &manifest).expect("fingerprint");
        assert!(!is_fresh(root.path(), &dir, &manifest, &fp), "never built");
        std::fs::write(dir.join("p.wasm"), b"component").expect("output");
        remember(root.path(), &dir, &manifest, &fp);
        assert!(is_fresh(root.path(), &dir, &manifest, &fp));

        // Outputs and caches are not inputs.
        std::fs::create_dir_all(dir.join("__pycache__")).expect("mkdir");
        std::fs::write(dir.join("__pycache__/step.pyc"), b"cache").expect("pyc");
        std::fs::write(dir.join("other.wasm"), b"x").expect("wasm");
        assert_eq!(fingerprint(&dir, &manifest).expect("fp"), fp);

        // A source, a directory the build command names, a new file: each changes it.
        std::fs::write(dir.join("src/step.py"), "x = 2\n").expect("edit");
        let edited = fingerprint(&dir, &manifest).expect("fp");
        assert_ne!(edited, fp);
        std::fs::write(dir.join("src/step.py"), "x = 1\n").expect("restore");
        assert_eq!(fingerprint(&dir, &manifest).expect("fp"), fp);
        std::fs::write(root.path().join("wit/world.wit"), "world step2 {}\n").expect("wit");
        assert_ne!(fingerprint(&dir, &manifest).expect("fp"), fp);
        std::fs::write(root.path().join("wit/world.wit"), "world step {}\n").expect("wit");
        std::fs::write(dir.join("src/new.py"), "").expect("new file");
        assert_ne!(fingerprint(&dir, &manifest).expect("fp"), fp);
        std::fs::remove_file(dir.join("src/new.py")).expect("rm");

        // The component replaced or removed: not fresh.
        std::fs::write(dir.join("p.wasm"), b"another component").expect("replace");
        assert!(!is_fresh(root.path(), &dir, &manifest, &fp));
        std::fs::remove_file(dir.join("p.wasm")).expect("rm");
        assert!(!is_fresh(root.path(), &dir, &manifest, &fp));
    }

    /// A project's own record of a build is not trusted: only this host's, in its cache
    /// directory (hostile-step review: a project shipped with a fingerprint and a component
    /// built elsewhere was loaded and published unbuilt).
    #[test]
    fn only_this_hosts_record_of_a_build_makes_it_fresh() {
        let (root, dir, manifest) = project();
        let fp = fingerprint(&dir, &manifest).expect("fingerprint");
        std::fs::write(dir.join("p.wasm"), b"built elsewhere").expect("output");
        let shipped = record(&fp, &manifest.output_path(&dir)).expect("record");
        std::fs::create_dir_all(dir.join(".flowhost")).expect("mkdir");
        std::fs::write(dir.join(".flowhost/build.fingerprint"), &shipped).expect("shipped");
        let mine = root.path().join("cache");
        assert!(
            !is_fresh(&mine, &dir, &manifest, &fp),
            "the project's record"
        );
        let theirs = root.path().join("other-cache");
        remember(&theirs, &dir, &manifest, &fp);
        assert!(
            !is_fresh(&mine, &dir, &manifest, &fp),
            "another host's record"
        );
        remember(&mine, &dir, &manifest, &fp);
        assert!(is_fresh(&mine, &dir, &manifest, &fp), "this host's");
    }
}
