//! Who may ask questions about access in a workspace (SPEC ID-4): `check-flow-access`,
//! `has-scope`, `access check [--explain]`. Their answers name members, roles, flows and
//! settings, so they are given only to a principal with a standing there; anyone else gets
//! one answer, the same whether the workspace, the flow or the person asked about exists.

use crate::principal::{Principal, SignIn};

use super::decision::Reason;
use super::index::{AccessIndex, Standing};

impl AccessIndex {
    /// `Ok` if `principal` has a standing in `workspace`: a person acting as a member (by the
    /// same rules as every check: SSO denial, SSO-only), an external SSO identity signed in
    /// through SSO, or a usable API key of the workspace. Otherwise the one outsider reason,
    /// [`Reason::NoStanding`], which says nothing about the workspace (default deny), naming
    /// a run by nothing of its own ([`Reason::BorrowedIdentity`] for a borrowed one).
    pub fn may_ask(&self, principal: &Principal, workspace: &str) -> Result<(), Reason> {
        let stands = match principal {
            Principal::User { email, via } => matches!(
                self.standing(workspace, email, *via),
                Standing::Member { .. } | Standing::External(SignIn::Sso)
            ),
            Principal::ApiKey(id) => self.key_grant(workspace, id).is_ok(),
            Principal::Run(run) => self.run_stands(run, workspace),
            Principal::Anonymous => false,
        };
        if stands {
            return Ok(());
        }
        let workspace = workspace.to_owned();
        Err(match principal {
            // A run's refusal is read by whoever sees the run, to whom its identity may be
            // another workspace's (a shared flow's) or a key id they are not told: it names
            // neither its identity nor its publisher (round 24 leaks review).
            Principal::Run(run) if run.borrowed => Reason::BorrowedIdentity { workspace },
            Principal::Run(_) => Reason::NoStanding {
                who: "the identity this run acts as, or whoever bound it,".to_owned(),
                workspace,
            },
            _ => Reason::NoStanding {
                who: principal.to_string(),
                workspace,
            },
        })
    }
}
