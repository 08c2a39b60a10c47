//! `flowhost step test`: a step's test cases as data (`step.test.json`), each run through the
//! real host, its host calls answered by mocks the case declares or by a throwaway database
//! seeded from a tenant fixture and a cases fixture.
//!
//! ```json
//! { "tenant": "fixtures/tenant.json", "cases": "fixtures/cases.json",
//!   "workspace": "default", "as": "owner@example.test",
//!   "mocks": [ ...for every case... ], "unmocked": "fail",
//!   "tests": [ { "name": "...", "input": {...}, "as": "...optional...",
//!                "mocks": [ { "call": "cases.get-case-restrictions",
//!                             "args": { "case_id": "C-1" },
//!                             "returns": { "access_mode": "restricted" } },
//!                           { "call": "events.emit",
//!                             "error": { "kind": "denied", "message": "..." } } ],
//!                "unmocked": "fail | database",
//!                "expect": { "output": {...}, "error": "substring of the failure",
//!                            "events": [{"kind": "...", "payload": {...}}],
//!                            "logs": [{"level": "info", "message": "..."}],
//!                            "calls": [{"call": "...", "args": {...}}] } } ] }
//! ```
//! `events`, when given, are the exact list the step emitted; `logs` must each appear, in
//! order (other lines may come between); `calls` are the exact host calls made, in order, each
//! `args` a pattern (see [`super::mocks::matches`]). A case is *mocked* when it or the file has
//! `mocks` or `unmocked`: its calls are answered by the first matching mock (the case's, then
//! the file's); a call no mock answers fails the case, naming the call, unless `unmocked` is
//! `database`, which sends it to the seeded database. Other cases use the database only. A
//! cases fixture is `{"as": "email", "cases": [<create-case input>, ...]}`, created before the
//! tests.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::access::Standing;
use crate::harness::Mismatch;
use crate::json_locate::joined;
use crate::platform::Platform;
use crate::principal::{Caller, Email, Principal, SignIn};
use crate::services::HostServices;
use crate::services::grants::Grants;
use crate::wasm::{LoadedStep, StepLimits, StepRuntime};

use super::mocks::{Answered, CallRecord, ExpectCall, Mock, MockedServices};

/// A `step.test.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// Tenant fixture applied to the throwaway database, relative to the test file. This and
    /// the next given as `null` are refused, not read as left out (round 28 input review:
    /// `"cases": null` seeded none, and a test expecting nothing found passed).
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub tenant: Option<String>,
    /// Cases fixture created after the tenant, relative to the test file.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub cases: Option<String>,
    #[serde(default = "default_workspace")]
    pub workspace: String,
    /// Who the step's host calls act as, unless a test says otherwise.
    #[serde(rename = "as")]
    pub email: String,
    /// Mocks for every case, tried after the case's own. This and those below, given as
    /// `null`, are refused as the expectations are (round 27 self-review: a case's `"as":
    /// null`, a generator that found nobody, ran as the file's person).
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub mocks: Option<Vec<Mock>>,
    /// What answers a call no mock matches, unless a case says otherwise.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub unmocked: Option<Unmocked>,
    pub tests: Vec<TestCase>,
}

/// What answers a mocked case's call that no mock matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmocked {
    /// Nothing: the call fails, and so does the case (the default).
    Fail,
    /// The database seeded from the fixtures.
    Database,
}

fn default_workspace() -> String {
    "default".into()
}

/// One test case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    #[serde(default = "empty_object")]
    pub input: Value,
    #[serde(rename = "as", default, deserialize_with = "crate::json_limits::given")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub mocks: Option<Vec<Mock>>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub unmocked: Option<Unmocked>,
    pub expect: Expect,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// What one test expects; every field given is checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The step's output, exactly (`null` too).
    #[serde(default, deserialize_with = "crate::json_limits::present")]
    pub output: Option<Value>,
    /// A substring of the failure message; the step must fail. This and the lists below,
    /// given as `null`, are refused: read as left out, they checked nothing (round 27
    /// hostile-input review).
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub events: Option<Vec<ExpectEvent>>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub logs: Option<Vec<ExpectLog>>,
    /// The host calls made, in order (those the step's grants let through).
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub calls: Option<Vec<ExpectCall>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectEvent {
    pub kind: String,
    pub payload: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectLog {
    pub level: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFixture {
    #[serde(rename = "as")]
    email: String,
    cases: Vec<Value>,
}

/// How one test case went.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    pub mismatches: Vec<Mismatch>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Reads a test file; errors name the file, line and column.
pub fn load(path: &Path) -> Result<TestFile, String> {
    let text = super::read::project_file(path, "the test file")?;
    // Duplicate keys, nesting, inexact integers, more values than a document holds: refused
    // as every other door refuses them (round 27 hostile-input review: an input the CLI's
    // `--input @FILE` refuses was taken from a test file).
    crate::json_limits::parse_document(&path.display().to_string(), &text)?;
    let mut file: TestFile =
        serde_json::from_str(&text).map_err(|e| super::read::json_refusal(path, &e))?;
    for (j, m) in file.mocks.iter_mut().flatten().enumerate() {
        m.label = format!("mocks[{j}]");
    }
    for (i, case) in file.tests.iter_mut().enumerate() {
        for (j, m) in case.mocks.iter_mut().flatten().enumerate() {
            m.label = format!("tests[{i}].mocks[{j}]");
        }
        if let Some(why) = case.expect.checks_nothing() {
            return Err(format!("{}: tests[{i}].expect: {why}", path.display()));
        }
    }
    Ok(file)
}

impl Expect {
    /// Why this expectation would pass whatever a step that succeeds does, if it would: it
    /// gives no output, failure, events or calls, and no log line (`"expect": {}` passed any
    /// step; steps and projects review), or an empty failure fragment, which every failure
    /// contains.
    fn checks_nothing(&self) -> Option<&'static str> {
        if self.error.as_deref() == Some("") {
            return Some(
                "an empty `error` is in every failure: name a fragment of the one expected",
            );
        }
        // A step that fails has no output: `output` beside `error` was never compared.
        if self.output.is_some() && self.error.is_some() {
            return Some(
                "`output` and `error` both given: a step that fails has no output; give one",
            );
        }
        let given = self.output.is_some()
            || self.error.is_some()
            || self.events.is_some()
            || self.calls.is_some()
            || self.logs.as_ref().is_some_and(|l| !l.is_empty());
        (!given).then_some(
            "names nothing to check: give `output`, `error`, `events`, `calls` or a log line",
        )
    }
}

impl TestFile {
    /// The services `case` runs with: its mocks then the file's, falling through to
    /// `database` only when the case is not mocked or asks for it.
    fn services_for(&self, case: &TestCase, database: &HostServices) -> MockedServices {
        let mocked = case.mocks.is_some()
            || case.unmocked.is_some()
            || self.mocks.is_some()
            || self.unmocked.is_some();
        if !mocked {
            return MockedServices::new(Vec::new(), Some(database.clone()));
        }
        let mocks: Vec<Mock> = case
            .mocks
            .iter()
            .chain(&self.mocks)
            .flatten()
            .cloned()
            .collect();
        let unmocked = case.unmocked.or(self.unmocked).unwrap_or(Unmocked::Fail);
        let fallback = (unmocked == Unmocked::Database).then(|| database.clone());
        MockedServices::new(mocks, fallback)
    }
}

/// A database in `dir` seeded from `file`'s fixtures (read beside `path`).
fn seeded(path: &Path, file: &TestFile, dir: &Path) -> Result<Arc<Platform>, String> {
    let base = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let platform = Arc::new(
        Platform::new(crate::store::Db::open(&dir.join("flowhost.db")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?,
    );
    if let Some(tenant) = &file.tenant {
        seed_tenant(&platform, &base.join(tenant))?;
        // A workspace the fixture lacks denied every call as an outsider's, so a test
        // expecting `denied` passed for that reason (steps and projects review).
        if platform.index().workspace(&file.workspace).is_none() {
            return Err(format!(
                "{}: `workspace` `{}` is not in the tenant fixture {tenant}",
                path.display(),
                file.workspace
            ));
        }
    }
    if let Some(cases) = &file.cases {
        seed_cases(&platform, &base.join(cases), &file.workspace)?;
    }
    Ok(platform)
}

/// Runs every test of `file` (read from `path`) on `step`, with `grants`, each on a database
/// of its own in `scratch` seeded from the fixtures: what one test's step wrote (a case, the
/// next case number) reached the tests after it, and results hung on their order (steps and
/// projects review), as `flowhost test` gives each sample a fresh one.
pub fn run(
    path: &Path,
    file: &TestFile,
    runtime: &StepRuntime,
    step: &LoadedStep,
    grants: Grants,
    scratch: &Path,
) -> Result<Vec<CaseResult>, String> {
    let mut results = Vec::new();
    // The file's mocks some case's call took: one no case used is a failure too.
    let mut file_mocks_used = std::collections::HashSet::new();
    for (i, case) in file.tests.iter().enumerate() {
        let platform = seeded(path, file, &scratch.join(format!("test-{i}")))?;
        let database = HostServices::of(platform.clone());
        let at = format!("tests[{i}]");
        let email = case.email.as_deref().unwrap_or(&file.email);
        // One the fixture does not let act here (not a member, or a member of an SSO-only
        // workspace who is not break-glass) is refused by every call, so a test expecting
        // `denied` passed for that reason, whatever the step did (round 15 review: the
        // workspace was checked, not the person; round 16: nor their sign-in).
        let standing =
            |email: &Email| match platform
                .index()
                .standing(&file.workspace, email, SignIn::Local)
            {
                Standing::Member { .. } => None,
                Standing::External(_) => Some("an external SSO identity, not a member".to_owned()),
                Standing::Nothing(reason) => Some(reason.to_string()),
            };
        let parsed = Email::parse(email);
        let refused = match &parsed {
            Ok(email) if file.tenant.is_some() => standing(email),
            _ => None,
        };
        let mismatches = match parsed {
            Ok(email) if refused.is_some() => {
                let why = refused.as_deref().unwrap_or_default();
                let written = if case.email.is_some() {
                    format!("{at}.as")
                } else {
                    "as".to_owned()
                };
                vec![mismatch(
                    &written,
                    format!(
                        "a member of `{}` in the tenant fixture who may act there (an SSO-only \
                         workspace's member must be `break_glass`)",
                        file.workspace
                    ),
                    format!("{email}: {why}"),
                )]
            }
            Ok(email) => {
                let caller = Caller {
                    workspace: file.workspace.clone(),
                    principal: Principal::local(email),
                    cause: None,
                    step: None,
                };
                let mut answering = file.services_for(case, &database);
                // With a tenant fixture, its access rules decide before any mock answers.
                if file.tenant.is_some() {
                    answering = answering.deciding_with(platform.clone());
                }
                let answering = Arc::new(answering);
                // SPEC WF-6: the manifest's grants hold in front of mocks as of the database.
                let services = HostServices::of(answering.clone()).granted(grants);
                let exec =
                    runtime.execute(step, &case.input, caller, services, StepLimits::default());
                let calls = answering.calls();
                // Unanswered calls first: they explain the mismatches that follow.
                let mut found = check_calls(&at, case, &answering, &calls);
                // Without a tenant fixture the database holds nobody: every call it answered
                // was refused as an outsider's, so a test expecting `denied` or `not-found`
                // passed whatever the step did (round 23 steps review).
                if file.tenant.is_none()
                    && calls
                        .iter()
                        .any(|c| matches!(c.answered, Answered::Database))
                {
                    found.push(mismatch(
                        &at,
                        "a `tenant` fixture, or a mock for every call it makes",
                        "calls the test database answered, which holds nobody without a \
                         tenant fixture: each was refused as an outsider's",
                    ));
                }
                let used: std::collections::HashSet<&str> = calls
                    .iter()
                    .filter_map(|c| match &c.answered {
                        Answered::Mock(label) => Some(label.as_str()),
                        _ => None,
                    })
                    .collect();
                found.extend(unused_mocks(case.mocks.iter().flatten(), &used));
                file_mocks_used.extend(used.iter().map(|l| (*l).to_owned()));
                found.extend(check(&at, &case.expect, &exec));
                found
            }
            // Named where it is written: the test's own `as`, or the file's.
            Err(e) => {
                let written = if case.email.is_some() {
                    format!("{at}.as")
                } else {
                    "as".to_owned()
                };
                vec![mismatch(&written, "an email", e)]
            }
        };
        results.push(CaseResult {
            name: case.name.clone(),
            mismatches,
        });
    }
    let used: std::collections::HashSet<&str> =
        file_mocks_used.iter().map(String::as_str).collect();
    let unused = unused_mocks(file.mocks.iter().flatten(), &used);
    if !unused.is_empty() && !file.tests.is_empty() {
        results.push(CaseResult {
            name: "the file's mocks".into(),
            mismatches: unused,
        });
    }
    Ok(results)
}

/// A mismatch for each of `mocks` no call took (`used` holds the labels calls took): a mock
/// of a call the step never makes, or whose `args` match nothing, left the case passing on
/// another answer while it claimed to test this one (round 19 steps review; `flowhost test`
/// fails a mock no step ran by alike).
fn unused_mocks<'m>(
    mocks: impl Iterator<Item = &'m super::mocks::Mock>,
    used: &std::collections::HashSet<&str>,
) -> Vec<Mismatch> {
    mocks
        .filter(|m| !used.contains(m.label.as_str()))
        .map(|m| mismatch(&m.label, m.describe(), "no call the step made took it"))
        .collect()
}

fn seed_tenant(platform: &Platform, path: &Path) -> Result<(), String> {
    let text = super::read::project_file(path, "the tenant fixture")?;
    let origin = path.display().to_string();
    let tenant =
        crate::tenant::TenantFile::parse(&origin, &text).map_err(|errors| joined(&errors))?;
    crate::tenant::apply(platform, &tenant, None)
        .map(|_| ())
        .map_err(|e| match e {
            crate::tenant::ApplyError::Spec(errors) => joined(
                &errors
                    .into_iter()
                    .map(|l| l.in_text(&origin, &text))
                    .collect::<Vec<_>>(),
            ),
            crate::tenant::ApplyError::Host(e) => e.to_string(),
        })
}

fn seed_cases(platform: &Platform, path: &Path, workspace: &str) -> Result<(), String> {
    let text = super::read::project_file(path, "the cases fixture")?;
    crate::json_limits::parse_document(&path.display().to_string(), &text)?;
    let fixture: CasesFixture =
        serde_json::from_str(&text).map_err(|e| super::read::json_refusal(path, &e))?;
    let caller = Caller {
        workspace: workspace.to_owned(),
        principal: Principal::local(
            Email::parse(&fixture.email).map_err(|e| format!("{}: `as`: {e}", path.display()))?,
        ),
        cause: None,
        step: None,
    };
    for (i, case) in fixture.cases.iter().enumerate() {
        let at = |e: crate::Error| format!("{}: cases[{i}]: {e}", path.display());
        // A fixture's cases keep the ids of their order (`C-1`, `C-2`, …) that tests name:
        // one made restricted is made, then restricted, since a case created restricted
        // takes an opaque id (round 16 self-review).
        let restricted = case["access_mode"] == "restricted";
        let mut made = case.clone();
        if restricted {
            made["access_mode"] = Value::from("full_access");
        }
        let created = crate::builtin::Builtin::CreateCase
            .run(platform, &caller, &made, None)
            .map_err(at)?;
        if restricted {
            let id = created["id"].as_str().unwrap_or_default();
            let update = crate::services::cases::RestrictionUpdate {
                access_mode: Some(crate::services::cases::AccessMode::Restricted),
                ..Default::default()
            };
            crate::services::CaseApi::update_case_restrictions(platform, &caller, id, update)
                .map_err(at)?;
        }
    }
    Ok(())
}

/// Calls no mock answered, and `expect.calls`.
fn check_calls(
    at: &str,
    case: &TestCase,
    answering: &MockedServices,
    calls: &[CallRecord],
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let dropped = answering.dropped();
    if dropped > 0 {
        out.push(mismatch(
            at,
            format!(
                "at most {} host calls (what step test records)",
                super::mocks::MAX_RECORDED_CALLS
            ),
            format!("{dropped} more calls, not recorded or checked"),
        ));
    }
    let mocks_at = if case.mocks.is_some() {
        format!("{at}.mocks")
    } else {
        "mocks".to_owned()
    };
    for made in calls {
        let Answered::Unanswered(near) = &made.answered else {
            continue;
        };
        let expected = if near.is_empty() {
            format!("a mock of `{}`", made.call.name())
        } else {
            let wants: Vec<String> = near
                .iter()
                .map(|label| match answering.mock_args(label) {
                    Some(args) => format!("{label} wants args {args}"),
                    None => label.clone(),
                })
                .collect();
            format!(
                "a mock of `{}` matching its arguments ({})",
                made.call.name(),
                wants.join("; ")
            )
        };
        out.push(mismatch(
            &mocks_at,
            expected,
            format!("{} was called and no mock answers it", made.describe()),
        ));
    }
    if let Some(expected) = &case.expect.calls {
        let same =
            expected.len() == calls.len() && expected.iter().zip(calls).all(|(e, c)| e.matches(c));
        if !same {
            let wanted: Vec<String> = expected
                .iter()
                .map(|e| match &e.args {
                    Some(args) => format!("{}({args})", e.call.name()),
                    None => format!("{}(..)", e.call.name()),
                })
                .collect();
            let made: Vec<String> = calls.iter().map(CallRecord::describe).collect();
            out.push(mismatch(
                &format!("{at}.expect.calls"),
                format!("[{}]", wanted.join(", ")),
                format!("[{}]", made.join(", ")),
            ));
        }
    }
    out
}

fn mismatch(at: &str, expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
    Mismatch {
        at: at.to_owned(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Compares one execution with its expectation.
fn check(at: &str, expect: &Expect, exec: &crate::wasm::StepExecution) -> Vec<Mismatch> {
    let mut out = Vec::new();
    match (&exec.result, &expect.error) {
        (Ok(actual), None) => {
            if let Some(expected) = &expect.output
                && expected != actual
            {
                out.push(mismatch(
                    &format!("{at}.expect.output"),
                    expected.to_string(),
                    actual.to_string(),
                ));
            }
        }
        (Ok(actual), Some(expected)) => out.push(mismatch(
            &format!("{at}.expect.error"),
            format!("a failure containing {expected:?}"),
            format!("output {actual}"),
        )),
        (Err(failure), Some(expected)) => {
            let text = failure.to_string();
            if !text.contains(expected.as_str()) {
                out.push(mismatch(
                    &format!("{at}.expect.error"),
                    format!("a failure containing {expected:?}"),
                    text,
                ));
            }
        }
        (Err(failure), None) => out.push(mismatch(
            &format!("{at}.expect.output"),
            "success",
            failure.to_string(),
        )),
    }
    if let Some(expected) = &expect.events {
        let actual: Vec<Value> = exec
            .events
            .iter()
            .map(|e| serde_json::json!({ "kind": e.kind, "payload": e.payload }))
            .collect();
        let wanted: Vec<Value> = expected
            .iter()
            .map(|e| serde_json::json!({ "kind": e.kind, "payload": e.payload }))
            .collect();
        if actual != wanted {
            out.push(mismatch(
                &format!("{at}.expect.events"),
                Value::from(wanted).to_string(),
                Value::from(actual).to_string(),
            ));
        }
    }
    if let Some(expected) = &expect.logs {
        let mut lines = exec.logs.iter();
        for (i, want) in expected.iter().enumerate() {
            let found = lines
                .by_ref()
                .any(|l| l.level.as_str() == want.level && l.message == want.message);
            if !found {
                let actual: Vec<String> = exec
                    .logs
                    .iter()
                    .map(|l| format!("{} {}", l.level.as_str(), l.message))
                    .collect();
                out.push(mismatch(
                    &format!("{at}.expect.logs[{i}]"),
                    format!("{} {}", want.level, want.message),
                    format!("logs: {actual:?}"),
                ));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An expectation given as `null` is refused naming where, not read as checking nothing
    /// (round 27 hostile-input review: `"events": null` passed a step that emitted events).
    #[test]
    fn an_expectation_given_as_null_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("step.test.json");
        for field in ["error", "events", "logs", "calls"] {
            let file = serde_json::json!({ "as": "olivia.owner@acme-mssp.test", "tests": [
                { "name": "t", "expect": { "output": {}, field: null } } ] });
            std::fs::write(&path, file.to_string()).expect("write");
            let err = load(&path).expect_err(field);
            assert!(err.contains("null"), "{field}: {err}");
        }
        // So are the file's tenant and cases fixtures.
        for field in ["tenant", "cases"] {
            let file = serde_json::json!({ "as": "olivia.owner@acme-mssp.test", field: null,
                "tests": [{ "name": "t", "expect": { "output": {} } }] });
            std::fs::write(&path, file.to_string()).expect("write");
            let err = load(&path).expect_err(field);
            assert!(err.contains("null"), "{field}: {err}");
        }
        // So are a case's person, mocks and unmocked answer, and a mock's error.
        for (field, case) in [
            (
                "as",
                serde_json::json!({ "name": "t", "as": null, "expect": { "output": {} } }),
            ),
            (
                "mocks",
                serde_json::json!({ "name": "t", "mocks": null, "expect": { "output": {} } }),
            ),
            (
                "unmocked",
                serde_json::json!({ "name": "t", "unmocked": null, "expect": { "output": {} } }),
            ),
            (
                "error",
                serde_json::json!({ "name": "t", "expect": { "output": {} },
                "mocks": [{ "call": "events.emit", "error": null }] }),
            ),
        ] {
            let file = serde_json::json!({ "as": "olivia.owner@acme-mssp.test", "tests": [case] });
            std::fs::write(&path, file.to_string()).expect("write");
            let err = load(&path).expect_err(field);
            // Located in the file (serde says `expected value` of an enum's `null`).
            assert!(err.contains("step.test.json:1:"), "{field}: {err}");
        }
        let file = serde_json::json!({ "as": "olivia.owner@acme-mssp.test", "tests": [
            { "name": "t", "expect": { "output": {}, "events": [] } } ] });
        std::fs::write(&path, file.to_string()).expect("write");
        assert!(load(&path).is_ok());
    }
}
