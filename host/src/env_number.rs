//! Numeric settings read from the environment: a variable that is unset takes its default;
//! one set to anything but a number in range is an error naming it, never a silent default.

use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::Error;

/// The number `var` holds, or `default` when it is unset. Not a number, or outside `range`:
/// an error `VAR="text" is not {expected}`.
pub fn number_from_env<T>(
    var: &str,
    default: T,
    range: RangeInclusive<T>,
    expected: &str,
) -> Result<T, Error>
where
    T: FromStr + PartialOrd,
{
    match std::env::var(var) {
        Err(std::env::VarError::NotPresent) => Ok(default),
        Ok(text) => match text.trim().parse::<T>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(Error::Invalid(format!("{var}={text:?} is not {expected}"))),
        },
        Err(e) => Err(Error::Invalid(format!("{var}: {e}"))),
    }
}
