//! The CLI's errors as its exit status tells them (issue 15 deliverable 6): 0 success, 1 a
//! refusal or a failed run, 2 a usage error, invalid input or the host's own failure. Clap
//! exits 2 on a usage error before any command runs; everything else is classified here by
//! type — the service's [`Error`] variant — never by parsing a message.

use std::process::ExitCode;

use flowhost::Error;

/// Why a command did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// The principal may not do this. "Not found" is one too: an outsider is answered as for
    /// a missing thing (SPEC ID-4), so both must exit alike. Exit 1.
    #[error("{0}")]
    Denied(String),
    /// A run or step ran and failed, or stopped before its end; a test or sample failed.
    /// Exit 1.
    #[error("{0}")]
    Failed(String),
    /// The input is wrong: an argument, a file, a value, or a request the current state
    /// refuses (a conflict). Exit 2.
    #[error("{0}")]
    Invalid(String),
    /// The host failed: its database unavailable or broken, an output it cannot write.
    /// Exit 2.
    #[error("{0}")]
    Internal(String),
}

impl CliError {
    /// The exit status of this error.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.status())
    }

    /// The exit status as a number (1 or 2).
    pub fn status(&self) -> u8 {
        match self {
            CliError::Denied(_) | CliError::Failed(_) => 1,
            CliError::Invalid(_) | CliError::Internal(_) => 2,
        }
    }

    /// Classifies a command's error: one the command typed itself ([`CliError`],
    /// [`Reported`]), else the first [`Error`] of its chain, else a storage failure of
    /// the infrastructure (internal), else bad input (an argument or file the command could
    /// not use). `message` is what is printed.
    pub fn classify(e: &anyhow::Error, message: String) -> CliError {
        let kind = e
            .chain()
            .find_map(|cause| {
                if let Some(Reported(reported)) = cause.downcast_ref::<Reported>() {
                    Some(reported.clone())
                } else if let Some(typed) = cause.downcast_ref::<CliError>() {
                    Some(typed.clone())
                } else {
                    cause.downcast_ref::<Error>().map(CliError::from)
                }
            })
            .unwrap_or_else(|| {
                if flowhost::store::chain_is_infrastructure(e) {
                    CliError::Internal(String::new())
                } else {
                    CliError::Invalid(String::new())
                }
            });
        kind.with_message(message)
    }

    /// The same kind of error with another message.
    fn with_message(self, message: String) -> CliError {
        match self {
            CliError::Denied(_) => CliError::Denied(message),
            CliError::Failed(_) => CliError::Failed(message),
            CliError::Invalid(_) => CliError::Invalid(message),
            CliError::Internal(_) => CliError::Internal(message),
        }
    }
}

impl From<&Error> for CliError {
    fn from(e: &Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Denied(_) | Error::NotFound(_) => CliError::Denied(message),
            Error::Invalid(_) | Error::Conflict(_) => CliError::Invalid(message),
            Error::Internal(_) | Error::Busy(_) => CliError::Internal(message),
        }
    }
}

/// An error already reported to the user in full (located errors, a failed run's trace):
/// only its exit status is left to set.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub CliError);

#[cfg(test)]
mod tests {
    use super::*;

    /// Denials and failed runs exit 1; bad input and the host's failures exit 2; the kind
    /// is read from the error's type, through any context added on the way up.
    #[test]
    fn errors_are_classified_by_type() {
        let denied = anyhow::Error::from(Error::Denied(flowhost::access::Reason::Anonymous));
        assert_eq!(CliError::classify(&denied, "m".into()).status(), 1);
        let outsider =
            anyhow::Error::from(Error::NotFound("there is no run 7".into())).context("runs show");
        assert_eq!(
            CliError::classify(&outsider, "m".into()),
            CliError::Denied("m".into())
        );
        let invalid = anyhow::Error::from(Error::Invalid("bad role".into()));
        assert_eq!(CliError::classify(&invalid, "m".into()).status(), 2);
        let busy = anyhow::Error::from(Error::Busy("busy".into()));
        assert_eq!(
            CliError::classify(&busy, "m".into()),
            CliError::Internal("m".into())
        );
        let failed = anyhow::Error::from(Reported(CliError::Failed("run 3 failed".into())));
        assert_eq!(CliError::classify(&failed, "m".into()).status(), 1);
        // Text that looks like a denial is not one: only the type decides.
        let text = anyhow::anyhow!("denied: this is only text");
        assert_eq!(
            CliError::classify(&text, "m".into()),
            CliError::Invalid("m".into())
        );
    }
}
