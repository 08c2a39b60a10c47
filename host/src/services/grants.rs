//! Per-step grants (SPEC WF-6, least privilege per step): a step's host calls need both the
//! run principal's scopes (checked by the services) and the grant the workflow gave the step,
//! which its [`Caller`] carries. The services check it first, before anything else.

use crate::Error;
use crate::access::Reason;
use crate::principal::Caller;

pub use crate::step_call::{Grant, Grants};

/// `Ok` if the caller's step is granted `grant`, else the denial naming it.
pub fn require(caller: &Caller, grant: Grant) -> Result<(), Error> {
    granted(caller, grant).map_err(Error::Denied)
}

/// What updating a case's restrictions takes of a step's grants: writing, and reading, since
/// its answer names every collaborator (an update changing nothing read them without
/// `cases:read`: leak review). One place for the case service and `step test`'s mocks.
pub fn require_restriction_update(caller: &Caller) -> Result<(), Error> {
    require(caller, Grant::CasesWrite)?;
    require(caller, Grant::CasesRead)
}

/// `Ok` if the caller's step is granted `grant`, else the reason it is not (for a question
/// answered with a decision rather than an error).
pub fn granted(caller: &Caller, grant: Grant) -> Result<(), Reason> {
    if caller.grants().allows(grant) {
        Ok(())
    } else {
        Err(Reason::NotGranted(grant.name()))
    }
}
