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
    let result = match stream {
        Stream::Out => emit(&mut io::stdout().lock(), args, newline),
        Stream::Err => emit(&mut io::stderr().lock(), args, newline),
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

fn emit(w: &mut impl Write, args: fmt::Arguments<'_>, newline: bool) -> io::Result<()> {
    w.write_fmt(args)?;
    if newline {
        w.write_all(b"\n")?;
    }
    w.flush()
}
