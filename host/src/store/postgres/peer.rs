//! What several hosts on one PostgreSQL database need beyond the shared connection (issue 18):
//! more connections to the same server (a host's heartbeat must not queue behind its runs'
//! writes or behind the deployment's write lock), and the wake-up channel: a transaction
//! that leaves work for other hosts sends `NOTIFY` on [`WORK_CHANNEL`] (delivered only when
//! it commits), and each `serve` listens on a connection of its own ([`Listener`]).

use std::time::Duration;

use ::postgres::fallible_iterator::FallibleIterator;

use super::{Error, connect, message};
use crate::store::sql::{self, Connection};

/// The channel that says "there is work": a new event, a run left for any host to resume.
pub const WORK_CHANNEL: &str = "flowhost_work";

/// The PostgreSQL server a database is on, to open more connections to it.
#[derive(Clone)]
pub struct Server {
    url: String,
}

impl Server {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
        }
    }

    /// A new connection to the database (read-write, autocommit until a transaction begins).
    pub fn connect(&self) -> Result<Connection, Error> {
        Connection::open_postgres(&self.url, "")
            .map_err(|e| Error::Busy(format!("PostgreSQL: {e}")))
    }

    /// A new connection listening on [`WORK_CHANNEL`].
    pub fn listen(&self) -> Result<Listener, Error> {
        let mut client = connect(&self.url)?;
        client
            .batch_execute(&format!("LISTEN {WORK_CHANNEL}"))
            .map_err(super::schema::infra)?;
        Ok(Listener { client })
    }
}

/// A connection that only listens for [`WORK_CHANNEL`]. Blocking: use it from a thread of its
/// own, never from an async task.
pub struct Listener {
    client: ::postgres::Client,
}

impl Listener {
    /// Waits up to `timeout` for a notification; whether one came. The ones queued behind it
    /// are taken too: one wake-up answers them all.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool, Error> {
        let failed =
            |e: ::postgres::Error| Error::Busy(format!("listening for work: {}", message(&e)));
        let first = self
            .client
            .notifications()
            .timeout_iter(timeout)
            .next()
            .map_err(failed)?;
        if first.is_none() {
            // A closed connection also ends the wait without a notification: say so, or the
            // caller would wait on it for ever.
            if self.client.is_closed() {
                return Err(Error::Busy(
                    "listening for work: the connection was closed".into(),
                ));
            }
            return Ok(false);
        }
        let mut notifications = self.client.notifications();
        let mut rest = notifications.iter();
        while rest.next().map_err(failed)?.is_some() {}
        Ok(true)
    }
}

/// Tells the other hosts that the transaction open on `conn` leaves work for them: sent with
/// its `COMMIT` (no round trip of its own), never if it rolls back, once per transaction
/// however often it is called. Nothing on SQLite, whose one machine has no other host to
/// wake.
pub fn notify_work(conn: &Connection) -> sql::Result<()> {
    conn.notify_on_commit(WORK_CHANNEL)
}
