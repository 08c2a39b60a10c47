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
}

impl Viewer {
    /// The viewer behind `caller`, per the access index.
    pub fn of(index: &AccessIndex, caller: &Caller) -> Viewer {
        let email = match &caller.principal {
            Principal::User { email, .. } => Some(email.clone()),
            Principal::ApiKey(id) => match index.key(id).map(|k| &k.kind) {
                Some(KeyKind::Personal { owner }) => Some(owner.clone()),
                _ => None,
            },
            Principal::Anonymous => None,
        };
        let bypass = index
            .check(
                &caller.principal,
                &caller.workspace,
                Scope::BypassCaseAccessRestriction,
            )
            .allowed;
        Viewer { email, bypass }
    }

    /// The email matched against `case_people`; the empty string matches nobody.
    pub fn email_str(&self) -> &str {
        self.email.as_ref().map_or("", Email::as_str)
    }
}
