//! `flowhost step new|build|test`: step projects (issue 17). The work is in
//! `flowhost::stepkit`; this prints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use flowhost::stepkit::{self, Language, Manifest};
use flowhost::wasm::{EngineSettings, StepRuntime};

use super::database::Database;
use super::error::{CliError, Reported};
use super::output::one_line;

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

/// Where the commands on the project in `project` keep precompiled components and build
/// records: the cache `step run` uses with the same `--db` and `--state-dir`, unless it lies
/// inside the project (the default `.flowhost/` of a project one `cd`s into), which whoever
/// handed the project over may have filled with artifacts and build records of their own,
/// mapped as machine code and trusted as this host's (review). Then the user's own cache
/// (`$XDG_CACHE_HOME` or `~/.cache`, `flowhost/steps`), or none at all.
fn trusted_cache(db: &Database, project: &Path) -> Option<PathBuf> {
    let user = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    cache_outside(&db.cache_dir(), project, user)
}

/// `cache` unless it lies inside `project`, else `flowhost/steps` under `user` (the user's
/// cache directory) unless that does too, else none.
fn cache_outside(cache: &Path, project: &Path, user: Option<PathBuf>) -> Option<PathBuf> {
    let resolved = |p: &Path| {
        std::fs::canonicalize(p)
            .ok()
            .or_else(|| std::path::absolute(p).ok())
    };
    // Inside as written or as resolved: a project shipping `.flowhost -> ../elsewhere` had a
    // directory it also shipped taken for the user's cache (polyglot review).
    let inside = |dir: &Path| {
        let project = [resolved(project), std::path::absolute(project).ok()];
        let dir = [resolved(dir), std::path::absolute(dir).ok()];
        if project.iter().any(Option::is_none) || dir.iter().any(Option::is_none) {
            return true;
        }
        dir.iter()
            .flatten()
            .any(|d| project.iter().flatten().any(|p| d.starts_with(p)))
    };
    if !inside(cache) {
        return Some(cache.to_owned());
    }
    let user = user?.join("flowhost").join("steps");
    // Itself inside the project (a HOME set to it): none.
    (!inside(&user)).then_some(user)
}

/// A one-shot runtime over `cache` (none: every load compiles).
fn runtime(cache: Option<PathBuf>) -> anyhow::Result<StepRuntime> {
    StepRuntime::new(&EngineSettings::one_shot(), cache)
}

/// Builds the project, unless nothing it is built from changed since its last build (or
/// `force`), and loads (precompiles) the component.
fn build_and_load(
    db: &Database,
    project: &Path,
    manifest: &Manifest,
    force: bool,
) -> anyhow::Result<(StepRuntime, std::sync::Arc<flowhost::wasm::LoadedStep>)> {
    // With `--force` a file the fingerprint cannot read does not stop the build (it stopped
    // the one command meant to get past a stale record; review): nothing is remembered then.
    let fingerprint = match stepkit::fresh::fingerprint(project, manifest) {
        Ok(fingerprint) => Some(fingerprint),
        Err(_) if force => None,
        Err(e) => anyhow::bail!(e),
    };
    let component = manifest.output_path(project);
    let cache = trusted_cache(db, project);
    let fresh =
        cache
            .as_deref()
            .zip(fingerprint.as_deref())
            .is_some_and(|(records, fingerprint)| {
                stepkit::fresh::is_fresh(records, project, manifest, fingerprint)
            });
    if !force && fresh {
        let runtime = runtime(cache)?;
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
    if let (Some(records), Some(fingerprint)) = (&cache, &fingerprint) {
        stepkit::fresh::remember(records, project, manifest, fingerprint);
    }
    let runtime = runtime(cache)?;
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
        let runtime = runtime(trusted_cache(db, &args.project))?;
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
    // Nothing tested is no pass (a CI gate read `0 passed, 0 failed` as green).
    if file.tests.is_empty() {
        return Err(CliError::Invalid(format!(
            "{}: `tests` is empty; nothing was tested",
            path.display()
        ))
        .into());
    }
    let grants = manifest.grants().map_err(anyhow::Error::msg)?;
    let scratch = flowhost::scratch::Scratch::new("flowhost-step-test-")?;
    let results = stepkit::cases::run(&path, &file, &runtime, &step, grants, scratch.path());
    let results = results.map_err(|e| anyhow::anyhow!("{}: setting up: {e}", path.display()))?;
    let failed = results.iter().filter(|r| !r.passed()).count();
    for r in &results {
        if r.passed() {
            println!("ok    {}", one_line(&r.name));
        } else {
            println!("FAIL  {}", one_line(&r.name));
            for m in &r.mismatches {
                // A step's words on one line each: a line break in its failure printed
                // `ok` lines and a summary of its own choosing (round 17 steps review).
                println!("      at {}", one_line(&m.at));
                println!("        expected: {}", one_line(&m.expected));
                println!("        actual:   {}", one_line(&m.actual));
            }
        }
    }
    println!("{} passed, {} failed", results.len() - failed, failed);
    if failed > 0 {
        return Err(Reported(CliError::Failed(format!("{failed} step test(s) failed"))).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache inside the project being built (the default `.flowhost/` of a project one
    /// `cd`s into) is not used: whoever handed the project over may have filled it with
    /// artifacts and build records of their own (review). The user's cache is used instead,
    /// and none if that is inside the project too.
    /// Inside as written counts, whatever a symlink it ships resolves to (polyglot review).
    #[test]
    fn a_cache_reached_through_a_symlink_the_project_ships_is_not_trusted() {
        let root = tempfile::tempdir().expect("tempdir");
        let project = root.path().join("enrich-ip");
        let shipped = root.path().join("shipped-cache");
        std::fs::create_dir_all(shipped.join("cache")).expect("mkdir");
        std::fs::create_dir_all(&project).expect("mkdir");
        std::os::unix::fs::symlink(&shipped, project.join(".flowhost")).expect("symlink");
        let user = root.path().join("home-cache");
        assert_eq!(
            cache_outside(
                &project.join(".flowhost/cache"),
                &project,
                Some(user.clone())
            ),
            Some(user.join("flowhost").join("steps"))
        );
        // A cache outside, reached by neither form, is used.
        assert_eq!(
            cache_outside(&shipped, &project, Some(user)),
            Some(shipped.clone())
        );
    }

    #[test]
    fn a_cache_inside_the_project_is_not_trusted() {
        let root = tempfile::tempdir().expect("tempdir");
        let project = root.path().join("enrich-ip");
        std::fs::create_dir_all(project.join(".flowhost/cache")).expect("mkdir");
        let user = root.path().join("home-cache");
        let inside = project.join(".flowhost/cache");
        assert_eq!(
            cache_outside(&inside, &project, Some(user.clone())),
            Some(user.join("flowhost").join("steps"))
        );
        assert_eq!(cache_outside(&inside, &project, None), None);
        assert_eq!(
            cache_outside(&inside, &project, Some(project.join("x"))),
            None
        );
        let elsewhere = root.path().join("state/cache");
        assert_eq!(
            cache_outside(&elsewhere, &project, Some(user)),
            Some(elsewhere.clone())
        );
    }
}
