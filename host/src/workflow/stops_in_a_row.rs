//! How many times in a row each step of a run stopped its run resumable in this process
//! (SPEC WF-11), and when that is enough to read the step's waits as its own.
//!
//! A deadline passed waiting for what others held (the shared connection, PostgreSQL's
//! writing connections, the access index's update) is the host's business: the run stops
//! resumable and runs the step again (`store/deadline.rs`). But the wait may be behind the
//! tenant's own load, and then every try meets it again: a step of a busy tenant stopped and
//! ran again without end, each try holding an instance slot for its whole timeout (round 26
//! self-review). After [`STOPS_BEFORE_OWN`] stops in a row, the step's next tries wait as
//! their own: a deadline passed waiting fails the step as its timeout, as it did before round
//! 26. A try that gets through starts the count afresh. Stops whose waits were provably behind
//! another organization's work (who held the connection's turn, the connection or every
//! busy writer, labelled by a step's share or a run's organization;
//! `deadline::waited_behind_its_own_since_asked`) do not count: behind another tenant's, a
//! stop is the host's business however often it comes, and three of them failed a step as
//! its own timeout (round 28 hostile-step review). Behind anything else (its own
//! organization, another process's lock, an unlabelled request) they count.
//!
//! Kept in memory: a run another host takes over starts its count there afresh, which bounds
//! the tries by the hosts times [`STOPS_BEFORE_OWN`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Stops in a row after which a step's waits are its own.
pub(crate) const STOPS_BEFORE_OWN: u32 = 3;

/// How many steps' counts are kept; past it the one stopped longest ago is forgotten.
const KEPT: usize = 4096;

/// A count not added to for this long is of a run that ended or went on elsewhere: a live
/// one stops again within its step's longest timeout and the scheduler's retry delay.
const FORGOTTEN_AFTER: Duration = Duration::from_secs(3600);

/// The steps that stopped their runs resumable, with how many times in a row and when last.
#[derive(Debug, Default)]
pub(crate) struct StopsInARow {
    counts: Mutex<HashMap<(i64, String), (u32, Instant)>>,
}

impl StopsInARow {
    /// Notes that step `key` of `run` stopped its run resumable.
    pub(crate) fn stopped(&self, run: i64, key: &str) {
        let mut counts = self.lock();
        let now = Instant::now();
        // Full, the counts of runs gone elsewhere or ended go first, then the oldest: a
        // memory started afresh when full set every live count back to nothing, again at
        // each refill (round 27 storage review).
        if counts.len() >= KEPT && !counts.contains_key(&(run, key.to_owned())) {
            counts.retain(|_, (_, last)| now.duration_since(*last) < FORGOTTEN_AFTER);
            if counts.len() >= KEPT
                && let Some(oldest) = counts
                    .iter()
                    .min_by_key(|(_, (_, last))| *last)
                    .map(|(k, _)| k.clone())
            {
                counts.remove(&oldest);
            }
        }
        let entry = counts.entry((run, key.to_owned())).or_insert((0, now));
        *entry = (entry.0 + 1, now);
    }

    /// Notes that step `key` of `run` got through (whatever its result).
    pub(crate) fn went_through(&self, run: i64, key: &str) {
        let mut counts = self.lock();
        if !counts.is_empty() {
            counts.remove(&(run, key.to_owned()));
        }
    }

    /// Whether step `key` of `run` stopped its run often enough in a row that its waits are
    /// now its own.
    pub(crate) fn waits_are_own(&self, run: i64, key: &str) -> bool {
        let counts = self.lock();
        !counts.is_empty()
            && counts
                .get(&(run, key.to_owned()))
                .is_some_and(|(n, _)| *n >= STOPS_BEFORE_OWN)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, String), (u32, Instant)>> {
        // Counts: a panic elsewhere cannot leave one half-written.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steps_waits_are_its_own_after_stops_in_a_row_until_it_gets_through() {
        let stops = StopsInARow::default();
        for _ in 0..STOPS_BEFORE_OWN - 1 {
            stops.stopped(7, "open");
        }
        assert!(!stops.waits_are_own(7, "open"), "not yet");
        stops.stopped(7, "open");
        assert!(stops.waits_are_own(7, "open"));
        assert!(!stops.waits_are_own(7, "other"), "another step's count");
        assert!(!stops.waits_are_own(8, "open"), "another run's count");
        stops.went_through(7, "open");
        assert!(!stops.waits_are_own(7, "open"), "got through: afresh");
    }

    /// Bounded, and a live count is not lost when the memory fills (round 27 storage
    /// review: it started afresh, every live count with it).
    #[test]
    fn the_memory_is_bounded_and_keeps_live_counts() {
        let stops = StopsInARow::default();
        stops.stopped(-1, "open");
        stops.stopped(-1, "open");
        for run in 0..(KEPT as i64) * 2 {
            stops.stopped(run, "open");
            if run % 1000 == 0 {
                stops.stopped(-1, "open");
            }
        }
        assert!(stops.lock().len() <= KEPT);
        assert!(stops.waits_are_own(-1, "open"), "its stops were kept");
    }
}
