//! [`Shares`]: sharing published workflows and Interaction Flows to other workspaces, by
//! revision (SPEC IX-6, SH-1..3).

use crate::Error;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::public_id::PublicId;
use crate::share::{Share, ShareKind, Shared};

/// The shares of a [`Platform`], each call for an acting principal.
#[derive(Clone, Copy)]
pub struct Shares<'p> {
    platform: &'p Platform,
}

impl<'p> Shares<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// Shares the published workflow `name` of `source` to `destination` (SPEC SH-1); needs
    /// `resource.share` in the source. Custom-role selections are reported as warnings: they
    /// do not carry over (SH-2, IX-6).
    pub fn share(
        &self,
        actor: &Principal,
        kind: ShareKind,
        name: &str,
        source: &str,
        destination: &str,
    ) -> Result<Shared, Error> {
        self.platform.share(actor, kind, name, source, destination)
    }

    /// Accepts share `id` at the source's latest revision; needs `resource.share` in its
    /// destination (an Owner there), who must be able to bind the revision's `run_as` there
    /// (SPEC WF-10). Accepting an accepted share again takes a newer revision (SPEC SH-3).
    pub fn accept(&self, actor: &Principal, id: &PublicId) -> Result<Share, Error> {
        self.platform.accept_share(actor, id, None)
    }

    /// [`Self::accept`] only at `revision`, the one its acceptor looked at: a revision the
    /// source published since is a conflict naming both, not accepted unseen (SPEC SH-3;
    /// round 23 interactions review).
    pub fn accept_at(
        &self,
        actor: &Principal,
        id: &PublicId,
        revision: i64,
    ) -> Result<Share, Error> {
        self.platform.accept_share(actor, id, Some(revision))
    }

    /// Shares into and out of `workspace`; needs `playbook.list` there.
    pub fn list(&self, actor: &Principal, workspace: &str) -> Result<Vec<Share>, Error> {
        self.platform.list_shares(actor, workspace)
    }
}
