//! The data of one step execution's `Store`: sandboxed WASI, limits, the caller and what the
//! step recorded through its host calls.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::principal::Caller;
use crate::services::HostServices;
use crate::services::caps::{
    self, MAX_LOG_LINE_BYTES as MAX_LOG_MESSAGE_BYTES, MAX_RANDOM_BYTES_PER_CALL,
};
use crate::services::events::CustomEvent;

use super::limits::{MemoryLimiter, StepLimits};

/// Severity of a step log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The lower-case name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// One line a step logged.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

/// What a step did through `log` and `events`, bounded by [`StepLimits`].
#[derive(Debug, Default)]
pub struct Recorder {
    /// Kept log lines, in order.
    pub logs: Vec<LogLine>,
    /// Bytes of the kept lines' messages.
    pub log_bytes: usize,
    /// Log lines beyond the cap, counted only.
    pub dropped_logs: usize,
    /// Validated events, published only if the step succeeds.
    pub events: Vec<CustomEvent>,
    /// JSON values their payloads hold in all ([`StepLimits::max_event_values`]).
    pub event_values: usize,
    /// Bytes of their payloads' JSON text ([`StepLimits::max_event_bytes`]).
    pub event_bytes: usize,
    /// What was charged to the run's allowance, settled once the execution ends.
    pub charged: crate::step_call::Charged,
}

impl Recorder {
    /// Keeps `message` unless the execution's cap, or its run's `allowance`, is reached; cuts
    /// overlong messages at a char boundary.
    pub fn log(
        &mut self,
        limits: &StepLimits,
        allowance: Option<&dyn crate::step_call::RecordAllowance>,
        level: LogLevel,
        message: String,
    ) {
        if self.logs.len() >= limits.max_log_lines {
            self.dropped_logs += 1;
            return;
        }
        // Cut before NULs are replaced (each becomes three bytes): a line of 16 MiB of NULs
        // was tripled in host memory first (hostile-step review).
        let mut message = message;
        let cut_short = message.len() > MAX_LOG_MESSAGE_BYTES;
        if cut_short {
            message.truncate(message.floor_char_boundary(MAX_LOG_MESSAGE_BYTES));
        }
        let mut message = crate::text::storable(message);
        let grown = message.len() > MAX_LOG_MESSAGE_BYTES;
        if grown {
            message.truncate(message.floor_char_boundary(MAX_LOG_MESSAGE_BYTES));
        }
        if cut_short || grown {
            message.push_str("… [truncated]");
        }
        // Truncating keeps the whole allocation: 1,000 kept lines of a 60 MiB message each
        // would hold 60 GB of the host's memory.
        message.shrink_to_fit();
        // The run's budget may leave an execution fewer bytes than its lines' count allows.
        let bytes = self.log_bytes.saturating_add(message.len());
        if bytes > limits.max_log_bytes {
            self.dropped_logs += 1;
            return;
        }
        // The run's parallel parts share its budget: charged now, not read when they began.
        if let Some(allowance) = allowance {
            if !allowance.log_line(message.len()) {
                self.dropped_logs += 1;
                return;
            }
            self.charged.log_lines += 1;
            self.charged.log_bytes += message.len();
        }
        self.log_bytes = bytes;
        self.logs.push(LogLine { level, message });
    }
}

/// The `T` of `Store<T>` for a step execution.
pub struct StepState {
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: super::stderr::StderrCapture,
    /// Enforces the memory cap; read after a failure to name its cause.
    pub(crate) limiter: MemoryLimiter,
    /// Where and as whom the step's host calls act.
    pub(crate) caller: Caller,
    /// What host calls forward to.
    pub(crate) services: HostServices,
    /// The limits of this execution.
    pub(crate) limits: StepLimits,
    /// Logs and events so far.
    pub(crate) recorder: Recorder,
    /// Cases created so far, against `limits.max_cases_created`.
    pub(crate) cases_created: usize,
    /// *Update case restrictions* calls so far, against `limits.max_restriction_updates`.
    pub(crate) restriction_updates: usize,
    /// Host calls that reach the database so far, against `limits.max_database_calls`.
    pub(crate) database_calls: usize,
    /// Their storage work so far, against `limits.max_execution_storage`.
    storage_used: std::time::Duration,
    /// When the execution's time is up.
    deadline: std::time::Instant,
}

impl StepState {
    /// A fresh state with a deny-all WASI context: no preopened directories, no environment
    /// or arguments, no sockets or name lookups, stdin empty, stdout discarded, stderr captured
    /// up to a small bound (SPEC ST-2).
    pub fn new(mut caller: Caller, services: HostServices, limits: StepLimits) -> Self {
        // Every call of the execution carries the step's grants and keys to the service.
        caller.step = Some(services.step.clone());
        let stderr = super::stderr::StderrCapture::new();
        let wasi = WasiCtx::builder()
            .stdin(std::io::empty())
            .stdout(std::io::empty())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            // Also refused by `random.rs` with a clearer error; this is the backstop.
            .max_random_size(MAX_RANDOM_BYTES_PER_CALL)
            .build();
        Self {
            wasi,
            table: {
                let mut table = ResourceTable::new();
                table.set_max_capacity(caps::MAX_WASI_RESOURCES);
                table
            },
            stderr,
            limiter: MemoryLimiter::new(limits.memory_bytes),
            caller,
            services,
            limits,
            recorder: Recorder::default(),
            cases_created: 0,
            restriction_updates: 0,
            database_calls: 0,
            storage_used: std::time::Duration::ZERO,
            deadline: std::time::Instant::now() + limits.timeout,
        }
    }

    /// The execution's budget of host calls that reach the database (every call of the
    /// cases interface, `check-flow-access`): each counts, applied or refused (SPEC ST-4).
    pub(crate) fn may_call_the_database(
        &mut self,
    ) -> Result<(), crate::wasm::bindings::types::HostError> {
        if self.database_calls >= self.limits.max_database_calls {
            return Err(crate::wasm::bindings::types::HostError::Invalid(format!(
                "a step may make at most {} calls that reach the database (cases, \
                 check-flow-access) per execution (SPEC ST-4)",
                self.limits.max_database_calls
            )));
        }
        self.database_calls += 1;
        Ok(())
    }

    /// Runs `call`, one host call that reaches the database (counted by
    /// [`StepState::may_call_the_database`]), its statements bounded by `max_call_storage`
    /// ([`StepLimits`]) from when it holds the shared connection, within the step's deadline
    /// (SQLite's, and PostgreSQL's reads; waits for the connection or a lock stay bounded
    /// by the deadline alone); its infrastructure failure noted (`services/watch.rs`). Work
    /// the budget cut short is the step's to mend (`invalid`, naming the bound): it asked
    /// for too much.
    pub(crate) fn database_call<T>(
        &mut self,
        call: impl FnOnce(&HostServices, &Caller) -> Result<T, crate::Error>,
    ) -> Result<T, crate::wasm::bindings::types::HostError> {
        self.may_call_the_database()?;
        // After the infrastructure failed one of its calls, the execution is not recorded and
        // runs again from its first call, whose keys are the first execution's: a retried
        // creation here, keyed as its second call, made a second case at the re-execution
        // (kill and concurrency review; SPEC WF-8, WF-11). So nothing more reaches the
        // database; the step is told to stop.
        if self.services.failed() {
            return Err(crate::wasm::bindings::types::HostError::Internal(
                "the host's storage failed an earlier call of this execution; the step will \
                 run again, stop now"
                    .into(),
            ));
        }
        let total = self.limits.max_execution_storage;
        let left = total.saturating_sub(self.storage_used);
        if left.is_zero() {
            return Err(crate::wasm::bindings::types::HostError::Invalid(format!(
                "the step's calls have used their storage time of {} ms for this execution \
                 (SPEC ST-4); ask for less in each",
                total.as_millis()
            )));
        }
        let bound = self.limits.max_call_storage.min(left);
        let budget = crate::store::deadline::budget(bound);
        let result = call(&self.services, &self.caller);
        let spent = result.is_err() && budget.spent();
        self.storage_used += budget.used(bound);
        drop(budget);
        if spent {
            // The work's own doing, not the infrastructure's: not noted.
            return Err(crate::wasm::bindings::types::HostError::Invalid(format!(
                "the call's storage work passed its bound of {} ms (SPEC ST-4; {} ms a call, \
                 {} ms an execution); ask for less (a narrower filter, a smaller page)",
                bound.as_millis(),
                self.limits.max_call_storage.as_millis(),
                total.as_millis()
            )));
        }
        self.services.note(result).map_err(Into::into)
    }

    /// Whether the execution's time is up (see `deadline.rs`).
    pub(crate) fn past_deadline(&self) -> bool {
        std::time::Instant::now() >= self.deadline
    }

    /// When the execution's time is up.
    pub(crate) fn deadline(&self) -> std::time::Instant {
        self.deadline
    }

    /// Time left before the deadline, for clamping waits (see `deadline.rs`): nanoseconds
    /// from now, plus a millisecond so the guest wakes just after it and meets the epoch check.
    pub(crate) fn remaining_nanos(&self) -> u64 {
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        u64::try_from(left.as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(1_000_000)
    }

    /// What the guest wrote to stderr, lossily decoded: its start and its end when long.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// The run's budget of records this execution charges, if it runs in one.
    pub(crate) fn allowance(
        &self,
    ) -> Option<std::sync::Arc<dyn crate::step_call::RecordAllowance>> {
        self.caller
            .step
            .as_ref()
            .and_then(|step| step.allowance.clone())
    }

    /// Takes the recorded logs and events.
    pub fn take_recorder(&mut self) -> Recorder {
        std::mem::take(&mut self.recorder)
    }
}

impl WasiView for StepState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_log_line_keeps_no_more_memory_than_its_cut() {
        let mut recorder = Recorder::default();
        let limits = StepLimits::default();
        recorder.log(&limits, None, LogLevel::Info, "x".repeat(4 << 20));
        let line = &recorder.logs[0].message;
        assert!(line.ends_with("… [truncated]"));
        assert!(
            line.capacity() <= MAX_LOG_MESSAGE_BYTES + 64,
            "{} bytes held",
            line.capacity()
        );
    }
}
