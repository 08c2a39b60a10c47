//! The storage layer's one error type, whichever engine answered.

use super::value::Type;

/// A failed storage operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite's error.
    #[error(transparent)]
    Sqlite(rusqlite::Error),
    /// PostgreSQL's error (the server's, or the client's: a lost connection).
    #[error("{}", crate::store::postgres::message(.0))]
    Postgres(#[source] ::postgres::Error),
    /// A dropped PostgreSQL connection could not be opened again.
    #[error("{0}")]
    Reconnect(String),
    /// A wait of this host's own (another thread's update of what the work needs) outlasted
    /// the deadline bound to the work (`store/deadline.rs`): the infrastructure's, as a busy
    /// database is.
    #[error("{0}")]
    Waited(String),
    /// A query that must return a row returned none (see [`super::OptionalExtension`]).
    #[error("Query returned no rows")]
    QueryReturnedNoRows,
    /// Column `.0` holds a value of storage class `.1` that is not the Rust type asked for.
    #[error("Conversion error from type {1} at index: {0}, {2}")]
    FromSqlConversionFailure(
        usize,
        Type,
        #[source] Box<dyn std::error::Error + Send + Sync + 'static>,
    ),
    /// Column `.0` (named `.1`) holds a value of storage class `.2`, not the one asked for (NULL for a
    /// value that cannot be absent, text for a number).
    #[error("Invalid column type {2} at index: {0}, name: {1}")]
    InvalidColumnType(usize, String, Type),
    /// Column `.0` (named `.1`) holds the number `.2`, outside the Rust type's range.
    #[error("Integer {2} out of range at index: {0}, name: {1}")]
    IntegralValueOutOfRange(usize, String, i64),
    /// A parameter that has no SQL value.
    #[error("{0}")]
    ToSqlConversionFailure(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// Column `.0` is past the row's end.
    #[error("Invalid column index: {0}")]
    InvalidColumnIndex(usize),
    /// A transaction's state that the operation cannot run in (a statement in a transaction
    /// PostgreSQL has aborted, a commit with none open).
    #[error("{0}")]
    TransactionState(&'static str),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::QueryReturnedNoRows,
            e => Error::Sqlite(e),
        }
    }
}

impl From<::postgres::Error> for Error {
    fn from(e: ::postgres::Error) -> Self {
        // A statement the server cancelled at a read's budget is the work's own doing, as
        // SQLite's progress handler notes it (`deadline::cancelled`).
        if e.code() == Some(&::postgres::error::SqlState::QUERY_CANCELED) {
            crate::store::deadline::cancelled();
        }
        // A lock wait the server ended at the deadline: another host's lock, the host's
        // business when it took half the step's time (`deadline::lock_wait_ran_out`).
        if e.code() == Some(&::postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
            crate::store::deadline::lock_wait_ran_out();
        }
        Error::Postgres(e)
    }
}

/// A storage operation's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `.optional()` on a one-row query: no row is `None` rather than an error.
pub trait OptionalExtension<T> {
    /// The row, `None` if there was none; other errors stay errors.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
