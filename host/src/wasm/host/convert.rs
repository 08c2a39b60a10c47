//! Conversions between the generated WIT types and the service types.

use crate::Error;
use crate::services::access::Decision;
use crate::services::cases::{self as svc};

use crate::wasm::bindings::{cases as wit_cases, types as wit};

impl From<Error> for wit::HostError {
    fn from(e: Error) -> Self {
        match e {
            Error::Denied(m) => wit::HostError::Denied(m),
            Error::NotFound(m) => wit::HostError::NotFound(m),
            Error::Invalid(m) => wit::HostError::Invalid(m),
            Error::Conflict(m) => wit::HostError::Conflict(m),
            Error::Internal(m) => wit::HostError::Internal(m),
            // WIT has no such case; the step sees an internal error, and the engine learns
            // of the cause from the services (`HostServices::infrastructure_failure`).
            e @ Error::Busy(_) => wit::HostError::Internal(e.to_string()),
        }
    }
}

impl From<wit::HostError> for Error {
    fn from(e: wit::HostError) -> Self {
        match e {
            wit::HostError::Denied(m) => Error::Denied(m),
            wit::HostError::NotFound(m) => Error::NotFound(m),
            wit::HostError::Invalid(m) => Error::Invalid(m),
            wit::HostError::Conflict(m) => Error::Conflict(m),
            wit::HostError::Internal(m) => Error::Internal(m),
        }
    }
}

impl From<Decision> for wit::Decision {
    fn from(d: Decision) -> Self {
        wit::Decision {
            allowed: d.allowed,
            reason: d.reason,
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
