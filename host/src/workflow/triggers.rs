//! Triggers (SPEC WF-2, WF-9): events in the log start the published workflows whose trigger
//! and conditions match, in the event's workspace only, exactly once per (event, workflow).
//! An event caused by a run at depth d starts runs at depth d + 1; past [`MAX_DEPTH`] the run
//! is recorded as failed with the reason, instead of looping forever.
//!
//! A triggered run acts as the revision's `run_as` on behalf of its publisher (SPEC WF-10)
//! and runs the components pinned at publish (issue 14). A workflow an event should start but
//! that cannot run (its components are gone, its publisher no longer answers for it) gets a
//! run recorded as failed with the reason: an event is never dispatched into silence (WF-11).

use serde_json::Value;

use crate::Error;
use crate::definition::conditions::all_hold;
use crate::definition::model::{CASE_EVENTS, TriggerKind, Workflow};
use crate::definition::parse::parse;
use crate::json_locate::joined;
use crate::platform::Platform;
use crate::principal::{Caller, Principal};
use crate::public_id::{IdKind, PublicId};
use crate::runs::lease::Executing;
use crate::runs::store::journal::{TriggeredRow, insert_triggered};
use crate::runs::{RunRef, RunStatus};

use super::engine::{Engine, Observer, RunOutcome, principal_to_stored};
use super::publish::Revision;
use super::store::events::{self as store, Next, PendingEvent as Pending};

pub use super::store::events::WaitingEvent;

/// How long an event chain may grow (SPEC WF-9).
pub const MAX_DEPTH: u32 = 8;

/// How many runs the events of one chain may start, unless [`CHAIN_RUNS_VAR`] says otherwise.
/// The depth bound alone leaves the width free: a run emitting 100 events that start itself
/// again would start 100^8 runs before it. An event past the bound is set aside, with the
/// reason, where `triggers list --quarantined` shows it.
pub const MAX_CHAIN_RUNS: i64 = 1_000;

/// The variable that sets [`MAX_CHAIN_RUNS`] for a deployment (a positive number of runs).
pub const CHAIN_RUNS_VAR: &str = "FLOWHOST_MAX_CHAIN_RUNS";

/// The chain bound in force: [`CHAIN_RUNS_VAR`], else [`MAX_CHAIN_RUNS`]; a value that is
/// not a positive number is an error naming the variable.
pub fn max_chain_runs() -> Result<i64, Error> {
    crate::env_number::number_from_env(
        CHAIN_RUNS_VAR,
        MAX_CHAIN_RUNS,
        1..=i64::MAX,
        "a number of runs: use a positive whole number",
    )
}

/// A workflow an event starts.
struct Match {
    name: String,
    definition: String,
    source: String,
    /// Its pinned components (JSON), stored with the run.
    components: Option<String>,
    /// What to run, or why the run is refused (recorded as failed at once).
    ready: Result<(Workflow, Principal), String>,
}

impl Match {
    fn new(rev: &Revision, ready: Result<(Workflow, Principal), String>) -> Match {
        Match {
            name: rev.name.clone(),
            definition: rev.definition.clone(),
            source: rev.source.clone(),
            components: rev
                .pins()
                .ok()
                .flatten()
                .and_then(|pins| serde_json::to_string(pins).ok()),
            ready,
        }
    }

    fn principal(&self) -> String {
        match &self.ready {
            Ok((_, principal)) => principal_to_stored(principal),
            Err(_) => principal_to_stored(&Principal::Anonymous),
        }
    }
}

/// `$.trigger.on` of a stored definition, read without loading it, as its event kind (none
/// when it names none), to tell whether an event was meant to start it; an error for a text
/// that is no JSON.
fn raw_trigger_kind(definition: &str) -> Result<Option<String>, serde_json::Error> {
    let doc: Value = serde_json::from_str(definition)?;
    let kind = (|| {
        let trigger = doc.get("trigger")?;
        match trigger.get("on")?.as_str()? {
            "custom_event" => trigger.get("event")?.as_str().map(str::to_owned),
            kind => Some(kind.to_owned()),
        }
    })();
    Ok(kind)
}

impl Platform {
    fn next_pending_event(
        &self,
        workspace: Option<&str>,
        after: &str,
    ) -> Result<Option<Next>, Error> {
        store::next_pending(self.db()?.conn(), workspace, after)
    }

    /// Sets pending event `id` aside with the reason, so later events dispatch.
    fn quarantine_event(&self, id: i64, why: &str) -> Result<(), Error> {
        self.transact(|tx| store::quarantine(tx, id, why))
    }

    /// The events of `workspace` waiting for dispatch, or (`quarantined`) those set aside and
    /// why, oldest first; for a principal holding `playbook.execute` there, as for
    /// `triggers dispatch`, and `event.read`. No payload is shown: it may describe a case the reader may not
    /// see (SPEC CS-2).
    pub(crate) fn waiting_events_for(
        &self,
        principal: &Principal,
        workspace: &str,
        quarantined: bool,
    ) -> Result<Vec<WaitingEvent>, Error> {
        self.authorize(principal, workspace, crate::access::Scope::PlaybookExecute)?;
        // Reading the workspace's events is `event.read`'s (SPEC RB-1): a custom role of
        // `playbook.execute` alone listed them (leak review).
        self.authorize(principal, workspace, crate::access::Scope::EventRead)?;
        let reader = self.event_reader(principal, workspace);
        store::waiting(self.db()?.conn(), workspace, quarantined, &reader)
    }

    /// `principal` as a reader of `workspace`'s events: how they see its cases (SPEC CS-2).
    fn event_reader(&self, principal: &Principal, workspace: &str) -> store::EventReader {
        let caller = Caller {
            workspace: workspace.to_owned(),
            principal: principal.clone(),
            cause: None,
            step: None,
        };
        let viewer = crate::cases::Viewer::of(&self.index(), &caller);
        store::EventReader {
            bypass: viewer.bypass,
            reads_cases: viewer.reads_cases,
            email: viewer.email_str().to_owned(),
        }
    }

    /// Puts quarantined event `id` of `workspace` (as `triggers list` shows it) back in line
    /// (its row mended), for a principal holding `playbook.execute` there. `false` if there
    /// is no such quarantined event they may see.
    pub(crate) fn release_event_for(
        &self,
        principal: &Principal,
        workspace: &str,
        id: &crate::public_id::PublicId,
    ) -> Result<bool, Error> {
        self.authorize(principal, workspace, crate::access::Scope::PlaybookExecute)?;
        self.authorize(principal, workspace, crate::access::Scope::EventRead)?;
        self.transact(|tx| {
            // Decided again under the write lock, on its access data (round 18 authority
            // review: a release went through for someone removed while it waited).
            self.index_in(tx)?;
            self.authorize(principal, workspace, crate::access::Scope::PlaybookExecute)?;
            self.authorize(principal, workspace, crate::access::Scope::EventRead)?;
            let reader = self.event_reader(principal, workspace);
            store::release(tx, workspace, id, &reader)
        })
    }

    /// In one transaction: the event marked as dispatched, and a run per match (failed at once
    /// when the chain is too deep). Returns the run ids, or `None` when another process
    /// claimed the event first (it was read before this transaction began). On PostgreSQL with
    /// writing connections, hosts claim without the deployment's write lock (issue 18): the
    /// event's row decides who claims it.
    fn claim(
        &self,
        event: &Pending,
        matches: &[Match],
        input: &Value,
        lease_owner: &str,
    ) -> Result<Option<Vec<RunRef>>, Error> {
        let depth = event.depth + 1;
        self.transact_claiming(|tx| {
            // Exactly once per event: only the first claimer finds it still pending.
            if !store::mark_dispatched(tx, event.id)? {
                return Ok(None);
            }
            let mut ids = Vec::new();
            // A run refused on a case's event keeps none of it: whether its identity could
            // have seen the case is not known (SPEC CS-2), and a refused run never reads it.
            let nothing = Value::Object(Default::default());
            for m in matches {
                let event_seen = match (&m.ready, event.case_id) {
                    (Err(_), Some(_)) => &nothing,
                    _ => input,
                };
                let (status, error) = if depth > MAX_DEPTH {
                    // The event's row id is an internal key: not shown (SPEC ID-4).
                    let why = format!(
                        "event chain too deep: the `{}` event is {} runs down a chain; the limit is {MAX_DEPTH} (SPEC WF-9)",
                        event.kind, event.depth
                    );
                    (RunStatus::Failed, Some(why))
                } else if let Err(why) = &m.ready {
                    (RunStatus::Failed, Some(why.clone()))
                } else {
                    (RunStatus::Running, None)
                };
                let id = PublicId::new(IdKind::Run)?;
                let row = TriggeredRow {
                    workflow: &m.name,
                    workspace: &event.workspace,
                    principal: &m.principal(),
                    status,
                    event: event_seen,
                    definition: &m.definition,
                    source: &m.source,
                    depth,
                    trigger_event: event.id,
                    error: error.as_deref(),
                    lease_owner,
                    components: m.components.as_deref(),
                };
                let key = insert_triggered(tx, &row, &id)?;
                // What the emitting run read, and the case the event is about if restricted:
                // the run reads them in its event, and its own events (case events about
                // another case among them) may quote them (run_cases review).
                store::record_event_reads(tx, key, event.cause(), event.case_id)?;
                ids.push(RunRef { key, id });
            }
            Ok(Some(ids))
        })
    }
}

impl Engine {
    /// Leaves a run an event started, which this process claimed and does not start now (no
    /// worker free, its tenant's share held), to any host: its mark here ends and its lease
    /// is given up, waking the others. Kept leased to this busy process, no other host took
    /// it while this one's workers were held by long steps (round 16 kill review). Best
    /// effort: left leased, it is this process's to resume later, as before.
    pub(crate) fn leave_for_others(&self, run: TriggeredRun) {
        let key = run.run.key;
        drop(run);
        self.give_up_lease(key);
    }
}

/// A run that an event started, recorded in the database and ready to execute.
pub struct TriggeredRun {
    /// The run's ids.
    pub run: RunRef,
    /// The workspace of the event that started it (whose tenant's share of the scheduler's
    /// workers it takes).
    pub workspace: String,
    /// The case the event names, if any (checked again before the run's first step).
    trigger_case: Option<i64>,
    /// The mark that this process executes it: no request of this process takes the run
    /// while it waits for a worker.
    executing: Executing,
    /// What to execute, or `None` for a run refused and recorded as failed at once (its
    /// event chain is too deep, SPEC WF-9, or it cannot run).
    start: Option<Start>,
}

struct Start {
    workflow: Workflow,
    principal: Principal,
    input: Value,
    depth: u32,
}

impl Engine {
    /// Starts and runs everything pending events trigger, until no event is pending (runs may
    /// cause further events). Returns the outcomes in order.
    pub(crate) fn dispatch_triggers(
        &self,
        observer: &dyn Observer,
    ) -> Result<Vec<RunOutcome>, Error> {
        self.dispatch_triggers_in(None, observer)
    }

    /// [`Engine::dispatch_triggers`] for the events of `workspace` only (all when `None`).
    pub fn dispatch_triggers_in(
        &self,
        workspace: Option<&str>,
        observer: &dyn Observer,
    ) -> Result<Vec<RunOutcome>, Error> {
        let mut outcomes = Vec::new();
        while let Some(runs) = self.claim_next_event_in(workspace)? {
            for run in runs {
                outcomes.push(self.run_triggered(run, observer)?);
            }
        }
        Ok(outcomes)
    }

    /// Claims a pending event: in one transaction, a run per matching workflow and the event
    /// marked as dispatched, so each workflow starts once per event. `None` when no event is
    /// pending. Workspaces take turns, each its oldest event: one tenant's flood of events
    /// no longer kept every other tenant's waiting behind it (hostile-step review). `serve`
    /// executes the runs on its workers; a crash before they finish leaves them `running`,
    /// to be resumed by the next start. Among the events of `workspace` (all when `None`).
    pub(crate) fn claim_next_event_in(
        &self,
        workspace: Option<&str>,
    ) -> Result<Option<Vec<TriggeredRun>>, Error> {
        self.claim_next_event_admitting(workspace, &|_| true)
    }

    /// Whether any event waits for dispatch (an unreadable one included, which a claim sets
    /// aside): one indexed read, so a scheduler whose workers are all busy waits for one only
    /// when there is an event to give it.
    pub(crate) fn event_pending(&self) -> Result<bool, Error> {
        Ok(self.platform().next_pending_event(None, "")?.is_some())
    }

    /// [`Engine::claim_next_event_in`], passing over the events of workspaces `admit` turns
    /// away (their tenant holds its share of the scheduler's workers): such a workspace loses
    /// this turn, and its events wait for a later round. `None` once every pending event is
    /// of such a workspace.
    pub(crate) fn claim_next_event_admitting(
        &self,
        workspace: Option<&str>,
        admit: &dyn Fn(&str) -> bool,
    ) -> Result<Option<Vec<TriggeredRun>>, Error> {
        // Held before any event is read: a failure here is this process's, not an event's.
        let owner = self.lease_owner()?;
        let mut passed_over = std::collections::HashSet::new();
        loop {
            let after = match workspace {
                Some(_) => String::new(),
                None => self.lock_dispatch_turn().clone(),
            };
            let event = match self.platform().next_pending_event(workspace, &after)? {
                None => return Ok(None),
                Some(Next::Event(event)) => {
                    // Its workspace has had its turn, whatever comes of the claim.
                    if workspace.is_none() {
                        self.lock_dispatch_turn().clone_from(&event.workspace);
                    }
                    if !admit(&event.workspace) {
                        // Come round to one passed over already: only those are left.
                        if !passed_over.insert(event.workspace) {
                            return Ok(None);
                        }
                        continue;
                    }
                    event
                }
                Some(Next::Unreadable { id, why }) => {
                    // One bad row must not stop every later event, every time (a stuck
                    // queue): set it aside with the reason, and go on.
                    self.platform().quarantine_event(id, &why)?;
                    continue;
                }
            };
            // Matched on access data as of now, not of the scheduler's round: an invitation or
            // a publish committed while the round waited for a worker read as an outsider's,
            // and the event was dispatched without its run for good (kill and concurrency
            // review). One indexed read when nothing changed.
            self.platform().refresh_access()?;
            // Its claim is its workspace's organization's work to those who wait behind it,
            // as the runs it starts are (`deadline::label`; round 29 hostile-step review).
            let _label =
                crate::store::deadline::label(&self.platform().index().tenant_of(&event.workspace));
            match self.claim_event(&event, owner) {
                Ok(Some(runs)) => return Ok(Some(runs)),
                // Another process claimed it meanwhile: on to the next pending one.
                Ok(None) => {}
                // Not the infrastructure (that leaves the event pending, WF-11) but stored
                // data this event leads to that does not read: waiting will not mend it.
                Err(Error::Internal(e)) => {
                    // Not its row id: one sequence over every workspace (SPEC ID-4).
                    let why = format!("the `{}` event cannot be dispatched: {e}", event.kind);
                    self.platform().quarantine_event(event.id, &why)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Claims `event` (see [`Engine::claim_next_event_in`]); `None` if another process did first.
    fn claim_event(
        &self,
        event: &Pending,
        owner: &str,
    ) -> Result<Option<Vec<TriggeredRun>>, Error> {
        let mut input = event.payload.clone();
        if let Some(o) = input.as_object_mut() {
            o.insert("kind".into(), Value::String(event.kind.clone()));
        }
        let matches = self.matches(event, &input)?;
        if let Some(chain) = event.chain
            && !matches.is_empty()
        {
            // Read before the claim: hosts claiming one chain's events side by side may pass
            // the bound by what they claim at once, never by a chain's worth.
            let limit = max_chain_runs()?;
            let started = store::runs_in_chain(self.platform().db()?.conn(), chain)?;
            // Only those that will run widen it (`runs_in_chain`).
            let starting = matches.iter().filter(|m| m.ready.is_ok()).count();
            if started + i64::try_from(starting).unwrap_or(i64::MAX) > limit {
                // Without the count: the chain's runs include those started by events on cases
                // a reader of the quarantine may not see (SPEC CS-2; leak review).
                let why = format!(
                    "event chain too wide: the `{}` event would take its chain past {limit} runs ({CHAIN_RUNS_VAR}, SPEC WF-9)",
                    event.kind,
                );
                self.platform().quarantine_event(event.id, &why)?;
                return Ok(None);
            }
        }
        let Some(ids) = self.platform().claim(event, &matches, &input, owner)? else {
            return Ok(None);
        };
        let depth = event.depth + 1;
        let runs = ids
            .into_iter()
            .zip(matches)
            .map(|(run, matched)| {
                Ok(TriggeredRun {
                    executing: self.executing(&run)?,
                    run,
                    workspace: event.workspace.clone(),
                    trigger_case: event.case_id,
                    start: match matched.ready {
                        Ok((workflow, principal)) if depth <= MAX_DEPTH => Some(Start {
                            workflow,
                            principal,
                            input: input.clone(),
                            depth,
                        }),
                        _ => None,
                    },
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Some(runs))
    }

    /// Executes a claimed triggered run (or reports how it was refused).
    pub(crate) fn run_triggered(
        &self,
        run: TriggeredRun,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, Error> {
        let Some(Start {
            workflow,
            principal,
            input,
            depth,
        }) = run.start
        else {
            let (info, _) = self.runs().run_detail(run.run.key)?;
            return Ok(RunOutcome {
                run_key: run.run.key,
                run_id: run.run.id,
                status: RunStatus::Failed,
                exit_status: None,
                output: Value::Null,
                error: info.error,
                waiting_on: Vec::new(),
            });
        };
        // Visible to its identity when the event was matched; a restriction made while it
        // waited for a worker holds for its first step as for a resumed run's (review).
        match self.no_longer_sees(
            run.run.key,
            &principal,
            &principal,
            &workflow.workspace,
            workflow.shared_from.is_some(),
            run.trigger_case,
            true,
        ) {
            Ok(None) => {}
            Ok(Some(why)) => return self.end_before_its_steps(run.run, run.executing, why),
            Err(e) => return Err(self.let_go(run.run.key, e)),
        }
        Ok(self.execute(
            &run.run,
            run.executing,
            super::engine::Journal::Look,
            &workflow,
            principal,
            input,
            depth,
            observer,
        ))
    }

    /// Whether `principal` sees, in `workspace`, every restricted case among `reads`
    /// (SPEC CS-2). For a `listener` about to start on an event that may quote them, only if
    /// it may read cases at all (both its sides hold `case.read`): one named on a
    /// restricted case without it was started by a custom event quoting the case, which the
    /// case's own events were refused (round 18 leaks review, SPEC CS-4). A run going on
    /// keeps what it read, the cases it created included, which `case.write` alone makes.
    /// `judged`: as the cases stand now, or as they stood when read too (see
    /// [`crate::cases::Judged`]).
    pub(super) fn sees_what_run_read(
        &self,
        principal: &Principal,
        workspace: &str,
        reads: crate::cases::RunReads,
        listener: bool,
        judged: crate::cases::Judged,
    ) -> Result<bool, Error> {
        let platform = self.platform();
        let index = platform.index();
        let mut viewer = crate::cases::Viewer::of(&index, &Caller::of(principal, workspace));
        if listener {
            viewer.reads_cases = index
                .check(principal, workspace, crate::access::Scope::CaseRead)
                .allowed();
        }
        let hidden =
            crate::cases::run_read_hidden_from(platform.db()?.conn(), reads, &viewer, judged)?;
        Ok(!hidden)
    }

    /// The published workflows of the event's workspace that it starts, each ready to run or
    /// with the reason it cannot.
    fn matches(&self, event: &Pending, input: &Value) -> Result<Vec<Match>, Error> {
        let context = serde_json::json!({ "event": input });
        let platform = self.platform();
        let mut out = Vec::new();
        // The case events the event's chain began with, once a listener asks (below).
        let mut lineage: Option<Vec<Value>> = None;
        for rev in platform.latest_revisions(&event.workspace)? {
            let cannot_run = |why: &dyn std::fmt::Display| {
                Match::new(
                    &rev,
                    Err(format!(
                        "revision {} of `{}` cannot run: {why}",
                        rev.revision, rev.name
                    )),
                )
            };
            // Read once, its trigger's kind. A stored definition that is no JSON names no
            // trigger: every event of its workspace gets a failed run of it saying so, rather
            // than pass it by without a trace (round 26 hostile-input review).
            let raw = match raw_trigger_kind(&rev.definition) {
                Ok(raw) => raw,
                Err(e) => {
                    out.push(cannot_run(&format!(
                        "its stored definition (workflow_revisions.definition) is not JSON: {e}"
                    )));
                    continue;
                }
            };
            // Only a revision whose trigger names this event can match it: the others are
            // not parsed, nor their components written out, for every event.
            if raw.as_deref().is_some_and(|kind| kind != event.kind) {
                continue;
            }
            let named = raw.as_deref() == Some(event.kind.as_str());
            // Pins that do not read: this revision cannot run, and its run says so; the
            // workspace's other revisions still take the event.
            if let Err(e) = rev.pins() {
                if named {
                    out.push(cannot_run(&e));
                }
                continue;
            }
            let loaded = platform
                .revision_resolver(&rev, self.step_dirs())
                .and_then(|resolver| {
                    parse(&rev.source, &rev.definition, &resolver)
                        .map_err(|errors| Error::Invalid(joined(&errors)))
                });
            let workflow = match loaded {
                Ok(workflow) => workflow,
                // The host failed (a busy database, a full disk): the event stays pending, to
                // be dispatched again, rather than fail a run for a cause not its own (WF-11).
                Err(e) if e.is_infrastructure() || matches!(e, Error::Internal(_)) => {
                    return Err(e);
                }
                Err(e) => {
                    // Its conditions cannot be read; a workflow whose trigger names this event
                    // gets a failed run saying why, rather than none (issue 14).
                    if named {
                        out.push(cannot_run(&e));
                    }
                    continue;
                }
            };
            let kind_matches = match &workflow.trigger.on {
                TriggerKind::Manual | TriggerKind::Interaction | TriggerKind::Webhook => false,
                TriggerKind::Case(kind) | TriggerKind::Custom(kind) => *kind == event.kind,
            };
            if !kind_matches {
                continue;
            }
            // Who the run would be and whether it may see the event's case are settled before
            // the conditions are evaluated: conditions run on the payload, and a run refused
            // (or not started) only when they held would tell its publisher what a restricted
            // case holds (SPEC CS-2).
            let principal = match rev.run_principal(None, &platform.index()) {
                Ok(Some(principal)) => principal,
                Ok(None) => {
                    let why = format!("`{}` has no `run_as` (SPEC WF-6)", rev.name);
                    out.push(Match::new(&rev, Err(why)));
                    continue;
                }
                Err(e) => {
                    out.push(Match::new(&rev, Err(e.to_string())));
                    continue;
                }
            };
            // Fail closed (SPEC WF-10): a run whose identity or publisher no longer acts here
            // is recorded failed, naming nobody (`run_standing::no_standing`). On a case
            // event, decided before the case look, which such a run cannot make (a removed
            // identity's listener ended in silence there: round 23 interactions review), and
            // on every event of its kind, its conditions not consulted: run on a case it may
            // not see, their answer would be told by whether it failed (published revisions'
            // review). On a custom event, once its conditions hold (below).
            let stands = platform
                .index()
                .own_run_stands(&principal, &event.workspace);
            // A restricted case does not exist for a workflow whose run cannot see it
            // (SPEC CS-2): no run, no payload. A run that may not read cases at all (its
            // identity lost `case.read`, say) is refused, naming nobody.
            if let Some(case) = event.case_id {
                if !stands {
                    let why = super::run_standing::no_standing(&rev.name, &event.workspace);
                    out.push(Match::new(&rev, Err(why.to_string())));
                    continue;
                }
                let caller = Caller::of(&principal, &event.workspace);
                match platform
                    .case_ref(case)
                    .and_then(|text| platform.get_case(&caller, &text))
                {
                    // A case event's listener sees the case now, and as the event recorded
                    // it: restricted from it then, the event names who was on the case
                    // meanwhile (round 22 leak review). A case event's payload that does not
                    // read as a case starts nothing (fail closed). A custom event carries the
                    // case its chain began with, and a payload of its emitter's own.
                    Ok(_) if CASE_EVENTS.contains(&event.kind.as_str()) => {
                        if !saw_case_event(platform, &caller, &event.payload) {
                            continue;
                        }
                    }
                    Ok(_) => {}
                    Err(Error::NotFound(_)) => continue,
                    // A busy database says nothing about visibility: claim nothing now, so
                    // the event stays pending (SPEC WF-11).
                    Err(e) if e.is_infrastructure() => return Err(e),
                    Err(e @ Error::Internal(_)) => return Err(e),
                    // Naming nobody: its reason named the identity and the publisher to every
                    // reader of the run (round 23 interactions review).
                    Err(_) => {
                        let why = format!(
                            "`{}` cannot start on this event: the identity it runs as, or \
                             whoever bound it, may not read its case (`case.read`, SPEC WF-6, \
                             WF-10)",
                            rev.name
                        );
                        out.push(Match::new(&rev, Err(why)));
                        continue;
                    }
                }
            }
            // A custom event may quote the case events its chain began with (the emitting
            // run's and its ancestors' `$.event`): its listener must have seen each as a
            // direct listener must, as recorded and before, not only as the case is now. A
            // relay of `removed` told who had been on a restricted case to an identity it was
            // hidden from, once the case was opened (round 27 leak review).
            if !CASE_EVENTS.contains(&event.kind.as_str())
                && let Some(reads) = event.cause()
            {
                // Read once an event, for its first listener that gets this far.
                if lineage.is_none() {
                    lineage = Some(store::lineage_case_events(
                        platform.db()?.conn(),
                        reads.run,
                        CASE_EVENTS,
                    )?);
                }
                let caller = Caller::of(&principal, &event.workspace);
                if !lineage
                    .iter()
                    .flatten()
                    .all(|payload| saw_case_event(platform, &caller, payload))
                {
                    continue;
                }
            }
            // Nor do the restricted cases the emitting run had read when it wrote the event,
            // which the event may quote (hostile-step and leak reviews): every one must be
            // visible to this identity. Not what it read after (kill review: a read after
            // the emit decided whether the listener started at all). As the emitting run read
            // them: a case whose people or mode changed since tells nobody who saw it then (a
            // run quoted who was on a restricted case, the case was opened, and a listener it
            // had been hidden from was handed them; round 27 interactions review).
            if let Some(reads) = event.cause()
                && !self.sees_what_run_read(
                    &principal,
                    &event.workspace,
                    reads,
                    true,
                    crate::cases::Judged::AsRead,
                )?
            {
                continue;
            }
            // A condition that cannot be decided on this event (`"85"` against `80`, a
            // reference the payload lacks) is the workflow's error, shown as a failed run
            // naming it, not a silent "no match" (round 15 note: its author never learnt why
            // nothing started). Its message names kinds and paths, not the payload's values.
            match all_hold(&workflow.trigger.conditions, &context) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    let why = format!(
                        "revision {} of `{}`: its trigger's conditions cannot be decided on this `{}` event: {e}",
                        rev.revision, rev.name, event.kind
                    );
                    out.push(Match::new(&rev, Err(why)));
                    continue;
                }
            }
            // Recorded failed rather than running up to its first access check (authority
            // review); an event its conditions pass over records nothing (review of that
            // change).
            if !stands {
                let why = super::run_standing::no_standing(&rev.name, &event.workspace);
                out.push(Match::new(&rev, Err(why.to_string())));
                continue;
            }
            out.push(Match::new(&rev, Ok((workflow, principal))));
        }
        Ok(out)
    }
}

/// Whether `caller` saw the case of case event `payload` as the event recorded it and, when
/// it names who left the case, as it was before (`cases::saw_case_event`).
fn saw_case_event(platform: &crate::platform::Platform, caller: &Caller, payload: &Value) -> bool {
    crate::cases::saw_case_event(
        payload,
        &crate::cases::Viewer::of(&platform.index(), caller),
    )
}
