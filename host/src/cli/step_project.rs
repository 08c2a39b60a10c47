//! `flowhost step new|build|test`: step projects (issue 17). The work is in
//! `flowhost::stepkit`; this prints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use flowhost::stepkit::{self, Language, Manifest};
use flowhost::wasm::{EngineSettings, StepRuntime};

use super::database::Database;
use super::error::{CliError, Reported};

#[derive(Args)]
pub struct NewArgs {
    /// The step's name (lower-case letters, digits, `-`); also the new directory's name.
    name: String,
    /// python, rust, js or ts.
    #[arg(long, value_parser = Language::parse)]
    lang: Language,
    /// Where to make the project (default: ./NAME).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct BuildArgs {
    /// The step project (a directory with step.toml).
    #[arg(default_value = ".")]
    project: PathBuf,
    /// Build even if nothing the build reads changed since the last build.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct TestArgs {
    /// The step project (a directory with step.toml).
    #[arg(default_value = ".")]
    project: PathBuf,
    /// Test the component as last built; by default it is built first unless up to date.
    #[arg(long)]
    no_build: bool,
}

pub fn new(args: NewArgs) -> anyhow::Result<()> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let written = stepkit::templates::write_project(&dir, &args.name, args.lang)
        .map_err(anyhow::Error::msg)?;
    println!(
        "created {} step `{}` in {} ({} files)",
        args.lang,
        args.name,
        dir.display(),
        written.len()
    );
    println!(
        "next: cd {} && flowhost step build && flowhost step test",
        dir.display()
    );
    Ok(())
}

/// The cache `step run` uses with the same `--db` and `--state-dir`.
fn runtime(db: &Database) -> anyhow::Result<StepRuntime> {
    StepRuntime::new(&EngineSettings::one_shot(), Some(db.cache_dir()))
}

/// Builds the project, unless nothing it is built from changed since its last build (or
/// `force`), and loads (precompiles) the component.
fn build_and_load(
    db: &Database,
    project: &Path,
    manifest: &Manifest,
    force: bool,
) -> anyhow::Result<(StepRuntime, std::sync::Arc<flowhost::wasm::LoadedStep>)> {
    let fingerprint = stepkit::fresh::fingerprint(project, manifest).map_err(anyhow::Error::msg)?;
    let component = manifest.output_path(project);
    let records = db.cache_dir();
    if !force && stepkit::fresh::is_fresh(&records, project, manifest, &fingerprint) {
        let runtime = runtime(db)?;
        let started = Instant::now();
        let step = runtime.load(&component)?;
        println!(
            "{} is up to date (nothing it is built from changed; `step build --force` rebuilds); loaded in {:.1} s",
            component.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok((runtime, step));
    }
    let built = stepkit::build::build(project, manifest).map_err(anyhow::Error::msg)?;
    stepkit::fresh::remember(&records, project, manifest, &fingerprint);
    let runtime = runtime(db)?;
    let started = Instant::now();
    let step = runtime.load(&built.component)?;
    println!(
        "built {} ({:.1} MB) in {:.1} s; precompiled in {:.1} s",
        built.component.display(),
        built.bytes as f64 / 1e6,
        built.duration.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok((runtime, step))
}

pub fn build(db: &Database, args: BuildArgs) -> anyhow::Result<()> {
    let manifest = Manifest::load(&args.project).map_err(anyhow::Error::msg)?;
    build_and_load(db, &args.project, &manifest, args.force)?;
    Ok(())
}

pub fn test(db: &Database, args: TestArgs) -> anyhow::Result<()> {
    let manifest = Manifest::load(&args.project).map_err(anyhow::Error::msg)?;
    let (runtime, step) = if args.no_build {
        let runtime = runtime(db)?;
        let component = manifest.output_path(&args.project);
        if !component.is_file() {
            anyhow::bail!(
                "{} is not built yet; run `flowhost step build` (or drop --no-build)",
                component.display()
            );
        }
        let step = runtime.load(&component)?;
        (runtime, step)
    } else {
        build_and_load(db, &args.project, &manifest, false)?
    };
    let path = args.project.join(&manifest.tests);
    let file = stepkit::cases::load(&path).map_err(anyhow::Error::msg)?;
    let grants = manifest.grants().map_err(anyhow::Error::msg)?;
    let scratch = tempfile_dir()?;
    let results = stepkit::cases::run(&path, &file, &runtime, &step, grants, scratch.path());
    let results = results.map_err(|e| anyhow::anyhow!("{}: setting up: {e}", path.display()))?;
    let failed = results.iter().filter(|r| !r.passed()).count();
    for r in &results {
        if r.passed() {
            println!("ok    {}", r.name);
        } else {
            println!("FAIL  {}", r.name);
            for m in &r.mismatches {
                println!("      at {}", m.at);
                println!("        expected: {}", m.expected);
                println!("        actual:   {}", m.actual);
            }
        }
    }
    println!("{} passed, {} failed", results.len() - failed, failed);
    if failed > 0 {
        return Err(Reported(CliError::Failed(format!("{failed} step test(s) failed"))).into());
    }
    Ok(())
}

/// A directory removed when dropped: the throwaway database lives there.
struct Scratch(PathBuf);

impl Scratch {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> anyhow::Result<Scratch> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("flowhost-step-test-{name}"));
    std::fs::create_dir_all(&dir)?;
    Ok(Scratch(dir))
}
