//! Arguments that many commands share, flattened into each with `#[command(flatten)]` so
//! that they read and behave alike everywhere: how output is printed (`--json`) and where
//! `step:<name>` components are found (`--steps DIR`). Who acts is [`super::acting::Acting`];
//! the database (`--db`) is a global option of `cli/mod.rs`.

use std::path::PathBuf;

use clap::Args;

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
