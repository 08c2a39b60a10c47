//! Sharing workflows and Interaction Flows between workspaces (SPEC SH-1, SH-2, IX-6). The
//! source keeps ownership; the destination may use a shared workflow, not modify it. A share is
//! accepted at once when the sharer may share in the destination too (an Owner there), else
//! an Owner of the destination accepts it.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::access::{FlowAccess, RoleName, Scope};
use crate::audit::{self, Actor};
use crate::clock;
use crate::interact::form::Form;
use crate::platform::{Platform, internal};
use crate::principal::Principal;
use crate::services::HostError;

/// What is shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareKind {
    Workflow,
    /// A workflow with interactions (SPEC IX).
    Flow,
}

impl ShareKind {
    fn as_str(self) -> &'static str {
        match self {
            ShareKind::Workflow => "workflow",
            ShareKind::Flow => "flow",
        }
    }
}

/// One share.
#[derive(Clone, Debug, Serialize)]
pub struct Share {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub source: String,
    pub destination: String,
    pub status: String,
    pub shared_by: String,
    pub accepted_by: Option<String>,
}

/// A new share and what does not carry over.
#[derive(Clone, Debug, Serialize)]
pub struct Shared {
    pub share: Share,
    /// Custom-role selections dropped in the destination, with where they are (SPEC IX-6).
    pub warnings: Vec<String>,
}

/// An Interaction Flow started by its form, as seen from one workspace.
#[derive(Clone, Debug, Serialize)]
pub struct FlowEntry {
    pub name: String,
    /// Its home workspace when it was shared here.
    pub shared_from: Option<String>,
    pub title: String,
    pub form: Form,
    #[serde(skip)]
    pub access: FlowAccess,
}

fn share_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Share> {
    Ok(Share {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        source: r.get(3)?,
        destination: r.get(4)?,
        status: r.get(5)?,
        shared_by: r.get(6)?,
        accepted_by: r.get(7)?,
    })
}

const SHARE_COLUMNS: &str = "id, kind, name, source, destination, status, shared_by, accepted_by";

impl Platform {
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
    ) -> Result<Shared, HostError> {
        self.authorize(actor, source, Scope::ResourceShare)?;
        let index = self.index();
        let (Some(src), Some(dst)) = (index.workspace(source), index.workspace(destination)) else {
            return Err(HostError::NotFound(format!(
                "there is no workspace `{destination}`"
            )));
        };
        if source == destination {
            return Err(HostError::Invalid(format!(
                "`{name}` already lives in `{source}`; share it to another workspace"
            )));
        }
        if src.org != dst.org {
            return Err(HostError::Denied(format!(
                "`{source}` and `{destination}` belong to different organizations; sharing stays inside one (SPEC ID-1)"
            )));
        }
        let accept_now = index
            .check(actor, destination, Scope::ResourceShare)
            .allowed;
        let revision = self.latest_revision(source, name)?.ok_or_else(|| {
            HostError::NotFound(format!("`{source}` has no published workflow `{name}`"))
        })?;
        self.transact(|tx| {
            let doc: Value = serde_json::from_str(&revision.definition).map_err(internal)?;
            let mut warnings = Vec::new();
            let mut interactions = 0;
            custom_role_selections(&doc, "$", &mut warnings, &mut interactions);
            if kind == ShareKind::Flow && interactions == 0 {
                return Err(HostError::Invalid(format!(
                    "`{name}` has no interaction, so it is not an Interaction Flow; share it as a workflow"
                )));
            }
            let warnings: Vec<String> = warnings
                .into_iter()
                .map(|(at, role)| format!("custom role `{role}` at {at} does not carry over to `{destination}` (SPEC IX-6, SH-2)"))
                .collect();
            let exists: Option<String> = tx
                .query_row(
                    "SELECT status FROM shares WHERE name = ?1 AND source = ?2 AND destination = ?3",
                    params![name, source, destination],
                    |r| r.get(0),
                )
                .optional()
                .map_err(internal)?;
            if let Some(status) = exists {
                return Err(HostError::Conflict(format!(
                    "`{name}` is already shared from `{source}` to `{destination}` ({status})"
                )));
            }
            let actor_name = actor.to_string();
            let (status, accepted_by) = if accept_now {
                ("accepted", Some(actor_name.clone()))
            } else {
                ("pending", None)
            };
            if accept_now {
                own_workflow_conflict(tx, destination, name)?;
            }
            tx.execute(
                "INSERT INTO shares (kind, name, source, destination, status, shared_by, shared_at, accepted_by, accepted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CASE WHEN ?5 = 'accepted' THEN ?7 END)",
                params![kind.as_str(), name, source, destination, status, actor_name, clock::now_unix(), accepted_by],
            )
            .map_err(internal)?;
            let id = tx.last_insert_rowid();
            let details = json!({ "share": id, "kind": kind.as_str(), "to": destination, "status": status, "dropped": warnings });
            audit::record(tx, &Actor::Principal(actor), source, "share.create", name, details)?;
            if accept_now {
                audit::record(tx, &Actor::Principal(actor), destination, "share.accept", name, json!({ "share": id, "from": source }))?;
            }
            let share = tx
                .query_row(&format!("SELECT {SHARE_COLUMNS} FROM shares WHERE id = ?1"), [id], share_row)
                .map_err(internal)?;
            Ok(Shared { share, warnings })
        })
    }

    /// Accepts pending share `id`; needs `resource.share` in its destination (an Owner there).
    pub fn accept_share(&self, actor: &Principal, id: i64) -> Result<Share, HostError> {
        let share = self
            .db()
            .conn()
            .query_row(
                &format!("SELECT {SHARE_COLUMNS} FROM shares WHERE id = ?1"),
                [id],
                share_row,
            )
            .optional()
            .map_err(internal)?
            .ok_or_else(|| HostError::NotFound(format!("there is no share {id}")))?;
        self.authorize(actor, &share.destination, Scope::ResourceShare)?;
        if share.status != "pending" {
            return Err(HostError::Conflict(format!(
                "share {id} was already accepted by {}",
                share.accepted_by.as_deref().unwrap_or("someone")
            )));
        }
        self.transact(|tx| {
            own_workflow_conflict(tx, &share.destination, &share.name)?;
            tx.execute(
                "UPDATE shares SET status = 'accepted', accepted_by = ?2, accepted_at = ?3 WHERE id = ?1 AND status = 'pending'",
                params![id, actor.to_string(), clock::now_unix()],
            )
            .map_err(internal)?;
            audit::record(tx, &Actor::Principal(actor), &share.destination, "share.accept", &share.name, json!({ "share": id, "from": share.source }))?;
            Ok(Share {
                status: "accepted".into(),
                accepted_by: Some(actor.to_string()),
                ..share.clone()
            })
        })
    }

    /// Shares into and out of `workspace`; needs `playbook.list` there.
    pub fn shares(&self, actor: &Principal, workspace: &str) -> Result<Vec<Share>, HostError> {
        self.authorize(actor, workspace, Scope::PlaybookList)?;
        let db = self.db();
        let mut stmt = db
            .conn()
            .prepare(&format!(
                "SELECT {SHARE_COLUMNS} FROM shares WHERE source = ?1 OR destination = ?1 ORDER BY id"
            ))
            .map_err(internal)?;
        let rows = stmt.query_map([workspace], share_row).map_err(internal)?;
        rows.collect::<Result<_, _>>().map_err(internal)
    }

    /// The home workspace of `name` if it is shared into `workspace` and accepted.
    pub fn shared_into(&self, workspace: &str, name: &str) -> Result<Option<String>, HostError> {
        self.db()
            .conn()
            .query_row(
                "SELECT source FROM shares WHERE destination = ?1 AND name = ?2 AND status = 'accepted'",
                params![workspace, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(internal)
    }

    /// Where the workflow `name` used in `workspace` lives: its source when it is shared there
    /// and accepted, else `workspace` itself.
    pub fn home_of(&self, workspace: &str, name: &str) -> Result<String, HostError> {
        Ok(self
            .shared_into(workspace, name)?
            .unwrap_or_else(|| workspace.to_owned()))
    }

    /// The Interaction Flow `name` as seen from `workspace`: published there, or shared there
    /// (with custom-role selections dropped, SPEC IX-6).
    pub fn interaction_flow(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<FlowEntry>, HostError> {
        let home = self.home_of(workspace, name)?;
        let Some(text) = self.latest_revision(&home, name)?.and_then(|rev| rev.flow) else {
            return Ok(None);
        };
        let stored: StoredFlow = serde_json::from_str(&text).map_err(internal)?;
        let shared_from = (home != workspace).then_some(home);
        let access = if shared_from.is_some() {
            stored.access.shared().0
        } else {
            stored.access
        };
        Ok(Some(FlowEntry {
            name: name.to_owned(),
            shared_from,
            title: stored.title,
            form: stored.form,
            access,
        }))
    }

    /// Every Interaction Flow started by its form that `principal` may start in `workspace`
    /// (SPEC IX-7: no access, not listed).
    pub fn startable_flows(
        &self,
        principal: &Principal,
        workspace: &str,
    ) -> Result<Vec<FlowEntry>, HostError> {
        // A missing workspace and one the principal is not in read alike (SPEC ID-4).
        let index = self.index();
        if index.workspace(workspace).is_none() || index.is_outsider(principal, workspace) {
            return Err(HostError::NotFound(
                crate::access::Reason::UnknownWorkspace(workspace.to_owned()).to_string(),
            ));
        }
        let names: Vec<String> = {
            let db = self.db();
            let mut stmt = db
                .conn()
                .prepare(
                    "SELECT DISTINCT name FROM workflow_revisions WHERE workspace = ?1 AND flow IS NOT NULL
                     UNION SELECT name FROM shares WHERE destination = ?1 AND status = 'accepted' ORDER BY 1",
                )
                .map_err(internal)?;
            let rows = stmt
                .query_map([workspace], |r| r.get(0))
                .map_err(internal)?;
            rows.collect::<Result<_, _>>().map_err(internal)?
        };
        let mut out = Vec::new();
        for name in names {
            if let Some(flow) = self.interaction_flow(workspace, &name)?
                && index.check_flow(principal, workspace, &flow.access).allowed
            {
                out.push(flow);
            }
        }
        Ok(out)
    }
}

/// What publishing stores about an Interaction Flow started by its form.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct StoredFlow {
    pub title: String,
    pub form: Form,
    pub access: FlowAccess,
}

/// A destination that has its own workflow of that name cannot also take a shared one.
fn own_workflow_conflict(
    tx: &Transaction<'_>,
    destination: &str,
    name: &str,
) -> Result<(), HostError> {
    let own: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM workflow_revisions WHERE workspace = ?1 AND name = ?2)",
            params![destination, name],
            |r| r.get(0),
        )
        .map_err(internal)?;
    if own {
        return Err(HostError::Conflict(format!(
            "`{destination}` already has its own workflow `{name}`"
        )));
    }
    Ok(())
}

/// Collects custom-role selections in every interaction's access settings, with their paths.
fn custom_role_selections(
    v: &Value,
    at: &str,
    out: &mut Vec<(String, String)>,
    interactions: &mut usize,
) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let path = format!("{at}.{k}");
                if k == "interaction" && child.is_object() {
                    *interactions += 1;
                }
                if k == "workspace_users"
                    && let Some(roles) = child.get("roles").and_then(Value::as_array)
                {
                    for (i, role) in roles.iter().enumerate() {
                        if let Some(r) = role.as_str()
                            && matches!(RoleName::parse(r), RoleName::Custom(_))
                        {
                            out.push((format!("{path}.roles[{i}]"), r.to_owned()));
                        }
                    }
                }
                custom_role_selections(child, &path, out, interactions);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                custom_role_selections(child, &format!("{at}[{i}]"), out, interactions);
            }
        }
        _ => {}
    }
}
