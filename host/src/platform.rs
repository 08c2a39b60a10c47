//! The state every service works on: the database, and the access index kept in step with it.
//! Writes go through [`Platform::write`], which commits and then rebuilds the index, so a
//! decision never sees a change that was rolled back and never misses one that committed.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rusqlite::Transaction;

use crate::access::{AccessDecision, AccessIndex, Scope};
use crate::principal::Principal;
use crate::services::HostError;
use crate::store::Db;

/// The database and the access index.
pub struct Platform {
    db: Mutex<Db>,
    index: RwLock<Arc<AccessIndex>>,
}

impl Platform {
    /// Wraps an open database and builds the index from it.
    pub fn new(db: Db) -> anyhow::Result<Self> {
        let index = AccessIndex::load(db.conn())?;
        Ok(Self {
            db: Mutex::new(db),
            index: RwLock::new(Arc::new(index)),
        })
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

    /// `Ok` if `principal` holds `scope` in `workspace`, else `Denied` with the reason
    /// (or `NotFound` for a workspace that does not exist).
    pub fn authorize(
        &self,
        principal: &Principal,
        workspace: &str,
        scope: Scope,
    ) -> Result<(), HostError> {
        let decision = self.check(principal, workspace, scope);
        match decision.reason {
            _ if decision.allowed => Ok(()),
            crate::access::Reason::UnknownWorkspace(ws) => {
                Err(HostError::NotFound(format!("there is no workspace `{ws}`")))
            }
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
        let tx = db.conn_mut().transaction().map_err(internal)?;
        let value = f(&tx)?;
        tx.commit().map_err(internal)?;
        // The change has committed: never report it as failed. If the index cannot be
        // rebuilt, fail closed (an empty index denies everything) until the next rebuild.
        let index = AccessIndex::load(db.conn()).unwrap_or_default();
        *self
            .index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(index);
        Ok(value)
    }
}

/// Maps a storage error to `HostError::Internal`.
pub fn internal(e: impl std::fmt::Display) -> HostError {
    HostError::Internal(e.to_string())
}
