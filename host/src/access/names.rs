//! The set of workspace names, for the decision path of the access index: a check that finds
//! no grant asks it whether the workspace exists (not a member, or no such workspace).
//!
//! A slot holds the name itself when it is short enough (the usual case), so a lookup reads
//! the table's control bytes and one slot, not an id, an offset table and then the text: at
//! 10,000 workspaces each of those reads would miss the L1 cache (issue 3's flatness target).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// Name bytes a slot holds itself.
const INLINE: usize = 30;

/// One name, in half a cache line.
#[derive(Clone, Copy, Debug)]
#[repr(align(32))]
enum Slot {
    /// The name is `bytes[..len]`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// The name is at `start` in [`NameSet::spilled`].
    Spilled { start: u32, len: u32 },
}

impl Slot {
    fn name<'a>(&'a self, spilled: &'a str) -> &'a [u8] {
        match self {
            Slot::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Slot::Spilled { start, len } => {
                let start = *start as usize;
                &spilled.as_bytes()[start..start + *len as usize]
            }
        }
    }
}

/// A set of names (one part of the index's copy-on-write name table).
#[derive(Clone, Debug, Default)]
pub(super) struct NameSet {
    slots: HashTable<Slot>,
    /// Names too long for a slot, end to end.
    spilled: String,
}

impl NameSet {
    /// Whether `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.slots
            .find(hash(name.as_bytes()), |slot| {
                slot.name(&self.spilled) == name.as_bytes()
            })
            .is_some()
    }

    /// Adds `name` (once).
    pub fn insert(&mut self, name: &str) {
        if self.contains(name) {
            return;
        }
        let slot = match u8::try_from(name.len()) {
            Ok(len) if name.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..name.len()].copy_from_slice(name.as_bytes());
                Slot::Inline { len, bytes }
            }
            _ => {
                let start = to_u32(self.spilled.len());
                self.spilled.push_str(name);
                Slot::Spilled {
                    start,
                    len: to_u32(name.len()),
                }
            }
        };
        let spilled = &self.spilled;
        self.slots
            .insert_unique(hash(name.as_bytes()), slot, |slot| hash(slot.name(spilled)));
    }

    /// Removes `name`. A long name's bytes stay in `spilled`: workspaces are removed only by
    /// hand (no command deletes or renames one), so that garbage stays small.
    pub fn remove(&mut self, name: &str) {
        let spilled = &self.spilled;
        if let Ok(entry) = self.slots.find_entry(hash(name.as_bytes()), |slot| {
            slot.name(spilled) == name.as_bytes()
        }) {
            entry.remove();
        }
    }
}

fn hash(name: &[u8]) -> u64 {
    FxBuildHasher.hash_one(name)
}

/// Offsets and ids are 32-bit to keep the tables small; an index over 4 GiB of names (or
/// 4 billion grants) is far beyond what one SQLite tenant file describes.
pub(super) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("access index tables stay under 2^32 entries and bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_is_exact() {
        let mut names = NameSet::default();
        names.insert("ws-a");
        names.insert("ws-b");
        names.insert("ws-a");
        names.insert("");
        assert_eq!(std::mem::size_of::<Slot>(), 32, "two slots to a cache line");
        for present in ["ws-a", "ws-b", ""] {
            assert!(names.contains(present), "{present:?}");
        }
        // A prefix, an extension and a concatenation of stored names are not stored names.
        for absent in ["ws-", "ws-ab", "ws-aws-b", "WS-A"] {
            assert!(!names.contains(absent), "{absent:?}");
        }
    }

    #[test]
    fn names_at_the_inline_boundary_and_beyond_are_exact() {
        let mut names = NameSet::default();
        let (fits, spills) = ("a".repeat(INLINE), "a".repeat(INLINE + 1));
        names.insert(&fits);
        assert!(
            names.spilled.is_empty(),
            "a {INLINE}-byte name fits its slot"
        );
        names.insert(&spills);
        assert_eq!(names.spilled, spills);
        let long = "b".repeat(300);
        names.insert(&long);
        for present in [&fits, &spills, &long] {
            assert!(names.contains(present));
        }
        for absent in [
            "a".repeat(INLINE - 1),
            "a".repeat(INLINE + 2),
            "b".repeat(299),
        ] {
            assert!(!names.contains(&absent), "{} bytes", absent.len());
        }
    }

    #[test]
    fn many_names_survive_table_growth() {
        let mut names = NameSet::default();
        for i in 0..10_000 {
            names.insert(&format!("workspace-{i}"));
        }
        for i in 0..10_000 {
            assert!(names.contains(&format!("workspace-{i}")));
        }
        assert!(!names.contains("workspace-10000"));
        names.remove("workspace-17");
        names.remove("workspace-10000");
        assert!(!names.contains("workspace-17"));
        assert!(names.contains("workspace-18"));
    }
}
