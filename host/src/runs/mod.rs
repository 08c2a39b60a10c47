//! Runs (SPEC WF-8): their journal of finished steps, their status, leases and timers. A
//! resumed run replays finished steps from the journal instead of executing them again.
//! Below the engine and the interactions, which both hold and claim runs; the SQL is in
//! [`store`].

pub mod lease;
pub(crate) mod store;

pub use store::journal::LISTED_ERROR_CHARS;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::Error;
use crate::public_id::PublicId;

/// A run's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    OnHold,
    Succeeded,
    Failed,
    Stopped,
}

impl RunStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::OnHold => "on_hold",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
        }
    }

    /// Every status's name, as stored and shown.
    pub const NAMES: &'static [&'static str] = &[
        "queued",
        "running",
        "on_hold",
        "succeeded",
        "failed",
        "stopped",
    ];

    /// The status stored as `text`; `None` for a text the host never writes.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => RunStatus::Queued,
            "running" => RunStatus::Running,
            "on_hold" => RunStatus::OnHold,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "stopped" => RunStatus::Stopped,
            _ => return None,
        })
    }

    /// Whether a run in this status may still go on (be resumed or leased).
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            RunStatus::Queued | RunStatus::Running | RunStatus::OnHold
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run by both its ids: the internal key and the id people see (SPEC ID-4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRef {
    pub key: i64,
    pub id: PublicId,
}

/// A run as listed.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// The internal key; never shown.
    #[serde(skip)]
    pub key: i64,
    /// The id people see (`R-…`).
    pub id: PublicId,
    pub workflow: String,
    pub workspace: String,
    pub principal: String,
    pub status: RunStatus,
    pub exit_status: Option<String>,
    /// What the run's `exit` step gave, as shown to the reader; never in a listing (a page
    /// of runs carries no outputs: `show` one run for its output, see [`RunInfo::listed`]).
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at: String,
    /// The case the event that started it names, if any (its row id; never shown): who
    /// may not see that case may not see the run (SPEC CS-2).
    #[serde(skip)]
    pub trigger_case: Option<i64>,
    /// The run whose custom event started it, if any (its row id; never shown): who may not
    /// see every case that run read may not see this one (SPEC CS-2).
    #[serde(skip)]
    pub trigger_cause: Option<i64>,
    /// How far [`RunInfo::trigger_cause`] had read when it wrote that event (`events.cause_seq`;
    /// `None` for an event written before events were stamped).
    #[serde(skip)]
    pub trigger_cause_seq: Option<i64>,
    /// Journal entries earlier than those a run's detail carries (the newest, at most
    /// [`MAX_STEPS_SHOWN`] of them and [`MAX_STEP_TEXT_SHOWN`] characters of outputs and
    /// errors); 0, and not written, when it carries every one.
    #[serde(skip_serializing_if = "is_zero")]
    pub steps_omitted: u64,
    /// Earlier entries are left out, how many not said: a summary's reader is not told how
    /// many entries a run made (its loops' items); not written when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub steps_cut: bool,
    /// Which steps ran is withheld: the run read a case its reader may not see (SPEC CS-2);
    /// not written when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub steps_withheld: bool,
}

/// The newest journal entries a run's detail carries; earlier ones are counted.
pub const MAX_STEPS_SHOWN: usize = 10_000;

/// Characters of outputs and errors the entries of a run's detail carry (past the newest):
/// a run holds up to 64 MiB of outputs, each request showing it read them all (web review).
pub const MAX_STEP_TEXT_SHOWN: usize = 8 << 20;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RunInfo {
    /// The run as a listing shows it: without `output`, which a listing never carries, rather
    /// than a `null` that would read as a run without one.
    pub fn listed(&self) -> Result<serde_json::Value, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Some(fields) = value.as_object_mut() {
            fields.remove("output");
        }
        Ok(value)
    }
}

/// Where a run is, as far as who may see it is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunPlace {
    /// Its internal key.
    pub key: i64,
    pub workspace: String,
    /// The case the event that started it names, if any (see [`RunInfo::trigger_case`]).
    pub trigger_case: Option<i64>,
    /// The run whose event started it, if any (see [`RunInfo::trigger_cause`]).
    pub trigger_cause: Option<i64>,
    /// See [`RunInfo::trigger_cause_seq`].
    pub trigger_cause_seq: Option<i64>,
    /// Who it runs as, as stored (see [`RunInfo::principal`]).
    pub principal: String,
}

/// Whose sight of restricted cases decides which triggered runs a listing shows (SPEC CS-2).
#[derive(Clone, Copy, Debug)]
pub struct CaseReader<'a> {
    /// Holds `bypass.case.access.restriction` in the workspace.
    pub bypass: bool,
    /// The person reading (a personal key's owner); `""` for none, named on no case.
    pub email: &'a str,
    /// Holds `case.read`: without it no run an event about a case started is listed (SPEC
    /// CS-4).
    pub reads_cases: bool,
}

/// A journaled step.
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    pub step: String,
    pub status: String,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub attempts: u32,
    pub duration_us: i64,
}

/// A finished step's journal entry, with the execution record of a WASM step.
#[derive(Clone, Copy)]
pub struct JournalEntry<'a> {
    /// The step's journal key (its id, prefixed inside loops and nested workflows).
    pub key: &'a str,
    /// Its output, or why it failed.
    pub result: &'a Result<serde_json::Value, String>,
    pub attempts: u32,
    pub duration_us: i64,
    /// The execution record of a WASM step (with its logs and events).
    pub execution: Option<crate::store::ExecutionRecord<'a>>,
}

/// How a run ended, as [`RunStore::finish_run`] records it.
pub struct RunEnd<'a> {
    pub status: RunStatus,
    /// The `exit` step's status, if the run exited.
    pub exit_status: Option<&'a str>,
    pub output: Option<&'a serde_json::Value>,
    /// For a failed run: the failing step and why.
    pub error: Option<&'a str>,
}

/// Which page of runs a listing shows: at most `limit` runs (default [`RunsPage::DEFAULT`],
/// at most [`RunsPage::MAX`]), older than run `before` (the last of the previous page).
#[derive(Clone, Debug, Default)]
pub struct RunsPage {
    pub before: Option<PublicId>,
    /// `None`: [`RunsPage::DEFAULT`].
    pub limit: Option<usize>,
}

impl RunsPage {
    /// Runs listed when no limit is given.
    pub const DEFAULT: usize = 100;
    /// The most runs one page lists (without their outputs).
    pub const MAX: usize = 1000;

    /// The page's size, or why it is not one.
    pub fn limit(&self) -> Result<usize, Error> {
        page_size(self.limit, Self::DEFAULT, Self::MAX, "runs")
    }
}

/// A listing's page size: `limit`, 1 to `max` (`default` when not given), or why it is not
/// one (a page of `what`).
pub(crate) fn page_size(
    limit: Option<usize>,
    default: usize,
    max: usize,
    what: &str,
) -> Result<usize, Error> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(Error::Invalid(format!(
            "`limit` is {n}; a page lists 1 to {max} {what}"
        ))),
    }
}

/// What starting a run records.
pub struct NewRun<'a> {
    pub workflow: &'a str,
    pub workspace: &'a str,
    pub principal: &'a str,
    pub event: &'a serde_json::Value,
    pub definition: &'a str,
    pub source: &'a str,
    /// The process executing it (see [`lease`]).
    pub lease_owner: Option<&'a str>,
    /// The components pinned by the revision it runs (JSON, see `workflow::components`), so
    /// a resumed run runs the components it started with; `None` for a run of a file.
    pub components: Option<&'a str>,
    /// Who answers for what a manual run asks of people (a stored principal): its
    /// revision's publisher, its share's acceptor, or whoever runs a file. `None` for a run
    /// whose principal carries its binder (`Principal::Run`).
    pub binder: Option<&'a str>,
    /// What started it, audited in the transaction that records it (so neither lands without
    /// the other), with the run's id added to the details.
    pub audit: Option<RunAudit<'a>>,
    /// The start's key, remembered in the same transaction, so that the start sent again
    /// (its answer lost, a double click) answers this run instead of starting another.
    pub request: Option<StartKey<'a>>,
}

/// A start sent with its requester's key (the API's `Idempotency-Key`, a web form's start
/// token): one run per requester, workspace and key (round 19 kill and concurrency review:
/// a start whose answer was lost answered 503 while its run executed, and its retry started
/// a second run).
#[derive(Clone, Copy, Debug)]
pub struct StartKey<'a> {
    /// Who sent it, as runs store principals (`user:…`, `key:…`).
    pub requester: &'a str,
    /// Their key, 1 to [`StartKey::MAX_LEN`] visible ASCII characters.
    pub key: &'a str,
}

impl StartKey<'_> {
    /// The longest key taken (a webhook's `Idempotency-Key` too).
    pub const MAX_LEN: usize = 200;

    /// `Ok` if `key` is 1 to [`StartKey::MAX_LEN`] visible ASCII characters; else why not,
    /// naming `what` sent it.
    pub fn check(what: &str, key: &str) -> Result<(), String> {
        if (1..=Self::MAX_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
            return Ok(());
        }
        Err(format!(
            "{what} must be 1 to {} visible ASCII characters",
            Self::MAX_LEN
        ))
    }
}

/// The run an earlier start with the same [`StartKey`] recorded.
#[derive(Clone, Debug)]
pub struct StartedBefore {
    /// The run as it is now.
    pub info: RunInfo,
    /// The event it was given: with its workflow, what tells the same start sent again from
    /// another one reusing its key.
    pub event: serde_json::Value,
}

/// An audit entry about a run's start (an Interaction Flow started, SPEC IX-8).
pub struct RunAudit<'a> {
    pub actor: &'a crate::principal::Principal,
    pub action: &'a str,
    pub details: &'a serde_json::Value,
    /// The start's decision, taken again on access data as of the write lock the run is
    /// recorded under: an access write committed meanwhile (the starter removed, denied by
    /// SSO) counts (authority review).
    pub decided: &'a (dyn Fn(&crate::access::AccessIndex) -> Result<(), Error> + 'a),
}

/// What resuming a run needs, as recorded when it started.
pub(crate) struct ResumeData {
    pub id: PublicId,
    pub definition: String,
    pub source: String,
    /// The principal as stored (see `workflow::engine::principal_to_stored`).
    pub principal: String,
    pub event: serde_json::Value,
    pub status: RunStatus,
    pub depth: u32,
    pub workspace: String,
    /// Pinned components (JSON), for a run of a published revision.
    pub components: Option<String>,
    /// The case the event that started it names, if any.
    pub trigger_case: Option<i64>,
    /// The engine rules it started under (`runs.rules`).
    pub rules: RunRules,
}

/// What [`RunStore::hold_out_of_reach`] came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutOfReach {
    /// Something arrived for a step it reaches (or nothing arrived): it goes on.
    Reachable,
    /// Held for what it still waits for.
    Held,
    /// What arrived is out of its reach, and nothing it waits for is open.
    NothingOpen,
}

/// The engine rules a run was recorded under (`runs.rules`). A run replays its journal on
/// every resume, so a rule whose change would take a run in flight down another path than
/// the one it journaled applies only to runs recorded under it: the replay of one recorded
/// before reached a hold no step of it could leave, and was resumed again without end
/// (round 23 self-review D).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunRules {
    /// Recorded before migration 42: inside a nested workflow, one parallel branch's `exit`
    /// ends it while a sibling branch waits.
    ExitEndsNested = 1,
    /// Inside a nested workflow, a parallel branch that waits (people, a long wait)
    /// outranks a sibling's `exit`: the nested workflow is over when that branch is.
    WaitOutranksNestedExit = 2,
    /// As 2, and an object holding anything counts as
    /// [`crate::json_limits::OBJECT_VALUES`] values in the run's budgets and renderings
    /// (round 24), and a nested workflow's output a loop iteration copies counts against
    /// the run's loop copies as an inner loop's does (round 25). A run recorded before counts
    /// as it did: a journal within every bound then passed one at its replay, failing or
    /// turning away a step it had gone on to (round 25 review of round 24).
    WeightedCopies = 3,
    /// As 3, and each call of a nested workflow counts its copy of the event, its `vars` and
    /// its inputs against the run's context copies (round 26). A run recorded before counts
    /// as it did (round 27 engine review).
    NestedCallCopies = 4,
}

impl RunRules {
    /// The rules this host records new runs under.
    pub(crate) const CURRENT: RunRules = RunRules::NestedCallCopies;

    /// Whether a waiting parallel branch outranks a sibling's `exit` in a nested workflow.
    pub(crate) fn wait_outranks_nested_exit(self) -> bool {
        self.as_i64() >= RunRules::WaitOutranksNestedExit.as_i64()
    }

    /// Whether a nested workflow's output a loop iteration copies counts as a loop copy.
    pub(crate) fn counts_nested_copies(self) -> bool {
        self.as_i64() >= RunRules::WeightedCopies.as_i64()
    }

    /// Whether each call of a nested workflow counts its copy of the context.
    pub(crate) fn counts_nested_calls(self) -> bool {
        self.as_i64() >= RunRules::NestedCallCopies.as_i64()
    }

    /// How the run's budgets and renderings count values.
    pub(crate) fn counting(self) -> crate::json_limits::Counting {
        if self.as_i64() >= RunRules::WeightedCopies.as_i64() {
            crate::json_limits::Counting::WEIGHTED
        } else {
            crate::json_limits::Counting::FLAT
        }
    }

    /// As stored.
    pub(crate) fn as_i64(self) -> i64 {
        self as i64
    }

    /// The rules stored as `n`, if this host knows them.
    pub(crate) fn parse(n: i64) -> Option<RunRules> {
        match n {
            1 => Some(RunRules::ExitEndsNested),
            2 => Some(RunRules::WaitOutranksNestedExit),
            3 => Some(RunRules::WeightedCopies),
            4 => Some(RunRules::NestedCallCopies),
            _ => None,
        }
    }
}

/// A run's lease as stored (see [`lease`]).
pub(crate) struct RunLease {
    /// The process holding it, if any.
    pub owner: Option<String>,
    /// The run's id as people see it, for errors (SPEC ID-4).
    pub run: PublicId,
}

/// A run left `running` (see [`RunStore::interrupted_runs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Interrupted {
    /// Its internal key.
    pub run: i64,
    /// The process that leased it, if any.
    pub owner: Option<String>,
    /// Its workspace: whose turn it is when many wait (`workflow/scheduler.rs`).
    pub workspace: String,
}

/// Where runs are kept: what the engine and the scheduler of `serve` read and write of a run
/// (issue 15, deliverable 2). The engine calls only this, so another backend (PostgreSQL,
/// issue 18) is one more implementation; the SQLite one is `Platform`'s (`store/`). Who sees
/// which runs is decided above it (`workflow/run_access.rs`).
///
/// Object-safe: the engine holds an `Arc<dyn RunStore>`. Each call is one storage round trip
/// or transaction; the dynamic call beside it costs no allocation.
pub(crate) trait RunStore: Send + Sync {
    /// Records a new run as running; returns its ids. A start whose [`StartKey`] started a
    /// run already records nothing and is a conflict naming that run.
    fn start_run(&self, run: &NewRun<'_>, id: &PublicId) -> Result<RunRef, Error>;

    /// The run a start with `key` in `workspace` recorded, if one did.
    fn started_before(
        &self,
        workspace: &str,
        key: &StartKey<'_>,
    ) -> Result<Option<StartedBefore>, Error>;

    /// [`RunStore::finish_run`] of a run ended before its first step (its start refused or
    /// undecided once committed), forgetting the start `key` it was made with in `workspace`
    /// in the same transaction: a retry is decided anew rather than answered with that
    /// ending, and a kill between the two cannot leave the key answering it (round 20 kill
    /// review: it was forgotten in a transaction of its own, best effort).
    fn end_unstarted(
        &self,
        run: i64,
        owner: &str,
        end: &RunEnd<'_>,
        key: Option<(&str, &StartKey<'_>)>,
    ) -> Result<(), Error>;

    /// Whether `run` has any journaled step.
    fn has_journal(&self, run: i64) -> Result<bool, Error>;

    /// The journaled output of a step that succeeded in `run`, if any.
    fn journaled_output(&self, run: i64, key: &str) -> Result<Option<serde_json::Value>, Error>;

    /// Records finished steps in one transaction, each with its effects (a WASM step's
    /// execution record, logs and events) when its entry is new: a step journaled twice
    /// publishes its events once. Only while `owner` holds the run (not when nobody does): else
    /// nothing is written and the error is `Busy`.
    fn journal_steps(
        &self,
        run: i64,
        owner: &str,
        entries: &[JournalEntry<'_>],
    ) -> Result<(), Error>;

    /// Records an attempt of a step that is retried (its own execution record, no entry).
    fn record_attempt(&self, record: &crate::store::ExecutionRecord<'_>) -> Result<(), Error>;

    /// Marks a run finished and frees its lease, journaling its last finished steps in the
    /// same transaction, if `owner` still holds the run (not when nobody does) and it is
    /// unfinished; else nothing is written and the error is `Busy` (another host took the run
    /// over: it goes on there).
    fn finish_run(
        &self,
        run: i64,
        owner: &str,
        end: &RunEnd<'_>,
        entries: &[JournalEntry<'_>],
    ) -> Result<(), Error>;

    /// Puts `run` on hold and frees its lease, journaling its last finished steps in the same
    /// transaction, if it still waits for something (an open interaction, a wait not yet due)
    /// and nothing it waited for has arrived meanwhile (SPEC WF-8). Returns `false`
    /// otherwise: the run stays `running` and the caller goes on with it. Only while `owner`
    /// still holds the run (not when nobody does): else nothing is written and the error is `Busy`.
    fn hold_run(&self, run: i64, owner: &str, entries: &[JournalEntry<'_>]) -> Result<bool, Error>;

    /// Whether something `run` waits for has arrived and not been taken up by a step yet (an
    /// answer or timeout of its interaction, a due wait not passed over as out of reach).
    fn wait_is_over(&self, run: i64) -> Result<bool, Error>;

    /// Puts `run` on hold and frees its lease if `owner` holds it, it still waits for
    /// something, and everything that has arrived for it untaken is for steps outside
    /// `reached` (the interactions and waits an execution reached): a resume, replaying the
    /// same journal, would take none of it up (see `workflow::engine`). Decided in one
    /// transaction, so an answer to a step it reaches, given meanwhile, is not held over.
    fn hold_out_of_reach(
        &self,
        run: i64,
        owner: &str,
        reached: &[String],
    ) -> Result<OutOfReach, Error>;

    /// Journals `entries` and frees the lease of `run` if `owner` still holds it, in one
    /// transaction: the run stops here, still `running`, free for the next process to resume.
    /// A lease another host took meanwhile (this one's heartbeat lapsed) stays that host's,
    /// and `entries` are not written (`Busy`).
    fn release_run(&self, run: i64, owner: &str, entries: &[JournalEntry<'_>])
    -> Result<(), Error>;

    /// The lease of run `run`, if there is such a run.
    fn run_lease(&self, run: i64) -> Result<Option<RunLease>, Error>;

    /// Makes `owner` the holder of `run` if `current` still holds it and the run is
    /// unfinished; returns whether it did (a race between two takers is settled here).
    fn take_lease(&self, run: i64, owner: &str, current: Option<&str>) -> Result<bool, Error>;

    /// Frees the lease of `run` if `owner` still holds it.
    fn give_up_lease(&self, run: i64, owner: &str) -> Result<(), Error>;

    /// The deadline (Unix milliseconds) of the wait at `key` in `run`: stored as now plus
    /// `duration` the first time, and the stored one every later time; only while `owner`
    /// holds the run's lease (`Busy` else, nothing written: the fence of the journal).
    fn timer_deadline(
        &self,
        run: i64,
        owner: &str,
        key: &str,
        duration: Duration,
    ) -> Result<i64, Error>;

    /// Now, Unix milliseconds, by the clock deadlines are judged by (`store/clock.rs`).
    fn shared_now_ms(&self) -> Result<i64, Error>;

    /// Claims the runs on hold whose wait is due (and not passed over as out of reach, see
    /// [`RunStore::hold_out_of_reach`]): each is set `running` in the same
    /// transaction, so a run is woken by one caller only.
    fn claim_due_timers(&self) -> Result<Vec<i64>, Error>;

    /// Runs left `running`, oldest first, with their lease owners: those of a process that
    /// stopped (crashed, killed, or stopped at a step boundary) and those still executing.
    fn interrupted_runs(&self) -> Result<Vec<Interrupted>, Error>;

    /// What resuming `run` needs, as recorded when it started (its status among it).
    fn run_resume_data(&self, run: i64) -> Result<ResumeData, Error>;

    /// Who answers for what manual run `run` asks of people, as stored ([`NewRun::binder`]).
    fn run_binder(&self, run: i64) -> Result<Option<String>, Error>;

    /// Where the run people know as `id` is, if there is one: read alone, so that a door
    /// decides a principal's standing before the rest of the row is parsed.
    fn run_place(&self, id: &PublicId) -> Result<Option<RunPlace>, Error>;

    /// Runs of `workspace` (all workspaces if `None`), newest first, for nobody in
    /// particular: doors go through `Platform::runs`, which decides what each may see.
    fn all_runs(&self, workspace: Option<&str>) -> Result<Vec<RunInfo>, Error>;

    /// At most `limit` runs of `workspace` older than the run of key `before` (the newest
    /// when `None`), newest first, leaving out those an event about a case `reader` may not
    /// see started (SPEC CS-2); what else the reader may see of them is the caller's to
    /// decide (see [`RunStore::all_runs`]).
    fn runs_before(
        &self,
        workspace: &str,
        before: Option<i64>,
        limit: usize,
        reader: &CaseReader<'_>,
    ) -> Result<Vec<RunInfo>, Error>;

    /// One run (by its internal key) and its journaled steps, for nobody in particular:
    /// doors go through `Platform::runs`; `NotFound` if there is no such run.
    fn run_detail(&self, run: i64) -> Result<(RunInfo, Vec<StepRecord>), Error>;

    /// The definition run `run` (by its internal key) executes, as stored.
    fn run_definition(&self, run: i64) -> Result<serde_json::Value, Error>;
}

/// Journal key `key` with every loop index (`[3]`) written `[*]`: how a step is named to
/// whoever may not learn how many items a loop went over (leak review).
pub(crate) fn without_indexes(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        match rest.find(']') {
            Some(close) if rest[..close].bytes().all(|b| b.is_ascii_digit()) => {
                out.push('*');
                rest = &rest[close..];
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod status_tests {
    use super::RunStatus;

    #[test]
    fn loop_indexes_are_written_as_stars() {
        use super::without_indexes;
        assert_eq!(without_indexes("each[12].inner[0].x"), "each[*].inner[*].x");
        assert_eq!(without_indexes("plain"), "plain");
        assert_eq!(without_indexes("odd[a].x"), "odd[a].x");
    }

    /// Every rule reads back as stored; a nested call's copy counts only for runs recorded
    /// under rule 4 (round 27 engine review: a run recorded before replayed under a bound it
    /// had not started with).
    #[test]
    fn every_run_rule_reads_back_and_nested_calls_count_from_rule_four() {
        use super::RunRules;
        for n in 1..=4 {
            let rules = RunRules::parse(n).expect("known");
            assert_eq!(rules.as_i64(), n);
            assert_eq!(rules.counts_nested_calls(), n >= 4, "{n}");
        }
        assert_eq!(RunRules::parse(5), None);
        assert_eq!(RunRules::CURRENT.as_i64(), 4);
    }

    #[test]
    fn every_status_reads_back_as_written_and_nothing_else_reads() {
        use RunStatus::*;
        for status in [Queued, Running, OnHold, Succeeded, Failed, Stopped] {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.to_string(), status.as_str());
            assert!(RunStatus::NAMES.contains(&status.as_str()));
        }
        assert_eq!(RunStatus::NAMES.len(), 6);
        for text in ["", "paused", "Running", " running"] {
            assert_eq!(RunStatus::parse(text), None, "{text:?}");
        }
    }
}
