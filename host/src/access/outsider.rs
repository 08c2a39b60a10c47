//! Outsiders (SPEC ID-4): a principal with no standing in a workspace is answered as if the
//! workspace, and everything in it, did not exist, and leaves no trace there (no audit row).

use crate::principal::Principal;

use super::index::{AccessIndex, Standing};
use super::scope::Scope;

impl AccessIndex {
    /// Whether `principal` has no standing at all in `workspace`: not a member, not an
    /// external SSO identity known there, not one of its keys, or the workspace does not
    /// exist. A member refused by SSO or by their role is not an outsider.
    pub fn is_outsider(&self, principal: &Principal, workspace: &str) -> bool {
        match principal {
            Principal::User { email, via } => match self.standing(workspace, email, *via) {
                Standing::Nothing(reason) => reason.is_outsider(),
                Standing::Member { .. } | Standing::External(_) => false,
            },
            Principal::ApiKey(_) => self
                .check(principal, workspace, Scope::PlaybookGet)
                .reason()
                .is_outsider(),
            Principal::Run(run) => !self.run_stands(run, workspace),
            Principal::Anonymous => true,
        }
    }
}
