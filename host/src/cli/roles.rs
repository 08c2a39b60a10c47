//! `flowhost roles`: custom roles (Owner-only, audited; SPEC RB-2).

use clap::Subcommand;

use super::acting::platform;
use super::args::InWorkspace;
use super::database::Database;

#[derive(Subcommand)]
pub enum RolesCommand {
    /// Define a custom role from scopes (comma-separated).
    Create {
        name: String,
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Delete a custom role nobody holds.
    Delete {
        name: String,
        #[command(flatten)]
        at: InWorkspace,
    },
}

pub fn run(db: &Database, cmd: RolesCommand) -> anyhow::Result<()> {
    let platform = platform(db)?;
    let p = platform.admin();
    match cmd {
        RolesCommand::Create {
            name,
            scopes,
            at: InWorkspace { workspace, acting },
        } => {
            p.create_role(&acting.required()?, &workspace, &name, &scopes)?;
            println!("created role {name} in {workspace}");
        }
        RolesCommand::Delete {
            name,
            at: InWorkspace { workspace, acting },
        } => {
            p.delete_role(&acting.required()?, &workspace, &name)?;
            println!("deleted role {name} from {workspace}");
        }
    }
    Ok(())
}
