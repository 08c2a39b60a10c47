//! `flowhost step test`: a step's test cases as data (`step.test.json`), each run through the
//! real host against a throwaway database seeded from a tenant fixture and a cases fixture.
//!
//! ```json
//! { "tenant": "fixtures/tenant.json", "cases": "fixtures/cases.json",
//!   "workspace": "default", "as": "owner@example.test",
//!   "tests": [ { "name": "...", "input": {...}, "as": "...optional...",
//!                "expect": { "output": {...}, "error": "substring of the failure",
//!                            "events": [{"kind": "...", "payload": {...}}],
//!                            "logs": [{"level": "info", "message": "..."}] } } ] }
//! ```
//! `events`, when given, are the exact list the step emitted; `logs` must each appear, in
//! order (other lines may come between). A cases fixture is
//! `{"as": "email", "cases": [<create-case input>, ...]}`, created before the tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::harness::Mismatch;
use crate::json_locate::joined;
use crate::platform::Platform;
use crate::principal::{Caller, Email, Principal};
use crate::services::HostServices;
use crate::services::grants::Grants;
use crate::wasm::{LoadedStep, StepLimits, StepRuntime};

/// A `step.test.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// Tenant fixture applied to the throwaway database, relative to the test file.
    pub tenant: Option<String>,
    /// Cases fixture created after the tenant, relative to the test file.
    pub cases: Option<String>,
    #[serde(default = "default_workspace")]
    pub workspace: String,
    /// Who the step's host calls act as, unless a test says otherwise.
    #[serde(rename = "as")]
    pub email: String,
    pub tests: Vec<TestCase>,
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
    #[serde(rename = "as")]
    pub email: Option<String>,
    pub expect: Expect,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// What one test expects; every field given is checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub output: Option<Value>,
    /// A substring of the failure message; the step must fail.
    pub error: Option<String>,
    pub events: Option<Vec<ExpectEvent>>,
    pub logs: Option<Vec<ExpectLog>>,
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
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

/// Seeds a database in `scratch` from the fixtures and runs every test of `file` (read from
/// `path`) on `step`, with `grants`.
pub fn run(
    path: &Path,
    file: &TestFile,
    runtime: &StepRuntime,
    step: &LoadedStep,
    grants: Grants,
    scratch: &Path,
) -> Result<Vec<CaseResult>, String> {
    let base = path.parent().unwrap_or(Path::new("."));
    let platform = Arc::new(
        Platform::new(
            crate::store::Db::open(&scratch.join("flowhost.db")).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?,
    );
    if let Some(tenant) = &file.tenant {
        seed_tenant(&platform, &base.join(tenant))?;
    }
    if let Some(cases) = &file.cases {
        seed_cases(&platform, &base.join(cases), &file.workspace)?;
    }
    let services = HostServices::of(platform.clone()).granted(grants);
    let mut results = Vec::new();
    for (i, case) in file.tests.iter().enumerate() {
        let at = format!("tests[{i}]");
        let email = case.email.as_deref().unwrap_or(&file.email);
        let mismatches = match Email::parse(email) {
            Ok(email) => {
                let caller = Caller {
                    workspace: file.workspace.clone(),
                    principal: Principal::local(email),
                    cause: None,
                };
                let exec = runtime.execute(
                    step,
                    &case.input,
                    caller,
                    services.clone(),
                    StepLimits::default(),
                );
                check(&at, &case.expect, &exec)
            }
            Err(e) => vec![mismatch(&format!("{at}.as"), "an email", e)],
        };
        results.push(CaseResult {
            name: case.name.clone(),
            mismatches,
        });
    }
    Ok(results)
}

fn seed_tenant(platform: &Platform, path: &PathBuf) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read tenant {}: {e}", path.display()))?;
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

fn seed_cases(platform: &Platform, path: &PathBuf, workspace: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read cases {}: {e}", path.display()))?;
    let fixture: CasesFixture = serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
    let caller = Caller {
        workspace: workspace.to_owned(),
        principal: Principal::local(
            Email::parse(&fixture.email).map_err(|e| format!("{}: `as`: {e}", path.display()))?,
        ),
        cause: None,
    };
    for (i, case) in fixture.cases.iter().enumerate() {
        crate::builtin::run(platform, &caller, "cases/create-case", case, None)
            .map_err(|e| format!("{}: cases[{i}]: {e}", path.display()))?;
    }
    Ok(())
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
