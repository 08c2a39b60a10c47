//! Names (workspace names, emails) to dense ids, for the decision path of the access index.
//!
//! The names sit end to end in one string and the hash table holds only 4-byte ids, so a
//! lookup reads a few small, contiguous arrays instead of following a pointer per entry to a
//! separately allocated key. That keeps a check's memory traffic nearly the same at 10 and at
//! 10,000 workspaces (issue 3's flatness target).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// An append-only set of names, each with a dense id in order of first insertion. (The access
/// index asks only whether a workspace exists; the ids keep lookups to 4-byte entries.)
#[derive(Clone, Debug, Default)]
pub(super) struct NameTable {
    /// `text[ends[id - 1]..ends[id]]` is the name of `id` (the first starts at 0).
    ends: Vec<u32>,
    text: String,
    ids: HashTable<u32>,
}

impl NameTable {
    /// The id of `name`, if present.
    pub fn get(&self, name: &str) -> Option<u32> {
        let hash = FxBuildHasher.hash_one(name);
        self.ids
            .find(hash, |&id| name_at(&self.ends, &self.text, id) == name)
            .copied()
    }

    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.get(name) {
            return id;
        }
        let id = to_u32(self.ends.len());
        self.text.push_str(name);
        self.ends.push(to_u32(self.text.len()));
        let (ends, text) = (&self.ends, &self.text);
        self.ids
            .insert_unique(FxBuildHasher.hash_one(name), id, |&id| {
                FxBuildHasher.hash_one(name_at(ends, text, id))
            });
        id
    }
}

fn name_at<'a>(ends: &[u32], text: &'a str, id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] as usize };
    &text[start..ends[id] as usize]
}

/// Ids and offsets are 32-bit to keep the tables small; an index over 4 GiB of names (or
/// 4 billion grants) is far beyond what one SQLite tenant file describes.
pub(super) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("access index tables stay under 2^32 entries and bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_stable_and_exact() {
        let mut names = NameTable::default();
        assert_eq!(names.intern("ws-a"), 0);
        assert_eq!(names.intern("ws-b"), 1);
        assert_eq!(names.intern("ws-a"), 0, "a repeated name keeps its id");
        assert_eq!(
            names.intern(""),
            2,
            "the empty name is a name like any other"
        );
        assert_eq!(names.get("ws-b"), Some(1));
        assert_eq!(names.get(""), Some(2));
        // A prefix, an extension and a concatenation of stored names are not stored names.
        for absent in ["ws-", "ws-ab", "ws-aws-b", "WS-A"] {
            assert_eq!(names.get(absent), None, "{absent:?}");
        }
    }

    #[test]
    fn many_names_survive_table_growth() {
        let mut names = NameTable::default();
        for i in 0..10_000 {
            assert_eq!(names.intern(&format!("user.{i}@example.test")), i);
        }
        for i in 0..10_000 {
            assert_eq!(names.get(&format!("user.{i}@example.test")), Some(i));
        }
        assert_eq!(names.get("user.10000@example.test"), None);
    }
}
