//! A step that misbehaves on request, for the sandbox tests (SPEC ST-2). The input names the
//! attack: `{"attack": "loop" | "sleep" | "memory" | "recursion" | "panic" | "read_file" | "env" |
//! "socket" | "big_output" | "number_output" | "wide_output" | "host_calls" |
//! "emit_then_panic" | "emit_then_deep_output" | "read_then_emit" | "remember" | "none", ...}`, and the attacks on the caps of what a step
//! hands the host (SPEC ST-4): "random" | "random_loop" | "big_case" | "big_case_json" |
//! "many_collaborators" | "case_flood" | "long_query" | "deep_event" | "event_flood" | "wide_events" |
//! "log_flood" | "query_flood" | "pollable_flood". Those return what the host answered (an error as a failed step).
//!
//! The escape attempts (file, env, socket) return what they obtained on success, so a test
//! sees any leak; on failure they return the error the sandbox gave them.

use std::hint::black_box;

use flowhost_step::StepError;
use flowhost_step::bindings::{Guest, export};

struct Hostile;

impl Guest for Hostile {
    fn run(input_json: String) -> Result<String, StepError> {
        let input: serde_json::Value = serde_json::from_str(&input_json)
            .map_err(|e| StepError::InvalidInput(e.to_string()))?;
        let attack = input["attack"].as_str().unwrap_or("none");
        match attack {
            "loop" => spin(),
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(r#"{"slept":true}"#.to_owned())
            }
            "memory" => hoard(),
            "recursion" => Ok(deep(black_box(0)).to_string()),
            "panic" => panic!("hostile step panicked on purpose"),
            // About 250 KiB of progress on stderr, then the real failure (round 19
            // hostile-step review: a full stderr closed, and `eprintln!` panicked on it).
            "stderr_then_panic" => {
                for i in 0..5000 {
                    eprintln!("progress line {i:05} ..................................");
                }
                panic!("the real cause, after the progress lines")
            }
            // Its reason on stderr, then an exit with a status of its own (round 20
            // hostile-step review: the reason was dropped, and `2` shown as `1`).
            "exit_after_stderr" => {
                eprintln!("missing setting `feed_url`");
                std::process::exit(2)
            }
            // Its trouble on stderr, then out of time or memory (round 21 hostile-step
            // review: the failure said the limit alone).
            "stderr_then_loop" => {
                eprintln!("feed https://feeds.example answered 503; retrying");
                spin()
            }
            "stderr_then_memory" => {
                eprintln!("loading the whole feed into memory");
                hoard()
            }
            // Its trouble on stderr, then an output the host refuses (round 22 hostile-step
            // review: the refusal said the cap alone).
            "stderr_then_deep_output" => {
                eprintln!("returning the whole process tree");
                Ok(format!("{}1{}", "[".repeat(100), "]".repeat(100)))
            }
            // Emits, then lingers `ms` milliseconds: a demotion can land before it ends (round
            // 22 authority review).
            "emit_then_linger" => {
                flowhost_step::events::emit("notification.requested", &serde_json::json!({}))?;
                let ms = input["ms"].as_u64().unwrap_or(500);
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok("{}".to_owned())
            }
            "emit_then_panic" => {
                flowhost_step::log::warn("about to emit, then fail");
                flowhost_step::events::emit("should.not.publish", &serde_json::json!({}))?;
                panic!("failed after emitting")
            }
            "emit_then_deep_output" => {
                flowhost_step::events::emit("should.not.publish", &serde_json::json!({}))?;
                // Deeper than the host keeps (64), shallower than serde_json parses (128).
                let depth = input["depth"].as_u64().unwrap_or(100) as usize;
                Ok(format!("{}1{}", "[".repeat(depth), "]".repeat(depth)))
            }
            "read_file" => read_file(input["path"].as_str().unwrap_or("/etc/passwd")),
            "env" => read_env(&input["names"]),
            "socket" => connect(input["addr"].as_str().unwrap_or("127.0.0.1:9")),
            "big_output" => {
                let mib = input["mib"].as_u64().unwrap_or(100) as usize;
                let len = mib << 20;
                let mut out = String::with_capacity(len + 2);
                out.push('"');
                out.extend(std::iter::repeat_n('x', len));
                out.push('"');
                Ok(out)
            }
            // `[1e15,1e15,…]`: four bytes a number as sent, eighteen as stored (round 20
            // hostile-step review: the cap was checked on the text sent).
            // A step's `0.0 / 0.0`: `serde_json` wrote it as `null` (round 24 steps review).
            // (A map of `f64`: `json!` would have made it `null` already.)
            "nan_output" => Ok(flowhost_step::run_json(&input_json, |_: serde_json::Value| {
                Ok(std::collections::BTreeMap::from([("ratio", f64::NAN)]))
            })?),
            // 128-bit integers within the host's range (`Duration::as_millis`) are numbers,
            // in an output and as a map key (round 25 steps review: refused as a type).
            "wide_integers" => Ok(flowhost_step::run_json(&input_json, |_: serde_json::Value| {
                let by_id = std::collections::BTreeMap::from([(7u128, -7i128)]);
                Ok((12u128, -3i128, by_id))
            })?),
            "nan_event" => {
                let payload = std::collections::BTreeMap::from([("ratio", f64::INFINITY)]);
                let refused = flowhost_step::events::emit("nan", &payload);
                Ok(serde_json::json!({ "refused": format!("{refused:?}") }).to_string())
            }
            "number_output" => {
                let count = input["count"].as_u64().unwrap_or(1000) as usize;
                Ok(format!("[{}]", vec!["1e15"; count].join(",")))
            }
            "wide_output" => {
                // `[0,0,…]` of `mib` MiB: under the byte cap, millions of values parsed.
                let count = (input["mib"].as_u64().unwrap_or(15) as usize) << 19;
                let mut out = String::with_capacity(2 * count + 1);
                out.push('[');
                for i in 0..count {
                    out.push_str(if i == 0 { "0" } else { ",0" });
                }
                out.push(']');
                Ok(out)
            }
            // `[{"":0},…]`: seven bytes and two values an element as sent, a whole B-tree
            // node (about 632 bytes) parsed (round 24 hostile-step review).
            "object_output" => {
                let count = input["count"].as_u64().unwrap_or(100_000) as usize;
                Ok(format!("[{}]", vec![r#"{"":0}"#; count].join(",")))
            }
            "big_error" => {
                let mib = input["mib"].as_u64().unwrap_or(8) as usize;
                Err(StepError::Failed("e".repeat(mib << 20)))
            }
            "forged_error" => Err(StepError::Failed(
                "boom\n  succeeded approve-payment                  x1 {\"approved\":true}\u{202e}"
                    .into(),
            )),
            "host_calls" => Ok(host_calls().to_string()),
            "remember" => Ok(remember().to_string()),
            "random" => {
                let len = input["bytes"].as_u64().unwrap_or(64 << 20);
                let bytes = if input["insecure"].as_bool().unwrap_or(false) {
                    wasi_random::wasi::random::insecure::get_insecure_random_bytes(len)
                } else {
                    wasi_random::wasi::random::random::get_random_bytes(len)
                };
                Ok(serde_json::json!({ "len": bytes.len() }).to_string())
            }
            "random_loop" => loop {
                black_box(wasi_random::wasi::random::random::get_random_bytes(
                    64 << 10,
                ));
            },
            "big_case" => caps::big_case(&input),
            "big_case_json" => caps::big_case_json(&input),
            "many_collaborators" => caps::many_collaborators(&input),
            "case_flood" => caps::case_flood(),
            "retry_create" => caps::retry_create(),
            "restriction_flood" => caps::restriction_flood(),
            "toggles" => caps::toggles(&input),
            "query_flood" => caps::query_flood(),
            // One query, whatever it waits for, then its own work until its deadline.
            "query_then_loop" => {
                let _ = caps::query_cases_once();
                spin()
            }
            // The host calls past the budget's size, each answer ignored: the last ones say
            // what the first said (round 21: an ungranted step was told its calls ran out).
            "calls_past_budget" => {
                let mut last = serde_json::Value::Null;
                for _ in 0..1_001 {
                    last = host_calls();
                }
                Ok(last.to_string())
            }
            "pollable_flood" => {
                // Pollables kept, never dropped: each is an entry of the host's resource
                // table, host memory outside this step's memory limit.
                for n in 0..100_000_u32 {
                    let p = wasi_clock::wasi::clocks::monotonic_clock::subscribe_duration(0);
                    std::mem::forget(black_box(p));
                    if n == 99_999 {
                        return Ok(serde_json::json!({ "kept": 100_000 }).to_string());
                    }
                }
                Ok(String::new())
            }
            "long_query" => caps::long_query(&input),
            "deep_event" => caps::deep_event(&input),
            "event_flood" => caps::event_flood(&input),
            // Emits past the run's event budget whatever is answered, and tells what was:
            // a refused emit must not spend the budget (round 22 hostile-step review).
            "emit_refused_flood" => {
                let mut answers = std::collections::BTreeSet::new();
                for n in 0..input["count"].as_u64().unwrap_or(12_000) {
                    let payload = serde_json::json!({ "n": n });
                    let answer = match flowhost_step::events::emit("flood", &payload) {
                        Ok(()) => "ok".to_owned(),
                        // The variant's name: `Denied`, `Invalid`, ...
                        Err(e) => format!("{e:?}").split('(').next().unwrap_or("").to_owned(),
                    };
                    answers.insert(answer);
                }
                Ok(serde_json::json!({ "answers": answers }).to_string())
            }
            "wide_events" => caps::wide_events(&input),
            "log_flood" => caps::log_flood(&input),
            // Queries the cases it may see, then tells their titles in an event.
            "read_then_emit" => {
                let page = flowhost_step::cases::query_cases(&flowhost_step::cases::CaseQuery {
                    filter: flowhost_step::cases::CaseFilter {
                        access_mode: None,
                        state: None,
                        severity: None,
                        assignee: None,
                        text: None,
                    },
                    sort: flowhost_step::cases::CaseSort::CreatedDesc,
                    page_size: 10,
                    cursor: None,
                })?;
                let titles: Vec<String> = page.cases.iter().map(|c| c.title.clone()).collect();
                flowhost_step::events::emit(
                    "hostile.found",
                    &serde_json::json!({ "titles": titles }),
                )?;
                Ok(serde_json::json!({ "found": titles.len() }).to_string())
            }
            "none" => Ok(r#"{"ok":true}"#.to_owned()),
            other => Err(StepError::InvalidInput(format!("unknown attack `{other}`"))),
        }
    }
}

/// Looks for anything an earlier execution left in memory, then leaves traces for the next
/// one: a static counter, and a heap block filled with a marker. A fresh allocation of the
/// same size lands where the last one did, and the allocator trusts fresh memory to be zero.
fn remember() -> serde_json::Value {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let calls_before = CALLS.fetch_add(1, Ordering::SeqCst);
    let mut block = vec![0_u8; 256 << 10];
    let dirty_bytes = block.iter().filter(|b| **b != 0).count();
    block.fill(0xA5);
    black_box(&block);
    serde_json::json!({ "calls_before": calls_before, "dirty_bytes": dirty_bytes })
}

fn spin() -> Result<String, StepError> {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn hoard() -> Result<String, StepError> {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        chunk[0] = black_box(1);
        kept.push(chunk);
        black_box(&kept);
    }
}

/// Recursion that exhausts the wasm call stack (not the guest's shadow stack in linear
/// memory, which would show up as an out-of-bounds access instead).
#[inline(never)]
#[allow(unconditional_recursion)] // The point of this fixture.
fn deep(n: u64) -> u64 {
    1 + deep(black_box(n + 1))
}

fn read_file(path: &str) -> Result<String, StepError> {
    match std::fs::read_to_string(path) {
        Ok(content) => Ok(serde_json::json!({ "leaked": content }).to_string()),
        Err(e) => Err(StepError::Failed(format!(
            "denied: cannot read {path}: {e}"
        ))),
    }
}

fn read_env(names: &serde_json::Value) -> Result<String, StepError> {
    let all: Vec<(String, String)> = std::env::vars().collect();
    let wanted: Vec<(String, String)> = names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.to_owned(), v)))
        .collect();
    if all.is_empty() && wanted.is_empty() {
        Err(StepError::Failed(
            "denied: no environment variable is visible".into(),
        ))
    } else {
        Ok(serde_json::json!({ "leaked": all, "wanted": wanted }).to_string())
    }
}

fn connect(addr: &str) -> Result<String, StepError> {
    match std::net::TcpStream::connect(addr) {
        Ok(_) => Ok(serde_json::json!({ "leaked": format!("connected to {addr}") }).to_string()),
        Err(e) => Err(StepError::Failed(format!(
            "denied: cannot connect to {addr}: {e}"
        ))),
    }
}

/// Asks the host for things the principal may not have; returns every answer.
fn host_calls() -> serde_json::Value {
    use flowhost_step::{access, cases};
    let scope = access::has_scope("case.read");
    let flow = access::check_flow_access("triage", "someone@example.test");
    let query = cases::query_cases(&cases::CaseQuery {
        filter: cases::CaseFilter {
            access_mode: None,
            state: None,
            severity: None,
            assignee: None,
            text: None,
        },
        sort: cases::CaseSort::CreatedDesc,
        page_size: 10,
        cursor: None,
    });
    let restrictions = cases::get_case_restrictions("C-1");
    serde_json::json!({
        "has_scope": { "allowed": scope.allowed, "reason": scope.reason },
        "flow": format!("{flow:?}"),
        "query": format!("{:?}", query.map(|p| p.cases.len())),
        "restrictions": format!("{:?}", restrictions.map(|r| r.collaborators)),
    })
}

export!(Hostile);

/// `wasi:random`'s byte functions, called directly (std asks for a few bytes at most).
mod wasi_random {
    wit_bindgen::generate!({
        inline: "
            package wasi:random@0.2.0;
            interface random {
                get-random-bytes: func(len: u64) -> list<u8>;
                get-random-u64: func() -> u64;
            }
            interface insecure {
                get-insecure-random-bytes: func(len: u64) -> list<u8>;
                get-insecure-random-u64: func() -> u64;
            }
            world hostile-random { import random; import insecure; }
        ",
        world: "hostile-random",
    });
}

/// `wasi:clocks/monotonic-clock`'s pollables, made directly.
mod wasi_clock {
    wit_bindgen::generate!({
        inline: "
            package hostile:clock;
            world hostile-clock { import wasi:clocks/monotonic-clock@0.2.0; }
            package wasi:io@0.2.0 {
                interface poll {
                    resource pollable {
                        ready: func() -> bool;
                        block: func();
                    }
                    poll: func(in: list<borrow<pollable>>) -> list<u32>;
                }
            }
            package wasi:clocks@0.2.0 {
                interface monotonic-clock {
                    use wasi:io/poll@0.2.0.{pollable};
                    type instant = u64;
                    type duration = u64;
                    now: func() -> instant;
                    resolution: func() -> duration;
                    subscribe-instant: func(when: instant) -> pollable;
                    subscribe-duration: func(when: duration) -> pollable;
                }
            }
        ",
        world: "hostile-clock",
        generate_all,
    });
}

/// Oversized values handed to the case, event and log interfaces.
mod caps {
    use flowhost_step::{StepError, cases, events, log};
    use serde_json::{Value, json};

    fn mib(input: &Value) -> usize {
        (input["mib"].as_f64().unwrap_or(24.0) * f64::from(1 << 20)) as usize
    }

    fn case(title: String) -> cases::NewCase {
        cases::NewCase {
            title,
            description: String::new(),
            severity: cases::Severity::Low,
            state: None,
            assignee: None,
            reviewers: Vec::new(),
            access_mode: None,
            collaborators: Vec::new(),
            fields_json: None,
        }
    }

    fn nested(depth: usize) -> String {
        format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    }

    /// `create-case` with one part oversized: `what` is title, description, fields,
    /// fields_deep, state, reviewers.
    pub fn big_case(input: &Value) -> Result<String, StepError> {
        let n = mib(input);
        let mut c = case("Oversized".into());
        match input["what"].as_str().unwrap_or("description") {
            "title" => c.title = "t".repeat(n),
            "fields" => c.fields_json = Some(format!("{{\"x\":\"{}\"}}", "y".repeat(n))),
            "fields_deep" => {
                c.fields_json = Some(nested(input["depth"].as_u64().unwrap_or(100) as usize))
            }
            "state" => c.state = Some("s".repeat(n)),
            "reviewers" => c.reviewers = vec!["x@acme-mssp.test".into(); n],
            _ => c.description = "d".repeat(n),
        }
        let created = cases::create_case(&c)?;
        Ok(json!({ "created": created.id }).to_string())
    }

    /// `create-case-from-json` with an oversized description, or deeply nested fields.
    pub fn big_case_json(input: &Value) -> Result<String, StepError> {
        let doc = match input["depth"].as_u64() {
            Some(depth) => format!(
                "{{\"title\":\"Deep\",\"severity\":\"low\",\"fields\":{}}}",
                nested(depth as usize)
            ),
            None => {
                json!({ "title": "Big", "severity": "low", "description": "d".repeat(mib(input)) })
                    .to_string()
            }
        };
        let created = cases::create_case_from_json(&doc)?;
        Ok(json!({ "created": created.id }).to_string())
    }

    /// `update-case-restrictions` with `count` collaborators to add.
    pub fn many_collaborators(input: &Value) -> Result<String, StepError> {
        let count = input["count"].as_u64().unwrap_or(3_000_000) as usize;
        let case_id = input["case_id"].as_str().unwrap_or("C-1");
        let update = cases::RestrictionUpdate {
            access_mode: None,
            set_collaborators: None,
            add_collaborators: vec!["tina.analyst@acme-mssp.test".into(); count],
            remove_collaborators: Vec::new(),
        };
        let r = cases::update_case_restrictions(case_id, &update)?;
        Ok(json!({ "collaborators": r.collaborators.len() }).to_string())
    }

    /// Creates cases until the host refuses one; returns how many and why it stopped.
    pub fn case_flood() -> Result<String, StepError> {
        for n in 0..1_000_000_u32 {
            if let Err(e) = cases::create_case(&case(format!("Flood {n}"))) {
                return Ok(json!({ "created": n, "error": format!("{e:?}") }).to_string());
            }
        }
        Ok(json!({ "created": 1_000_000 }).to_string())
    }

    /// Creates one case, retrying each failure every 100 ms, 20 times at most (as the WIT
    /// lets a step retry the host's failures); returns the attempts and the last error.
    pub fn retry_create() -> Result<String, StepError> {
        let mut last = String::new();
        for n in 1..=20_u32 {
            match cases::create_case(&case("Retried".into())) {
                Ok(made) => return Ok(json!({ "attempts": n, "case": made.id }).to_string()),
                Err(e) => last = format!("{e:?}"),
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Ok(json!({ "attempts": 20, "error": last }).to_string())
    }

    /// Creates one case, then toggles its access mode until the host refuses an update;
    /// returns how many updates landed and why it stopped.
    pub fn restriction_flood() -> Result<String, StepError> {
        let made = cases::create_case(&case("Toggled".into()))?;
        for n in 0..1_000_000_u32 {
            let mode = if n % 2 == 0 {
                cases::AccessMode::Restricted
            } else {
                cases::AccessMode::FullAccess
            };
            let update = cases::RestrictionUpdate {
                access_mode: Some(mode),
                set_collaborators: None,
                add_collaborators: Vec::new(),
                remove_collaborators: Vec::new(),
            };
            if let Err(e) = cases::update_case_restrictions(&made.id, &update) {
                return Ok(json!({ "updated": n, "error": format!("{e:?}") }).to_string());
            }
        }
        Ok(json!({ "updated": 1_000_000 }).to_string())
    }

    /// Creates a case of a `kib` KiB description, then sets its access mode until refused:
    /// back and forth, each update publishing events of the whole case, or (`noop`) to what
    /// it is, each changing nothing; then waits `then_ms` (so that a parallel loop's parts
    /// are in flight together).
    pub fn toggles(input: &Value) -> Result<String, StepError> {
        let mut c = case("Toggled".into());
        c.description = "d".repeat(input["kib"].as_u64().unwrap_or(0) as usize * 1024);
        // Refused once the run's budget is spent: said so, the run goes on.
        let made = match cases::create_case(&c) {
            Ok(made) => made,
            Err(e) => return Ok(json!({ "updated": 0, "error": format!("{e:?}") }).to_string()),
        };
        let noop = input["noop"].as_bool().unwrap_or(false);
        let mut updated = 0_u32;
        let mut error = None;
        for n in 0..1_000_000_u32 {
            let mode = if noop || n % 2 == 1 {
                cases::AccessMode::FullAccess
            } else {
                cases::AccessMode::Restricted
            };
            let update = cases::RestrictionUpdate {
                access_mode: Some(mode),
                set_collaborators: None,
                add_collaborators: Vec::new(),
                remove_collaborators: Vec::new(),
            };
            match cases::update_case_restrictions(&made.id, &update) {
                Ok(_) => updated += 1,
                Err(e) => {
                    error = Some(format!("{e:?}"));
                    break;
                }
            }
        }
        linger(input);
        Ok(json!({ "updated": updated, "error": error }).to_string())
    }

    /// `query-cases` matching nothing, until the host refuses one; returns how many it
    /// answered and why it stopped.
    pub fn query_flood() -> Result<String, StepError> {
        for n in 0..1_000_000_u32 {
            let query = cases::CaseQuery {
                filter: cases::CaseFilter {
                    access_mode: None,
                    state: None,
                    severity: None,
                    assignee: None,
                    text: Some("no case has this title".into()),
                },
                sort: cases::CaseSort::CreatedDesc,
                page_size: 1,
                cursor: None,
            };
            if let Err(e) = cases::query_cases(&query) {
                return Ok(json!({ "queried": n, "error": format!("{e:?}") }).to_string());
            }
        }
        Ok(json!({ "queried": 1_000_000 }).to_string())
    }

    /// One `query-cases` of one case; whether it was answered.
    pub fn query_cases_once() -> bool {
        cases::query_cases(&cases::CaseQuery {
            filter: cases::CaseFilter {
                access_mode: None,
                state: None,
                severity: None,
                assignee: None,
                text: None,
            },
            sort: cases::CaseSort::CreatedDesc,
            page_size: 1,
            cursor: None,
        })
        .is_ok()
    }

    /// `query-cases` with a text filter of `mib` MiB.
    pub fn long_query(input: &Value) -> Result<String, StepError> {
        let query = cases::CaseQuery {
            filter: cases::CaseFilter {
                access_mode: None,
                state: None,
                severity: None,
                assignee: None,
                text: Some("%_".repeat(mib(input) / 2)),
            },
            sort: cases::CaseSort::CreatedDesc,
            page_size: 10,
            cursor: None,
        };
        let page = cases::query_cases(&query)?;
        Ok(json!({ "cases": page.cases.len() }).to_string())
    }

    /// Emits one event whose payload nests `depth` levels.
    pub fn deep_event(input: &Value) -> Result<String, StepError> {
        let depth = input["depth"].as_u64().unwrap_or(100) as usize;
        let payload: Value =
            serde_json::from_str(&nested(depth)).map_err(|e| StepError::Failed(e.to_string()))?;
        events::emit("deep.event", &payload)?;
        Ok(json!({ "emitted": true }).to_string())
    }

    /// Emits events until the host refuses one.
    pub fn event_flood(input: &Value) -> Result<String, StepError> {
        for n in 0..100_000_u32 {
            if let Err(e) = events::emit("flood", &json!({ "n": n })) {
                linger(input);
                return Ok(json!({ "emitted": n, "error": format!("{e:?}") }).to_string());
            }
        }
        linger(input);
        Ok(json!({ "emitted": 100_000 }).to_string())
    }

    /// Emits events of 40,000 values each (`{"a":[0,0,…]}`, 80 KB: under the byte cap)
    /// until the host refuses one.
    pub fn wide_events(input: &Value) -> Result<String, StepError> {
        let zeros = vec![0u8; 40_000];
        for n in 0..100_u32 {
            if let Err(e) = events::emit("wide", &json!({ "a": zeros })) {
                linger(input);
                return Ok(json!({ "emitted": n, "error": format!("{e:?}") }).to_string());
            }
        }
        linger(input);
        Ok(json!({ "emitted": 100 }).to_string())
    }

    /// Logs `lines` lines of `bytes` bytes each, then waits `then_ms` (so that the parts of
    /// a parallel loop are in flight together).
    pub fn log_flood(input: &Value) -> Result<String, StepError> {
        let lines = input["lines"].as_u64().unwrap_or(5000);
        let line = "l".repeat(input["bytes"].as_u64().unwrap_or(100_000) as usize);
        for _ in 0..lines {
            log::info(&line);
        }
        linger(input);
        Ok(json!({ "logged": lines }).to_string())
    }

    /// Waits the input's `then_ms`, if any.
    fn linger(input: &Value) {
        if let Some(ms) = input["then_ms"].as_u64() {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }
}
