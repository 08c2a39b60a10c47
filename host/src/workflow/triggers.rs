//! Triggers (SPEC WF-2, WF-9): events in the log start the published workflows whose trigger
//! and conditions match, in the event's workspace only, exactly once per (event, workflow).
//! An event caused by a run at depth d starts runs at depth d + 1; past [`MAX_DEPTH`] the run
//! is recorded as failed with the reason, instead of looping forever.

use std::path::Path;

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use crate::clock;
use crate::platform::{Platform, internal};
use crate::principal::{Caller, Email, Principal};
use crate::services::HostError;

use super::conditions::all_hold;
use super::engine::{Engine, Observer, RunOutcome, principal_to_stored};
use super::journal::RunStatus;
use super::model::{TriggerKind, Workflow};
use super::parse::{Resolver, parse};

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
    workflow: Workflow,
    definition: String,
    source: String,
    principal: Principal,
}

impl Platform {
    fn next_pending_event(&self, workspace: Option<&str>) -> Result<Option<Pending>, HostError> {
        let db = self.db();
        db.conn()
            .query_row(
                "SELECT id, workspace, kind, payload, case_id, depth FROM events
                 WHERE dispatched = 0 AND (?1 IS NULL OR workspace = ?1) ORDER BY id LIMIT 1",
                [workspace],
                |r| {
                    let payload: String = r.get(3)?;
                    Ok(Pending {
                        id: r.get(0)?,
                        workspace: r.get(1)?,
                        kind: r.get(2)?,
                        payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
                        case_id: r.get(4)?,
                        depth: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(internal)
    }

    /// In one transaction: a run per match (failed at once when the chain is too deep), and the
    /// event marked as dispatched. Returns the run ids.
    fn claim(
        &self,
        event: &Pending,
        matches: &[Match],
        input: &Value,
        lease_owner: &str,
    ) -> Result<Vec<i64>, HostError> {
        let depth = event.depth + 1;
        self.transact(|tx| {
            let mut ids = Vec::new();
            for m in matches {
                let (status, error) = if depth > MAX_DEPTH {
                    let why = format!(
                        "event chain too deep: event {} ({}) is {} runs down a chain; the limit is {MAX_DEPTH} (SPEC WF-9)",
                        event.id, event.kind, event.depth
                    );
                    ("failed", Some(why))
                } else {
                    ("running", None)
                };
                tx.execute(
                    "INSERT INTO runs (workflow, workspace, principal, status, event, definition, source, started_at, depth, trigger_event, error, finished_at, lease_owner)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, CASE WHEN ?4 = 'failed' THEN ?8 END, CASE WHEN ?4 = 'running' THEN ?12 END)",
                    params![m.workflow.name, event.workspace, principal_to_stored(&m.principal), status, input.to_string(), m.definition, m.source, clock::now_unix(), depth, event.id, error, lease_owner],
                )
                .map_err(internal)?;
                ids.push(tx.last_insert_rowid());
            }
            tx.execute("UPDATE events SET dispatched = 1 WHERE id = ?1", [event.id]).map_err(internal)?;
            Ok(ids)
        })
    }
}

/// A run that an event started, recorded in the database and ready to execute.
pub struct TriggeredRun {
    /// The run's id.
    pub run_id: i64,
    /// What to execute, or `None` for a run refused and recorded as failed at once (its
    /// event chain is too deep, SPEC WF-9).
    start: Option<Start>,
}

struct Start {
    matched: Match,
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
        let Some(event) = self.platform().next_pending_event(workspace)? else {
            return Ok(None);
        };
        let mut input = event.payload.clone();
        if let Some(o) = input.as_object_mut() {
            o.insert("kind".into(), Value::String(event.kind.clone()));
        }
        let matches = self.matches(&event, &input)?;
        let owner = self.lease_owner()?;
        let ids = self.platform().claim(&event, &matches, &input, owner)?;
        let depth = event.depth + 1;
        let runs = ids
            .into_iter()
            .zip(matches)
            .map(|(run_id, matched)| TriggeredRun {
                run_id,
                start: (depth <= MAX_DEPTH).then(|| Start {
                    matched,
                    input: input.clone(),
                    depth,
                }),
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
            matched,
            input,
            depth,
        }) = run.start
        else {
            let (info, _) = self.platform().run_detail(run.run_id)?;
            return Ok(RunOutcome {
                run_id: run.run_id,
                status: RunStatus::Failed,
                exit_status: None,
                output: Value::Null,
                error: info.error,
                waiting_on: Vec::new(),
            });
        };
        Ok(self.execute(
            run.run_id,
            &matched.workflow,
            matched.principal,
            input,
            depth,
            observer,
        ))
    }

    /// The published workflows of the event's workspace that it starts.
    fn matches(&self, event: &Pending, input: &Value) -> Result<Vec<Match>, HostError> {
        let context = serde_json::json!({ "event": input });
        let mut out = Vec::new();
        for rev in self.platform().latest_revisions(&event.workspace)? {
            let resolver = Resolver::for_file(Path::new(&rev.source), self.step_dirs().to_vec());
            // A revision that no longer validates (a component moved) is skipped, not fatal.
            let Ok(workflow) = parse(&rev.source, &rev.definition, &resolver) else {
                continue;
            };
            let kind_matches = match &workflow.trigger.on {
                TriggerKind::Manual | TriggerKind::Interaction => false,
                TriggerKind::Case(kind) | TriggerKind::Custom(kind) => *kind == event.kind,
            };
            if !kind_matches || !all_hold(&workflow.trigger.conditions, &context).unwrap_or(false) {
                continue;
            }
            let Some(principal) = workflow
                .run_as
                .as_deref()
                .and_then(|e| Email::parse(e).ok())
                .map(Principal::local)
            else {
                continue;
            };
            // A restricted case does not exist for a workflow whose identity cannot see it
            // (SPEC CS-2): no run, no payload.
            if let Some(case) = event.case_id {
                let caller = Caller {
                    workspace: event.workspace.clone(),
                    principal: principal.clone(),
                    cause: None,
                };
                let platform = self.platform();
                if platform
                    .case_ref(case)
                    .and_then(|text| platform.get_case(&caller, &text))
                    .is_err()
                {
                    continue;
                }
            }
            out.push(Match {
                workflow,
                definition: rev.definition,
                source: rev.source,
                principal,
            });
        }
        Ok(out)
    }
}
