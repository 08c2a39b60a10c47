//! Workflows (SPEC WF): definitions as data, parsed and validated with located errors, and
//! context references (JSONPath, RFC 9535).

pub mod components;
pub mod conditions;
pub mod engine;
pub mod fanout;
pub mod flows;
pub mod journal;
pub mod lease;
pub mod model;
pub mod parse;
mod pending;
pub mod publish;
pub mod refs;
pub mod resolver;
pub mod revision;
pub mod run_access;
pub mod scheduler;
mod store;
pub mod timers;
pub mod triggers;
pub mod webhooks;

pub use engine::{Engine, Observer, Quiet, RunOutcome};
pub use model::Workflow;
pub use parse::parse;
pub use resolver::Resolver;
