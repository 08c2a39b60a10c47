//! `flowhost db prune`: the operator's commands on the database file itself. Nobody acts:
//! whoever can open the file could delete its rows anyway, and what is pruned no request
//! could use any more (`flowhost::housekeeping`).

use std::path::Path;

use clap::Subcommand;

use super::acting::{platform, print_json};
use super::args::Output;
use super::error::CliError;

#[derive(Subcommand)]
pub enum DbCommand {
    /// Delete expired rows, at most 1,000 of each kind (what `serve` does every minute):
    /// sign-in links expired or used over a day ago, expired sessions and OIDC logins,
    /// webhook signatures past the replay window, idempotency keys over 7 days old.
    Prune {
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Path, cmd: DbCommand) -> anyhow::Result<()> {
    match cmd {
        DbCommand::Prune {
            output: Output { json },
        } => {
            // Opening a missing file would create an empty database: a mistyped path must say so.
            if !db.is_file() {
                return Err(CliError::Invalid(format!(
                    "there is no database file at {} (--db PATH)",
                    db.display()
                ))
                .into());
            }
            let pruned = platform(db)?.housekeeping().prune()?;
            if json {
                return print_json(&pruned);
            }
            for (kind, removed) in pruned.kinds() {
                println!("{kind}: {removed} removed");
            }
            if pruned.more_left() {
                eprintln!("more expired rows are left: run it again");
            }
            Ok(())
        }
    }
}
