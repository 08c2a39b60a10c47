//! The error of every service call, whichever door it came through (WIT, CLI, built-in
//! step). Converted to the WIT `host-error` only in the WIT glue, and to an exit status only
//! in the CLI. Its kind is its variant: nothing reads an error's text to decide what it is.

use crate::access::Reason;

/// Why a service call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The principal or the step's grants do not allow the call (SPEC RB-3, WF-6); the
    /// reason as data, printed only where a door shows it.
    #[error("denied: {0}")]
    Denied(Reason),
    /// The target does not exist or is invisible to the principal (SPEC CS-2).
    #[error("not found: {0}")]
    NotFound(String),
    /// Malformed arguments or a broken rule.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The call conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The host failed.
    #[error("internal error: {0}")]
    Internal(String),
    /// The infrastructure failed, not the call (SPEC WF-11): the database busy past its
    /// timeout, a full disk, an I/O error. Nothing was changed; the same call can succeed
    /// later, so a run meeting this stops resumable instead of failing.
    #[error("unavailable, nothing was changed (try again): {0}")]
    Busy(String),
}

/// How the failures `step test`'s mocks answer begin: the test file's words, told to the
/// step as written, where the host's own failures reach it as a reference to its log.
pub const MOCKED: &str = "step test:";

/// Writes `detail` of a failure of `what` to the host's log (stderr) under a fresh
/// reference; the reference, for whoever is told of the failure without its detail (the
/// infrastructure's: a database's address, others' sessions).
pub(crate) fn logged(what: &str, detail: &str) -> String {
    // Tells one log line from another, nothing more: a failure to draw it draws zeros.
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    let reference: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    eprintln!("error: {what} (ref {reference}): {detail}");
    reference
}

impl From<crate::public_id::IdError> for Error {
    fn from(e: crate::public_id::IdError) -> Self {
        match e {
            crate::public_id::IdError::Malformed(why) => Error::Invalid(why),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// A storage error is the infrastructure's failure (`Busy`: busy, full, I/O, SPEC WF-11) or
/// the host's own (`Internal`), classified by its SQLite code, never by its text; so a
/// service can use `?` on its storage calls.
impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        // A value the store refuses as such is the caller's input, not the host's failure.
        if let Some(refused) = crate::store::refused_input(&e) {
            return Error::Invalid(refused);
        }
        if crate::store::is_infrastructure(&e) {
            Error::Busy(e.to_string())
        } else {
            Error::Internal(e.to_string())
        }
    }
}

impl From<crate::store::postgres::PgError> for Error {
    fn from(e: crate::store::postgres::PgError) -> Self {
        use crate::store::postgres::PgError;
        match e {
            PgError::Invalid(why) => Error::Invalid(why),
            PgError::Conflict(why) => Error::Conflict(why),
            PgError::Busy(why) => Error::Busy(why),
            PgError::Internal(why) => Error::Internal(why),
        }
    }
}

impl From<crate::access::UnknownGroupKind> for Error {
    fn from(e: crate::access::UnknownGroupKind) -> Self {
        Error::Invalid(e.to_string())
    }
}

impl Error {
    /// Whether this is the infrastructure's failure rather than the call's (see
    /// [`Error::Busy`]).
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, Error::Busy(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sample_errors;

    // SPEC WF-11: `?` on a storage call classifies by SQLite code, as `platform::internal`
    // does: the infrastructure's failures are Busy (a run stops resumable), the rest Internal.
    #[test]
    fn storage_errors_convert_by_their_code() {
        let (infrastructure, constraint) = sample_errors();
        for (error, again) in infrastructure.into_iter().zip(sample_errors().0) {
            let e = Error::from(error);
            assert!(matches!(e, Error::Busy(_)), "{e:?}");
            assert_eq!(e, crate::platform::internal(again));
        }
        let e = Error::from(constraint);
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
        assert!(!e.is_infrastructure());
    }
}
