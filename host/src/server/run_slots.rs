//! Runs a request executes itself (a manual run, a flow's start, a resume, a run taking up
//! an answer) hold a thread of the blocking pool until they end or hold: bounded per
//! workspace and in all, so one tenant's key sending hundreds of runs of a slow workflow
//! cannot take every thread the scheduler, the sign-ins and every other tenant's requests
//! need (hostile-input review). A request past the bound is answered 503 and starts nothing;
//! a run taking up an answer is left to the scheduler instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Runs executing in requests at once for one workspace (or one principal's resumes).
pub const PER_KEY: usize = 4;

/// Runs executing in requests at once, in all.
pub const IN_ALL: usize = 32;

/// The slots in use, by workspace.
#[derive(Debug, Default)]
pub struct RunSlots {
    held: Mutex<HashMap<String, usize>>,
}

/// One run's slot, given back when dropped.
#[derive(Debug)]
pub struct RunSlot {
    slots: Arc<RunSlots>,
    key: String,
}

impl RunSlots {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        // Counts only: a panic elsewhere cannot leave them half-written.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a run of `key` (its workspace), or none while `key` has [`PER_KEY`] or all
    /// have [`IN_ALL`].
    pub fn take(self: &Arc<Self>, key: &str) -> Option<RunSlot> {
        let mut held = self.held();
        let all: usize = held.values().sum();
        let mine = held.get(key).copied().unwrap_or(0);
        if all >= IN_ALL || mine >= PER_KEY {
            return None;
        }
        held.insert(key.to_owned(), mine + 1);
        Some(RunSlot {
            slots: self.clone(),
            key: key.to_owned(),
        })
    }
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held();
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// Why a request's run was not started: what a person reads in the 503.
pub fn refusal(key: &str) -> String {
    format!(
        "`{key}` has as many runs executing in requests as it may ({PER_KEY}; {IN_ALL} in all \
         on this server); nothing was started: try again once one has ended"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_key_and_in_all_and_given_back() {
        let slots = Arc::new(RunSlots::default());
        let a: Vec<RunSlot> = (0..PER_KEY)
            .map(|_| slots.take("a").expect("within a's share"))
            .collect();
        assert!(slots.take("a").is_none(), "a is at its share");
        let b = slots.take("b").expect("b is not held back by a");
        drop(a);
        assert!(slots.take("a").is_some(), "given back on drop");
        drop(b);
        let keys: Vec<String> = (0..IN_ALL).map(|i| format!("w{i}")).collect();
        let all: Vec<RunSlot> = keys.iter().filter_map(|k| slots.take(k)).collect();
        assert_eq!(all.len(), IN_ALL);
        assert!(
            slots.take("another").is_none(),
            "the server is at its bound"
        );
    }
}
