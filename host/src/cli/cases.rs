//! `flowhost cases`: the five case steps from the command line, through the same service as
//! WASM steps and built-in workflow steps.

use clap::Subcommand;
use flowhost::principal::Caller;
use flowhost::services::CaseApi;
use flowhost::services::cases::{
    AccessMode, CaseFilter, CaseQuery, CaseRecord, CaseSort, NewCase, RestrictionUpdate, Severity,
};

use super::acting::{platform, print_json};
use super::args::{InWorkspace, Output, StartKeyArg};
use super::database::Database;
use super::input::json_arg;
use super::output::one_line;

#[derive(clap::Args)]
pub struct Where {
    #[command(flatten)]
    at: InWorkspace,
    #[command(flatten)]
    output: Output,
}

#[derive(Subcommand)]
pub enum CasesCommand {
    /// Create a case.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, value_parser = parse_severity)]
        severity: Severity,
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long, value_delimiter = ',')]
        reviewers: Vec<String>,
        #[arg(long, value_parser = parse_mode)]
        access_mode: Option<AccessMode>,
        #[arg(long, value_delimiter = ',')]
        collaborators: Vec<String>,
        #[command(flatten)]
        at: Where,
        #[command(flatten)]
        start_key: StartKeyArg,
    },
    /// Create a case from a JSON object (inline or @FILE).
    CreateFromJson {
        case: String,
        #[command(flatten)]
        at: Where,
        #[command(flatten)]
        start_key: StartKeyArg,
    },
    /// Query visible cases.
    Query {
        #[arg(long, value_parser = parse_mode)]
        access_mode: Option<AccessMode>,
        #[arg(long)]
        state: Option<String>,
        #[arg(long, value_parser = parse_severity)]
        severity: Option<Severity>,
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        text: Option<String>,
        #[arg(long, default_value = "created-desc", value_parser = parse_sort)]
        sort: CaseSort,
        #[arg(long, default_value_t = 50)]
        page_size: u32,
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        at: Where,
    },
    /// Show one case.
    Get {
        id: String,
        #[command(flatten)]
        at: Where,
    },
    /// Show a case's access mode and collaborators.
    GetRestrictions {
        id: String,
        #[command(flatten)]
        at: Where,
    },
    /// Change a case's access mode and/or collaborators.
    UpdateRestrictions {
        id: String,
        #[arg(long, value_parser = parse_mode)]
        access_mode: Option<AccessMode>,
        /// Replace the collaborator list (comma-separated; empty string clears it).
        #[arg(long)]
        set_collaborators: Option<String>,
        #[arg(long, value_delimiter = ',')]
        add: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        remove: Vec<String>,
        // Sent again with its key, the update changes nothing again (a retried delta would
        // re-add a collaborator removed since: round 22 authority review, as the API's).
        #[command(flatten)]
        start_key: StartKeyArg,
        #[command(flatten)]
        at: Where,
    },
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| "one of low, medium, high, critical".to_owned())
}

fn parse_mode(s: &str) -> Result<AccessMode, String> {
    serde_json::from_value(serde_json::Value::String(s.replace('-', "_")))
        .map_err(|_| "full-access or restricted".to_owned())
}

fn parse_sort(s: &str) -> Result<CaseSort, String> {
    serde_json::from_value(serde_json::Value::String(s.replace('-', "_")))
        .map_err(|_| "created-desc, created-asc, updated-desc or severity-desc".to_owned())
}

fn caller(at: &Where) -> anyhow::Result<Caller> {
    Ok(Caller {
        workspace: at.at.workspace.clone(),
        principal: at.at.acting.principal()?,
        cause: None,
        step: None,
    })
}

fn show(case: &CaseRecord) {
    let mode = mode_text(case.access_mode);
    println!(
        "{:<8} {:<8} {:<10} {:<11} {}{}",
        case.id,
        format!("{:?}", case.severity).to_lowercase(),
        one_line(&case.state),
        mode,
        one_line(&case.title),
        case.assignee
            .as_ref()
            .map(|a| format!(" (assignee {a})"))
            .unwrap_or_default()
    );
}

pub fn run(db: &Database, cmd: CasesCommand) -> anyhow::Result<()> {
    let p = platform(db)?;
    match cmd {
        CasesCommand::Create {
            title,
            description,
            severity,
            assignee,
            reviewers,
            access_mode,
            collaborators,
            at,
            start_key: StartKeyArg {
                idempotency_key: key,
            },
        } => {
            let input = NewCase {
                title,
                description,
                severity,
                state: None,
                assignee,
                reviewers,
                access_mode,
                collaborators,
                fields: None,
            };
            let case = p.create_case_requested(&caller(&at)?, input, key.as_deref())?;
            if at.output.json {
                print_json(&case)
            } else {
                show(&case);
                Ok(())
            }
        }
        CasesCommand::CreateFromJson {
            case,
            at,
            start_key: StartKeyArg {
                idempotency_key: key,
            },
        } => {
            let json = json_arg("case", &case)?;
            let case = match key {
                Some(key) => p.create_case_requested(
                    &caller(&at)?,
                    flowhost::services::cases::parse_case_json(&json.to_string())?,
                    Some(&key),
                )?,
                None => p.create_case_from_json(&caller(&at)?, &json.to_string())?,
            };
            if at.output.json {
                print_json(&case)
            } else {
                show(&case);
                Ok(())
            }
        }
        CasesCommand::Query {
            access_mode,
            state,
            severity,
            assignee,
            text,
            sort,
            page_size,
            cursor,
            at,
        } => {
            let query = CaseQuery {
                filter: CaseFilter {
                    access_mode,
                    state,
                    severity,
                    assignee,
                    text,
                },
                sort,
                page_size,
                cursor,
            };
            let page = p.query_cases(&caller(&at)?, query)?;
            if at.output.json {
                return print_json(&page);
            }
            page.cases.iter().for_each(show);
            if let Some(next) = page.next_cursor {
                println!("next page: --cursor {next}");
            }
            Ok(())
        }
        CasesCommand::Get { id, at } => {
            let case = p.get_case(&caller(&at)?, &id)?;
            if at.output.json {
                print_json(&case)
            } else {
                show(&case);
                Ok(())
            }
        }
        CasesCommand::GetRestrictions { id, at } => {
            let r = p.get_case_restrictions(&caller(&at)?, &id)?;
            if at.output.json {
                return print_json(&r);
            }
            println!(
                "{}: {}",
                mode_text(r.access_mode),
                r.collaborators.join(", ")
            );
            Ok(())
        }
        CasesCommand::UpdateRestrictions {
            id,
            access_mode,
            set_collaborators,
            add,
            remove,
            at,
            start_key: StartKeyArg {
                idempotency_key: key,
            },
        } => {
            let set = set_collaborators.map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect()
            });
            let update = RestrictionUpdate {
                access_mode,
                set_collaborators: set,
                add_collaborators: add,
                remove_collaborators: remove,
            };
            let r =
                p.update_case_restrictions_requested(&caller(&at)?, &id, update, key.as_deref())?;
            if at.output.json {
                return print_json(&r);
            }
            println!(
                "{}: {}",
                mode_text(r.access_mode),
                r.collaborators.join(", ")
            );
            Ok(())
        }
    }
}

fn mode_text(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::FullAccess => "full-access",
        AccessMode::Restricted => "restricted",
    }
}
