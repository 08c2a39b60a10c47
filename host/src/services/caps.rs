//! Caps on every value a caller hands the host (SPEC ST-4), in one place.
//!
//! A step reaches the host only through its imports, and whatever it passes there is work the
//! host does outside the step's memory cap and, before these caps, outside its deadline: a
//! 24 MiB case description, a 3,000,000-entry collaborator list or a 64 MiB `wasi:random`
//! request each ran for seconds (issue 14 item 7). Each cap below fails the call that breaks
//! it with an error naming the value, its size and the cap; nothing of the call is stored.
//! The case caps are checked by the case service, so they hold for every door (WIT, built-in
//! steps, the CLI). They are documented for step authors in README.md and in `wit/`.

use crate::Error;

/// Longest case title, in bytes (after trimming).
pub const MAX_CASE_TITLE_BYTES: usize = 512;
/// Longest case description, in bytes.
pub const MAX_CASE_DESCRIPTION_BYTES: usize = 64 * 1024;
/// Largest case `fields` object, in bytes of JSON.
pub const MAX_CASE_FIELDS_BYTES: usize = 64 * 1024;
/// Most JSON values (scalars, arrays and objects, an object holding anything counting as 20:
/// `json_limits::OBJECT_VALUES`) in a case's `fields`: within the byte cap, `{"a":[0,0,…]}`
/// held 32,000 of them, and a page of 200 such cases parsed 6.5 million values, hundreds of
/// MB of host memory, on every query (hostile-step review). 8,192 since objects count for
/// what they cost: a list of a few hundred small objects (indicators) fits, as it did.
pub const MAX_CASE_FIELDS_VALUES: usize = 8192;
/// Largest *Create a case from JSON* document, in bytes: room for every other cap at once.
pub const MAX_CASE_JSON_BYTES: usize = 256 * 1024;
/// Deepest nesting of arrays and objects in a JSON value a caller hands the host (case
/// `fields`, event payloads); `{}` is one level. Stricter than the host-wide
/// [`crate::json_limits::MAX_JSON_DEPTH`], which bounds everything stored.
pub const MAX_JSON_DEPTH: usize = 32;
/// Most emails in one people list (reviewers, collaborators, and each list of an update).
pub const MAX_PEOPLE_PER_LIST: usize = 1000;
/// Longest email a caller may name, in bytes (the SMTP path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest short identifier, in bytes: a case id, query cursor or scope name.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest *Query cases* text filter, in bytes (SQLite refuses LIKE patterns over 50,000).
pub const MAX_QUERY_TEXT_BYTES: usize = 1024;
/// Cases one step execution may create.
pub const MAX_CASES_CREATED_PER_EXECUTION: usize = 100;
/// *Update case restrictions* calls one step execution may make: each writes a timeline row,
/// an audit entry and up to three events (each carrying the case), outside the event budget.
pub const MAX_RESTRICTION_UPDATES_PER_EXECUTION: usize = 100;
/// Host calls that reach the database (the cases interface, `check-flow-access`) one step
/// execution may make, whatever their answers: each is database work on the host's shared
/// connection (a query reads up to a page of cases and their people, a flow question a
/// revision), so a step looping on refused or empty calls is stopped here rather than at its
/// deadline (hostile-step reviews).
pub const MAX_DATABASE_CALLS_PER_EXECUTION: usize = 1000;
/// Resources (streams, pollables, …) a step's WASI context may hold at once: each is host
/// memory outside the step's memory limit, and wasmtime's default allows a million.
pub const MAX_WASI_RESOURCES: usize = 10_000;
/// Most bytes one `wasi:random` `get-random-bytes` or `get-insecure-random-bytes` call returns.
pub const MAX_RANDOM_BYTES_PER_CALL: u64 = 64 * 1024;
/// Longest log message kept, in bytes; a longer one is cut and marked `… [truncated]`.
pub const MAX_LOG_LINE_BYTES: usize = 8 * 1024;
/// Log lines kept per execution; later ones are counted (`dropped_logs`), not kept.
pub const MAX_LOG_LINES: usize = 1000;
/// Bytes of log messages kept per execution: every line at its longest (the marker of a
/// cut line included), so only a run's budget (`workflow/held.rs`) lowers it.
pub const MAX_LOG_BYTES_PER_EXECUTION: usize = MAX_LOG_LINES * (MAX_LOG_LINE_BYTES + 64);
/// Events one step execution may emit.
pub const MAX_EVENTS_PER_EXECUTION: usize = 100;

/// The most restricted cases one run may read (`run_cases`): each is checked again at its
/// resumes and bounds whom its events reach and the runs they start (which name it as an
/// ancestor, `run_ancestors`; they were copied to each, and a step reading a hundred thousand
/// made the scheduler write billions of rows: hostile-step review). Its own, that is; with
/// those inherited with its event (its case, and rows copied before `run_ancestors`), twice
/// that (`cases/store::record_run_reads`).
pub const MAX_RESTRICTED_READS_PER_RUN: usize = 10_000;
/// Longest event kind, in bytes.
pub const MAX_EVENT_KIND_BYTES: usize = 64;
/// Largest event payload, in bytes of JSON.
pub const MAX_EVENT_PAYLOAD_BYTES: usize = 256 * 1024;
/// Bytes of JSON one execution's event payloads may hold in all: every event at its largest,
/// so only a run's budget (`workflow/held.rs`) lowers it.
pub const MAX_EVENT_BYTES_PER_EXECUTION: usize = MAX_EVENTS_PER_EXECUTION * MAX_EVENT_PAYLOAD_BYTES;
/// JSON values (arrays, objects, scalars) the events of one execution may hold in all. They
/// are held parsed until the step's journal entry commits, and a value costs 32 bytes and
/// more parsed against 2 of text: 100 payloads of `[0,0,…]` at the byte cap were ~400 MiB.
pub const MAX_EVENT_VALUES_PER_EXECUTION: usize = 100_000;

/// Log lines the WASM steps of one run keep in all (`workflow/held.rs`); later ones are
/// counted, not kept. Each execution's own caps bound one step; a loop of steps held its
/// records until the run's next write, unbounded (hostile-step review): 500 iterations of
/// 1,000 lines of 8 KiB were 4 GiB of the host's memory and one commit of 500,000 rows.
/// The run budgets count from the run's start or its last resume: what a run held before a
/// pause is committed, and a pause waits for a person or a timer.
pub const MAX_RUN_LOG_LINES: usize = 10_000;
/// Bytes of log messages one run keeps in all.
pub const MAX_RUN_LOG_BYTES: usize = 16 << 20;
/// Events the steps of one run may publish in all: past it `emit` is refused, and so are case
/// writes, which publish one (a case created) or three (a restriction update) each, by WASM
/// and built-in steps alike (`workflow/held.rs`).
pub const MAX_RUN_EVENTS: usize = 10_000;
/// Bytes of JSON the payloads of one run's events may hold in all.
pub const MAX_RUN_EVENT_BYTES: usize = 32 << 20;
/// JSON values the payloads of one run's events may hold in all.
pub const MAX_RUN_EVENT_VALUES: usize = 1_000_000;

/// The caps on a *check flow access* question (SPEC ST-4): the flow's name and the email.
pub fn check_flow_question(flow: &str, email: &str) -> Result<(), Error> {
    // In characters, as workflow names are (at most 200): a name past 256 bytes could be
    // published and never asked about.
    check_len(
        "the flow name",
        flow.chars().count(),
        crate::text::MAX_NAME_CHARS,
        "characters",
    )?;
    check_len("the email", email.len(), MAX_EMAIL_BYTES, "bytes")?;
    // As the host reads it, for every door (a step test's mocks included).
    crate::principal::Email::parse(email)
        .map(|_| ())
        .map_err(Error::Invalid)
}

/// `Err` naming `what` when `len` (bytes or entries, as `unit` says) is over `cap`.
pub fn check_len(what: &str, len: usize, cap: usize, unit: &str) -> Result<(), Error> {
    if len > cap {
        return Err(Error::Invalid(format!(
            "{what} is {len} {unit}; the cap is {cap} (SPEC ST-4)"
        )));
    }
    Ok(())
}

/// `Err` naming `what` when the JSON text nests arrays and objects deeper than
/// [`MAX_JSON_DEPTH`]. Scans the text without parsing it, so it runs before any parser does.
pub fn check_json_depth(what: &str, json: &str) -> Result<(), Error> {
    check_depth(what, json_depth(json))
}

/// `Err` naming `what` when `depth` is over [`MAX_JSON_DEPTH`].
pub fn check_depth(what: &str, depth: usize) -> Result<(), Error> {
    if depth > MAX_JSON_DEPTH {
        return Err(Error::Invalid(format!(
            "{what} nests {depth} levels deep; the cap is {MAX_JSON_DEPTH} (SPEC ST-4)"
        )));
    }
    Ok(())
}

/// Deepest nesting of `[`/`{` in `json`, ignoring brackets inside strings (the one scanner,
/// [`crate::json_limits::text_depth`]).
pub fn json_depth(json: &str) -> usize {
    crate::json_limits::text_depth(json)
}

/// Nesting depth of a parsed value (a scalar is 0, `{}` is 1; [`crate::json_limits::depth`]).
pub fn value_depth(value: &serde_json::Value) -> usize {
    crate::json_limits::depth(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert_eq!(json_depth("1"), 0);
        assert_eq!(json_depth("{}"), 1);
        assert_eq!(json_depth(r#"{"a":[{"b":1}],"c":{}}"#), 3);
        assert_eq!(json_depth(r#"{"a":"[[[[{{{\"[["}"#), 1);
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(json_depth(&deep), 40);
        let parsed: serde_json::Value = serde_json::from_str(&deep).expect("json");
        assert_eq!(value_depth(&parsed), 40);
    }

    #[test]
    fn checks_name_the_value_its_size_and_the_cap() {
        let err = check_len("`description`", 70_000, MAX_CASE_DESCRIPTION_BYTES, "bytes")
            .expect_err("over")
            .to_string();
        assert!(
            err.contains("`description` is 70000 bytes; the cap is 65536"),
            "{err}"
        );
        assert!(check_len("x", 3, 3, "entries").is_ok());
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        let err = check_json_depth("`fields`", &deep)
            .expect_err("too deep")
            .to_string();
        assert!(
            err.contains("`fields` nests 33 levels deep; the cap is 32"),
            "{err}"
        );
        let ok = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(check_json_depth("`fields`", &ok).is_ok());
    }
}
