//! Telling the infrastructure's failures from the data's (SPEC WF-11): a busy or locked
//! database, a full disk, an I/O error are nobody's fault in the request and pass with time;
//! a constraint or a malformed row are not. Classified by SQLite's result code or
//! PostgreSQL's SQLSTATE, never by text.

use rusqlite::ErrorCode;

use super::sql::Error;

/// Whether `error` is a failure of the infrastructure: SQLite busy or locked past the busy
/// timeout, a full disk, an I/O error, a database that cannot be opened or written, memory;
/// on PostgreSQL a lost or refused connection, a server shutting down or out of resources, a
/// lock or statement timeout, a serialization failure or deadlock (which a retry resolves).
pub fn is_infrastructure(error: &Error) -> bool {
    match error {
        Error::Sqlite(e) => is_sqlite_infrastructure(e),
        Error::Postgres(e) => is_postgres_infrastructure(e),
        Error::Reconnect(_) | Error::Waited(_) => true,
        _ => false,
    }
}

/// [`is_infrastructure`] for SQLite's own errors.
pub(crate) fn is_sqlite_infrastructure(error: &rusqlite::Error) -> bool {
    match error.sqlite_error_code() {
        Some(code) => infrastructure_code(code),
        None => false,
    }
}

/// [`is_infrastructure`] for PostgreSQL's own errors.
pub(crate) fn is_postgres_infrastructure(error: &::postgres::Error) -> bool {
    let Some(state) = error.code() else {
        // No SQLSTATE: the client's own failure (a closed connection, an I/O error), except
        // a value that did not convert, which is the data's.
        return error.is_closed()
            || std::error::Error::source(error)
                .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
    };
    let code = state.code();
    // Classes 08 connection, 53 resources, 57 operator intervention (shutdown, cancel), 58
    // system (I/O); 40001 serialization, 40P01 deadlock, 55P03 lock not available, 25P03 a
    // session the server ended for sitting idle in its transaction (`IDLE_IN_TRANSACTION`: a
    // host paused past it), 25P04 its transaction's own time limit (`transaction_timeout`),
    // 25006 a server that takes no writes (a standby, a database set read-only): as SQLite's
    // read-only file (storage review: counted as the host's own failure, an event claimed on
    // it was set aside for good).
    ["08", "53", "57", "58"].iter().any(|c| code.starts_with(c))
        || matches!(
            code,
            "40001" | "40P01" | "55P03" | "25P03" | "25P04" | "25006"
        )
}

fn infrastructure_code(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::OutOfMemory
    )
}

/// Whether any error in `error`'s chain is an infrastructure failure (see
/// [`is_infrastructure`]); an I/O error of the host (a lease file, a cache) counts too.
pub fn chain_is_infrastructure(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<Error>().is_some_and(is_infrastructure)
            || cause
                .downcast_ref::<rusqlite::Error>()
                .is_some_and(is_sqlite_infrastructure)
            || cause.downcast_ref::<std::io::Error>().is_some()
    })
}

/// Why the store refused a value of the caller's, if `error` (or one of its causes) is such a
/// refusal: text holding the NUL character ([`super::sql::NulInText`]). The caller's input,
/// answered as invalid, never as the host's failure.
pub fn refused_input(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(error);
    while let Some(c) = cause {
        if let Some(refused) = c.downcast_ref::<super::sql::NulInText>() {
            return Some(refused.to_string());
        }
        cause = c.source();
    }
    None
}

/// Storage errors for tests above the boundary: those of the infrastructure (busy, full, I/O)
/// and one of the data (a constraint), built as SQLite reports them.
#[cfg(test)]
pub(crate) fn sample_errors() -> (Vec<Error>, Error) {
    use rusqlite::ffi;
    let sqlite = |code| Error::Sqlite(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None));
    (
        vec![
            sqlite(ffi::SQLITE_BUSY),
            sqlite(ffi::SQLITE_FULL),
            sqlite(ffi::SQLITE_IOERR),
        ],
        sqlite(ffi::SQLITE_CONSTRAINT),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use rusqlite::{Connection, TransactionBehavior};

    #[test]
    fn a_busy_database_is_infrastructure_and_a_broken_constraint_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.db");
        let mut holder = Connection::open(&path).expect("open");
        holder
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .expect("schema");
        let mut other = Connection::open(&path).expect("open");
        other
            .busy_timeout(std::time::Duration::from_millis(10))
            .expect("timeout");
        let _lock = holder
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("lock");
        let busy = other
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect_err("busy while the other holds the write lock");
        let busy = Error::from(busy);
        assert!(is_infrastructure(&busy), "{busy}");
        assert!(chain_is_infrastructure(&anyhow::Error::from(busy)));

        let fresh = Connection::open_in_memory().expect("memory");
        fresh
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .expect("schema");
        fresh.execute("INSERT INTO t VALUES (1)", []).expect("one");
        let duplicate = fresh
            .execute("INSERT INTO t VALUES (1)", [])
            .expect_err("a duplicate key");
        let duplicate = Error::from(duplicate);
        assert!(!is_infrastructure(&duplicate), "{duplicate}");
        assert!(!chain_is_infrastructure(&anyhow::Error::from(duplicate)));
    }
}
