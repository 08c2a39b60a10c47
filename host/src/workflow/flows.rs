//! Starting published workflows by name: Interaction Flows started by their form (SPEC IX) and
//! manual runs of a published or shared workflow (SPEC SH-1: the destination uses it as is).

use std::path::Path;

use serde_json::{Value, json};

use crate::access::Scope;
use crate::audit::{self, Actor};
use crate::clock;
use crate::json_locate::joined;
use crate::principal::{Email, Principal};
use crate::services::HostError;

use super::engine::{Engine, Observer, RunOutcome, principal_to_stored};
use super::journal::NewRun;
use super::model::{TriggerKind, Workflow};
use super::parse::{Resolver, parse};

/// A published workflow ready to run in some workspace.
struct Published {
    workflow: Workflow,
    definition: String,
    source: String,
}

impl Engine {
    /// The latest revision of `name` as it runs in `workspace`: published there, or shared
    /// there and accepted (then it acts in `workspace`, SPEC SH-1).
    fn published(&self, workspace: &str, name: &str) -> Result<Published, HostError> {
        let platform = self.platform();
        let home = platform.home_of(workspace, name)?;
        let Some(rev) = platform.latest_revision(&home, name)? else {
            return Err(HostError::NotFound(format!(
                "`{workspace}` has no published or shared workflow `{name}`"
            )));
        };
        let (definition, source) = (rev.definition, rev.source);
        let resolver = Resolver::for_file(Path::new(&source), self.step_dirs().to_vec());
        let mut workflow = parse(&source, &definition, &resolver)
            .map_err(|errors| HostError::Invalid(joined(&errors)))?;
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
        })
    }

    /// Runs the published (or shared) workflow `name` in `workspace` as `principal`, who needs
    /// `playbook.execute` there (SPEC WF-6).
    pub fn run_published(
        &self,
        principal: Principal,
        workspace: &str,
        name: &str,
        event: Value,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, HostError> {
        self.platform()
            .authorize(&principal, workspace, Scope::PlaybookExecute)?;
        let p = self.published(workspace, name)?;
        self.run_manual(
            &p.workflow,
            &p.definition,
            &p.source,
            principal,
            event,
            observer,
        )
    }

    /// Starts the Interaction Flow `name` in `workspace` with `principal`'s answers to its form.
    /// Only people its access settings allow may start it (SPEC IX-4, IX-5); every attempt is
    /// audited. The run acts as the workflow's `run_as` (SPEC WF-6), with the submission as
    /// `$.event`.
    pub fn start_flow(
        &self,
        principal: &Principal,
        workspace: &str,
        name: &str,
        values: &Value,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, HostError> {
        let platform = self.platform();
        let not_found = || {
            HostError::NotFound(format!(
                "`{workspace}` has no Interaction Flow `{name}` you may start"
            ))
        };
        let index = platform.index();
        // An outsider is answered as for a missing flow, and leaves no audit row in a
        // workspace they are not in (SPEC ID-4); a refused member is audited (SPEC IX-8).
        if index.is_outsider(principal, workspace) {
            return Err(not_found());
        }
        let flow = platform
            .interaction_flow(workspace, name)?
            .ok_or_else(not_found)?;
        let decision = index.check_flow(principal, workspace, &flow.access);
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
        if !decision.allowed {
            let reason = decision.reason.to_string();
            attempt("interaction.start.denied", json!({ "reason": reason }))?;
            // Someone with a standing here (a member, a known SSO identity) is told why.
            return Err(HostError::Denied(format!(
                "{principal} may not start `{name}`: {reason}"
            )));
        }
        let values = match flow.form.check(values) {
            Ok(v) => Value::Object(v),
            Err(e) => {
                attempt("interaction.start.invalid", json!({ "reason": e }))?;
                return Err(HostError::Invalid(format!("`{name}`: {e}")));
            }
        };
        let p = self.published(workspace, name)?;
        if p.workflow.trigger.on != TriggerKind::Interaction {
            return Err(not_found());
        }
        let run_as = p
            .workflow
            .run_as
            .as_deref()
            .and_then(|e| Email::parse(e).ok())
            .map(Principal::local)
            .ok_or_else(|| HostError::Invalid(format!("`{name}` has no valid `run_as`")))?;
        let event = json!({
            "kind": "interaction",
            "flow": name,
            "responder": principal.email().map(ToString::to_string),
            "responded_at": clock::rfc3339(clock::now_unix()),
            "values": values,
        });
        attempt(
            "interaction.start",
            json!({ "reason": decision.reason.to_string(), "values": values }),
        )?;
        let stored = principal_to_stored(&run_as);
        let id = self.start_run(NewRun {
            workflow: name,
            workspace,
            principal: &stored,
            event: &event,
            definition: &p.definition,
            source: &p.source,
            lease_owner: None,
        })?;
        Ok(self.execute(id, &p.workflow, run_as, event, 0, observer))
    }
}

impl Engine {
    /// Answers interaction `id` (see [`crate::platform::Platform::respond`]); the caller then
    /// resumes the run.
    pub fn respond(
        &self,
        principal: &Principal,
        id: i64,
        values: &Value,
    ) -> Result<crate::interact::Answer, HostError> {
        self.platform().respond(principal, id, values)
    }
}
