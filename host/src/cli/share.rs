//! `flowhost share`: share workflows and Interaction Flows to other workspaces (SPEC SH).

use clap::Subcommand;
use flowhost::Error;
use flowhost::public_id::{IdKind, PublicId};
use flowhost::share::ShareKind;

use super::acting::{Acting, platform, print_json};
use super::args::{InWorkspace, Output};
use super::database::Database;

#[derive(Subcommand)]
pub enum ShareCommand {
    /// Share a published workflow (needs resource.share in --from).
    Workflow(ShareArgs),
    /// Share a published Interaction Flow (a workflow with interactions).
    Flow(ShareArgs),
    /// Accept a pending share (an Owner of the destination).
    Accept {
        /// The share's id (`S-…`).
        id: String,
        /// Accept only this revision, the one looked at (`share list`): one published since
        /// is refused rather than accepted unseen.
        #[arg(long)]
        revision: Option<i64>,
        #[command(flatten)]
        acting: Acting,
    },
    /// Shares into and out of a workspace.
    List {
        #[command(flatten)]
        at: InWorkspace,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(clap::Args)]
pub struct ShareArgs {
    name: String,
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
    #[command(flatten)]
    acting: Acting,
    #[command(flatten)]
    output: Output,
}

pub fn run(db: &Database, cmd: ShareCommand) -> anyhow::Result<()> {
    let (kind, args) = match cmd {
        ShareCommand::Workflow(args) => (ShareKind::Workflow, args),
        ShareCommand::Flow(args) => (ShareKind::Flow, args),
        ShareCommand::Accept {
            id,
            revision,
            acting,
        } => {
            let id = PublicId::parse(IdKind::Share, &id).map_err(Error::from)?;
            let actor = acting.required()?;
            let platform = platform(db)?;
            let share = match revision {
                Some(revision) => platform.shares().accept_at(&actor, &id, revision)?,
                None => platform.shares().accept(&actor, &id)?,
            };
            println!(
                "share {id} accepted: `{}` from {} is usable in {} at revision {}",
                share.name,
                share.source,
                share.destination,
                share.revision.map_or("?".into(), |r| r.to_string())
            );
            return Ok(());
        }
        ShareCommand::List {
            output: Output { json },
            at: InWorkspace { workspace, acting },
        } => {
            let shares = platform(db)?
                .shares()
                .list(&acting.required()?, &workspace)?;
            if json {
                return print_json(&shares);
            }
            for s in shares {
                // The revision the destination runs, and a newer one waiting to be accepted
                // (SPEC SH-3).
                let revision = match (s.revision, s.latest) {
                    (Some(r), Some(l)) if l > r => {
                        format!("revision {r} (revision {l} waits to be accepted)")
                    }
                    (Some(r), _) => format!("revision {r}"),
                    (None, _) if s.status == "accepted" => "no revision: accept it again".into(),
                    (None, Some(l)) => format!("offers revision {l}"),
                    (None, None) => String::new(),
                };
                println!(
                    "{:>4}  {:<8} {:<28} {} → {}  {}  {revision}",
                    s.id, s.kind, s.name, s.source, s.destination, s.status
                );
            }
            return Ok(());
        }
    };
    let shared = platform(db)?.shares().share(
        &args.acting.required()?,
        kind,
        &args.name,
        &args.from,
        &args.to,
    )?;
    for w in &shared.warnings {
        eprintln!("warning: {w}");
    }
    if args.output.json {
        return print_json(&shared);
    }
    let s = &shared.share;
    match s.status.as_str() {
        "accepted" => println!(
            "share {}: `{}` from {} is usable in {}",
            s.id, s.name, s.source, s.destination
        ),
        _ => println!(
            "share {}: `{}` from {} awaits acceptance by an Owner of {} (flowhost share accept {})",
            s.id, s.name, s.source, s.destination, s.id
        ),
    }
    Ok(())
}
