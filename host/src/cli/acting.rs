//! Arguments shared by commands: who acts, and output helpers.

use clap::Args;
use flowhost::platform::Platform;
use flowhost::principal::{Email, Principal};
use flowhost::store::Db;
use std::path::Path;

/// Who acts: `--as EMAIL` (with `--sso` for an SSO sign-in) or `--key KEY_ID`. The local CLI is
/// a trusted console over its database file; every access rule applies to the principal named.
#[derive(Args, Clone, Debug)]
pub struct Acting {
    /// Act as this person.
    #[arg(long = "as", value_name = "EMAIL", conflicts_with = "key")]
    pub as_email: Option<String>,
    /// The person signed in through SSO (not locally).
    #[arg(long, requires = "as_email")]
    pub sso: bool,
    /// Act as this API key.
    #[arg(long, value_name = "KEY_ID")]
    pub key: Option<String>,
}

impl Acting {
    /// The principal named, or `Anonymous`.
    pub fn principal(&self) -> anyhow::Result<Principal> {
        Ok(match (&self.as_email, &self.key) {
            (Some(raw), _) => {
                let email = Email::parse(raw).map_err(anyhow::Error::msg)?;
                if self.sso {
                    Principal::sso(email)
                } else {
                    Principal::local(email)
                }
            }
            (None, Some(key)) => Principal::ApiKey(key.clone()),
            (None, None) => Principal::Anonymous,
        })
    }

    /// The principal, which must be named for commands that change things.
    pub fn required(&self) -> anyhow::Result<Principal> {
        match self.principal()? {
            Principal::Anonymous => anyhow::bail!("name who acts with --as EMAIL or --key KEY_ID"),
            p => Ok(p),
        }
    }
}

/// Opens the database and the access index over it; a failure names the file.
pub fn platform(db: &Path) -> anyhow::Result<Platform> {
    use anyhow::Context;
    let db_file = || format!("database {}", db.display());
    Platform::new(Db::open(db).with_context(db_file)?).with_context(db_file)
}

/// Prints `value` as pretty JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
