//! The storage of pinned components and nested definitions (`components`): bytes by content
//! digest. Checking bytes against their digest is the service's.

use crate::store::sql::{Connection, OptionalExtension, params};

use crate::Error;
use crate::platform::internal;

/// Stores `bytes` under `digest` unless stored already.
pub(in crate::workflow) fn put(conn: &Connection, digest: &str, bytes: &[u8]) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO components (digest, bytes) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![digest, bytes]))?;
    Ok(())
}

/// The bytes stored under `digest`, if any.
pub(in crate::workflow) fn bytes(
    conn: &Connection,
    digest: &str,
) -> Result<Option<Vec<u8>>, Error> {
    conn.query_row(
        "SELECT bytes FROM components WHERE digest = ?1",
        [digest],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
}
