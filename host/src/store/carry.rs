//! Writes that ride in the next transaction this thread commits (issue 19: fewer commits per
//! run). A run's finished pure steps need not commit on their own before its next step with
//! an effect; they must commit no later than that effect. So the engine puts them aboard
//! ([`aboard`]) while such a step runs, and the step's first transaction
//! ([`crate::platform::Platform::transact`] or `write`) writes them before its own work and
//! commits them with it: the effect and the outputs it may depend on become durable together
//! or not at all. A step's host calls run on its own thread (see [`super::deadline`]), so the
//! slot is a thread-local.

use std::cell::RefCell;

use rusqlite::Transaction;

use crate::Error;

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

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;
    use crate::platform::Platform;
    use crate::store::Db;

    /// Inserts one row into `t` and notes when it landed.
    struct Note(Rc<Cell<bool>>);

    impl Rider for Note {
        fn write(&self, tx: &Transaction<'_>) -> Result<(), Error> {
            tx.execute("INSERT INTO t (x) VALUES (1)", [])
                .map_err(crate::platform::internal)?;
            Ok(())
        }
        fn landed(&self) {
            self.0.set(true);
        }
    }

    fn rows(platform: &Platform) -> i64 {
        platform
            .db()
            .conn()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn a_rider_lands_only_with_a_committed_transaction_and_waits_through_a_failed_one() {
        let platform = Platform::new(Db::open_in_memory().expect("db")).expect("platform");
        platform
            .transact(|tx| {
                tx.execute("CREATE TABLE t (x INTEGER)", [])
                    .map_err(crate::platform::internal)?;
                Ok(())
            })
            .expect("table");
        let landed = Rc::new(Cell::new(false));
        let _aboard = aboard(Box::new(Note(landed.clone())));
        // A body that fails rolls the rider's row back with its own, and keeps it waiting.
        let failed: Result<(), Error> =
            platform.transact(|_| Err(Error::Invalid("refused".into())));
        assert!(failed.is_err());
        assert!(!landed.get());
        assert_eq!(rows(&platform), 0, "rolled back with the failed body");
        // The next transaction carries it, once.
        platform.transact(|_| Ok(())).expect("commit");
        assert!(landed.get());
        platform.transact(|_| Ok(())).expect("commit");
        assert_eq!(rows(&platform), 1, "written once");
    }

    #[test]
    fn without_a_rider_a_transaction_is_its_own() {
        let platform = Platform::new(Db::open_in_memory().expect("db")).expect("platform");
        let before = platform.commits();
        platform.transact(|_| Ok(())).expect("commit");
        assert_eq!(platform.commits(), before + 1);
    }
}
