//! [`Access`]: access questions — may this principal use this scope here, and why (SPEC
//! RB-3, ID-4). An outsider gets one answer for every workspace (`access/questions.rs`).

use crate::Error;
use crate::access::explain::{Explanation, explain};
use crate::platform::Platform;
use crate::principal::Principal;

/// Access questions over a [`Platform`]'s current index.
#[derive(Clone, Copy)]
pub struct Access<'p> {
    platform: &'p Platform,
}

impl<'p> Access<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// The decision for `principal`, `workspace` and `scope` (a name: an unknown scope is
    /// explained too), with the path behind it. Stored access data that does not read is an
    /// error, not a shorter explanation.
    pub fn explain(
        &self,
        principal: &Principal,
        workspace: &str,
        scope: &str,
    ) -> Result<Explanation, Error> {
        let index = self.platform.index();
        let db = self.platform.db()?;
        Ok(explain(&index, db.conn(), principal, workspace, scope)?)
    }

    /// The organization an API key belongs to (the one its workspace is in), else that of
    /// `workspace` (a web session's), `None` for neither: what the server counts a tenant's
    /// run slots by (`server/run_slots.rs`). Resource accounting, decides no access.
    pub fn tenant_of(&self, principal: &Principal, workspace: Option<&str>) -> Option<String> {
        let index = self.platform.index();
        let workspace = match principal {
            Principal::ApiKey(id) => index.key(id)?.workspace.clone(),
            _ => workspace?.to_owned(),
        };
        index.workspace(&workspace).map(|w| w.org.clone())
    }
}
