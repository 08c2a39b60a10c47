//! Per-execution resource limits and the limiter that enforces the memory cap.

use std::time::Duration;

use wasmtime::ResourceLimiter;

use crate::services::caps;

/// What one step execution may use (SPEC ST-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepLimits {
    /// Linear memory cap across the component's memories, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock deadline for the whole execution.
    pub timeout: Duration,
    /// Largest accepted output JSON, in bytes.
    pub max_output_bytes: usize,
    /// Most JSON values (arrays, objects, scalars) an accepted output holds: what it costs
    /// parsed, where `max_output_bytes` bounds only its text.
    pub max_output_values: usize,
    /// Log lines kept; later ones are counted, not kept.
    pub max_log_lines: usize,
    /// Bytes of log messages kept; a line past them is counted, not kept.
    pub max_log_bytes: usize,
    /// Events a step may emit in one execution.
    pub max_events: usize,
    /// Bytes of JSON the payloads of one execution's events may hold in all.
    pub max_event_bytes: usize,
    /// JSON values the payloads of one execution's events may hold in all (SPEC ST-4).
    pub max_event_values: usize,
    /// Cases a step may create in one execution (SPEC ST-4).
    pub max_cases_created: usize,
    /// *Update case restrictions* calls a step may make in one execution (SPEC ST-4).
    pub max_restriction_updates: usize,
    /// Host calls that reach the database in one execution (cases, `check-flow-access`),
    /// each counted whatever it answered.
    pub max_database_calls: usize,
    /// How long one such call's storage work may take once it holds the connection, within
    /// the step's deadline: on SQLite every run of the process shares that connection, so a
    /// step's call keeps the others waiting this long at most, not up to its own deadline.
    pub max_call_storage: Duration,
    /// How long all such calls of one execution may take together, as `max_call_storage`
    /// counts them: a step of many calls each within its own bound held the shared
    /// connection for minutes (hostile-step review).
    pub max_execution_storage: Duration,
}

impl Default for StepLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(10),
            max_output_bytes: 16 << 20,
            max_output_values: 1_000_000,
            max_log_lines: caps::MAX_LOG_LINES,
            max_log_bytes: caps::MAX_LOG_BYTES_PER_EXECUTION,
            max_events: caps::MAX_EVENTS_PER_EXECUTION,
            max_event_bytes: caps::MAX_EVENT_BYTES_PER_EXECUTION,
            max_event_values: caps::MAX_EVENT_VALUES_PER_EXECUTION,
            max_cases_created: caps::MAX_CASES_CREATED_PER_EXECUTION,
            max_restriction_updates: caps::MAX_RESTRICTION_UPDATES_PER_EXECUTION,
            max_database_calls: caps::MAX_DATABASE_CALLS_PER_EXECUTION,
            max_call_storage: Duration::from_secs(5),
            max_execution_storage: Duration::from_secs(30),
        }
    }
}

impl StepLimits {
    /// `Err` naming the cap when an output of `len` bytes passes `max_output_bytes`, with
    /// what the step wrote to stderr (`stderr`, asked only then).
    pub(crate) fn output_bytes_within(
        &self,
        len: usize,
        stderr: impl FnOnce() -> String,
    ) -> Result<(), super::StepFailure> {
        if len <= self.max_output_bytes {
            return Ok(());
        }
        Err(super::StepFailure::OutputTooLarge {
            len,
            limit: self.max_output_bytes,
            stderr: stderr(),
        })
    }

    /// `Err` naming the cap when an output of `count` values (an object holding anything as
    /// `json_limits::OBJECT_VALUES`) passes `max_output_values`, with the step's stderr.
    pub(crate) fn output_values_within(
        &self,
        count: usize,
        stderr: impl FnOnce() -> String,
    ) -> Result<(), super::StepFailure> {
        if count <= self.max_output_values {
            return Ok(());
        }
        Err(super::StepFailure::OutputTooManyValues {
            count,
            limit: self.max_output_values,
            stderr: stderr(),
        })
    }
}

/// The memory cap that was hit, carried as the trap's error so the failure names its cause.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (the step asked for {desired} bytes)")]
pub struct MemoryLimitExceeded {
    /// The cap.
    pub limit: usize,
    /// The size the step asked its memory to grow to.
    pub desired: usize,
}

/// A host call refused because a value the step handed over broke a cap of SPEC ST-4 and the
/// call has no error to return it in (`wasi:random`): the call traps, carrying this.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostCapExceeded(pub String);

/// Limits growth of linear memories and tables for one store.
///
/// Exceeding the cap traps at once (rather than making `memory.grow` return -1) so the failure
/// is reported as a memory-limit failure, not as whatever the guest does on allocation failure.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    /// Bytes of linear memory granted so far, summed over the store's memories.
    in_use: usize,
    /// The last growth granted, undone if the grow itself then fails.
    last_grant: usize,
}

/// Most elements of any one table of a step (a table bomb stops here). The pool's slots are
/// this size (`engine.rs`), so the cap is the same under either allocator; componentize-py's
/// shared table of 5,680 funcrefs is the largest measured.
pub const MAX_TABLE_ELEMENTS: usize = 20_000;
/// Most core instances of one step: componentize-py 0.25 instantiates 14, a Rust step a few.
/// The store's limiter and the pool's per-component limit both hold this.
pub const MAX_CORE_INSTANCES: usize = 20;
/// Most linear memories of one step (QuickJS's component has 2).
pub const MAX_MEMORIES: usize = 3;
/// Most tables of one step (componentize-py's has 2).
pub const MAX_TABLES: usize = 8;

impl MemoryLimiter {
    /// A limiter allowing `limit` bytes of linear memory in total.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            in_use: 0,
            last_grant: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Checked: a hostile request may be near usize::MAX.
        let grow = desired.saturating_sub(current);
        let total = self.in_use.checked_add(grow).filter(|t| *t <= self.limit);
        let Some(total) = total else {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.limit,
                desired: self.in_use.saturating_add(grow),
            }));
        };
        self.in_use = total;
        self.last_grant = grow;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.in_use = self
            .in_use
            .saturating_sub(std::mem::take(&mut self.last_grant));
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    // The counts below are what the pool's per-component limits hold; a store holds one step,
    // so per store is per component. Without the pool (a one-shot process) they are the only
    // bound on a component's instances, memories and tables.
    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_within_the_cap_is_allowed_and_beyond_it_traps() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 512 << 10, None).expect("fits"));
        assert!(
            limiter
                .memory_growing(512 << 10, 1 << 20, None)
                .expect("fits")
        );
        let err = limiter
            .memory_growing(1 << 20, 2 << 20, None)
            .expect_err("over the cap");
        assert!(err.downcast_ref::<MemoryLimitExceeded>().is_some());
    }

    #[test]
    fn huge_requests_do_not_overflow_and_failed_grows_give_memory_back() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(
            limiter
                .memory_growing(1 << 16, usize::MAX - 65535, None)
                .is_err()
        );
        assert!(limiter.memory_growing(0, 512 << 10, None).expect("fits"));
        limiter
            .memory_grow_failed(wasmtime::Error::msg("os said no"))
            .expect("noted");
        assert!(
            limiter
                .memory_growing(0, 1 << 20, None)
                .expect("the failed grow was undone")
        );
    }

    #[test]
    fn the_cap_covers_all_memories_of_the_store() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(
            limiter
                .memory_growing(0, 768 << 10, None)
                .expect("first memory")
        );
        assert!(limiter.memory_growing(0, 512 << 10, None).is_err());
    }
}
