//! `flowhost validate`: check workflow definitions without running them.

use std::path::PathBuf;

use flowhost::workflow::{self, Resolver};

use super::Reported;

/// Validates each file; prints every located error; fails if any file has one.
pub fn validate(files: &[PathBuf], steps: &[PathBuf]) -> anyhow::Result<()> {
    let mut bad = 0;
    for file in files {
        let origin = file.display().to_string();
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read {origin}: {e}"))?;
        match workflow::parse(&origin, &text, &Resolver::for_file(file, steps.to_vec())) {
            Ok(w) => println!(
                "{origin}: ok ({} in workspace {}, {} top-level steps)",
                w.name,
                w.workspace,
                w.steps.len()
            ),
            Err(errors) => {
                bad += 1;
                for e in errors {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    if bad > 0 {
        return Err(Reported(format!("{bad} of {} file(s) invalid", files.len())).into());
    }
    Ok(())
}
