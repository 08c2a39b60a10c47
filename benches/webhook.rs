//! Webhook → durable run accepted (issue 16): the HTTP server and the scheduler of `flowhost
//! serve --http` in this process on a real database file, and a load generator on loopback
//! (tokio, a plain HTTP/1.1 client over `TcpStream`, keep-alive connections) sending signed
//! requests. Reported: accepted runs per second and latency p50/p99, one request at a time
//! and with several connections at once, for a 1-step and the 3-step workflow of
//! `benches/workflow.rs`; then how long the scheduler took to execute every accepted run.
//!
//! Run: `cargo bench --bench webhook`

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flowhost::platform::Platform;
use flowhost::server::{self, AppState};
use flowhost::testing::Internals;
use flowhost::workflow::scheduler::{Scheduler, SchedulerOptions};
use flowhost::workflow::webhooks::sign;
use flowhost::workflow::{Resolver, parse};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[path = "shared/mod.rs"]
mod shared;

use shared::{ECHO, OWNER, pct, three_steps};

/// Requests per measurement.
const REQUESTS: usize = 3000;
/// Connections of the concurrent measurement.
const CONNECTIONS: usize = 16;

/// A webhook to drive: its path and secret.
struct Target {
    path: String,
    secret: String,
}

/// One keep-alive connection sending `count` signed requests; returns each one's latency in
/// ms. Panics on anything but `202 Accepted`: a refused request is not an accepted run.
async fn drive(
    addr: std::net::SocketAddr,
    target: Arc<Target>,
    first: usize,
    count: usize,
) -> Vec<f64> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut latencies = Vec::with_capacity(count);
    let mut line = String::new();
    for n in first..first + count {
        let body = format!(r#"{{"alert":"beacon","n":{n}}}"#);
        let ts = flowhost::clock::now_unix();
        let sig = sign(&target.secret, ts, body.as_bytes());
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nX-Flowhost-Timestamp: {ts}\r\nX-Flowhost-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
            target.path,
            body.len()
        );
        let started = Instant::now();
        write.write_all(request.as_bytes()).await.expect("write");
        line.clear();
        read.read_line(&mut line).await.expect("status line");
        assert!(line.starts_with("HTTP/1.1 202"), "refused: {line}");
        let mut length = 0usize;
        loop {
            line.clear();
            read.read_line(&mut line).await.expect("header");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("length");
            }
        }
        let mut body = vec![0u8; length];
        read.read_exact(&mut body).await.expect("body");
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
    }
    latencies
}

/// Drives `target` with `connections` connections, `REQUESTS` requests in all, and prints
/// accepted runs/s and p50/p99.
fn measure(
    addr: std::net::SocketAddr,
    target: &Arc<Target>,
    connections: usize,
    offset: usize,
    label: &str,
) {
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let per = REQUESTS / connections;
    let started = Instant::now();
    let mut latencies: Vec<f64> = client.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|c| tokio::spawn(drive(addr, target.clone(), offset + c * per, per)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("client task"));
        }
        all
    });
    let elapsed = started.elapsed();
    println!(
        "  {label}: {:.0} accepted runs/s, p50 {:.2} ms, p99 {:.2} ms ({} requests)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(&mut latencies, 50),
        pct(&mut latencies, 99),
        latencies.len()
    );
}

/// Waits until no run is left running; returns how long that took.
fn drained(platform: &Platform) -> Duration {
    let started = Instant::now();
    loop {
        let running: i64 = platform
            .db()
            .conn()
            .query_row(
                "SELECT count(*) FROM runs WHERE status = 'running'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        if running == 0 || started.elapsed() > Duration::from_secs(600) {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (platform, engine) = shared::example_engine(dir.path());
    let engine = Arc::new(engine);
    let owner = shared::owner();

    let trigger = json!({ "on": "webhook" });
    let one = json!({ "name": "one", "workspace": "mssp-soc", "run_as": OWNER, "trigger": trigger,
        "steps": [{ "id": "echo", "uses": ECHO, "with": { "alert": "$.event.body.alert" } }] });
    let three = json!({ "name": "three", "workspace": "mssp-soc", "run_as": OWNER, "trigger": trigger, "steps": three_steps() });
    let publish = |def: &Value| -> Arc<Target> {
        let text = def.to_string();
        let resolver = Resolver::default();
        let wf = parse("bench", &text, &resolver).expect("valid");
        let workflows = platform.workflows();
        workflows
            .publish(&owner, &wf, &text, "bench", &resolver)
            .expect("publish");
        let hook = workflows
            .webhook(&owner, &wf.workspace, &wf.name, false)
            .expect("webhook");
        Arc::new(Target {
            path: hook.path(),
            secret: hook.secret.expect("secret at creation"),
        })
    };
    let one = publish(&one);
    let three = publish(&three);

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    let concurrency = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let scheduler = Scheduler::new(
        engine.clone(),
        SchedulerOptions {
            poll: Duration::from_millis(500),
            once: false,
            concurrency,
            stop_on_signals: false,
        },
        |_| {},
    );
    let state = AppState::new(engine.clone()).with_wake(scheduler.waker());
    let stop = engine.stop_flag();
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let http = server_rt.spawn(server::serve(listener, state, stop.clone()));
    let scheduled = server_rt.spawn(scheduler.serve());

    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!("webhook -> durable run accepted, server and scheduler in one process, {cpus} CPUs:");
    // Warm up: compile the components, fill caches.
    measure(addr, &one, 1, 10_000_000, "warm-up (1-step)");
    measure(addr, &three, 1, 20_000_000, "warm-up (3-step)");
    drained(&platform);
    for (label, target, base) in [("1-step", &one, 0), ("3-step", &three, 1_000_000)] {
        println!("{label} workflow:");
        measure(addr, target, 1, base, "one at a time");
        println!(
            "    executed all in {:.2} s",
            drained(&platform).as_secs_f64()
        );
        measure(
            addr,
            target,
            CONNECTIONS,
            base + 100_000,
            &format!("{CONNECTIONS} connections"),
        );
        println!(
            "    executed all in {:.2} s",
            drained(&platform).as_secs_f64()
        );
    }
    println!("targets: >= 2,000 accepted runs/s with p99 < 10 ms (1 step), >= 1,000/s (3 steps)");
    stop.store(true, Ordering::SeqCst);
    let _ = server_rt.block_on(http);
    let _ = server_rt.block_on(scheduled);
}
