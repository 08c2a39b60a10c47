//! Conversions between the generated WIT types and the service types.

use crate::Error;
use crate::access::AccessDecision;
use crate::services::cases::{self as svc};

use crate::wasm::bindings::{cases as wit_cases, types as wit};

/// The one place a service error becomes the WIT `host-error`: its kind is its variant, and
/// a denial's reason is printed here (SPEC RB-3).
impl From<Error> for wit::HostError {
    fn from(e: Error) -> Self {
        match e {
            Error::Denied(reason) => wit::HostError::Denied(reason.to_string()),
            Error::NotFound(m) => wit::HostError::NotFound(m),
            Error::Invalid(m) => wit::HostError::Invalid(m),
            Error::Conflict(m) => wit::HostError::Conflict(m),
            // What `step test`'s mocks answer is the test file's, told as written.
            Error::Internal(m) if m.starts_with(crate::error::MOCKED) => {
                wit::HostError::Internal(m)
            }
            // The host's and the infrastructure's own failures reach the step (which may
            // write them into a case) as a reference to the log, never their detail: a
            // database's address, other sessions' ids (leak review), as at the HTTP door.
            Error::Internal(m) => wit::HostError::Internal(format!(
                "the host failed; the detail is in its log (ref {})",
                crate::error::logged("host call internal", &m)
            )),
            // WIT has no such case; the step sees an internal error, and the engine learns
            // of the cause from the services (`services/watch.rs`).
            Error::Busy(m) => wit::HostError::Internal(format!(
                "the host is unavailable, nothing was changed (try again); the detail is in \
                 its log (ref {})",
                crate::error::logged("host call unavailable", &m)
            )),
        }
    }
}

/// A `host-error` a step returned as its own failure, in the words the host uses for its own
/// errors.
pub(crate) fn describe_host_error(e: &wit::HostError) -> String {
    match e {
        wit::HostError::Denied(m) => format!("denied: {m}"),
        wit::HostError::NotFound(m) => format!("not found: {m}"),
        wit::HostError::Invalid(m) => format!("invalid: {m}"),
        wit::HostError::Conflict(m) => format!("conflict: {m}"),
        wit::HostError::Internal(m) => format!("internal error: {m}"),
    }
}

/// The one place an access decision becomes the WIT `decision`: `allowed` read from the
/// variant, the reason printed (SPEC RB-3).
impl From<AccessDecision> for wit::Decision {
    fn from(d: AccessDecision) -> Self {
        wit::Decision {
            allowed: d.allowed(),
            reason: d.into_reason().to_string(),
        }
    }
}

impl From<wit::AccessMode> for svc::AccessMode {
    fn from(m: wit::AccessMode) -> Self {
        match m {
            wit::AccessMode::FullAccess => svc::AccessMode::FullAccess,
            wit::AccessMode::Restricted => svc::AccessMode::Restricted,
        }
    }
}

impl From<svc::AccessMode> for wit::AccessMode {
    fn from(m: svc::AccessMode) -> Self {
        match m {
            svc::AccessMode::FullAccess => wit::AccessMode::FullAccess,
            svc::AccessMode::Restricted => wit::AccessMode::Restricted,
        }
    }
}

impl From<wit::Severity> for svc::Severity {
    fn from(s: wit::Severity) -> Self {
        match s {
            wit::Severity::Low => svc::Severity::Low,
            wit::Severity::Medium => svc::Severity::Medium,
            wit::Severity::High => svc::Severity::High,
            wit::Severity::Critical => svc::Severity::Critical,
        }
    }
}

impl From<svc::Severity> for wit::Severity {
    fn from(s: svc::Severity) -> Self {
        match s {
            svc::Severity::Low => wit::Severity::Low,
            svc::Severity::Medium => wit::Severity::Medium,
            svc::Severity::High => wit::Severity::High,
            svc::Severity::Critical => wit::Severity::Critical,
        }
    }
}

impl From<svc::CaseRecord> for wit::CaseRecord {
    fn from(c: svc::CaseRecord) -> Self {
        wit::CaseRecord {
            id: c.id,
            title: c.title,
            description: c.description,
            severity: c.severity.into(),
            state: c.state,
            reporter: c.reporter,
            assignee: c.assignee,
            reviewers: c.reviewers,
            access_mode: c.access_mode.into(),
            collaborators: c.collaborators,
            fields_json: c.fields.to_string(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl From<svc::Restrictions> for wit::Restrictions {
    fn from(r: svc::Restrictions) -> Self {
        wit::Restrictions {
            access_mode: r.access_mode.into(),
            collaborators: r.collaborators,
        }
    }
}

impl From<svc::CasePage> for wit_cases::CasePage {
    fn from(p: svc::CasePage) -> Self {
        wit_cases::CasePage {
            cases: p.cases.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// `new-case` → service input; `fields-json` must be a JSON object.
pub(super) fn new_case(c: wit_cases::NewCase) -> Result<svc::NewCase, Error> {
    let fields = c
        .fields_json
        .as_deref()
        .map(svc::parse_fields_json)
        .transpose()?;
    Ok(svc::NewCase {
        title: c.title,
        description: c.description,
        severity: c.severity.into(),
        state: c.state,
        assignee: c.assignee,
        reviewers: c.reviewers,
        access_mode: c.access_mode.map(Into::into),
        collaborators: c.collaborators,
        fields,
    })
}

impl From<wit_cases::CaseQuery> for svc::CaseQuery {
    fn from(q: wit_cases::CaseQuery) -> Self {
        let f = q.filter;
        svc::CaseQuery {
            filter: svc::CaseFilter {
                access_mode: f.access_mode.map(Into::into),
                state: f.state,
                severity: f.severity.map(Into::into),
                assignee: f.assignee,
                text: f.text,
            },
            sort: match q.sort {
                wit_cases::CaseSort::CreatedDesc => svc::CaseSort::CreatedDesc,
                wit_cases::CaseSort::CreatedAsc => svc::CaseSort::CreatedAsc,
                wit_cases::CaseSort::UpdatedDesc => svc::CaseSort::UpdatedDesc,
                wit_cases::CaseSort::SeverityDesc => svc::CaseSort::SeverityDesc,
            },
            page_size: q.page_size,
            cursor: q.cursor,
        }
    }
}

impl From<wit_cases::RestrictionUpdate> for svc::RestrictionUpdate {
    fn from(u: wit_cases::RestrictionUpdate) -> Self {
        svc::RestrictionUpdate {
            access_mode: u.access_mode.map(Into::into),
            set_collaborators: u.set_collaborators,
            add_collaborators: u.add_collaborators,
            remove_collaborators: u.remove_collaborators,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The infrastructure's detail stays in the host's log (leak review).
    #[test]
    fn a_hosts_failure_reaches_the_step_without_its_detail() {
        for e in [
            Error::Busy("cannot connect to PostgreSQL at db.internal:5432".into()),
            Error::Internal("deadlock with process 4242".into()),
        ] {
            let wit::HostError::Internal(m) = wit::HostError::from(e) else {
                panic!("internal");
            };
            assert!(m.contains("(ref "), "{m}");
            assert!(!m.contains("db.internal") && !m.contains("4242"), "{m}");
        }
        // What a `step test` mock answers is the test file's, told as written.
        let mocked = format!("{} the CMDB is down", crate::error::MOCKED);
        let wit::HostError::Internal(told) = wit::HostError::from(Error::Internal(mocked.clone()))
        else {
            panic!("internal");
        };
        assert_eq!(told, mocked);
    }
    use crate::access::{Reason, RoleName, Scope};

    // SPEC RB-3: the WIT door prints a decision's reason unchanged, `allowed` from its variant.
    #[test]
    fn the_door_prints_a_decisions_reason() {
        let granted = Reason::Granted {
            role: RoleName::parse("viewer"),
            scope: Scope::CaseRead,
        };
        let missing = Reason::Missing {
            role: RoleName::parse("viewer"),
            scope: Scope::CaseWrite,
        };
        let wit: wit::Decision = AccessDecision::Denied(missing).into();
        assert!(!wit.allowed);
        assert_eq!(
            wit.reason,
            "role `viewer` does not include `case.write` (default deny, SPEC RB-3)"
        );
        let wit: wit::Decision = AccessDecision::Allowed(granted.clone()).into();
        assert!(wit.allowed);
        assert_eq!(wit.reason, granted.to_string());
    }

    // SPEC WF-6: a denial keeps its words at the door, the kind its variant.
    #[test]
    fn a_denial_reaches_the_step_as_denied_with_its_reason() {
        let e: wit::HostError = Error::Denied(Reason::NotGranted("cases:read")).into();
        assert!(matches!(
            e,
            wit::HostError::Denied(m) if m == "the workflow does not grant this step `cases:read` (SPEC WF-6)"
        ));
    }
}
