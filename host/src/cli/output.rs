//! The one print path of the CLI (issue 14 item 8): `flowhost runs show … | head` closed the
//! pipe and `println!` panicked (exit 101).
//!
//! `cli/mod.rs` defines `println!`, `print!`, `eprintln!` and `eprint!` before it declares the
//! command modules, so every print in `cli/` (those written later included) comes here
//! instead of to the std macros. A reader that went away (EPIPE) ends the process quietly
//! with status 141, as a Unix tool killed by SIGPIPE would; any other output error is
//! reported on stderr (if it still works) with status 2 (the host's failure, `error.rs`). Whatever a command stored before
//! printing stays stored: each change commits before its result is printed.

use std::fmt;
use std::io::{self, Write};

/// The exit status when the reader of stdout or stderr went away (128 + SIGPIPE).
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Which stream a print goes to.
#[derive(Clone, Copy)]
pub enum Stream {
    Out,
    Err,
}

/// Writes `args` (and a newline when `newline`) to `stream`, flushing it; never panics.
pub fn write(stream: Stream, args: fmt::Arguments<'_>, newline: bool) {
    write_after(stream, "", args, newline);
}

/// Rewrites the terminal line on stderr with `args`: the CLI's own escape sequence (return,
/// erase the line) before text that stays inert (`flowhost test`'s live progress).
pub fn rewrite_line(args: fmt::Arguments<'_>) {
    write_after(Stream::Err, "\r\x1b[2K", args, false);
}

/// [`write`] after `own`, the CLI's own control text, written as it is.
fn write_after(stream: Stream, own: &str, args: fmt::Arguments<'_>, newline: bool) {
    let result = match stream {
        Stream::Out => emit(&mut io::stdout().lock(), own, args, newline),
        Stream::Err => emit(&mut io::stderr().lock(), own, args, newline),
    };
    if let Err(e) = result {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(BROKEN_PIPE_STATUS);
        }
        if matches!(stream, Stream::Out) {
            let _ = writeln!(io::stderr(), "error: cannot write to standard output: {e}");
        }
        std::process::exit(2);
    }
}

fn emit(w: &mut impl Write, own: &str, args: fmt::Arguments<'_>, newline: bool) -> io::Result<()> {
    w.write_all(own.as_bytes())?;
    w.write_all(inert(&args.to_string()).as_bytes())?;
    if newline {
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// `text` as one field of a listing's line: line breaks, tabs and invisible characters
/// written out too (`\u000a`), so that a value someone else chose (a workflow's name, an
/// interaction's title, an audit entry's target) can neither forge a line nor hide a
/// character (hostile-input review).
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    flowhost::text::written_out(text, flowhost::text::is_hidden_at)
}

/// `text` (a step's error: a Python traceback, a JS stack) as lines of its own under the line
/// that introduces it, each begun by `  | `, hidden characters written out: kept readable,
/// and no line of it can pass for one of the CLI's (round 18: a step's error forged a trace
/// line; written on one line, a traceback was unreadable).
pub fn block(text: &str) -> String {
    // A Windows line end is one line end.
    let text = text.replace("\r\n", "\n");
    let shown = flowhost::text::written_out(&text, |prev, c, next| {
        c != '\n' && c != '\t' && flowhost::text::is_hidden_at(prev, c, next)
    });
    shown.trim_end().replace('\n', "\n  | ")
}

/// `text` with every control character but a newline and a tab written out (`\u001b`): what
/// the CLI prints includes text steps and tenants chose (log lines, step errors, case
/// titles), and a terminal acts on escape sequences in it: faked lines, a cleared screen,
/// the clipboard written (OSC 52) (hostile-step review). The CLI's own go through
/// [`rewrite_line`].
fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    flowhost::text::written_out(text, |_, c, _| c.is_control() && c != '\n' && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::{inert, one_line};

    #[test]
    fn a_listings_field_is_one_visible_line() {
        assert_eq!(one_line("triage"), "triage");
        assert_eq!(
            one_line("x\n2026 forged\u{200b}"),
            "x\\u000a2026 forged\\u200b"
        );
    }

    #[test]
    fn escape_sequences_are_printed_inert() {
        assert_eq!(inert("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            inert("\u{1b}]52;c;ZXZpbA==\u{7}ok\r"),
            "\\u001b]52;c;ZXZpbA==\\u0007ok\\u000d"
        );
        // C1 controls too (U+009B is a one-character CSI), and DEL.
        assert_eq!(inert("\u{9b}2J\u{7f}"), "\\u009b2J\\u007f");
        // JSON that serde_json wrote with them raw stays JSON, meaning the same.
        let json =
            serde_json::to_string(&serde_json::json!({ "m": "a\u{7f}\u{9b}b" })).expect("json");
        let back: serde_json::Value = serde_json::from_str(&inert(&json)).expect("still JSON");
        assert_eq!(back["m"], "a\u{7f}\u{9b}b");
    }
}
