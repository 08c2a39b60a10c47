//! `flowhost triggers dispatch|list|release`: start the runs that pending events trigger
//! (SPEC WF-2); the events waiting for dispatch, those set aside (quarantined) and why, and
//! putting one back in line once its row is mended (SPEC WF-11).

use std::path::PathBuf;

use clap::Subcommand;
use flowhost::workflow;

use super::acting::{Acting, platform, print_json};
use super::args::{InWorkspace, Output, StepDirs};
use super::database::Database;
use super::run::{engine, print_triggered};

#[derive(Subcommand)]
pub enum TriggersCommand {
    /// Run every published workflow that pending events of a workspace trigger (until none
    /// are pending); needs playbook.execute there.
    Dispatch {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        steps: StepDirs,
        #[command(flatten)]
        output: Output,
    },
    /// The events of a workspace waiting for dispatch, or with --quarantined those set aside
    /// (their rows do not read) and why; needs playbook.execute there.
    List {
        #[command(flatten)]
        at: InWorkspace,
        #[arg(long)]
        quarantined: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Put a quarantined event back in line for dispatch (once its row is mended); needs
    /// playbook.execute there.
    Release {
        #[command(flatten)]
        at: InWorkspace,
        /// The event's id (`E-…`), as `triggers list` shows it.
        #[arg(long)]
        event: String,
    },
}

pub fn run(db: &Database, cmd: TriggersCommand) -> anyhow::Result<()> {
    match cmd {
        TriggersCommand::Dispatch {
            steps: StepDirs { dirs: steps },
            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => dispatch(db, steps, &workspace, &acting, json),
        TriggersCommand::List {
            quarantined,
            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => list(db, &workspace, &acting, quarantined, json),
        TriggersCommand::Release {
            event,
            at: InWorkspace { workspace, acting },
        } => release(db, &workspace, event, &acting),
    }
}

/// `flowhost triggers dispatch`: start the runs pending events of a workspace trigger.
fn dispatch(
    db: &Database,
    steps: Vec<PathBuf>,
    workspace: &str,
    acting: &Acting,
    json: bool,
) -> anyhow::Result<()> {
    let engine = engine(db, steps)?;
    let outcomes = engine.dispatch_for(&acting.required()?, workspace, &workflow::Quiet)?;
    for outcome in &outcomes {
        print_triggered(outcome, json);
    }
    // One document, a list, empty when nothing started (it printed nothing; door review).
    if json {
        print_json(&outcomes)?;
    }
    Ok(())
}

/// `flowhost triggers list`: pending events of a workspace, or (`quarantined`) those set
/// aside.
fn list(
    db: &Database,
    workspace: &str,
    acting: &Acting,
    quarantined: bool,
    json: bool,
) -> anyhow::Result<()> {
    let events =
        platform(db)?
            .runs()
            .waiting_events(&acting.required()?, workspace, quarantined)?;
    if json {
        return print_json(&events);
    }
    if events.is_empty() {
        let what = if quarantined {
            "quarantined"
        } else {
            "pending"
        };
        println!("no {what} events in `{workspace}`");
    }
    for e in &events {
        match &e.quarantined {
            Some(why) => println!(
                "event {} {} ({}): quarantined: {why}",
                e.id, e.kind, e.created_at
            ),
            None => println!("event {} {} ({})", e.id, e.kind, e.created_at),
        }
    }
    Ok(())
}

/// `flowhost triggers release`: a quarantined event back in line for dispatch.
fn release(db: &Database, workspace: &str, event: String, acting: &Acting) -> anyhow::Result<()> {
    let id = flowhost::public_id::PublicId::parse(flowhost::public_id::IdKind::Event, &event)
        .map_err(flowhost::Error::from)?;
    if !platform(db)?
        .runs()
        .release_event(&acting.required()?, workspace, &id)?
    {
        let missing = format!("there is no quarantined event {id} in `{workspace}`");
        return Err(flowhost::Error::NotFound(missing).into());
    }
    println!("event {id} is pending again");
    Ok(())
}
