//! `flowhost triggers dispatch`: start the runs that pending events trigger (SPEC WF-2).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use flowhost::workflow;

use super::acting::Acting;
use super::args::{Output, StepDirs};
use super::run::{engine, print_triggered};

#[derive(Subcommand)]
pub enum TriggersCommand {
    /// Run every published workflow that pending events of a workspace trigger (until none
    /// are pending); needs playbook.execute there.
    Dispatch {
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
        #[command(flatten)]
        steps: StepDirs,
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Path, cmd: TriggersCommand) -> anyhow::Result<()> {
    match cmd {
        TriggersCommand::Dispatch {
            workspace,
            acting,
            steps: StepDirs { dirs: steps },
            output: Output { json },
        } => dispatch(db, steps, &workspace, &acting, json),
    }
}

/// `flowhost triggers dispatch`: start the runs pending events of a workspace trigger.
fn dispatch(
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
