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
#[allow(unused_macros)] // Kept beside the others: a print to stderr must not bypass `output`.
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::cli::output::write($crate::cli::output::Stream::Err, format_args!($($arg)*), false) };
}

mod error;
mod output;

// One module per top-level command (issue 15 deliverable 6), and what they share.
mod access;
mod acting;
mod args;
mod audit;
mod cases;
mod database;
mod db;
mod groups;
mod input;
mod interact;
mod keys;
mod roles;
mod run;
mod runs;
mod serve;
mod share;
mod sso;
mod step;
mod step_project;
mod tenant;
mod test;
mod trace;
mod triggers;
mod users;
mod validate;
mod web;
mod workflows;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use database::Database;
use error::{CliError, Reported};
use flowhost::store::Location;

/// Flowhost: run security-automation workflows locally, with sandboxed WebAssembly steps.
#[derive(Parser)]
#[command(name = "flowhost", version, about)]
struct Cli {
    /// The database: an SQLite file (created with its schema on first use) or a PostgreSQL
    /// server, postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (its schema migrated on
    /// connect).
    // The environment's value is never shown in --help: it may hold a password.
    #[arg(
        long,
        global = true,
        value_name = "PATH|URL",
        env = "FLOWHOST_DB",
        hide_env_values = true,
        default_value = flowhost::store::DEFAULT_DB_PATH,
        value_parser = parse_location,
    )]
    db: Location,
    /// Where this host keeps its own files (component cache, pinned components, run lease
    /// files). Default: the database file's directory; for a server, `.flowhost`.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "FLOWHOST_STATE_DIR",
        hide_env_values = true
    )]
    state_dir: Option<PathBuf>,
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
    Runs(runs::RunsCommand),
    /// The long-running host: resume interrupted runs, start triggered runs, wake due waits
    /// and time out interactions, several runs at once, until stopped.
    Serve(serve::ServeArgs),
    /// Publish workflows and read their revisions.
    #[command(subcommand)]
    Workflows(workflows::WorkflowsCommand),
    /// Triggers: start the runs that pending events trigger.
    #[command(subcommand)]
    Triggers(triggers::TriggersCommand),
    /// Validate workflow definitions; every error names its JSON path and line:column.
    Validate(validate::ValidateArgs),
    /// Apply or export a tenant file (organization, workspaces, users, roles, groups, SSO).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Ask the access engine.
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// Invite, delete and re-role users.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Custom roles.
    #[command(subcommand)]
    Roles(roles::RolesCommand),
    /// Static and dynamic groups.
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
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
    Audit(audit::AuditArgs),
    /// The web pages of `serve --http`: one-time sign-in links (SPEC SV-1).
    #[command(subcommand)]
    Web(web::WebCommand),
    /// The database: delete expired rows; copy an SQLite file into PostgreSQL.
    #[command(subcommand)]
    Db(db::DbCommand),
}

/// Runs the CLI and maps the outcome to an exit status (`error.rs`): 0 on success, 1 for a
/// refusal or a failed run, 2 for a usage error, invalid input or the host's own failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let database = Database::new(cli.db, cli.state_dir);
    acting::set_database(&database);
    let db = &database;
    let result = match cli.command {
        Command::Step(cmd) => step::run(db, cmd),
        Command::Cases(cmd) => cases::run(db, cmd),
        Command::Run(args) => run::run(db, args),
        Command::Runs(cmd) => runs::run(db, cmd),
        Command::Serve(args) => serve::run(db, args),
        Command::Workflows(cmd) => workflows::run(db, cmd),
        Command::Triggers(cmd) => triggers::run(db, cmd),
        Command::Validate(args) => validate::run(args),
        Command::Tenant(cmd) => tenant::run(db, cmd),
        Command::Access(cmd) => access::run(db, cmd),
        Command::Users(cmd) => users::run(db, cmd),
        Command::Roles(cmd) => roles::run(db, cmd),
        Command::Groups(cmd) => groups::run(db, cmd),
        Command::Sso(cmd) => sso::run(db, cmd),
        Command::Keys(cmd) => keys::run(db, cmd),
        Command::Interact(cmd) => interact::run(db, cmd),
        Command::Share(cmd) => share::run(db, cmd),
        Command::Test(args) => test::run(db, args),
        Command::Audit(args) => audit::run(db, args),
        Command::Web(cmd) => web::run(db, cmd),
        Command::Db(cmd) => db::run(db, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(Reported(kind)) = e.downcast_ref::<Reported>() {
                return kind.exit_code();
            }
            let message = if cli.verbose {
                format!("{e:?}")
            } else {
                format!("{e:#}")
            };
            // Errors quote input; a huge one is shortened, never echoed whole (issue 13 item 8).
            let message = flowhost::text::clip_words(&message).into_owned();
            let error = CliError::classify(&e, name_the_database(message, database.location()));
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}

/// `--db`'s value: a PostgreSQL URL is a server, anything else a file path.
fn parse_location(text: &str) -> Result<Location, String> {
    if text.is_empty() {
        return Err("name a database file or a postgres:// URL (--db or FLOWHOST_DB)".to_owned());
    }
    Ok(Location::parse(text))
}

/// SQLite's errors about the file itself ("attempt to write a readonly database") do not say
/// which file, nor a lost connection which server; the user must learn it (issue 14 item 10).
/// A server is named without its password (issue 18).
fn name_the_database(message: String, db: &Location) -> String {
    const ABOUT_THE_FILE: [&str; 6] = [
        "readonly database",
        "unable to open database file",
        "disk I/O error",
        "file is not a database",
        "database disk image is malformed",
        "database or disk is full",
    ];
    const ABOUT_THE_SERVER: [&str; 3] = [
        "connection closed",
        "error communicating with the server",
        "the database system is",
    ];
    let shown = db.to_string();
    let (about, what) = match db {
        Location::File(_) => (&ABOUT_THE_FILE[..], "database file"),
        Location::Postgres(_) => (&ABOUT_THE_SERVER[..], "database"),
    };
    if about.iter().any(|m| message.contains(m)) && !message.contains(&shown) {
        format!("{message} ({what} {shown})")
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::name_the_database;
    use flowhost::store::Location;

    /// Issue 14 item 10: "attempt to write a readonly database" did not say which file.
    #[test]
    fn errors_about_the_database_file_name_it() {
        let db = Location::parse("/srv/flowhost/prod.db");
        let named = name_the_database("attempt to write a readonly database".into(), &db);
        assert_eq!(
            named,
            "attempt to write a readonly database (database file /srv/flowhost/prod.db)"
        );
        let already = "database /srv/flowhost/prod.db: unable to open database file";
        assert_eq!(name_the_database(already.into(), &db), already);
        let other = "denied: missing scope case.write";
        assert_eq!(name_the_database(other.into(), &db), other);
    }

    /// Issue 18: a lost server is named, never with the password of its URL.
    #[test]
    fn errors_about_the_server_name_it_without_its_password() {
        let db = Location::parse("postgres://flow:s3cret@db.internal:5433/flowhost");
        let named = name_the_database("connection closed".into(), &db);
        assert_eq!(
            named,
            "connection closed (database postgres://flow@db.internal:5433/flowhost)"
        );
        let other = "denied: missing scope case.write";
        assert_eq!(name_the_database(other.into(), &db), other);
        // SQLite's words about a file do not make a server's message name it as a file.
        let sqlite = "attempt to write a readonly database";
        assert_eq!(name_the_database(sqlite.into(), &db), sqlite);
    }
}
