//! The step ids whose outputs exist on the path being checked (SPEC WF-1), as a stack a
//! branch adds to and gives back: checking each branch of an `if`, a `switch` or a
//! `parallel` from its own copy of the set made a definition of thousands of steps and
//! thousands of cases quadratic to parse, and a definition is parsed for every event its
//! workflow is matched against.

use std::collections::HashMap;

/// Step ids available on the current path, in the order they became so.
#[derive(Debug, Default)]
pub(super) struct Available {
    order: Vec<String>,
    /// How many times each id is in `order` (a parallel's branches may add one twice).
    count: HashMap<String, usize>,
}

impl Available {
    /// Makes `id` available.
    pub(super) fn insert(&mut self, id: &str) {
        self.order.push(id.to_owned());
        *self.count.entry(id.to_owned()).or_default() += 1;
    }

    /// Whether `id` is available.
    pub(super) fn contains(&self, id: &str) -> bool {
        self.count.contains_key(id)
    }

    /// A point to [`Available::reset`] to.
    pub(super) fn mark(&self) -> usize {
        self.order.len()
    }

    /// Makes unavailable again what was added since `mark`; those ids, in order.
    pub(super) fn reset(&mut self, mark: usize) -> Vec<String> {
        let added: Vec<String> = self.order.drain(mark.min(self.order.len())..).collect();
        for id in &added {
            if let Some(n) = self.count.get_mut(id) {
                *n -= 1;
                if *n == 0 {
                    self.count.remove(id);
                }
            }
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_gives_back_what_a_branch_added_and_keeps_what_was_there() {
        let mut a = Available::default();
        a.insert("before");
        let mark = a.mark();
        a.insert("branch");
        a.insert("before");
        assert!(a.contains("branch"));
        assert_eq!(a.reset(mark), ["branch", "before"]);
        assert!(!a.contains("branch"), "gone with its branch");
        assert!(a.contains("before"), "added twice, taken back once");
        assert_eq!(a.reset(mark), Vec::<String>::new(), "nothing more");
    }
}
