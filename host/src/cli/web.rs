//! `flowhost web link`: a one-time sign-in link for a local account, printed for an Owner to
//! hand over (SPEC SV-1). The link's secret is shown once; only its hash is stored.

use clap::Subcommand;

use super::acting::{Acting, platform};
use super::database::Database;

#[derive(Subcommand)]
pub enum WebCommand {
    /// Print a sign-in link for a member (valid 15 minutes, works once; needs user.write).
    Link {
        #[arg(long)]
        workspace: String,
        /// The member who signs in with it.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        acting: Acting,
        /// Where `serve --http` is reached, as the person's browser sees it.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
}

pub fn run(db: &Database, cmd: WebCommand) -> anyhow::Result<()> {
    match cmd {
        WebCommand::Link {
            workspace,
            user,
            acting,
            base_url,
        } => {
            let link =
                platform(db)?
                    .signins()
                    .issue_link(&acting.required()?, &workspace, &user)?;
            println!("{}/signin/{}", base_url.trim_end_matches('/'), link.token);
            eprintln!(
                "valid until {}, once",
                flowhost::clock::rfc3339(link.expires_at)
            );
            Ok(())
        }
    }
}
