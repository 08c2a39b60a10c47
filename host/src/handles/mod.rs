//! Service handles: the doors of the library. `platform.runs()`, `.access()`, … each hand out
//! a borrowed handle whose public methods take the acting principal and decide access inside
//! (through the checks of `access/` and the services), so the CLI, the harness and a coming
//! HTTP server reach those operations only as someone (issue 15).
//!
//! A handle owns no state and no SQL: it forwards to the service modules, whose methods are
//! `pub(crate)`. Which layer may call which, and what is still public besides (and why), is
//! in `ARCHITECTURE.md`.

mod access;
mod admin;
mod audit;
mod housekeeping;
mod interactions;
mod runs;
mod shares;
mod signin;
mod tenant;
mod workflows;

pub use access::Access;
pub use admin::Admin;
pub use audit::{Audit, Page as AuditPage};
pub use housekeeping::Housekeeping;
pub use interactions::Interactions;
pub use runs::Runs;
pub use shares::Shares;
pub use signin::SignIns;
pub use tenant::Tenant;
pub use workflows::Workflows;

use crate::platform::Platform;

impl Platform {
    /// Runs: list, show, authorize a resume, and outcomes as a principal may see them.
    pub fn runs(&self) -> Runs<'_> {
        Runs::new(self)
    }

    /// Access questions: a decision, and the path behind it.
    pub fn access(&self) -> Access<'_> {
        Access::new(self)
    }

    /// Users, custom roles, groups, API keys and SSO of a workspace.
    pub fn admin(&self) -> Admin<'_> {
        Admin::new(self)
    }

    /// The audit log.
    pub fn audit(&self) -> Audit<'_> {
        Audit::new(self)
    }

    /// Deleting expired rows (sign-in links, sessions, OIDC logins, webhook replay records):
    /// the operator's, for nobody.
    pub fn housekeeping(&self) -> Housekeeping<'_> {
        Housekeeping::new(self)
    }

    /// Interactions and the Interaction Flows one may start.
    pub fn interactions(&self) -> Interactions<'_> {
        Interactions::new(self)
    }

    /// Shares of published workflows and flows to other workspaces.
    pub fn shares(&self) -> Shares<'_> {
        Shares::new(self)
    }

    /// Browser sign-in: one-time links, sessions (SPEC SV-1).
    pub fn signins(&self) -> SignIns<'_> {
        SignIns::new(self)
    }

    /// Tenant files: apply, bootstrap, export.
    pub fn tenant(&self) -> Tenant<'_> {
        Tenant::new(self)
    }

    /// Publishing workflows and reading their revisions.
    pub fn workflows(&self) -> Workflows<'_> {
        Workflows::new(self)
    }
}
