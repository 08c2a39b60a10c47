//! The storage of `workflow/` (issue 15, the storage boundary): one module per concern of the
//! workflow service that speaks SQL, private to `workflow/`. Each takes the caller's
//! connection or transaction and returns the service's own types; decisions stay above.

pub(in crate::workflow) mod components;
pub(in crate::workflow) mod leases;
pub(in crate::workflow) mod revisions;
pub(in crate::workflow) mod timers;
pub(in crate::workflow) mod webhooks;
