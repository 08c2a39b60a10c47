//! The state every service works on: the database, and the access index kept in step with it.
//! Writes go through [`Platform::write`], which commits and then rebuilds the index, so a
//! decision never sees a change that was rolled back and never misses one that committed.
//! Another process's access changes bump the access epoch; [`Platform::refresh_access`] sees
//! that with a one-row read and rebuilds (the engine asks before every run, `serve` every
//! round).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rusqlite::{Transaction, TransactionBehavior};

use crate::access::{AccessDecision, AccessIndex, Scope};
use crate::principal::Principal;
use crate::services::HostError;
use crate::store::Db;

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
    pub fn refresh_access(&self) -> Result<bool, HostError> {
        let db = self.db();
        let epoch = access_epoch(db.conn()).map_err(internal)?;
        if epoch == self.epoch.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let index = AccessIndex::load(db.conn()).map_err(internal)?;
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
    ) -> Result<(), HostError> {
        let decision = self.check(principal, workspace, scope);
        match decision.reason {
            _ if decision.allowed => Ok(()),
            // Nobody acting is told so, whatever the workspace (no oracle either way).
            _ if *principal == Principal::Anonymous => Err(HostError::Denied(
                crate::access::Reason::Anonymous.to_string(),
            )),
            reason if reason.is_outsider() => Err(HostError::NotFound(reason.to_string())),
            reason => Err(HostError::Denied(reason.to_string())),
        }
    }

    /// The database, for reads.
    pub fn db(&self) -> MutexGuard<'_, Db> {
        // A panic mid-write rolls the transaction back; the connection stays usable.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in one transaction, for changes that leave access data alone (cases, runs).
    pub fn transact<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        let mut db = self.db();
        let tx = db.conn_mut().transaction().map_err(internal)?;
        let value = f(&tx)?;
        tx.commit().map_err(internal)?;
        Ok(value)
    }

    /// Runs `f` in one transaction that changes access data; on commit, rebuilds the index.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        let mut db = self.db();
        // IMMEDIATE: the write lock is ours from here, so the epoch read next stays true until
        // the commit.
        let tx = db
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(internal)?;
        // The caller decided who may make this change from the index at `self.epoch`. If
        // another process changed access data since, that decision may be stale (a demotion
        // racing this change): refuse, and rebuild so that the retry decides afresh.
        let epoch = access_epoch(&tx).map_err(internal)?;
        if epoch != self.epoch.load(Ordering::SeqCst) {
            drop(tx);
            let index = AccessIndex::load(db.conn()).unwrap_or_default();
            self.publish(index, epoch);
            return Err(HostError::Conflict(
                "access data changed in another process while this change was being decided; \
                 nothing was changed: run it again"
                    .into(),
            ));
        }
        let before = total_changes(&tx).map_err(internal)?;
        let value = f(&tx)?;
        // Only a write that changed something is a new epoch (a tenant file applied twice
        // changes nothing, the second time).
        if total_changes(&tx).map_err(internal)? != before {
            tx.execute("UPDATE access_epoch SET n = n + 1 WHERE id = 1", [])
                .map_err(internal)?;
        }
        tx.commit().map_err(internal)?;
        // The change has committed: never report it as failed. If the index cannot be
        // rebuilt, fail closed (an empty index denies everything) until the next rebuild.
        let epoch = access_epoch(db.conn()).unwrap_or(-1);
        let index = AccessIndex::load(db.conn()).unwrap_or_default();
        self.publish(index, epoch);
        Ok(value)
    }
}

/// The access epoch: how many access changes have committed.
fn access_epoch(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT n FROM access_epoch WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Rows changed through this connection since it opened (SQLite's `total_changes()`).
fn total_changes(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT total_changes()")?
        .query_row([], |r| r.get(0))
}

/// Maps a storage error to `HostError::Internal`.
pub fn internal(e: impl std::fmt::Display) -> HostError {
    HostError::Internal(e.to_string())
}
