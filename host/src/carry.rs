//! Writes that ride in the next transaction this thread commits (issue 19: fewer commits per
//! run). A run's finished pure steps need not commit on their own before its next step with
//! an effect; they must commit no later than that effect. So the engine puts them aboard
//! ([`aboard`]) while such a step runs, and the step's first transaction
//! ([`crate::platform::Platform::transact`], `write` or `transact_in_workspace`) writes them
//! before its own work and commits them with it: the effect and the
//! outputs it may depend on become durable together or not at all. A step's host calls run
//! on its own thread (see [`crate::store::deadline`]), so the slot is a thread-local.

use std::cell::RefCell;

use crate::Error;
use crate::store::Transaction;

/// Work that rides in a transaction.
pub(crate) trait Rider {
    /// Writes the work into `tx` (which may still roll back).
    fn write(&self, tx: &Transaction<'_>) -> Result<(), Error>;
    /// Called once the transaction that holds the work has committed.
    fn landed(&self);
}

thread_local! {
    static SLOT: RefCell<Option<Box<dyn Rider>>> = const { RefCell::new(None) };
}

/// Puts `rider` aboard this thread's next transaction, until the guard drops.
pub(crate) fn aboard(rider: Box<dyn Rider>) -> Aboard {
    let outer = SLOT.with(|s| s.replace(Some(rider)));
    Aboard { outer }
}

/// Takes the rider off when dropped (whether it landed or not), restoring any outer one.
pub(crate) struct Aboard {
    outer: Option<Box<dyn Rider>>,
}

impl Drop for Aboard {
    fn drop(&mut self) {
        let outer = self.outer.take();
        SLOT.with(|s| *s.borrow_mut() = outer);
    }
}

/// Whether a rider waits aboard this thread's next transaction.
pub(crate) fn is_aboard() -> bool {
    SLOT.with(|s| s.borrow().is_some())
}

/// Writes this thread's rider, if any, into `tx`. Call [`Boarding::landed`] once `tx` has
/// committed; otherwise (an error, a rollback) the rider goes back to wait for the next
/// transaction.
pub(crate) fn board(tx: &Transaction<'_>) -> Result<Boarding, Error> {
    let Some(rider) = SLOT.with(|s| s.borrow_mut().take()) else {
        return Ok(Boarding(None));
    };
    let boarding = Boarding(Some(rider));
    if let Some(rider) = &boarding.0 {
        rider.write(tx)?;
    }
    Ok(boarding)
}

/// A rider written into an open transaction.
pub(crate) struct Boarding(Option<Box<dyn Rider>>);

impl Boarding {
    /// The transaction committed: the rider's work is durable.
    pub(crate) fn landed(mut self) {
        if let Some(rider) = self.0.take() {
            rider.landed();
        }
    }
}

impl Drop for Boarding {
    fn drop(&mut self) {
        // Not committed: back in the slot for the step's next transaction.
        if let Some(rider) = self.0.take() {
            SLOT.with(|s| *s.borrow_mut() = Some(rider));
        }
    }
}
