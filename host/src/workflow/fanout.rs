//! Running the parts of a `parallel` step or a parallel loop side by side, within a run-wide
//! cap on threads (SPEC WF-4, ST-4: a hostile definition cannot make the host ask the OS for
//! more threads than [`MAX_RUN_THREADS`] per run, however deeply it nests).
//!
//! A group's calling thread works on the group itself, and helpers are spawned only while the
//! run has a free slot: parts beyond the free slots wait in the group's queue for whichever
//! thread finishes first. Nested groups therefore never deadlock on slots, and a refused spawn
//! is reported, never a panic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The most helper threads one run may have at once, over all its parallel steps and loops
/// (nested ones included). Parts beyond it wait for a thread; they never fail for it.
pub const MAX_RUN_THREADS: usize = 32;

/// A run's free helper-thread slots, shared by all its groups.
#[derive(Debug)]
pub struct Slots {
    free: AtomicUsize,
}

impl Slots {
    /// `max` slots, all free.
    pub fn new(max: usize) -> Self {
        Self {
            free: AtomicUsize::new(max),
        }
    }

    fn try_take(&self) -> bool {
        self.free
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn give_back(&self) {
        self.free.fetch_add(1, Ordering::SeqCst);
    }

    /// Slots free now.
    pub fn free(&self) -> usize {
        self.free.load(Ordering::SeqCst)
    }
}

/// Gives a slot back when its thread ends, panicking or not.
struct Held<'a>(&'a Slots);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

/// What became of one part.
#[derive(Debug)]
pub enum Part<R> {
    Done(R),
    /// The part panicked; the panic stayed in its thread.
    Panicked,
    /// Not started: an earlier part told the group to stop, or a spawn was refused.
    NotRun,
}

/// The parts' outcomes in order, and the OS's refusal if a helper thread could not be spawned
/// (the group then starts no further part; the caller decides what that means for the run).
pub struct Outcome<R> {
    pub parts: Vec<Part<R>>,
    pub refused: Option<std::io::Error>,
}

/// How a group runs: its width and, for tests, the helpers' stack size.
pub struct Group<'a> {
    /// At most this many parts at once (the calling thread included).
    pub width: usize,
    pub slots: &'a Slots,
    /// Helper threads' stack size; `None` for the standard one.
    pub stack_size: Option<usize>,
}

impl Group<'_> {
    /// Runs `work(i)` for every `i` in `0..n`, side by side within the group's width and the
    /// run's free slots. After a part for which `stops` holds, no further part starts.
    pub fn run<R, W, S>(&self, n: usize, work: W, stops: S) -> Outcome<R>
    where
        R: Send,
        W: Fn(usize) -> R + Sync,
        S: Fn(&R) -> bool + Sync,
    {
        let next = AtomicUsize::new(0);
        let halted = AtomicBool::new(false);
        let results: Vec<Mutex<Option<Part<R>>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let worker = || {
            while !halted.load(Ordering::SeqCst) {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let part = match catch_unwind(AssertUnwindSafe(|| work(i))) {
                    Ok(r) => {
                        if stops(&r) {
                            halted.store(true, Ordering::SeqCst);
                        }
                        Part::Done(r)
                    }
                    Err(_) => Part::Panicked,
                };
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(part);
            }
        };
        let mut refused = None;
        // The parts are the same work as the caller's, labelled as its (`deadline::label`).
        let label = crate::store::deadline::current_label();
        std::thread::scope(|s| {
            let mut helpers = Vec::new();
            for _ in 1..self.width.min(n) {
                if !self.slots.try_take() {
                    break;
                }
                let mut builder = std::thread::Builder::new().name("flowhost-parallel".into());
                if let Some(size) = self.stack_size {
                    builder = builder.stack_size(size);
                }
                let held = Held(self.slots);
                let label = label.clone();
                match builder.spawn_scoped(s, || {
                    let _held = held;
                    let _label = crate::store::deadline::label_as(label);
                    worker();
                }) {
                    Ok(h) => helpers.push(h),
                    Err(e) => {
                        // The closure (and its slot) came back with the error and was dropped.
                        halted.store(true, Ordering::SeqCst);
                        refused = Some(e);
                        break;
                    }
                }
            }
            worker();
            for h in helpers {
                // A panic inside a part is caught there; the worker loop itself does not panic.
                let _ = h.join();
            }
        });
        let parts = results
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .unwrap_or_else(|p| p.into_inner())
                    .unwrap_or(Part::NotRun)
            })
            .collect();
        Outcome { parts, refused }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn group(width: usize, slots: &Slots) -> Group<'_> {
        Group {
            width,
            slots,
            stack_size: None,
        }
    }

    #[test]
    fn parts_beyond_the_free_slots_wait_and_all_run() {
        let slots = Slots::new(2);
        let busy = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = group(10, &slots).run(
            10,
            |i| {
                let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                busy.fetch_sub(1, Ordering::SeqCst);
                i * 2
            },
            |_| false,
        );
        assert!(out.refused.is_none());
        let done: Vec<usize> = out
            .parts
            .into_iter()
            .map(|p| match p {
                Part::Done(v) => v,
                other => panic!("every part runs: {other:?}"),
            })
            .collect();
        assert_eq!(done, (0..10).map(|i| i * 2).collect::<Vec<_>>());
        // Two helpers and the calling thread, never more.
        assert!(peak.load(Ordering::SeqCst) <= 3, "{peak:?}");
        assert_eq!(slots.free(), 2, "every slot is given back");
    }

    /// Every part carries its caller's organization label, on whichever thread it runs: the
    /// helpers' journal writes went unlabelled, and other tenants' steps waiting behind them
    /// counted the wait as their own (round 29 reviews).
    #[test]
    fn every_part_carries_its_callers_label() {
        let slots = Slots::new(4);
        let _label = crate::store::deadline::label("organization `acme`");
        let threads = Mutex::new(std::collections::HashSet::new());
        let out = group(4, &slots).run(
            8,
            |_| {
                threads
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(std::thread::current().id());
                std::thread::sleep(Duration::from_millis(20));
                crate::store::deadline::current_label()
            },
            |_| false,
        );
        assert!(
            threads.lock().expect("threads").len() > 1,
            "helpers ran parts"
        );
        for part in out.parts {
            match part {
                Part::Done(label) => assert_eq!(label.as_deref(), Some("organization `acme`")),
                other => panic!("every part runs: {other:?}"),
            }
        }
        assert_eq!(
            crate::store::deadline::current_label().as_deref(),
            Some("organization `acme`")
        );
    }

    #[test]
    fn nested_groups_share_the_run_wide_slots_without_deadlock() {
        let slots = Slots::new(4);
        let busy = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = group(64, &slots).run(
            16,
            |_| {
                group(64, &slots).run(
                    16,
                    |_| {
                        let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(1));
                        busy.fetch_sub(1, Ordering::SeqCst);
                    },
                    |_| false,
                )
            },
            |_| false,
        );
        assert!(out.parts.iter().all(|p| matches!(p, Part::Done(_))));
        // Four helpers and the calling thread are all that ever work at once.
        assert!(peak.load(Ordering::SeqCst) <= 5, "{peak:?}");
        assert_eq!(slots.free(), 4);
    }

    #[test]
    fn a_stopping_part_starts_no_further_part_and_a_panic_stays_in_its_part() {
        let slots = Slots::new(0);
        let out = group(8, &slots).run(
            4,
            |i| {
                if i == 0 {
                    panic!("part 0 panics");
                }
                i
            },
            |&i| i == 1,
        );
        assert!(matches!(out.parts[0], Part::Panicked));
        assert!(matches!(out.parts[1], Part::Done(1)));
        assert!(matches!(out.parts[2], Part::NotRun));
        assert!(matches!(out.parts[3], Part::NotRun));
    }

    #[test]
    fn a_refused_spawn_is_reported_not_a_panic() {
        // A stack no address space can hold: the OS refuses the thread (a real refusal, as
        // when a process reaches its thread limit).
        let slots = Slots::new(8);
        let out = Group {
            width: 8,
            slots: &slots,
            stack_size: Some(1 << 52),
        }
        .run(8, |i| i, |_| false);
        assert!(out.refused.is_some(), "the spawn is refused");
        assert!(out.parts.iter().all(|p| matches!(p, Part::NotRun)));
        assert_eq!(slots.free(), 8, "the refused thread's slot is given back");
    }
}
