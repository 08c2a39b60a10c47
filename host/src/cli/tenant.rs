//! `flowhost tenant apply|export`.

use std::path::PathBuf;

use clap::Subcommand;
use flowhost::principal::Principal;
use flowhost::tenant::{self, TenantFile};

use super::acting::{Acting, NOBODY_ACTS, platform, print_json};
use super::args::Output;
use super::database::Database;
use super::error::{CliError, Reported};

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Apply a tenant file (declarative, idempotent, all or nothing) as an Owner (--as), or
    /// start a brand-new tenant with --bootstrap.
    Apply {
        file: PathBuf,
        #[command(flatten)]
        acting: Acting,
        /// Apply with nobody acting: only while nobody owns the file's organization or any
        /// workspace it names (a brand-new tenant).
        #[arg(long, conflicts_with_all = ["as_email", "key_file"])]
        bootstrap: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Print an organization in the tenant-file format: the workspaces where you hold
    /// user.write.
    Export {
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        acting: Acting,
    },
}

pub fn run(db: &Database, cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Apply {
            file,
            acting,
            bootstrap,
            output: Output { json },
        } => {
            let origin = file.display().to_string();
            let text = super::input::read_bounded(&file, super::input::MAX_DOCUMENT_BYTES, "")?;
            let parsed = TenantFile::parse(&origin, &text).map_err(report_spec_errors)?;
            // Without a principal the only door is the explicit bootstrap (SPEC UA-1).
            let actor = if bootstrap {
                None
            } else {
                match acting.principal()? {
                    Principal::Anonymous => {
                        return Err(CliError::Denied(format!(
                            "{NOBODY_ACTS}; or --bootstrap to start a brand-new tenant"
                        ))
                        .into());
                    }
                    principal => Some(principal),
                }
            };
            let platform = platform(db)?;
            let applied = match &actor {
                Some(actor) => platform.tenant().apply(actor, &parsed),
                None => platform.tenant().bootstrap(&parsed),
            };
            let report = match applied {
                Ok(report) => report,
                Err(tenant::ApplyError::Spec(problems)) => {
                    return Err(report_spec_errors(parsed.locate(problems)));
                }
                Err(tenant::ApplyError::Host(e)) => return Err(e.into()),
            };
            if json {
                return print_json(&report);
            }
            if report.changes.is_empty() {
                println!("no changes");
            }
            for line in &report.changes {
                println!("{line}");
            }
            for ws in &report.untouched_workspaces {
                println!("{ws}: not in the file, left alone");
            }
            Ok(())
        }
        TenantCommand::Export { org, acting } => {
            let platform = platform(db)?;
            print_json(
                &platform
                    .tenant()
                    .export(&acting.required()?, org.as_deref())?,
            )
        }
    }
}

fn report_spec_errors(errors: Vec<tenant::SpecError>) -> anyhow::Error {
    for e in &errors {
        eprintln!("error: {e}");
    }
    Reported(CliError::Invalid(format!(
        "{} error(s) in the tenant file; nothing was applied",
        errors.len()
    )))
    .into()
}
