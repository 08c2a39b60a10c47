//! Housekeeping: deleting rows that can no longer matter, which anonymous or frequent
//! requests add and nothing else removes: sign-in links expired or used more than
//! [`LINK_GRACE_SECS`](crate::signin::LINK_GRACE_SECS) ago, expired sessions, expired OIDC
//! logins, webhook signatures past the replay window
//! ([`SIGNATURE_MEMORY_SECS`](crate::workflow::webhooks::SIGNATURE_MEMORY_SECS)) and
//! idempotency keys and start keys past their retention
//! ([`IDEMPOTENCY_RETENTION_SECS`](crate::workflow::webhooks::IDEMPOTENCY_RETENTION_SECS)),
//! and a step's restriction updates remembered past theirs
//! ([`CASE_UPDATE_RETENTION_SECS`](crate::cases::CASE_UPDATE_RETENTION_SECS)).
//!
//! A pass deletes at most [`BATCH`] rows of each kind, each kind in its own transaction, so
//! it never holds the write lock for long; each service owning a table decides what expired
//! and its storage module holds the SQL. `serve` runs a pass every [`EVERY`] (sooner while
//! a pass still finds full batches), `flowhost db prune` one on demand.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::Error;
use crate::platform::Platform;

/// The most rows of one kind a pass deletes: a transaction deleting this many is short
/// (milliseconds) next to the 5 s other writers wait for the lock.
pub const BATCH: usize = 1_000;

/// How often `serve` runs a pass.
pub const EVERY: Duration = Duration::from_secs(60);

/// How soon `serve` runs the next pass when one deleted a full batch of some kind (more may
/// be left): rows are caught up batch by batch, with other writers' turns between.
pub const CATCH_UP: Duration = Duration::from_secs(1);

/// How many rows of each kind a pass deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// `signin_links`: expired or used more than the grace period ago.
    pub signin_links: usize,
    /// `web_sessions`: expired.
    pub web_sessions: usize,
    /// `oidc_logins`: expired.
    pub oidc_logins: usize,
    /// `webhook_signatures`: older than the replay window.
    pub webhook_signatures: usize,
    /// `webhook_requests`: idempotency keys older than their retention whose run has ended.
    pub idempotency_keys: usize,
    /// `start_requests`: the keys runs were started with, older than the same retention,
    /// whose run has ended.
    pub start_keys: usize,
    /// `case_updates`: restriction updates remembered under their keys (a step's, a
    /// request's), older than
    /// [`CASE_UPDATE_RETENTION_SECS`](crate::cases::CASE_UPDATE_RETENTION_SECS); a step's
    /// once its run has ended.
    pub case_updates: usize,
}

impl Pruned {
    /// Each kind's name (its table, or what it holds) and count, in a stable order.
    pub fn kinds(&self) -> [(&'static str, usize); 7] {
        [
            ("signin_links", self.signin_links),
            ("web_sessions", self.web_sessions),
            ("oidc_logins", self.oidc_logins),
            ("webhook_signatures", self.webhook_signatures),
            ("idempotency_keys", self.idempotency_keys),
            ("start_keys", self.start_keys),
            ("case_updates", self.case_updates),
        ]
    }

    /// Rows deleted in all.
    pub fn total(&self) -> usize {
        self.kinds().iter().map(|(_, n)| n).sum()
    }

    /// Whether some kind filled its batch, so more of it may be left.
    pub fn more_left(&self) -> bool {
        self.kinds().iter().any(|(_, n)| *n >= BATCH)
    }
}

impl fmt::Display for Pruned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .kinds()
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

impl Platform {
    /// One pass at Unix time `now`: at most `batch` rows of each kind, each kind in its own
    /// transaction. The first failure ends the pass (what was deleted before it stays
    /// deleted; the next pass goes on).
    pub(crate) fn prune(&self, now: i64, batch: usize) -> Result<Pruned, Error> {
        Ok(Pruned {
            signin_links: self.prune_signin_links(now, batch)?,
            web_sessions: self.prune_sessions(now, batch)?,
            oidc_logins: self.prune_oidc_logins(now, batch)?,
            webhook_signatures: self.prune_webhook_signatures(now, batch)?,
            idempotency_keys: self.prune_idempotency_keys(now, batch)?,
            start_keys: self.prune_start_keys(now, batch)?,
            case_updates: self.prune_case_updates(now, batch)?,
        })
    }
}
