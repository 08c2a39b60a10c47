//! Reading JSON the host stored itself (issue 14 item 9). A stored value that no longer parses
//! is an error that names the column, never a silent `null` or default: a trigger must not
//! see `null` where a case was, and `runs show` must not print `null` for an output.

use serde_json::Value;

/// A stored JSON text that does not parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "stored {what} is not readable JSON ({source}); nesting is capped at {} levels on the way in",
    crate::json_limits::MAX_JSON_DEPTH
)]
pub struct StoredJsonError {
    /// The table and column, e.g. `events.payload`.
    pub what: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// Parses stored JSON `text` from `what` (`table.column`).
pub fn parse(what: &'static str, text: &str) -> Result<Value, StoredJsonError> {
    serde_json::from_str(text).map_err(|source| StoredJsonError { what, source })
}

/// Reads column `idx` (named `what`, `table.column`) of a row as JSON text; for row mappers.
pub fn column(
    r: &crate::store::sql::Row<'_>,
    idx: usize,
    what: &'static str,
) -> crate::store::sql::Result<Value> {
    let text: String = r.get(idx)?;
    parse(what, &text).map_err(|e| conversion(idx, e))
}

/// Like [`column`] for a nullable column: SQL NULL is `None`, never an unreadable text.
pub fn optional_column(
    r: &crate::store::sql::Row<'_>,
    idx: usize,
    what: &'static str,
) -> crate::store::sql::Result<Option<Value>> {
    let text: Option<String> = r.get(idx)?;
    text.map(|t| parse(what, &t).map_err(|e| conversion(idx, e)))
        .transpose()
}

/// Reads column `idx` (named `what`) as JSON text of a type the host stored, e.g. a form; a
/// text that does not parse as that type is an error naming the column, never a default.
pub fn typed_column<T: serde::de::DeserializeOwned>(
    r: &crate::store::sql::Row<'_>,
    idx: usize,
    what: &'static str,
) -> crate::store::sql::Result<T> {
    let text: String = r.get(idx)?;
    serde_json::from_str(&text).map_err(|source| conversion(idx, StoredJsonError { what, source }))
}

fn conversion(idx: usize, e: StoredJsonError) -> crate::store::sql::Error {
    crate::store::sql::Error::FromSqlConversionFailure(
        idx,
        crate::store::sql::types::Type::Text,
        Box::new(e),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_stored_json_is_an_error_naming_the_column() {
        let db = crate::store::Db::open_in_memory().expect("db");
        let conn = db.conn();
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = conn
            .query_row("SELECT ?1", [&deep], |r| column(r, 0, "events.payload"))
            .expect_err("too deep to read");
        assert!(err.to_string().contains("stored events.payload"), "{err}");
        let none = conn
            .query_row("SELECT NULL", [], |r| optional_column(r, 0, "runs.output"))
            .expect("NULL reads as None");
        assert_eq!(none, None);
        let wrong: crate::store::sql::Result<Vec<String>> =
            conn.query_row("SELECT '{}'", [], |r| {
                typed_column(r, 0, "interactions.form")
            });
        let err = wrong.expect_err("an object is not a list");
        assert!(
            err.to_string().contains("stored interactions.form"),
            "{err}"
        );
    }
}
