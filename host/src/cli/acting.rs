//! Arguments shared by commands: who acts, and output helpers.

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::Args;
use flowhost::platform::Platform;
use flowhost::principal::{Email, Principal};

use super::database::Database;
use super::error::CliError;

/// The environment variable an API client puts its key token in (`fhk_<id>_<secret>`).
pub const API_KEY_ENV: &str = "FLOWHOST_API_KEY";

/// What a command that needs a principal says when nobody is named.
pub const NOBODY_ACTS: &str =
    "name who acts with --as EMAIL, or an API key token in FLOWHOST_API_KEY or --key-file FILE";

/// The database every command of this process opens, set once by `main`: a key token is
/// checked against the hashes stored there.
static DATABASE: OnceLock<Database> = OnceLock::new();

/// Records the database for [`Acting::principal`].
pub fn set_database(db: &Database) {
    // Set once per process; a second call (none today) would name the same database.
    let _ = DATABASE.set(db.clone());
}

/// Who acts: `--as EMAIL` (with `--sso` for an SSO sign-in), or an API key authenticated by
/// its secret token, read from `--key-file FILE` or the `FLOWHOST_API_KEY` environment
/// variable (never from an argument, which other users of the machine can read). The local
/// CLI is a trusted console over its database file for `--as`; every access rule applies to
/// the principal named (SPEC SV-1, RB-4).
#[derive(Args, Clone, Debug)]
pub struct Acting {
    /// Act as this person.
    #[arg(long = "as", value_name = "EMAIL", conflicts_with = "key_file")]
    pub as_email: Option<String>,
    /// The person signed in through SSO (not locally).
    #[arg(long, requires = "as_email")]
    pub sso: bool,
    /// Act as the API key whose token (`fhk_...`) is in this file (default: the
    /// FLOWHOST_API_KEY environment variable).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Refused: a key id is not a credential. Kept to say so clearly.
    #[arg(long, value_name = "KEY_ID", hide = true)]
    pub key: Option<String>,
}

impl Acting {
    /// The principal named: `--as`, else the key of `--key-file`, else the key of
    /// `FLOWHOST_API_KEY`, else `Anonymous` (whom every check denies).
    pub fn principal(&self) -> anyhow::Result<Principal> {
        if self.key.is_some() {
            // A refused credential, not a typo: exits as a denial.
            return Err(CliError::Denied(format!(
                "--key KEY_ID is not accepted: an API key authenticates by its secret token, \
                 from the {API_KEY_ENV} environment variable or --key-file FILE"
            ))
            .into());
        }
        if let Some(raw) = &self.as_email {
            let email = Email::parse(raw).map_err(anyhow::Error::msg)?;
            return Ok(if self.sso {
                Principal::sso(email)
            } else {
                Principal::local(email)
            });
        }
        let token = match &self.key_file {
            Some(path) => {
                super::input::read_bounded(path, super::input::MAX_SECRET_BYTES, "API key")?
            }
            None => match std::env::var(API_KEY_ENV) {
                Ok(token) => token,
                Err(std::env::VarError::NotPresent) => return Ok(Principal::Anonymous),
                Err(std::env::VarError::NotUnicode(_)) => {
                    anyhow::bail!("{API_KEY_ENV} does not hold a key token (not UTF-8)")
                }
            },
        };
        let db = DATABASE
            .get()
            .ok_or_else(|| anyhow::anyhow!("no database to check the API key against"))?;
        // The key's hash is compared, and a revoked or expired key refused as the API refuses
        // it; what the key may do is the access layer's.
        let principal =
            flowhost::admin::keys::authenticate_live_token(db.open()?.conn(), token.trim())?;
        Ok(principal)
    }

    /// The principal, which must be named for commands that change or show things. Nobody
    /// named is refused as a denial (default deny, SPEC RB-3), exit 1.
    pub fn required(&self) -> anyhow::Result<Principal> {
        match self.principal()? {
            Principal::Anonymous => Err(CliError::Denied(NOBODY_ACTS.to_owned()).into()),
            p => Ok(p),
        }
    }
}

/// Opens the database and the access index over it; a failure names the database.
pub fn platform(db: &Database) -> anyhow::Result<Platform> {
    db.platform()
}

/// Prints `value` as pretty JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
