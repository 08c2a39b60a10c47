//! A session with the server for the storage facade (`store/sql/pg.rs`): the asynchronous
//! client, and a runtime of its own on which each call blocks while it drives the
//! connection, as the blocking `postgres` client does. Unlike that client it lets several
//! requests go out together: a write whose answer nobody needs is sent with the next
//! statement that needs one (issue 18: a run's round trips, `benches/README.md`).

use std::future::Future;

use super::{Error, config, unreachable_server};

/// A connected session.
pub(crate) struct Session {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Session {
    /// Connects to `url` (with the timeouts of [`super::connect`]); an unreachable server is
    /// `Busy`, a bad URL `Invalid`.
    pub(crate) fn open(url: &str) -> Result<Session, Error> {
        let (config, target) = config(url)?;
        // One thread: the caller's. The connection is polled only while a call blocks on it.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start a PostgreSQL session: {e}")))?;
        let (client, connection) = runtime
            .block_on(config.connect(tokio_postgres::NoTls))
            .map_err(|e| unreachable_server(&target, &e))?;
        // Its end (the server gone, the socket failed) shows as the client's calls failing
        // and `is_closed`, which is how the facade notices a lost session.
        runtime.spawn(async move {
            let _ = connection.await;
        });
        Ok(Session { runtime, client })
    }

    /// The client, for building calls to pass to [`Session::block_on`].
    pub(crate) fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }

    /// Runs `call` to its end on this thread, driving the connection meanwhile.
    pub(crate) fn block_on<F: Future>(&self, call: F) -> F::Output {
        self.runtime.block_on(call)
    }

    /// Whether the session is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}
