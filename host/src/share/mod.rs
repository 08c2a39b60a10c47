//! Sharing workflows and Interaction Flows between workspaces (SPEC SH-1, SH-2, IX-6). The
//! source keeps ownership; the destination may use a shared workflow, not modify it. A share is
//! accepted at once when the sharer may share in the destination too (an Owner there), else
//! an Owner of the destination accepts it.
//!
//! A share is of a revision (SPEC SH-3): accepting pins the source's latest revision, and a
//! later revision reaches the destination only when an Owner there accepts the share again.
//! In the destination, runs of a shared workflow act on the authority of the Owner who
//! accepted it (the revision's "publisher" there, SPEC WF-10).

mod store;

use serde::Serialize;
use serde_json::{Value, json};

use crate::Error;
use crate::access::{FlowAccess, RoleName, Scope};
use crate::access::{Reason, RunAsRefusal};
use crate::audit::{self, Actor};
use crate::definition::form::Form;
use crate::platform::Platform;
use crate::principal::Principal;
use crate::public_id::{IdKind, PublicId};
use crate::store::Connection;

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
    /// Its id as people see it (`S-…`, SPEC ID-4).
    pub id: PublicId,
    pub kind: String,
    pub name: String,
    pub source: String,
    pub destination: String,
    pub status: String,
    /// Who shared it; in a listing, only for a reader who may list the source's people.
    pub shared_by: Option<String>,
    /// Who accepted it; in a listing, only for a reader who may list the destination's
    /// people.
    pub accepted_by: Option<String>,
    /// The source revision the destination runs: the one accepted (SPEC SH-3).
    pub revision: Option<i64>,
    /// The source's latest revision: newer than `revision` means it waits to be accepted.
    pub latest: Option<i64>,
}

/// The revision a workflow runs at in some workspace, and on whose authority.
pub struct InUse {
    pub revision: crate::workflow::publish::Revision,
    /// Its home workspace (the share's source, or the workspace itself).
    pub home: String,
    /// For a shared workflow: the Owner who accepted the share, as a stored principal; the
    /// run's publisher in the destination (SPEC WF-10).
    pub bound_by: Option<String>,
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

impl Platform {
    /// Shares the published workflow `name` of `source` to `destination` (SPEC SH-1); needs
    /// `resource.share` in the source, and `playbook.get` there: a share carries the
    /// definition, which a role of `resource.share` alone may not read (round 15 authority
    /// review). Custom-role selections are reported as warnings: they do not carry over
    /// (SH-2, IX-6).
    pub(crate) fn share(
        &self,
        actor: &Principal,
        kind: ShareKind,
        name: &str,
        source: &str,
        destination: &str,
    ) -> Result<Shared, Error> {
        self.authorize(actor, source, Scope::ResourceShare)?;
        self.authorize(actor, source, Scope::PlaybookGet)?;
        let index = self.index();
        // A workspace of another organization reads exactly as a missing one (SPEC ID-1, ID-4).
        let no_destination = || Error::NotFound(format!("there is no workspace `{destination}`"));
        let (Some(src), Some(dst)) = (index.workspace(source), index.workspace(destination)) else {
            return Err(no_destination());
        };
        if source == destination {
            return Err(Error::Invalid(format!(
                "`{name}` already lives in `{source}`; share it to another workspace"
            )));
        }
        if src.org != dst.org {
            return Err(no_destination());
        }
        let revision = self.latest_revision(source, name)?.ok_or_else(|| {
            Error::NotFound(format!("`{source}` has no published workflow `{name}`"))
        })?;
        // Read once: what it starts on, and the custom roles its interactions select.
        let doc = crate::store::json::parse("workflow_revisions.definition", &revision.definition)
            .map_err(|e| Error::Internal(e.to_string()))?;
        started_by_hand(name, &doc)?;
        // Accepted at once by whoever may install it there (SPEC SH-1).
        let accept_now = self.may_install(actor, destination, &revision).is_ok();
        // Accepted at once: the sharer vouches for the revision in the destination, so its
        // `run_as` must be one they may bind there (SPEC WF-10).
        if accept_now {
            self.may_bind_shared(actor, destination, &revision)?;
        }
        let accepted_as = accept_now.then(|| crate::workflow::publish::publisher_to_stored(actor));
        self.transact(|tx| {
            // Decided again on access data as it is under the lock the share is written under
            // (kill review).
            self.index_in(tx)?;
            self.authorize(actor, source, Scope::ResourceShare)?;
            // And reading it: a share carries the definition (round 22 authority review: a
            // role losing `playbook.get` meanwhile still shared it).
            self.authorize(actor, source, Scope::PlaybookGet)?;
            if accept_now {
                self.may_install(actor, destination, &revision)?;
                self.may_bind_shared(actor, destination, &revision)?;
            }
            let mut warnings = Vec::new();
            let mut interactions = 0;
            custom_role_selections(&doc, "$", &mut warnings, &mut interactions);
            if kind == ShareKind::Flow && interactions == 0 {
                return Err(Error::Invalid(format!(
                    "`{name}` has no interaction, so it is not an Interaction Flow; share it as a workflow"
                )));
            }
            let warnings: Vec<String> = warnings
                .into_iter()
                .map(|(at, role)| format!("custom role `{role}` at {at} does not carry over to `{destination}` (SPEC IX-6, SH-2)"))
                .collect();
            if let Some(status) = store::status_between(tx, name, source, destination)? {
                return Err(Error::Conflict(format!(
                    "`{name}` is already shared from `{source}` to `{destination}` ({status})"
                )));
            }
            let actor_name = actor.to_string();
            let status = if accept_now { "accepted" } else { "pending" };
            if accept_now {
                own_workflow_conflict(tx, destination, name)?;
                accepted_conflict(tx, destination, name, source)?;
            }
            let id = PublicId::new(IdKind::Share)?;
            let share = store::insert(
                tx,
                &store::NewShare {
                    id: &id,
                    kind: kind.as_str(),
                    name,
                    source,
                    destination,
                    revision: revision.revision,
                    shared_by: &actor_name,
                    accepted_by: accept_now.then_some(actor_name.as_str()),
                    accepted_as: accepted_as.as_deref(),
                },
            )?;
            let details = json!({ "share": id, "kind": kind.as_str(), "to": destination, "status": status, "revision": revision.revision, "dropped": warnings });
            audit::record(tx, &Actor::Principal(actor), source, "share.create", name, details)?;
            if accept_now {
                audit::record(tx, &Actor::Principal(actor), destination, "share.accept", name, json!({ "share": id, "from": source, "revision": revision.revision }))?;
            }
            Ok(Shared { share, warnings })
        })
    }

    /// Accepts share `id` at the source's latest revision (only if that is `expected`, when
    /// given); needs `resource.share` in its destination (an Owner there), who must be able
    /// to bind the revision's `run_as` there (SPEC WF-10). Accepting an accepted share again
    /// takes a newer revision (SPEC SH-3).
    pub(crate) fn accept_share(
        &self,
        actor: &Principal,
        id: &PublicId,
        expected: Option<i64>,
    ) -> Result<Share, Error> {
        let share = store::share(self.db()?.conn(), id)?.ok_or_else(no_such_share)?;
        // To someone with no standing in its destination a share does not exist: the same
        // answer as a missing id, naming no workspace (SPEC ID-4).
        if self.index().is_outsider(actor, &share.destination) {
            return Err(no_such_share());
        }
        self.authorize(actor, &share.destination, Scope::ResourceShare)?;
        // The offer stands only while whoever made it could make it now (SPEC SH-1): a
        // sharer since demoted or removed in the source offers nothing, neither a first
        // acceptance nor a newer revision. Before, a pending share of someone who lost
        // `resource.share` was still accepted (helper review: cross-host authority).
        let shared_by = share.shared_by.as_deref().unwrap_or_default();
        let offerer = Principal::from_actor_name(shared_by).ok_or_else(|| {
            Error::Internal(
                crate::stored_value::UnreadableValue::new(
                    "shares",
                    "shared_by",
                    format!("share {id}"),
                    shared_by,
                    "a person's email or `key:<id>`",
                )
                .to_string(),
            )
        })?;
        let offer_stands = || {
            if self
                .check(&offerer, &share.source, Scope::ResourceShare)
                .allowed()
                && self
                    .check(&offerer, &share.source, Scope::PlaybookGet)
                    .allowed()
            {
                return Ok(());
            }
            // Naming no one and nothing that changed: whose power in the source went is not
            // the destination's to learn (leak review).
            Err(Error::Conflict(format!(
                "share {id} can no longer be accepted: ask `{}` to share it again",
                share.source
            )))
        };
        offer_stands()?;
        let latest = self
            .latest_revision(&share.source, &share.name)?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "`{}` has no published workflow `{}` any more",
                    share.source, share.name
                ))
            })?;
        let doc = crate::store::json::parse("workflow_revisions.definition", &latest.definition)
            .map_err(|e| Error::Internal(e.to_string()))?;
        started_by_hand(&share.name, &doc)?;
        // The revision its acceptor looked at, or none: one the source published since is
        // not accepted unseen (SPEC SH-3; round 23 interactions review: a contributor's
        // publish between the offer and the acceptance reached the destination).
        if let Some(expected) = expected
            && expected != latest.revision
        {
            return Err(Error::Conflict(format!(
                "share {id} offers revision {} of `{}` now, not revision {expected}: look at it \
                 again (`share list`) and accept the revision you mean",
                latest.revision, share.name
            )));
        }
        if share.status == "accepted" && share.revision == Some(latest.revision) {
            // Who accepted it only to a reader of the destination's people, as `share list`
            // shows it (leak review).
            let by = share
                .accepted_by
                .as_deref()
                .filter(|_| {
                    self.check(actor, &share.destination, Scope::UserRead)
                        .allowed()
                })
                .map(|who| {
                    format!(
                        ", by {}",
                        self.actor_told_in(who, actor, &share.destination)
                    )
                })
                .unwrap_or_default();
            return Err(Error::Conflict(format!(
                "share {id} was already accepted at revision {}, the latest{by}",
                latest.revision
            )));
        }
        self.may_install(actor, &share.destination, &latest)?;
        self.may_bind_shared(actor, &share.destination, &latest)?;
        let accepted_as = crate::workflow::publish::publisher_to_stored(actor);
        self.transact(|tx| {
            // Decided again on access data as it is under the lock the acceptance is written
            // under: an acceptor or an offerer changed by another process while this waited
            // for it is seen (kill review).
            self.index_in(tx)?;
            self.may_install(actor, &share.destination, &latest)?;
            offer_stands()?;
            self.may_bind_shared(actor, &share.destination, &latest)?;
            own_workflow_conflict(tx, &share.destination, &share.name)?;
            accepted_conflict(tx, &share.destination, &share.name, &share.source)?;
            // Decided on the share as read above: if another accept (or a newer revision's)
            // landed since, this one is refused rather than written over it, so two accepts
            // never both succeed and a pinned revision never goes back (SPEC SH-3).
            if !store::accept(tx, &share, &actor.to_string(), latest.revision, &accepted_as)? {
                return Err(Error::Conflict(format!(
                    "share {id} changed while it was being accepted (accepted by someone else \
                     meanwhile): look at it again"
                )));
            }
            audit::record(tx, &Actor::Principal(actor), &share.destination, "share.accept", &share.name, json!({ "share": id, "from": share.source, "revision": latest.revision, "before": share.revision }))?;
            Ok(Share {
                status: "accepted".into(),
                accepted_by: Some(actor.to_string()),
                revision: Some(latest.revision),
                latest: Some(latest.revision),
                // Who offered it, as `list_shares` tells it: to a reader of the source's people.
                shared_by: share
                    .shared_by
                    .as_deref()
                    .filter(|_| self.check(actor, &share.source, Scope::UserRead).allowed())
                    .map(|who| self.actor_told_in(who, actor, &share.source)),
                ..share.clone()
            })
        })
    }

    /// May `actor`, accepting `revision` into `destination`, vouch for its `run_as` there?
    /// Whether `actor` may install `revision` in `destination` by accepting it: an Owner
    /// accepts (SPEC SH-1), holding `resource.share` and what publishing it there takes
    /// (`playbook.publish`, `playbook.write`, and `interaction.write` if it may ask people:
    /// its own interactions, or any nested workflow's). With `resource.share` alone, a custom
    /// role installed a workflow running as themselves that any member could start
    /// (authority review).
    fn may_install(
        &self,
        actor: &Principal,
        destination: &str,
        revision: &crate::workflow::publish::Revision,
    ) -> Result<(), Error> {
        self.authorize(actor, destination, Scope::ResourceShare)?;
        let doc = crate::store::json::parse("workflow_revisions.definition", &revision.definition)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let mut interactions = 0;
        custom_role_selections(&doc, "$", &mut Vec::new(), &mut interactions);
        // Nested workflows' definitions are not read here: one that nests any may ask people.
        let nests = revision
            .components
            .as_ref()
            .is_some_and(crate::workflow::components::pins_nested);
        self.may_publish(actor, destination, interactions > 0 || nests)
    }

    fn may_bind_shared(
        &self,
        actor: &Principal,
        destination: &str,
        revision: &crate::workflow::publish::Revision,
    ) -> Result<(), Error> {
        let Some(run_as) = &revision.run_as else {
            return Ok(());
        };
        let row = format!("`{}` revision {}", revision.name, revision.revision);
        let run_as = crate::stored_principal::principal_from_stored(
            run_as,
            "workflow_revisions",
            "run_as",
            row,
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
        let publisher = revision
            .publisher
            .as_deref()
            .map(|stored| {
                crate::stored_principal::principal_from_stored(
                    stored,
                    "workflow_revisions",
                    "publisher",
                    format!("`{}` revision {}", revision.name, revision.revision),
                )
            })
            .transpose()
            .map_err(|e| Error::Internal(e.to_string()))?;
        // Naming no one: the source's person or key is not the destination's to learn, as
        // runs of the flow name it to nobody there (round 15 leak review).
        self.index()
            .may_bind_shared_run_as(actor, destination, &run_as, publisher.as_ref())
            .map_err(|refusal| {
                let refusal = match refusal {
                    shared @ RunAsRefusal::SharedAsAnother { .. } => shared,
                    _ => RunAsRefusal::OtherPerson {
                        publisher: actor.to_string(),
                        run_as: "an identity of the workspace it is shared from".to_owned(),
                    },
                };
                Error::Denied(Reason::RunAs(Box::new(refusal)))
            })
    }

    /// The revision of `name` that runs in `workspace`: the revision an accepted share into
    /// it pins (SPEC SH-3), else the latest published there. A share accepted before shares
    /// were pinned runs nothing until it is accepted again.
    pub(crate) fn revision_in_use(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<InUse>, Error> {
        let share = store::accepted_into(self.db()?.conn(), workspace, name)?;
        let Some(store::Accepted {
            id,
            source,
            revision,
            accepted_as,
        }) = share
        else {
            return Ok(self
                .latest_revision(workspace, name)?
                .map(|revision| InUse {
                    revision,
                    home: workspace.to_owned(),
                    bound_by: None,
                }));
        };
        let (Some(revision), Some(accepted_as)) = (revision, accepted_as) else {
            return Err(Error::Denied(Reason::ShareUnpinned {
                share: id.to_string(),
                name: name.to_owned(),
                workspace: workspace.to_owned(),
            }));
        };
        let rev = self.revision(&source, name, revision)?.ok_or_else(|| {
            Error::NotFound(format!(
                "revision {revision} of `{name}` is no longer in `{source}`"
            ))
        })?;
        Ok(Some(InUse {
            revision: rev,
            home: source,
            bound_by: Some(accepted_as),
        }))
    }

    /// Shares into and out of `workspace`; needs `playbook.list` there.
    pub(crate) fn list_shares(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<Share>, Error> {
        self.authorize(actor, workspace, Scope::PlaybookList)?;
        let mut shares = store::shares_of(self.db()?.conn(), workspace)?;
        // The people of another workspace are not a `playbook.list` holder's to list: within
        // their own workspace listing people needs `user.read` (SPEC ID-1; leak review).
        for share in &mut shares {
            if !self.check(actor, &share.source, Scope::UserRead).allowed() {
                share.shared_by = None;
            }
            if !self
                .check(actor, &share.destination, Scope::UserRead)
                .allowed()
            {
                share.accepted_by = None;
            }
            // Which key, and how a person signs in, only to who may list keys there too.
            for (name, workspace) in [
                (&mut share.shared_by, &share.source),
                (&mut share.accepted_by, &share.destination),
            ] {
                if let Some(text) = name {
                    *text = self.actor_told_in(text, actor, workspace);
                }
            }
        }
        Ok(shares)
    }

    /// The Interaction Flow `name` as seen from `workspace`: published there, or shared there
    /// (with custom-role selections dropped, SPEC IX-6), if it would start now.
    pub(crate) fn interaction_flow(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<FlowEntry>, Error> {
        // Offered to nobody for a reason of its own (a share accepted before shares were
        // pinned, a source revision gone): not there, as `start_flow` answers it, rather than
        // a refusal naming the share, or a list that fails for every member (round 20 leak
        // review). The host's own failures stay its own.
        let in_use = match self.revision_in_use(workspace, name) {
            Ok(Some(in_use)) => in_use,
            Ok(None) => return Ok(None),
            Err(e) if e.is_infrastructure() || matches!(e, Error::Internal(_)) => return Err(e),
            Err(_) => return Ok(None),
        };
        let Some(flow) = flow_entry(workspace, name, &in_use)? else {
            return Ok(None);
        };
        // A flow that would start nothing is offered to nobody (its binder gone or no longer
        // asking people, an unbound revision): it was listed and reported startable, and its
        // form answered 409 once filled in (authority review, `run_standing.rs`).
        let starts = match in_use
            .revision
            .run_principal(in_use.bound_by.as_deref(), &self.index())
        {
            Ok(Some(run_as)) => {
                let shared = in_use.bound_by.is_some();
                self.index().flow_may_start(&run_as, workspace, shared)
            }
            Ok(None) | Err(Error::Denied(_)) => false,
            Err(e) => return Err(e),
        };
        Ok(starts.then_some(flow))
    }

    /// The Interaction Flow of `in_use`, the revision of `name` in use in `workspace` as read
    /// once, if it is one (see [`flow_entry`]).
    pub(crate) fn flow_of(
        &self,
        workspace: &str,
        name: &str,
        in_use: &InUse,
    ) -> Result<Option<FlowEntry>, Error> {
        flow_entry(workspace, name, in_use)
    }

    /// Every Interaction Flow started by its form that `principal` may start in `workspace`
    /// (SPEC IX-7: no access, not listed).
    pub(crate) fn startable_flows(
        &self,
        principal: &Principal,
        workspace: &str,
    ) -> Result<Vec<FlowEntry>, Error> {
        // A missing workspace and one the principal is not in read alike (SPEC ID-4).
        let index = self.index();
        if index.workspace(workspace).is_none() || index.is_outsider(principal, workspace) {
            return Err(Error::NotFound(
                crate::access::Reason::UnknownWorkspace(workspace.to_owned()).to_string(),
            ));
        }
        if !index.may_answer_any(principal) {
            return Ok(Vec::new());
        }
        let names = store::flow_names(self.db()?.conn(), workspace)?;
        let mut out = Vec::new();
        for name in names {
            let flow = match self.interaction_flow(workspace, &name) {
                Ok(flow) => flow,
                // A share accepted before pinning offers nothing until accepted again.
                Err(Error::Denied(_)) => None,
                // One flow whose stored revision does not read is not offered; the others
                // are (review: the whole list failed for everyone in the workspace). Its
                // start names the failure.
                Err(Error::Internal(detail)) => {
                    crate::error::logged(&format!("flow `{name}` in `{workspace}`"), &detail);
                    None
                }
                Err(e) => return Err(e),
            };
            if let Some(flow) = flow
                && index.check_flow(principal, workspace, &flow.access).allowed
            {
                out.push(flow);
            }
        }
        Ok(out)
    }
}

/// The Interaction Flow of `in_use`, the revision of `name` that runs in `workspace`, if it is
/// one (with custom-role selections dropped when it is shared there, SPEC IX-6).
fn flow_entry(workspace: &str, name: &str, in_use: &InUse) -> Result<Option<FlowEntry>, Error> {
    let InUse { revision, home, .. } = in_use;
    let Some(text) = &revision.flow else {
        return Ok(None);
    };
    // Stored by publishing; unreadable is an error naming the column, never "no flow".
    let stored: crate::workflow::publish::StoredFlow = serde_json::from_str(text).map_err(|e| {
        Error::Internal(format!(
            "stored workflow_revisions.flow of `{name}` revision {} is not readable ({e})",
            revision.revision
        ))
    })?;
    let shared_from = (home != workspace).then(|| home.clone());
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

/// A destination that has its own workflow of that name cannot also take a shared one.
fn own_workflow_conflict(conn: &Connection, destination: &str, name: &str) -> Result<(), Error> {
    if store::has_own_workflow(conn, destination, name)? {
        return Err(Error::Conflict(format!(
            "`{destination}` already has its own workflow `{name}`"
        )));
    }
    Ok(())
}

/// One name is one workflow in a workspace: a share of `name` from `source` is not accepted
/// into `destination` while another workspace's share of that name is accepted there.
/// Before, both could be, and which one ran (under whose acceptance) was whichever row the
/// database returned first (SPEC SH-1, WF-10; concurrency review). Read in the accepting
/// transaction, under the write lock, so two accepts at once cannot both pass.
fn accepted_conflict(
    conn: &Connection,
    destination: &str,
    name: &str,
    source: &str,
) -> Result<(), Error> {
    match store::accepted_into(conn, destination, name)? {
        Some(other) if other.source != source => Err(Error::Conflict(format!(
            "`{destination}` already runs `{name}` shared from `{}` (share {}); one name is \
             one workflow in a workspace",
            other.source, other.id
        ))),
        _ => Ok(()),
    }
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

/// A share that does not exist, or not for the one asking. The id is not echoed, so a real id
/// one may not see and any missing one read byte for byte alike (SPEC ID-4).
fn no_such_share() -> Error {
    Error::NotFound("there is no such share".into())
}

/// `Ok` if `doc`, a revision of `name`, starts by hand or through its form: a shared workflow answers
/// none of its destination's triggers, and a revision a trigger starts is not started by hand
/// (round 28), so one shared and accepted was a share nothing could start (round 29 review of
/// round 28; SPEC SH-1, WF-2). Refused at the share and at its acceptance (a newer revision).
fn started_by_hand(name: &str, doc: &Value) -> Result<(), Error> {
    let on = doc
        .get("trigger")
        .and_then(|t| t.get("on"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("manual");
    if matches!(on, "manual" | "interaction") {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "`{name}` starts on its trigger (`{}`): a shared workflow answers none of its \
         destination's triggers and is not started by hand, so nothing would start it there; \
         share a workflow started by hand or an Interaction Flow (SPEC SH-1, WF-2)",
        crate::text::clip(on)
    )))
}
