//! PostgreSQL storage (issue 18): connecting (the blocking client for migrations, the copy
//! and listening; the facade's pipelined sessions, `session.rs`), the versioned PostgreSQL
//! schema (the twin of the SQLite migrations), what several hosts share (`peer.rs`), and
//! copying a whole SQLite database into PostgreSQL (`flowhost db migrate --to`). The services
//! reach PostgreSQL only through the storage facade (`store::sql`).

mod copy;
mod peer;
mod schema;
mod session;

use std::time::Duration;

pub use ::postgres::Client;
pub use copy::{TableCopied, copy_sqlite};
pub use peer::{Listener, Server, WORK_CHANNEL, notify_work};
pub use schema::{VERSION_TABLE, holds_flowhost, migrate, newest_version};
pub(crate) use session::Session;

use self::PgError as Error;

/// A failure of a PostgreSQL operation, typed as the services' errors are (the store layer
/// sits below `crate::Error`, which converts from this one variant for variant).
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// Bad input: a URL that does not parse, a value that does not fit its column.
    #[error("{0}")]
    Invalid(String),
    /// The target is not as the operation needs it (a database that already holds rows).
    #[error("{0}")]
    Conflict(String),
    /// The infrastructure's failure: a server that cannot be reached, a lost connection.
    #[error("{0}")]
    Busy(String),
    /// The host's own failure.
    #[error("{0}")]
    Internal(String),
}

/// How long connecting waits for the server before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The client's default wait before its first TCP keepalive probe (the `postgres` crate's).
const DEFAULT_KEEPALIVES_IDLE: Duration = Duration::from_secs(2 * 60 * 60);

/// Flowhost's wait before the first keepalive probe of an idle connection.
const KEEPALIVES_IDLE: Duration = Duration::from_secs(30);

/// Between keepalive probes.
const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);

/// Probes unanswered before the connection is given up.
const KEEPALIVES_RETRIES: u32 = 3;

/// How long sent data may go unacknowledged before the connection is given up.
const UNACKNOWLEDGED: Duration = Duration::from_secs(60);

/// Connects to the PostgreSQL database at `url` (`postgres://user@host/db`, or the
/// `host=… dbname=…` form; a Unix socket directory as a percent-encoded host). A URL that does
/// not parse is `Invalid`; a server that cannot be reached or refuses is `Busy` (the
/// infrastructure's failure). Messages name the server, never a password.
pub fn connect(url: &str) -> Result<Client, Error> {
    let (config, target) = config(url)?;
    ::postgres::Config::from(config)
        .connect(::postgres::NoTls)
        .map_err(|e| unreachable_server(&target, &e))
}

/// The configuration of `url` with Flowhost's timeouts (see [`connect`]), and the server it
/// names for messages.
fn config(url: &str) -> Result<(tokio_postgres::Config, String), Error> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
        Error::Invalid(format!(
            "not a PostgreSQL URL ({e}): expected postgres://USER@HOST/DATABASE"
        ))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    // A server gone without a word (a partition, a crashed machine) is noticed in about a
    // minute rather than the kernel's two hours of keepalive or quarter hour of
    // retransmission: probes after 30 s idle, every 10 s, three of them; data unacknowledged
    // for a minute. The URL's own keepalive settings are kept (one asking for exactly the
    // default two hours reads as unset).
    if config.get_keepalives_idle() == DEFAULT_KEEPALIVES_IDLE {
        config.keepalives_idle(KEEPALIVES_IDLE);
        config.keepalives_interval(KEEPALIVES_INTERVAL);
        config.keepalives_retries(KEEPALIVES_RETRIES);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(UNACKNOWLEDGED);
    }
    // A host writes: of several servers named, the one that takes writes (a standby reached
    // after a failover answered every write with 25006; storage review). `any` is the
    // default and reads as unset; a URL's `read-only` is kept (its writes then fail as the
    // infrastructure's, named).
    if config.get_target_session_attrs() == tokio_postgres::config::TargetSessionAttrs::Any {
        config.target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite);
    }
    let target = describe(&config);
    Ok((config, target))
}

/// A server that could not be reached or refused, as the infrastructure's failure.
fn unreachable_server(target: &str, e: &::postgres::Error) -> Error {
    Error::Busy(format!(
        "cannot connect to PostgreSQL {target}: {}",
        message(e)
    ))
}

/// The server and database a configuration names, for messages (no password).
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "at {}{} (database {})",
        if hosts.is_empty() {
            "the default host".to_string()
        } else {
            hosts.join(",")
        },
        if ports.is_empty() {
            String::new()
        } else {
            format!(" port {}", ports.join(","))
        },
        config.get_dbname().unwrap_or("of the user's name")
    )
}

/// A PostgreSQL error as text: the server's message with its detail, or the client's.
pub(crate) fn message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_string(),
        },
        // The client's own error says what failed; its source says why (refused, no such
        // socket, …).
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// A PostgreSQL identifier quoted for SQL (names come from the catalogues, never from input).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use tokio_postgres::config::TargetSessionAttrs;

    /// A host writes: of the servers a URL names it takes the one that takes writes (a
    /// standby reached after a failover refused every write; storage review), unless the URL
    /// asks for a read-only one.
    #[test]
    fn a_url_connects_to_the_server_that_takes_writes_unless_it_says_otherwise() {
        let (c, _) = super::config("postgres://flowhost@db1,db2/flowhost").expect("a URL");
        assert_eq!(c.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
        let (c, _) = super::config("postgres://flowhost@db1/flowhost?target_session_attrs=any")
            .expect("a URL");
        // `any` given reads as unset: kept as the host's default then.
        assert_eq!(c.get_target_session_attrs(), TargetSessionAttrs::ReadWrite);
        let (c, _) =
            super::config("postgres://flowhost@db1/flowhost?target_session_attrs=read-only")
                .expect("a URL");
        assert_eq!(c.get_target_session_attrs(), TargetSessionAttrs::ReadOnly);
    }
}
