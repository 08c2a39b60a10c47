//! `flowhost users`: membership administration (Owner-only, audited).

use clap::Subcommand;

use super::acting::{platform, print_json};
use super::args::{InWorkspace, Output};
use super::database::Database;
use super::input::{shown_email, shown_role};
use super::output::one_line;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Invite one email with one role.
    Invite {
        email: String,
        #[arg(long)]
        role: String,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Delete a user from the workspace (keeps their audit trail).
    Delete {
        email: String,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Change a member's role.
    SetRole {
        email: String,
        #[arg(long)]
        role: String,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// List members (needs user.read).
    List {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Database, cmd: UsersCommand) -> anyhow::Result<()> {
    let platform = platform(db)?;
    let p = platform.admin();
    match cmd {
        UsersCommand::Invite {
            email,
            role,
            at: InWorkspace { workspace, acting },
        } => {
            p.invite_user(&acting.required()?, &workspace, &email, &role)?;
            println!(
                "invited {} to {workspace} as {}",
                shown_email(&email),
                shown_role(&role)
            );
        }
        UsersCommand::Delete {
            email,
            at: InWorkspace { workspace, acting },
        } => {
            p.delete_user(&acting.required()?, &workspace, &email)?;
            println!("deleted {} from {workspace}", shown_email(&email));
        }
        UsersCommand::SetRole {
            email,
            role,
            at: InWorkspace { workspace, acting },
        } => {
            p.set_user_role(&acting.required()?, &workspace, &email, &role)?;
            println!(
                "{} now has role {} in {workspace}",
                shown_email(&email),
                shown_role(&role)
            );
        }
        UsersCommand::List {
            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => {
            let members = p.list_users(&acting.principal()?, &workspace)?;
            if json {
                return print_json(&members);
            }
            for m in members {
                let bg = if m.break_glass { " break-glass" } else { "" };
                // A custom role's name stored before names were one visible word.
                println!("{:<32} {:<14} {}{bg}", m.email, one_line(&m.role), m.source);
            }
        }
    }
    Ok(())
}
