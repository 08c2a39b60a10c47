//! Issue 18, SPEC WF-8 across hosts: three `flowhost serve` processes on one PostgreSQL
//! database while events keep arriving, one of them killed with SIGKILL at random moments
//! again and again (and started again, as a new host). In the end every event started exactly
//! one run, every run finished once, no case effect happened twice, and no run is left on a
//! dead host.

use crate::common;
use crate::hosts::{OWNER, create_case, deployment, one, publish};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{NOTIFY, flowhost_bin};
use flowhost::runs::lease::TTL_VAR;
use serde_json::json;

/// Events sent while the hosts are being killed.
const EVENTS: usize = 60;
/// Kills (each followed by a restart of the killed host).
const KILLS: usize = 16;
/// The hosts' heartbeat TTL: a killed host's runs wait this long before another takes them.
const TTL_MS: u64 = 800;

use crate::common::Rng;

/// A `serve` host, killed when dropped (also when an assertion fails first).
struct Host(Child);

impl Host {
    fn start(url: &str, dir: &std::path::Path) -> Host {
        // Each host's report (a line per run it ends or stops) is kept, to count takeovers.
        let log = tempfile::NamedTempFile::new_in(dir)
            .and_then(|f| f.keep().map_err(|e| e.error))
            .expect("a log file");
        Host(
            Command::new(flowhost_bin())
                // Its compiled components are cached under here, shared by the hosts.
                .current_dir(dir)
                .arg("--db")
                .arg(url)
                .args(["serve", "--poll-ms", "200", "--concurrency", "4"])
                .env(TTL_VAR, TTL_MS.to_string())
                .stdout(Stdio::null())
                .stderr(log.0)
                .spawn()
                .expect("flowhost serve starts"),
        )
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn three_hosts_one_killed_at_random_points_again_and_again_run_each_event_exactly_once() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let (db, p) = deployment();
    // `tag` is pure (only its event), so a kill before the run's next write runs it again;
    // `open` creates a case by its idempotency key; `lock` restricts it; the short wait
    // widens the window in which a run is in flight.
    publish(
        &p,
        &json!({ "name": "burst", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_created",
                "if": [{ "left": "$.event.case.title", "op": "ne", "right": "made" }] },
            "steps": [
                { "id": "tag", "uses": NOTIFY, "grants": ["events:emit"],
                  "with": { "to": ["sam.lead@acme-mssp.test"], "subject": "{{ $.event.case.title }}" } },
                { "id": "open", "uses": "cases/create-case", "with": { "title": "made", "severity": "high" } },
                { "id": "pause", "wait": "250ms" },
                { "id": "lock", "uses": "cases/update-case-restrictions",
                  "with": { "case_id": "$.steps.open.id", "access_mode": "restricted",
                            "add_collaborators": ["sam.lead@acme-mssp.test"] } },
                { "exit": { "status": "locked", "output": { "case": "$.steps.open.id" } } }
            ] }),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hosts: Vec<Host> = (0..3).map(|_| Host::start(&db.url, dir.path())).collect();
    let started = Instant::now();

    // Events arrive from another host (this process) while the kills go on.
    let url = db.url.clone();
    let sender = std::thread::spawn(move || {
        let p = crate::hosts::platform(&url);
        for n in 0..EVENTS {
            create_case(&p, &format!("origin {n}"));
            std::thread::sleep(Duration::from_millis(60));
        }
    });
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        let victim = rng.below(3) as usize;
        hosts[victim].kill();
        // Down a while (its runs wait out its TTL meanwhile, or another host's wake-up),
        // then back as a new host.
        std::thread::sleep(Duration::from_millis(rng.below(300)));
        hosts[victim] = Host::start(&db.url, dir.path());
    }
    sender.join().expect("events sent");
    println!(
        "{EVENTS} events and {KILLS} kills in {} ms",
        started.elapsed().as_millis()
    );

    // The survivors finish everything.
    let unfinished = || {
        one::<i64>(
            &p,
            "SELECT (SELECT count(*) FROM runs WHERE status IN ('queued', 'running', 'on_hold'))
                  + (SELECT count(*) FROM events WHERE dispatched = 0)",
        )
    };
    let settle = Instant::now();
    while unfinished() > 0 {
        assert!(
            settle.elapsed() < Duration::from_secs(30),
            "{} runs or events still unfinished 30 s after the last kill (seed {seed})",
            unfinished()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "settled {} ms after the last event",
        settle.elapsed().as_millis()
    );
    drop(hosts);
    // What the kills did: runs a host resumed (taken over from a killed one), and steps
    // executed again after a kill.
    let mut resumed = 0;
    for entry in std::fs::read_dir(dir.path()).expect("logs") {
        let path = entry.expect("a log").path();
        if path.is_file() {
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            resumed += log.lines().filter(|l| l.starts_with("resumed run")).count();
        }
    }
    println!(
        "{} hosts served; {resumed} runs resumed after a kill; {} step executions for {} journaled steps",
        one::<i64>(&p, "SELECT count(*) FROM hosts"),
        one::<i64>(&p, "SELECT count(*) FROM step_executions"),
        one::<i64>(&p, "SELECT count(*) FROM run_steps WHERE step_key = 'tag'"),
    );
    assert!(
        resumed > 0,
        "no kill caught a run in flight: the test proved nothing (seed {seed})"
    );

    let n = EVENTS as i64;
    let count = |sql: &str| one::<i64>(&p, sql);
    assert_eq!(
        count("SELECT count(*) FROM events WHERE quarantined IS NOT NULL"),
        0,
        "no event set aside (seed {seed})"
    );
    // Every event started exactly one run...
    assert_eq!(
        count("SELECT count(*) FROM runs WHERE workflow = 'burst'"),
        n,
        "seed {seed}"
    );
    assert_eq!(
        count("SELECT count(DISTINCT trigger_event) FROM runs WHERE workflow = 'burst'"),
        n,
        "one run per event (seed {seed})"
    );
    // ...every run finished, once, and none is left on a host (dead or alive)...
    assert_eq!(
        count(
            "SELECT count(*) FROM runs WHERE workflow = 'burst' AND status = 'succeeded' AND exit_status = 'locked'"
        ),
        n,
        "every run finished (seed {seed})"
    );
    assert_eq!(
        count("SELECT count(*) FROM runs WHERE lease_owner IS NOT NULL"),
        0,
        "no run leased after it finished (seed {seed})"
    );
    for step in ["tag", "open", "pause", "lock"] {
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM run_steps WHERE step_key = '{step}'"
            )),
            n,
            "`{step}` journaled once per run (seed {seed})"
        );
    }
    // ...and no case effect happened twice: one case per run, restricted once, each event
    // once.
    assert_eq!(
        count("SELECT count(*) FROM cases WHERE title = 'made'"),
        n,
        "seed {seed}"
    );
    assert_eq!(
        count("SELECT count(DISTINCT idempotency_key) FROM cases WHERE title = 'made'"),
        n
    );
    assert_eq!(
        count("SELECT count(*) FROM cases WHERE title = 'made' AND restricted = 1"),
        n
    );
    for (kind, times) in [
        ("notification.requested", n),
        ("case_created", 2 * n),
        ("case_access_mode_updated", n),
        ("case_collaborators_list_updated", n),
    ] {
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM events WHERE kind = '{kind}'"
            )),
            times,
            "{kind} exactly once per run (seed {seed})"
        );
    }
    assert_eq!(
        count("SELECT count(DISTINCT output) FROM runs WHERE workflow = 'burst'"),
        n,
        "every run names its own case"
    );
}
