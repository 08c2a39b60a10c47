//! The storage of `workflow/` (issue 15, the storage boundary): one module per concern of the
//! workflow service that speaks SQL, private to `workflow/`. Each takes the caller's
//! connection or transaction and returns the service's own types; decisions stay above.
//! Runs, their journal, timers and leases are stored by [`crate::runs`].

pub(in crate::workflow) mod components;
pub(in crate::workflow) mod events;
pub(in crate::workflow) mod revisions;
pub(in crate::workflow) mod webhooks;
