//! Draft and published workflows (SPEC WF-7): a definition file is the draft; publishing
//! stores it as a new revision, kept for history. Only published revisions answer triggers.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::clock;
use crate::platform::{Platform, internal};
use crate::principal::Principal;
use crate::services::HostError;

use super::model::Workflow;

/// For an Interaction Flow started by its form: its title, form and access settings as stored
/// with the revision (they hold no context references, SPEC IX-3).
fn stored_flow(workflow: &Workflow) -> Result<Option<String>, HostError> {
    let Some(ix) = &workflow.trigger.interaction else {
        return Ok(None);
    };
    let access = crate::interact::resolve::resolve(&ix.access, &serde_json::Value::Null)
        .map_err(HostError::Invalid)?;
    let title = match ix.title.render(&json!({})) {
        Ok(serde_json::Value::String(s)) if !s.is_empty() => s,
        _ => workflow.name.clone(),
    };
    let flow = crate::share::StoredFlow {
        title,
        form: ix.form.clone(),
        access,
    };
    serde_json::to_string(&flow).map(Some).map_err(internal)
}

/// One published revision.
#[derive(Clone, Debug, Serialize)]
pub struct Revision {
    pub name: String,
    pub revision: i64,
    pub published_by: String,
    pub published_at: String,
    #[serde(skip)]
    pub definition: String,
    #[serde(skip)]
    pub source: String,
    /// For an Interaction Flow started by its form: its stored title, form and access.
    #[serde(skip)]
    pub flow: Option<String>,
}

impl Platform {
    /// Publishes `workflow` (parsed from `definition`, read from `source`) as a new revision;
    /// needs `playbook.publish`. Publishing an unchanged definition keeps the latest revision.
    pub fn publish_workflow(
        &self,
        actor: &Principal,
        workflow: &Workflow,
        definition: &str,
        source: &str,
    ) -> Result<i64, HostError> {
        self.authorize(actor, &workflow.workspace, Scope::PlaybookPublish)?;
        if let Some(source) = self.shared_into(&workflow.workspace, &workflow.name)? {
            return Err(HostError::Conflict(format!(
                "`{}` is shared to `{}` from `{source}`; the destination may use it, not modify it (SPEC SH-1)",
                workflow.name, workflow.workspace
            )));
        }
        let flow = stored_flow(workflow)?;
        self.transact(|tx| {
            let latest: Option<(i64, String)> = tx
                .query_row(
                    "SELECT revision, definition FROM workflow_revisions WHERE workspace = ?1 AND name = ?2 ORDER BY revision DESC LIMIT 1",
                    params![workflow.workspace, workflow.name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(internal)?;
            if let Some((revision, text)) = &latest
                && text == definition
            {
                return Ok(*revision);
            }
            let revision = latest.map_or(1, |(r, _)| r + 1);
            tx.execute(
                "INSERT INTO workflow_revisions (workspace, name, revision, definition, source, published_by, published_at, flow) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![workflow.workspace, workflow.name, revision, definition, source, actor.to_string(), clock::now_unix(), flow],
            )
            .map_err(internal)?;
            audit::record(tx, &Actor::Principal(actor), &workflow.workspace, "workflow.publish", &workflow.name, json!({ "revision": revision }))?;
            Ok(revision)
        })
    }

    /// The latest revision of every published workflow of `workspace`; needs `playbook.list`.
    pub fn list_workflows(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<Revision>, HostError> {
        self.authorize(actor, workspace, Scope::PlaybookList)?;
        self.latest_revisions(workspace)
    }

    /// Every revision of workflow `name`, newest first; needs `playbook.get`.
    pub fn workflow_history(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
    ) -> Result<Vec<Revision>, HostError> {
        self.authorize(actor, workspace, Scope::PlaybookGet)?;
        self.revisions(
            "WHERE workspace = ?1 AND name = ?2 ORDER BY revision DESC",
            params![workspace, name],
        )
    }

    /// The latest revision of `name` published in `workspace`, if any.
    pub fn latest_revision(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<Revision>, HostError> {
        let mut found = self.revisions(
            "WHERE workspace = ?1 AND name = ?2 ORDER BY revision DESC LIMIT 1",
            params![workspace, name],
        )?;
        Ok(found.pop())
    }

    /// The latest revision of each published workflow of `workspace` (for triggers).
    pub fn latest_revisions(&self, workspace: &str) -> Result<Vec<Revision>, HostError> {
        self.revisions(
            "WHERE workspace = ?1 AND revision = (SELECT max(revision) FROM workflow_revisions w WHERE w.workspace = workflow_revisions.workspace AND w.name = workflow_revisions.name) ORDER BY name",
            params![workspace],
        )
    }

    fn revisions(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Revision>, HostError> {
        let db = self.db();
        let mut stmt = db
            .conn()
            .prepare(&format!("SELECT name, revision, published_by, published_at, definition, source, flow FROM workflow_revisions {filter}"))
            .map_err(internal)?;
        let rows = stmt
            .query_map(params, |r| {
                Ok(Revision {
                    name: r.get(0)?,
                    revision: r.get(1)?,
                    published_by: r.get(2)?,
                    published_at: clock::rfc3339(r.get(3)?),
                    definition: r.get(4)?,
                    source: r.get(5)?,
                    flow: r.get(6)?,
                })
            })
            .map_err(internal)?;
        rows.collect::<Result<_, _>>().map_err(internal)
    }
}
