//! `flowhost sso`: claim-mapping rules, SSO-only enforcement, logins.

use std::path::Path;

use clap::Subcommand;
use flowhost::admin::sso::ClaimRule;

use super::acting::{platform, print_json};
use super::args::{InWorkspace, Output};
use super::input::json_arg;

#[derive(Subcommand)]
pub enum SsoCommand {
    /// Claim-mapping rules (ordered; the first match wins).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Log in through an IdP with the given claims (applies claim mapping and group sync).
    Login {
        #[arg(long)]
        idp: String,
        /// The claims: JSON object or @FILE; must include `email`.
        #[arg(long)]
        claims: String,
        #[command(flatten)]
        output: Output,
    },
    /// Enforce (on) or lift (off) SSO-only sign-in.
    Enforce {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        #[command(flatten)]
        at: InWorkspace,
    },
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Add a rule (at --rank, default last).
    Add {
        #[arg(long)]
        claim: String,
        #[arg(long)]
        value: String,
        /// A role of the workspace, or `external` for external SSO identities.
        #[arg(long)]
        role: String,
        #[arg(long)]
        rank: Option<u32>,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Move the rule at rank FROM to rank TO.
    Move {
        from: u32,
        to: u32,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Delete the rule at RANK.
    Delete {
        rank: u32,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// List rules in rank order.
    List {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
}

pub fn run(db: &Path, cmd: SsoCommand) -> anyhow::Result<()> {
    let platform = platform(db)?;
    let p = platform.admin();
    match cmd {
        SsoCommand::Rules(RulesCommand::Add {
            claim,
            value,
            role,
            rank,
            at: InWorkspace { workspace, acting },
        }) => {
            let rule = ClaimRule {
                rank: 0,
                claim,
                value,
                role,
            };
            let at = p.add_claim_rule(&acting.required()?, &workspace, rule, rank)?;
            println!("added rule at rank {at}");
        }
        SsoCommand::Rules(RulesCommand::Move {
            from,
            to,
            at: InWorkspace { workspace, acting },
        }) => {
            p.move_claim_rule(&acting.required()?, &workspace, from, to)?;
            println!("moved rule {from} to rank {to}");
        }
        SsoCommand::Rules(RulesCommand::Delete {
            rank,
            at: InWorkspace { workspace, acting },
        }) => {
            p.delete_claim_rule(&acting.required()?, &workspace, rank)?;
            println!("deleted rule {rank}");
        }
        SsoCommand::Rules(RulesCommand::List {
            output: Output { json },
            at: InWorkspace { workspace, acting },
        }) => {
            let rules = p.list_claim_rules(&acting.principal()?, &workspace)?;
            if json {
                return print_json(&rules);
            }
            for r in rules {
                println!("{:>3}. {} = {} → {}", r.rank, r.claim, r.value, r.role);
            }
        }
        SsoCommand::Login {
            idp,
            claims,
            output: Output { json },
        } => {
            let claims = json_arg("claims", &claims)?;
            let results = p.sso_login(&idp, &claims)?;
            if json {
                return print_json(&results);
            }
            for r in results {
                let role = r.role.map(|r| format!(" as {r}")).unwrap_or_default();
                let rule = r.rule.map(|n| format!(" (rule {n})")).unwrap_or_default();
                println!("{}: {}{role}{rule}", r.workspace, r.outcome);
                for c in r.changes {
                    println!("  {c}");
                }
            }
        }
        SsoCommand::Enforce {
            state,
            at: InWorkspace { workspace, acting },
        } => {
            p.set_sso_only(&acting.required()?, &workspace, state == "on")?;
            println!("SSO-only sign-in {state} for {workspace}");
        }
    }
    Ok(())
}
