//! What the outputs of a run's WASM steps hold in all, those replayed from its journal on a
//! resume included: the run keeps them (its context, a loop's collected outputs, its
//! uncommitted entries) until it ends. Each output is capped (`StepLimits`), but a loop of
//! 100,000 iterations multiplied the per-step caps into gigabytes (robustness reviews): by
//! its values (`[0,0,…]`) and by its bytes (one 16 MiB string an iteration). A step whose
//! output would pass either bound fails naming it and publishes nothing (SPEC ST-4).
//!
//! The records of its executions are bounded the same way ([`Records`]): log lines and
//! events, held until the run's next write and then stored, have a budget for the whole run
//! (`services/caps.rs`), which lowers each execution's own caps as it is spent. A WASM
//! step's log lines and events are charged to it as they are made ([`RecordAllowance`]), so
//! parallel parts share it exactly; what an execution kept settles its charges once it ends.

use std::sync::{Arc, Mutex};

use crate::json_limits::text_len;
use crate::services::caps::{
    MAX_RUN_EVENT_BYTES, MAX_RUN_EVENT_VALUES, MAX_RUN_EVENTS, MAX_RUN_LOG_BYTES, MAX_RUN_LOG_LINES,
};
use crate::step_call::{Charged, RecordAllowance};
use crate::wasm::{StepExecution, StepLimits};

/// JSON values the run's WASM outputs may hold in all.
pub const MAX_RUN_OUTPUT_VALUES: usize = 2_000_000;

/// Bytes of JSON text the run's WASM outputs may hold in all. A parallel loop clones the
/// run's context per iteration in flight, so this (with [`MAX_RUN_LOOP_COPIES`] of nested
/// loops' outputs) is also what each of those copies costs at most.
pub const MAX_RUN_OUTPUT_BYTES: usize = 64 << 20;

/// Bytes of its context a run's parallel loops and branches may copy in all (from its start
/// or its last resume): each part in flight works on a copy, so a sequential loop around a
/// parallel one copied a 60 MiB context 64 times an iteration, terabytes with no deadline to
/// stop it (hostile-step review). A sequential loop copies nothing; 64 GiB is some tens of
/// seconds of copying.
pub const MAX_RUN_CONTEXT_COPIES: usize = 64 << 30;

/// Bytes of inner loops' outputs a run's outer loops hold copies of, in all: each level of
/// nesting holds the level below's again (the outputs themselves are counted once, in
/// [`MAX_RUN_OUTPUT_BYTES`]), so loops of one item nested 30 deep held 30 copies (round 15
/// reviews). A loop of loops of 100 × 100 outputs of 4 KiB copies 40 MiB. As much as the
/// outputs: a context a parallel loop's parts each copy holds at most twice that.
pub const MAX_RUN_LOOP_COPIES: usize = 64 << 20;

/// Steps (of every kind) and loop iterations a run may go through, replayed ones included:
/// loops nest, so three loops of 100,000 items each were 10^15 iterations of one run, and a
/// body of built-in steps or waits a journal entry each (hostile-input review).
pub const MAX_RUN_STEPS: usize = 1_000_000;

/// Bytes a run's renderings (step inputs, conditions, loop lists, exit outputs, titles) may
/// copy from its context in all, past [`RENDER_ALLOWANCE`] each: each rendering is bounded
/// (`refs::MAX_RENDERED_BYTES`), but a million steps each rendering `$.steps` copied
/// terabytes (review). A loop of 100,000 iterations each copying 1 MiB fits.
pub const MAX_RUN_RENDERED_BYTES: usize = 256 << 30;

/// What one rendering copies without counting: most are a few values.
pub const RENDER_ALLOWANCE: usize = 64 << 10;

/// The size of one output, as counted on its text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Size {
    /// About how many JSON values it holds.
    pub values: usize,
    /// Bytes of its JSON text.
    pub bytes: usize,
}

/// Why an output of `size` is refused when the run has `left` of its bounds left.
pub(crate) fn refusal(size: Size, left: Size) -> String {
    if size.values > left.values {
        format!(
            "output too large: about {} JSON values (an object holding anything counts as 20), \
             and the outputs of this run's steps may hold {MAX_RUN_OUTPUT_VALUES} in all, {} of \
             them left (SPEC ST-4)",
            size.values, left.values
        )
    } else {
        format!(
            "output too large: {} bytes, and the outputs of this run's steps may hold \
             {MAX_RUN_OUTPUT_BYTES} bytes in all, {} of them left (SPEC ST-4)",
            size.bytes, left.bytes
        )
    }
}

/// What the records of a run's WASM step executions hold (or may still hold): log lines
/// and events, each by count and by size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Records {
    pub log_lines: usize,
    pub log_bytes: usize,
    pub events: usize,
    pub event_bytes: usize,
    pub event_values: usize,
}

impl Records {
    /// The whole budget of one run.
    const BUDGET: Records = Records {
        log_lines: MAX_RUN_LOG_LINES,
        log_bytes: MAX_RUN_LOG_BYTES,
        events: MAX_RUN_EVENTS,
        event_bytes: MAX_RUN_EVENT_BYTES,
        event_values: MAX_RUN_EVENT_VALUES,
    };

    /// What one execution kept: its log lines and the events it will publish.
    pub(crate) fn of(exec: &StepExecution) -> Self {
        let payloads = exec.events.iter().map(|e| &e.payload);
        // Its case calls' events count too, by size as well as number: a loop of restriction
        // updates wrote about three events each outside this budget, then events of a whole
        // case each within its count (hostile-step reviews).
        let cases = exec.case_events;
        Self {
            log_lines: exec.logs.len(),
            log_bytes: exec.logs.iter().map(|l| l.message.len()).sum(),
            events: exec.events.len().saturating_add(cases.events),
            event_bytes: payloads
                .clone()
                .map(text_len)
                .sum::<usize>()
                .saturating_add(cases.bytes),
            event_values: payloads
                .map(crate::json_limits::value_count)
                .sum::<usize>()
                .saturating_add(cases.values),
        }
    }

    /// `calls`, or none once the budget's bytes or values are spent.
    fn case_room(self, calls: usize) -> usize {
        if self.event_bytes == 0 || self.event_values == 0 {
            0
        } else {
            calls
        }
    }

    /// `limits` lowered to what is left of a run's budget.
    pub(crate) fn bound(self, limits: StepLimits) -> StepLimits {
        StepLimits {
            max_log_lines: limits.max_log_lines.min(self.log_lines),
            max_log_bytes: limits.max_log_bytes.min(self.log_bytes),
            max_events: limits.max_events.min(self.events),
            max_event_bytes: limits.max_event_bytes.min(self.event_bytes),
            max_event_values: limits.max_event_values.min(self.event_values),
            // A case created publishes one event, a restriction update up to three, each of
            // a size known only once written: none while no bytes or values are left.
            max_cases_created: limits.max_cases_created.min(self.case_room(self.events)),
            max_restriction_updates: limits
                .max_restriction_updates
                .min(self.case_room(self.events / 3)),
            ..limits
        }
    }
}

/// A run's records so far, charged by its executions as they record ([`RecordAllowance`]).
#[derive(Debug, Default)]
pub(crate) struct RecordBudget(Mutex<Records>);

impl RecordBudget {
    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        // Counts only: a panic elsewhere cannot leave them half-written in a way that matters.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl RecordAllowance for RecordBudget {
    fn log_line(&self, bytes: usize) -> bool {
        let mut held = self.lock();
        let lines = held.log_lines.saturating_add(1);
        let all = held.log_bytes.saturating_add(bytes);
        if lines > MAX_RUN_LOG_LINES || all > MAX_RUN_LOG_BYTES {
            return false;
        }
        held.log_lines = lines;
        held.log_bytes = all;
        true
    }

    fn event(&self, bytes: usize, values: usize) -> Result<(), String> {
        let mut held = self.lock();
        let events = held.events.saturating_add(1);
        let all_bytes = held.event_bytes.saturating_add(bytes);
        let all_values = held.event_values.saturating_add(values);
        if events > MAX_RUN_EVENTS
            || all_bytes > MAX_RUN_EVENT_BYTES
            || all_values > MAX_RUN_EVENT_VALUES
        {
            return Err(format!(
                "this run's steps may emit at most {MAX_RUN_EVENTS} events of \
                 {MAX_RUN_EVENT_BYTES} bytes and {MAX_RUN_EVENT_VALUES} JSON values (an object \
                 holding anything counts as 20) in all \
                 between two pauses, its parallel parts together; this one passes it (SPEC \
                 ST-4)"
            ));
        }
        held.events = events;
        held.event_bytes = all_bytes;
        held.event_values = all_values;
        Ok(())
    }
}

/// What a run holds so far, shared by its parallel parts and nested workflows: both counts
/// of its outputs under one lock, so a take sees them as one; its records under another.
#[derive(Debug, Default)]
pub(crate) struct Held {
    counts: Mutex<Size>,
    records: Arc<RecordBudget>,
    /// Bytes of the context copied for parallel parts so far.
    copied: std::sync::atomic::AtomicUsize,
    /// Steps and loop iterations gone through so far.
    steps: std::sync::atomic::AtomicUsize,
    /// Bytes rendered past each rendering's allowance so far.
    rendered: std::sync::atomic::AtomicUsize,
    /// The last stamp an output was given (see [`Held::next_stamp`]).
    stamps: std::sync::atomic::AtomicU64,
    /// Bytes of inner loops' outputs copied into outer loops' so far.
    loop_copies: std::sync::atomic::AtomicUsize,
    /// How the run counts values, by the rules it was recorded under (`runs::RunRules`).
    counting: crate::json_limits::Counting,
}

impl Held {
    /// The bounds of a run that counts values by `counting`.
    pub(crate) fn counting(counting: crate::json_limits::Counting) -> Self {
        Held {
            counting,
            ..Held::default()
        }
    }

    /// How this run counts values.
    pub(crate) fn counts_by(&self) -> crate::json_limits::Counting {
        self.counting
    }

    /// The size of an output already parsed (one replayed from the journal, or a built-in
    /// step's), counted as this run counts.
    pub(crate) fn size_of(&self, value: &serde_json::Value) -> Size {
        Size {
            values: self.counting.values(value),
            bytes: text_len(value),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Size> {
        // Two numbers: a panic elsewhere cannot leave them half-written.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the run may still take.
    pub(crate) fn left(&self) -> Size {
        let held = self.counts();
        Size {
            values: MAX_RUN_OUTPUT_VALUES.saturating_sub(held.values),
            bytes: MAX_RUN_OUTPUT_BYTES.saturating_sub(held.bytes),
        }
    }

    /// Takes `size` if both bounds still hold after it; otherwise takes nothing.
    pub(crate) fn take(&self, size: Size) -> Result<(), Size> {
        let mut held = self.counts();
        let values = held.values.checked_add(size.values);
        let bytes = held.bytes.checked_add(size.bytes);
        match (values, bytes) {
            (Some(values), Some(bytes))
                if values <= MAX_RUN_OUTPUT_VALUES && bytes <= MAX_RUN_OUTPUT_BYTES =>
            {
                *held = Size { values, bytes };
                Ok(())
            }
            _ => Err(size),
        }
    }

    /// A stamp for an output written now, larger than every one this run gave before: the
    /// run's own sequence, as a filter can read it (one process-wide counter told a run how
    /// many outputs every other tenant's runs wrote meanwhile; SPEC ID-4, hostile-step review).
    pub(crate) fn next_stamp(&self) -> u64 {
        self.stamps
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .saturating_add(1)
    }

    /// Takes `bytes` of an inner loop's output copied into an outer loop's from the run's
    /// budget ([`MAX_RUN_LOOP_COPIES`]), or nothing and what is left.
    pub(crate) fn copy_loop(&self, bytes: usize) -> Result<(), usize> {
        use std::sync::atomic::Ordering;
        self.loop_copies
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |copied| {
                copied
                    .checked_add(bytes)
                    .filter(|&all| all <= MAX_RUN_LOOP_COPIES)
            })
            .map(|_| ())
            .map_err(|copied| MAX_RUN_LOOP_COPIES.saturating_sub(copied))
    }

    /// Takes `bytes` of context copies from the run's budget, or nothing and what is left.
    pub(crate) fn copy(&self, bytes: usize) -> Result<(), usize> {
        use std::sync::atomic::Ordering;
        self.copied
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |copied| {
                copied
                    .checked_add(bytes)
                    .filter(|&all| all <= MAX_RUN_CONTEXT_COPIES)
            })
            .map(|_| ())
            .map_err(|copied| MAX_RUN_CONTEXT_COPIES.saturating_sub(copied))
    }

    /// Takes what a rendering of `bytes` copies past its allowance, or nothing and what is
    /// left.
    pub(crate) fn rendered(&self, bytes: usize) -> Result<(), usize> {
        use std::sync::atomic::Ordering;
        let counted = bytes.saturating_sub(RENDER_ALLOWANCE);
        if counted == 0 {
            return Ok(());
        }
        self.rendered
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |done| {
                done.checked_add(counted)
                    .filter(|&all| all <= MAX_RUN_RENDERED_BYTES)
            })
            .map(|_| ())
            .map_err(|done| MAX_RUN_RENDERED_BYTES.saturating_sub(done))
    }

    /// Counts one step or loop iteration; refused once the run has gone through
    /// [`MAX_RUN_STEPS`].
    pub(crate) fn step(&self) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        let before = self.steps.fetch_add(1, Ordering::Relaxed);
        if before >= MAX_RUN_STEPS {
            return Err(format!(
                "this run has gone through {MAX_RUN_STEPS} steps and loop iterations, the most \
                 a run may (SPEC ST-4)"
            ));
        }
        Ok(())
    }

    /// What is left of the run's budget for its executions' records, which bounds each as
    /// it starts; parallel parts read it at once, and a WASM step's log lines and events, its
    /// case calls' included, are charged as they are made ([`RecordAllowance`]), so together
    /// they stay within it. A built-in case step takes its events by number before its write
    /// ([`Held::take_events`]) and their size after: parallel ones may pass the bytes by one
    /// write each.
    pub(crate) fn records_left(&self) -> Records {
        let held = self.lock_records();
        let b = Records::BUDGET;
        Records {
            log_lines: b.log_lines.saturating_sub(held.log_lines),
            log_bytes: b.log_bytes.saturating_sub(held.log_bytes),
            events: b.events.saturating_sub(held.events),
            event_bytes: b.event_bytes.saturating_sub(held.event_bytes),
            event_values: b.event_values.saturating_sub(held.event_values),
        }
    }

    /// Takes `n` events of the run's budget for a built-in step's case write, before it is
    /// made; `Err` saying why when fewer remain, or when the budget's bytes or values are
    /// spent (case events are sized once written: [`Held::give_back_events`]).
    pub(crate) fn take_events(&self, n: usize) -> Result<(), String> {
        // A step that publishes nothing (a query) spends nothing, whatever is left.
        if n == 0 {
            return Ok(());
        }
        let mut held = self.lock_records();
        let left = MAX_RUN_EVENTS.saturating_sub(held.events);
        if n > left {
            return Err(format!(
                "this run has {left} of its {MAX_RUN_EVENTS} events left, and the step may \
                 publish {n} (a case created spends one, a restriction update three; SPEC ST-4)"
            ));
        }
        // Their size is known once written: none while the bytes or values are spent.
        if held.event_bytes >= MAX_RUN_EVENT_BYTES || held.event_values >= MAX_RUN_EVENT_VALUES {
            return Err(format!(
                "this run's events hold {MAX_RUN_EVENT_BYTES} bytes or {MAX_RUN_EVENT_VALUES} \
                 JSON values in all, and it has spent them (SPEC ST-4)"
            ));
        }
        held.events += n;
        Ok(())
    }

    /// Gives back `n` events taken by [`Held::take_events`] that the step did not publish (a
    /// refused or no-op update publishes none of its three).
    pub(crate) fn give_back_events(&self, n: usize) {
        let mut held = self.lock_records();
        held.events = held.events.saturating_sub(n);
    }

    /// Counts what an execution kept against the run's budget.
    pub(crate) fn recorded(&self, kept: Records) {
        self.settle(Charged::default(), kept);
    }

    /// Settles an execution's records: what it `charged` as it went is given back, and what
    /// it `kept` taken (a failed step's events are charged, then not kept).
    pub(crate) fn settle(&self, charged: Charged, kept: Records) {
        let mut held = self.lock_records();
        let settled = |held: usize, charged: usize, kept: usize| {
            held.saturating_sub(charged).saturating_add(kept)
        };
        held.log_lines = settled(held.log_lines, charged.log_lines, kept.log_lines);
        held.log_bytes = settled(held.log_bytes, charged.log_bytes, kept.log_bytes);
        held.events = settled(held.events, charged.events, kept.events);
        held.event_bytes = settled(held.event_bytes, charged.event_bytes, kept.event_bytes);
        held.event_values = settled(held.event_values, charged.event_values, kept.event_values);
    }

    /// The run's budget of records, for its executions to charge as they record.
    pub(crate) fn allowance(&self) -> Arc<dyn RecordAllowance> {
        self.records.clone()
    }

    fn lock_records(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records.lock()
    }

    /// Counts an output replayed from the journal (held as a fresh one is, so each resume
    /// does not start the run's bounds afresh), or one whose effect has committed. Never
    /// refused: the run holds it already.
    pub(crate) fn replayed(&self, size: Size) {
        let mut held = self.counts();
        held.values = held.values.saturating_add(size.values);
        held.bytes = held.bytes.saturating_add(size.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run's case calls spend its budget of events as its own events do: a loop of
    /// restriction updates wrote three events each outside it (hostile-step review).
    #[test]
    fn case_calls_spend_the_runs_budget_of_events() {
        let held = Held::default();
        held.recorded(Records {
            events: MAX_RUN_EVENTS - 5,
            ..Records::default()
        });
        let limits = held.records_left().bound(StepLimits::default());
        assert_eq!(limits.max_cases_created, 5);
        assert_eq!(limits.max_restriction_updates, 1);
        assert_eq!(limits.max_events, 5);
        held.recorded(Records {
            events: 5,
            ..Records::default()
        });
        let spent = held.records_left().bound(StepLimits::default());
        assert_eq!(
            (spent.max_cases_created, spent.max_restriction_updates),
            (0, 0)
        );
        let none_left = held
            .take_events(1)
            .expect_err("a built-in write finds none left");
        assert!(none_left.contains("0 of its"), "{none_left}");
        let fresh = Held::default().records_left().bound(StepLimits::default());
        assert_eq!(
            fresh.max_restriction_updates,
            StepLimits::default().max_restriction_updates,
            "the execution's own cap, far from the run's"
        );
        // Case events by their size too (round 14): once their bytes are spent, no case call
        // is left however many events are, for a WASM step or a built-in one.
        let big = Held::default();
        big.recorded(Records {
            event_bytes: MAX_RUN_EVENT_BYTES,
            ..Records::default()
        });
        let spent = big.records_left().bound(StepLimits::default());
        assert_eq!(
            (spent.max_cases_created, spent.max_restriction_updates),
            (0, 0)
        );
        let why = big.take_events(1).expect_err("bytes spent");
        assert!(why.contains("bytes"), "{why}");
        assert_eq!(big.take_events(0), Ok(()), "a query publishes nothing");
        // What a refused or no-op update did not publish is given back.
        let held = Held::default();
        held.take_events(3).expect("room");
        held.give_back_events(3);
        assert_eq!(held.records_left().events, MAX_RUN_EVENTS);
    }

    /// An execution's record counts its case calls' events by number, bytes and values.
    #[test]
    fn an_executions_case_events_count_by_size() {
        let published = crate::step_call::CaseEvents::default();
        let payload = serde_json::json!({ "case": { "title": "x".repeat(1000) } });
        published.charge(&payload, None).expect("no allowance");
        published.charge(&payload, None).expect("no allowance");
        let exec = StepExecution {
            result: Ok(serde_json::json!({})),
            logs: Vec::new(),
            dropped_logs: 0,
            events: Vec::new(),
            duration: std::time::Duration::ZERO,
            output_values: 1,
            output_bytes: 2,
            database_calls: 2,
            case_events: published.counted(),
            charged: Default::default(),
        };
        let records = Records::of(&exec);
        assert_eq!(records.events, 2);
        assert_eq!(records.event_bytes, 2 * text_len(&payload));
        assert_eq!(
            records.event_values,
            2 * crate::json_limits::value_count(&payload)
        );
    }

    #[test]
    fn context_copies_past_the_runs_budget_are_refused_whole() {
        let held = Held::default();
        assert_eq!(held.copy(MAX_RUN_CONTEXT_COPIES - 10), Ok(()));
        assert_eq!(held.copy(11), Err(10), "refused, saying what is left");
        assert_eq!(held.copy(10), Ok(()), "a refusal took nothing");
        assert_eq!(held.copy(1), Err(0));
        assert_eq!(held.copy(usize::MAX), Err(0), "no overflow");
    }

    /// Inner loops' outputs copied into outer loops' have a budget of their own: each level
    /// of nesting held the level below's again (round 15 reviews).
    #[test]
    fn loop_copies_past_the_runs_budget_are_refused_whole() {
        let held = Held::default();
        assert_eq!(held.copy_loop(MAX_RUN_LOOP_COPIES - 10), Ok(()));
        assert_eq!(held.copy_loop(11), Err(10), "refused, saying what is left");
        assert_eq!(held.copy_loop(10), Ok(()));
    }

    #[test]
    fn renderings_count_past_their_allowance_until_the_runs_budget() {
        let held = Held::default();
        for _ in 0..1000 {
            assert_eq!(
                held.rendered(RENDER_ALLOWANCE),
                Ok(()),
                "within the allowance"
            );
        }
        assert_eq!(
            held.rendered(RENDER_ALLOWANCE + MAX_RUN_RENDERED_BYTES),
            Ok(()),
            "the whole budget"
        );
        assert_eq!(held.rendered(RENDER_ALLOWANCE + 1), Err(0), "past it");
        assert_eq!(
            held.rendered(RENDER_ALLOWANCE),
            Ok(()),
            "small ones still go"
        );
    }

    #[test]
    fn steps_past_the_runs_budget_are_refused() {
        let held = Held::default();
        held.steps
            .store(MAX_RUN_STEPS - 1, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(held.step(), Ok(()), "the last one");
        let e = held.step().expect_err("one more");
        assert!(e.contains(&MAX_RUN_STEPS.to_string()), "{e}");
        assert!(held.step().is_err(), "and every one after it");
    }

    #[test]
    fn a_take_past_either_bound_takes_nothing() {
        let held = Held::default();
        let big = Size {
            values: 1,
            bytes: MAX_RUN_OUTPUT_BYTES - 10,
        };
        assert_eq!(held.take(big), Ok(()));
        let over = Size {
            values: 5,
            bytes: 11,
        };
        assert_eq!(held.take(over), Err(over));
        // The values of the refused take were given back.
        assert_eq!(held.left().values, MAX_RUN_OUTPUT_VALUES - 1);
        assert_eq!(held.left().bytes, 10);
        let wide = Size {
            values: MAX_RUN_OUTPUT_VALUES,
            bytes: 1,
        };
        assert_eq!(held.take(wide), Err(wide));
        assert_eq!(held.left().bytes, 10);
    }

    /// A run recorded before objects were weighted counts its outputs as it did then (one
    /// value an object), so its replay stays within the budget its journal was within.
    #[test]
    fn a_run_counts_values_by_the_rules_it_was_recorded_under() {
        use crate::json_limits::Counting;
        let value = serde_json::json!([{ "a": 1 }, { "b": 2 }]);
        assert_eq!(Held::default().size_of(&value).values, 1 + 2 * (20 + 1));
        assert_eq!(Held::counting(Counting::FLAT).size_of(&value).values, 5);
        assert_eq!(Held::counting(Counting::FLAT).counts_by(), Counting::FLAT);
    }

    #[test]
    fn a_replayed_output_counts_its_text() {
        let held = Held::default();
        let value = serde_json::json!({ "a": [1, "xy"] });
        let size = held.size_of(&value);
        assert_eq!(size.bytes, value.to_string().len());
        held.replayed(size);
        assert_eq!(held.left().bytes, MAX_RUN_OUTPUT_BYTES - size.bytes);
    }
}
