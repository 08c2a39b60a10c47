//! `flowhost users|roles|groups`: membership administration (Owner-only, audited).

use std::path::Path;

use clap::Subcommand;
use flowhost::admin::groups::GroupKind;

use super::acting::{Acting, platform, print_json};
use super::input::{shown_email, shown_role};

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Invite one email with one role.
    Invite {
        email: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Delete a user from the workspace (keeps their audit trail).
    Delete {
        email: String,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Change a member's role.
    SetRole {
        email: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// List members (needs user.read).
    List {
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
        #[arg(long)]
        json: bool,
    },
}

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

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// Create a group; its type (static or dynamic) is fixed for good.
    Create {
        name: String,
        #[arg(long = "type", value_parser = ["static", "dynamic"])]
        kind: String,
        #[arg(long, default_value = "")]
        description: String,
        /// For dynamic groups: the IdP group mirrored (default: the name).
        #[arg(long)]
        claim_value: Option<String>,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Add a member to a static group.
    Add {
        group: String,
        email: String,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Remove a member from a static group.
    Remove {
        group: String,
        email: String,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Delete a group.
    Delete {
        group: String,
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// List groups and members (needs user.read).
    List {
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: Acting,
        #[arg(long)]
        json: bool,
    },
}

pub fn users(db: &Path, cmd: UsersCommand) -> anyhow::Result<()> {
    let p = platform(db)?;
    match cmd {
        UsersCommand::Invite {
            email,
            role,
            workspace,
            acting,
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
            workspace,
            acting,
        } => {
            p.delete_user(&acting.required()?, &workspace, &email)?;
            println!("deleted {} from {workspace}", shown_email(&email));
        }
        UsersCommand::SetRole {
            email,
            role,
            workspace,
            acting,
        } => {
            p.set_user_role(&acting.required()?, &workspace, &email, &role)?;
            println!(
                "{} now has role {} in {workspace}",
                shown_email(&email),
                shown_role(&role)
            );
        }
        UsersCommand::List {
            workspace,
            acting,
            json,
        } => {
            let members = p.list_users(&acting.principal()?, &workspace)?;
            if json {
                return print_json(&members);
            }
            for m in members {
                let bg = if m.break_glass { " break-glass" } else { "" };
                println!("{:<32} {:<14} {}{bg}", m.email, m.role, m.source);
            }
        }
    }
    Ok(())
}

pub fn roles(db: &Path, cmd: RolesCommand) -> anyhow::Result<()> {
    let p = platform(db)?;
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

pub fn groups(db: &Path, cmd: GroupsCommand) -> anyhow::Result<()> {
    let p = platform(db)?;
    match cmd {
        GroupsCommand::Create {
            name,
            kind,
            description,
            claim_value,
            workspace,
            acting,
        } => {
            let kind = GroupKind::parse(&kind)?;
            p.create_group(
                &acting.required()?,
                &workspace,
                &name,
                &description,
                kind,
                claim_value.as_deref(),
            )?;
            println!("created {} group {name} in {workspace}", kind.as_str());
        }
        GroupsCommand::Add {
            group,
            email,
            workspace,
            acting,
        } => {
            p.add_group_member(&acting.required()?, &workspace, &group, &email)?;
            println!("{} is in group {group}", shown_email(&email));
        }
        GroupsCommand::Remove {
            group,
            email,
            workspace,
            acting,
        } => {
            p.remove_group_member(&acting.required()?, &workspace, &group, &email)?;
            println!("{} is not in group {group}", shown_email(&email));
        }
        GroupsCommand::Delete {
            group,
            workspace,
            acting,
        } => {
            p.delete_group(&acting.required()?, &workspace, &group)?;
            println!("deleted group {group}");
        }
        GroupsCommand::List {
            workspace,
            acting,
            json,
        } => {
            let groups = p.list_groups(&acting.principal()?, &workspace)?;
            if json {
                return print_json(&groups);
            }
            for g in groups {
                println!("{} ({}): {}", g.name, g.kind.as_str(), g.members.join(", "));
            }
        }
    }
    Ok(())
}
