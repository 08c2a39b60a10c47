//! The decision table of the access index: (workspace, email) → what a check needs, in one
//! probe of one flat table.
//!
//! Layout is the point of this module (issue 3 asks for checks that stay flat from 10 to
//! 10,000 workspaces). A slot is one 64-byte cache line holding the grant and, for the usual
//! lengths, the key itself, so a check that finds its slot has everything it needs in that one
//! line: at 10,000 workspaces the table outgrows this machine's L2 cache, and a probe that
//! had to follow the slot to a key stored elsewhere paid for a second cache miss. Keys too
//! long for the line are kept end to end in one string.
//!
//! The table is split into copy-on-write parts by workspace (`shards.rs`), so a change to one
//! workspace's grants copies one part, not the table (issue 19).

use std::hash::{BuildHasher, Hasher};

use std::collections::HashMap;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::names::to_u32;
use super::role::RoleName;
use super::scope::ScopeSet;
use super::shards::{SHARDS, Shards, shard_of};

/// What a check needs about one (workspace, person) pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Grant {
    /// The role's scopes; meaningful when [`Grant::MEMBER`] is set.
    pub scopes: ScopeSet,
    /// Index into its part's role names ([`GrantTable::role`]); meaningful for members.
    pub role: u32,
    /// The `Grant::*` flags below.
    pub flags: u8,
    /// The part of the table the grant is stored in (set by [`GrantTable::insert`]).
    shard: u16,
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
    /// A member the IdP provisioned and now admits only as external, kept as the workspace's
    /// last Owner (SPEC UA-3) and shut out until a login admits them as a member again.
    pub const SSO_EXTERNAL_KEPT: u8 = 128;

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

/// (workspace name, email) → [`Grant`], in copy-on-write parts by workspace.
#[derive(Clone, Debug, Default)]
pub(super) struct GrantTable {
    parts: Shards<Part>,
}

impl GrantTable {
    /// The grant of `email` in `workspace`, if any.
    pub fn get(&self, workspace: &str, email: &str) -> Option<Grant> {
        self.parts
            .get(shard_of(workspace.as_bytes()))
            .get(workspace, email)
    }

    /// Sets the grant of `email` in `workspace`, acting with `role` (a member's), replacing
    /// any earlier one.
    pub fn insert(
        &mut self,
        workspace: &str,
        email: &str,
        mut grant: Grant,
        role: Option<&RoleName>,
    ) {
        let shard = shard_of(workspace.as_bytes());
        let part = self.parts.get_mut(shard);
        grant.shard = u16::try_from(shard).unwrap_or(u16::MAX);
        if let Some(role) = role {
            grant.role = part.intern(role);
        }
        part.insert(workspace, email, grant);
    }

    /// Forgets the grant of `email` in `workspace`.
    pub fn remove(&mut self, workspace: &str, email: &str) {
        self.parts
            .get_mut(shard_of(workspace.as_bytes()))
            .remove(workspace, email);
    }

    /// The role a member's grant acts with.
    pub fn role(&self, grant: Grant) -> &RoleName {
        &self.parts.get(usize::from(grant.shard) % SHARDS).roles[grant.role as usize]
    }
}

/// One part of the table: its grants, and the role names they refer to.
#[derive(Clone, Debug, Default)]
struct Part {
    slots: HashTable<Slot>,
    /// Keys too long for a slot, end to end.
    spilled: String,
    /// Bytes of `spilled` still referred to by a slot (the rest is left by removals).
    spilled_live: usize,
    roles: Vec<RoleName>,
    role_ids: HashMap<RoleName, u32>,
}

impl Part {
    fn get(&self, workspace: &str, email: &str) -> Option<Grant> {
        let hash = pair_hash(workspace.as_bytes(), email.as_bytes());
        self.slots
            .find(hash, |slot| slot.key.is(&self.spilled, workspace, email))
            .map(|slot| slot.grant)
    }

    /// The id of `role` in this part (roles are few; a removed member's stays).
    fn intern(&mut self, role: &RoleName) -> u32 {
        if let Some(&id) = self.role_ids.get(role) {
            return id;
        }
        let id = to_u32(self.roles.len());
        self.roles.push(role.clone());
        self.role_ids.insert(role.clone(), id);
        id
    }

    fn insert(&mut self, workspace: &str, email: &str, grant: Grant) {
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
        if let Key::Spilled { .. } = key {
            self.spilled_live += workspace.len() + email.len();
        }
        let spilled = &self.spilled;
        self.slots.insert_unique(hash, Slot { grant, key }, |slot| {
            let (ws, email) = slot.key.parts(spilled);
            pair_hash(ws, email)
        });
    }

    fn remove(&mut self, workspace: &str, email: &str) {
        let hash = pair_hash(workspace.as_bytes(), email.as_bytes());
        let spilled = &self.spilled;
        let Ok(entry) = self
            .slots
            .find_entry(hash, |slot| slot.key.is(spilled, workspace, email))
        else {
            return;
        };
        let (slot, _) = entry.remove();
        if let Key::Spilled { .. } = slot.key {
            self.spilled_live -= workspace.len() + email.len();
            // Long keys removed and added again would grow the string without end.
            if self.spilled.len() > 2 * self.spilled_live + 4096 {
                self.compact();
            }
        }
    }

    /// Copies the live spilled keys into a new string.
    fn compact(&mut self) {
        let mut live = String::with_capacity(self.spilled_live);
        for slot in self.slots.iter_mut() {
            if let Key::Spilled {
                start,
                ws_len,
                email_len,
            } = &mut slot.key
            {
                let from = *start as usize;
                let to = from + *ws_len as usize + *email_len as usize;
                let bytes = &self.spilled[from..to];
                *start = to_u32(live.len());
                live.push_str(bytes);
            }
        }
        self.spilled = live;
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
        let mut table = Part::default();
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
        let mut table = Part::default();
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
        let mut table = Part::default();
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
        let mut table = Part::default();
        let email = format!("{}@x.test", "a".repeat(70_000));
        table.insert("ws", &email, grant(Grant::MEMBER));
        assert_eq!(table.get("ws", &email), Some(grant(Grant::MEMBER)));
        assert_eq!(table.get("ws", &email[1..]), None);
    }

    #[test]
    fn removal_forgets_one_pair_and_keeps_long_keys_bounded() {
        let mut part = Part::default();
        let long = |i: usize| format!("{}{i}@x.test", "l".repeat(60));
        for round in 0..200 {
            part.insert("ws", &long(round), grant(Grant::MEMBER));
            part.insert("ws", "short@x.test", grant(Grant::MEMBER));
            part.remove("ws", &long(round));
            assert_eq!(part.get("ws", &long(round)), None);
            assert_eq!(part.get("ws", "short@x.test"), Some(grant(Grant::MEMBER)));
        }
        part.insert("ws", &long(7), grant(Grant::SSO_MEMBER));
        assert_eq!(part.get("ws", &long(7)), Some(grant(Grant::SSO_MEMBER)));
        assert!(
            part.spilled.len() < 4096 + 200,
            "{} bytes",
            part.spilled.len()
        );
    }

    #[test]
    fn the_table_names_each_grants_role_and_copies_one_part_per_change() {
        let analyst = RoleName::parse("analyst");
        let owner = RoleName::parse("owner");
        let mut table = GrantTable::default();
        for ws in 0..100 {
            let role = if ws % 2 == 0 { &analyst } else { &owner };
            table.insert(
                &format!("ws-{ws}"),
                "a@x.test",
                grant(Grant::MEMBER),
                Some(role),
            );
        }
        for ws in 0..100 {
            let found = table.get(&format!("ws-{ws}"), "a@x.test").expect("grant");
            let role = if ws % 2 == 0 { &analyst } else { &owner };
            assert_eq!(table.role(found), role, "ws-{ws}");
        }
        let before = table.clone();
        table.remove("ws-3", "a@x.test");
        assert_eq!(table.get("ws-3", "a@x.test"), None);
        assert!(
            before.get("ws-3", "a@x.test").is_some(),
            "an older snapshot keeps it"
        );
        let copied = (0..SHARDS)
            .filter(|&i| !std::ptr::eq(table.parts.get(i), before.parts.get(i)))
            .count();
        assert_eq!(copied, 1, "one part copied");
    }
}
