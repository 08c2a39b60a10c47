//! `flowhost validate`: check workflow definitions without running them; every error names
//! its JSON path and line:column (SPEC WF-1, WF-3).

use std::path::PathBuf;

use clap::Args;

use super::args::StepDirs;
use super::error::{CliError, Reported};
use super::workflows::load;

#[derive(Args)]
pub struct ValidateArgs {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    steps: StepDirs,
}

/// Validates each file; prints every located error; fails if any file has one.
pub fn run(args: ValidateArgs) -> anyhow::Result<()> {
    let ValidateArgs { files, steps } = args;
    let mut bad = 0;
    for file in &files {
        // Its nested workflows as publishing reads them: one that does not parse, or belongs
        // to another workspace, failed each run after the steps before it (review).
        let loaded = load(file, &steps.dirs).and_then(|(w, text, origin)| {
            flowhost::workflow::components::collect_nested(&w, &mut Vec::new())
                .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
            Ok((w, text, origin))
        });
        match loaded {
            Ok((w, _, origin)) => println!(
                "{origin}: ok ({} in workspace {}, {} top-level steps)",
                w.name,
                w.workspace,
                w.steps.len()
            ),
            Err(e) => {
                // Located errors are printed by `load`; a file that cannot be read at all
                // (missing, unreadable, not UTF-8) is named here with its cause.
                if e.downcast_ref::<Reported>().is_none() {
                    eprintln!("error: {e:#}");
                }
                bad += 1;
            }
        }
    }
    if bad > 0 {
        return Err(Reported(CliError::Invalid(format!(
            "{bad} of {} file(s) invalid",
            files.len()
        )))
        .into());
    }
    Ok(())
}
