//! What the outputs of a run's WASM steps hold in all, those replayed from its journal on a
//! resume included: the run keeps them (its context, a loop's collected outputs, its
//! uncommitted entries) until it ends. Each output is capped (`StepLimits`), but a loop of
//! 100,000 iterations multiplied the per-step caps into gigabytes (robustness reviews): by
//! its values (`[0,0,…]`) and by its bytes (one 16 MiB string an iteration). A step whose
//! output would pass either bound fails naming it and publishes nothing (SPEC ST-4).

use std::sync::Mutex;

/// JSON values the run's WASM outputs may hold in all.
pub const MAX_RUN_OUTPUT_VALUES: usize = 2_000_000;

/// Bytes of JSON text the run's WASM outputs may hold in all. A parallel loop clones the
/// run's context per iteration in flight, so this is also what each of those copies costs
/// at most.
pub const MAX_RUN_OUTPUT_BYTES: usize = 64 << 20;

/// The size of one output, as counted on its text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Size {
    /// About how many JSON values it holds.
    pub values: usize,
    /// Bytes of its JSON text.
    pub bytes: usize,
}

impl Size {
    /// The size of an output already parsed (one replayed from the journal).
    pub(crate) fn of(value: &serde_json::Value) -> Self {
        Self {
            values: crate::json_limits::value_count(value),
            bytes: text_len(value),
        }
    }
}

/// What a run holds so far, shared by its parallel parts and nested workflows: both counts
/// under one lock, so a take sees them as one.
#[derive(Debug, Default)]
pub(crate) struct Held {
    counts: Mutex<Size>,
}

impl Held {
    fn counts(&self) -> std::sync::MutexGuard<'_, Size> {
        // Two numbers: a panic elsewhere cannot leave them half-written.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the run may still take.
    pub(crate) fn left(&self) -> Size {
        let held = self.counts();
        Size {
            values: MAX_RUN_OUTPUT_VALUES.saturating_sub(held.values),
            bytes: MAX_RUN_OUTPUT_BYTES.saturating_sub(held.bytes),
        }
    }

    /// Takes `size` if both bounds still hold after it; otherwise takes nothing.
    pub(crate) fn take(&self, size: Size) -> Result<(), Size> {
        let mut held = self.counts();
        let values = held.values.checked_add(size.values);
        let bytes = held.bytes.checked_add(size.bytes);
        match (values, bytes) {
            (Some(values), Some(bytes))
                if values <= MAX_RUN_OUTPUT_VALUES && bytes <= MAX_RUN_OUTPUT_BYTES =>
            {
                *held = Size { values, bytes };
                Ok(())
            }
            _ => Err(size),
        }
    }

    /// Counts an output replayed from the journal: held as a fresh one is, so each resume
    /// does not start the run's bounds afresh. Never refused (the run already held it).
    pub(crate) fn replayed(&self, size: Size) {
        let mut held = self.counts();
        held.values = held.values.saturating_add(size.values);
        held.bytes = held.bytes.saturating_add(size.bytes);
    }
}

/// The length of `value`'s compact JSON text, without building the text.
fn text_len(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter fails only if the value cannot be written, which a parsed
    // `Value` always can; the count so far is the answer then.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_take_past_either_bound_takes_nothing() {
        let held = Held::default();
        let big = Size {
            values: 1,
            bytes: MAX_RUN_OUTPUT_BYTES - 10,
        };
        assert_eq!(held.take(big), Ok(()));
        let over = Size {
            values: 5,
            bytes: 11,
        };
        assert_eq!(held.take(over), Err(over));
        // The values of the refused take were given back.
        assert_eq!(held.left().values, MAX_RUN_OUTPUT_VALUES - 1);
        assert_eq!(held.left().bytes, 10);
        let wide = Size {
            values: MAX_RUN_OUTPUT_VALUES,
            bytes: 1,
        };
        assert_eq!(held.take(wide), Err(wide));
        assert_eq!(held.left().bytes, 10);
    }

    #[test]
    fn a_replayed_output_counts_its_text() {
        let held = Held::default();
        let value = serde_json::json!({ "a": [1, "xy"] });
        let size = Size::of(&value);
        assert_eq!(size.bytes, value.to_string().len());
        held.replayed(size);
        assert_eq!(held.left().bytes, MAX_RUN_OUTPUT_BYTES - size.bytes);
    }
}
