//! `flowhost groups`: static and dynamic groups (Owner-only, audited; SPEC GR).

use std::path::Path;

use clap::Subcommand;
use flowhost::admin::groups::GroupKind;

use super::acting::{Acting, platform, print_json};
use super::args::Output;
use super::input::shown_email;

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
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Path, cmd: GroupsCommand) -> anyhow::Result<()> {
    let platform = platform(db)?;
    let p = platform.admin();
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
            output: Output { json },
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
