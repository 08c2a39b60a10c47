//! `flowhost step run`: run one step component and show its output, logs and events;
//! `step new|build|test` (step projects) are in `step_project.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use flowhost::principal::Caller;
use flowhost::services::HostServices;
use flowhost::services::events::CustomEvent;
use flowhost::store::ExecutionRecord;
use flowhost::wasm::{EngineSettings, StepExecution, StepLimits, StepRuntime};

use super::acting::Acting;
use super::args::Output;
use super::database::Database;
use super::error::{CliError, Reported};
use super::input::json_arg;

#[derive(Subcommand)]
pub enum StepCommand {
    /// Run a step component once.
    Run(RunArgs),
    /// Make a new step project: manifest, source, test cases, WIT and SDK.
    New(super::step_project::NewArgs),
    /// Build the step project here and precompile it into the component cache.
    Build(super::step_project::BuildArgs),
    /// Build (unless --no-build) and run the step project's test cases.
    Test(super::step_project::TestArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// The step component (`.wasm`, built for wasm32-wasip2).
    step: PathBuf,
    /// The step's input: JSON, or @FILE.
    #[arg(long, default_value = "{}")]
    input: String,
    /// The workspace the step acts in.
    #[arg(long, default_value = "default")]
    workspace: String,
    /// Who the step's host calls act as.
    #[command(flatten)]
    acting: Acting,
    /// Memory cap in MiB.
    #[arg(long, default_value_t = 64)]
    memory_mb: usize,
    /// Deadline in milliseconds (at most the longest duration, `clock::MAX_DURATION_SECS`).
    #[arg(long, default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=flowhost::clock::MAX_DURATION_SECS.unsigned_abs() * 1000))]
    timeout_ms: u64,
    #[command(flatten)]
    output: Output,
}

pub fn run(db: &Database, cmd: StepCommand) -> anyhow::Result<()> {
    match cmd {
        StepCommand::Run(args) => run_step(db, args),
        StepCommand::New(args) => super::step_project::new(args),
        StepCommand::Build(args) => super::step_project::build(db, args),
        StepCommand::Test(args) => super::step_project::test(db, args),
    }
}

fn run_step(db: &Database, args: RunArgs) -> anyhow::Result<()> {
    let input = json_arg("input", &args.input)?;
    let principal = args.acting.principal()?;
    let settings = EngineSettings::one_shot();
    let limits = StepLimits {
        memory_bytes: args
            .memory_mb
            .saturating_mul(1 << 20)
            .min(settings.max_memory_bytes),
        timeout: Duration::from_millis(args.timeout_ms),
        ..StepLimits::default()
    };
    let platform = Arc::new(db.platform()?);
    let services = HostServices::of(platform.clone());
    let runtime = StepRuntime::new(&settings, Some(db.cache_dir()))?;
    let step = runtime.load(&args.step)?;
    let caller = Caller {
        workspace: args.workspace.clone(),
        principal: principal.clone(),
        cause: None,
        step: None,
    };
    let mut execution = runtime.execute(&step, &input, caller, services, limits);
    // A step run outside any workflow has no run to record which restricted cases it read,
    // so whom its events may reach cannot be decided (SPEC CS-2): one that asked the host for
    // anything publishes none (leak review: its events quoted what it read to any workflow
    // they triggered). Shown, not published.
    // Taken before anything is printed: shown as emitted, they were not (round 19 steps
    // review: `--json` listed them under `events`).
    let mut withheld = if execution.database_calls > 0 {
        std::mem::take(&mut execution.events)
    } else {
        Vec::new()
    };
    // Decided again as it ended, on current access data, as a run's step is (round 22
    // review: a demotion during a long `--timeout-ms` was not seen). Refused, they are shown
    // and not published.
    let mut refused = None;
    if let Some(event) = execution.events.first() {
        let asker = Caller::of(&principal, &args.workspace);
        if let Err(e) = platform.emits_still_allowed(&asker, &event.kind)? {
            refused = Some(e.to_string());
            withheld.append(&mut execution.events);
        }
    }
    if args.output.json {
        print_json(&execution, &withheld)?;
    } else {
        print_text(&execution, &withheld);
    }
    let principal_name = principal.to_string();
    let component = args.step.display().to_string();
    // The record's row id stays internal: one sequence over every workspace, it would tell
    // how many steps ran elsewhere (SPEC ID-4).
    platform.runs().record_step_run(
        &principal,
        &ExecutionRecord {
            workspace: &args.workspace,
            principal: &principal_name,
            component: &component,
            digest: &step.digest,
            execution: &execution,
            cause: None,
        },
    )?;
    if let Some(why) = &refused {
        eprintln!(
            "note: {} event(s) not published: {}",
            withheld.len(),
            super::output::block(why)
        );
    } else if !withheld.is_empty() {
        let kinds: Vec<&str> = withheld.iter().map(|e| e.kind.as_str()).collect();
        eprintln!(
            "note: {} event(s) not published ({}): a step run outside a workflow that asked \
             the host for cases or access publishes none; run it in a workflow to publish them",
            withheld.len(),
            kinds.join(", ")
        );
    }
    match &execution.result {
        Ok(_) => Ok(()),
        Err(failure) => {
            if !args.output.json {
                eprintln!(
                    "error: step {component} failed: {}",
                    super::output::block(&failure.to_string())
                );
            }
            Err(Reported(CliError::Failed(failure.to_string())).into())
        }
    }
}

fn print_json(exec: &StepExecution, withheld: &[CustomEvent]) -> anyhow::Result<()> {
    let (status, output, error) = match &exec.result {
        Ok(v) => ("succeeded", v.clone(), serde_json::Value::Null),
        Err(f) => (
            "failed",
            serde_json::Value::Null,
            serde_json::json!({ "kind": f.kind(), "message": f.to_string() }),
        ),
    };
    let doc = serde_json::json!({
        "status": status,
        "output": output,
        "error": error,
        "logs": exec.logs,
        "dropped_logs": exec.dropped_logs,
        "events": exec.events,
        "withheld_events": withheld,
        "duration_us": u64::try_from(exec.duration.as_micros()).unwrap_or(u64::MAX),
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

fn print_text(exec: &StepExecution, withheld: &[CustomEvent]) {
    for line in &exec.logs {
        // Marked as the step's own, as its error is: a message forged the CLI's lines.
        println!(
            "log   {:<5} {}",
            line.level.as_str(),
            super::output::block(&line.message)
        );
    }
    if exec.dropped_logs > 0 {
        println!("log   ({} more lines dropped)", exec.dropped_logs);
    }
    for event in &exec.events {
        println!("event {} {}", event.kind, event.payload);
    }
    for event in withheld {
        println!("event (not published) {} {}", event.kind, event.payload);
    }
    if let Ok(output) = &exec.result {
        let pretty = serde_json::to_string_pretty(output).unwrap_or_else(|_| output.to_string());
        println!("{pretty}");
        eprintln!("ok in {:.2} ms", exec.duration.as_secs_f64() * 1000.0);
    }
}
