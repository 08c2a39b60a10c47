//! Runs a request executes itself (a manual run, a flow's start, a resume, a run taking up
//! an answer) hold a thread of the blocking pool until they end or hold: bounded per caller
//! and in all, so one key sending hundreds of runs of a slow workflow cannot take every
//! thread the scheduler, the sign-ins and every other tenant's requests need (hostile-input
//! review). A request past the bound is answered 503 and starts nothing; a run taking up an
//! answer is left to the scheduler instead.
//!
//! Slots are the caller's (its principal, authenticated), never the workspace a path names:
//! a slot taken for the path's workspace before access was decided let any key fill
//! another tenant's slots with requests bound to fail (review). An API key's slots count
//! towards its organization's too, and a web session's towards its workspace's
//! organization, so one tenant minting keys or sessions holds at most a quarter of the
//! server's (32 keys held all 128 before: hostile-input review).

use std::sync::Arc;

use super::keyed_counts::{Held, KeyedCounts, Refused};
use crate::principal::Principal;

/// Runs executing in requests at once for one caller.
pub const PER_CALLER: usize = 4;

/// Runs executing in requests at once, in all: a quarter of tokio's blocking pool.
pub const IN_ALL: usize = 128;

/// Runs the API keys and web sessions of one organization execute in requests at once: a
/// quarter of the server's.
pub const PER_TENANT: usize = IN_ALL / 4;

/// The slots in use, by caller and by tenant.
#[derive(Debug, Default)]
pub struct RunSlots {
    held: Arc<KeyedCounts<String>>,
    tenants: Arc<KeyedCounts<String>>,
}

/// One run's slot, given back when dropped.
#[derive(Debug)]
pub struct RunSlot {
    _held: Held<String>,
    _tenant: Option<Held<String>>,
}

impl RunSlots {
    /// A slot for a run `caller` of organization `tenant` (an API key's) asks for, or why
    /// there is none: `caller` has [`PER_CALLER`], its tenant [`PER_TENANT`], or the server
    /// [`IN_ALL`].
    pub fn take(&self, caller: &Principal, tenant: Option<&str>) -> Result<RunSlot, Full> {
        // A caller is theirs within one organization: one email has a standing in several
        // tenants, and another tenant's Owner who invited it (a sign-in link, their own IdP)
        // held the person's slots everywhere (web and HTTP review; SPEC ID-1).
        let who = match tenant {
            Some(org) => format!("{org}\u{0}{caller}"),
            None => caller.to_string(),
        };
        let held = match self.held.take(&who, PER_CALLER, IN_ALL) {
            Ok(held) => held,
            Err(Refused::Key) => return Err(Full::Caller),
            Err(Refused::All) => return Err(Full::Server),
        };
        let tenant = match tenant {
            None => None,
            Some(org) => match self.tenants.take(&org.to_owned(), PER_TENANT, usize::MAX) {
                Ok(held) => Some(held),
                Err(_) => return Err(Full::Tenant),
            },
        };
        Ok(RunSlot {
            _held: held,
            _tenant: tenant,
        })
    }
}

/// Which bound a slot was refused at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// The caller's own.
    Caller,
    /// The caller's organization's (its API keys together).
    Tenant,
    /// The server's.
    Server,
}

impl Full {
    /// Why a request's run was not started: what a person reads in the 503.
    pub fn refusal(self) -> String {
        match self {
            Full::Caller => format!(
                "you have {PER_CALLER} runs executing in requests already, as many as one \
                 caller may; nothing was started: try again once one has ended"
            ),
            // As the server's own bound reads: the organization's runs are other workspaces'
            // too, whose load is not this caller's to learn (SPEC ID-1; leak review).
            Full::Tenant | Full::Server => "this server executes as many runs in requests as \
                 it takes for now; nothing was started: try again in a moment"
                .to_owned(),
        }
    }

    /// What an answer taken without a slot for its run says.
    pub fn answer_taken(self) -> String {
        format!(
            "the answer was taken; its run resumes in the background, not in this request ({})",
            match self {
                Full::Caller => "you have as many runs executing in requests as you may",
                Full::Tenant | Full::Server => {
                    "the server executes as many runs in requests as it may"
                }
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(n: usize) -> Principal {
        Principal::local(crate::principal::Email::parse(&format!("p{n}@x.test")).expect("email"))
    }

    #[test]
    fn slots_are_bounded_per_caller_and_in_all_and_given_back() {
        let slots = RunSlots::default();
        let a: Vec<RunSlot> = (0..PER_CALLER)
            .map(|_| slots.take(&caller(0), None).expect("within a's share"))
            .collect();
        assert_eq!(
            slots.take(&caller(0), None).err(),
            Some(Full::Caller),
            "at its share"
        );
        let b = slots
            .take(&caller(1), None)
            .expect("b is not held back by a");
        drop(a);
        assert!(slots.take(&caller(0), None).is_ok(), "given back on drop");
        drop(b);
        let all: Vec<RunSlot> = (0..IN_ALL)
            .filter_map(|n| slots.take(&caller(n), None).ok())
            .collect();
        assert_eq!(all.len(), IN_ALL);
        assert_eq!(
            slots.take(&caller(IN_ALL), None).err(),
            Some(Full::Server),
            "the server is at its bound"
        );
    }

    /// One person's slots in one organization leave them their slots in another.
    #[test]
    fn a_callers_slots_are_theirs_in_each_organization() {
        let slots = RunSlots::default();
        let held: Vec<RunSlot> = (0..PER_CALLER)
            .map(|_| slots.take(&caller(0), Some("other")).expect("within"))
            .collect();
        assert_eq!(
            slots.take(&caller(0), Some("other")).err(),
            Some(Full::Caller)
        );
        assert!(slots.take(&caller(0), Some("acme")).is_ok());
        drop(held);
    }

    /// An organization's keys together hold at most [`PER_TENANT`]: one tenant minting keys
    /// held every slot of the server (hostile-input review); another tenant's keys and people
    /// are not held back by it.
    #[test]
    fn one_tenants_keys_hold_at_most_their_share() {
        let slots = RunSlots::default();
        let key = |n: usize| Principal::ApiKey(format!("k{n}"));
        let mine: Vec<RunSlot> = (0..PER_TENANT)
            .map(|n| {
                slots
                    .take(&key(n / PER_CALLER), Some("acme"))
                    .expect("within")
            })
            .collect();
        assert_eq!(
            slots.take(&key(1000), Some("acme")).err(),
            Some(Full::Tenant),
            "a fresh key of the same tenant"
        );
        assert!(
            slots.take(&key(1001), Some("globex")).is_ok(),
            "another tenant"
        );
        assert!(slots.take(&caller(7), None).is_ok(), "a person");
        drop(mine);
        assert!(
            slots.take(&key(1000), Some("acme")).is_ok(),
            "given back on drop"
        );
    }
}
