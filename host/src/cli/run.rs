//! `flowhost run`: run a workflow with a live trace. `engine`, `report` and `drain` serve the
//! other commands that run workflows (`runs resume`, `interact`, `triggers`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowhost::Error;
use flowhost::principal::Principal;
use flowhost::runs::RunStatus;
use flowhost::wasm::{EngineSettings, StepRuntime};
use flowhost::workflow::{self, Engine, Observer, Resolver, RunOutcome};

use super::acting::{Acting, platform, print_json};
use super::args::{Output, StartKeyArg, StepDirs};
use super::database::Database;
use super::error::{CliError, Reported};
use super::input::json_arg;
use super::output::block;
use super::trace::{RunTrace, Trace, go_on_if_left};

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
    #[command(flatten)]
    steps: StepDirs,
    #[command(flatten)]
    output: Output,
    /// Do not run the workflows this run's events trigger.
    #[arg(long)]
    no_triggers: bool,
    #[command(flatten)]
    start_key: StartKeyArg,
}

/// The workflow engine of a command that runs a few steps and exits (`run`, `runs resume`,
/// `interact respond`, …): on-demand instance allocation (`EngineSettings::one_shot`), its
/// steps waiting out other components' compiles.
pub(super) fn engine(db: &Database, steps: Vec<PathBuf>) -> anyhow::Result<Engine> {
    Ok(engine_with(db, steps, &EngineSettings::one_shot())?.waiting_out_compiles())
}

/// The workflow engine with the given step-host settings (`serve`: the pool).
pub(super) fn engine_with(
    db: &Database,
    steps: Vec<PathBuf>,
    settings: &EngineSettings,
) -> anyhow::Result<Engine> {
    // Read where a chain's events are claimed: a bad value there failed every claim of a
    // chained event, its workspace's events waiting for good behind it (round 30 kill
    // review). Refused before anything starts, as the heartbeat's TTL is.
    flowhost::workflow::triggers::max_chain_runs()?;
    let platform = Arc::new(platform(db)?);
    let runtime = Arc::new(StepRuntime::new(settings, Some(db.cache_dir()))?);
    Ok(Engine::new(platform, runtime, steps))
}

pub fn run(db: &Database, args: RunArgs) -> anyhow::Result<()> {
    let (Some(file), None) = (&args.file, &args.published) else {
        return run_published(db, args);
    };
    // A file's run is no published start to name: refused, not ignored.
    if args.start_key.idempotency_key.is_some() {
        anyhow::bail!(
            "--idempotency-key names a start of a published workflow (--published NAME \
             --workspace WS), not a run of a file"
        );
    }
    // A file's run is in the workspace the file names: another given here was ignored, the
    // run's cases and events landing elsewhere (round 21 input review).
    if args.workspace.is_some() {
        anyhow::bail!(
            "--workspace names the workspace of a published workflow (--published NAME); a \
             file's run is in the workspace its definition names"
        );
    }
    let origin = file.display().to_string();
    let text = super::input::read_bounded(file, super::input::MAX_DOCUMENT_BYTES, "")?;
    let resolver = Resolver::for_file(file, args.steps.dirs.clone());
    let workflow = workflow::parse(&origin, &text, &resolver).map_err(|errors| {
        for e in &errors {
            eprintln!("error: {e}");
        }
        Reported(CliError::Invalid(format!(
            "{} error(s) in {origin}",
            errors.len()
        )))
    })?;
    let event = json_arg("event", &args.event)?;
    let engine = engine(db, args.steps.dirs)?;
    let started = Instant::now();
    let principal = args.acting.principal()?;
    if !args.output.json {
        println!(
            "▶ {} in {} as {principal}",
            workflow.name, workflow.workspace
        );
    }
    let observer: &dyn Observer = if args.output.json {
        &workflow::Quiet
    } else {
        &Trace
    };
    let outcome = engine.run_file(
        &workflow,
        &text,
        &origin,
        principal.clone(),
        event,
        observer,
    )?;
    let answer = Answer {
        engine: &engine,
        principal: &principal,
        workspace: &workflow.workspace,
        dispatch: !args.no_triggers,
    };
    answer.report(&outcome, started.elapsed(), args.output.json)
}

/// `flowhost run --published NAME --workspace WS`.
fn run_published(db: &Database, args: RunArgs) -> anyhow::Result<()> {
    let (Some(name), Some(workspace)) = (&args.published, &args.workspace) else {
        anyhow::bail!("name a definition file, or --published NAME --workspace WS");
    };
    let event = json_arg("event", &args.event)?;
    let engine = engine(db, args.steps.dirs.clone())?;
    let principal = args.acting.principal()?;
    if !args.output.json {
        println!("▶ {name} in {workspace} as {principal}");
    }
    let observer: &dyn Observer = if args.output.json {
        &workflow::Quiet
    } else {
        &Trace
    };
    let started = Instant::now();
    let key = args.start_key.idempotency_key.as_deref();
    let outcome = engine.run_published(principal.clone(), workspace, name, event, key, observer)?;
    // Only a keyed start may go on with a run left running; this start's own steps were
    // traced live above, as the caller's own run's.
    let runs = engine.platform().runs();
    let trace = match key {
        Some(_) => RunTrace::new(
            args.output.json,
            runs.trace_is_live(&principal, &outcome.run_id),
        ),
        None => RunTrace::Quiet,
    };
    let run = outcome.run_id.clone();
    let outcome = go_on_if_left(
        key,
        outcome,
        trace,
        |observer| engine.resume_for(&principal, &run, observer),
        |ended| runs.trace_shows_steps(&principal, &ended.run_id),
    );
    let answer = Answer {
        engine: &engine,
        principal: &principal,
        workspace,
        dispatch: !args.no_triggers,
    };
    answer.report(&outcome, started.elapsed(), args.output.json)
}

/// A start's answer: its run, then the runs what it caused triggers, as far as `principal`
/// may see each. As text, a line each after the run's; as JSON one document, the run's with
/// the runs it triggered under `triggered` (a document per run was no JSON a reader could
/// parse; round 22 door review).
pub(super) struct Answer<'a> {
    pub engine: &'a Engine,
    pub principal: &'a Principal,
    pub workspace: &'a str,
    /// Whether the events it caused are dispatched here (`--no-triggers` says not).
    pub dispatch: bool,
}

impl Answer<'_> {
    /// Reports `outcome` and what it triggered; an error when the run failed, as
    /// [`report`].
    pub(super) fn report(
        &self,
        outcome: &RunOutcome,
        elapsed: Duration,
        json: bool,
    ) -> anyhow::Result<()> {
        let drained = || drain(self.engine, self.principal, self.workspace, json);
        if !json {
            let first = report(outcome, elapsed, false);
            if self.dispatch {
                drained()?;
            }
            return first;
        }
        // The run's document whatever became of the dispatch: its id and outcome are the
        // answer (self-review: a failed dispatch printed nothing of a run that ran).
        // `triggered` is `null` when nothing was dispatched here.
        let (triggered, dispatch) = if self.dispatch {
            match drained() {
                Ok(runs) => (serde_json::to_value(&runs)?, Ok(())),
                Err(e) => (serde_json::Value::Null, Err(e)),
            }
        } else {
            (serde_json::Value::Null, Ok(()))
        };
        let mut document = serde_json::to_value(outcome)?;
        if let Some(fields) = document.as_object_mut() {
            fields.insert("triggered".into(), triggered);
        }
        print_json(&document)?;
        dispatch?;
        failed(outcome)
    }
}

/// Runs whatever pending events of `workspace` trigger (a run's events stay in its
/// workspace), reporting each run only as far as `principal` may see it. Dispatching is
/// `playbook.execute`'s, decided by the access layer (`Engine::dispatch_for`): for someone
/// without it (an Interact Only responder), the events wait for `serve` or `triggers
/// dispatch`, and this says so (on stderr, also under `--json`); `None` then.
fn drain(
    engine: &Engine,
    principal: &Principal,
    workspace: &str,
    json: bool,
) -> anyhow::Result<Option<Vec<RunOutcome>>> {
    // Triggered runs act as their own identities: no live trace of their steps, only what
    // this principal may see of each.
    let outcomes = match engine.dispatch_for(principal, workspace, &workflow::Quiet) {
        Ok(outcomes) => outcomes,
        Err(Error::Denied(_) | Error::NotFound(_)) => {
            eprintln!(
                "note: the events this caused wait for `flowhost serve` (dispatching them needs playbook.execute)"
            );
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    for outcome in &outcomes {
        print_triggered(outcome, json);
    }
    Ok(Some(outcomes))
}

/// One triggered run's line (none as JSON, which lists the runs whole), and its error on
/// stderr.
pub(super) fn print_triggered(outcome: &RunOutcome, json: bool) {
    if !json {
        println!(
            "↳ triggered run {}: {}",
            outcome.run_id,
            outcome.status.as_str()
        );
    }
    if let Some(e) = &outcome.error {
        eprintln!(
            "error: triggered run {} failed: {}",
            outcome.run_id,
            block(e)
        );
    }
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
    failed(outcome)
}

/// An error when `outcome` failed or stopped with a reason (its message on stderr): the exit
/// status says so.
fn failed(outcome: &RunOutcome) -> anyhow::Result<()> {
    match (&outcome.status, &outcome.error) {
        (RunStatus::Failed, Some(e)) => {
            // Its lines marked as its own: a step's error forged trace lines (round 18).
            eprintln!("error: run {} failed: {}", outcome.run_id, block(e));
            Err(Reported(CliError::Failed(e.clone())).into())
        }
        // Stopped before its end with a reason (the database busy, SPEC WF-11): not done, but
        // resumable; the message says how.
        (RunStatus::Running, Some(e)) => {
            eprintln!("error: run {} stopped: {}", outcome.run_id, block(e));
            Err(Reported(CliError::Failed(e.clone())).into())
        }
        _ => Ok(()),
    }
}
