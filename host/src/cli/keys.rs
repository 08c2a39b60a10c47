//! `flowhost keys`: API keys (SPEC RB-4).

use clap::Subcommand;
use flowhost::admin::keys::NewKey;
use flowhost::clock;

use super::acting::{platform, print_json};
use super::args::{InWorkspace, Output};
use super::database::Database;
use super::output::one_line;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key; the token is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// A service key with this role (Owner only); without it, a personal key.
        #[arg(long)]
        service_role: Option<String>,
        /// Lifetime such as 30d or 12h.
        #[arg(long)]
        expires_in: Option<String>,
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
    /// Revoke a key.
    Revoke {
        id: String,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Database, cmd: KeysCommand) -> anyhow::Result<()> {
    let platform = platform(db)?;
    let p = platform.admin();
    match cmd {
        KeysCommand::Create {
            name,
            service_role,
            expires_in,

            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => {
            let expires = expires_in
                .as_deref()
                .map(clock::parse_duration_secs)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let kind = match &service_role {
                Some(role) => NewKey::Service { role },
                None => NewKey::Personal,
            };
            let key = p.create_key(&acting.required()?, &workspace, &name, kind, expires)?;
            if json {
                return print_json(&key);
            }
            println!(
                "key {} created; its token (shown once):\n{}",
                key.id, key.token
            );
        }
        KeysCommand::Revoke {
            id,
            at: InWorkspace { workspace, acting },
        } => {
            p.revoke_key(&acting.required()?, &workspace, &id)?;
            println!("revoked key {id}");
        }
        KeysCommand::List {
            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => {
            let keys = p.list_keys(&acting.principal()?, &workspace)?;
            if json {
                return print_json(&keys);
            }
            for k in keys {
                let who = k
                    .owner
                    .or(k.role.map(|r| format!("role {r}")))
                    .unwrap_or_default();
                let state = if k.revoked {
                    "revoked".into()
                } else {
                    k.expires_at
                        .map(|t| format!("expires {t}"))
                        .unwrap_or_default()
                };
                println!(
                    "{:<18} {:<9} {:<20} {:<28} {state}",
                    k.id,
                    k.kind,
                    one_line(&k.name),
                    who
                );
            }
        }
    }
    Ok(())
}
