//! The decision table of the access index: (workspace, email) → what a check needs, in one
//! probe of one flat table.
//!
//! Layout is the point of this module (issue 3 asks for checks that stay flat from 10 to
//! 10,000 workspaces). A slot is one 64-byte cache line holding the grant and, for the usual
//! lengths, the key itself, so a check that finds its slot has everything it needs in that one
//! line: at 10,000 workspaces the table outgrows this machine's L2 cache, and a probe that
//! had to follow the slot to a key stored elsewhere paid for a second cache miss. Keys too
//! long for the line are kept end to end in one string.

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

/// Key bytes a slot holds itself: a workspace name and an email of up to 46 bytes together
/// (`ws-soc` and `first.last@company.example` take 32).
const INLINE: usize = 46;

/// One entry: a grant and its key, in one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Slot {
    grant: Grant,
    key: Key,
}

#[derive(Clone, Copy, Debug)]
enum Key {
    /// The workspace name, then the email, in `bytes`.
    Inline {
        ws_len: u8,
        email_len: u8,
        bytes: [u8; INLINE],
    },
    /// The same, at `start` in [`GrantTable::spilled`].
    Spilled {
        start: u32,
        ws_len: u32,
        email_len: u32,
    },
}

impl Key {
    fn new(workspace: &str, email: &str, spilled: &mut String) -> Key {
        let (ws_len, email_len) = (workspace.len(), email.len());
        if let (Ok(w), Ok(e), true) = (
            u8::try_from(ws_len),
            u8::try_from(email_len),
            ws_len + email_len <= INLINE,
        ) {
            let mut bytes = [0; INLINE];
            bytes[..ws_len].copy_from_slice(workspace.as_bytes());
            bytes[ws_len..ws_len + email_len].copy_from_slice(email.as_bytes());
            return Key::Inline {
                ws_len: w,
                email_len: e,
                bytes,
            };
        }
        let start = to_u32(spilled.len());
        spilled.push_str(workspace);
        spilled.push_str(email);
        Key::Spilled {
            start,
            ws_len: to_u32(ws_len),
            email_len: to_u32(email_len),
        }
    }

    /// The workspace name and email of this key.
    fn parts<'a>(&'a self, spilled: &'a str) -> (&'a [u8], &'a [u8]) {
        match self {
            Key::Inline {
                ws_len,
                email_len,
                bytes,
            } => {
                let (ws, rest) = bytes.split_at(usize::from(*ws_len));
                (ws, &rest[..usize::from(*email_len)])
            }
            Key::Spilled {
                start,
                ws_len,
                email_len,
            } => {
                let start = *start as usize;
                let mid = start + *ws_len as usize;
                let end = mid + *email_len as usize;
                let bytes = spilled.as_bytes();
                (&bytes[start..mid], &bytes[mid..end])
            }
        }
    }

    fn is(&self, spilled: &str, workspace: &str, email: &str) -> bool {
        self.parts(spilled) == (workspace.as_bytes(), email.as_bytes())
    }
}

/// (workspace name, email) → [`Grant`], built once per index.
#[derive(Clone, Debug, Default)]
pub(super) struct GrantTable {
    slots: HashTable<Slot>,
    /// Keys too long for a slot, end to end.
    spilled: String,
}

impl GrantTable {
    /// The grant of `email` in `workspace`, if any.
    pub fn get(&self, workspace: &str, email: &str) -> Option<Grant> {
        let hash = pair_hash(workspace.as_bytes(), email.as_bytes());
        self.slots
            .find(hash, |slot| slot.key.is(&self.spilled, workspace, email))
            .map(|slot| slot.grant)
    }

    /// Sets the grant of `email` in `workspace`, replacing any earlier one.
    pub fn insert(&mut self, workspace: &str, email: &str, grant: Grant) {
        let hash = pair_hash(workspace.as_bytes(), email.as_bytes());
        let spilled = &self.spilled;
        if let Some(slot) = self
            .slots
            .find_mut(hash, |slot| slot.key.is(spilled, workspace, email))
        {
            slot.grant = grant;
            return;
        }
        let key = Key::new(workspace, email, &mut self.spilled);
        let spilled = &self.spilled;
        self.slots.insert_unique(hash, Slot { grant, key }, |slot| {
            let (ws, email) = slot.key.parts(spilled);
            pair_hash(ws, email)
        });
    }
}

/// One hash over both parts; the length prefix keeps ("ab", "c") and ("a", "bc") apart.
fn pair_hash(workspace: &[u8], email: &[u8]) -> u64 {
    let mut h = FxBuildHasher.build_hasher();
    h.write_usize(workspace.len());
    h.write(workspace);
    h.write(email);
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
    fn keys_at_the_inline_boundary_are_exact() {
        assert_eq!(std::mem::size_of::<Slot>(), 64, "a slot is one cache line");
        let mut table = GrantTable::default();
        // 45, 46 (the last that fits in a slot) and 47 bytes of key.
        for extra in 0..3 {
            let email = format!("{}@x.test", "a".repeat(34 + extra));
            table.insert("ws-1", &email, grant(Grant::MEMBER));
            assert_eq!(table.get("ws-1", &email), Some(grant(Grant::MEMBER)));
            assert_eq!(table.get("ws-1", &format!("b{}", &email[1..])), None);
            assert_eq!(table.get("ws-", &format!("1{email}")), None);
        }
        assert_eq!(table.spilled.len(), 47, "only the 47-byte key spills");
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
