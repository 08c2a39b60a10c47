//! [`Tenant`]: tenant files — apply one as a principal, bootstrap a brand-new tenant, export
//! what a principal manages (SPEC UA-1, ID-1..3). The rules are `tenant/`'s.

use crate::Error;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::tenant::{ApplyError, ApplyReport, TenantFile, TenantSpec};

/// Tenant files over a [`Platform`].
#[derive(Clone, Copy)]
pub struct Tenant<'p> {
    platform: &'p Platform,
}

impl<'p> Tenant<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// Applies `file` as `actor`, who must hold `user.write` and `user.read` in every
    /// existing workspace of the file and own each new one; nothing applies unless all of it
    /// may.
    pub fn apply(&self, actor: &Principal, file: &TenantFile) -> Result<ApplyReport, ApplyError> {
        crate::tenant::apply(self.platform, file, Some(actor))
    }

    /// Applies `file` with nobody acting, only while nobody owns its organization or any
    /// workspace it names: the one way to start a brand-new tenant.
    pub fn bootstrap(&self, file: &TenantFile) -> Result<ApplyReport, ApplyError> {
        crate::tenant::bootstrap(self.platform, file)
    }

    /// The organization `org` (or the only one `principal` may export) in the tenant-file
    /// format, with only the workspaces where `principal` holds `user.write`.
    pub fn export(&self, principal: &Principal, org: Option<&str>) -> Result<TenantSpec, Error> {
        crate::tenant::export_for(self.platform, principal, org)
    }
}
