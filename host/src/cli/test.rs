//! `flowhost test`: run sample workflows against their expectation files and report.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use flowhost::harness::{self, TestResult};
use flowhost::wasm::{EngineSettings, StepRuntime};

use super::acting::print_json;
use super::args::{Output, StepDirs};
use super::database::Database;
use super::error::{CliError, Reported};
use super::output::one_line;

#[derive(clap::Args)]
pub struct TestArgs {
    /// Directories of samples (`*.test.json` beside each workflow) or files.
    #[arg(default_value = "tests/workflows")]
    paths: Vec<PathBuf>,
    /// Only samples whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    #[command(flatten)]
    steps: StepDirs,
    /// Samples run at once (each on its own database), 1 to 64.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    #[command(flatten)]
    output: Output,
}

pub fn run(db: &Database, args: TestArgs) -> anyhow::Result<()> {
    let mut samples = harness::discover(&args.paths).map_err(anyhow::Error::msg)?;
    if let Some(f) = &args.filter {
        samples.retain(|s| s.name.contains(f.as_str()));
    }
    // Nothing tested is no pass: a misspelt filter, or samples only in subdirectories, read
    // `0 passed, 0 failed` and a CI gate went green (steps and projects review).
    if samples.is_empty() {
        let looked: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        let filter = args
            .filter
            .as_deref()
            .map_or_else(String::new, |f| format!(" whose name contains `{f}`"));
        return Err(CliError::Invalid(format!(
            "no sample workflow{filter} in {} (each is a `*.test.json` beside its workflow; \
             subdirectories are not searched)",
            looked.join(", ")
        ))
        .into());
    }
    // Compiled components are cached in the usual state directory, shared by every sample.
    let runtime = Arc::new(StepRuntime::new(
        &EngineSettings::default(),
        Some(db.cache_dir()),
    )?);
    let live = !args.output.json && std::io::stderr().is_terminal();
    let progress = |r: &TestResult, n: usize, total: usize| {
        let mark = if r.passed { "✓" } else { "✗" };
        if live {
            super::output::rewrite_line(format_args!("[{n}/{total}] {mark} {}", one_line(&r.name)));
        } else if !args.output.json {
            eprintln!(
                "[{n}/{total}] {mark} {} ({} ms)",
                one_line(&r.name),
                r.duration_ms
            );
        }
    };
    let results = harness::run_all(
        &samples,
        runtime,
        &args.steps.dirs,
        usize::from(args.jobs),
        &progress,
    );
    if live {
        eprintln!();
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    let passed = results.len() - failed;
    if args.output.json {
        print_json(&serde_json::json!({ "passed": passed, "failed": failed, "results": results }))?;
    } else {
        // Failures first, each assertion with expected and actual.
        for r in results.iter().filter(|r| !r.passed) {
            // Each on its line, line breaks written out: a step's error carried lines of
            // its own into the report, `ok` lines and a summary included (round 18 review).
            println!("FAIL {}", one_line(&r.name));
            for m in &r.mismatches {
                println!("  {}", one_line(&m.at));
                println!("    expected: {}", one_line(&m.expected));
                println!("    actual:   {}", one_line(&m.actual));
            }
        }
        for r in results.iter().filter(|r| r.passed) {
            println!("ok   {} ({} ms)", one_line(&r.name), r.duration_ms);
        }
        println!("{passed} passed, {failed} failed");
    }
    if failed > 0 {
        return Err(Reported(CliError::Failed(format!("{failed} failed"))).into());
    }
    Ok(())
}
