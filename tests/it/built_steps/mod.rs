//! Non-Rust steps built from source for the tests: the Python and TypeScript samples and the
//! Python hostile guest, each built once (per content) by the real `flowhost step build` with
//! the pinned toolchains `scripts/toolchains` installs (`scripts/test` runs it first).

#![allow(dead_code)] // Each test crate uses a different subset.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The toolchain cache, or a panic that says how to install it: tests that need a toolchain
/// fail rather than skip.
pub fn toolchains() -> PathBuf {
    let dir = std::env::var_os("FLOWHOST_TOOLCHAINS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/flowhost/toolchains"))
        })
        .expect("HOME or FLOWHOST_TOOLCHAINS is set");
    for (pins, what) in [
        ("python/.pins", "componentize-py"),
        ("js/.pins", "componentize-qjs and esbuild"),
    ] {
        assert!(
            dir.join(pins).is_file(),
            "the {what} toolchain is not installed in {}: run scripts/toolchains \
             (scripts/test does this before the tests)",
            dir.display()
        );
    }
    dir
}

/// Where built samples are kept: beside the test executables, so `cargo test` runs share
/// them and a changed source builds again.
fn build_root() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> → target/debug/polyglot
    exe.parent()
        .and_then(Path::parent)
        .expect("target directory")
        .join("polyglot")
}

/// The files a sample's build reads, relative to the repository root.
fn inputs(project: &str) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(project), "wit".into()];
    dirs.push("steps/sdk-python".into());
    dirs.push("steps/sdk-js".into());
    // Fixtures the samples' own test cases read.
    dirs.push("tests/tenants".into());
    let mut files = Vec::new();
    for dir in dirs {
        collect(&root(), &dir, &mut files);
    }
    files.sort();
    files
}

fn collect(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Build outputs, never inputs.
        if name.ends_with(".wasm")
            || name == "build"
            || name == ".flowhost"
            || name == "__pycache__"
        {
            continue;
        }
        let child = rel.join(&*name);
        if entry.path().is_dir() {
            collect(root, &child, out);
        } else {
            out.push(child);
        }
    }
}

/// Builds the step project at `project` (relative to the repository root, e.g.
/// `steps/risk-score`) with `flowhost step build`, once per content; returns the directory
/// holding `<name>.wasm` (a `--steps` directory for workflows).
pub fn built(project: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let map = BUILT.get_or_init(Default::default);
    // One build at a time: the toolchains are heavy and the machine small.
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(dir) = map.get(project) {
        return dir.clone();
    }
    let tools = toolchains();
    let files = inputs(project);
    let mut hasher = DefaultHasher::new();
    for f in &files {
        f.hash(&mut hasher);
        std::fs::read(root().join(f))
            .expect("read input")
            .hash(&mut hasher);
    }
    // The toolchains it is built with, as installed (their pins) and as the script installs
    // them: a bumped componentize-py left every later run testing the old one's builds
    // (steps and projects review).
    for pins in ["python/.pins", "js/.pins"] {
        std::fs::read(tools.join(pins))
            .expect("read the toolchain's pins")
            .hash(&mut hasher);
    }
    std::fs::read(root().join("scripts/toolchains"))
        .expect("read scripts/toolchains")
        .hash(&mut hasher);
    let key = format!("{:016x}", hasher.finish());
    let base = build_root().join(format!("{}-{key}", project.replace('/', "-")));
    let out = base.join(project);
    let done = base.join(".built");
    if !done.is_file() {
        let _ = std::fs::remove_dir_all(&base);
        for f in &files {
            let to = base.join(f);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(root().join(f), &to).expect("copy input");
        }
        let o = crate::common::flowhost(&out, &out.join(".flowhost/f.db"), &["step", "build"]);
        assert!(
            o.status.success(),
            "building {project} failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(&done, "").expect("mark built");
    }
    map.insert(project.to_owned(), out.clone());
    out
}

/// The `--steps` directories of the non-Rust samples the sample workflows use.
pub fn sample_step_dirs() -> Vec<String> {
    ["steps/risk-score", "steps/case-summary"]
        .into_iter()
        .map(|p| built(p).display().to_string())
        .collect()
}
