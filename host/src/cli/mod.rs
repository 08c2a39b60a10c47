//! Argument parsing and dispatch.

// The print macros of every command module: they write through `output` so that a closed
// pipe ends the process quietly instead of panicking (issue 14 item 8). Defined before the
// modules below so that they shadow the std macros there.
macro_rules! println {
    () => { $crate::cli::output::write($crate::cli::output::Stream::Out, format_args!(""), true) };
    ($($arg:tt)*) => { $crate::cli::output::write($crate::cli::output::Stream::Out, format_args!($($arg)*), true) };
}
#[allow(unused_macros)] // No command prints without a newline yet; one that does gets this.
macro_rules! print {
    ($($arg:tt)*) => { $crate::cli::output::write($crate::cli::output::Stream::Out, format_args!($($arg)*), false) };
}
macro_rules! eprintln {
    () => { $crate::cli::output::write($crate::cli::output::Stream::Err, format_args!(""), true) };
    ($($arg:tt)*) => { $crate::cli::output::write($crate::cli::output::Stream::Err, format_args!($($arg)*), true) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::cli::output::write($crate::cli::output::Stream::Err, format_args!($($arg)*), false) };
}

mod output;

mod access;
mod acting;
mod cases;
mod input;
mod interact;
mod keys;
mod run;
mod serve;
mod share;
mod sso;
mod step;
mod step_project;
mod tenant;
mod test;
mod triggers;
mod users;
mod workflows;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Flowhost: run security-automation workflows locally, with sandboxed WebAssembly steps.
#[derive(Parser)]
#[command(name = "flowhost", version, about)]
struct Cli {
    /// The database file (created with its schema on first use).
    #[arg(long, global = true, default_value = flowhost::store::DEFAULT_DB_PATH)]
    db: PathBuf,
    /// Print error details.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with custom steps (WebAssembly components).
    #[command(subcommand)]
    Step(step::StepCommand),
    /// The case steps: create, create from JSON, query, get, and restrictions.
    #[command(subcommand)]
    Cases(cases::CasesCommand),
    /// Run a workflow now, as --as EMAIL (needs playbook.execute), with a live trace.
    Run(run::RunArgs),
    /// List, show and resume runs.
    #[command(subcommand)]
    Runs(run::RunsCommand),
    /// The long-running host: resume interrupted runs, start triggered runs, wake due waits
    /// and time out interactions, several runs at once, until stopped.
    Serve {
        #[arg(long = "steps", value_name = "DIR")]
        steps: Vec<PathBuf>,
        /// How often to look for new events, in milliseconds.
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
        /// Resume and dispatch what is pending, wait for those runs, then exit.
        #[arg(long)]
        once: bool,
        /// How many runs may be in flight at once (default: the number of CPUs).
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Publish workflows and read their revisions.
    #[command(subcommand)]
    Workflows(workflows::WorkflowsCommand),
    /// Triggers: start the runs that pending events trigger.
    #[command(subcommand)]
    Triggers(TriggersCommand),
    /// Validate workflow definitions; every error names its JSON path and line:column.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directories holding step components named `step:<name>`.
        #[arg(long = "steps", value_name = "DIR")]
        steps: Vec<PathBuf>,
    },
    /// Apply or export a tenant file (organization, workspaces, users, roles, groups, SSO).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Ask the access engine.
    #[command(subcommand)]
    Access(AccessCommand),
    /// Invite, delete and re-role users.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Custom roles.
    #[command(subcommand)]
    Roles(users::RolesCommand),
    /// Static and dynamic groups.
    #[command(subcommand)]
    Groups(users::GroupsCommand),
    /// SSO claim mapping, enforcement and logins.
    #[command(subcommand)]
    Sso(sso::SsoCommand),
    /// API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Interactions: list, show and answer them; start Interaction Flows (SPEC IX).
    #[command(subcommand)]
    Interact(interact::InteractCommand),
    /// Share workflows and Interaction Flows to other workspaces (SPEC SH).
    #[command(subcommand)]
    Share(share::ShareCommand),
    /// Run sample workflows against their expectation files (`*.test.json`).
    Test(test::TestArgs),
    /// Read the audit log (needs audit.read).
    Audit {
        #[arg(long)]
        workspace: String,
        /// Only entries newer than this, e.g. 1h or 7d.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        acting: acting::Acting,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TriggersCommand {
    /// Run every published workflow that pending events of a workspace trigger (until none
    /// are pending); needs playbook.execute there.
    Dispatch {
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: acting::Acting,
        #[arg(long = "steps", value_name = "DIR")]
        steps: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The events of a workspace waiting for dispatch, or with --quarantined those set aside
    /// (their rows do not read) and why; needs playbook.execute there.
    List {
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        acting: acting::Acting,
        #[arg(long)]
        quarantined: bool,
        #[arg(long)]
        json: bool,
    },
    /// Put a quarantined event back in line for dispatch (once its row is mended); needs
    /// playbook.execute there.
    Release {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        event: i64,
        #[command(flatten)]
        acting: acting::Acting,
    },
}

#[derive(Subcommand)]
enum AccessCommand {
    /// May this principal use this scope here? Exits 1 when denied.
    Check(access::CheckArgs),
}

/// An error already reported to the user in full; only the exit status is left to set.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);

/// Runs the CLI and maps the outcome to an exit status: 0 on success, 1 on failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    acting::set_database(&cli.db);
    let result = match cli.command {
        Command::Step(cmd) => step::run(&cli.db, cmd),
        Command::Tenant(cmd) => tenant::run(&cli.db, cmd),
        Command::Cases(cmd) => cases::run(&cli.db, cmd),
        Command::Validate { files, steps } => workflows::validate(&files, &steps),
        Command::Run(args) => run::run(&cli.db, args),
        Command::Workflows(cmd) => workflows::run(&cli.db, cmd),
        Command::Serve {
            steps,
            poll_ms,
            once,
            concurrency,
        } => serve::serve(
            &cli.db,
            serve::ServeOptions {
                steps,
                poll: std::time::Duration::from_millis(poll_ms),
                once,
                concurrency: concurrency.unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
                }),
            },
        ),
        Command::Triggers(TriggersCommand::Dispatch {
            workspace,
            acting,
            steps,
            json,
        }) => run::dispatch(&cli.db, steps, &workspace, &acting, json),
        Command::Triggers(TriggersCommand::List {
            workspace,
            acting,
            quarantined,
            json,
        }) => triggers::list(&cli.db, &workspace, &acting, quarantined, json),
        Command::Triggers(TriggersCommand::Release {
            workspace,
            event,
            acting,
        }) => triggers::release(&cli.db, &workspace, event, &acting),
        Command::Runs(cmd) => run::runs(&cli.db, cmd),
        Command::Access(AccessCommand::Check(args)) => access::check(&cli.db, args),
        Command::Users(cmd) => users::users(&cli.db, cmd),
        Command::Roles(cmd) => users::roles(&cli.db, cmd),
        Command::Groups(cmd) => users::groups(&cli.db, cmd),
        Command::Sso(cmd) => sso::run(&cli.db, cmd),
        Command::Keys(cmd) => keys::keys(&cli.db, cmd),
        Command::Interact(cmd) => interact::run(&cli.db, cmd),
        Command::Test(args) => test::run(&cli.db, args),
        Command::Share(cmd) => share::run(&cli.db, cmd),
        Command::Audit {
            workspace,
            since,
            acting,
            json,
        } => keys::audit(&cli.db, &workspace, since.as_deref(), &acting, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<Reported>().is_some() => ExitCode::FAILURE,
        Err(e) => {
            let message = if cli.verbose {
                format!("{e:?}")
            } else {
                format!("{e:#}")
            };
            // Errors quote input; a huge one is shortened, never echoed whole (issue 13 item 8).
            let message = flowhost::text::clip_words(&message).into_owned();
            eprintln!("error: {}", name_the_database(message, &cli.db));
            ExitCode::FAILURE
        }
    }
}

/// SQLite's errors about the file itself ("attempt to write a readonly database") do not say
/// which file; the user must learn it (issue 14 item 10).
fn name_the_database(message: String, db: &std::path::Path) -> String {
    const ABOUT_THE_FILE: [&str; 6] = [
        "readonly database",
        "unable to open database file",
        "disk I/O error",
        "file is not a database",
        "database disk image is malformed",
        "database or disk is full",
    ];
    let shown = db.display().to_string();
    if ABOUT_THE_FILE.iter().any(|m| message.contains(m)) && !message.contains(&shown) {
        format!("{message} (database file {shown})")
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::name_the_database;
    use std::path::Path;

    /// Issue 14 item 10: "attempt to write a readonly database" did not say which file.
    #[test]
    fn errors_about_the_database_file_name_it() {
        let db = Path::new("/srv/flowhost/prod.db");
        let named = name_the_database("attempt to write a readonly database".into(), db);
        assert_eq!(
            named,
            "attempt to write a readonly database (database file /srv/flowhost/prod.db)"
        );
        let already = "database /srv/flowhost/prod.db: unable to open database file";
        assert_eq!(name_the_database(already.into(), db), already);
        let other = "denied: missing scope case.write";
        assert_eq!(name_the_database(other.into(), db), other);
    }
}
