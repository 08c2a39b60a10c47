//! `flowhost interact`: the interactions a person may answer, answering them, and starting
//! Interaction Flows. Every decision is the access layer's; this file only prints.

use std::time::Instant;

use clap::Subcommand;
use flowhost::Error;
use flowhost::interact::InteractionView;
use flowhost::public_id::{IdKind, PublicId};

use super::acting::{Acting, platform, print_json};
use super::args::{InWorkspace, Output, StartKeyArg, StepDirs};
use super::database::Database;
use super::input::json_arg;
use super::output::one_line;
use super::run::{Answer, engine};
use super::trace::{RunTrace, go_on_if_left};

#[derive(Subcommand)]
pub enum InteractCommand {
    /// The open interactions you may answer in a workspace (SPEC IX-7).
    List {
        #[command(flatten)]
        at: InWorkspace,
        /// How many interactions, 1 to 1000 (default 100).
        #[arg(long)]
        limit: Option<usize>,
        /// Only interactions after this one (`I-…`): the last of the previous page.
        #[arg(long)]
        after: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// One interaction, if you may see it.
    Show {
        /// The interaction's id (`I-…`).
        id: String,
        #[command(flatten)]
        acting: Acting,
        #[command(flatten)]
        output: Output,
    },
    /// Answer an interaction; the run resumes with your answer.
    Respond {
        /// The interaction's id (`I-…`).
        id: String,
        #[command(flatten)]
        acting: Acting,
        /// The form's values: JSON or @FILE.
        #[arg(long)]
        values: String,
        /// Record the answer but leave the run for `flowhost serve` to resume.
        #[arg(long)]
        no_resume: bool,
        #[command(flatten)]
        steps: StepDirs,
        #[command(flatten)]
        output: Output,
    },
    /// The Interaction Flows you may start in a workspace (SPEC IX-7).
    Flows {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
    /// Start an Interaction Flow by submitting its form.
    Start {
        flow: String,
        #[command(flatten)]
        at: InWorkspace,
        #[arg(long)]
        values: String,
        #[command(flatten)]
        steps: StepDirs,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        start_key: StartKeyArg,
    },
}

pub fn run(db: &Database, cmd: InteractCommand) -> anyhow::Result<()> {
    match cmd {
        InteractCommand::List {
            output: Output { json },
            at: InWorkspace { workspace, acting },
            limit,
            after,
        } => {
            let after = after
                .map(|id| PublicId::parse(IdKind::Interaction, &id))
                .transpose()
                .map_err(Error::from)?;
            let page = flowhost::interact::OpenPage { after, limit };
            let open = platform(db)?
                .interactions()
                .open(&acting.required()?, &workspace, &page)?;
            if json {
                return print_json(&open);
            }
            if open.is_empty() {
                println!("no open interactions you may answer in {workspace}");
            }
            // A full page says where the next begins, as `cases query` does (round 26 door
            // review).
            let next = (open.len() == page.limit()?)
                .then(|| open.last().map(|ix| ix.id.clone()))
                .flatten();
            for ix in open {
                println!(
                    "{:>5}  {:<32} run {:<5} {:<24} {}",
                    ix.id,
                    one_line(&ix.title),
                    ix.run,
                    one_line(&ix.workflow),
                    ix.deadline.map(|d| format!("due {d}")).unwrap_or_default()
                );
            }
            if let Some(next) = next {
                println!("next page: --after {next}");
            }
            Ok(())
        }
        InteractCommand::Show {
            id,
            acting,
            output: Output { json },
        } => {
            let id = PublicId::parse(IdKind::Interaction, &id).map_err(Error::from)?;
            let ix = platform(db)?
                .interactions()
                .show(&acting.required()?, &id)?;
            if json {
                return print_json(&ix);
            }
            show(&ix);
            Ok(())
        }
        InteractCommand::Respond {
            id,
            acting,
            values,
            no_resume,
            steps: StepDirs { dirs: steps },
            output: Output { json },
        } => {
            let id = PublicId::parse(IdKind::Interaction, &id).map_err(Error::from)?;
            let values = json_arg("values", &values)?;
            let engine = engine(db, steps)?;
            let principal = acting.required()?;
            let answer = engine.respond(&principal, &id, &values)?;
            if answer.run_ended {
                if !json {
                    println!(
                        "✓ interaction {id}: your answer was taken before, as sent again; run {} \
                         has ended since (flowhost runs show {} --as EMAIL)",
                        answer.run.id, answer.run.id
                    );
                    return Ok(());
                }
                return print_json(&answer.response);
            }
            if !json && answer.repeated {
                println!(
                    "✓ interaction {id}: your answer was taken before, as sent again; run {} resumes",
                    answer.run.id
                );
            } else if !json {
                println!("✓ interaction {id} answered; run {} resumes", answer.run.id);
            }
            // What is said when the run is not resumed here: the answer alone.
            let answered = || {
                if json {
                    print_json(&answer.response)
                } else {
                    Ok(())
                }
            };
            if no_resume {
                return answered();
            }
            // What the run saw is not the answerer's to see, unless they may (`cli/trace.rs`).
            let runs = engine.platform().runs();
            let trace = RunTrace::new(json, runs.trace_is_live(&principal, &answer.run.id));
            let started = Instant::now();
            let resumed = engine.resume(answer.run.key, trace.observer());
            trace.finish(|| runs.trace_shows_steps(&principal, &answer.run.id));
            let outcome = match resumed {
                // The process executing the run takes the answer up when it reaches it.
                Err(e) if flowhost::runs::lease::leased_elsewhere(&e) => {
                    if !json {
                        println!(
                            "run {} continues in the process executing it",
                            answer.run.id
                        );
                    }
                    return answered();
                }
                // The answer is stored whatever became of the resume (a busy database, a run
                // another host finished meanwhile): not reported as an error, which read as a
                // lost answer (kill and concurrency review); any host's resume goes on.
                Err(e) => {
                    eprintln!(
                        "note: the answer was taken; run {} was not resumed here: {e}",
                        answer.run.id
                    );
                    // The infrastructure's failure, or another host's run: it goes on there or
                    // later. Anything else is this run's trouble, and the exit status says so.
                    if e.is_infrastructure() || matches!(e, Error::Conflict(_)) {
                        return answered();
                    }
                    return Err(e.into());
                }
                Ok(outcome) => outcome,
            };
            // The responder sees what the run saw only if they may (SPEC CS-2).
            let outcome = engine.platform().runs().caused_outcome(&principal, outcome);
            let answered = Answer {
                engine: &engine,
                principal: &principal,
                workspace: &answer.workspace,
                dispatch: true,
            };
            answered.report(&outcome, started.elapsed(), json)
        }
        InteractCommand::Flows {
            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => {
            let flows = platform(db)?
                .interactions()
                .startable_flows(&acting.required()?, &workspace)?;
            if json {
                return print_json(&flows);
            }
            if flows.is_empty() {
                println!("no Interaction Flows you may start in {workspace}");
            }
            for f in flows {
                let shared = f
                    .shared_from
                    .map(|s| format!(" (shared from {s})"))
                    .unwrap_or_default();
                println!("{:<32} {}{shared}", one_line(&f.name), one_line(&f.title));
            }
            Ok(())
        }
        InteractCommand::Start {
            flow,

            values,
            steps: StepDirs { dirs: steps },
            output: Output { json },
            at: InWorkspace { workspace, acting },
            start_key: StartKeyArg {
                idempotency_key: key,
            },
        } => {
            let values = json_arg("values", &values)?;
            let engine = engine(db, steps)?;
            // The flow runs as its publisher's choice of identity: what it saw is not the
            // starter's to see, unless they may (`cli/trace.rs`).
            let trace = RunTrace::new(json, false);
            let principal = acting.required()?;
            if !json {
                println!("▶ {flow} in {workspace}, submitted by {principal}");
            }
            let started = Instant::now();
            // The flow's output is its answer to the form, shaped by its publisher for the
            // people its settings let start it (SPEC IX-1); its error as they may see it.
            let outcome = engine.start_flow(
                &principal,
                &workspace,
                &flow,
                &values,
                key.as_deref(),
                trace.observer(),
            )?;
            // The start was decided above: a run it left `running` goes on as its flow's
            // identity, not the starter's (`trace::go_on_if_left`).
            let run = outcome.run_key;
            let runs = engine.platform().runs();
            let outcome = go_on_if_left(
                key.as_deref(),
                outcome,
                trace,
                |observer| engine.resume(run, observer),
                |ended| runs.trace_shows_steps(&principal, &ended.run_id),
            );
            let outcome = engine.platform().runs().flow_outcome(&principal, outcome);
            let answer = Answer {
                engine: &engine,
                principal: &principal,
                workspace: &workspace,
                dispatch: true,
            };
            answer.report(&outcome, started.elapsed(), json)
        }
    }
}

fn show(ix: &InteractionView) {
    println!(
        "interaction {}: {} ({})\n  workflow {} run {} step {}\n  may answer: {}",
        ix.id,
        one_line(&ix.title),
        ix.status,
        one_line(&ix.workflow),
        ix.run,
        ix.step,
        ix.access_reason
    );
    if let Some(d) = &ix.deadline {
        println!("  due {d}");
    }
    for f in &ix.form.fields {
        let kind = serde_json::to_value(&f.kind)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_owned))
            .unwrap_or_default();
        // The publisher's words: a name holding a line break forged a second field line
        // (hostile-input review).
        println!(
            "  field {:<20} {kind}{}",
            one_line(&f.name),
            if f.required { " (required)" } else { "" }
        );
    }
    if let Some(r) = &ix.response {
        println!("  response: {}", one_line(&r.to_string()));
    }
}
