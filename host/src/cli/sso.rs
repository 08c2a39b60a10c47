//! `flowhost sso`: claim-mapping rules, SSO-only enforcement, logins.

use std::path::PathBuf;

use anyhow::Context as _;

use clap::Subcommand;
use flowhost::admin::oidc::NewOidc;
use flowhost::admin::sso::ClaimRule;

use super::acting::{platform, print_json};
use super::args::{InWorkspace, Output};
use super::database::Database;
use super::input::json_arg;
use super::output::one_line;

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
    /// OIDC client settings of a trusted IdP: how the web pages sign people in through it.
    #[command(subcommand)]
    Oidc(OidcCommand),
    /// Enforce (on) or lift (off) SSO-only sign-in.
    Enforce {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        #[command(flatten)]
        at: InWorkspace,
    },
}

#[derive(Subcommand)]
pub enum OidcCommand {
    /// Set (or replace) the OIDC settings of IdP --idp, one the workspace trusts.
    Set {
        #[arg(long)]
        idp: String,
        /// The issuer URL (https://; plain http:// only to 127.0.0.1 or localhost).
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        /// A file holding the client secret (never given on the command line).
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "client_secret_env"
        )]
        client_secret_file: Option<PathBuf>,
        /// An environment variable holding the client secret.
        #[arg(long, value_name = "VAR", conflicts_with = "client_secret_file")]
        client_secret_env: Option<String>,
        /// Space-separated scopes (default "openid email profile"; `openid` is always asked).
        #[arg(long)]
        scopes: Option<String>,
        /// The ID token claim holding the person's groups (default `groups`).
        #[arg(long)]
        groups_claim: Option<String>,
        #[command(flatten)]
        at: InWorkspace,
    },
    /// Show the OIDC settings of the workspace's IdPs (never the secret).
    Show {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
    /// Remove the OIDC settings of IdP --idp.
    Remove {
        #[arg(long)]
        idp: String,
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

pub fn run(db: &Database, cmd: SsoCommand) -> anyhow::Result<()> {
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
                // Claim values are the IdP's words, one line each (hostile-input review).
                println!(
                    "{:>3}. {} = {} → {}",
                    r.rank,
                    one_line(&r.claim),
                    one_line(&r.value),
                    one_line(&r.role)
                );
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
        SsoCommand::Oidc(OidcCommand::Set {
            idp,
            issuer,
            client_id,
            client_secret_file,
            client_secret_env,
            scopes,
            groups_claim,
            at: InWorkspace { workspace, acting },
        }) => {
            let client_secret = match (client_secret_file, client_secret_env) {
                (Some(file), _) => super::input::read_bounded(
                    &file,
                    super::input::MAX_SECRET_BYTES,
                    "client secret",
                )?,
                (None, Some(var)) => std::env::var(&var).with_context(|| {
                    format!("the client secret variable `{var}` is not set (or not UTF-8)")
                })?,
                (None, None) => anyhow::bail!("give --client-secret-file or --client-secret-env"),
            };
            let new = NewOidc {
                idp: idp.clone(),
                issuer,
                client_id,
                client_secret,
                scopes,
                groups_claim,
            };
            p.set_oidc(&acting.required()?, &workspace, new)?;
            println!("OIDC settings of IdP `{}` set for {workspace}", idp.trim());
        }
        SsoCommand::Oidc(OidcCommand::Show {
            output: Output { json },
            at: InWorkspace { workspace, acting },
        }) => {
            let all = p.oidc_settings(&acting.principal()?, &workspace)?;
            if json {
                return print_json(&all);
            }
            if all.is_empty() {
                println!("no IdP of {workspace} has OIDC settings");
            }
            for s in all {
                println!(
                    "{}: issuer {} · client id {} · scopes \"{}\" · groups claim `{}`",
                    s.idp, s.issuer, s.client_id, s.scopes, s.groups_claim
                );
            }
        }
        SsoCommand::Oidc(OidcCommand::Remove {
            idp,
            at: InWorkspace { workspace, acting },
        }) => {
            p.remove_oidc(&acting.required()?, &workspace, &idp)?;
            println!(
                "OIDC settings of IdP `{}` removed from {workspace}",
                idp.trim()
            );
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
