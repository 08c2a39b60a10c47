//! SPEC WF-8: runs are durable. `flowhost` processes are killed with SIGKILL at random points
//! in many runs (and while resuming them); after a restart every run has finished exactly
//! once, with no case or event created twice.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{NOTIFY, example_tenant_path, flowhost, flowhost_bin};
use flowhost::store::Db;
use serde_json::json;

const OWNER: &str = "olivia.owner@acme-mssp.test";
const RUNS: usize = 20;

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn spawn(dir: &std::path::Path, db: &std::path::Path, args: &[&str]) -> Child {
    Command::new(flowhost_bin())
        .current_dir(dir)
        .arg("--db")
        .arg(db)
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
