//! Starting published workflows by name: Interaction Flows started by their form (SPEC IX) and
//! manual runs of a published or shared workflow (SPEC SH-1: the destination uses it as is).

use serde_json::{Value, json};

use crate::Error;
use crate::access::Reason;
use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::clock;
use crate::definition::model::{TriggerKind, Workflow};
use crate::definition::parse::parse;
use crate::json_locate::joined;
use crate::principal::Principal;
use crate::runs::{NewRun, RunAudit, StartKey};

use super::engine::{Engine, Observer, RunOutcome, principal_to_stored};
use super::revision::Revision;

/// A published workflow ready to run in some workspace.
struct Published {
    workflow: Workflow,
    definition: String,
    source: String,
    /// Its pinned components, as stored with each run.
    components: Option<String>,
    /// Who answers for what its manual runs ask of people (`NewRun::binder`): the Owner who
    /// accepted it, shared, else its publisher (`None` for a revision published before
    /// publishers were recorded: its runner answers).
    binder: Option<String>,
}

impl Engine {
    /// `name` as it runs in `workspace`: its latest revision published there, or the revision
    /// of it shared there and accepted (then it acts in `workspace`, SPEC SH-1, SH-3), with its
    /// pinned components.
    fn published(&self, workspace: &str, name: &str) -> Result<Published, Error> {
        let Some(in_use) = self.platform().revision_in_use(workspace, name)? else {
            return Err(Error::NotFound(format!(
                "`{workspace}` has no published or shared workflow `{name}`"
            )));
        };
        self.published_of(workspace, in_use.revision, in_use.home, in_use.bound_by)
    }

    /// [`Engine::published`] of `rev`, the revision in use in `workspace` as read once: from
    /// `home`, run on behalf of `bound_by` when shared.
    fn published_of(
        &self,
        workspace: &str,
        rev: Revision,
        home: String,
        bound_by: Option<String>,
    ) -> Result<Published, Error> {
        let platform = self.platform();
        let binder = bound_by.clone().or_else(|| rev.publisher.clone());
        let components = rev
            .pins()?
            .map(serde_json::to_string)
            .transpose()
            .map_err(crate::platform::internal)?;
        let resolver = platform.revision_resolver(&rev, self.step_dirs())?;
        let (definition, source) = (rev.definition, rev.source);
        let mut workflow = parse(&source, &definition, &resolver)
            .map_err(|errors| Error::Invalid(joined(&errors)))?;
        if home != workspace {
            workflow.shared_from = Some(std::mem::replace(
                &mut workflow.workspace,
                workspace.to_owned(),
            ));
        }
        Ok(Published {
            workflow,
            definition,
            source,
            components,
            binder,
        })
    }

    /// Runs the published (or shared) workflow `name` in `workspace` as `principal`, who needs
    /// `playbook.execute` there (SPEC WF-6). A start sent with `key` again (its answer lost)
    /// is answered with the run it started, as that run is now ([`StartKey`]).
    pub fn run_published(
        &self,
        principal: Principal,
        workspace: &str,
        name: &str,
        event: Value,
        key: Option<&str>,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, Error> {
        self.published_start(principal, workspace, name, event, key, Start::Any, observer)?
            .ok_or_else(|| Error::Internal(format!("`{name}` started no run")))
    }

    /// [`Engine::run_published`], or with [`Start::RepeatOnly`] only the run a start sent
    /// again under `key` started (decided as any start is), nothing started: `None` when the
    /// key started none. For a door with no run slot free (round 21: a retry whose answer
    /// was lost met a 503 while its run executed).
    #[allow(clippy::too_many_arguments)]
    pub fn published_start(
        &self,
        principal: Principal,
        workspace: &str,
        name: &str,
        event: Value,
        key: Option<&str>,
        start: Start,
        observer: &dyn Observer,
    ) -> Result<Option<RunOutcome>, Error> {
        self.platform()
            .authorize(&principal, workspace, Scope::PlaybookExecute)?;
        // The same start sent again under its key: the run it started, answered as its caller
        // may see it now, as a resume is (a run that read a case restricted from them since
        // shows them none of its output; round 19 self-review). Looked up before the revision
        // in use is read: one published since (a trigger added, a definition that no longer
        // reads) refused the retry of a start it had allowed, and a CLI killed mid-run could
        // not carry its run on (round 29 kill review).
        if let Some(before) =
            self.started_before(&principal, workspace, key, name, |e| *e == event)?
        {
            return Ok(Some(self.platform().caused_outcome_for(&principal, before)));
        }
        if start == Start::RepeatOnly {
            return Ok(None);
        }
        let p = self.published(workspace, name)?;
        // An Interaction Flow starts through its form, for the people its settings allow,
        // with the submission as its event: a manual run of it would skip the settings and
        // hand its steps a forged responder (SPEC IX-4; authority review).
        if p.workflow.trigger.on == TriggerKind::Interaction {
            return Err(Error::Invalid(format!(
                "`{name}` is an Interaction Flow: it starts through its form \
                 (`flowhost interact start`, the API's or the web's flow start), SPEC IX-4"
            )));
        }
        // Nor by hand does a revision a trigger starts: its conditions would be skipped and its
        // event (a case's, an emitting run's, a signed request's body) be whatever the caller
        // said, its steps asking people and emitting on its publisher's authority (round 28
        // authority review; SPEC WF-2, WF-10). Its file runs by hand as its runner's own.
        let trigger = match &p.workflow.trigger.on {
            TriggerKind::Manual | TriggerKind::Interaction => None,
            TriggerKind::Case(kind) | TriggerKind::Custom(kind) => Some(kind.as_str()),
            TriggerKind::Webhook => Some("webhook"),
        };
        if let Some(trigger) = trigger {
            return Err(Error::Invalid(format!(
                "`{name}` starts on its trigger (`{trigger}`), not by hand: run its definition \
                 file to try it (`flowhost run FILE`), as your own run (SPEC WF-2, WF-10)"
            )));
        }
        let requester = principal_to_stored(&principal);
        let request = key.map(|key| StartKey {
            requester: &requester,
            key,
        });
        let starter = principal.clone();
        let same = event.clone();
        let started = self.run_manual_pinned(
            &p.workflow,
            &p.definition,
            &p.source,
            p.components.as_deref(),
            p.binder.as_deref(),
            principal,
            event,
            request,
            observer,
        );
        // The same start sent at once: answered with its run, as a repeat is (a fresh start
        // answers its own outcome, as before keys).
        match started {
            Err(Error::Conflict(why)) if key.is_some() => {
                match self
                    .started_before(&starter, workspace, key, &p.workflow.name, |e| *e == same)?
                {
                    Some(before) => Ok(Some(self.platform().caused_outcome_for(&starter, before))),
                    None => Err(Error::Conflict(why)),
                }
            }
            other => other.map(Some),
        }
    }

    /// Records that `principal` tried to start the Interaction Flow `name` in `workspace`
    /// through a door that refused before starting it (the web page of a flow one may not
    /// start): audited as [`Engine::start_flow`] audits a refusal when `principal` has a
    /// standing there and the settings refuse them, or the flow would start nothing (its
    /// binder gone or no longer asking people; SPEC IX-8, WF-10); nothing for an outsider
    /// (SPEC ID-4), for a missing flow or for someone it would start for. Never starts it.
    pub fn audit_refused_start(
        &self,
        principal: &Principal,
        workspace: &str,
        name: &str,
    ) -> Result<(), Error> {
        let platform = self.platform();
        let index = platform.index();
        if index.is_outsider(principal, workspace) {
            return Ok(());
        }
        let in_use = match platform.revision_in_use(workspace, name) {
            Ok(Some(in_use)) => in_use,
            Ok(None) => return Ok(()),
            Err(e) if e.is_infrastructure() || matches!(e, Error::Internal(_)) => return Err(e),
            // Offered to nobody (a share accepted before shares were pinned): refused, as
            // `start_flow` audits it.
            Err(e) => {
                return platform.transact(|tx| {
                    audit::record(
                        tx,
                        &Actor::Principal(principal),
                        workspace,
                        "interaction.start.refused",
                        name,
                        json!({ "reason": e.to_string() }),
                    )
                });
            }
        };
        // A revision that does not read is no flow to start, here as in the list (the web
        // answered 500 where it answered 404 for the list's reasons).
        let flow = match platform.flow_of(workspace, name, &in_use) {
            Ok(Some(flow)) => flow,
            Err(e) if e.is_infrastructure() => return Err(e),
            Ok(None) | Err(_) => return Ok(()),
        };
        // Offered to nobody (its binder gone or no longer asking people, no `run_as`, or
        // bound to no one), whoever asks: refused and audited first, as `start_flow` does it
        // (authority and web reviews: the web wrote nothing; round 20: nor for a revision
        // bound to no `run_as`, and it audited a member the settings refuse as denied).
        let shared = in_use.bound_by.is_some();
        let offered_to_nobody = match in_use
            .revision
            .run_principal(in_use.bound_by.as_deref(), &index)
        {
            Ok(Some(run_as)) => index
                .flow_start_refusal(&run_as, workspace, shared)
                .map(|why| super::run_standing::flow_refused(why, name, workspace).to_string()),
            Ok(None) => Some(Error::Invalid(format!("`{name}` has no `run_as`")).to_string()),
            Err(e) if e.is_infrastructure() || matches!(e, Error::Internal(_)) => return Err(e),
            Err(e) => Some(e.to_string()),
        };
        let decision = index.check_flow(principal, workspace, &flow.access);
        let (action, reason) = match offered_to_nobody {
            Some(reason) => ("interaction.start.refused", reason),
            None if decision.allowed => return Ok(()),
            None => ("interaction.start.denied", decision.reason.to_string()),
        };
        platform.transact(|tx| {
            audit::record(
                tx,
                &Actor::Principal(principal),
                workspace,
                action,
                name,
                json!({ "reason": reason }),
            )
        })
    }

    /// Starts the Interaction Flow `name` in `workspace` with `principal`'s answers to its form.
    /// Only people its access settings allow may start it (SPEC IX-4, IX-5); every attempt is
    /// audited. The run acts as the workflow's `run_as` (SPEC WF-6), with the submission as
    /// `$.event`. A start sent with `key` again (its answer lost, a double click) is answered
    /// with the run it started, as that run is now ([`StartKey`]).
    pub fn start_flow(
        &self,
        principal: &Principal,
        workspace: &str,
        name: &str,
        values: &Value,
        key: Option<&str>,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, Error> {
        self.flow_start(
            principal,
            workspace,
            name,
            values,
            key,
            Start::Any,
            observer,
        )?
        .ok_or_else(|| Error::Internal(format!("`{name}` started no run")))
    }

    /// [`Engine::start_flow`], or with [`Start::RepeatOnly`] only the run a start sent again
    /// under `key` started (decided and audited as any start is), nothing started: `None`
    /// when the key started none. For a door with no run slot free (round 21).
    #[allow(clippy::too_many_arguments)]
    pub fn flow_start(
        &self,
        principal: &Principal,
        workspace: &str,
        name: &str,
        values: &Value,
        key: Option<&str>,
        start: Start,
        observer: &dyn Observer,
    ) -> Result<Option<RunOutcome>, Error> {
        let platform = self.platform();
        let not_found = || {
            Error::NotFound(format!(
                "`{workspace}` has no Interaction Flow `{name}` you may start"
            ))
        };
        let index = platform.index();
        // An outsider is answered as for a missing flow, and leaves no audit row in a
        // workspace they are not in (SPEC ID-4); a refused member is audited (SPEC IX-8).
        if index.is_outsider(principal, workspace) {
            return Err(not_found());
        }
        // Nor does one who is no person (a key) learn which flows exist, nor leave a row a
        // try: one answer whatever the name, before any revision is read (round 28 web
        // review: 403 for a flow, 404 for none, an audit row each; the list answers `[]`).
        if !index.may_answer_any(principal) {
            return Err(Error::Denied(Reason::Flow(Box::new(
                crate::access::FlowReason::NotAPerson(principal.to_string()),
            ))));
        }
        let attempt = |action: &str, details: Value| {
            platform.transact(|tx| {
                audit::record(
                    tx,
                    &Actor::Principal(principal),
                    workspace,
                    action,
                    name,
                    details,
                )
            })
        };
        // A flow offered to nobody, for whatever reason the list, the web and the steps'
        // access check say it is not there, is answered as not there before its access or
        // its form tell anything of it, and audited as every attempt is (round 18 leaks
        // review; round 19 for a share accepted before shares were pinned, or a revision
        // bound to no `run_as`: both named the share, its source or its revision).
        let offered_to_nobody = |e: Error| -> Result<Error, Error> {
            // The host's own failures (the database, a stored value that does not read) stay
            // its own: only a refusal is a flow offered to nobody.
            if e.is_infrastructure() || matches!(e, Error::Internal(_)) {
                return Err(e);
            }
            attempt(
                "interaction.start.refused",
                json!({ "reason": e.to_string() }),
            )?;
            Ok(not_found())
        };
        // One read of the revision: the one whose access settings decide is the one that runs,
        // whatever is published meanwhile.
        let in_use = match platform.revision_in_use(workspace, name) {
            Ok(Some(in_use)) => in_use,
            Ok(None) => return Err(not_found()),
            Err(e) => return Err(offered_to_nobody(e)?),
        };
        let flow = platform
            .flow_of(workspace, name, &in_use)?
            .ok_or_else(not_found)?;
        // Every decision is made on what needs no parse of the revision (its stored flow and
        // `run_as`), before it is read whole: a revision that no longer reads told a member
        // the settings refuse its pins, its nested files' paths and its validation errors,
        // and audited nothing, where the web answered 404 and audited the denial (round 25
        // interactions review).
        let run_as = in_use
            .revision
            .run_principal(in_use.bound_by.as_deref(), &index);
        let shared = in_use.home != workspace;
        // Its `run_as`, on behalf of whoever bound it (SPEC WF-10).
        let run_as = match run_as {
            Ok(Some(run_as)) => run_as,
            Ok(None) => {
                let e = Error::Invalid(format!("`{name}` has no `run_as`"));
                return Err(offered_to_nobody(e)?);
            }
            Err(e) => return Err(offered_to_nobody(e)?),
        };
        // Fail closed (SPEC WF-10): a flow whose binder no longer acts here, or may no longer
        // ask people (a form is their asking), starts nothing; before, its run opened
        // interactions and answered its starter, only its steps that consult access failing
        // (authority review). A flow published here needs its identity acting here too; a
        // shared one's identity is its source's (SPEC SH-1).
        let refusal = |index: &crate::access::AccessIndex| {
            index
                .flow_start_refusal(&run_as, workspace, shared)
                .map(|why| super::run_standing::flow_refused(why, name, workspace))
        };
        // Such a flow is offered to nobody, and answered as one that is not there, before
        // its access or its form tell anything of it: the list, the web and the steps'
        // access check said it does not exist, the CLI and the API named its fields and its
        // binder's lost standing (round 18 leaks review). Audited, as every attempt is.
        if let Some(e) = refusal(&index) {
            attempt(
                "interaction.start.refused",
                json!({ "reason": e.to_string() }),
            )?;
            return Err(not_found());
        }
        let decision = index.check_flow(principal, workspace, &flow.access);
        if !decision.allowed {
            let reason = decision.reason.to_string();
            attempt("interaction.start.denied", json!({ "reason": reason }))?;
            // Someone with a standing here (a member, a known SSO identity) is told why.
            return Err(Error::Denied(Reason::StartFlow {
                principal: principal.clone(),
                flow: name.to_owned(),
                reason: Box::new(decision.reason),
            }));
        }
        // Read whole only now, for one who may start it: one that does not read is offered to
        // nobody, as one bound to nobody is (the host's own failures stay its own).
        let Published {
            workflow,
            definition,
            source,
            components,
            ..
        } = match self.published_of(workspace, in_use.revision, in_use.home, in_use.bound_by) {
            Ok(published) => published,
            Err(e) => return Err(offered_to_nobody(e)?),
        };
        if workflow.trigger.on != TriggerKind::Interaction {
            return Err(not_found());
        }
        let checked = flow.form.check(values).map(Value::Object);
        // The same answers sent again under their key: the run they started (after the
        // decisions above, so a starter refused since learns nothing of it), looked up before
        // the form in use now refuses them: a field renamed since refused the retry of a start
        // it had taken (round 29 kill review). Answers the form no longer takes are the same
        // when they were taken as given, only what no form keeps (`null`, `""`) left out.
        let same = |e: &Value| match &checked {
            Ok(now) => e.get("values") == Some(now),
            Err(_) => e.get("values") == Some(&as_given(values)),
        };
        if let Some(before) = self.started_before(principal, workspace, key, name, same)? {
            // Audited as a repeated answer is (round 20 authority review: nothing was).
            attempt(
                "interaction.start.repeated",
                json!({ "run": before.run_id.to_string() }),
            )?;
            return Ok(Some(before));
        }
        if start == Start::RepeatOnly {
            return Ok(None);
        }
        let values = match checked {
            Ok(values) => values,
            Err(e) => {
                attempt("interaction.start.invalid", json!({ "reason": e }))?;
                return Err(Error::Invalid(format!("`{name}`: {e}")));
            }
        };
        let event = json!({
            "kind": "interaction",
            "flow": name,
            "responder": principal.email().map(ToString::to_string),
            "responded_at": clock::rfc3339(clock::now_unix()),
            "values": values,
        });
        let started = json!({ "reason": decision.reason.to_string(), "values": values });
        // Decided again under the write lock the run is recorded under; refused there, a
        // member is audited below (the run's transaction rolled back), an outsider by now is
        // answered as for a missing flow (SPEC ID-4).
        let refused_now = std::cell::RefCell::new(None);
        let offered_to_nobody_now = std::cell::RefCell::new(None);
        let decided = |index: &crate::access::AccessIndex| {
            if index.is_outsider(principal, workspace) {
                return Err(not_found());
            }
            // Its binder too, on the same data: removed by another host since the look above,
            // the run opened interactions in their name (authority review, WF-10). Answered
            // as not there and audited, as the look above answers it (round 20 leak review:
            // it named the binder's lost standing, and the rollback took its audit row).
            if let Some(e) = refusal(index) {
                *offered_to_nobody_now.borrow_mut() = Some(e.to_string());
                return Err(not_found());
            }
            let now = index.check_flow(principal, workspace, &flow.access);
            if now.allowed {
                return Ok(());
            }
            let reason = now.reason.to_string();
            *refused_now.borrow_mut() = Some(reason);
            Err(Error::Denied(Reason::StartFlow {
                principal: principal.clone(),
                flow: name.to_owned(),
                reason: Box::new(now.reason),
            }))
        };
        let stored = principal_to_stored(&run_as);
        let requester = principal_to_stored(principal);
        let started_run = self.start_run(NewRun {
            workflow: name,
            workspace,
            principal: &stored,
            event: &event,
            definition: &definition,
            source: &source,
            lease_owner: None,
            components: components.as_deref(),
            binder: None,
            audit: Some(RunAudit {
                decided: &decided,
                actor: principal,
                action: "interaction.start",
                details: &started,
            }),
            request: key.map(|key| StartKey {
                requester: &requester,
                key,
            }),
        });
        let refused_then = refused_now.borrow_mut().take();
        if let Some(reason) = refused_then {
            attempt("interaction.start.denied", json!({ "reason": reason }))?;
        }
        let offered_to_nobody_then = offered_to_nobody_now.borrow_mut().take();
        if let Some(reason) = offered_to_nobody_then {
            attempt("interaction.start.refused", json!({ "reason": reason }))?;
        }
        let (id, executing) = match started_run {
            Ok(started) => started,
            Err(e) => {
                // The same start sent at once: answered with its run, audited as a repeat
                // is (round 20 self-review).
                let before =
                    self.or_started_meanwhile(Err(e), principal, workspace, key, name, |e| {
                        e.get("values") == Some(&values)
                    })?;
                attempt(
                    "interaction.start.repeated",
                    json!({ "run": before.run_id.to_string() }),
                )?;
                return Ok(Some(before));
            }
        };
        Ok(Some(self.execute(
            &id,
            executing,
            super::engine::Journal::New,
            &workflow,
            run_as,
            event,
            0,
            observer,
        )))
    }
}

/// What a start may do: start a run, or only answer the run its key started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Answer a repeat, else start the run.
    Any,
    /// Answer a repeat, else nothing (`None`).
    RepeatOnly,
}

impl Engine {
    /// Answers interaction `id` (see [`crate::platform::Platform::respond`]); the caller then
    /// resumes the run.
    pub fn respond(
        &self,
        principal: &Principal,
        id: &crate::public_id::PublicId,
        values: &Value,
    ) -> Result<crate::interact::Answer, Error> {
        self.platform().respond(principal, id, values)
    }
}

/// Form values as given, without what no form keeps (a `null`, an empty text): how a form
/// that took them stored them when it changed none (`Form::check`).
fn as_given(values: &Value) -> Value {
    match values.as_object() {
        Some(given) => Value::Object(
            given
                .iter()
                .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => values.clone(),
    }
}
