//! Checking what a test run left behind against its expectations. Every mismatch names the
//! expectation (`expect.cases[0].access_mode`), what was expected, and what was found.

use serde_json::Value;

use crate::platform::Platform;
use crate::runs::RunStore;

use super::spec::Expect;
use super::store;
use super::{Mismatch, mismatch};

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A start that the access rules refused: only `status: "refused"` and `error_contains` can
/// hold; any other expectation given is a mismatch, never passed unchecked (polyglot review).
pub fn refused_start(expect: &Expect, error: &str) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for field in expect.given_of_a_run() {
        out.push(mismatch(
            &format!("expect.{field}"),
            "a run to check it on",
            format!("none: the start was refused ({error})"),
        ));
    }
    if expect.status.as_deref() != Some("refused") {
        out.push(mismatch(
            "expect.status",
            expect.status.clone().unwrap_or_else(|| "a run".into()),
            format!("refused: {error}"),
        ));
    }
    if let Some(needle) = &expect.error_contains
        && !error.contains(needle.as_str())
    {
        out.push(mismatch("expect.error_contains", needle.clone(), error));
    }
    out
}

/// The mocks no run used: a mock is keyed by the step's journal key (`id`; `loop[2].id` in a
/// loop, `step/id` in a nested workflow), and one matching no step that ran left the real step
/// running while the sample believed it mocked (steps and projects review).
pub fn unused_mocks<'k>(
    answered: &std::collections::HashSet<String>,
    keys: impl Iterator<Item = &'k String>,
) -> Vec<Mismatch> {
    keys.filter(|key| !answered.contains(*key))
        .map(|key| {
            mismatch(
                &format!("mocks.{key}"),
                "an action step with this journal key to run",
                "none ran (in a loop the key is `loop[i].id`, in a nested workflow `step/id`; \
                 a `wait`, an interaction or a built-in step is not mocked: a built-in step \
                 runs on the test's database as in a real run)",
            )
        })
        .collect()
}

/// Every assertion of `expect` about run `run` and the database it ran on.
pub fn expectations(
    platform: &Platform,
    run: i64,
    workspace: &str,
    expect: &Expect,
    since: &store::Marks,
) -> Result<Vec<Mismatch>, String> {
    let mut out = Vec::new();
    let (info, steps) = platform.run_detail(run).map_err(|e| e.to_string())?;
    let mut eq = |at: &str, expected: &str, actual: Option<&str>| {
        if Some(expected) != actual {
            out.push(mismatch(at, expected, actual.unwrap_or("(none)")));
        }
    };
    if let Some(s) = &expect.status {
        // A wrong status shows the run's error too: that is usually the whole story.
        let actual = match &info.error {
            Some(e) if s != info.status.as_str() => format!("{} ({e})", info.status),
            _ => info.status.to_string(),
        };
        eq("expect.status", s, Some(&actual));
    }
    if let Some(s) = &expect.exit_status {
        eq("expect.exit_status", s, info.exit_status.as_deref());
    }
    let output = info.output.clone().unwrap_or(Value::Null);
    // Only a run that succeeded has an output: one that failed or still waits is stored with
    // none, which read as `null` met `"output": null` (steps and projects review).
    let ended_with_output = info.status == crate::runs::RunStatus::Succeeded;
    match &expect.output {
        Some(o) if !ended_with_output => {
            let why = info.error.as_deref().unwrap_or("no output");
            out.push(mismatch(
                "expect.output",
                o.to_string(),
                format!("none: the run is {} ({why})", info.status),
            ));
        }
        Some(o) if *o != output => {
            out.push(mismatch("expect.output", o.to_string(), output.to_string()));
        }
        _ => {}
    }
    for (path, expected) in &expect.output_matches {
        let at = format!("expect.output_matches[\"{path}\"]");
        if !ended_with_output {
            // As for `output`: `{"$": null}` held on a failed run (round 18 review).
            let why = info.error.as_deref().unwrap_or("no output");
            out.push(mismatch(
                &at,
                show(expected),
                format!("none: the run is {} ({why})", info.status),
            ));
            continue;
        }
        // Read as the workflow reads a reference (a path that may select several nodes is
        // the list of them, empty when none), compared as its conditions compare (`3` and
        // `3.0` are one number): round 20 review, where one match gave the node and two
        // could never match.
        let path = crate::definition::refs::Ref::parse(path).map_err(|e| format!("{at}: {e}"))?;
        let found = match path
            .resolve_found(&output, crate::json_limits::Counting::WEIGHTED)
            .map_err(|e| format!("{at}: {e}"))?
        {
            None if !path.singular => Some(Value::Array(Vec::new())),
            // `$.x?` reads `null` where nothing is, as in a workflow.
            None if path.optional => Some(Value::Null),
            found => found,
        };
        match found {
            Some(found) if crate::definition::conditions::same(&found, expected) => {}
            Some(found) => out.push(mismatch(&at, show(expected), show(&found))),
            None => out.push(mismatch(&at, show(expected), "nothing")),
        }
    }
    if let Some(needle) = &expect.error_contains {
        let error = info.error.clone().unwrap_or_default();
        if !error.contains(needle.as_str()) {
            out.push(mismatch("expect.error_contains", needle.clone(), error));
        }
    }
    for (key, want) in &expect.steps {
        let at = format!("expect.steps.{key}");
        let entry = match steps.iter().find(|s| &s.step == key) {
            Some(s) => Some((s.status.clone(), s.error.clone(), s.attempts)),
            // Earlier than the newest entries the detail carries.
            None if info.steps_omitted > 0 => {
                let db = platform.db().map_err(|e| e.to_string())?;
                store::step_entry(db.conn(), run, key).map_err(|e| e.to_string())?
            }
            None => None,
        };
        match entry {
            None => out.push(mismatch(&at, want.status.clone(), "not journaled")),
            Some((status, error, attempts)) => {
                if status != want.status {
                    out.push(mismatch(
                        &format!("{at}.status"),
                        want.status.clone(),
                        status,
                    ));
                }
                if let Some(want) = want.attempts
                    && attempts != want
                {
                    out.push(mismatch(
                        &format!("{at}.attempts"),
                        want.to_string(),
                        attempts.to_string(),
                    ));
                }
                if let Some(needle) = &want.error_contains {
                    let error = error.unwrap_or_default();
                    if !error.contains(needle.as_str()) {
                        out.push(mismatch(
                            &format!("{at}.error_contains"),
                            needle.clone(),
                            error,
                        ));
                    }
                }
            }
        }
    }
    let db = platform.db().map_err(|e| e.to_string())?;
    let conn = db.conn();
    for (kind, want) in &expect.events {
        let got = store::count_events(conn, kind, since).map_err(|e| e.to_string())?;
        if got != *want {
            out.push(mismatch(
                &format!("expect.events.{kind}"),
                want.to_string(),
                got.to_string(),
            ));
        }
    }
    for (i, case) in expect.cases.iter().enumerate() {
        let at = format!("expect.cases[{i}]");
        // A storage error is the harness's error, not a missing case.
        let found = store::cases_titled(conn, workspace, &case.title).map_err(|e| e.to_string())?;
        let (id, restricted) = match found.as_slice() {
            [one] => *one,
            [] => {
                out.push(mismatch(
                    &format!("{at}.title"),
                    case.title.clone(),
                    "no such case",
                ));
                continue;
            }
            // The first of several answered for all of them: the case the run made went
            // unchecked behind the one the test set up (round 15 review).
            _ => {
                out.push(mismatch(
                    &format!("{at}.title"),
                    format!("one case titled {}", case.title),
                    "several: give the case the run makes a title of its own",
                ));
                continue;
            }
        };
        if let Some(mode) = &case.access_mode {
            let actual = if restricted {
                "restricted"
            } else {
                "full_access"
            };
            if mode != actual {
                out.push(mismatch(&format!("{at}.access_mode"), mode.clone(), actual));
            }
        }
        if let Some(want) = &case.collaborators {
            let got = store::collaborators(conn, id).map_err(|e| e.to_string())?;
            let mut want: Vec<String> = want.iter().map(|e| e.trim().to_lowercase()).collect();
            want.sort();
            if want != got {
                out.push(mismatch(
                    &format!("{at}.collaborators"),
                    want.join(", "),
                    got.join(", "),
                ));
            }
        }
    }
    for (i, entry) in expect.audit.iter().enumerate() {
        let actor = entry.actor.as_deref().map(str::to_lowercase);
        let got = store::count_audit(conn, &entry.action, actor.as_deref(), since)
            .map_err(|e| e.to_string())?;
        if got == 0 {
            let who = actor.map(|a| format!(" by {a}")).unwrap_or_default();
            out.push(mismatch(
                &format!("expect.audit[{i}]"),
                format!("{}{who}", entry.action),
                "no such entry",
            ));
        }
    }
    for (workflow, statuses) in &expect.runs {
        // A misspelt name counted no runs, and `failed: 0` passed whatever ran (steps and
        // projects review).
        if !store::workflow_known(conn, workflow).map_err(|e| e.to_string())? {
            out.push(mismatch(
                &format!("expect.runs.{workflow}"),
                "a workflow published or run by this test".to_owned(),
                "no workflow of that name".to_owned(),
            ));
            continue;
        }
        for (status, want) in statuses {
            let got = store::count_runs(conn, workflow, status).map_err(|e| e.to_string())?;
            if got != *want {
                out.push(mismatch(
                    &format!("expect.runs.{workflow}.{status}"),
                    want.to_string(),
                    got.to_string(),
                ));
            }
        }
    }
    Ok(out)
}
