//! Counts of what each key (a client address, a caller) holds at once, each held unit given
//! back when its guard drops: the one mechanism under the server's per-client connection
//! bound (`listen.rs`) and its run slots (`run_slots.rs`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

/// What each key holds; keys holding nothing are forgotten.
#[derive(Debug)]
pub(super) struct KeyedCounts<K: Hash + Eq> {
    held: Mutex<HashMap<K, usize>>,
}

impl<K: Hash + Eq> Default for KeyedCounts<K> {
    fn default() -> Self {
        KeyedCounts {
            held: Mutex::default(),
        }
    }
}

/// Why nothing was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// The key holds its most.
    Key,
    /// All keys together hold their most.
    All,
}

/// One unit a key holds, given back when dropped.
#[derive(Debug)]
pub(super) struct Held<K: Hash + Eq> {
    counts: Arc<KeyedCounts<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> KeyedCounts<K> {
    fn held(&self) -> MutexGuard<'_, HashMap<K, usize>> {
        // Counts only: a panic elsewhere cannot leave them half-written.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One unit for `key`, unless it holds `per_key` already or all keys `in_all`.
    pub(super) fn take(
        self: &Arc<Self>,
        key: &K,
        per_key: usize,
        in_all: usize,
    ) -> Result<Held<K>, Refused> {
        let mut held = self.held();
        let mine = held.get(key).copied().unwrap_or(0);
        if mine >= per_key {
            return Err(Refused::Key);
        }
        if held.values().sum::<usize>() >= in_all {
            return Err(Refused::All);
        }
        held.insert(key.clone(), mine + 1);
        Ok(Held {
            counts: self.clone(),
            key: key.clone(),
        })
    }
}

impl<K: Hash + Eq> Drop for Held<K> {
    fn drop(&mut self) {
        let mut held = self.counts.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_bounded_per_key_and_in_all_and_given_back() {
        let counts = Arc::new(KeyedCounts::<u8>::default());
        let a: Vec<_> = (0..2)
            .map(|_| counts.take(&1, 2, 3).expect("within its share"))
            .collect();
        assert_eq!(counts.take(&1, 2, 3).err(), Some(Refused::Key));
        let b = counts.take(&2, 2, 3).expect("another key");
        assert_eq!(counts.take(&3, 2, 3).err(), Some(Refused::All));
        drop(a);
        assert!(counts.take(&1, 2, 3).is_ok(), "given back on drop");
        drop(b);
        assert!(
            counts.held().is_empty(),
            "keys holding nothing are forgotten"
        );
    }
}
