//! The 3-step workflow (two WASM steps and one built-in case step, full journaling) on
//! PostgreSQL with fsync on, served by 1, 2 and 4 hosts (separate processes, each with its own
//! connections, as `flowhost serve` hosts on different machines would be), beside the same
//! runs on an SQLite file in one process (issue 18).
//!
//! Run: `cargo bench --bench workflow_postgres`. It starts a throwaway cluster with
//! `scripts/postgres` (or uses `FLOWHOST_BENCH_PG`, a URL of an empty database) and stops it
//! afterwards. `FLOWHOST_BENCH_RUNS=N` runs N runs a phase (default 4,000),
//! `FLOWHOST_BENCH_IN_FLIGHT=N` N runs in flight per host (default 16). The PostgreSQL
//! phases run twice: runs' own writes on each host's one connection (`FLOWHOST_PG_WRITERS=0`),
//! then on its pool of writing connections (the default); with the pool, the hosts run
//! once all in one workspace and once each in a workspace of its own (an MSSP's hosts serve
//! many customers' workspaces; a workspace's cases are numbered one after the other).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use flowhost::platform::Platform;
use flowhost::platform::writers::{DEFAULT_WRITERS, WRITERS_VAR};
use flowhost::store::Db;
use flowhost::workflow::{Engine, Resolver, parse};
use serde_json::json;

#[path = "shared/mod.rs"]
mod shared;

use shared::{pct, three_steps};

fn setting(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // A host: `--host URL IN_FLIGHT RUNS WORKSPACE` (spawned by the main process below).
    if let Some(i) = args.iter().position(|a| a == "--host") {
        let url = &args[i + 1];
        let in_flight: usize = args[i + 2].parse().expect("in flight");
        let runs: usize = args[i + 3].parse().expect("runs");
        host(url, in_flight, runs, &args[i + 4]);
        return;
    }
    let runs = setting("FLOWHOST_BENCH_RUNS", 4_000);
    let in_flight = setting("FLOWHOST_BENCH_IN_FLIGHT", 16);
    let dir = tempfile::tempdir().expect("tempdir");

    // SQLite beside it: one process, the same runs in flight.
    let (platform, engine) = shared::example_engine(dir.path());
    let (one, _, _) = timed(&engine, 1, runs / 4, &[SHARED.to_owned()]);
    let (rate, p50, p99) = timed(&engine, in_flight, runs, &[SHARED.to_owned()]);
    println!("3-step workflow, {runs} runs a phase, full journaling:");
    println!(
        "  SQLite file, 1 process: {one:.0} runs/s one at a time; {rate:.0} runs/s with {in_flight} in flight (p50 {p50:.2} ms, p99 {p99:.2} ms)"
    );
    drop(engine);
    drop(platform);

    let cluster = Cluster::start(dir.path());
    // Side by side: a run's own writes on the host's one connection (0 writers), and on the
    // default pool of writing connections (`platform/writers.rs`).
    for writers in [0, DEFAULT_WRITERS] {
        println!("  with {WRITERS_VAR}={writers}:");
        postgres_phases(&cluster, dir.path(), writers, in_flight, runs);
    }
    statements_alone(&cluster, in_flight);
    println!(
        "targets (issue 18): >= 1,000 runs/s on PostgreSQL with fsync on; >= 5,000 with group commit; growing with hosts until PostgreSQL saturates"
    );
}

/// One host one at a time, then 1, 2 and 4 hosts with `in_flight` runs in flight each, every
/// host with `writers` writing connections for its runs.
fn postgres_phases(
    cluster: &Cluster,
    dir: &std::path::Path,
    writers: usize,
    in_flight: usize,
    runs: usize,
) {
    // Read by `Platform::new` below and inherited by the host processes.
    // SAFETY: no other thread of this bench is running (every phase's runs have ended).
    unsafe { std::env::set_var(WRITERS_VAR, writers.to_string()) };
    for hosts in [1, 2, 4] {
        let url = cluster.fresh_database(&format!("bench_{writers}_{hosts}"));
        {
            let platform =
                Arc::new(Platform::new(Db::open_postgres(&url).expect("db")).expect("platform"));
            apply_tenant(&platform, hosts);
        }
        if hosts == 1 {
            let platform =
                Arc::new(Platform::new(Db::open_postgres(&url).expect("db")).expect("platform"));
            let (_, engine) = shared::engine_over(platform, dir);
            let (one, _, _) = timed(&engine, 1, runs / 4, &[SHARED.to_owned()]);
            println!("    PostgreSQL (fsync on), 1 host: {one:.0} runs/s one at a time");
        }
        let spreads: &[Spread] = match (writers, hosts) {
            (0, _) => &[Spread::One],
            (_, 1) => &[Spread::One, Spread::Many],
            _ => &[Spread::One, Spread::Apart, Spread::Many],
        };
        for &spread in spreads {
            let (rate, p50, p99) = hosts_run(&url, hosts, in_flight, runs / hosts, spread);
            let where_ = match spread {
                Spread::One => "one workspace".to_owned(),
                Spread::Apart => "a workspace each".to_owned(),
                Spread::Many => format!("runs spread over {MANY} workspaces"),
            };
            println!(
                "    PostgreSQL (fsync on), {hosts} host(s) x {in_flight} in flight, {where_}: {rate:.0} runs/s (p50 {p50:.2} ms, p99 {p99:.2} ms)"
            );
        }
    }
}

/// The statements of one run (`benches/pgbench/`, as the server logs them) sent by `pgbench`
/// with `in_flight` clients and no host work at all, one by one and then pipelined: what this
/// machine's PostgreSQL allows the runs above, side by side with them. Skipped, saying so,
/// where `pgbench` is not installed.
fn statements_alone(cluster: &Cluster, in_flight: usize) {
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pgbench");
    let url = cluster.fresh_database("bench_pgbench");
    let schema = std::fs::read_to_string(scripts.join("schema.sql")).expect("schema.sql");
    postgres::Client::connect(&url, postgres::NoTls)
        .expect("connect")
        .batch_execute(&schema)
        .expect("the pgbench schema");
    println!("  a run's statements alone (pgbench, {in_flight} clients, no host work):");
    for (how, script) in [
        ("one by one", "one_by_one.sql"),
        ("pipelined", "pipelined.sql"),
    ] {
        let out = Command::new("pgbench")
            .args(["-n", "-M", "prepared", "-j", "2", "-T", "10", "-D", "ws=1"])
            .args(["-c", &in_flight.to_string(), "-f"])
            .arg(scripts.join(script))
            .arg(&url)
            .output();
        let out = match out {
            Ok(out) if out.status.success() => out,
            Ok(out) => panic!("pgbench: {}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => {
                println!("    skipped: pgbench did not start ({e})");
                return;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let tps: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"));
        println!("    {how}: {tps:.0} runs' statements a second");
    }
}

/// The workspace every host runs in, unless each has its own.
const SHARED: &str = "mssp-soc";

/// How many customers' workspaces the runs of a spread phase go to, one after the other:
/// an MSSP's runs are many tenants' (a workspace's cases are numbered one after the other,
/// so the runs of one workspace take turns at its case step's commit).
const MANY: usize = 16;

/// Where a phase's runs go.
#[derive(Clone, Copy)]
enum Spread {
    /// All in one workspace.
    One,
    /// Each host's in a workspace of its own.
    Apart,
    /// Each run to the next of [`MANY`] workspaces.
    Many,
}

/// The workspace of host `i` when each has its own: copies of mssp-soc.
fn own_workspace(i: usize) -> String {
    format!("customer-{i}")
}

/// The example tenant, with a copy of mssp-soc for each of `hosts` hosts.
fn apply_tenant(platform: &Platform, hosts: usize) {
    let tenant =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tenants/acme-mssp.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tenant).expect("tenant")).expect("JSON");
    let workspaces = doc["workspaces"].as_array_mut().expect("workspaces");
    let soc = workspaces
        .iter()
        .find(|w| w["name"] == SHARED)
        .expect("mssp-soc")
        .clone();
    for i in 0..hosts.max(MANY) {
        let mut copy = soc.clone();
        copy["name"] = json!(own_workspace(i));
        workspaces.push(copy);
    }
    let file = flowhost::tenant::TenantFile::parse("tenant", &doc.to_string()).expect("tenant");
    flowhost::tenant::apply(platform, &file, None).expect("apply");
}

/// `runs` runs with `workers` in flight, each in the next of `workspaces`; runs/s, p50 and
/// p99 in ms.
fn timed(engine: &Engine, workers: usize, runs: usize, workspaces: &[String]) -> (f64, f64, f64) {
    let flows: Vec<_> = workspaces
        .iter()
        .map(|workspace| {
            let three = json!({ "name": "three", "workspace": workspace, "steps": three_steps() });
            let text = three.to_string();
            (
                parse("bench", &text, &Resolver::default()).expect("valid"),
                text,
            )
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let owner = shared::owner();
    let run = || {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (wf, text) = &flows[n % flows.len()];
        let outcome = engine
            .run_manual(
                wf,
                text,
                "bench",
                owner.clone(),
                json!({}),
                &flowhost::workflow::Quiet,
            )
            .expect("run");
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
    };
    for _ in 0..20 {
        run();
    }
    let started = Instant::now();
    let mut latencies = shared::in_flight(workers, runs, &run);
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    (rate, pct(&mut latencies, 50), pct(&mut latencies, 99))
}

/// A host process: warms up, says `ready`, waits for `go`, runs in `workspaces` (names
/// separated by commas), prints `done RATE P50 P99`.
fn host(url: &str, in_flight: usize, runs: usize, workspaces: &str) {
    let workspaces: Vec<String> = workspaces.split(',').map(str::to_owned).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = Arc::new(Platform::new(Db::open_postgres(url).expect("db")).expect("platform"));
    let (_, engine) = shared::engine_over(platform, dir.path());
    timed(&engine, 1, 20, &workspaces);
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("go");
    let started = Instant::now();
    let (_, p50, p99) = timed(&engine, in_flight, runs, &workspaces);
    println!("done {} {p50} {p99}", started.elapsed().as_secs_f64());
}

/// `hosts` host processes on `url`, each running `runs` runs with `in_flight` in flight where
/// `spread` says, all started together; the total runs/s and the worst host's p50 and p99.
fn hosts_run(
    url: &str,
    hosts: usize,
    in_flight: usize,
    runs: usize,
    spread: Spread,
) -> (f64, f64, f64) {
    let exe = std::env::current_exe().expect("this bench");
    let mut children: Vec<_> = (0..hosts)
        .map(|i| {
            let workspace = match spread {
                Spread::One => SHARED.to_owned(),
                Spread::Apart => own_workspace(i),
                // Each host from another of them, so that hosts start apart.
                Spread::Many => (0..MANY)
                    .map(|k| own_workspace((k + i * MANY / hosts) % MANY))
                    .collect::<Vec<_>>()
                    .join(","),
            };
            Command::new(&exe)
                .args([
                    "--host",
                    url,
                    &in_flight.to_string(),
                    &runs.to_string(),
                    &workspace,
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("a host process")
        })
        .collect();
    let mut outputs: Vec<_> = children
        .iter_mut()
        .map(|c| BufReader::new(c.stdout.take().expect("stdout")))
        .collect();
    for out in &mut outputs {
        let mut line = String::new();
        out.read_line(&mut line).expect("ready");
        assert_eq!(line.trim(), "ready", "a host did not start");
    }
    let started = Instant::now();
    for child in &mut children {
        writeln!(child.stdin.as_mut().expect("stdin"), "go").expect("go");
    }
    let (mut p50, mut p99) = (0.0_f64, 0.0_f64);
    for out in &mut outputs {
        let mut line = String::new();
        out.read_line(&mut line).expect("done");
        let fields: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().expect("a figure"))
            .collect();
        p50 = p50.max(fields[1]);
        p99 = p99.max(fields[2]);
    }
    let elapsed = started.elapsed().as_secs_f64();
    for mut child in children {
        assert!(child.wait().expect("host exits").success());
    }
    ((runs * hosts) as f64 / elapsed, p50, p99)
}

/// A throwaway cluster (`scripts/postgres`), or the server of `FLOWHOST_BENCH_PG`.
struct Cluster {
    url: String,
    dir: Option<std::path::PathBuf>,
}

impl Cluster {
    fn start(tmp: &std::path::Path) -> Self {
        if let Ok(url) = std::env::var("FLOWHOST_BENCH_PG") {
            return Self { url, dir: None };
        }
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres");
        // Short: a Unix socket's path is limited to ~100 bytes.
        let dir = std::env::temp_dir().join(format!("flowhost-bench-pg-{}", std::process::id()));
        let _ = tmp;
        let out = Command::new(&script)
            .arg("start")
            .arg(&dir)
            .output()
            .expect("scripts/postgres");
        assert!(
            out.status.success(),
            "scripts/postgres start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Self {
            url,
            dir: Some(dir),
        }
    }

    /// A new empty database named `name`; its URL.
    fn fresh_database(&self, name: &str) -> String {
        let mut admin = postgres::Client::connect(&self.url, postgres::NoTls).expect("connect");
        // Two statements: neither may run in the transaction a multi-statement batch makes.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drop database");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        match self.url.rfind('/') {
            Some(i) => {
                let (head, tail) = self.url.split_at(i + 1);
                let query = tail.find('?').map_or("", |q| &tail[q..]);
                format!("{head}{name}{query}")
            }
            None => panic!("not a database URL: {}", self.url),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres");
            let _ = Command::new(script).arg("stop").arg(dir).status();
        }
    }
}
