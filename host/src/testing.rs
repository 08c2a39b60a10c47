//! The platform's raw accessors, for the project's own tests and benchmarks only (feature
//! `test-support`, which only the test package turns on). They act for nobody: the doors of
//! the library are the handles (`platform.runs()`, `.access()`, …), and inside the crate these
//! are `pub(crate)` (issue 15). Tests use them to damage or inspect stored rows, hold the
//! database lock, or ask the index directly.

use std::sync::Arc;

use crate::Error;
use crate::access::{AccessDecision, AccessIndex, Scope};
use crate::platform::Platform;
use crate::principal::Principal;
use crate::store::Transaction;

/// [`Platform`]'s crate-private accessors, named as inside the crate (`use
/// flowhost::testing::Internals;` and call them as methods).
pub trait Internals {
    /// The database, locked.
    fn db(&self) -> crate::platform::DbGuard<'_>;
    /// The current access index.
    fn index(&self) -> Arc<AccessIndex>;
    /// Whether `principal` holds `scope` in `workspace`.
    fn check(&self, principal: &Principal, workspace: &str, scope: Scope) -> AccessDecision;
    /// One transaction.
    fn transact<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>)
    -> Result<T, Error>;
    /// One transaction that may change access data (the index follows it).
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error>;
    /// [`Internals::write`], decided for `actor` under the write lock.
    fn write_as<T>(
        &self,
        actor: &Principal,
        workspace: &str,
        scope: Scope,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error>;
    /// Makes `owner` the lease holder of run `run` if `current` holds it (the storage's
    /// conditional update alone, without the caller's look at whether `current` lives).
    fn take_lease(&self, run: i64, owner: &str, current: Option<&str>) -> Result<bool, Error>;
    /// Runs `f` holding `share`'s turn to wait for the shared connection next, as a step of
    /// that organization waiting for it first would (`turns.rs`): steps' calls that wait
    /// for the connection meanwhile wait behind it.
    fn with_connection_turn<T>(&self, share: &str, f: impl FnOnce() -> T) -> T;
}

impl Internals for Platform {
    fn db(&self) -> crate::platform::DbGuard<'_> {
        Platform::db(self).expect("the database")
    }

    fn index(&self) -> Arc<AccessIndex> {
        Platform::index(self)
    }

    fn check(&self, principal: &Principal, workspace: &str, scope: Scope) -> AccessDecision {
        Platform::check(self, principal, workspace, scope)
    }

    fn transact<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        Platform::transact(self, f)
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        Platform::write(self, f)
    }

    fn write_as<T>(
        &self,
        actor: &Principal,
        workspace: &str,
        scope: Scope,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        Platform::write_as(self, actor, workspace, scope, f)
    }

    fn take_lease(&self, run: i64, owner: &str, current: Option<&str>) -> Result<bool, Error> {
        crate::runs::RunStore::take_lease(self, run, owner, current)
    }

    fn with_connection_turn<T>(&self, share: &str, f: impl FnOnce() -> T) -> T {
        self.hold_connection_turn(share, f)
    }
}
