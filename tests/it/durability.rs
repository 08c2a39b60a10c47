//! SPEC WF-8: runs are durable. `flowhost` processes are killed with SIGKILL at random points
//! in many runs (and while resuming them); after a restart every run has finished exactly
//! once, with no case or event created twice.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{HOSTILE, NOTIFY, example_tenant_path, flowhost, flowhost_bin};
use flowhost::store::Db;
use flowhost::workflow::webhooks::sign;
use serde_json::json;

const OWNER: &str = "olivia.owner@acme-mssp.test";
const RUNS: usize = 20;

use crate::common::Rng;

fn spawn(dir: &std::path::Path, db: &std::path::Path, args: &[&str]) -> Child {
    Command::new(flowhost_bin())
        .current_dir(dir)
        .arg("--db")
        .arg(crate::common::db_arg(db))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flowhost starts")
}

/// Lets `child` run for `millis`, then kills it with SIGKILL (if it is still running).
fn kill_after(mut child: Child, millis: u64) {
    std::thread::sleep(Duration::from_millis(millis));
    let _ = child.kill();
    let _ = child.wait();
}

fn count(db: &Db, sql: &str) -> i64 {
    db.conn().query_row(sql, [], |r| r.get(0)).expect(sql)
}

#[test]
fn runs_killed_at_random_points_finish_exactly_once_after_restart() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            example_tenant_path().to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
    assert!(out.status.success());
    // `tag` is a pure step (it writes nothing but its event), whose journal entry waits for
    // the run's next write: killed before that, it must run again and emit its event once.
    let workflow = json!({ "name": "durable", "workspace": "mssp-soc", "steps": [
        { "id": "tag", "uses": NOTIFY, "grants": ["events:emit"],
          "with": { "to": ["sam.lead@acme-mssp.test"], "subject": "incident {{ $.event.n }}" } },
        { "id": "open", "uses": "cases/create-case", "with": { "title": "incident {{ $.event.n }}", "severity": "high" } },
        { "id": "pause", "wait": "20ms" },
        { "id": "lock", "uses": "cases/update-case-restrictions",
          "with": { "case_id": "$.steps.open.id", "access_mode": "restricted", "add_collaborators": ["sam.lead@acme-mssp.test"] } },
        { "id": "pause2", "wait": "20ms" },
        { "exit": { "status": "locked", "output": { "case": "$.steps.open.id" } } }
    ] });
    std::fs::write(dir.path().join("durable.json"), workflow.to_string()).expect("write");

    // Many runs, each killed somewhere between before it starts and after it ends.
    for n in 0..RUNS {
        let event = json!({ "n": n }).to_string();
        let child = spawn(
            dir.path(),
            &db,
            &[
                "run",
                "durable.json",
                "--as",
                OWNER,
                "--event",
                &event,
                "--no-triggers",
            ],
        );
        // Spread the kills over the whole life of a run, from before it starts to after it ends.
        kill_after(child, 12 * n as u64 + rng.below(30));
    }
    {
        let db = Db::open(&db).expect("db");
        let unfinished = count(&db, "SELECT count(*) FROM runs WHERE status != 'succeeded'");
        println!("{unfinished} run(s) left unfinished by the kills");
    }
    // Restarts that are themselves killed while resuming.
    for _ in 0..3 {
        kill_after(spawn(dir.path(), &db, &["serve", "--once"]), rng.below(120));
    }
    // The restart that is allowed to finish.
    let out = flowhost(dir.path(), &db, &["serve", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let db = Db::open(&db).expect("db");
    let runs = count(&db, "SELECT count(*) FROM runs");
    println!("{runs} runs started before their process was killed");
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE status != 'succeeded'"),
        0,
        "every run finished (seed {seed})"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM runs WHERE exit_status = 'locked'"
        ),
        runs
    );
    // Exactly once: one case per run (killed runs that never started made none)...
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM cases WHERE idempotency_key IS NOT NULL"
        ),
        runs,
        "seed {seed}"
    );
    assert_eq!(
        count(&db, "SELECT count(DISTINCT idempotency_key) FROM cases"),
        count(&db, "SELECT count(*) FROM cases")
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM cases WHERE idempotency_key IS NULL"
        ),
        0,
        "no case without its run"
    );
    // ...each restricted once, and each event once.
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE restricted = 1"),
        runs
    );
    for kind in [
        "notification.requested",
        "case_created",
        "case_access_mode_updated",
        "case_collaborators_list_updated",
    ] {
        let n = count(
            &db,
            &format!("SELECT count(*) FROM events WHERE kind = '{kind}'"),
        );
        assert_eq!(n, runs, "{kind} exactly once per run (seed {seed})");
    }
    // Every run's output names its own case, and no two runs share one.
    assert_eq!(count(&db, "SELECT count(DISTINCT output) FROM runs"), runs);
}

/// Issue 19, deliverable 1 (SPEC WF-8): a pure step's journal entry rides in the next write's
/// transaction, so a run killed between two pure steps loses exactly the pure work after its
/// last write. `before` (pure) finishes, `open` creates the case (and commits `before`'s
/// entry with it), `after` (pure) finishes, and the process is killed while `slow` runs. Then
/// the journal holds `before` only, the case exists once, and only `before`'s event: `open`'s
/// and `after`'s entries were not committed yet. The resumed run replays `before` (not run
/// again: its event stays one), re-executes `open` (its idempotency key gives back the same
/// case, no second one) and `after` (its event now once), and nothing happens twice.
#[test]
fn a_run_killed_between_pure_steps_reexecutes_only_the_uncommitted_pure_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let tenant = example_tenant_path();
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
    assert!(out.status.success());
    let notify = |subject: &str| {
        json!({ "uses": NOTIFY, "grants": ["events:emit"],
                "with": { "to": ["sam.lead@acme-mssp.test"], "subject": subject } })
    };
    let mut before = notify("before");
    before["id"] = json!("before");
    let mut after = notify("after");
    after["id"] = json!("after");
    // `slow` sleeps until its deadline, long after the kill, and then fails the resumed run:
    // what matters is what ran twice, not how the run ends.
    let workflow = json!({ "name": "between", "workspace": "mssp-soc", "steps": [
        before,
        { "id": "open", "uses": "cases/create-case", "with": { "title": "between", "severity": "high" } },
        after,
        { "id": "slow", "uses": HOSTILE, "timeout": "2s", "with": { "attack": "sleep" } }
    ] });
    std::fs::write(dir.path().join("between.json"), workflow.to_string()).expect("write");
    let child = spawn(
        dir.path(),
        &db,
        &["run", "between.json", "--as", OWNER, "--no-triggers"],
    );
    let child = KillOnDrop(child);
    let look = || Db::open(&db).expect("db");
    let started = std::time::Instant::now();
    // The case is the run's first commit after its start; `after` then finishes within
    // milliseconds and `slow` sleeps for 2 s.
    // One statement reads one snapshot: whenever the case is there, `before`'s entry is too
    // (they commit together, or the effect would stand on an uncommitted output).
    let together = |db: &Db| -> (i64, i64) {
        db.conn()
            .query_row(
                "SELECT (SELECT count(*) FROM cases WHERE title = 'between'), \
                        (SELECT count(*) FROM run_steps WHERE step_key = 'before')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("snapshot")
    };
    loop {
        let (cases, before) = together(&look());
        if cases > 0 {
            assert_eq!(before, 1, "the case committed without `before`'s entry");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never created its case"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(400));
    drop(child);

    let killed = look();
    let journal = |db: &Db| {
        let mut stmt = db
            .conn()
            .prepare("SELECT step_key FROM run_steps ORDER BY seq")
            .expect("journal");
        stmt.query_map([], |r| r.get::<String>(0))
            .expect("journal")
            .collect::<Result<Vec<_>, _>>()
            .expect("journal")
    };
    let events = |db: &Db, subject: &str| {
        count(
            db,
            &format!(
                "SELECT count(*) FROM events WHERE kind = 'notification.requested' AND payload LIKE '%\"subject\":\"{subject}\"%'"
            ),
        )
    };
    assert_eq!(
        journal(&killed),
        ["before"],
        "the pure step before the write committed with the case; nothing after it"
    );
    assert_eq!(count(&killed, "SELECT count(*) FROM cases"), 1);
    assert_eq!(events(&killed, "before"), 1);
    assert_eq!(
        events(&killed, "after"),
        0,
        "the uncommitted pure step's event is lost with its entry"
    );
    assert_eq!(
        count(
            &killed,
            "SELECT count(*) FROM runs WHERE status = 'running'"
        ),
        1
    );
    drop(killed);

    let out = flowhost(dir.path(), &db, &["serve", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = look();
    assert_eq!(
        journal(&done),
        ["before", "open", "after", "slow"],
        "each step journaled once, in order"
    );
    assert_eq!(
        count(&done, "SELECT count(*) FROM runs WHERE status = 'failed'"),
        1,
        "the resumed run ended (at `slow`'s deadline)"
    );
    assert_eq!(
        count(&done, "SELECT count(*) FROM cases"),
        1,
        "no second case"
    );
    assert_eq!(
        count(
            &done,
            "SELECT count(*) FROM events WHERE kind = 'case_created'"
        ),
        1
    );
    assert_eq!(
        events(&done, "before"),
        1,
        "`before` replayed, not re-executed"
    );
    assert_eq!(events(&done, "after"), 1, "`after` re-executed once");
}

/// Issue 19: the same with several runs in flight in one process (each run's pure entries
/// riding in its case write, `carry.rs`): `serve --concurrency 8` over many triggered
/// runs, killed at spread-out points again and again. Every event starts one run, every run
/// ends, and each effect (the pure step's event, the case, its restriction and their events)
/// happens once. (Ported from the `s2-g` branch.)
#[test]
fn serve_with_runs_in_flight_killed_at_random_points_finishes_each_run_exactly_once() {
    const EVENTS: usize = 40;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let d = common::Deployment::new();
    let wf = json!({ "name": "burst", "workspace": "mssp-soc", "run_as": OWNER,
        "trigger": { "on": "case_created",
            "if": [{ "left": "$.event.case.title", "op": "ne", "right": "made" }] },
        "steps": [
            { "id": "tag", "uses": NOTIFY, "grants": ["events:emit"],
              "with": { "to": ["sam.lead@acme-mssp.test"], "subject": "{{ $.event.case.title }}" } },
            { "id": "open", "uses": "cases/create-case", "with": { "title": "made", "severity": "high" } },
            { "id": "lock", "uses": "cases/update-case-restrictions",
              "with": { "case_id": "$.steps.open.id", "access_mode": "restricted",
                        "add_collaborators": ["sam.lead@acme-mssp.test"] } },
            { "exit": { "status": "locked", "output": { "case": "$.steps.open.id" } } }
        ] });
    std::fs::write(d.dir.path().join("burst.json"), wf.to_string()).expect("write");
    d.ok(&["workflows", "publish", "burst.json", "--as", OWNER]);
    for n in 0..EVENTS {
        d.ok(&[
            "cases",
            "create",
            "--title",
            &format!("origin {n}"),
            "--severity",
            "low",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ]);
    }
    let serve = || {
        spawn(
            d.dir.path(),
            &d.db,
            &["serve", "--poll-ms", "2", "--concurrency", "8"],
        )
    };
    for round in 0..8_u64 {
        kill_after(serve(), 20 + 15 * round + rng.below(60));
    }
    let out = d.cli(&["serve", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let db = Db::open(&d.db).expect("db");
    let n = EVENTS as i64;
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE workflow = 'burst'"),
        n,
        "seed {seed}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT trigger_event) FROM runs WHERE workflow = 'burst'"
        ),
        n,
        "one run per event (seed {seed})"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM runs WHERE workflow = 'burst' AND exit_status = 'locked'"
        ),
        n,
        "every run ended (seed {seed})"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE title = 'made'"),
        n,
        "seed {seed}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT idempotency_key) FROM cases WHERE title = 'made'"
        ),
        n
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM cases WHERE title = 'made' AND restricted = 1"
        ),
        n
    );
    for (kind, times) in [
        ("notification.requested", n),
        ("case_created", 2 * n),
        ("case_access_mode_updated", n),
        ("case_collaborators_list_updated", n),
    ] {
        let made = count(
            &db,
            &format!("SELECT count(*) FROM events WHERE kind = '{kind}'"),
        );
        assert_eq!(made, times, "{kind} exactly once per run (seed {seed})");
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT output) FROM runs WHERE workflow = 'burst'"
        ),
        n
    );
}

/// Kills the child when dropped, also when an assertion fails first.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn commits_synced_one_by_one_on_request_and_a_bad_setting_is_refused_before_any_file_exists() {
    // FLOWHOST_SYNC=full: every commit synced before it returns (README, "Durability").
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let tenant = example_tenant_path();
    let apply = |sync: &str| {
        Command::new(flowhost_bin())
            .current_dir(dir.path())
            .env(flowhost::store::SYNC_VAR, sync)
            .arg("--db")
            .arg(crate::common::db_arg(&db))
            .args([
                "tenant",
                "apply",
                tenant.to_str().expect("utf-8"),
                "--bootstrap",
            ])
            .output()
            .expect("flowhost runs")
    };
    let refused = apply("sometimes");
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("FLOWHOST_SYNC") && said.contains("sometimes"),
        "{said}"
    );
    assert!(!db.exists(), "a refused setting created the database");
    let applied = apply("FULL");
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let members: i64 = Db::open(&db)
        .expect("db")
        .conn()
        .query_row("SELECT count(*) FROM memberships", [], |r| r.get(0))
        .expect("members");
    assert!(members > 0, "the tenant was applied");
}

/// A `serve --http` process on `d`'s database and its base URL (from the line it prints).
fn spawn_http(d: &common::Deployment) -> (KillOnDrop, String) {
    let mut child = Command::new(flowhost_bin())
        .current_dir(d.dir.path())
        .arg("--db")
        .arg(crate::common::db_arg(&d.db))
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--poll-ms",
            "2",
            "--concurrency",
            "16",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowhost serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(url) = line.strip_prefix("flowhost serve: http://") {
                let _ = tx.send(url.trim_end_matches('/').to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server prints its address");
    (KillOnDrop(child), format!("http://{addr}"))
}

/// SPEC WF-2, WF-8 with group commit: webhooks arrive on 8 connections at two `serve --http
/// --concurrency 16` processes on one file, killed with SIGKILL at random points, again and
/// again. Every request
/// answered 202 has its run, and a retry with its idempotency key (sent after the kill for
/// every request not yet answered) answers that same run: a 202 is only said after the run
/// committed, and no batch commits half of a request. After a last pass, every run ended
/// once, with its case and its event made once.
#[test]
fn webhooks_accepted_by_two_serves_killed_at_random_points_each_have_exactly_one_run() {
    const REQUESTS: u64 = 480;
    const SENDERS: u64 = 8;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let d = common::Deployment::new();
    let wf = json!({ "name": "hooked", "workspace": "mssp-soc", "run_as": OWNER,
        "trigger": { "on": "webhook" },
        "steps": [
            { "id": "tag", "uses": NOTIFY, "grants": ["events:emit"],
              "with": { "to": ["sam.lead@acme-mssp.test"], "subject": "hook {{ $.event.body.n }}" } },
            { "id": "open", "uses": "cases/create-case",
              "with": { "title": "hooked", "severity": "high" } },
            { "exit": { "status": "opened", "output": { "case": "$.steps.open.id" } } }
        ] });
    let (hook, secret) = d.publish_webhook(&wf, OWNER);
    let path = format!("/hooks/{hook}");

    // Request n → the run its 202 named (the first answer; every later one must agree).
    let answered = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<
        u64,
        String,
    >::new()));
    let mut round = 0_u64;
    let mut finished_last = false;
    loop {
        let pending: Vec<u64> = {
            let done = answered.lock().expect("lock");
            (0..REQUESTS).filter(|n| !done.contains_key(n)).collect()
        };
        // Past the kills, requests already answered are sent again too: each must be a repeat.
        let last = round >= 6 || pending.is_empty();
        if pending.is_empty() && finished_last {
            break;
        }
        assert!(
            round < 40,
            "requests left unanswered: {pending:?} (seed {seed})"
        );
        println!("round {round}: {} requests left", pending.len());
        // Two processes on the one file, each with its own batches of runs in flight.
        let (first, first_base) = spawn_http(&d);
        let (second, second_base) = spawn_http(&d);
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let base = if s % 2 == 0 {
                    &first_base
                } else {
                    &second_base
                };
                let (base, path, secret) = (base.clone(), path.clone(), secret.clone());
                let answered = answered.clone();
                std::thread::spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(20)))
                        .build()
                        .into();
                    for n in (s..REQUESTS).step_by(SENDERS as usize) {
                        let already = answered.lock().expect("lock").get(&n).cloned();
                        if already.is_some() && !last {
                            continue;
                        }
                        // The same delivery each round, signed anew (a resend in the same
                        // second, signed alike, is answered by its key as a repeat).
                        let body = json!({ "n": n }).to_string();
                        let ts = flowhost::clock::now_unix();
                        let Ok(mut response) = agent
                            .post(format!("{base}{path}"))
                            .header("X-Flowhost-Timestamp", ts.to_string())
                            .header("X-Flowhost-Signature", sign(&secret, ts, body.as_bytes()))
                            .header("Idempotency-Key", format!("req-{n}"))
                            .send(body.as_bytes())
                        else {
                            // The server was killed: this request's fate is asked again.
                            return;
                        };
                        let status = response.status().as_u16();
                        let text = response.body_mut().read_to_string().unwrap_or_default();
                        if status != 202 {
                            // Killed mid-answer, or unavailable for now: asked again later.
                            assert!(
                                [503].contains(&status),
                                "request {n}: {status} {text} (seed {seed})"
                            );
                            continue;
                        }
                        let got: serde_json::Value = serde_json::from_str(&text).expect("json");
                        let run = got["run_id"].as_str().expect("run id").to_owned();
                        let mut done = answered.lock().expect("lock");
                        match done.get(&n) {
                            Some(first) => assert_eq!(
                                first, &run,
                                "request {n} answered two runs (seed {seed})"
                            ),
                            None => {
                                done.insert(n, run);
                            }
                        }
                    }
                })
            })
            .collect();
        if last {
            for sender in senders {
                sender.join().expect("sender");
            }
            drop((first, second));
            finished_last = true;
        } else {
            std::thread::sleep(Duration::from_millis(40 + rng.below(200)));
            drop(first);
            std::thread::sleep(Duration::from_millis(rng.below(100)));
            drop(second);
            for sender in senders {
                sender.join().expect("sender");
            }
        }
        round += 1;
    }
    let out = d.cli(&["serve", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let db = Db::open(&d.db).expect("db");
    let n = REQUESTS as i64;
    let runs: Vec<String> = answered.lock().expect("lock").values().cloned().collect();
    let mut distinct = runs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        runs.len(),
        "a run per request (seed {seed})"
    );
    for run in &runs {
        assert_eq!(
            count(
                &db,
                &format!(
                    "SELECT count(*) FROM runs WHERE public_id = '{run}' AND exit_status = 'opened'"
                )
            ),
            1,
            "run {run} answered 202 exists and ended (seed {seed})"
        );
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE workflow = 'hooked'"),
        n,
        "no run without its request's 202 (seed {seed})"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM cases WHERE title = 'hooked'"),
        n,
        "a case per run (seed {seed})"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM events WHERE kind = 'notification.requested'"
        ),
        n,
        "an event per run (seed {seed})"
    );
}

/// SPEC WF-2 under group commit: one idempotency key sent at once on 16 connections, to two
/// `serve --http` processes on one file, each request signed anew (so none is a replay):
/// every answer is 202 naming one and the same run, and one run exists.
#[test]
fn one_idempotency_key_sent_at_once_to_two_serves_starts_one_run() {
    let d = common::Deployment::new();
    let wf = json!({ "name": "hooked", "workspace": "mssp-soc", "run_as": OWNER,
        "trigger": { "on": "webhook" },
        "steps": [{ "id": "open", "uses": "cases/create-case",
                    "with": { "title": "once", "severity": "high" } }] });
    let (hook, secret) = d.publish_webhook(&wf, OWNER);
    let path = format!("/hooks/{hook}");
    let (_first, first_base) = spawn_http(&d);
    let (_second, second_base) = spawn_http(&d);
    let start = std::sync::Arc::new(std::sync::Barrier::new(16));
    let answers: Vec<(u16, String)> = (0..16_u64)
        .map(|n| {
            let base = if n % 2 == 0 {
                &first_base
            } else {
                &second_base
            };
            let (base, path, secret, start) =
                (base.clone(), path.clone(), secret.clone(), start.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                // One delivery sent sixteen times, each signed anew: its timestamp a second
                // apart (another body under the key is a 409).
                let body = json!({ "order": 1 }).to_string();
                let ts = flowhost::clock::now_unix() - i64::try_from(n).expect("small");
                let sig = sign(&secret, ts, body.as_bytes());
                start.wait();
                let mut response = agent
                    .post(format!("{base}{path}"))
                    .header("X-Flowhost-Timestamp", ts.to_string())
                    .header("X-Flowhost-Signature", sig)
                    .header("Idempotency-Key", "order-1")
                    .send(body.as_bytes())
                    .expect("request");
                let status = response.status().as_u16();
                (
                    status,
                    response.body_mut().read_to_string().unwrap_or_default(),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("sender"))
        .collect();
    let mut runs: Vec<String> = answers
        .iter()
        .map(|(status, text)| {
            assert_eq!(*status, 202, "{text}");
            let v: serde_json::Value = serde_json::from_str(text).expect("json");
            v["run_id"].as_str().expect("run id").to_owned()
        })
        .collect();
    runs.sort();
    runs.dedup();
    assert_eq!(runs.len(), 1, "one run for one key: {answers:?}");
    let db = Db::open(&d.db).expect("db");
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE workflow = 'hooked'"),
        1
    );
}
