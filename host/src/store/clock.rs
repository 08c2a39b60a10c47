//! The clock deadlines shared between hosts are judged by: on PostgreSQL the database's
//! (several hosts on machines whose clocks differ must agree when an interaction times out,
//! as they agree on leases), on SQLite this machine's (one machine shares the file).

use crate::store::sql::{Connection, Engine};

/// Now, Unix milliseconds, by the clock `conn`'s deployment shares.
pub fn now_ms(conn: &Connection) -> Result<i64, crate::Error> {
    match conn.engine() {
        Engine::Sqlite => Ok(crate::clock::now_ms()),
        Engine::Postgres => conn
            .query_row(
                "SELECT CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)",
                [],
                |r| r.get(0),
            )
            .map_err(crate::platform::internal),
    }
}
