//! `flowhost access check`: ask the access engine (SPEC RB-3, ID-4).

use clap::{Args, Subcommand};

use super::acting::{platform, print_json};
use super::args::{InWorkspace, Output};
use super::database::Database;
use super::error::{CliError, Reported};

#[derive(Subcommand)]
pub enum AccessCommand {
    /// May this principal use this scope here? Exits 1 when denied.
    Check(CheckArgs),
}

pub fn run(db: &Database, cmd: AccessCommand) -> anyhow::Result<()> {
    match cmd {
        AccessCommand::Check(args) => check(db, args),
    }
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    at: InWorkspace,
    #[arg(long)]
    scope: String,
    /// Show the whole path behind the decision.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    output: Output,
}

/// Prints the decision; exits 1 when denied, so scripts can branch on it.
fn check(db: &Database, args: CheckArgs) -> anyhow::Result<()> {
    let principal = args.at.acting.principal()?;
    let explanation =
        platform(db)?
            .access()
            .explain(&principal, &args.at.workspace, &args.scope)?;
    if args.output.json {
        print_json(&explanation)?;
    } else {
        println!(
            "{}: {}",
            if explanation.decision.allowed() {
                "allow"
            } else {
                "deny"
            },
            explanation.decision.reason()
        );
        if args.explain {
            for line in &explanation.path {
                println!("  {line}");
            }
        }
    }
    if explanation.decision.allowed() {
        Ok(())
    } else {
        Err(Reported(CliError::Denied("denied".into())).into())
    }
}
