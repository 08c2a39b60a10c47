//! A run's outcome as an API answer: a run stopped, resumable (SPEC WF-11), stopped for the
//! host's reasons, whose words can hold what no client should read (the database server's
//! messages and address, other tenants' load): they go to the server's log under a
//! reference, as the host's own failures do (`error.rs`; leak review).

use axum::Json;

use crate::runs::RunStatus;
use crate::workflow::RunOutcome;

use super::error::logged;

/// What the server's log holds in place of a stopped run's reason.
const IN_THE_LOG: &str = "the detail is in the server's log (ref ";

/// `outcome` as answered: a stopped run's reason logged, the answer naming its reference.
pub(super) fn answered(outcome: RunOutcome) -> Json<RunOutcome> {
    Json(shown(outcome))
}

/// `outcome` with a stopped run's reason logged (once: a reason that names a reference
/// already is kept).
fn shown(outcome: RunOutcome) -> RunOutcome {
    match &outcome.error {
        Some(why) if outcome.status == RunStatus::Running && !why.contains(IN_THE_LOG) => {
            let reference = logged("run stopped", why);
            RunOutcome {
                error: Some(stopped(
                    &format!("run {} stopped, resumable", outcome.run_id),
                    &reference,
                )),
                ..outcome
            }
        }
        _ => outcome,
    }
}

/// `lead`, then where its detail is: the server's log under `reference`.
pub(super) fn stopped(lead: &str, reference: &str) -> String {
    format!("{lead}; {IN_THE_LOG}{reference})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::public_id::{IdKind, PublicId};
    use crate::runs::RunRef;

    #[test]
    fn a_stopped_runs_reason_is_logged_and_only_its_reference_answered() {
        let run = RunRef {
            key: 1,
            id: PublicId::new(IdKind::Run).expect("id"),
        };
        let why = "stopped, resumable: connection to 10.0.0.7:5432 refused".to_owned();
        let out = shown(RunOutcome::unfinished(&run, RunStatus::Running, Some(why)));
        let error = out.error.expect("a reason");
        assert!(!error.contains("10.0.0.7"), "{error}");
        assert!(error.contains(IN_THE_LOG), "{error}");
        // Once: shown again, it is kept as it is.
        let again = shown(RunOutcome::unfinished(
            &run,
            RunStatus::Running,
            Some(error.clone()),
        ));
        assert_eq!(again.error.as_deref(), Some(error.as_str()));
        // A failed run's error is the run's own (a step's message), shown as the reader's
        // sight allows upstream.
        let failed = shown(RunOutcome::unfinished(
            &run,
            RunStatus::Failed,
            Some("step `x` failed: no".into()),
        ));
        assert_eq!(failed.error.as_deref(), Some("step `x` failed: no"));
    }
}
