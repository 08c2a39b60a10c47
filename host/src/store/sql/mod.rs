//! The storage facade: one set of calls (connection, statement, row, parameters, values,
//! errors) over SQLite and PostgreSQL, so that every storage module is written once (issue
//! 18). Shaped like rusqlite's API, which the modules were written against; SQL is written in
//! the dialect both engines accept, with `?N` parameters (`pg.rs` turns them into `$N`).

mod conn;
mod error;
mod params;
mod pg;
mod value;

pub use conn::{ACCESS_LOCK, Begin, Connection, Engine, Row, Rows, Statement, WRITE_LOCK};
pub use error::{Error, OptionalExtension, Result};
pub(crate) use params::params;
pub use params::{Params, ParamsFromIter, params_from_iter};
pub use value::{
    FromSql, FromSqlError, FromSqlResult, NulInText, ToSql, ToSqlOutput, Type, Value, ValueRef,
};

/// The conversion types under the names rusqlite gives them (`types::FromSql`, …).
pub mod types {
    pub use super::value::{
        FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, Type, Value, ValueRef,
    };
}
