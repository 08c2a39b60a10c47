//! `flowhost runs list|show|resume`: the runs a principal may see, as much of each as they
//! may see (the decisions are the `runs()` handle's: SPEC ID-4, CS-2).

use std::time::Instant;

use clap::Subcommand;
use flowhost::Error;
use flowhost::public_id::{IdKind, PublicId};

use super::acting::{Acting, platform, print_json};
use super::args::{Output, StepDirs};
use super::database::Database;
use super::output::one_line;
use super::run::{engine, report};
use super::trace::RunTrace;

#[derive(Subcommand)]
pub enum RunsCommand {
    /// List the runs you may see (playbook.get), newest first, a page at a time.
    List {
        #[arg(long)]
        workspace: Option<String>,
        /// How many runs, 1 to 1000 (default 100).
        #[arg(long)]
        limit: Option<usize>,
        /// Only runs older than this one (`R-…`): the last run of the previous page.
        #[arg(long)]
        before: Option<String>,
        #[command(flatten)]
        acting: Acting,
        #[command(flatten)]
        output: Output,
    },
    /// Show a run and its journaled steps (outputs only to the run's own principal and
    /// holders of bypass.case.access.restriction).
    Show {
        /// The run's id (`R-…`).
        run: String,
        #[command(flatten)]
        acting: Acting,
        #[command(flatten)]
        output: Output,
    },
    /// Resume an interrupted or waiting run (journaled steps are replayed, not re-executed);
    /// needs playbook.execute in its workspace.
    Resume {
        /// The run's id (`R-…`).
        run: String,
        #[command(flatten)]
        acting: Acting,
        #[command(flatten)]
        steps: StepDirs,
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Database, cmd: RunsCommand) -> anyhow::Result<()> {
    match cmd {
        RunsCommand::List {
            workspace,
            limit,
            before,
            acting,
            output: Output { json },
        } => {
            let before = before
                .map(|id| PublicId::parse(IdKind::Run, &id))
                .transpose()
                .map_err(Error::from)?;
            let page = flowhost::runs::RunsPage { before, limit };
            let runs =
                platform(db)?
                    .runs()
                    .list(&acting.required()?, workspace.as_deref(), &page)?;
            if json {
                let listed = runs
                    .iter()
                    .map(flowhost::runs::RunInfo::listed)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Error::Internal(format!("a run did not serialize: {e}")))?;
                return print_json(&listed);
            }
            let full = runs.len() == page.limit()?;
            for r in &runs {
                println!(
                    "{:>5}  {:<10} {:<28} {:<16} {}",
                    r.id,
                    r.status,
                    one_line(&r.workflow),
                    r.workspace,
                    r.started_at
                );
            }
            // A full page says where the next begins, as `cases query` does (round 26 door
            // review: it stopped at 100 saying nothing).
            if let (true, Some(last)) = (full, runs.last()) {
                println!("next page: --before {}", last.id);
            }
            Ok(())
        }
        RunsCommand::Show {
            run,
            acting,
            output: Output { json },
        } => {
            let run = PublicId::parse(IdKind::Run, &run).map_err(Error::from)?;
            let (info, steps) = platform(db)?.runs().show(&acting.required()?, &run)?;
            if json {
                return print_json(&serde_json::json!({ "run": info, "steps": steps }));
            }
            println!(
                "run {} {} ({}) in {} as {}",
                info.id,
                info.status,
                // A run of a file never met the published names' check (hostile-input review).
                one_line(&info.workflow),
                info.workspace,
                info.principal
            );
            if info.steps_omitted > 0 {
                println!(
                    "  ({} earlier journal entries are not shown; the latest {} follow)",
                    info.steps_omitted,
                    steps.len()
                );
            } else if info.steps_cut {
                println!(
                    "  (earlier journal entries are not shown; the latest {} follow)",
                    steps.len()
                );
            } else if info.steps_withheld {
                println!(
                    "  (which steps ran is not shown to you: the run read a case you may not see)"
                );
            }
            for s in steps {
                let detail = s
                    .error
                    .unwrap_or_else(|| s.output.map(|o| o.to_string()).unwrap_or_default());
                // The step's own words on one line: a line break in its error printed journal
                // entries of steps that never ran (round 17 hostile-step review).
                println!(
                    "  {:<9} {:<32} x{} {}",
                    s.status,
                    s.step,
                    s.attempts,
                    one_line(&detail)
                );
            }
            Ok(())
        }
        RunsCommand::Resume {
            run,
            acting,
            steps: StepDirs { dirs: steps },
            output: Output { json },
        } => {
            let run = PublicId::parse(IdKind::Run, &run).map_err(Error::from)?;
            let engine = engine(db, steps)?;
            let principal = acting.required()?;
            let started = Instant::now();
            // The run may be another's (`cli/trace.rs`).
            let runs = engine.platform().runs();
            let trace = RunTrace::new(json, runs.trace_is_live(&principal, &run));
            let outcome = engine.resume_for(&principal, &run, trace.observer())?;
            trace.finish(|| runs.trace_shows_steps(&principal, &run));
            report(&outcome, started.elapsed(), json)
        }
    }
}
