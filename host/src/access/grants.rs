//! The decision table of the access index: (workspace, email) → what a check needs, in one
//! probe of one flat table.
//!
//! Layout is the point of this module (issue 3 asks for checks that stay flat from 10 to
//! 10,000 workspaces). A slot is 24 bytes and holds the grant itself, so the table for 10,000
//! workspaces fits in this machine's L2 cache; the keys sit end to end in one string and are
//! read only to confirm a match, a load the CPU can overlap with the rest of the check.

use std::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::names::to_u32;
use super::scope::ScopeSet;

/// What a check needs about one (workspace, person) pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Grant {
    /// The role's scopes; meaningful when [`Grant::MEMBER`] is set.
    pub scopes: ScopeSet,
    /// Index into the index's role names.
    pub role: u32,
    /// The `Grant::*` flags below.
    pub flags: u8,
}

impl Grant {
    /// A member (by invitation or SSO claim rule).
    pub const MEMBER: u8 = 1;
    /// May sign in locally in an SSO-only workspace (SPEC SSO-4).
    pub const BREAK_GLASS: u8 = 2;
    /// The member's role no longer exists.
    pub const ROLE_GONE: u8 = 4;
    /// The latest SSO login made the person a member.
    pub const SSO_MEMBER: u8 = 8;
    /// The latest SSO login admitted the person as external (SPEC ID-3).
    pub const SSO_EXTERNAL: u8 = 16;
    /// The latest SSO login was denied (SPEC SSO-3, SSO-5).
    pub const SSO_DENIED: u8 = 32;
    /// The workspace enforces SSO-only sign-in (copied into every grant so that a check
    /// needs no second lookup).
    pub const WS_SSO_ONLY: u8 = 64;

    /// Is any of `flags` set?
    pub fn has(self, flags: u8) -> bool {
        self.flags & flags != 0
    }
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Where the key (workspace name, then email) starts in `GrantTable::keys`.
    key_start: u32,
    ws_len: u32,
    email_len: u32,
    grant: Grant,
}

/// (workspace name, email) → [`Grant`], built once per index.
#[derive(Clone, Debug, Default)]
pub(super) struct GrantTable {
    slots: HashTable<Slot>,
    keys: String,
}

impl GrantTable {
    /// The grant of `email` in `workspace`, if any.
    pub fn get(&self, workspace: &str, email: &str) -> Option<Grant> {
        let hash = pair_hash(workspace, email);
        self.slots
            .find(hash, |slot| self.key(slot) == (workspace, email))
            .map(|slot| slot.grant)
    }

    /// Sets the grant of `email` in `workspace`, replacing any earlier one.
    pub fn insert(&mut self, workspace: &str, email: &str, grant: Grant) {
        let hash = pair_hash(workspace, email);
        if let Some(slot) = self
            .slots
            .find_mut(hash, |slot| key_of(&self.keys, slot) == (workspace, email))
        {
            slot.grant = grant;
            return;
        }
        let slot = Slot {
            key_start: to_u32(self.keys.len()),
            ws_len: to_u32(workspace.len()),
            email_len: to_u32(email.len()),
            grant,
        };
        self.keys.push_str(workspace);
        self.keys.push_str(email);
        let keys = &self.keys;
        self.slots.insert_unique(hash, slot, |slot| {
            let (ws, email) = key_of(keys, slot);
            pair_hash(ws, email)
        });
    }

    fn key(&self, slot: &Slot) -> (&str, &str) {
        key_of(&self.keys, slot)
    }
}

fn key_of<'a>(keys: &'a str, slot: &Slot) -> (&'a str, &'a str) {
    let start = slot.key_start as usize;
    let mid = start + slot.ws_len as usize;
    let end = mid + slot.email_len as usize;
    (&keys[start..mid], &keys[mid..end])
}

/// One hash over both parts; the length prefix keeps ("ab", "c") and ("a", "bc") apart.
fn pair_hash(workspace: &str, email: &str) -> u64 {
    let mut h = FxBuildHasher.build_hasher();
    h.write_usize(workspace.len());
    h.write(workspace.as_bytes());
    h.write(email.as_bytes());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(flags: u8) -> Grant {
        Grant {
            flags,
            ..Grant::default()
        }
    }

    #[test]
    fn pairs_are_exact() {
        let mut table = GrantTable::default();
        table.insert("ab", "c@x.test", grant(Grant::MEMBER));
        table.insert("a", "bc@x.test", grant(Grant::SSO_DENIED));
        assert_eq!(table.get("ab", "c@x.test"), Some(grant(Grant::MEMBER)));
        assert_eq!(table.get("a", "bc@x.test"), Some(grant(Grant::SSO_DENIED)));
        // The same bytes split elsewhere, or another person, hold nothing.
        for (ws, email) in [("abc", "@x.test"), ("ab", "bc@x.test"), ("", "abc@x.test")] {
            assert_eq!(table.get(ws, email), None, "{ws:?} {email:?}");
        }
    }

    #[test]
    fn a_second_insert_replaces_and_growth_keeps_every_pair() {
        let mut table = GrantTable::default();
        for ws in 0..500 {
            for user in 0..6 {
                table.insert(&format!("ws-{ws}"), &format!("u{user}@x.test"), grant(1));
            }
        }
        table.insert(
            "ws-7",
            "u3@x.test",
            grant(Grant::MEMBER | Grant::BREAK_GLASS),
        );
        for ws in 0..500 {
            for user in 0..6 {
                let expected = if (ws, user) == (7, 3) { 3 } else { 1 };
                let found = table.get(&format!("ws-{ws}"), &format!("u{user}@x.test"));
                assert_eq!(found, Some(grant(expected)), "ws-{ws} u{user}");
            }
        }
        assert_eq!(table.get("ws-500", "u0@x.test"), None);
    }

    #[test]
    fn long_keys_are_stored_without_truncation() {
        let mut table = GrantTable::default();
        let email = format!("{}@x.test", "a".repeat(70_000));
        table.insert("ws", &email, grant(Grant::MEMBER));
        assert_eq!(table.get("ws", &email), Some(grant(Grant::MEMBER)));
        assert_eq!(table.get("ws", &email[1..]), None);
    }
}
