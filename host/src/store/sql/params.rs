//! What a statement's parameters can be given as: `params![a, b]`, an array `[a]`, `[]`,
//! a tuple, or [`params_from_iter`] for a list built at run time.

use super::value::ToSql;

/// A statement's parameters, in order (`?1`, `?2`, …).
pub trait Params {
    /// Calls `f` with the parameters.
    fn with<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R;
}

impl Params for &[&dyn ToSql] {
    fn with<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(self)
    }
}

impl Params for () {
    fn with<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(&[])
    }
}

/// `[]`: no parameters.
impl Params for [&dyn ToSql; 0] {
    fn with<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        f(&[])
    }
}

macro_rules! arrays {
    ($($n:literal)*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn with<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
                let refs: [&dyn ToSql; $n] = std::array::from_fn(|i| &self[i] as &dyn ToSql);
                f(&refs)
            }
        }
        impl<T: ToSql> Params for &[&T; $n] {
            fn with<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
                let refs: [&dyn ToSql; $n] = std::array::from_fn(|i| self[i] as &dyn ToSql);
                f(&refs)
            }
        }
    )*};
}
arrays!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);

macro_rules! tuples {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: ToSql),+> Params for ($($t,)+) {
            fn with<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
                f(&[$(&self.$i as &dyn ToSql),+])
            }
        }
    )*};
}
tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
}

/// Parameters built at run time (the case query's filters).
pub struct ParamsFromIter<T>(Vec<T>);

/// The items of `iter`, as parameters in order.
pub fn params_from_iter<I>(iter: I) -> ParamsFromIter<I::Item>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    ParamsFromIter(iter.into_iter().collect())
}

impl<T: ToSql> Params for ParamsFromIter<T> {
    fn with<R>(&self, f: impl FnOnce(&[&dyn ToSql]) -> R) -> R {
        let refs: Vec<&dyn ToSql> = self.0.iter().map(|v| v as &dyn ToSql).collect();
        f(&refs)
    }
}

/// Parameters written out: `params![a, b]` (any [`ToSql`] values, of different types), for
/// the storage modules; outside the crate, a tuple does the same.
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::store::sql::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::sql::ToSql),+] as &[&dyn $crate::store::sql::ToSql]
    };
}
pub(crate) use params;
