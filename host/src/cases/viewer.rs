//! Who is looking at cases, as far as visibility is concerned (SPEC CS-2).

use crate::access::{AccessIndex, KeyKind, Scope};
use crate::principal::{Caller, Email, Principal};

/// The identity restricted cases are matched against, and whether the caller bypasses
/// restrictions altogether.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The person acting (a personal key acts as its owner); `None` for service keys.
    pub email: Option<Email>,
    /// Holds `bypass.case.access.restriction`.
    pub bypass: bool,
    /// A second person who must also be named on a restricted case: a run sees what both
    /// its identity and its publisher see (SPEC WF-10).
    pub also: Option<Email>,
    /// Holds `case.read` (a run: always; its steps' reads are each authorized). Listings of
    /// runs and events about cases follow it (SPEC CS-4): a run a case event started told
    /// someone who may not read cases that the case exists, changed, and what its
    /// conditions tested (leak review).
    pub reads_cases: bool,
}

impl Viewer {
    /// The viewer behind `caller`, per the access index.
    pub fn of(index: &AccessIndex, caller: &Caller) -> Viewer {
        if let Principal::Run(run) = &caller.principal {
            let [identity, publisher] = index.run_case_sight(run, &caller.workspace);
            return match (identity.bypass, publisher.bypass) {
                (true, true) => Viewer {
                    email: identity.email,
                    bypass: true,
                    also: None,
                    reads_cases: true,
                },
                (true, false) => Viewer {
                    email: publisher.email,
                    bypass: false,
                    also: None,
                    reads_cases: true,
                },
                (false, true) => Viewer {
                    email: identity.email,
                    bypass: false,
                    also: None,
                    reads_cases: true,
                },
                // Both must be named; a side with no person sees no restricted case.
                (false, false) => match (identity.email, publisher.email) {
                    (Some(i), Some(p)) if i == p => Viewer {
                        email: Some(i),
                        bypass: false,
                        also: None,
                        reads_cases: true,
                    },
                    (Some(i), Some(p)) => Viewer {
                        email: Some(i),
                        bypass: false,
                        also: Some(p),
                        reads_cases: true,
                    },
                    _ => Viewer {
                        email: None,
                        bypass: false,
                        also: None,
                        reads_cases: true,
                    },
                },
            };
        }
        let email = match &caller.principal {
            Principal::User { email, .. } => Some(email.clone()),
            Principal::ApiKey(id) => match index.key(id).map(|k| &k.kind) {
                Some(KeyKind::Personal { owner }) => Some(owner.clone()),
                _ => None,
            },
            Principal::Anonymous | Principal::Run(_) => None,
        };
        // The bypass shows restricted cases only to someone who may read cases at all (SPEC
        // CS-4), wherever a viewer decides: listings of runs and events as well as cases.
        let holds = |scope| {
            index
                .check(&caller.principal, &caller.workspace, scope)
                .allowed()
        };
        let reads_cases = holds(Scope::CaseRead);
        let bypass = holds(Scope::BypassCaseAccessRestriction) && reads_cases;
        Viewer {
            email,
            bypass,
            also: None,
            reads_cases,
        }
    }

    /// The email matched against `case_people`; the empty string matches nobody.
    pub fn email_str(&self) -> &str {
        self.email.as_ref().map_or("", Email::as_str)
    }

    /// The second email a restricted case must also name, if any.
    pub fn also_str(&self) -> Option<&str> {
        self.also.as_ref().map(Email::as_str)
    }
}
