//! Copy-on-write shards: a table of the access index split into [`SHARDS`] parts, each behind
//! its own `Arc`. A new index snapshot shares every part it did not change, so an access
//! change copies only the parts holding the entries it touched, whatever the number of
//! workspaces (issue 19); a check reads one more pointer than an unsharded table.

use std::hash::BuildHasher;
use std::sync::Arc;

use rustc_hash::FxBuildHasher;

/// Parts per table. At 10,000 workspaces of 50 members a grant part holds about 2,000 grants
/// (128 KiB), which is what one change to one workspace copies.
pub(super) const SHARDS: usize = 256;

/// A table split into [`SHARDS`] copy-on-write parts.
#[derive(Clone, Debug)]
pub(super) struct Shards<T> {
    parts: Vec<Arc<T>>,
}

impl<T: Default> Default for Shards<T> {
    fn default() -> Self {
        // One empty part shared by every slot until it is written.
        let empty = Arc::new(T::default());
        Shards {
            parts: vec![empty; SHARDS],
        }
    }
}

impl<T: Clone> Shards<T> {
    /// Part `shard` (`shard < SHARDS`, as [`shard_of`] gives).
    pub fn get(&self, shard: usize) -> &T {
        &self.parts[shard]
    }

    /// Part `shard`, for writing: copied first if another snapshot shares it.
    pub fn get_mut(&mut self, shard: usize) -> &mut T {
        Arc::make_mut(&mut self.parts[shard])
    }

    /// Every part.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.parts.iter().map(|p| &**p)
    }
}

/// The part `bytes` belong in. Taken from the top bits of a second mix of the hash, not from
/// the hash's own bits: hashbrown picks buckets with the low bits and tags with the top 7, and
/// a part whose entries all shared those bits would crowd into a few buckets.
pub(super) fn shard_of(bytes: &[u8]) -> usize {
    let mixed = FxBuildHasher
        .hash_one(bytes)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 56) as usize & (SHARDS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_copies_only_its_part() {
        let mut a: Shards<Vec<u32>> = Shards::default();
        a.get_mut(3).push(1);
        let mut b = a.clone();
        b.get_mut(5).push(2);
        assert!(Arc::ptr_eq(&a.parts[3], &b.parts[3]), "part 3 is shared");
        assert!(!Arc::ptr_eq(&a.parts[5], &b.parts[5]), "part 5 was copied");
        assert_eq!(
            a.get(5),
            &Vec::<u32>::new(),
            "the old snapshot is unchanged"
        );
        assert_eq!(b.get(5), &vec![2]);
    }

    #[test]
    fn names_spread_over_the_parts() {
        let mut counts = [0usize; SHARDS];
        for i in 0..10_000 {
            counts[shard_of(format!("ws-{i}").as_bytes())] += 1;
        }
        let (min, max) = (counts.iter().min(), counts.iter().max());
        // 39 a part on average; a part with none or three times as many would mean the
        // shard bits follow the names.
        assert!(min >= Some(&10) && max <= Some(&100), "{min:?}..{max:?}");
    }
}
