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
    #[error("the database is unavailable, nothing was changed (try again): {0}")]
    Busy(String),
}

impl From<crate::public_id::IdError> for Error {
    fn from(e: crate::public_id::IdError) -> Self {
        match e {
            crate::public_id::IdError::Malformed(why) => Error::Invalid(why),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl Error {
    /// Whether this is the infrastructure's failure rather than the call's (see
    /// [`Error::Busy`]).
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, Error::Busy(_))
    }
}
