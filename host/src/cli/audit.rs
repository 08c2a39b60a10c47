//! `flowhost audit`: read the audit log (needs audit.read; SPEC AU).

use clap::Args;
use flowhost::clock;

use super::acting::{platform, print_json};
use super::args::{InWorkspace, Output};
use super::database::Database;
use super::output::one_line;

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    at: InWorkspace,
    /// Only entries newer than this, e.g. 1h or 7d.
    #[arg(long)]
    since: Option<String>,
    #[command(flatten)]
    output: Output,
}

/// `flowhost audit --workspace WS [--since T]`: needs audit.read.
pub fn run(db: &Database, args: AuditArgs) -> anyhow::Result<()> {
    let AuditArgs {
        at: InWorkspace { workspace, acting },
        since,
        output: Output { json },
    } = args;
    let since = match since.as_deref() {
        None => 0,
        Some(s) => clock::now_unix() - clock::parse_duration_secs(s).map_err(anyhow::Error::msg)?,
    };
    let p = platform(db)?;
    let entries = p.audit().log(&acting.principal()?, &workspace, since)?;
    if json {
        return print_json(&entries);
    }
    for e in entries {
        println!(
            "{} {:<24} {:<22} {} {}",
            e.at,
            one_line(&e.actor),
            one_line(&e.action),
            one_line(&e.target),
            one_line(&e.details.to_string())
        );
    }
    Ok(())
}
