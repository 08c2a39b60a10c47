//! Builds the step components from source for the tests and benchmarks: the sample steps in
//! `steps/` and the hostile fixtures in `tests/steps/`, each workspace with a nested
//! `cargo build --target wasm32-wasip2` into `OUT_DIR` (a separate target directory, or cargo
//! would wait on its own lock). Exposes each component's path as `FLOWHOST_STEP_<NAME>`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// (guest workspace, components it builds).
const GUESTS: &[(&str, &[&str])] = &[
    ("steps", &["echo", "transform", "notify", "restrict-cases"]),
    ("tests/steps", &["hostile", "case-probe"]),
];

fn main() {
    let root =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = out.join("guests");
    println!("cargo:rerun-if-changed=wit");
    ensure_target_installed();
    for (workspace, components) in GUESTS {
        let dir = root.join(workspace);
        println!("cargo:rerun-if-changed={}", dir.display());
        build_workspace(&dir, &target_dir);
        for name in *components {
            // Cargo names a library artifact after the crate, with `-` turned into `_`.
            let name = name.replace('-', "_");
            let wasm = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{name}.wasm"));
            assert!(
                wasm.is_file(),
                "the build of {workspace} did not produce {}",
                wasm.display()
            );
            println!(
                "cargo:rustc-env=FLOWHOST_STEP_{}={}",
                name.to_uppercase(),
                wasm.display()
            );
        }
    }
}

fn build_workspace(dir: &Path, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(dir)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(target_dir);
    // The outer build's flags and target settings are for the host, not for the guests.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo for {}: {e}", dir.display()));
    assert!(
        status.success(),
        "building the step components in {} failed",
        dir.display()
    );
}

/// A missing target is the one set-up error a new machine hits; say how to fix it.
fn ensure_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(sysroot) = sysroot {
        let lib = Path::new(&sysroot).join("lib/rustlib").join(TARGET);
        assert!(
            lib.is_dir(),
            "the {TARGET} target is not installed; run `rustup target add {TARGET}` \
             (scripts/test and scripts/demo do this for you)"
        );
    }
}
