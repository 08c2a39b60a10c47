//! Draft and published workflows (SPEC WF-7): a definition file is the draft; publishing
//! stores it as a new revision, kept for history. Only published revisions answer triggers.

use serde::Serialize;
use serde_json::json;

use crate::Error;
use crate::access::Reason;
use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::definition::model::Workflow;
use crate::definition::resolver::Resolver;
use crate::platform::{Platform, internal};
use crate::principal::Principal;

use super::components;
use super::engine::{principal_from_stored, principal_to_stored};
use super::store::revisions::{self as store, Which};

pub use super::revision::Revision;

/// What publishing stores about an Interaction Flow started by its form.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct StoredFlow {
    pub title: String,
    pub form: crate::definition::form::Form,
    pub access: crate::access::FlowAccess,
}

/// For an Interaction Flow started by its form: its title, form and access settings as stored
/// with the revision (they hold no context references, SPEC IX-3).
fn stored_flow(workflow: &Workflow) -> Result<Option<String>, Error> {
    let Some(ix) = &workflow.trigger.interaction else {
        return Ok(None);
    };
    let access = crate::interact::resolve::resolve(&ix.access, &serde_json::Value::Null)
        .map_err(Error::Invalid)?;
    let title = match ix.title.render(&json!({})) {
        Ok(serde_json::Value::String(s)) if !s.is_empty() => s,
        _ => workflow.name.clone(),
    };
    let flow = StoredFlow {
        title,
        form: ix.form.clone(),
        access,
    };
    serde_json::to_string(&flow).map(Some).map_err(internal)
}

impl Revision {
    /// The principal runs of this revision act as: its `run_as` on behalf of its publisher
    /// (SPEC WF-10), or, shared, on behalf of `accepted_by` (the Owner who accepted it), or
    /// `None` when it binds no `run_as`. A revision published before binding has no publisher
    /// to answer for it: its runs are refused (fail closed). Shared, its identity is borrowed
    /// (acts with nothing of its own there, `RunAs::borrowed`) unless it is the person who
    /// published it (a personal key's owner too: `index` tells, as accepting it decided).
    pub fn run_principal(
        &self,
        accepted_by: Option<&str>,
        index: &crate::access::AccessIndex,
    ) -> Result<Option<Principal>, Error> {
        let Some(run_as) = &self.run_as else {
            return Ok(None);
        };
        let unbound = || {
            Error::Denied(Reason::RunAsUnbound {
                name: self.name.clone(),
                revision: self.revision,
            })
        };
        let row = format!("`{}` revision {}", self.name, self.revision);
        let read = |text: &str, column| {
            principal_from_stored(text, "workflow_revisions", column, &row)
                .map_err(|e| Error::Internal(e.to_string()))
        };
        let identity = read(run_as, "run_as")?;
        let Some(acceptor) = accepted_by else {
            let publisher = self.publisher.as_deref().ok_or_else(unbound)?;
            return Ok(Some(Principal::run(
                identity,
                read(publisher, "publisher")?,
            )));
        };
        let publisher = self
            .publisher
            .as_deref()
            .map(|p| read(p, "publisher"))
            .transpose()?;
        let bound_itself = publisher
            .as_ref()
            .is_some_and(|publisher| index.bound_itself(&identity, publisher));
        Ok(Some(Principal::shared_run(
            identity,
            read(acceptor, "publisher")?,
            !bound_itself,
        )))
    }
}

/// The publisher as stored: a person is bound as themselves, not as a sign-in (a run is not
/// one, SPEC WF-10).
pub(crate) fn publisher_to_stored(p: &Principal) -> String {
    match p {
        Principal::User { email, .. } => principal_to_stored(&Principal::local(email.clone())),
        other => principal_to_stored(other),
    }
}

impl Platform {
    /// Publishes `definition`, sent to `workspace` without a file of its own (the HTTP API),
    /// as read from `source`: `playbook.publish` in `workspace` is checked before the
    /// definition is read, so a caller without it learns nothing of what it names; its
    /// components are `step:<name>` from `step_dirs`, and nothing else of the server's files
    /// is reached (`Resolver::without_files`). The definition's own `workspace` must be
    /// `workspace`. Returns the workflow and its revision.
    pub(crate) fn publish_sent(
        &self,
        actor: &Principal,
        workspace: &str,
        definition: &str,
        source: &str,
        step_dirs: Vec<std::path::PathBuf>,
    ) -> Result<(Workflow, i64), Error> {
        self.may_publish(actor, workspace, false)?;
        let resolver = Resolver::without_files(step_dirs);
        let workflow = crate::definition::parse::parse(source, definition, &resolver)
            .map_err(|errors| Error::Invalid(crate::json_locate::joined(&errors)))?;
        if workflow.workspace != workspace {
            return Err(Error::Invalid(format!(
                "the definition's `workspace` is `{}`, not `{workspace}` of the URL",
                workflow.workspace
            )));
        }
        let revision = self.publish_workflow(actor, &workflow, definition, source, &resolver)?;
        Ok((workflow, revision))
    }

    /// Whether `actor` may publish a definition in `workspace` (one that `asks_people`, its
    /// nested workflows included, or not): a publish writes the definition and makes it the
    /// one that runs, so it takes `playbook.write` and `playbook.publish` (SPEC WF-7), and
    /// `interaction.write` for one that asks people for input (SPEC RB-1). Only
    /// `playbook.publish` was checked, so a custom role made to publish what others wrote
    /// authored any definition (authority review).
    pub(crate) fn may_publish(
        &self,
        actor: &Principal,
        workspace: &str,
        asks_people: bool,
    ) -> Result<(), Error> {
        self.authorize(actor, workspace, Scope::PlaybookPublish)?;
        self.authorize(actor, workspace, Scope::PlaybookWrite)?;
        if asks_people {
            self.authorize(actor, workspace, Scope::InteractionWrite)?;
        }
        Ok(())
    }

    /// Publishes `workflow` (parsed from `definition`, read from `source`) as a new revision;
    /// needs `playbook.write` and `playbook.publish` (`interaction.write` too if it asks
    /// people for input), and binds its `run_as` to the publisher (SPEC WF-10). The
    /// components it uses are found with `resolver` and pinned (stored by content). Publishing
    /// the same definition, components and binding again keeps the latest revision.
    pub(crate) fn publish_workflow(
        &self,
        actor: &Principal,
        workflow: &Workflow,
        definition: &str,
        source: &str,
        resolver: &Resolver,
    ) -> Result<i64, Error> {
        self.may_publish(actor, &workflow.workspace, workflow.asks_people())?;
        // One visible line, checked where a name is given (a name holding a line break
        // forged lines of `flowhost audit`; hostile-input review), not where a stored revision
        // is read again: one published before runs as it did.
        crate::text::check_name(
            "the workflow's name",
            &workflow.name,
            crate::text::MAX_NAME_CHARS,
        )
        .map_err(Error::Invalid)?;
        let run_as = workflow
            .run_as
            .as_deref()
            .map(Principal::parse_run_as)
            .transpose()
            .map_err(|e| Error::Invalid(format!("`run_as`: {e}")))?;
        let decide = |asks_people: bool| {
            self.may_publish(actor, &workflow.workspace, asks_people)?;
            let Some(run_as) = &run_as else {
                return Ok(());
            };
            self.index()
                .may_bind_run_as(actor, &workflow.workspace, run_as)
                .map_err(|refusal| Error::Denied(Reason::RunAs(Box::new(refusal))))
        };
        // Its runs start only while it acts here (SPEC WF-10): bound to a non-member or a
        // revoked key, the revision published and then every start was refused, asking for an
        // Owner to publish it again (self-review).
        let acts = |index: &crate::access::AccessIndex| match &run_as {
            Some(run_as)
                if !index.own_run_stands(
                    &Principal::run(run_as.clone(), actor.clone()),
                    &workflow.workspace,
                ) =>
            {
                Err(Error::Invalid(format!(
                    "`run_as` {run_as} does not act in `{}` (not a member, or a key revoked, \
                     expired or of another workspace): its runs could not start",
                    workflow.workspace
                )))
            }
            _ => Ok(()),
        };
        decide(workflow.asks_people())?;
        if let Some(refusal) = unknown_role(&self.index(), workflow) {
            return Err(Error::Invalid(refusal));
        }
        let run_as = run_as.as_ref().map(principal_to_stored);
        let publisher = publisher_to_stored(actor);
        let mut found = components::collect(definition, resolver)?;
        // Nested workflows are found as runs will find them: from `source` with `resolver`.
        let at_source = crate::definition::parse::parse(source, definition, resolver)
            .map_err(|errors| Error::Invalid(crate::json_locate::joined(&errors)))?;
        // A nested workflow's interactions are the revision's too (review).
        let asks_people =
            components::collect_nested(&at_source, &mut found)? || workflow.asks_people();
        decide(asks_people)?;
        let flow = stored_flow(workflow)?;
        self.transact(|tx| {
            // Decided again on access data as it is under the lock the revision is written
            // under: a publisher removed while this waited for it publishes nothing (kill
            // review).
            self.index_in(tx)?;
            decide(asks_people)?;
            // Checked where the revision is written: a share accepted a moment before is seen.
            if let Some(source) = store::shared_from(tx, &workflow.workspace, &workflow.name)? {
                return Err(Error::Conflict(format!(
                    "`{}` is shared to `{}` from `{source}`; the destination may use it, not modify it (SPEC SH-1)",
                    workflow.name, workflow.workspace
                )));
            }
            acts(&self.index())?;
            let pins = components::store(tx, &found)?;
            let pins_text = serde_json::to_string(&pins).map_err(internal)?;
            let latest = store::latest(tx, &workflow.workspace, &workflow.name)?;
            // The same definition bound by someone else, or with other component bytes, is a
            // new revision: what runs and on whose authority changed.
            if let Some(last) = &latest
                && last.definition == definition
                && last.publisher.as_deref() == Some(publisher.as_str())
                && last.run_as == run_as
                && last.components.as_deref() == Some(pins_text.as_str())
            {
                return Ok(last.revision);
            }
            let revision = latest.map_or(1, |last| last.revision + 1);
            store::insert(
                tx,
                &store::NewRevision {
                    workspace: &workflow.workspace,
                    name: &workflow.name,
                    revision,
                    definition,
                    source,
                    published_by: &actor.to_string(),
                    flow: flow.as_deref(),
                    publisher: &publisher,
                    run_as: run_as.as_deref(),
                    components: &pins_text,
                },
            )?;
            audit::record(
                tx,
                &Actor::Principal(actor),
                &workflow.workspace,
                "workflow.publish",
                &workflow.name,
                json!({ "revision": revision, "run_as": run_as, "components": pins }),
            )?;
            Ok(revision)
        })
    }

    /// The latest revision of every published workflow of `workspace`; needs `playbook.list`.
    pub(crate) fn list_workflows(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<Revision>, Error> {
        self.authorize(actor, workspace, Scope::PlaybookList)?;
        Ok(self.told_revisions(actor, workspace, self.latest_revisions(workspace)?))
    }

    /// `revisions` as `reader` is told them: who published each without which key or how
    /// they sign in, unless the reader may learn member data (round 18 leak review).
    fn told_revisions(
        &self,
        reader: &Principal,
        workspace: &str,
        revisions: Vec<Revision>,
    ) -> Vec<Revision> {
        revisions
            .into_iter()
            .map(|mut r| {
                r.published_by = self.actor_told_in(&r.published_by, reader, workspace);
                r
            })
            .collect()
    }

    /// Every revision of workflow `name`, newest first; needs `playbook.get`.
    pub(crate) fn workflow_history(
        &self,
        actor: &Principal,
        workspace: &str,
        name: &str,
    ) -> Result<Vec<Revision>, Error> {
        self.authorize(actor, workspace, Scope::PlaybookGet)?;
        let revisions = store::revisions(self.db()?.conn(), Which::History { workspace, name })?;
        Ok(self.told_revisions(actor, workspace, revisions))
    }

    /// Revision `revision` of `name` published in `workspace`, if it exists.
    pub(crate) fn revision(
        &self,
        workspace: &str,
        name: &str,
        revision: i64,
    ) -> Result<Option<Revision>, Error> {
        let mut found = store::revisions(
            self.db()?.conn(),
            Which::One {
                workspace,
                name,
                revision,
            },
        )?;
        Ok(found.pop())
    }

    /// The resolver for the components of `rev`: its pinned ones, or for a revision published
    /// before pinning, the step directories given.
    pub(crate) fn revision_resolver(
        &self,
        rev: &Revision,
        step_dirs: &[std::path::PathBuf],
    ) -> Result<Resolver, Error> {
        match rev.pins()? {
            Some(pins) => self.pinned_resolver(&rev.source, pins),
            None => Ok(Resolver {
                stored: true,
                ..Resolver::for_file(std::path::Path::new(&rev.source), step_dirs.to_vec())
            }),
        }
    }

    /// Whether revision `rev` asks people for input, in itself or in a workflow it nests, as
    /// its runs will read it; one that does not read is taken to (fail closed: who holds its
    /// webhook secret must hold what asking people takes). The host's own failures (the
    /// database, the disk) are errors, not an answer.
    pub(crate) fn revision_asks_people(&self, rev: &Revision) -> Result<bool, Error> {
        let read = || -> Result<bool, Error> {
            let resolver = self.revision_resolver(rev, &[])?;
            let workflow = crate::definition::parse::parse(&rev.source, &rev.definition, &resolver)
                .map_err(|errors| Error::Invalid(crate::json_locate::joined(&errors)))?;
            let mut found = Vec::new();
            Ok(components::collect_nested(&workflow, &mut found)? || workflow.asks_people())
        };
        match read() {
            Err(e) if e.is_infrastructure() => Err(e),
            answer => Ok(answer.unwrap_or(true)),
        }
    }

    /// The latest revision of `name` published in `workspace`, if any.
    pub(crate) fn latest_revision(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<Revision>, Error> {
        let mut found = store::revisions(self.db()?.conn(), Which::Latest { workspace, name })?;
        Ok(found.pop())
    }

    /// The latest revision of each published workflow of `workspace` (for triggers).
    pub(crate) fn latest_revisions(&self, workspace: &str) -> Result<Vec<Revision>, Error> {
        store::revisions(self.db()?.conn(), Which::LatestOfEach { workspace })
    }
}

/// Why `workflow` may not be published in its workspace as it stands, if an interaction of
/// it selects a role by a name the workspace has no role of: a typo (`operater`) admitted
/// only Owners, published without a word, where every other door naming a role refuses one
/// that does not exist (round 30 hostile-input review; SPEC WF-1, IX-1). Roles a context
/// reference gives are decided as the interaction opens.
fn unknown_role(index: &crate::access::AccessIndex, workflow: &Workflow) -> Option<String> {
    use crate::definition::model::{StepKind, UsersSpec};
    let known = |name: &str| {
        crate::access::BuiltinRole::parse(name).is_some()
            || index.workspace(&workflow.workspace).is_some_and(|ws| {
                ws.custom_roles
                    .keys()
                    .any(|custom| custom.eq_ignore_ascii_case(name.trim()))
            })
    };
    let flow = workflow
        .trigger
        .interaction
        .as_deref()
        .map(|ix| ("its Interaction Flow's form".to_owned(), ix));
    let steps = workflow
        .all_steps()
        .into_iter()
        .filter_map(|s| match &s.kind {
            StepKind::Interaction(ix) => Some((format!("step `{}`", s.id), &**ix)),
            _ => None,
        });
    flow.into_iter().chain(steps).find_map(|(at, ix)| {
        let UsersSpec::Selected { roles, .. } = &ix.access.workspace_users else {
            return None;
        };
        roles.iter().find(|role| !known(role)).map(|role| {
            format!(
                "{at}: `access.workspace_users.roles` names `{}`, which is no role of `{}` \
                 (a built-in role, or a custom role made there first)",
                crate::text::clip(role),
                workflow.workspace
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Email;

    fn person(email: &str) -> Principal {
        Principal::local(Email::parse(email).expect("email"))
    }

    #[test]
    fn a_run_principal_survives_storage_so_a_resumed_run_acts_for_the_same_publisher() {
        for identity in [person("run@x.test"), Principal::ApiKey("00ff".into())] {
            let run = Principal::run(identity, person("pub@x.test"));
            let stored = principal_to_stored(&run);
            assert_eq!(
                principal_from_stored(&stored, "runs", "principal", 1),
                Ok(run)
            );
        }
        let anonymous = principal_to_stored(&Principal::Anonymous);
        assert_eq!(
            principal_from_stored(&anonymous, "runs", "principal", 1),
            Ok(Principal::Anonymous)
        );
        // An unreadable stored principal is an error naming where, never nobody or someone.
        for bad in [
            "run:user:a@x.test",
            "user:not-an-email",
            "admin:x",
            "key:",
            "",
        ] {
            let err =
                principal_from_stored(bad, "runs", "principal", "run 7").expect_err("unreadable");
            assert_eq!(
                (err.table, err.column, err.row.as_str()),
                ("runs", "principal", "run 7")
            );
            assert_eq!(err.value, bad);
        }
    }

    #[test]
    fn a_publisher_is_bound_as_a_person_not_as_a_sign_in() {
        let sso = Principal::sso(Email::parse("Pub@X.test").expect("email"));
        assert_eq!(publisher_to_stored(&sso), "user:pub@x.test");
    }
}
