//! The state every service works on: the database, and the access index kept in step with it.
//! Access changes go through [`Platform::write`], which decides under the write lock with a
//! current index, commits and then publishes the new index, so a decision never sees a change
//! that was rolled back and never misses one that committed.
//! Another process's access changes bump the access epoch; [`Platform::refresh_access`] sees
//! that with a one-row read and rebuilds (the engine asks before every run, `serve` every
//! round).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::Error;
use crate::access::{AccessDecision, AccessIndex, Scope};
use crate::principal::Principal;
use crate::store::access::{bump_epoch, epoch as access_epoch};
use crate::store::{Db, StoreError, Transaction, total_changes};

/// The database and the access index.
pub struct Platform {
    db: Mutex<Db>,
    index: RwLock<Arc<AccessIndex>>,
    /// The access epoch the index was built at.
    epoch: AtomicI64,
}

impl Platform {
    /// Wraps an open database and builds the index from it.
    pub fn new(db: Db) -> anyhow::Result<Self> {
        // The epoch first: a change landing in between makes the next refresh rebuild again.
        let epoch = access_epoch(db.conn())?;
        let index = AccessIndex::load(db.conn())?;
        Ok(Self {
            db: Mutex::new(db),
            index: RwLock::new(Arc::new(index)),
            epoch: AtomicI64::new(epoch),
        })
    }

    /// Rebuilds the index if another process changed access data since it was built; returns
    /// whether it did. One indexed read when nothing changed.
    pub fn refresh_access(&self) -> Result<bool, Error> {
        let db = self.db();
        let epoch = access_epoch(db.conn())?;
        if epoch == self.epoch.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let index = AccessIndex::load(db.conn())?;
        self.publish(index, epoch);
        Ok(true)
    }

    fn publish(&self, index: AccessIndex, epoch: i64) {
        *self
            .index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(index);
        self.epoch.store(epoch, Ordering::SeqCst);
    }

    /// The current index (a snapshot: later writes publish a new one).
    pub fn index(&self) -> Arc<AccessIndex> {
        self.index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Does `principal` hold `scope` in `workspace`?
    pub fn check(&self, principal: &Principal, workspace: &str, scope: Scope) -> AccessDecision {
        self.index().check(principal, workspace, scope)
    }

    /// `Ok` if `principal` holds `scope` in `workspace`, else `Denied` with the reason, or
    /// `NotFound` for a principal with no standing there, alike whether the workspace exists
    /// or not (SPEC ID-4).
    pub fn authorize(
        &self,
        principal: &Principal,
        workspace: &str,
        scope: Scope,
    ) -> Result<(), Error> {
        match self.check(principal, workspace, scope) {
            AccessDecision::Allowed(_) => Ok(()),
            // Nobody acting is told so, whatever the workspace (no oracle either way).
            AccessDecision::Denied(_) if *principal == Principal::Anonymous => {
                Err(Error::Denied(crate::access::Reason::Anonymous))
            }
            AccessDecision::Denied(reason) if reason.is_outsider() => {
                Err(Error::NotFound(reason.to_string()))
            }
            AccessDecision::Denied(reason) => Err(Error::Denied(reason)),
        }
    }

    /// The database, for reads.
    pub fn db(&self) -> MutexGuard<'_, Db> {
        // A panic mid-write rolls the transaction back; the connection stays usable.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The database for a service call: like [`Platform::db`], but a step's host call (its
    /// deadline bound, `store/deadline.rs`) waits for the connection, which another run of
    /// this process may hold, only until that deadline (SPEC ST-4); then it fails, nothing
    /// done.
    pub(crate) fn db_for_call(&self) -> Result<MutexGuard<'_, Db>, Error> {
        let Some(deadline) = crate::store::deadline::current() else {
            return Ok(self.db());
        };
        loop {
            match self.db.try_lock() {
                Ok(db) => return Ok(db),
                Err(std::sync::TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Err(Error::Busy(
                            "the database stayed in use by other runs past the step's deadline"
                                .into(),
                        ));
                    }
                    std::thread::sleep(left.min(std::time::Duration::from_millis(1)));
                }
            }
        }
    }

    /// Runs `f` in one transaction, for changes that leave access data alone (cases, runs).
    /// The transaction holds the write lock from its start (the store begins every
    /// transaction IMMEDIATE, SPEC WF-11), so what `f` reads stays true until it commits.
    pub fn transact<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut db = self.db_for_call()?;
        let tx = db.begin()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in one transaction that changes access data; on commit, rebuilds the index.
    ///
    /// Decide who may make the change inside `f` ([`Platform::authorize`], [`Platform::index`]):
    /// the transaction takes the write lock first and brings the index up to date under it,
    /// so the decision is made on current access data that no other process can change before
    /// the commit. Independent changes of several processes then all go through, one after
    /// the other, and none is decided on stale data.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut db = self.db_for_call()?;
        let tx = db.begin()?;
        // Another process may have changed access data since the index was built: rebuild it
        // now, under the lock, before `f` decides anything with it.
        let epoch = access_epoch(&tx)?;
        if epoch != self.epoch.load(Ordering::SeqCst) {
            let index = AccessIndex::load(&tx)?;
            self.publish(index, epoch);
        }
        let before = total_changes(&tx)?;
        let value = f(&tx)?;
        // Only a write that changed something is a new epoch (a tenant file applied twice
        // changes nothing, the second time).
        if total_changes(&tx)? == before {
            tx.commit()?;
            return Ok(value);
        }
        bump_epoch(&tx)?;
        tx.commit()?;
        // The change has committed: never report it as failed. Rebuilt after the commit, so
        // the write lock is not held for the rebuild; if it cannot be rebuilt, fail closed (an
        // empty index denies everything) until the next refresh.
        let epoch = access_epoch(db.conn()).unwrap_or(-1);
        let index = AccessIndex::load(db.conn()).unwrap_or_default();
        self.publish(index, epoch);
        Ok(value)
    }

    /// `Ok` if `actor` holds `scope` in `workspace`; then runs `f` as [`Platform::write`]
    /// does. The decision is made under the write lock, on current access data.
    pub fn write_as<T>(
        &self,
        actor: &Principal,
        workspace: &str,
        scope: Scope,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.write(|tx| {
            self.authorize(actor, workspace, scope)?;
            f(tx)
        })
    }
}

/// Maps a storage error to an [`Error`]: `Busy` for the infrastructure's failures
/// (busy, disk full, I/O: SPEC WF-11), `Internal` for the rest. Classified by the error's
/// type and SQLite code, never by its text.
pub fn internal<E: StorageError>(e: E) -> Error {
    if e.is_infrastructure() {
        Error::Busy(e.to_string())
    } else {
        Error::Internal(e.to_string())
    }
}

/// An error [`internal`] can classify.
pub trait StorageError: std::fmt::Display {
    /// Whether it is the infrastructure's failure (see [`crate::store::is_infrastructure`]).
    fn is_infrastructure(&self) -> bool;
}

impl StorageError for StoreError {
    fn is_infrastructure(&self) -> bool {
        crate::store::is_infrastructure(self)
    }
}

impl StorageError for anyhow::Error {
    fn is_infrastructure(&self) -> bool {
        crate::store::chain_is_infrastructure(self)
    }
}

impl StorageError for std::io::Error {
    fn is_infrastructure(&self) -> bool {
        true
    }
}

impl StorageError for serde_json::Error {
    fn is_infrastructure(&self) -> bool {
        false
    }
}

impl StorageError for String {
    fn is_infrastructure(&self) -> bool {
        false
    }
}

impl StorageError for &str {
    fn is_infrastructure(&self) -> bool {
        false
    }
}
