//! The `flowhost` command line. It parses arguments, calls the library and prints; it never
//! decides access (that is the services' job).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
