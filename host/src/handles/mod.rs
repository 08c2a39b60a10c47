//! Service handles: the doors of the library. `platform.runs()`, `.access()`, … each hand out
//! a borrowed handle whose public methods take the acting principal and decide access inside
//! (through the checks of `access/` and the services), so a caller — the CLI, the harness,
//! a coming HTTP server — cannot reach an operation that acts for nobody (issue 15).
//!
//! A handle owns no state and no SQL: it forwards to the service modules, whose unauthorized
//! helpers are `pub(crate)`. Which layer may call which is drawn in `ARCHITECTURE.md`.

mod access;
mod runs;

pub use access::Access;
pub use runs::Runs;

use crate::platform::Platform;

impl Platform {
    /// Runs: list, show, authorize a resume, and outcomes as a principal may see them.
    pub fn runs(&self) -> Runs<'_> {
        Runs::new(self)
    }

    /// Access questions: a decision, and the path behind it.
    pub fn access(&self) -> Access<'_> {
        Access::new(self)
    }
}
