//! [`Interactions`]: the interactions a person may answer, answering them, and the
//! Interaction Flows they may start (SPEC IX). Decisions are `access/flow.rs`'s.

use serde_json::Value;

use crate::Error;
use crate::interact::{Answer, InteractionView, OpenPage};
use crate::platform::Platform;
use crate::principal::Principal;
use crate::public_id::PublicId;
use crate::share::FlowEntry;

/// The interactions of a [`Platform`], each call for an acting principal.
#[derive(Clone, Copy)]
pub struct Interactions<'p> {
    platform: &'p Platform,
}

impl<'p> Interactions<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// One page of the open interactions of `workspace` that `principal` may answer, and
    /// only those (SPEC IX-7: no access, not listed), oldest first.
    pub fn open(
        &self,
        principal: &Principal,
        workspace: &str,
        page: &OpenPage,
    ) -> Result<Vec<InteractionView>, Error> {
        self.platform.open_interactions(principal, workspace, page)
    }

    /// Interaction `id`, if `principal` may see it; otherwise it does not exist for them
    /// (SPEC IX-7).
    pub fn show(&self, principal: &Principal, id: &PublicId) -> Result<InteractionView, Error> {
        self.platform.interaction(principal, id, None)
    }

    /// [`Interactions::show`] for a door bound to `workspace` (a web session): an
    /// interaction of another workspace does not exist there.
    pub fn show_in(
        &self,
        principal: &Principal,
        workspace: &str,
        id: &PublicId,
    ) -> Result<InteractionView, Error> {
        self.platform.interaction(principal, id, Some(workspace))
    }

    /// Answers interaction `id` as `principal` with `values`. Accepted once, only from someone
    /// the settings allow, only before the deadline, only with values the form accepts. Every
    /// attempt is audited with the responder and the outcome; a refused one changes nothing
    /// else (SPEC IX-8).
    pub fn respond(
        &self,
        principal: &Principal,
        id: &PublicId,
        values: &Value,
    ) -> Result<Answer, Error> {
        self.platform.respond(principal, id, values)
    }

    /// Records a refused attempt of `principal` to answer `id` through a door that showed
    /// nothing of it (see [`Platform::audit_refused_answer`]); never answers.
    pub fn audit_refused_answer(&self, principal: &Principal, id: &PublicId) -> Result<(), Error> {
        self.platform.audit_refused_answer(principal, id, None)
    }

    /// [`Interactions::audit_refused_answer`] for a door bound to `workspace`: an
    /// interaction of another workspace is not audited there, nor anywhere.
    pub fn audit_refused_answer_in(
        &self,
        principal: &Principal,
        workspace: &str,
        id: &PublicId,
    ) -> Result<(), Error> {
        self.platform
            .audit_refused_answer(principal, id, Some(workspace))
    }

    /// Every Interaction Flow started by its form that `principal` may start in `workspace`
    /// (SPEC IX-7: no access, not listed).
    pub fn startable_flows(
        &self,
        principal: &Principal,
        workspace: &str,
    ) -> Result<Vec<FlowEntry>, Error> {
        self.platform.startable_flows(principal, workspace)
    }
}
