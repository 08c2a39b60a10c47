//! `flowhost run` and `flowhost runs`: run a workflow with a live trace; list, show and resume
//! runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;
use flowhost::access::Scope;
use flowhost::principal::Principal;
use flowhost::public_id::{IdKind, PublicId};
use flowhost::wasm::{EngineSettings, StepRuntime};
use flowhost::workflow::journal::RunStatus;
use flowhost::workflow::{self, Engine, Observer, Resolver, RunOutcome};
use serde_json::Value;

use super::Reported;
use super::acting::{Acting, platform, print_json};
use super::input::json_arg;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The workflow definition (or --published NAME --workspace WS).
    #[arg(required_unless_present = "published")]
    file: Option<PathBuf>,
    /// Run the latest published revision of this workflow, or one shared to --workspace.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "file",
        requires = "workspace"
    )]
    published: Option<String>,
    /// The workspace of --published.
    #[arg(long)]
    workspace: Option<String>,
    #[command(flatten)]
    acting: Acting,
    /// The event the run sees as `$.event`: JSON or @FILE.
    #[arg(long, default_value = "{}")]
    event: String,
    /// Directories holding step components named `step:<name>`.
    #[arg(long = "steps", value_name = "DIR")]
    steps: Vec<PathBuf>,
    /// Print the outcome as JSON instead of a trace.
    #[arg(long)]
    json: bool,
    /// Do not run the workflows this run's events trigger.
    #[arg(long)]
    no_triggers: bool,
}

#[derive(Subcommand)]
pub enum RunsCommand {
    /// List the runs you may see (playbook.get), newest first.
    List {
        #[arg(long)]
        workspace: Option<String>,
        #[command(flatten)]
        acting: Acting,
        #[arg(long)]
        json: bool,
    },
    /// Show a run and its journaled steps (outputs only to the run's own principal and
    /// holders of bypass.case.access.restriction).
    Show {
        /// The run's id (`R-…`).
        run: String,
        #[command(flatten)]
        acting: Acting,
        #[arg(long)]
        json: bool,
    },
    /// Resume an interrupted or waiting run (journaled steps are replayed, not re-executed);
    /// needs playbook.execute in its workspace.
    Resume {
        /// The run's id (`R-…`).
        run: String,
        #[command(flatten)]
        acting: Acting,
        #[arg(long = "steps", value_name = "DIR")]
        steps: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Prints one line per step as it finishes.
pub(super) struct Trace;

impl Observer for Trace {
    fn step_finished(
        &self,
        key: &str,
        result: &Result<Value, String>,
        duration: Duration,
        replayed: bool,
    ) {
        match (result, replayed) {
            (Ok(_), true) => println!("  ↺ {key:<32} replayed from the journal"),
            (Ok(_), false) => println!("  ✓ {key:<32} {:>9.2} ms", duration.as_secs_f64() * 1e3),
            (Err(e), _) => println!(
                "  ✗ {key:<32} {:>9.2} ms  {e}",
                duration.as_secs_f64() * 1e3
            ),
        }
    }

    fn step_waiting(&self, key: &str, interaction: &PublicId) {
        println!("  ⏸ {key:<32} waiting for interaction {interaction}");
    }

    fn step_sleeping(&self, key: &str, wake_ms: i64) {
        println!(
            "  ⏸ {key:<32} waiting until {} (the run is on hold; `flowhost serve` wakes it)",
            flowhost::clock::rfc3339(wake_ms.div_euclid(1000))
        );
    }
}

pub(super) fn engine(db: &Path, steps: Vec<PathBuf>) -> anyhow::Result<Engine> {
    let platform = Arc::new(platform(db)?);
    let cache = db.parent().map(|d| d.join("cache"));
    let runtime = Arc::new(StepRuntime::new(&EngineSettings::default(), cache)?);
    Ok(Engine::new(platform, runtime, steps))
}

pub fn run(db: &Path, args: RunArgs) -> anyhow::Result<()> {
    let (Some(file), None) = (&args.file, &args.published) else {
        return run_published(db, args);
    };
    let origin = file.display().to_string();
    let text =
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {origin}: {e}"))?;
    let resolver = Resolver::for_file(file, args.steps.clone());
    let workflow = workflow::parse(&origin, &text, &resolver).map_err(|errors| {
        for e in &errors {
            eprintln!("error: {e}");
        }
        Reported(format!("{} error(s) in {origin}", errors.len()))
    })?;
    let event = json_arg("event", &args.event)?;
    let engine = engine(db, args.steps)?;
    let started = Instant::now();
    let principal = args.acting.principal()?;
    if !args.json {
        println!(
            "▶ {} in {} as {principal}",
            workflow.name, workflow.workspace
        );
    }
    let observer: &dyn Observer = if args.json { &workflow::Quiet } else { &Trace };
    let outcome = engine.run_manual(
        &workflow,
        &text,
        &origin,
        principal.clone(),
        event,
        observer,
    )?;
    let first = report(&outcome, started.elapsed(), args.json);
    if !args.no_triggers {
        drain(&engine, &principal, &workflow.workspace, args.json)?;
    }
    first
}

/// `flowhost run --published NAME --workspace WS`.
fn run_published(db: &Path, args: RunArgs) -> anyhow::Result<()> {
    let (Some(name), Some(workspace)) = (&args.published, &args.workspace) else {
        anyhow::bail!("name a definition file, or --published NAME --workspace WS");
    };
    let event = json_arg("event", &args.event)?;
    let engine = engine(db, args.steps.clone())?;
    let principal = args.acting.principal()?;
    if !args.json {
        println!("▶ {name} in {workspace} as {principal}");
    }
    let observer: &dyn Observer = if args.json { &workflow::Quiet } else { &Trace };
    let started = Instant::now();
    let outcome = engine.run_published(principal.clone(), workspace, name, event, observer)?;
    let first = report(&outcome, started.elapsed(), args.json);
    if !args.no_triggers {
        drain(&engine, &principal, workspace, args.json)?;
    }
    first
}

/// Runs whatever pending events of `workspace` trigger (a run's events stay in its
/// workspace), reporting each run only as far as `principal` may see it.
pub(super) fn drain(
    engine: &Engine,
    principal: &Principal,
    workspace: &str,
    json: bool,
) -> anyhow::Result<()> {
    // Triggered runs act as their own identities: no live trace of their steps, only what
    // `outcome_for` lets this principal see.
    let platform = engine.platform();
    let outcomes = engine.dispatch_triggers_in(Some(workspace), &workflow::Quiet)?;
    for outcome in outcomes
        .into_iter()
        .filter_map(|o| platform.outcome_for(principal, o))
    {
        print_triggered(&outcome, json)?;
    }
    Ok(())
}

/// One triggered run's line (or JSON), and its error on stderr.
fn print_triggered(outcome: &RunOutcome, json: bool) -> anyhow::Result<()> {
    if !json {
        println!(
            "↳ triggered run {}: {}",
            outcome.run_id,
            outcome.status.as_str()
        );
    }
    if let Some(e) = &outcome.error {
        eprintln!("error: triggered run {} failed: {e}", outcome.run_id);
    }
    if json {
        print_json(outcome)?;
    }
    Ok(())
}

/// `flowhost triggers dispatch`: start the runs pending events of a workspace trigger.
pub fn dispatch(
    db: &Path,
    steps: Vec<PathBuf>,
    workspace: &str,
    acting: &Acting,
    json: bool,
) -> anyhow::Result<()> {
    let engine = engine(db, steps)?;
    for outcome in engine.dispatch_for(&acting.required()?, workspace, &workflow::Quiet)? {
        print_triggered(&outcome, json)?;
    }
    Ok(())
}

pub(super) fn report(outcome: &RunOutcome, elapsed: Duration, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(outcome)?;
    } else {
        let exit = outcome
            .exit_status
            .as_ref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        println!(
            "run {} {}{exit} in {:.1} ms",
            outcome.run_id,
            outcome.status.as_str(),
            elapsed.as_secs_f64() * 1e3
        );
        if !outcome.output.is_null() {
            println!("output: {}", outcome.output);
        }
        if !outcome.waiting_on.is_empty() {
            let ids: Vec<String> = outcome.waiting_on.iter().map(ToString::to_string).collect();
            println!(
                "waiting for interaction {} (flowhost interact show ID --as EMAIL)",
                ids.join(", ")
            );
        }
    }
    match (&outcome.status, &outcome.error) {
        (RunStatus::Failed, Some(e)) => {
            eprintln!("error: run {} failed: {e}", outcome.run_id);
            Err(Reported(e.clone()).into())
        }
        // Stopped before its end with a reason (the database busy, SPEC WF-11): not done, but
        // resumable; the message says how.
        (RunStatus::Running, Some(e)) => {
            eprintln!("error: run {} stopped: {e}", outcome.run_id);
            Err(Reported(e.clone()).into())
        }
        _ => Ok(()),
    }
}

pub fn runs(db: &Path, cmd: RunsCommand) -> anyhow::Result<()> {
    match cmd {
        RunsCommand::List {
            workspace,
            acting,
            json,
        } => {
            let runs = platform(db)?.runs_for(&acting.required()?, workspace.as_deref())?;
            if json {
                return print_json(&runs);
            }
            for r in runs {
                println!(
                    "{:>5}  {:<10} {:<28} {:<16} {}",
                    r.id, r.status, r.workflow, r.workspace, r.started_at
                );
            }
            Ok(())
        }
        RunsCommand::Show { run, acting, json } => {
            let run = PublicId::parse(IdKind::Run, &run)?;
            let (info, steps) = platform(db)?.run_for(&acting.required()?, &run)?;
            if json {
                return print_json(&serde_json::json!({ "run": info, "steps": steps }));
            }
            println!(
                "run {} {} ({}) in {} as {}",
                info.id, info.status, info.workflow, info.workspace, info.principal
            );
            for s in steps {
                let detail = s
                    .error
                    .unwrap_or_else(|| s.output.map(|o| o.to_string()).unwrap_or_default());
                println!(
                    "  {:<9} {:<32} x{} {}",
                    s.status, s.step, s.attempts, detail
                );
            }
            Ok(())
        }
        RunsCommand::Resume {
            run,
            acting,
            steps,
            json,
        } => {
            let run = PublicId::parse(IdKind::Run, &run)?;
            let engine = engine(db, steps)?;
            let principal = acting.required()?;
            let info = engine
                .platform()
                .authorize_run(&principal, &run, Scope::PlaybookExecute)?;
            let started = Instant::now();
            let observer: &dyn Observer = if json { &workflow::Quiet } else { &Trace };
            let outcome = engine.resume(info.key, observer)?;
            let outcome = engine.platform().caused_outcome_for(&principal, outcome);
            report(&outcome, started.elapsed(), json)
        }
    }
}
