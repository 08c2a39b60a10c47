//! The case service (SPEC CS): create, query and restrict cases. One path for every door —
//! the WIT `cases` interface, built-in workflow steps and the CLI all call [`CaseApi`] on
//! [`Platform`](crate::platform::Platform) with the acting caller.
//!
//! Visibility (SPEC CS-2) is decided in SQL: a restricted case is reached only through the
//! viewer's rows in `case_people`, or by a holder of `bypass.case.access.restriction`. To
//! anyone else it does not exist: not found, never forbidden.
//!
//! [`CaseApi`]: crate::services::CaseApi

pub(crate) mod id;
mod service;
mod store;
pub(crate) mod validate;
mod viewer;

pub use id::case_id_text;

/// How long a step's restriction update is remembered under its key (a re-execution of the
/// step after a crash gets the first answer, SPEC WF-8): its journal entry commits long
/// before, and a row a step's update kept grew the table for good (round 16 hostile-step
/// review). 30 days, past any resume of a run held for a wait or an answer that long.
pub const CASE_UPDATE_RETENTION_SECS: i64 = 30 * 24 * 60 * 60;
pub use service::MAX_PAGE_BYTES;
pub(crate) use service::{
    case_seen_in, run_read_hidden_from, run_read_upto, saw_case_event, saw_events_hidden_for_good,
    started_on_changed_sight,
};
pub use store::query::page_size;
pub use store::{Judged, RunReads};
pub use viewer::Viewer;
