//! `flowhost tenant apply|export`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use flowhost::tenant::{self, TenantFile};

use super::Reported;
use super::acting::{Acting, platform, print_json};

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Apply a tenant file (declarative, idempotent, all or nothing).
    Apply {
        file: PathBuf,
        #[command(flatten)]
        acting: Acting,
        #[arg(long)]
        json: bool,
    },
    /// Print an organization in the tenant-file format.
    Export {
        #[arg(long)]
        org: Option<String>,
    },
}

pub fn run(db: &Path, cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Apply { file, acting, json } => {
            let origin = file.display().to_string();
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {origin}: {e}"))?;
            let parsed = TenantFile::parse(&origin, &text).map_err(report_spec_errors)?;
            let actor = acting.principal()?;
            let actor = (actor != flowhost::principal::Principal::Anonymous).then_some(actor);
            let platform = platform(db)?;
            let report = match tenant::apply(&platform, &parsed, actor.as_ref()) {
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
        TenantCommand::Export { org } => {
            let db = flowhost::store::Db::open(db)?;
            print_json(&tenant::export(db.conn(), org.as_deref())?)
        }
    }
}

fn report_spec_errors(errors: Vec<tenant::SpecError>) -> anyhow::Error {
    for e in &errors {
        eprintln!("error: {e}");
    }
    Reported(format!(
        "{} error(s) in the tenant file; nothing was applied",
        errors.len()
    ))
    .into()
}
