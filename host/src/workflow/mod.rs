//! Workflows (SPEC WF) as a service: the engine that runs a definition
//! ([`crate::definition`]) over the run store ([`crate::runs::RunStore`]), triggers, flows,
//! publishing, who sees which runs, and the scheduler of `serve`.

pub mod components;
pub mod engine;
pub mod fanout;
pub mod flows;
pub mod held;
mod pending;
pub mod publish;
pub mod revision;
pub mod run_access;
mod run_standing;
pub mod scheduler;
mod start_keys;
mod stops_in_a_row;
mod store;
pub mod timers;
pub mod triggers;
pub mod webhooks;

pub use crate::definition::{Resolver, Workflow, parse};
pub use engine::{Engine, Observer, Quiet, RunOutcome};
