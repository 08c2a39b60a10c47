//! Arguments that many commands share, flattened into each with `#[command(flatten)]` so
//! that they read and behave alike everywhere: how output is printed (`--json`) and where
//! `step:<name>` components are found (`--steps DIR`), the workspace acted in and who acts
//! there (`--workspace`, [`Acting`]);
//! the database (`--db`) is a global option of `cli/mod.rs`.

use std::path::PathBuf;

use clap::Args;

use super::acting::Acting;

/// `--json`: print one JSON document instead of text.
#[derive(Args, Clone, Copy, Debug)]
pub struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `--steps DIR`, repeatable: directories holding step components named `step:<name>`.
#[derive(Args, Clone, Debug)]
pub struct StepDirs {
    /// Directories holding step components named `step:<name>`.
    #[arg(long = "steps", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

/// `--workspace NAME` and who acts there (`--as EMAIL [--sso]` or a key's token): the target
/// and the principal of every command that acts in one workspace.
#[derive(Args, Clone, Debug)]
pub struct InWorkspace {
    /// The workspace acted in.
    #[arg(long)]
    pub workspace: String,
    #[command(flatten)]
    pub acting: Acting,
}

/// `--idempotency-key KEY`: the caller's name for one start or creation, so a script that
/// retries after a lost answer (a PostgreSQL commit whose answer was lost, a killed
/// terminal) is answered with what the first made, never makes it twice, as the API's
/// `Idempotency-Key` header does (round 20 kill and concurrency review).
#[derive(Args, Clone, Debug)]
pub struct StartKeyArg {
    /// Name this start, creation or update (1 to 200 visible ASCII characters); sent again
    /// with the same key, it answers what the first made (with another request, refused).
    #[arg(long = "idempotency-key", value_name = "KEY", value_parser = start_key)]
    pub idempotency_key: Option<String>,
}

fn start_key(raw: &str) -> Result<String, String> {
    flowhost::runs::StartKey::check("--idempotency-key", raw)?;
    Ok(raw.to_owned())
}
