//! The storage of runs (issue 15, the storage boundary): the SQL of `runs`, `run_steps`,
//! `run_timers` and run leases. Each function takes the caller's connection or transaction
//! and returns the run types of [`crate::runs`]; decisions stay above.

pub(crate) mod journal;
pub(in crate::runs) mod leases;
pub(in crate::runs) mod timers;
