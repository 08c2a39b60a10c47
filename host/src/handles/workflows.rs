//! [`Workflows`]: publishing workflow definitions and reading their revisions (SPEC WF-7,
//! WF-10).

use crate::Error;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::workflow::publish::Revision;
use crate::workflow::webhooks::{Accepted, Delivery, Refusal, Webhook};
use crate::workflow::{Resolver, Workflow};

/// The published workflows of a [`Platform`], each call for an acting principal.
#[derive(Clone, Copy)]
pub struct Workflows<'p> {
    platform: &'p Platform,
}

impl<'p> Workflows<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// Publishes `workflow` (parsed from `definition`, read from `source`) as a new revision;
    /// needs `playbook.publish`, and binds its `run_as` to the publisher (SPEC WF-10). The
    /// components it uses are found with `resolver` and pinned (stored by content). Publishing
    /// the same definition, components and binding again keeps the latest revision.
    pub fn publish(
        &self,
        actor: &Principal,
        workflow: &Workflow,
        definition: &str,
        source: &str,
        resolver: &Resolver,
    ) -> Result<i64, Error> {
        self.platform
            .publish_workflow(actor, workflow, definition, source, resolver)
    }

    /// Publishes `definition`, sent to `workspace` without a file of its own (the HTTP API),
    /// as a new revision: `playbook.publish` is checked before the definition is read, and
    /// its components are `step:<name>` from `step_dirs` only, never a path (a path would
    /// name the server's own files). Returns the parsed workflow and its revision.
    pub fn publish_sent(
        &self,
        actor: &Principal,
        workspace: &str,
        definition: &str,
        source: &str,
        step_dirs: Vec<std::path::PathBuf>,
    ) -> Result<(Workflow, i64), Error> {
        self.platform
            .publish_sent(actor, workspace, definition, source, step_dirs)
    }

    /// The latest revision of every published workflow of `workspace`; needs `playbook.list`.
    pub fn list(&self, actor: &Principal, workspace: &str) -> Result<Vec<Revision>, Error> {
        self.platform.list_workflows(actor, workspace)
    }

    /// Every revision of workflow `name`, newest first; needs `playbook.get`.
    pub fn history(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
    ) -> Result<Vec<Revision>, Error> {
        self.platform.workflow_history(actor, workspace, name)
    }

    /// The webhook of published workflow `name` (its trigger `webhook`): created on first
    /// ask, its secret shown then and only then, or given a new secret when `rotate`; needs
    /// `playbook.publish` (issue 16).
    pub fn webhook(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
        rotate: bool,
    ) -> Result<Webhook, Error> {
        self.platform.webhook_for(actor, workspace, name, rotate)
    }

    /// Accepts a request to a webhook: no principal sends it; its signature under the
    /// webhook's secret is the credential, checked inside with its freshness, replays and
    /// idempotency key (SPEC SV-1, WF-2). The run is recorded before this returns.
    pub fn accept_webhook(&self, delivery: &Delivery<'_>) -> Result<Accepted, Refusal> {
        self.platform.accept_webhook(delivery)
    }
}
