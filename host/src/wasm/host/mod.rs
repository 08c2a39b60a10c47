//! The WIT glue: one file per host interface. Each converts WIT types to service types and
//! forwards to the service with the execution's caller; none of them decides access.

mod access;
mod cases;
mod convert;
pub(crate) use convert::describe_host_error;
mod events;
mod log;

use super::bindings::types;
use super::state::StepState;

// `types` declares no functions; its host trait is empty.
impl types::Host for StepState {}
