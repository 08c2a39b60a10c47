//! The database every command opens (`--db PATH|URL`, or `FLOWHOST_DB`: an SQLite file or a
//! PostgreSQL server, issue 18) and where this host keeps its own files (`--state-dir DIR`, or
//! `FLOWHOST_STATE_DIR`): the precompiled-component cache, pinned components written out, run
//! lease files. By default the state directory is the database file's directory, as before;
//! a server has no directory, so `.flowhost` in the working directory.

use std::path::{Path, PathBuf};

use anyhow::Context;
use flowhost::platform::Platform;
use flowhost::store::{Db, Location};

/// The state directory of a host whose database is a PostgreSQL server, unless told.
pub const SERVER_STATE_DIR: &str = ".flowhost";

/// Where the database is, and where this host's own files go.
#[derive(Clone, Debug)]
pub struct Database {
    location: Location,
    state_dir: PathBuf,
}

impl Database {
    /// The database at `location`, with the state directory `state_dir` or its default.
    pub fn new(location: Location, state_dir: Option<PathBuf>) -> Self {
        let state_dir = state_dir.unwrap_or_else(|| match &location {
            Location::File(path) => path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(|| Path::new("."))
                .to_owned(),
            Location::Postgres(_) => PathBuf::from(SERVER_STATE_DIR),
        });
        Self {
            location,
            state_dir,
        }
    }

    /// Where the database is. Its `Display` never shows a URL's password.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The database file, or `None` for a server.
    pub fn file(&self) -> Option<&Path> {
        match &self.location {
            Location::File(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }

    /// The cache of precompiled components.
    pub fn cache_dir(&self) -> PathBuf {
        self.state_dir.join("cache")
    }

    /// Opens (and migrates) the database; a failure names it, without a password.
    pub fn open(&self) -> anyhow::Result<Db> {
        Db::open_at(&self.location).with_context(|| self.named())
    }

    /// Opens the database and the access index over it, with this host's state directory.
    pub fn platform(&self) -> anyhow::Result<Platform> {
        let platform = Platform::new(self.open()?).with_context(|| self.named())?;
        Ok(platform.with_state_dir(self.state_dir.clone()))
    }

    /// "database PATH" or "database postgres://user@host/db", for messages.
    pub fn named(&self) -> String {
        format!("database {}", self.location)
    }
}
