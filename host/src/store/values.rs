//! How values of the lower modules cross the storage boundary: a [`PublicId`] as a column,
//! and an [`UnreadableValue`] as a row mapper's error. Here, so that only storage modules
//! import `rusqlite`.

use crate::store::sql::types::{
    FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef,
};

use crate::public_id::PublicId;
use crate::stored_value::UnreadableValue;

impl ToSql for PublicId {
    fn to_sql(&self) -> crate::store::sql::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for PublicId {
    /// A stored id is read as it is; a NULL or a non-text value is an error, never a default.
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(|s| PublicId::stored(s.to_owned()))
                .map_err(|e| FromSqlError::Other(Box::new(e))),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl UnreadableValue {
    /// As a row mapper's error (column `idx`), so it travels the storage error paths.
    pub fn into_sql(self, idx: usize) -> crate::store::sql::Error {
        crate::store::sql::Error::FromSqlConversionFailure(
            idx,
            crate::store::sql::types::Type::Text,
            Box::new(self),
        )
    }
}
