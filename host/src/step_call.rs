//! What a workflow step's host calls carry besides who makes them: the grants the workflow
//! gives the step (SPEC WF-6) and the keys its case creations are replayed by (SPEC WF-8).
//! Both travel in the [`Caller`](crate::principal::Caller), so the one case service checks
//! and replays them inside, whichever door the call came through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// What a workflow lets one step reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    pub cases_read: bool,
    pub cases_write: bool,
    pub events_emit: bool,
    pub access_check: bool,
}

/// One grant, as a workflow names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    CasesRead,
    CasesWrite,
    EventsEmit,
    AccessCheck,
}

impl Grant {
    /// The name a workflow writes (`cases:write`).
    pub fn name(self) -> &'static str {
        match self {
            Grant::CasesRead => "cases:read",
            Grant::CasesWrite => "cases:write",
            Grant::EventsEmit => "events:emit",
            Grant::AccessCheck => "access:check",
        }
    }
}

impl Grants {
    /// Everything: a step run on its own (`flowhost step run`), bounded by its principal only.
    pub const ALL: Grants = Grants {
        cases_read: true,
        cases_write: true,
        events_emit: true,
        access_check: true,
    };

    /// Whether `grant` is given.
    pub fn allows(&self, grant: Grant) -> bool {
        match grant {
            Grant::CasesRead => self.cases_read,
            Grant::CasesWrite => self.cases_write,
            Grant::EventsEmit => self.events_emit,
            Grant::AccessCheck => self.access_check,
        }
    }
}

/// The keys of one step execution's case creations and restriction updates (SPEC WF-8): a step
/// re-executed after a crash makes the same calls in the same order, so its n-th creation is
/// keyed by run, step and n, and gets the case the first execution's n-th creation made; its
/// n-th restriction update likewise gets the first's answer, changing nothing again.
#[derive(Clone, Debug)]
pub struct CallKeys {
    prefix: String,
    /// Shared by the clones of one execution's caller.
    calls: Arc<AtomicU32>,
    /// The same for its restriction updates, numbered on their own.
    updates: Arc<AtomicU32>,
}

impl CallKeys {
    /// Keys `prefix/call-0`, `prefix/call-1`, … (the prefix names the run and the step).
    pub fn new(prefix: String) -> Self {
        Self {
            prefix,
            calls: Arc::new(AtomicU32::new(0)),
            updates: Arc::new(AtomicU32::new(0)),
        }
    }

    /// The key of the next creation.
    pub fn next(&self) -> String {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        format!("{}/call-{n}", self.prefix)
    }

    /// The key of the next restriction update: `prefix/update-0`, `prefix/update-1`, …
    pub fn next_update(&self) -> String {
        let n = self.updates.fetch_add(1, Ordering::SeqCst);
        format!("{}/update-{n}", self.prefix)
    }
}

/// The case events one step execution's calls published, counted as the case service writes
/// them (SPEC ST-4): the run's budget of events spends them by count, bytes and JSON values,
/// as it does a step's own emits. Each embeds the whole case: counted by number alone, a loop
/// of restriction updates on a case of 128 KiB wrote over a gigabyte of events in one run
/// (hostile-step review); counted by calls, refused and no-op updates spent three each.
#[derive(Debug, Default)]
pub struct CaseEvents {
    events: AtomicUsize,
    bytes: AtomicUsize,
    values: AtomicUsize,
}

/// What [`CaseEvents`] counted: events, bytes of their payloads, JSON values in them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaseEventCount {
    pub events: usize,
    pub bytes: usize,
    pub values: usize,
}

impl CaseEvents {
    /// Counts one event published with `payload`, charged first to the run's `allowance`
    /// when the step has one: why not, counting nothing, when the run has no room. Read when
    /// each part began, the run's budget let each of a parallel loop's parts publish an
    /// execution's worth of whole-case events (round 17 hostile-step review).
    pub fn charge(
        &self,
        payload: &serde_json::Value,
        allowance: Option<&dyn RecordAllowance>,
    ) -> Result<(), String> {
        let bytes = crate::json_limits::text_len(payload);
        let values = crate::json_limits::value_count(payload);
        if let Some(allowance) = allowance {
            allowance.event(bytes, values)?;
        }
        self.events.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.values.fetch_add(values, Ordering::Relaxed);
        Ok(())
    }

    /// What was counted so far.
    pub fn counted(&self) -> CaseEventCount {
        CaseEventCount {
            events: self.events.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            values: self.values.load(Ordering::Relaxed),
        }
    }
}

/// A run's budget for what its steps record (SPEC ST-4), charged as each log line and
/// event is made: parallel parts each read what was left when they started, so 33 parts at
/// once kept 33 executions' caps (round 16 hostile-step review). A charge is provisional:
/// once the execution ends, the engine settles what it charged against what it kept.
pub trait RecordAllowance: Send + Sync + std::fmt::Debug {
    /// Charges one log line of `bytes`; `false`, charging nothing, when the run has no room.
    fn log_line(&self, bytes: usize) -> bool;
    /// Charges one event whose payload is `bytes` of JSON holding `values`; why not,
    /// charging nothing, when the run has no room.
    fn event(&self, bytes: usize, values: usize) -> Result<(), String>;
}

/// What one execution charged to its run's [`RecordAllowance`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Charged {
    pub log_lines: usize,
    pub log_bytes: usize,
    pub events: usize,
    pub event_bytes: usize,
    pub event_values: usize,
}

impl Charged {
    /// With what its case calls charged: every one [`CaseEvents`] counted, for a step that
    /// has an allowance (an execution of a run's).
    #[must_use]
    pub fn with_case_events(self, cases: CaseEventCount) -> Self {
        Self {
            events: self.events.saturating_add(cases.events),
            event_bytes: self.event_bytes.saturating_add(cases.bytes),
            event_values: self.event_values.saturating_add(cases.values),
            ..self
        }
    }
}

/// The step a call is made for: what it is granted, how its creations are keyed, and what
/// its case calls published.
#[derive(Clone, Debug)]
pub struct StepCall {
    pub grants: Grants,
    /// `None`: every creation is a new one (a step run on its own, a `step test` case).
    pub keys: Option<CallKeys>,
    /// Shared by the clones of one execution's caller.
    pub published: Arc<CaseEvents>,
    /// The run's budget of records, shared by its parallel parts; `None` for a step run on
    /// its own (its execution's caps bound it).
    pub allowance: Option<Arc<dyn RecordAllowance>>,
}

impl Default for StepCall {
    /// A step run on its own: everything granted (its principal still bounds it), no keys.
    fn default() -> Self {
        Self {
            grants: Grants::ALL,
            keys: None,
            published: Arc::default(),
            allowance: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // SPEC WF-8: the clones of one execution's caller share one sequence.
    #[test]
    fn keys_follow_the_call_sequence_across_clones() {
        let keys = CallKeys::new("run:7/triage".into());
        let clone = keys.clone();
        assert_eq!(keys.next(), "run:7/triage/call-0");
        assert_eq!(clone.next(), "run:7/triage/call-1");
        assert_eq!(keys.next(), "run:7/triage/call-2");
        // Restriction updates are numbered on their own: a creation added before them does
        // not shift their keys.
        assert_eq!(clone.next_update(), "run:7/triage/update-0");
        assert_eq!(keys.next_update(), "run:7/triage/update-1");
    }
}
