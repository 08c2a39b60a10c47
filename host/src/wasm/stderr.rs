//! A step's stderr: every write taken, its first and last bytes kept, what lies between
//! counted (SPEC ST-2). wasmtime-wasi's `MemoryOutputPipe` closes once full and traps on a
//! write past its room, so a step that printed 64 KiB of progress lines failed with wasm's
//! `unreachable` (Rust's `eprintln!` panics on a closed stderr) and its real panic message or
//! traceback, written last, was lost (round 19 hostile-step review).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Bytes of the start of a step's stderr kept (what it said first).
pub const HEAD_BYTES: usize = 32 * 1024;
/// Bytes of the end of a step's stderr kept (a panic message, a traceback).
pub const TAIL_BYTES: usize = 32 * 1024;

/// Bytes a write may hand over at once: a guest asking may write this much.
const PERMIT_BYTES: usize = 64 * 1024;

#[derive(Default)]
struct Kept {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    /// Bytes written past the head, whether or not the tail still holds them.
    after_head: u64,
}

/// The stderr of one execution, shared by the streams WASI opens on it.
#[derive(Clone, Default)]
pub struct StderrCapture {
    kept: Arc<Mutex<Kept>>,
}

impl StderrCapture {
    /// A capture holding nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves bytes only: still readable.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self, bytes: &[u8]) {
        let mut guard = self.kept();
        let kept = &mut *guard;
        let room = HEAD_BYTES.saturating_sub(kept.head.len());
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        kept.head.extend_from_slice(head);
        kept.after_head = kept
            .after_head
            .saturating_add(u64::try_from(rest.len()).unwrap_or(u64::MAX));
        // Only the last TAIL_BYTES of `rest` can stay.
        let rest = &rest[rest.len().saturating_sub(TAIL_BYTES)..];
        let held = kept.tail.len();
        let overflow = (held + rest.len()).saturating_sub(TAIL_BYTES);
        kept.tail.drain(..overflow.min(held));
        kept.tail.extend(rest);
    }

    /// What the step wrote, lossily decoded: its start, then how many bytes were left out,
    /// then its end. Each end stays within its bytes once decoded too (an invalid byte reads
    /// as three).
    pub fn text(&self) -> String {
        let kept = self.kept();
        let tail: Vec<u8> = kept.tail.iter().copied().collect();
        let dropped = kept.after_head - u64::try_from(tail.len()).unwrap_or(0);
        if dropped == 0 {
            // Whole: decoded as one text, a character split between the two ends too.
            let mut all = kept.head.clone();
            all.extend_from_slice(&tail);
            let all = String::from_utf8_lossy(&all).into_owned();
            if all.len() <= HEAD_BYTES + TAIL_BYTES {
                return all;
            }
            let (head, end) = (first_bytes(&all, HEAD_BYTES), last_bytes(&all, TAIL_BYTES));
            let cut = all.len() - head.len() - end.len();
            return format!("{head}\n[… {cut} bytes of its decoded stderr left out …]\n{end}");
        }
        let head = String::from_utf8_lossy(&kept.head);
        let end = String::from_utf8_lossy(&tail);
        format!(
            "{}\n[… {dropped} bytes of stderr left out …]\n{}",
            first_bytes(&head, HEAD_BYTES),
            last_bytes(&end, TAIL_BYTES)
        )
    }
}

/// The start of `text` within `n` bytes, to a character's end.
fn first_bytes(text: &str, n: usize) -> &str {
    &text[..text.floor_char_boundary(n)]
}

/// The end of `text` within `n` bytes, from a character's start.
fn last_bytes(text: &str, n: usize) -> &str {
    &text[text.ceil_char_boundary(text.len().saturating_sub(n))..]
}

impl IsTerminal for StderrCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrCapture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for StderrCapture {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(PERMIT_BYTES)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrCapture {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for StderrCapture {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.take(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_stderr_is_kept_whole() {
        let c = StderrCapture::new();
        c.take(b"panicked at ");
        c.take(b"src/lib.rs");
        assert_eq!(c.text(), "panicked at src/lib.rs");
    }

    #[test]
    fn a_long_stderr_keeps_its_start_and_end_and_counts_what_it_left_out() {
        let c = StderrCapture::new();
        for i in 0..10_000 {
            c.take(format!("progress line {i:05}\n").as_bytes());
        }
        c.take(b"panicked: the real cause\n");
        let text = c.text();
        assert!(text.starts_with("progress line 00000\n"), "{}", &text[..40]);
        assert!(
            text.ends_with("panicked: the real cause\n"),
            "the end is kept"
        );
        let written = 10_000 * 20 + 25;
        let left_out = written - HEAD_BYTES - TAIL_BYTES;
        assert!(
            text.contains(&format!("[… {left_out} bytes of stderr left out …]")),
            "counted"
        );
        assert!(text.len() <= HEAD_BYTES + TAIL_BYTES + 100, "bounded");
    }

    #[test]
    fn one_write_larger_than_both_ends_keeps_its_own_start_and_end() {
        let c = StderrCapture::new();
        let mut big = vec![b'a'; HEAD_BYTES];
        big.extend(vec![b'b'; 100_000]);
        big.extend(vec![b'c'; TAIL_BYTES]);
        c.take(&big);
        let text = c.text();
        assert!(text.starts_with('a') && text.ends_with('c'));
        assert!(
            text.contains("[… 100000 bytes of stderr left out …]"),
            "counted"
        );
    }

    #[test]
    fn invalid_bytes_stay_within_the_capture_once_decoded() {
        let c = StderrCapture::new();
        c.take(&vec![0xFF; HEAD_BYTES + TAIL_BYTES]);
        let text = c.text();
        assert!(
            text.len() <= HEAD_BYTES + TAIL_BYTES + 100,
            "{} bytes",
            text.len()
        );
        assert!(text.starts_with('\u{FFFD}') && text.ends_with('\u{FFFD}'));
        assert!(
            text.contains("bytes of its decoded stderr left out"),
            "said"
        );
    }
}
