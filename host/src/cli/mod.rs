//! Argument parsing and dispatch.

mod input;
mod step;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Flowhost: run security-automation workflows locally, with sandboxed WebAssembly steps.
#[derive(Parser)]
#[command(name = "flowhost", version, about)]
struct Cli {
    /// The database file (created with its schema on first use).
    #[arg(long, global = true, default_value = flowhost::store::DEFAULT_DB_PATH)]
    db: PathBuf,
    /// Print error details.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with custom steps (WebAssembly components).
    #[command(subcommand)]
    Step(step::StepCommand),
}

/// An error already reported to the user in full; only the exit status is left to set.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);

/// Runs the CLI and maps the outcome to an exit status: 0 on success, 1 on failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Step(cmd) => step::run(&cli.db, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<Reported>().is_some() => ExitCode::FAILURE,
        Err(e) => {
            if cli.verbose {
                eprintln!("error: {e:?}");
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
