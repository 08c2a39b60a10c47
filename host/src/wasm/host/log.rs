//! `flowhost:step/log`: records bounded log lines.

use crate::wasm::bindings::log::{self, Level};
use crate::wasm::state::{LogLevel, StepState};

impl log::Host for StepState {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let allowance = self.allowance();
        self.recorder
            .log(&self.limits, allowance.as_deref(), level, message);
    }
}
