//! `flowhost db prune|migrate`: the operator's commands on the database itself. Nobody
//! acts: whoever can open the database could delete its rows anyway, and what is pruned no
//! request could use any more (`flowhost::housekeeping`); `migrate` only reads the SQLite file
//! and writes to a PostgreSQL database the operator names (`flowhost::store::postgres`).

use clap::Subcommand;
use flowhost::store::Location;

use super::acting::{platform, print_json};
use super::args::Output;
use super::database::Database;
use super::error::CliError;

#[derive(Subcommand)]
pub enum DbCommand {
    /// Delete expired rows, at most 1,000 of each kind (what `serve` does every minute):
    /// sign-in links expired or used over a day ago, expired sessions and OIDC logins,
    /// webhook signatures past the replay window, webhook idempotency keys over 7 days old,
    /// start keys over 7 days old whose run has ended, a step's restriction updates
    /// remembered under their keys after 30 days.
    Prune {
        #[command(flatten)]
        output: Output,
    },
    /// Copy the whole SQLite database (--db PATH) into an empty PostgreSQL database: its
    /// schema is created, every table copied in one transaction (a failure writes nothing),
    /// and each table's rows counted on both sides. The SQLite file is only read; afterwards,
    /// serve with --db URL.
    Migrate {
        /// The PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (a Unix
        /// socket directory as a percent-encoded HOST), as `--db` takes it afterwards.
        #[arg(long, value_name = "URL")]
        to: String,
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Database, cmd: DbCommand) -> anyhow::Result<()> {
    match cmd {
        DbCommand::Prune {
            output: Output { json },
        } => {
            // Opening a missing or empty file would make it a new database: a mistyped path
            // must say so. (A server's database must exist to be connected to.)
            if let Some(file) = db.file() {
                if !file.is_file() {
                    return Err(CliError::Invalid(format!(
                        "there is no database file at {} (--db PATH)",
                        file.display()
                    ))
                    .into());
                }
                if file.metadata().is_ok_and(|m| m.len() == 0) {
                    return Err(CliError::Invalid(format!(
                        "{} is empty, not a Flowhost database (--db PATH)",
                        file.display()
                    ))
                    .into());
                }
            }
            // A server's database that holds no Flowhost schema (the user's default one, a
            // mistyped name) is refused as an empty file is: opened, it was given the whole
            // schema, and the prune said "0 removed" (round 18 storage review).
            if let flowhost::store::Location::Postgres(url) = db.location() {
                let mut client =
                    flowhost::store::postgres::connect(url).map_err(flowhost::Error::from)?;
                if !flowhost::store::postgres::holds_flowhost(&mut client)
                    .map_err(flowhost::Error::from)?
                {
                    return Err(CliError::Invalid(format!(
                        "{} holds no Flowhost database (--db URL)",
                        db.named()
                    ))
                    .into());
                }
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
        DbCommand::Migrate {
            to,
            output: Output { json },
        } => {
            let Location::File(file) = db.location() else {
                return Err(CliError::Invalid(format!(
                    "db migrate copies an SQLite file into PostgreSQL: --db must name the \
                     file to copy, not the server {} (give the server as --to URL)",
                    db.location()
                ))
                .into());
            };
            // Only what `--db` reads as a server: a `host=… dbname=…` copy succeeded, and the
            // same text given to `--db` afterwards named a new, empty SQLite file, served
            // beside the copy (round 17 storage review).
            let Location::Postgres(to) = Location::parse(&to) else {
                return Err(CliError::Invalid(format!(
                    "--to `{}` is not a PostgreSQL URL as --db reads one: write \
                     postgres://USER@HOST/DATABASE",
                    flowhost::text::clip(&to)
                ))
                .into());
            };
            let live = flowhost::runs::lease::live_processes(file)?;
            if let Some(owner) = live.first() {
                return Err(CliError::Invalid(format!(
                    "a flowhost process (owner {owner}{}) is using {}: stop it first (what it \
                     accepted after the copy would be lost, and its runs executed again on \
                     PostgreSQL)",
                    if live.len() > 1 {
                        format!(", and {} more", live.len() - 1)
                    } else {
                        String::new()
                    },
                    file.display()
                ))
                .into());
            }
            let mut client =
                flowhost::store::postgres::connect(&to).map_err(flowhost::Error::from)?;
            let copied = flowhost::store::postgres::copy_sqlite(file, &mut client)
                .map_err(flowhost::Error::from)?;
            if json {
                return print_json(&copied);
            }
            let width = copied.iter().map(|t| t.table.len()).max().unwrap_or(0);
            for table in &copied {
                println!("{:width$}  {} rows", table.table, table.rows);
            }
            let total: u64 = copied.iter().map(|t| t.rows).sum();
            println!(
                "copied {total} rows in {} tables from {} into PostgreSQL; counts verified",
                copied.len(),
                file.display()
            );
            Ok(())
        }
    }
}
