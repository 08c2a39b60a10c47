//! [`Audit`]: reading the append-only audit log (SPEC AU-1, AU-2).

use crate::Error;
use crate::audit::AuditEntry;
use crate::platform::Platform;
use crate::principal::Principal;
pub use crate::store::audit::Page;

/// The audit log of a [`Platform`], read for a principal holding `audit.read`.
#[derive(Clone, Copy)]
pub struct Audit<'p> {
    platform: &'p Platform,
}

impl<'p> Audit<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// The audit log of `workspace` since `since`; needs `audit.read` (SPEC AU-1).
    pub fn log(
        &self,
        principal: &Principal,
        workspace: &str,
        since: i64,
    ) -> Result<Vec<AuditEntry>, Error> {
        self.platform
            .audit_log(principal, workspace, since, Page::Newest(usize::MAX))
    }

    /// One page of [`Audit::log`], oldest first: what a request reads, however long the log
    /// has grown (any member can grow it with refused answers; HTTP review).
    pub fn page(
        &self,
        principal: &Principal,
        workspace: &str,
        since: i64,
        page: Page,
    ) -> Result<Vec<AuditEntry>, Error> {
        self.platform.audit_log(principal, workspace, since, page)
    }
}
