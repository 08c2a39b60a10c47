//! `flowhost roles`: custom roles (Owner-only, audited; SPEC RB-2).

use std::path::Path;

use clap::Subcommand;

use super::acting::{Acting, platform};

#[derive(Subcommand)]
pub enum RolesCommand {
    /// Define a custom role from scopes (comma-separated).
    Create {
        name: String,
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Delete a custom role nobody holds.
    Delete {
        name: String,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
}

pub fn run(db: &Path, cmd: RolesCommand) -> anyhow::Result<()> {
    let platform = platform(db)?;
    let p = platform.admin();
    match cmd {
        RolesCommand::Create {
            name,
            scopes,
            workspace,
            acting,
        } => {
            p.create_role(&acting.required()?, &workspace, &name, &scopes)?;
            println!("created role {name} in {workspace}");
        }
        RolesCommand::Delete {
            name,
            workspace,
            acting,
        } => {
            p.delete_role(&acting.required()?, &workspace, &name)?;
            println!("deleted role {name} from {workspace}");
        }
    }
    Ok(())
}
