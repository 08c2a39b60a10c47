//! Reading JSON the host stored: now `store::json`, named here too for the modules whose SQL
//! has not moved behind the storage boundary yet (workflow, interact, share).

pub use crate::store::json::{StoredJsonError, column, optional_column, parse};
