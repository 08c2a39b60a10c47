//! `flowhost groups`: static and dynamic groups (Owner-only, audited; SPEC GR).

use clap::Subcommand;
use flowhost::admin::groups::GroupKind;

use super::acting::{platform, print_json};
use super::args::{InWorkspace, Output};
use super::database::Database;
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
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Add a member to a static group.
    Add {
        group: String,
        email: String,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Remove a member from a static group.
    Remove {
        group: String,
        email: String,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Delete a group.
    Delete {
        group: String,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// List groups and members (needs user.read).
    List {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Database, cmd: GroupsCommand) -> anyhow::Result<()> {
    let platform = platform(db)?;
    let p = platform.admin();
    match cmd {
        GroupsCommand::Create {
            name,
            kind,
            description,
            claim_value,
            at: InWorkspace { workspace, acting },
        } => {
            let kind = GroupKind::parse(&kind).map_err(flowhost::Error::from)?;
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
            at: InWorkspace { workspace, acting },
        } => {
            p.add_group_member(&acting.required()?, &workspace, &group, &email)?;
            println!("{} is in group {group}", shown_email(&email));
        }
        GroupsCommand::Remove {
            group,
            email,
            at: InWorkspace { workspace, acting },
        } => {
            p.remove_group_member(&acting.required()?, &workspace, &group, &email)?;
            println!("{} is not in group {group}", shown_email(&email));
        }
        GroupsCommand::Delete {
            group,
            at: InWorkspace { workspace, acting },
        } => {
            p.delete_group(&acting.required()?, &workspace, &group)?;
            println!("deleted group {group}");
        }
        GroupsCommand::List {
            output: Output { json },
            at: InWorkspace { workspace, acting },
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
