//! A step that misbehaves on request, for the sandbox tests (SPEC ST-2). The input names the
//! attack: `{"attack": "loop" | "sleep" | "memory" | "recursion" | "panic" | "read_file" | "env" |
//! "socket" | "big_output" | "host_calls" |
//! "emit_then_panic" | "remember" | "none", ...}`.
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
            "emit_then_panic" => {
                flowhost_step::log::warn("about to emit, then fail");
                flowhost_step::events::emit("should.not.publish", &serde_json::json!({}))?;
                panic!("failed after emitting")
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
            "host_calls" => Ok(host_calls().to_string()),
            "remember" => Ok(remember().to_string()),
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
