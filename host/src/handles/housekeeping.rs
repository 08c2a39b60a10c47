//! [`Housekeeping`]: deleting expired rows (`crate::housekeeping`). It acts for nobody and
//! reveals nothing: what it deletes no request could use any more, so it is the operator's
//! (whoever holds the database file, as `serve` and `flowhost db prune` do), not a
//! principal's.

use crate::Error;
use crate::clock;
use crate::housekeeping::{BATCH, Pruned};
use crate::platform::Platform;

/// Housekeeping of a [`Platform`]'s database.
#[derive(Clone, Copy)]
pub struct Housekeeping<'p> {
    platform: &'p Platform,
}

impl<'p> Housekeeping<'p> {
    pub(crate) fn new(platform: &'p Platform) -> Self {
        Self { platform }
    }

    /// One pass now: at most [`BATCH`] rows of each kind, each kind in its own transaction.
    pub fn prune(&self) -> Result<Pruned, Error> {
        self.platform.prune(clock::now_unix(), BATCH)
    }
}
