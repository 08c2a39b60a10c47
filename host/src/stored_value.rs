//! Reading back values the host stored itself: a value the host never writes (a corrupted
//! file, a hand edit) is an error naming the table, the row and the value, never read as a
//! default (an unknown membership source as an invitation, an unknown SSO outcome as a
//! denial, an unreadable principal as anonymous). `store/json.rs` does the same for JSON;
//! `store/values.rs` carries this error through the storage error paths.

/// A stored value that is none of those the host writes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stored {table}.{column} of {row} is `{value}`, expected {expected}")]
pub struct UnreadableValue {
    /// The table and column, e.g. `memberships` and `source`.
    pub table: &'static str,
    pub column: &'static str,
    /// Which row, e.g. `workspace 3, user tina@acme.test`.
    pub row: String,
    /// The value found (clipped).
    pub value: String,
    /// What the host writes there.
    pub expected: &'static str,
}

impl UnreadableValue {
    /// `value` at `table.column` of `row` is not what the host writes (`expected`).
    pub fn new(
        table: &'static str,
        column: &'static str,
        row: impl Into<String>,
        value: &str,
        expected: &'static str,
    ) -> Self {
        Self {
            table,
            column,
            row: row.into(),
            value: crate::text::clip(value).into_owned(),
            expected,
        }
    }
}
