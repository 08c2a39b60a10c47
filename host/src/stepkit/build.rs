//! `flowhost step build`: runs the manifest's build command with the pinned toolchains on
//! `PATH`, and on failure finds the file and line the toolchain complained about.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::manifest::{Language, Manifest};

/// Where `scripts/toolchains` installs componentize-py, componentize-qjs and esbuild:
/// `$FLOWHOST_TOOLCHAINS`, else `$HOME/.cache/flowhost/toolchains`.
pub fn toolchain_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FLOWHOST_TOOLCHAINS").filter(|d| !d.is_empty()) {
        // Absolute: the build's shell runs in the project, where a relative one named nothing
        // the check before it had found (round 25 steps review).
        let dir = PathBuf::from(dir);
        return Some(std::path::absolute(&dir).unwrap_or(dir));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/flowhost/toolchains"))
}

/// The directories put before `PATH` for a build: the toolchain cache's tool directories.
fn tool_dirs() -> Vec<PathBuf> {
    toolchain_dir()
        .map(|d| vec![d.join("python/bin"), d.join("js/node_modules/.bin")])
        .unwrap_or_default()
}

/// The tools a language's default build command runs, and how to get each.
fn tools(lang: Language) -> &'static [(&'static str, &'static str)] {
    const PY: &str = "run scripts/toolchains from the Flowhost repository (installs the pinned \
                      componentize-py into ~/.cache/flowhost/toolchains), or \
                      `pip install componentize-py==0.25.1`";
    const JS: &str = "run scripts/toolchains from the Flowhost repository (installs the pinned \
                      componentize-qjs and esbuild into ~/.cache/flowhost/toolchains), or \
                      `npm install componentize-qjs@0.4.5 esbuild@0.28.2`";
    match lang {
        Language::Python => &[("componentize-py", PY)],
        Language::Js | Language::Ts => &[("esbuild", JS), ("componentize-qjs", JS)],
        Language::Rust => &[(
            "cargo",
            "install Rust (rustup) and `rustup target add wasm32-wasip2`",
        )],
    }
}

/// The `PATH` a build of the project in `dir` runs with: the toolchain cache's tool
/// directories, then the project's own (`node_modules/.bin` after an `npm install` there, as
/// the hint says, and a `.venv`'s `bin`), then the caller's (round 21 steps review: a tool
/// installed in the project was "not installed", and the hint did not help).
fn build_path(dir: &Path) -> std::ffi::OsString {
    let mut dirs = tool_dirs();
    // Absolute: the build's shell runs in `dir`, where `steps/x/node_modules/.bin` named
    // nothing (round 21 self-review).
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    // A directory whose path holds the separator cannot be on `PATH`: left out, not the
    // whole `PATH` with it (round 21 self-review).
    dirs.extend(
        [dir.join("node_modules/.bin"), dir.join(".venv/bin")]
            .into_iter()
            .filter(|d| !d.as_os_str().as_encoded_bytes().contains(&b':')),
    );
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

fn on_path(tool: &str, path: &std::ffi::OsStr) -> bool {
    std::env::split_paths(path).any(|d| d.join(tool).is_file())
}

/// Whether `command` runs `tool` by its bare name (a word of its own, found on `PATH`): one
/// named by a path (`./node_modules/.bin/esbuild`) is the shell's to find.
fn runs_by_name(command: &str, tool: &str) -> bool {
    command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')'))
        .any(|word| word == tool)
}

/// A built component.
#[derive(Debug)]
pub struct Built {
    pub component: PathBuf,
    pub bytes: u64,
    pub duration: Duration,
}

/// Cargo settings of the calling environment a step's build does not take.
const CALLERS_CARGO_SETTINGS: [&str; 7] = [
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
];

/// Runs the build of the project in `dir`. The error names the missing tool, or the file and
/// line the toolchain reported, followed by the toolchain's own output.
pub fn build(dir: &Path, manifest: &Manifest) -> Result<Built, String> {
    let path = build_path(dir);
    for (tool, how) in tools(manifest.language) {
        if runs_by_name(&manifest.build, tool) && !on_path(tool, &path) {
            return Err(format!(
                "`{tool}` is not installed (the {} build needs it): {how}",
                manifest.language
            ));
        }
    }
    // The build must write its component afresh: one left by an earlier build was taken as
    // this build's whenever the command wrote elsewhere and exited 0 (a cargo config's
    // `build.target-dir`, a `make` target up to date), and `step test` then passed whatever
    // the new source did (round 25 steps review).
    let component = manifest.output_path(dir);
    match std::fs::remove_file(&component) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(format!(
                "cannot remove the previous component at {} before building: {e}",
                component.display()
            ));
        }
    }
    let started = Instant::now();
    let mut command = Command::new("sh");
    // The caller's cargo settings are for their host build: a target directory of theirs put
    // the component where `output` does not look, or left an old one there to be loaded as
    // fresh; host-only flags broke the guest build (round 18 review).
    for var in CALLERS_CARGO_SETTINGS {
        command.env_remove(var);
    }
    let output = command
        .arg("-c")
        .arg(&manifest.build)
        .current_dir(dir)
        .env("PATH", &path)
        // The toolchains' own backtraces bury the error that matters.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("cannot run the build command `{}`: {e}", manifest.build))?;
    let duration = started.elapsed();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        let headline = match locate(&text) {
            Some(at) => format!("{}:{}: {}", at.file, at.line, at.message),
            None => format!("`{}` exited with {}", manifest.build, output.status),
        };
        return Err(format!("build failed: {headline}\n{}", text.trim_end()));
    }
    let bytes = std::fs::metadata(&component)
        .map_err(|e| {
            let cargo = if manifest.language == Language::Rust {
                " (or a cargo config's `build.target-dir`, which puts it elsewhere)"
            } else {
                ""
            };
            format!(
                "the build succeeded but left no component at {} ({e}); check `output` in \
                 step.toml{cargo}",
                component.display()
            )
        })?
        .len();
    Ok(Built {
        component,
        bytes,
        duration,
    })
}

/// Where a toolchain says the source is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// Finds the first source location in a toolchain's output: Python's `File "...", line N`
/// (componentize-py maps the project to `/0/`), esbuild's `file:line:col:` under `[ERROR]`,
/// rustc's `--> file:line:col`.
pub fn locate(output: &str) -> Option<Location> {
    python(output)
        .or_else(|| esbuild(output))
        .or_else(|| rustc(output))
}

fn python(output: &str) -> Option<Location> {
    let lines: Vec<&str> = output.lines().collect();
    // The last frame in the project's own files is where the error is.
    let (i, file, line) = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let rest = &l[l.find("File \"")? + 6..];
            let (file, rest) = rest.split_once("\", line ")?;
            let line: u32 = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            let file = project_relative(file)?;
            Some((i, file, line))
        })
        .next_back()?;
    // The error line follows the frame (the frame's own line may carry a wrapper's name).
    let message = lines[i + 1..]
        .iter()
        .map(|l| l.trim())
        .find(|l| {
            l.split_once(": ").is_some_and(|(kind, _)| {
                (kind.ends_with("Error") || kind.ends_with("Exception"))
                    && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
            })
        })
        .unwrap_or("error")
        .to_owned();
    Some(Location {
        file,
        line,
        message,
    })
}

/// `/0/step.py` (the first `-p` directory inside componentize-py) → `step.py`; a path outside
/// the project (the toolchain's own files) → `None`.
fn project_relative(file: &str) -> Option<String> {
    let rest = file.strip_prefix('/')?;
    let (index, rel) = rest.split_once('/')?;
    (index.chars().all(|c| c.is_ascii_digit()) && !index.is_empty()).then(|| rel.to_owned())
}

fn esbuild(output: &str) -> Option<Location> {
    let mut message = None;
    for l in output.lines() {
        if let Some(m) = l.split_once("[ERROR] ").map(|(_, m)| m.trim()) {
            message = Some(m.to_owned());
            continue;
        }
        if let Some(m) = &message
            && let Some(at) = l.trim().strip_suffix(':')
            && let Some((file, line)) = file_line(at)
        {
            return Some(Location {
                file,
                line,
                message: m.clone(),
            });
        }
    }
    None
}

fn rustc(output: &str) -> Option<Location> {
    let mut message = None;
    for l in output.lines() {
        if message.is_none() && l.starts_with("error") && l.contains(": ") {
            message = l.split_once(": ").map(|(_, m)| m.to_owned());
        }
        if let Some(rest) = l.trim().strip_prefix("--> ")
            && let Some(m) = &message
            && let Some((file, line)) = file_line(rest)
        {
            return Some(Location {
                file,
                line,
                message: m.clone(),
            });
        }
    }
    None
}

/// `file:line:col` → (file, line).
fn file_line(text: &str) -> Option<(String, u32)> {
    let mut parts = text.rsplitn(3, ':');
    let _col: u32 = parts.next()?.parse().ok()?;
    let line: u32 = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    (!file.is_empty() && !file.contains(' ')).then(|| (file.to_owned(), line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_python_syntax_error() {
        let out = "Traceback (most recent call last):\n  File \"/opt/toolchains/bin/componentize-py\", line 8, in <module>\n    sys.exit(script())\nAssertionError:   File \"/0/step.py\", line 20\n    x = (\n        ^\nSyntaxError: '(' was never closed\n";
        assert_eq!(
            locate(out),
            Some(Location {
                file: "step.py".into(),
                line: 20,
                message: "SyntaxError: '(' was never closed".into()
            })
        );
    }

    #[test]
    fn finds_an_esbuild_error() {
        let out = "✘ [ERROR] Unexpected \";\"\n\n    step.ts:15:8:\n      15 │ let x = ;\n";
        assert_eq!(
            locate(out),
            Some(Location {
                file: "step.ts".into(),
                line: 15,
                message: "Unexpected \";\"".into()
            })
        );
    }

    #[test]
    fn finds_a_rustc_error() {
        let out = "   Compiling x v0.1.0\nerror: expected one of `!` or `::`, found `x`\n --> src/lib.rs:3:5\n";
        let at = locate(out).expect("located");
        assert_eq!((at.file.as_str(), at.line), ("src/lib.rs", 3));
    }
}
