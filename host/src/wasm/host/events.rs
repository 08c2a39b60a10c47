//! `flowhost:step/events`: validates and records custom events; they are published only if
//! the step succeeds.

use crate::services::caps::{
    MAX_EVENT_BYTES_PER_EXECUTION, MAX_EVENTS_PER_EXECUTION, MAX_RUN_EVENT_BYTES, MAX_RUN_EVENTS,
};
use crate::services::events::CustomEvent;
use crate::wasm::bindings::events;
use crate::wasm::bindings::types::HostError;
use crate::wasm::state::StepState;

impl events::Host for StepState {
    fn emit(&mut self, kind: String, payload_json: String) -> Result<(), HostError> {
        // The grant before anything else, as the case calls check theirs: a step without
        // `events:emit` was told about its payload or the budgets first (round 16
        // hostile-step review).
        crate::services::grants::require(&self.caller, crate::services::grants::Grant::EventsEmit)?;
        // Then the budgets: what answers `authorize_emit` (the `step test` mocks) records
        // the call's payload parsed, so a call past them must not get that far.
        if self.recorder.events.len() >= self.limits.max_events {
            return Err(HostError::Invalid(format!(
                "this execution may emit at most {} events: {MAX_EVENTS_PER_EXECUTION} an \
                 execution, {MAX_RUN_EVENTS} a run in all between two pauses (SPEC ST-4)",
                self.limits.max_events
            )));
        }
        let bytes = self.recorder.event_bytes.saturating_add(payload_json.len());
        if bytes > self.limits.max_event_bytes {
            return Err(HostError::Invalid(format!(
                "the payloads of this execution's events may hold at most {} bytes: \
                 {MAX_EVENT_BYTES_PER_EXECUTION} an execution, {MAX_RUN_EVENT_BYTES} a run in \
                 all between two pauses; this one is {} bytes (SPEC ST-4)",
                self.limits.max_event_bytes,
                payload_json.len()
            )));
        }
        let left = self
            .limits
            .max_event_values
            .saturating_sub(self.recorder.event_values);
        let (event, values) = CustomEvent::parse_within(&kind, &payload_json, left)?;
        // Charged as stored, when that is more than as sent (numbers written out in full;
        // round 19 hostile-step review).
        let size = payload_json.len().max(event.stored_len());
        let bytes = self.recorder.event_bytes.saturating_add(size);
        if bytes > self.limits.max_event_bytes {
            return Err(HostError::Invalid(format!(
                "the payloads of this execution's events may hold at most {} bytes: \
                 {MAX_EVENT_BYTES_PER_EXECUTION} an execution, {MAX_RUN_EVENT_BYTES} a run in \
                 all between two pauses; this one is {size} bytes as stored (SPEC ST-4)",
                self.limits.max_event_bytes,
            )));
        }
        // Asked before the run's budget is charged: a refused emit charged it until the step
        // ended, so a step whose principal may not emit was told the budget ran out and
        // starved its parallel siblings (round 22 hostile-step review).
        self.services
            .authorize_emit(&self.caller, &kind, &payload_json)?;
        // The run's budget, shared by its parallel parts, charged now: each read what was
        // left when it began, so 33 parts emitted 33 executions' worth (round 16).
        if let Some(allowance) = self.allowance() {
            allowance.event(size, values).map_err(HostError::Invalid)?;
            let charged = &mut self.recorder.charged;
            charged.events += 1;
            charged.event_bytes += size;
            charged.event_values += values;
        }
        self.recorder.event_values += values;
        self.recorder.event_bytes = bytes;
        self.recorder.events.push(event);
        Ok(())
    }
}
