//! `flowhost access check`.

use std::path::Path;

use clap::Args;
use flowhost::access::explain::explain;

use super::Reported;
use super::acting::{Acting, platform, print_json};

#[derive(Args)]
pub struct CheckArgs {
    #[arg(long)]
    workspace: String,
    #[command(flatten)]
    acting: Acting,
    #[arg(long)]
    scope: String,
    /// Show the whole path behind the decision.
    #[arg(long)]
    explain: bool,
    #[arg(long)]
    json: bool,
}

/// Prints the decision; exits 1 when denied, so scripts can branch on it.
pub fn check(db: &Path, args: CheckArgs) -> anyhow::Result<()> {
    let principal = args.acting.principal()?;
    let platform = platform(db)?;
    let index = platform.index();
    let explanation = explain(
        &index,
        platform.db().conn(),
        &principal,
        &args.workspace,
        &args.scope,
    )?;
    if args.json {
        print_json(&explanation)?;
    } else {
        println!(
            "{}: {}",
            if explanation.allowed { "allow" } else { "deny" },
            explanation.reason
        );
        if args.explain {
            for line in &explanation.path {
                println!("  {line}");
            }
        }
    }
    if explanation.allowed {
        Ok(())
    } else {
        Err(Reported("denied".into()).into())
    }
}
