//! Whether swap space appeared after the pool chose to reset its slots by PAGEMAP_SCAN
//! (`engine.rs`): the scan finds only pages present, so a page of one step's memory the kernel
//! swapped out would be left for the next step in the slot, another tenant's. The choice is
//! made once, when the engine is built, from `/proc/swaps`; swap added later (an operator's
//! `swapon` under memory pressure, a swap unit starting after the service) went unseen
//! (round 24 hostile-step review). Looked at again at most once a second before a pooled
//! step runs; once swap is seen, pooled steps are refused until the host restarts. Only a
//! pool that resets by the scan is watched (the kernel has it; otherwise `madvise`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::Enabled;

/// How long a look at `/proc/swaps` stands.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Why a pooled step is refused once swap appeared.
pub(crate) const SWAP_APPEARED: &str = "swap space was added after this host started, and its \
    instance slots are reset by a page scan that leaves swapped-out pages of one step to the \
    next: no step runs here until the host restarts (it then resets slots the way swap allows)";

/// The watch of one runtime.
#[derive(Debug)]
pub(crate) struct SwapWatch {
    /// Whether slots are reset by the scan (nothing to watch otherwise).
    scanning: bool,
    started: Instant,
    /// When `/proc/swaps` was last read, in milliseconds since `started`.
    looked_ms: AtomicU64,
    appeared: AtomicBool,
    swaps: fn() -> Option<String>,
}

impl SwapWatch {
    /// A watch for a runtime whose slots are reset by the scan if `scanning`.
    pub(crate) fn new(scanning: bool) -> Self {
        Self::reading(scanning, || std::fs::read_to_string("/proc/swaps").ok())
    }

    /// [`SwapWatch::new`], reading what `/proc/swaps` holds with `swaps`.
    fn reading(scanning: bool, swaps: fn() -> Option<String>) -> Self {
        Self {
            scanning,
            started: Instant::now(),
            looked_ms: AtomicU64::new(0),
            appeared: AtomicBool::new(false),
            swaps,
        }
    }

    /// `Err` once swap has appeared while slots are reset by the scan.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if !self.scanning {
            return Ok(());
        }
        if self.appeared.load(Ordering::Acquire) {
            return Err(SWAP_APPEARED);
        }
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let looked = self.looked_ms.load(Ordering::Relaxed);
        let due = looked == 0 || now.saturating_sub(looked) >= LOOK_EVERY.as_millis() as u64;
        // One caller looks; the others go on with the last look.
        // Only a file read that names a swap device counts: one that did not read (no file
        // handle left, for now) is looked at again (round 24 self-review).
        if due
            && self
                .looked_ms
                .compare_exchange(looked, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && (self.swaps)()
                .is_some_and(|swaps| super::engine::pagemap_scan_given(Some(&swaps)) == Enabled::No)
        {
            self.appeared.store(true, Ordering::Release);
            return Err(SWAP_APPEARED);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Swap appearing after the start refuses every pooled step from then on; a runtime
    /// whose slots are not reset by the scan watches nothing.
    #[test]
    fn swap_appearing_refuses_pooled_steps_until_restart() {
        let none = SwapWatch::reading(true, || {
            Some("Filename\tType\tSize\tUsed\tPriority\n".to_owned())
        });
        assert_eq!(none.check(), Ok(()));
        let swapped = SwapWatch::reading(true, || {
            Some("Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n".to_owned())
        });
        assert_eq!(swapped.check(), Err(SWAP_APPEARED));
        assert_eq!(swapped.check(), Err(SWAP_APPEARED), "for good");
        let unread = SwapWatch::reading(true, || None);
        assert_eq!(
            unread.check(),
            Ok(()),
            "a file that did not read is looked at again"
        );
        let madvise = SwapWatch::reading(false, || None);
        assert_eq!(madvise.check(), Ok(()));
    }
}
