//! `flowhost workflows publish|list|history`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use flowhost::definition::model::TriggerKind;
use flowhost::workflow::webhooks::Webhook;
use flowhost::workflow::{self, Resolver, Workflow};

use super::acting::{Acting, platform, print_json};
use super::args::{InWorkspace, Output, StepDirs};
use super::database::Database;
use super::error::{CliError, Reported};
use super::output::one_line;

#[derive(Subcommand)]
pub enum WorkflowsCommand {
    /// Publish a definition as a new revision (needs playbook.publish); only published
    /// revisions answer triggers.
    Publish {
        file: PathBuf,
        #[command(flatten)]
        acting: Acting,
        #[command(flatten)]
        steps: StepDirs,
    },
    /// The latest revision of each published workflow (needs playbook.list).
    List {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
    /// The URL of a workflow with a webhook trigger; with --rotate, a new signing secret
    /// (shown once; the old one stops working). Needs playbook.publish.
    Webhook {
        name: String,
        #[arg(long)]
        workspace: String,
        /// Replace the signing secret.
        #[arg(long)]
        rotate: bool,
        #[command(flatten)]
        acting: Acting,
        #[command(flatten)]
        output: Output,
    },
    /// Every revision of a workflow (needs playbook.get).
    History {
        name: String,
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
}

/// Reads and validates one definition, printing located errors.
pub(super) fn load(file: &Path, steps: &[PathBuf]) -> anyhow::Result<(Workflow, String, String)> {
    let origin = file.display().to_string();
    let text = super::input::read_bounded(file, super::input::MAX_DOCUMENT_BYTES, "")?;
    match workflow::parse(&origin, &text, &Resolver::for_file(file, steps.to_vec())) {
        Ok(w) => Ok((w, text, origin)),
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            Err(Reported(CliError::Invalid(format!(
                "{} error(s) in {origin}",
                errors.len()
            )))
            .into())
        }
    }
}

pub fn run(db: &Database, cmd: WorkflowsCommand) -> anyhow::Result<()> {
    let platform = platform(db)?;
    let p = platform.workflows();
    match cmd {
        WorkflowsCommand::Publish {
            file,
            acting,
            steps: StepDirs { dirs: steps },
        } => {
            let (w, text, origin) = load(&file, &steps)?;
            // Components are pinned by content; nested workflows are read by path, so publish
            // with an absolute source.
            let source = std::fs::canonicalize(&file).map_or(origin, |p| p.display().to_string());
            let resolver = Resolver::for_file(Path::new(&source), steps.clone());
            let actor = acting.required()?;
            let revision = p.publish(&actor, &w, &text, &source, &resolver)?;
            println!(
                "published {} revision {revision} in {}",
                w.name, w.workspace
            );
            // Published: its webhook failing now (another revision landing first, a busy
            // database) is said, not made the command's failure, which a retry would answer
            // by publishing again (round 25 doors review).
            if w.trigger.on == TriggerKind::Webhook {
                match p.webhook(&actor, &w.workspace, &w.name, false) {
                    Ok(hook) => print_webhook(&hook),
                    Err(e) => eprintln!(
                        "revision {revision} is published; its webhook could not be answered: \
                         {e} (`flowhost workflows webhook {} --workspace {}` asks again)",
                        w.name, w.workspace
                    ),
                }
            }
        }
        WorkflowsCommand::Webhook {
            name,
            workspace,
            rotate,
            acting,
            output: Output { json },
        } => {
            let hook = p.webhook(&acting.required()?, &workspace, &name, rotate)?;
            if json {
                return print_json(&hook);
            }
            print_webhook(&hook);
        }
        WorkflowsCommand::List {
            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => {
            let list = p.list(&acting.principal()?, &workspace)?;
            if json {
                return print_json(&list);
            }
            for r in list {
                println!(
                    "{:<32} r{:<4} {} by {}",
                    one_line(&r.name),
                    r.revision,
                    r.published_at,
                    r.published_by
                );
            }
        }
        WorkflowsCommand::History {
            name,

            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => {
            let list = p.history(&acting.principal()?, &workspace, &name)?;
            if json {
                return print_json(&list);
            }
            for r in list {
                println!(
                    "r{:<4} {} by {}",
                    r.revision, r.published_at, r.published_by
                );
            }
        }
    }
    Ok(())
}

/// The webhook's URL path, and its secret when it was just created or rotated.
fn print_webhook(hook: &Webhook) {
    println!(
        "webhook: POST {} (on the server of `flowhost serve --http`)",
        hook.path()
    );
    if let Some(secret) = &hook.secret {
        println!(
            "signing secret (shown once; `flowhost workflows webhook {} --workspace {} --rotate` replaces it): {secret}",
            hook.workflow, hook.workspace
        );
    }
}
