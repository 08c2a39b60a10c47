//! The `flowhost` command line. It parses arguments, calls the library and prints; it never
//! decides access (that is the services' job).

mod cli;

use std::io::Write;
use std::process::ExitCode;

use flowhost::wasm::compiler;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    if args
        .next()
        .is_some_and(|first| first == compiler::CHILD_ARG)
    {
        return compiler::child_main(&args.collect::<Vec<_>>());
    }
    // A step author's component is compiled in a child process of this binary, under limits
    // (`wasm/compiler.rs`): a component made to be costly to compile must not take the host
    // down with it.
    match compiler::CompileLimits::from_env() {
        Ok(limits) => {
            if let Some(binary) = this_binary() {
                compiler::compile_in_children(binary, limits);
            }
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            return ExitCode::from(2);
        }
    }
    cli::main()
}

/// This very binary: `/proc/self/exe` names the running file even after an upgrade replaced
/// it on disk, so a child never compiles for another engine than this process's. Never a
/// name looked up on `PATH` (another version, or another program): without a path to itself
/// the process compiles in-process, as before.
fn this_binary() -> Option<std::path::PathBuf> {
    let own = std::path::PathBuf::from("/proc/self/exe");
    if own.exists() {
        return Some(own);
    }
    std::env::current_exe().ok().filter(|p| p.is_absolute())
}
