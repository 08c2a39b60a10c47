//! Triggers (SPEC WF-2, WF-9): events in the log start the published workflows whose trigger
//! and conditions match, in the event's workspace only, exactly once per (event, workflow).
//! An event caused by a run at depth d starts runs at depth d + 1; past [`MAX_DEPTH`] the run
//! is recorded as failed with the reason, instead of looping forever.
//!
//! A triggered run acts as the revision's `run_as` on behalf of its publisher (SPEC WF-10)
//! and runs the components pinned at publish (issue 14). A workflow an event should start but
//! that cannot run (its components are gone, its publisher no longer answers for it) gets a
//! run recorded as failed with the reason: an event is never dispatched into silence (WF-11).

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use crate::clock;
use crate::json_locate::joined;
use crate::platform::{Platform, internal};
use crate::principal::{Caller, Principal};
use crate::public_id::{IdKind, PublicId};
use crate::services::HostError;

use super::conditions::all_hold;
use super::engine::{Engine, Observer, RunOutcome, principal_to_stored};
use super::journal::{RunRef, RunStatus};
use super::model::{TriggerKind, Workflow};
use super::parse::parse;
use super::publish::Revision;

/// How long an event chain may grow (SPEC WF-9).
pub const MAX_DEPTH: u32 = 8;

/// An event not yet seen by triggers.
struct Pending {
    id: i64,
    workspace: String,
    kind: String,
    payload: Value,
    case_id: Option<i64>,
    depth: u32,
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
                .components
                .as_ref()
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

/// `$.trigger.on` of a definition that no longer loads, as its event kind, to tell whether an
/// event was meant to start it.
fn raw_trigger_kind(definition: &str) -> Option<String> {
    let doc: Value = serde_json::from_str(definition).ok()?;
    let trigger = doc.get("trigger")?;
    match trigger.get("on")?.as_str()? {
        "custom_event" => trigger.get("event")?.as_str().map(str::to_owned),
        kind => Some(kind.to_owned()),
    }
}

/// The oldest pending event, or why its row cannot be read.
enum Next {
    Event(Pending),
    /// Its row does not read (SPEC WF-11 is for the infrastructure; this is the row's own
    /// fault, and waiting will not mend it): it is quarantined.
    Unreadable {
        id: i64,
        why: String,
    },
}

/// An event waiting for dispatch, or set aside (quarantined) because it cannot be.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WaitingEvent {
    /// Its number within its workspace (1 for the workspace's first event): row ids are one
    /// sequence over every workspace and would tell how busy the others are (SPEC ID-4).
    /// Events are never deleted, so the number is stable.
    pub id: i64,
    /// Its kind as stored (read as text whatever it holds).
    pub kind: String,
    pub created_at: String,
    /// Why it was quarantined, and when (Unix seconds); `None` while it waits.
    pub quarantined: Option<String>,
    pub quarantined_at: Option<i64>,
}

impl Platform {
    fn next_pending_event(&self, workspace: Option<&str>) -> Result<Option<Next>, HostError> {
        let db = self.db();
        db.conn()
            .query_row(
                "SELECT id, workspace, kind, payload, case_id, depth FROM events
                 WHERE dispatched = 0 AND quarantined IS NULL AND (?1 IS NULL OR workspace = ?1)
                 ORDER BY id LIMIT 1",
                [workspace],
                |r| {
                    let id = r.get(0)?;
                    let read = || -> rusqlite::Result<Pending> {
                        let payload = crate::stored_json::column(r, 3, "events.payload")?;
                        Ok(Pending {
                            id,
                            workspace: r.get(1)?,
                            kind: r.get(2)?,
                            payload,
                            case_id: r.get(4)?,
                            depth: r.get(5)?,
                        })
                    };
                    Ok(match read() {
                        Ok(event) => Next::Event(event),
                        Err(e) => Next::Unreadable {
                            id,
                            // No row id: it is one sequence over every workspace (SPEC ID-4).
                            why: format!("the stored event does not read: {e}"),
                        },
                    })
                },
            )
            .optional()
            .map_err(internal)
    }

    /// Sets pending event `id` aside with the reason, so later events dispatch.
    fn quarantine_event(&self, id: i64, why: &str) -> Result<(), HostError> {
        self.transact(|tx| {
            tx.execute(
                "UPDATE events SET quarantined = ?2, quarantined_at = ?3
                 WHERE id = ?1 AND dispatched = 0 AND quarantined IS NULL",
                params![id, why, clock::now_unix()],
            )
            .map_err(internal)?;
            Ok(())
        })
    }

    /// The events of `workspace` waiting for dispatch, or (`quarantined`) those set aside and
    /// why, oldest first; for a principal holding `playbook.execute` there, as for
    /// `triggers dispatch`. No payload is shown: it may describe a case the reader may not
    /// see (SPEC CS-2).
    pub(crate) fn waiting_events_for(
        &self,
        principal: &Principal,
        workspace: &str,
        quarantined: bool,
    ) -> Result<Vec<WaitingEvent>, HostError> {
        self.authorize(principal, workspace, crate::access::Scope::PlaybookExecute)?;
        let db = self.db();
        let mut stmt = db
            .conn()
            .prepare(
                "SELECT (SELECT count(*) FROM events o WHERE o.workspace = e.workspace AND o.id <= e.id),
                        CAST(kind AS TEXT), CAST(created_at AS TEXT), quarantined, quarantined_at
                 FROM events e
                 WHERE workspace = ?1 AND dispatched = 0 AND (quarantined IS NOT NULL) = ?2
                 ORDER BY id",
            )
            .map_err(internal)?;
        let rows = stmt
            .query_map(params![workspace, quarantined], |r| {
                Ok(WaitingEvent {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    created_at: r.get(2)?,
                    quarantined: r.get(3)?,
                    quarantined_at: r.get(4)?,
                })
            })
            .map_err(internal)?;
        rows.collect::<Result<_, _>>().map_err(internal)
    }

    /// Puts quarantined event `number` of `workspace` (as `triggers list` numbers it) back
    /// in line (its row mended), for a principal holding `playbook.execute` there. `false` if
    /// there is no such quarantined event.
    pub(crate) fn release_event_for(
        &self,
        principal: &Principal,
        workspace: &str,
        number: i64,
    ) -> Result<bool, HostError> {
        self.authorize(principal, workspace, crate::access::Scope::PlaybookExecute)?;
        if number < 1 {
            return Ok(false);
        }
        self.transact(|tx| {
            let released = tx
                .execute(
                    "UPDATE events SET quarantined = NULL, quarantined_at = NULL
                     WHERE id = (SELECT id FROM events WHERE workspace = ?2 ORDER BY id LIMIT 1 OFFSET ?1 - 1)
                       AND dispatched = 0 AND quarantined IS NOT NULL",
                    params![number, workspace],
                )
                .map_err(internal)?;
            Ok(released == 1)
        })
    }

    /// In one transaction: the event marked as dispatched, and a run per match (failed at once
    /// when the chain is too deep). Returns the run ids, or `None` when another process
    /// claimed the event first (it was read before this transaction took the write lock).
    fn claim(
        &self,
        event: &Pending,
        matches: &[Match],
        input: &Value,
        lease_owner: &str,
    ) -> Result<Option<Vec<RunRef>>, HostError> {
        let depth = event.depth + 1;
        self.transact(|tx| {
            // Exactly once per event: under the write lock, only the first claimer finds it
            // still pending.
            let claimed = tx
                .execute("UPDATE events SET dispatched = 1 WHERE id = ?1 AND dispatched = 0", [event.id])
                .map_err(internal)?;
            if claimed == 0 {
                return Ok(None);
            }
            let mut ids = Vec::new();
            for m in matches {
                let (status, error) = if depth > MAX_DEPTH {
                    // The event's row id is an internal key: not shown (SPEC ID-4).
                    let why = format!(
                        "event chain too deep: the `{}` event is {} runs down a chain; the limit is {MAX_DEPTH} (SPEC WF-9)",
                        event.kind, event.depth
                    );
                    ("failed", Some(why))
                } else if let Err(why) = &m.ready {
                    ("failed", Some(why.clone()))
                } else {
                    ("running", None)
                };
                let id = PublicId::new(IdKind::Run)?;
                tx.execute(
                    "INSERT INTO runs (workflow, workspace, principal, status, event, definition, source, started_at, depth, trigger_event, error, finished_at, lease_owner, components, public_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, CASE WHEN ?4 = 'failed' THEN ?8 END, CASE WHEN ?4 = 'running' THEN ?12 END, ?13, ?14)",
                    params![m.name, event.workspace, m.principal(), status, input.to_string(), m.definition, m.source, clock::now_unix(), depth, event.id, error, lease_owner, m.components, id],
                )
                .map_err(internal)?;
                ids.push(RunRef {
                    key: tx.last_insert_rowid(),
                    id,
                });
            }
            Ok(Some(ids))
        })
    }
}

/// A run that an event started, recorded in the database and ready to execute.
pub struct TriggeredRun {
    /// The run's ids.
    pub run: RunRef,
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
    pub fn dispatch_triggers(&self, observer: &dyn Observer) -> Result<Vec<RunOutcome>, HostError> {
        self.dispatch_triggers_in(None, observer)
    }

    /// [`Engine::dispatch_triggers`] for the events of `workspace` only (all when `None`).
    pub fn dispatch_triggers_in(
        &self,
        workspace: Option<&str>,
        observer: &dyn Observer,
    ) -> Result<Vec<RunOutcome>, HostError> {
        let mut outcomes = Vec::new();
        while let Some(runs) = self.claim_next_event_in(workspace)? {
            for run in runs {
                outcomes.push(self.run_triggered(run, observer)?);
            }
        }
        Ok(outcomes)
    }

    /// Claims the oldest pending event: in one transaction, a run per matching workflow and
    /// the event marked as dispatched, so each workflow starts once per event. `None` when no
    /// event is pending. `serve` executes the runs on its workers; a crash before they finish
    /// leaves them `running`, to be resumed by the next start.
    pub fn claim_next_event(&self) -> Result<Option<Vec<TriggeredRun>>, HostError> {
        self.claim_next_event_in(None)
    }

    /// [`Engine::claim_next_event`] among the events of `workspace` (all when `None`).
    pub fn claim_next_event_in(
        &self,
        workspace: Option<&str>,
    ) -> Result<Option<Vec<TriggeredRun>>, HostError> {
        // Held before any event is read: a failure here is this process's, not an event's.
        let owner = self.lease_owner()?;
        loop {
            let event = match self.platform().next_pending_event(workspace)? {
                None => return Ok(None),
                Some(Next::Event(event)) => event,
                Some(Next::Unreadable { id, why }) => {
                    // One bad row must not stop every later event, every time (a stuck
                    // queue): set it aside with the reason, and go on.
                    self.platform().quarantine_event(id, &why)?;
                    continue;
                }
            };
            match self.claim_event(&event, owner) {
                Ok(Some(runs)) => return Ok(Some(runs)),
                // Another process claimed it meanwhile: on to the next pending one.
                Ok(None) => {}
                // Not the infrastructure (that leaves the event pending, WF-11) but stored
                // data this event leads to that does not read: waiting will not mend it.
                Err(HostError::Internal(e)) => {
                    let why = format!(
                        "event {} ({}) cannot be dispatched: {e}",
                        event.id, event.kind
                    );
                    self.platform().quarantine_event(event.id, &why)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Claims `event` (see [`Engine::claim_next_event`]); `None` if another process did first.
    fn claim_event(
        &self,
        event: &Pending,
        owner: &str,
    ) -> Result<Option<Vec<TriggeredRun>>, HostError> {
        let mut input = event.payload.clone();
        if let Some(o) = input.as_object_mut() {
            o.insert("kind".into(), Value::String(event.kind.clone()));
        }
        let matches = self.matches(event, &input)?;
        let Some(ids) = self.platform().claim(event, &matches, &input, owner)? else {
            return Ok(None);
        };
        let depth = event.depth + 1;
        let runs = ids
            .into_iter()
            .zip(matches)
            .map(|(run, matched)| TriggeredRun {
                run,
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
            .collect();
        Ok(Some(runs))
    }

    /// Executes a claimed triggered run (or reports how it was refused).
    pub fn run_triggered(
        &self,
        run: TriggeredRun,
        observer: &dyn Observer,
    ) -> Result<RunOutcome, HostError> {
        let Some(Start {
            workflow,
            principal,
            input,
            depth,
        }) = run.start
        else {
            let (info, _) = self.platform().run_detail(run.run.key)?;
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
        Ok(self.execute(&run.run, &workflow, principal, input, depth, observer))
    }

    /// The published workflows of the event's workspace that it starts, each ready to run or
    /// with the reason it cannot.
    fn matches(&self, event: &Pending, input: &Value) -> Result<Vec<Match>, HostError> {
        let context = serde_json::json!({ "event": input });
        let platform = self.platform();
        let mut out = Vec::new();
        for rev in platform.latest_revisions(&event.workspace)? {
            let loaded = platform
                .revision_resolver(&rev, self.step_dirs())
                .and_then(|resolver| {
                    parse(&rev.source, &rev.definition, &resolver)
                        .map_err(|errors| HostError::Invalid(joined(&errors)))
                });
            let workflow = match loaded {
                Ok(workflow) => workflow,
                // The host failed (a busy database, a full disk): the event stays pending, to
                // be dispatched again, rather than fail a run for a cause not its own (WF-11).
                Err(e) if e.is_infrastructure() || matches!(e, HostError::Internal(_)) => {
                    return Err(e);
                }
                Err(e) => {
                    // Its conditions cannot be read; a workflow whose trigger names this event
                    // gets a failed run saying why, rather than none (issue 14).
                    if raw_trigger_kind(&rev.definition).as_deref() == Some(event.kind.as_str()) {
                        let why = format!(
                            "revision {} of `{}` cannot run: {e}",
                            rev.revision, rev.name
                        );
                        out.push(Match::new(&rev, Err(why)));
                    }
                    continue;
                }
            };
            let kind_matches = match &workflow.trigger.on {
                TriggerKind::Manual | TriggerKind::Interaction | TriggerKind::Webhook => false,
                TriggerKind::Case(kind) | TriggerKind::Custom(kind) => *kind == event.kind,
            };
            if !kind_matches || !all_hold(&workflow.trigger.conditions, &context).unwrap_or(false) {
                continue;
            }
            let principal = match rev.run_principal(None) {
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
            // A restricted case does not exist for a workflow whose run cannot see it
            // (SPEC CS-2): no run, no payload. A run that may not read cases at all (its
            // publisher was demoted, say) is refused with the reason instead.
            if let Some(case) = event.case_id {
                let caller = Caller {
                    workspace: event.workspace.clone(),
                    principal: principal.clone(),
                    cause: None,
                };
                match platform
                    .case_ref(case)
                    .and_then(|text| platform.get_case(&caller, &text))
                {
                    Ok(_) => {}
                    Err(HostError::NotFound(_)) => continue,
                    // A busy database says nothing about visibility: claim nothing now, so
                    // the event stays pending (SPEC WF-11).
                    Err(e) if e.is_infrastructure() => return Err(e),
                    Err(e @ HostError::Internal(_)) => return Err(e),
                    Err(e) => {
                        let why = format!("{principal} cannot start on this event: {e}");
                        out.push(Match::new(&rev, Err(why)));
                        continue;
                    }
                }
            }
            out.push(Match::new(&rev, Ok((workflow, principal))));
        }
        Ok(out)
    }
}
