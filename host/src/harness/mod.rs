//! `flowhost test`: runs sample workflows against their expectation files, each on a fresh
//! temporary database, and reports expected versus actual for every assertion that fails.
//! The flow of one test reads top to bottom in [`run_test`]: set up, start, answer, check.

pub mod check;
pub mod spec;
mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::json_locate::joined;
use crate::platform::Platform;
use crate::principal::{Caller, Email, Principal};
use crate::runs::RunStore;
use crate::wasm::StepRuntime;
use crate::workflow::{Engine, Quiet, Resolver, parse};

use spec::{Mock, TestSpec, When, Who};

/// One sample: a workflow and its expectation file.
#[derive(Clone, Debug)]
pub struct Sample {
    pub name: String,
    pub workflow: PathBuf,
    pub expectations: PathBuf,
}

/// One assertion that did not hold.
#[derive(Clone, Debug, Serialize)]
pub struct Mismatch {
    /// Where in the expectation file, e.g. `expect.status`.
    pub at: String,
    pub expected: String,
    pub actual: String,
}

/// How one sample went.
#[derive(Clone, Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub passed: bool,
    pub mismatches: Vec<Mismatch>,
    pub duration_ms: u64,
}

/// Finds samples: every `*.test.json` under the directories given (not recursive), and the
/// expectation files or workflows named directly. A workflow without one is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(".test.json"))
                .collect();
            entries.sort();
            for p in entries {
                out.push(sample(&p)?);
            }
        } else {
            let text = path.to_string_lossy();
            let expectations = match text.strip_suffix(".test.json") {
                Some(_) => path.clone(),
                None => PathBuf::from(format!(
                    "{}.test.json",
                    text.strip_suffix(".json").unwrap_or(&text)
                )),
            };
            out.push(sample(&expectations)?);
        }
    }
    Ok(out)
}

fn sample(expectations: &Path) -> Result<Sample, String> {
    let text = expectations.to_string_lossy();
    let stem = text.strip_suffix(".test.json").unwrap_or(&text);
    let workflow = PathBuf::from(format!("{stem}.json"));
    if !expectations.is_file() {
        return Err(format!("{}: no expectation file", expectations.display()));
    }
    if !workflow.is_file() {
        return Err(format!(
            "{}: the workflow {} is missing",
            expectations.display(),
            workflow.display()
        ));
    }
    let name = Path::new(stem)
        .file_name()
        .map_or_else(|| stem.to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(Sample {
        name,
        workflow,
        expectations: expectations.to_owned(),
    })
}

/// Runs `samples` on `workers` threads, calling `progress` as each finishes; results come
/// back in the samples' order.
pub fn run_all(
    samples: &[Sample],
    runtime: Arc<StepRuntime>,
    step_dirs: &[PathBuf],
    workers: usize,
    progress: &(dyn Fn(&TestResult, usize, usize) + Sync),
) -> Vec<TestResult> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![None; samples.len()]);
    std::thread::scope(|s| {
        // No more workers than samples (`--jobs` is at most 64 besides).
        for _ in 0..workers.clamp(1, samples.len().max(1)) {
            let worker = std::thread::Builder::new()
                .name("flowhost-test".into())
                .stack_size(crate::workflow::engine::RUN_THREAD_STACK);
            let spawned = worker.spawn_scoped(s, || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(sample) = samples.get(i) else { break };
                    let result = run_test(sample, runtime.clone(), step_dirs);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    progress(&result, n, samples.len());
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                }
            });
            // A worker the OS refused: those started take its samples; with none, each
            // sample is reported as not run below.
            if spawned.is_err() {
                break;
            }
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .zip(samples)
        .map(|(r, s)| {
            r.unwrap_or_else(|| TestResult {
                name: s.name.clone(),
                passed: false,
                mismatches: vec![mismatch(
                    "(test)",
                    "a result",
                    "none: its test thread panicked or was not started",
                )],
                duration_ms: 0,
            })
        })
        .collect()
}

fn mismatch(at: &str, expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
    Mismatch {
        at: at.to_owned(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Runs one sample on a fresh database in its own temporary directory.
pub fn run_test(sample: &Sample, runtime: Arc<StepRuntime>, step_dirs: &[PathBuf]) -> TestResult {
    let started = Instant::now();
    // A directory of its own, made new (mode 0700, a random name): one named by the process
    // id was taken as it was found, and another user who made it first could change the
    // database or swap a component between its check and its run (polyglot review).
    let mismatches = match crate::scratch::Scratch::new("flowhost-test-") {
        Ok(dir) => match execute(sample, dir.path(), runtime, step_dirs) {
            Ok(m) => m,
            Err(e) => vec![mismatch("(setup)", "the test to run", e)],
        },
        Err(e) => vec![mismatch("(setup)", "a scratch directory", e.to_string())],
    };
    TestResult {
        name: sample.name.clone(),
        passed: mismatches.is_empty(),
        mismatches,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn principal(who: &Who) -> Result<Principal, String> {
    let email = Email::parse(&who.email)?;
    Ok(if who.sso {
        Principal::sso(email)
    } else {
        Principal::local(email)
    })
}

/// Why `who` can do nothing in `workspace` as they sign in (not a member, an SSO-only
/// workspace's member not break-glass, no SSO login), if so: such a person is refused
/// whatever a flow's or an interaction's settings say, so a sample expecting a refusal
/// passed for that reason (round 17 authority review; `step test` checks the same).
fn no_standing(platform: &Platform, workspace: &str, who: &Who) -> Option<String> {
    use crate::access::Standing;
    use crate::principal::SignIn;
    let email = match Email::parse(&who.email) {
        Ok(email) => email,
        Err(e) => return Some(e),
    };
    let via = if who.sso { SignIn::Sso } else { SignIn::Local };
    match platform.index().standing(workspace, &email, via) {
        Standing::Member { .. } | Standing::External(SignIn::Sso) => None,
        Standing::External(SignIn::Local) => Some(
            "an external SSO identity acts only as signed in through SSO (`\"sso\": true`)".into(),
        ),
        Standing::Nothing(reason) => Some(reason.to_string()),
    }
}

/// The mismatch of a refusal expected of one who can do nothing there anyway.
fn vacuous_refusal(at: &str, workspace: &str, why: &str) -> Mismatch {
    mismatch(
        at,
        format!(
            "someone who may act in `{workspace}` as signed in, so that the refusal expected is \
             the settings'"
        ),
        why.to_owned(),
    )
}

/// Set up, start, answer, check.
fn execute(
    sample: &Sample,
    dir: &Path,
    runtime: Arc<StepRuntime>,
    step_dirs: &[PathBuf],
) -> Result<Vec<Mismatch>, String> {
    // A sample's files are read as someone else's: regular files within the bound.
    let spec_text = crate::regular_file::read_document(&sample.expectations)?;
    // As every other door reads JSON: a key given twice, nesting past the bound, an integer
    // read inexactly are refused where they are (`{"approve": false, "approve": true}` passed
    // a test the API, the CLI and the web refuse; hostile-input review).
    // More values than a document holds too, as the CLI's `--event @FILE` (round 27
    // hostile-input review: its event entered the run's context uncounted).
    let named = sample.expectations.display().to_string();
    crate::json_limits::parse_document(&named, &spec_text)?;
    let spec: TestSpec = serde_json::from_str(&spec_text).map_err(|e| {
        format!(
            "{}:{}:{}: {}",
            sample.expectations.display(),
            e.line(),
            e.column(),
            crate::text::decoder_words(&e.to_string())
        )
    })?;
    // An expectation of nothing passes whatever the run does (polyglot review).
    if spec.expect.names_nothing() {
        return Err(format!(
            "{}: `expect` names nothing to check (give at least `status`)",
            sample.expectations.display()
        ));
    }
    // Nor does a count of a status or an event kind no run or step can have (`waiting: 0`).
    spec.expect
        .check_names()
        .map_err(|e| format!("{}: {e}", sample.expectations.display()))?;
    let base = sample.expectations.parent().unwrap_or(Path::new("."));
    let platform = Arc::new(
        Platform::new(crate::store::Db::open(&dir.join("flowhost.db")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?,
    );

    // Set up: tenant, SSO logins, published workflows.
    let tenant_path = base.join(&spec.tenant);
    let tenant_text =
        crate::regular_file::read_document(&tenant_path).map_err(|e| format!("tenant: {e}"))?;
    let tenant_origin = tenant_path.display().to_string();
    let tenant = crate::tenant::TenantFile::parse(&tenant_origin, &tenant_text)
        .map_err(|errors| joined(&errors))?;
    crate::tenant::apply(&platform, &tenant, None).map_err(|e| match e {
        crate::tenant::ApplyError::Spec(errors) => joined(&crate::json_locate::locate_all(
            &tenant_origin,
            &tenant_text,
            errors,
        )),
        crate::tenant::ApplyError::Host(e) => e.to_string(),
    })?;
    for login in &spec.sso_logins {
        platform
            .admin()
            .sso_login(&login.idp, &login.claims)
            .map_err(|e| format!("sso login: {e}"))?;
    }
    let load = |path: &Path| -> Result<(crate::workflow::Workflow, String), String> {
        let origin = path.display().to_string();
        let text = crate::regular_file::read_document(path)?;
        let resolver = Resolver::for_file(path, step_dirs.to_vec());
        let wf = parse(&origin, &text, &resolver).map_err(|errors| joined(&errors))?;
        Ok((wf, text))
    };
    let publisher = spec.publish_as.as_ref().map(principal).transpose()?;
    let publish = |path: &Path| -> Result<(), String> {
        let who = publisher
            .as_ref()
            .ok_or("`publish_as` names who publishes")?;
        let (wf, text) = load(path)?;
        let resolver = Resolver::for_file(path, step_dirs.to_vec());
        platform
            .workflows()
            .publish(who, &wf, &text, &path.display().to_string(), &resolver)
            .map(|_| ())
            .map_err(|e| format!("publishing {}: {e}", path.display()))
    };
    for file in &spec.publish {
        publish(&base.join(file))?;
    }

    let mocks: HashMap<String, Result<Value, String>> = spec
        .mocks
        .iter()
        .map(|(k, m)| {
            let r = match m {
                Mock::Output(v) => Ok(v.clone()),
                Mock::Error(e) => Err(e.clone()),
            };
            (k.clone(), r)
        })
        .collect();
    let engine = Engine::new(platform.clone(), runtime, step_dirs.to_vec())
        .with_mocks(mocks)
        .waiting_out_compiles();

    // Start the run under test; what the setup wrote stays before `since`.
    let (workflow, text) = load(&sample.workflow)?;
    let origin = sample.workflow.display().to_string();
    let marks = || -> Result<store::Marks, String> {
        let db = platform.db().map_err(|e| e.to_string())?;
        store::marks(db.conn()).map_err(|e| e.to_string())
    };
    let mut since = marks()?;
    let run = match &spec.when {
        When::Run { who, event } => {
            let event = event.clone().unwrap_or_else(|| serde_json::json!({}));
            engine
                .run_manual(&workflow, &text, &origin, principal(who)?, event, &Quiet)
                .map_err(|e| format!("when.run: {e}"))?
                .run_key
        }
        When::Start {
            who,
            workspace,
            values,
        } => {
            publish(&sample.workflow)?;
            since = marks()?;
            let ws = workspace
                .clone()
                .unwrap_or_else(|| workflow.workspace.clone());
            if spec.expect.status.as_deref() == Some("refused")
                && let Some(why) = no_standing(&platform, &ws, who)
            {
                return Ok(vec![vacuous_refusal("when.start.as", &ws, &why)]);
            }
            match engine.start_flow(&principal(who)?, &ws, &workflow.name, values, None, &Quiet) {
                Ok(o) => o.run_key,
                // A refused start is an outcome a negative sample may expect: the access
                // rules' refusal, not an answer the form refuses, a workflow that is no flow
                // or the host's failure (round 20 door review: any error passed `refused`).
                Err(e) if !matches!(e, crate::Error::Denied(_) | crate::Error::NotFound(_)) => {
                    return Err(format!("when.start: {e}"));
                }
                Err(e) => {
                    let mut found = check::refused_start(&spec.expect, &e.to_string());
                    // Scripted answers cannot be given to a run that never started: each
                    // is unmet, never skipped (review of this round's fix).
                    for i in 0..spec.interactions.len() {
                        found.push(mismatch(
                            &format!("interactions[{i}]"),
                            "a run waiting for an answer",
                            format!("none: the start was refused ({e})"),
                        ));
                    }
                    return Ok(found);
                }
            }
        }
        When::CaseCreated { who, case } => {
            publish(&sample.workflow)?;
            let caller = Caller {
                workspace: workflow.workspace.clone(),
                principal: principal(who)?,
                cause: None,
                step: None,
            };
            crate::builtin::Builtin::CreateCase
                .run(&platform, &caller, case, None)
                .map_err(|e| format!("when.case_created: {e}"))?;
            // The case that starts the run is the test's own, not the run's.
            since = marks()?;
            engine
                .dispatch_triggers(&Quiet)
                .map_err(|e| e.to_string())?;
            platform
                .all_runs(Some(&workflow.workspace))
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|r| r.workflow == workflow.name)
                .map(|r| r.key)
                .min()
                .ok_or("when.case_created: the case started no run of this workflow")?
        }
    };
    engine
        .dispatch_triggers(&Quiet)
        .map_err(|e| e.to_string())?;

    // Answer its interactions, in order.
    let mut mismatches = Vec::new();
    for (i, answer) in spec.interactions.iter().enumerate() {
        let at = format!("interactions[{i}]");
        let open = platform
            .open_interaction_steps_of(run)
            .map_err(|e| e.to_string())?;
        let steps = || {
            open.iter()
                .map(|(step, _)| format!("`{step}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Which of several open at once (branches of a `parallel`) is named, never taken by
        // the order they opened in, which threads decide (round 20 steps review: answers
        // swapped between branches from run to run).
        let id = match (&answer.step, open.as_slice()) {
            (_, []) => {
                mismatches.push(mismatch(
                    &at,
                    "an open interaction",
                    "the run waits on none",
                ));
                break;
            }
            (Some(step), _) => match open.iter().find(|(key, _)| key == step) {
                Some((_, id)) => id.clone(),
                None => {
                    mismatches.push(mismatch(
                        &format!("{at}.step"),
                        format!("an open interaction of step `{step}`"),
                        format!("open: {}", steps()),
                    ));
                    break;
                }
            },
            (None, [(_, id)]) => id.clone(),
            (None, _) => {
                mismatches.push(mismatch(
                    &format!("{at}.step"),
                    "the step whose interaction it answers",
                    format!("several are open at once: {}", steps()),
                ));
                break;
            }
        };
        if answer.expect == "denied"
            && let Some(why) = no_standing(&platform, &workflow.workspace, &answer.who)
        {
            mismatches.push(vacuous_refusal(
                &format!("{at}.as"),
                &workflow.workspace,
                &why,
            ));
            break;
        }
        let outcome = match engine.respond(&principal(&answer.who)?, &id, &answer.values) {
            Ok(a) => {
                engine
                    .resume(a.run.key, &Quiet)
                    .map_err(|e| e.to_string())?;
                engine
                    .dispatch_triggers(&Quiet)
                    .map_err(|e| e.to_string())?;
                "accepted".to_owned()
            }
            Err(crate::Error::Denied(why)) => format!("denied ({why})"),
            Err(crate::Error::NotFound(why)) => format!("not_found ({why})"),
            Err(crate::Error::Invalid(why)) => format!("invalid ({why})"),
            Err(crate::Error::Conflict(why)) => format!("conflict ({why})"),
            Err(e) => format!("error ({e})"),
        };
        // The outcome's kind, compared whole: a prefix let `""` or `"d"` pass anything.
        let kind = outcome.split(" (").next().unwrap_or_default();
        if kind != answer.expect {
            mismatches.push(mismatch(
                &format!("{at}.expect"),
                answer.expect.clone(),
                outcome,
            ));
        }
    }
    mismatches.extend(check::expectations(
        &platform,
        run,
        &workflow.workspace,
        &spec.expect,
        &since,
    )?);
    mismatches.extend(check::unused_mocks(
        &engine.mocks_answered(),
        spec.mocks.keys(),
    ));
    Ok(mismatches)
}
