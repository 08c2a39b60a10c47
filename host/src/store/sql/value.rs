//! The values that cross the storage boundary, one set for both engines: what a parameter
//! binds ([`ToSql`]) and what a column reads as ([`FromSql`]). Shaped like SQLite's storage
//! classes, which the schema is written in; PostgreSQL's types map onto them in `pg.rs`
//! (BIGINT and BOOL are both [`ValueRef::Integer`], so a flag reads as 0 or 1 on either).

use std::fmt;

/// A column's value, borrowed from the row it was read from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// SQL NULL.
    Null,
    /// A whole number (SQLite INTEGER; PostgreSQL SMALLINT, INT, BIGINT or BOOL).
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text, as UTF-8 bytes.
    Text(&'a [u8]),
    /// Bytes (SQLite BLOB; PostgreSQL BYTEA).
    Blob(&'a [u8]),
}

/// An owned [`ValueRef`], e.g. a parameter built at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A whole number.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Value {
    /// The value, borrowed.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// The storage class of a value, for conversion errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// NULL.
    Null,
    /// INTEGER.
    Integer,
    /// REAL.
    Real,
    /// TEXT.
    Text,
    /// BLOB.
    Blob,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Null => "Null",
            Type::Integer => "Integer",
            Type::Real => "Real",
            Type::Text => "Text",
            Type::Blob => "Blob",
        })
    }
}

impl ValueRef<'_> {
    /// Its storage class.
    pub fn data_type(&self) -> Type {
        match self {
            ValueRef::Null => Type::Null,
            ValueRef::Integer(_) => Type::Integer,
            ValueRef::Real(_) => Type::Real,
            ValueRef::Text(_) => Type::Text,
            ValueRef::Blob(_) => Type::Blob,
        }
    }
}

/// What a parameter binds: borrowed from the Rust value, or made for the call.
#[derive(Clone, Debug, PartialEq)]
pub enum ToSqlOutput<'a> {
    /// Borrowed from the Rust value.
    Borrowed(ValueRef<'a>),
    /// Made for the call.
    Owned(Value),
}

impl ToSqlOutput<'_> {
    /// The value, borrowed.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            ToSqlOutput::Borrowed(v) => *v,
            ToSqlOutput::Owned(v) => v.as_ref(),
        }
    }
}

impl<'a> From<&'a str> for ToSqlOutput<'a> {
    fn from(s: &'a str) -> Self {
        ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
    }
}

/// A Rust value that binds as a parameter.
pub trait ToSql {
    /// The value to bind; an error for one that has no SQL value (a number past `i64`).
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>>;
}

/// Why a column's value is not the Rust type asked for.
#[derive(Debug)]
pub enum FromSqlError {
    /// Another storage class (text where a number was asked for, NULL for a non-option).
    InvalidType,
    /// A number outside the Rust type's range.
    OutOfRange(i64),
    /// Anything else (text that is not UTF-8, an id that does not parse).
    Other(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl fmt::Display for FromSqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FromSqlError::InvalidType => f.write_str("Invalid type"),
            FromSqlError::OutOfRange(i) => write!(f, "Value {i} out of range"),
            FromSqlError::Other(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FromSqlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FromSqlError::Other(e) => Some(&**e),
            _ => None,
        }
    }
}

/// A column read's result.
pub type FromSqlResult<T> = Result<T, FromSqlError>;

/// A Rust value a column reads as.
pub trait FromSql: Sized {
    /// `value` as `Self`; an error, never a default, when it is not one.
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self>;
}

// ---- parameters ----

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        match self {
            Some(v) => v.to_sql(),
            None => Ok(ToSqlOutput::Borrowed(ValueRef::Null)),
        }
    }
}

impl<T: ToSql + ?Sized> ToSql for Box<T> {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        (**self).to_sql()
    }
}

impl ToSql for str {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self))
    }
}

impl ToSql for std::borrow::Cow<'_, str> {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_ref()))
    }
}

/// `value` as both engines bind it: text holding NUL is refused, on both alike (PostgreSQL
/// stores no NUL in text, and SQLite would keep what PostgreSQL refuses; bad-input review).
/// Called wherever a parameter is bound, whatever its Rust type was.
pub(crate) fn bindable(value: ToSqlOutput<'_>) -> super::Result<ToSqlOutput<'_>> {
    if let ValueRef::Text(t) = value.as_ref()
        && t.contains(&0)
    {
        return Err(super::Error::ToSqlConversionFailure(Box::new(NulInText)));
    }
    Ok(value)
}

/// A text value holding the NUL character, which no text column stores: the caller's input
/// (a door's value, a step's), answered as invalid wherever it reaches the store.
#[derive(Debug, thiserror::Error)]
#[error("a text value holds the NUL character (U+0000), which is not stored")]
pub struct NulInText;

impl ToSql for String {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(self)))
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(self)))
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(self.as_ref()))
    }
}

impl ToSql for ValueRef<'_> {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(*self))
    }
}

impl ToSql for f64 {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Real(*self)))
    }
}

/// A flag binds as 0 or 1: the schema stores flags as integers on both engines.
impl ToSql for bool {
    fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*self))))
    }
}

macro_rules! integer_param {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> super::Result<ToSqlOutput<'_>> {
                i64::try_from(*self)
                    .map(|i| ToSqlOutput::Borrowed(ValueRef::Integer(i)))
                    .map_err(|e| super::Error::ToSqlConversionFailure(Box::new(e)))
            }
        }
    )*};
}
integer_param!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

// ---- columns ----

impl<T: FromSql> FromSql for Option<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Null => Ok(None),
            v => T::column_result(v).map(Some),
        }
    }
}

impl FromSql for String {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(str::to_owned)
                .map_err(|e| FromSqlError::Other(Box::new(e))),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl FromSql for Vec<u8> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl FromSql for f64 {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Real(f) => Ok(f),
            // Exact for every count and timestamp the store keeps.
            ValueRef::Integer(i) => Ok(i as f64),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

/// A flag reads from 0 or 1 (or a PostgreSQL BOOL); any other number is not a flag.
impl FromSql for bool {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Integer(0) => Ok(false),
            ValueRef::Integer(1) => Ok(true),
            ValueRef::Integer(i) => Err(FromSqlError::OutOfRange(i)),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl FromSql for Value {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(match value {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::column_result(ValueRef::Text(t))?),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
    }
}

macro_rules! integer_column {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                match value {
                    ValueRef::Integer(i) => <$t>::try_from(i).map_err(|_| FromSqlError::OutOfRange(i)),
                    _ => Err(FromSqlError::InvalidType),
                }
            }
        }
    )*};
}
integer_column!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_from_zero_or_one_only() {
        assert!(!bool::column_result(ValueRef::Integer(0)).expect("0"));
        assert!(bool::column_result(ValueRef::Integer(1)).expect("1"));
        assert!(matches!(
            bool::column_result(ValueRef::Integer(2)),
            Err(FromSqlError::OutOfRange(2))
        ));
        assert!(matches!(
            bool::column_result(ValueRef::Null),
            Err(FromSqlError::InvalidType)
        ));
    }

    #[test]
    fn numbers_out_of_the_rust_range_are_errors_not_truncations() {
        assert!(matches!(
            u32::column_result(ValueRef::Integer(-1)),
            Err(FromSqlError::OutOfRange(-1))
        ));
        assert!(u64::MAX.to_sql().is_err());
        assert_eq!(
            u32::MAX.to_sql().expect("fits").as_ref(),
            ValueRef::Integer(i64::from(u32::MAX))
        );
    }
}
