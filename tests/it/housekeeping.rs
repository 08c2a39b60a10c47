//! Housekeeping (`flowhost::housekeeping`): expired sign-in links, sessions, OIDC logins and
//! webhook replay records are deleted by `flowhost db prune` and by `serve`, in batches of at
//! most 1,000 rows per kind, and whatever can still matter is kept: a link within its grace
//! day, a live session or login, a signature inside the replay window (a replay there is
//! still refused after a prune), an idempotency key inside its 7 days. Real SQLite files, the
//! real binary.

use std::ops::Deref;

use flowhost::clock::now_unix;
use flowhost::housekeeping::BATCH;
use flowhost::platform::Platform;
use flowhost::workflow::webhooks::{
    Accepted, Delivery, FRESHNESS_SECS, IDEMPOTENCY_RETENTION_SECS, Refusal, SIGNATURE_MEMORY_SECS,
    sign,
};
use serde_json::{Value, json};

use crate::common::{self, Deployment};

const OWNER: &str = "olivia.owner@acme-mssp.test";
const ANALYST: &str = "tina.analyst@acme-mssp.test";
const DAY: i64 = 24 * 60 * 60;

struct Site(Deployment);

impl Deref for Site {
    type Target = Deployment;
    fn deref(&self) -> &Deployment {
        &self.0
    }
}

impl Site {
    fn new() -> Site {
        Site(Deployment::new())
    }

    fn sql(&self, sql: &str) {
        crate::common::db_at(&self.db)
            .conn()
            .execute_batch(sql)
            .expect(sql);
    }

    fn count(&self, sql: &str) -> i64 {
        crate::common::db_at(&self.db)
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .expect(sql)
    }

    /// Row ids of `table`, in order.
    fn rowids(&self, table: &str) -> Vec<i64> {
        let db = crate::common::db_at(&self.db);
        let mut stmt = db
            .conn()
            .prepare(&format!("SELECT rowid FROM {table} ORDER BY rowid"))
            .expect("select");
        stmt.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rowids")
    }

    /// `flowhost db prune --json`: what it removed.
    fn prune(&self) -> Value {
        let out = self.ok(&["db", "prune", "--json"]);
        serde_json::from_str(&out).expect("JSON")
    }

    /// Issues a sign-in link for the analyst; the row id of its row.
    fn link(&self) -> i64 {
        self.ok(&[
            "web",
            "link",
            "--workspace",
            "mssp-soc",
            "--user",
            ANALYST,
            "--as",
            OWNER,
        ]);
        self.count("SELECT MAX(rowid) FROM signin_links")
    }

    /// Inserts `n` sessions expiring at `expires_at`, ids starting with `prefix`.
    fn sessions(&self, prefix: &str, n: usize, expires_at: i64) {
        self.sql(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
             INSERT INTO web_sessions (id_hash, workspace_id, email, via, csrf, created_at, expires_at)
             SELECT '{prefix}' || i, (SELECT id FROM workspaces WHERE name = 'mssp-soc'),
                    '{ANALYST}', 'local', 'csrf', 0, {expires_at} FROM n"
        ));
    }

    /// Inserts a pending OIDC login expiring at `expires_at`, used or not.
    fn oidc_login(&self, state: &str, expires_at: i64, used: bool) {
        let used_at = if used {
            (expires_at - 60).to_string()
        } else {
            "NULL".into()
        };
        self.sql(&format!(
            "INSERT INTO oidc_logins (state_hash, browser_hash, workspace_id, idp, nonce_hash,
                                      verifier, expires_at, used_at)
             VALUES ('{state}', 'b', (SELECT id FROM workspaces WHERE name = 'mssp-soc'),
                     'acme-okta', 'n', 'v', {expires_at}, {used_at})"
        ));
    }

    /// Publishes a workflow with a webhook trigger; its hook id and signing secret.
    fn webhook(&self) -> (String, String) {
        let definition = json!({
            "name": "on-hook", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "webhook" },
            "steps": [{ "id": "echo", "uses": common::ECHO, "with": { "got": "$.event" } }]
        });
        self.publish_webhook(&definition, OWNER)
    }

    fn platform(&self) -> Platform {
        Platform::new(crate::common::db_at(&self.db)).expect("platform")
    }
}

/// A request to `hook` received at `now`, signed at `ts`, with `key`.
fn deliver(
    platform: &Platform,
    (hook, secret): &(String, String),
    body: &[u8],
    ts: i64,
    now: i64,
    key: Option<&str>,
) -> Result<Accepted, Refusal> {
    let signature = sign(secret, ts, body);
    let ts = ts.to_string();
    platform.workflows().accept_webhook(&Delivery {
        hook,
        timestamp: Some(&ts),
        signature: Some(&signature),
        idempotency_key: key,
        body,
        now,
    })
}

#[test]
fn links_are_pruned_a_day_after_they_expired_or_were_used_and_kept_before() {
    let site = Site::new();
    let now = now_unix();
    let expired_long_ago = site.link();
    site.sql(&format!(
        "UPDATE signin_links SET expires_at = {} WHERE rowid = {expired_long_ago}",
        now - DAY - 60
    ));
    let used_long_ago = site.link();
    site.sql(&format!(
        "UPDATE signin_links SET used_at = {}, expires_at = {} WHERE rowid = {used_long_ago}",
        now - DAY - 120,
        now - DAY - 60
    ));
    // Expired an hour ago: kept for the grace day, so its holder is told it expired.
    let expired_lately = site.link();
    site.sql(&format!(
        "UPDATE signin_links SET expires_at = {} WHERE rowid = {expired_lately}",
        now - 3600
    ));
    // Used a minute ago, still within its 15 minutes: kept (told "already used").
    let used_lately = site.link();
    site.sql(&format!(
        "UPDATE signin_links SET used_at = {} WHERE rowid = {used_lately}",
        now - 60
    ));
    let live = site.link();

    let pruned = site.prune();
    assert_eq!(pruned["signin_links"], 2, "{pruned}");
    assert_eq!(
        site.rowids("signin_links"),
        [expired_lately, used_lately, live]
    );
    assert_eq!(site.prune()["signin_links"], 0);
}

#[test]
fn pruning_a_missing_or_empty_database_file_says_so_and_creates_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("typo.db");
    let out = common::flowhost(dir.path(), &missing, &["db", "prune"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    let text = common::text(&out);
    assert!(text.contains("no database file at"), "{text}");
    assert!(text.contains("typo.db"), "{text}");
    assert!(!missing.exists(), "an empty database was created");
    // An empty file (a `touch`, a truncated copy) is not made a database either.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").expect("touch");
    let out = common::flowhost(dir.path(), &empty, &["db", "prune"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("is empty"),
        "{}",
        common::text(&out)
    );
    assert_eq!(std::fs::metadata(&empty).map(|m| m.len()).ok(), Some(0));
}

/// Another application's SQLite file is no Flowhost database: refused before anything is
/// written, as PostgreSQL refuses a database without the schema (round 20 storage review:
/// `db prune` migrated it beside its own tables, or left it half-migrated on a clash).
#[test]
fn an_sqlite_file_of_another_application_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (file, table, version) in [
        ("notes.db", "notes", 0),
        ("clash.db", "users", 0),
        // Its own schema version, as Flowhost numbers its own.
        ("versioned.db", "notes", 37),
    ] {
        let other = dir.path().join(file);
        {
            let c = rusqlite::Connection::open(&other).expect("open");
            c.execute_batch(&format!(
                "CREATE TABLE {table} (id INTEGER PRIMARY KEY, body TEXT);
                 PRAGMA user_version = {version};"
            ))
            .expect("table");
        }
        let before = std::fs::read(&other).expect("bytes");
        for args in [
            &["db", "prune"][..],
            &["users", "list", "--workspace", "w"][..],
        ] {
            let out = common::flowhost(dir.path(), &other, args);
            let text = common::text(&out);
            assert!(!out.status.success(), "{args:?}: {text}");
            assert!(text.contains("not a Flowhost database"), "{text}");
        }
        assert_eq!(
            std::fs::read(&other).expect("bytes"),
            before,
            "{file} changed"
        );
        assert!(!dir.path().join(format!("{file}-wal")).exists());
    }
}

#[test]
fn sessions_and_oidc_logins_are_pruned_once_expired_and_live_ones_kept() {
    let site = Site::new();
    let now = now_unix();
    site.sessions("expired-", 3, now - 1);
    site.sessions("live-", 2, now + 3600);
    site.oidc_login("expired-unused", now - 1, false);
    site.oidc_login("expired-used", now - 1, true);
    site.oidc_login("live-unused", now + 600, false);
    site.oidc_login("live-used", now + 600, true);

    let pruned = site.prune();
    assert_eq!(pruned["web_sessions"], 3, "{pruned}");
    assert_eq!(pruned["oidc_logins"], 2, "{pruned}");
    assert_eq!(
        site.count("SELECT COUNT(*) FROM web_sessions WHERE id_hash LIKE 'live-%'"),
        2
    );
    assert_eq!(site.count("SELECT COUNT(*) FROM web_sessions"), 2);
    assert_eq!(
        site.count("SELECT COUNT(*) FROM oidc_logins WHERE state_hash LIKE 'live-%'"),
        2
    );
    assert_eq!(site.count("SELECT COUNT(*) FROM oidc_logins"), 2);
}

#[test]
fn a_pass_removes_at_most_the_batch_size_of_each_kind() {
    let site = Site::new();
    let now = now_unix();
    site.sessions("old-", BATCH + 500, now - 10);
    site.sessions("live-", 3, now + 3600);
    let out = site.cli(&["db", "prune"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let text = common::text(&out);
    assert!(
        text.contains(&format!("web_sessions: {BATCH} removed")),
        "{text}"
    );
    assert!(text.contains("more expired rows are left"), "{text}");
    assert_eq!(site.count("SELECT COUNT(*) FROM web_sessions"), 503);
    assert_eq!(site.prune()["web_sessions"], 500);
    assert_eq!(site.prune()["web_sessions"], 0);
    assert_eq!(site.count("SELECT COUNT(*) FROM web_sessions"), 3);
}

#[test]
fn a_replay_inside_the_window_is_still_refused_after_a_prune() {
    let site = Site::new();
    let hook = site.webhook();
    let platform = site.platform();
    let now = now_unix();
    let body = br#"{"alert":"beacon"}"#;
    // Accepted (at `at`) while signed as far ahead as allowed: it stays fresh until
    // `at + 2 * FRESHNESS_SECS`. Placed 10 s inside that, so the test has 10 s to run.
    let at = now - SIGNATURE_MEMORY_SECS + 10;
    let ts = at + FRESHNESS_SECS;
    deliver(&platform, &hook, body, ts, at, None).expect("accepted");
    // Another one accepted long before: past the window, its replay is stale anyway.
    let long_ago = now - SIGNATURE_MEMORY_SECS - 60;
    let old_body = br#"{"alert":"old"}"#;
    deliver(&platform, &hook, old_body, long_ago, long_ago, None).expect("accepted");
    assert_eq!(
        site.count("SELECT COUNT(*) FROM webhook_signatures"),
        2,
        "the request path forgets only what is past the window of its own time"
    );

    let pruned = site.prune();
    assert_eq!(pruned["webhook_signatures"], 1, "{pruned}");
    assert_eq!(site.count("SELECT COUNT(*) FROM webhook_signatures"), 1);
    let replay = deliver(&platform, &hook, body, ts, now_unix(), None);
    assert!(matches!(replay, Err(Refusal::Replayed)), "{replay:?}");
    // The forgotten one cannot be replayed either: it is stale.
    let old_replay = deliver(&platform, &hook, old_body, long_ago, now_unix(), None);
    assert!(
        matches!(old_replay, Err(Refusal::Stale(_))),
        "{old_replay:?}"
    );
}

/// Hosts whose clocks differ (here by 601 s, more than two windows) remember a signature by
/// its request's own timestamp: a host running ahead forgets it only once it is stale on
/// every host within the window's skew. Remembered from the accepting host's clock, the host
/// ahead forgot it while the first still took its replay for fresh, and the replay started a
/// second run (kill and concurrency review).
#[test]
fn a_host_whose_clock_runs_ahead_does_not_forget_a_signature_another_host_still_takes() {
    let site = Site::new();
    let hook = site.webhook();
    let platform = site.platform();
    let now = now_unix();
    // Host A (clock `now`) accepts a request signed as far ahead as it allows.
    let body = br#"{"alert":"beacon"}"#;
    let ts = now + FRESHNESS_SECS;
    deliver(&platform, &hook, body, ts, now, None).expect("accepted");
    // Host B, whose clock runs 601 s ahead, accepts another request and forgets what it
    // takes for stale.
    let ahead = now + SIGNATURE_MEMORY_SECS + 1;
    deliver(
        &platform,
        &hook,
        br#"{"alert":"other"}"#,
        ahead,
        ahead,
        None,
    )
    .expect("accepted");
    // Host A a second later: the replay is fresh by its clock, and still refused.
    let replay = deliver(&platform, &hook, body, ts, now + 1, None);
    assert!(matches!(replay, Err(Refusal::Replayed)), "{replay:?}");
    assert_eq!(
        site.count("SELECT COUNT(*) FROM runs WHERE workflow = 'on-hook'"),
        2,
        "one run per request, none for the replay"
    );
}

/// A webhook's key is kept 7 days, and longer while its run may go on, as a start key is
/// (round 22 kill review: a delivery resent on day 8 of a queued or held run started a
/// second one).
#[test]
fn idempotency_keys_are_kept_seven_days_then_pruned() {
    let site = Site::new();
    let hook = site.webhook();
    let platform = site.platform();
    let now = now_unix();
    let eight_days_ago = now - IDEMPOTENCY_RETENTION_SECS - DAY;
    let six_days_ago = now - IDEMPOTENCY_RETENTION_SECS + DAY;
    let old = deliver(
        &platform,
        &hook,
        b"{}",
        eight_days_ago,
        eight_days_ago,
        Some("order-1"),
    )
    .expect("accepted");
    let recent = deliver(
        &platform,
        &hook,
        b"{}",
        six_days_ago,
        six_days_ago,
        Some("order-2"),
    )
    .expect("accepted");
    let waiting = deliver(
        &platform,
        &hook,
        b"{}",
        eight_days_ago,
        eight_days_ago,
        Some("order-3"),
    )
    .expect("accepted");
    // The first has ended; the third is still queued.
    site.sql(
        "UPDATE runs SET status = 'succeeded' WHERE id = \
         (SELECT run FROM webhook_requests WHERE idempotency_key = 'order-1')",
    );

    let pruned = site.prune();
    assert_eq!(pruned["idempotency_keys"], 1, "{pruned}");
    let still = deliver(&platform, &hook, b"{}", now, now, Some("order-3")).expect("answered");
    assert!(still.repeated, "its run may go on");
    assert_eq!(still.run_id, waiting.run_id);
    // The key inside its retention still answers its first run and starts nothing (the same
    // delivery signed anew; another body under it is a 409).
    let again = deliver(&platform, &hook, b"{}", now, now, Some("order-2")).expect("answered");
    assert!(again.repeated);
    assert_eq!(again.run_id, recent.run_id);
    // The pruned one is a new request now.
    let anew =
        deliver(&platform, &hook, b"{\"n\":1}", now, now, Some("order-1")).expect("accepted");
    assert!(!anew.repeated);
    assert_ne!(anew.run_id, old.run_id);
}

#[test]
fn serve_prunes_when_it_starts() {
    let site = Site::new();
    let now = now_unix();
    site.sessions("expired-", 2, now - 1);
    site.sessions("live-", 1, now + 3600);
    let out = site.cli(&["serve", "--once"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let text = common::text(&out);
    assert!(text.contains("pruned expired rows"), "{text}");
    assert!(text.contains("web_sessions 2"), "{text}");
    assert_eq!(site.count("SELECT COUNT(*) FROM web_sessions"), 1);
}

#[test]
fn a_failed_pass_is_reported_and_serve_goes_on() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    let site = Site::new();
    site.sessions("expired-", 2, now_unix() - 1);
    // Another process holds the write lock past serve's busy timeout (5 s): the first pass
    // cannot delete anything.
    let holder = crate::common::db_at(&site.db);
    holder
        .conn()
        .execute_batch("BEGIN IMMEDIATE")
        .expect("write lock");
    let mut serve = Command::new(common::flowhost_bin())
        .current_dir(site.dir.path())
        .arg("--db")
        .arg(crate::common::db_arg(&site.db))
        .args(["serve", "--poll-ms", "50"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = serve.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // The lock is held until serve says its pass failed.
    let failed = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve reports the failed pass");
        if line.starts_with("error: housekeeping (deleting expired rows)") {
            break line;
        }
    };
    assert!(failed.contains("tried again later"), "{failed}");
    holder.conn().execute_batch("COMMIT").expect("commit");
    std::thread::sleep(Duration::from_millis(500));
    let alive = serve.try_wait().expect("status").is_none();
    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let status = serve.wait().expect("serve exits");
    let stderr = reader.join().expect("stderr read");
    assert!(alive, "serve stopped after a failed pass: {stderr}");
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopped cleanly"), "{stderr}");
    // Nothing was deleted by the failed pass; the next one (a minute later) will.
    assert_eq!(site.count("SELECT COUNT(*) FROM web_sessions"), 2);
}

#[test]
fn serve_passes_again_soon_while_batches_come_back_full() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let site = Site::new();
    let now = now_unix();
    site.sessions("old-", BATCH + 200, now - 10);
    site.sessions("live-", 1, now + 3600);
    let serve = Command::new(common::flowhost_bin())
        .current_dir(site.dir.path())
        .arg("--db")
        .arg(crate::common::db_arg(&site.db))
        .args(["serve", "--poll-ms", "50"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    // The first pass takes a batch; the next, a second later (not a minute), the rest.
    let began = Instant::now();
    while site.count("SELECT COUNT(*) FROM web_sessions") > 1 {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the rest was not pruned soon"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let out = serve.wait_with_output().expect("serve exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("web_sessions {BATCH}")),
        "{stderr}"
    );
    assert!(stderr.contains("web_sessions 200"), "{stderr}");
    assert_eq!(
        site.count("SELECT COUNT(*) FROM web_sessions WHERE id_hash = 'live-1'"),
        1
    );
}

/// A secret stored before secrets were bound to a `run_as` (the column NULL, as for every
/// secret issued before that migration) starts nothing until it is rotated: before, the
/// check skipped it, so it started runs as whoever the workflow ran as later (SPEC WF-10;
/// stored-data review).
#[test]
fn a_webhook_secret_bound_to_no_run_as_starts_nothing_until_rotated() {
    let site = Site::new();
    let hook = site.webhook();
    site.sql("UPDATE webhooks SET run_as = NULL");
    let platform = site.platform();
    let now = now_unix();
    let refused = deliver(&platform, &hook, b"{}", now, now, None);
    assert!(matches!(refused, Err(Refusal::Rebound)), "{refused:?}");
    let out = site.ok(&[
        "workflows",
        "webhook",
        "on-hook",
        "--workspace",
        "mssp-soc",
        "--rotate",
        "--as",
        OWNER,
        "--json",
    ]);
    let rotated: Value = serde_json::from_str(&out).expect("json");
    let secret = rotated["secret"].as_str().expect("secret").to_owned();
    let accepted = deliver(&platform, &(hook.0, secret), b"{}", now, now, None);
    assert!(accepted.is_ok(), "{accepted:?}");
}

/// A step's restriction updates, remembered under their keys so that a re-executed step gets
/// the first answer, are pruned past their 30 days; a recent one stays (round 16
/// hostile-step review: nothing deleted them, up to 100 rows an execution for good). One of a
/// run that may still go on stays past them (round 22 kill and concurrency review: resumed
/// late, its step re-applied its update over changes made since).
#[test]
fn remembered_restriction_updates_are_pruned_past_their_retention() {
    use flowhost::cases::CASE_UPDATE_RETENTION_SECS;
    let site = Site::new();
    site.ok(&[
        "cases",
        "create",
        "--title",
        "t",
        "--severity",
        "low",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let now = now_unix();
    site.sql(&format!(
        "INSERT INTO case_updates (idempotency_key, case_id, result, at)
         SELECT 'run:1/s/update-0@' || id, id, '{{}}', {} FROM cases;
         INSERT INTO case_updates (idempotency_key, case_id, result, at)
         SELECT 'run:2/s/update-0@' || id, id, '{{}}', {} FROM cases;",
        now - CASE_UPDATE_RETENTION_SECS - DAY,
        now - CASE_UPDATE_RETENTION_SECS + DAY
    ));
    // Two runs' updates past the retention: one run on hold, one ended.
    for (name, steps) in [
        ("hold", json!([{ "id": "w", "wait": "1h" }])),
        ("done", json!([{ "exit": { "status": "done" } }])),
    ] {
        let file = site.dir.path().join(format!("{name}.json"));
        let wf = json!({ "name": name, "workspace": "mssp-soc", "steps": steps });
        std::fs::write(&file, wf.to_string()).expect("write");
        let file = file.to_str().expect("utf-8");
        site.ok(&["run", file, "--as", OWNER, "--json"]);
    }
    let held = site.count("SELECT id FROM runs WHERE workflow = 'hold' AND status = 'on_hold'");
    let ended = site.count("SELECT id FROM runs WHERE workflow = 'done' AND status = 'succeeded'");
    site.sql(&format!(
        "INSERT INTO case_updates (idempotency_key, case_id, result, at, run)
         SELECT 'run:{held}/hold/update-0@' || id, id, '{{}}', {old}, {held} FROM cases;
         INSERT INTO case_updates (idempotency_key, case_id, result, at, run)
         SELECT 'run:{ended}/done/update-0@' || id, id, '{{}}', {old}, {ended} FROM cases;",
        old = now - CASE_UPDATE_RETENTION_SECS - DAY,
    ));
    let pruned = site.prune();
    assert_eq!(pruned["case_updates"], 2, "{pruned}");
    assert_eq!(
        site.count("SELECT COUNT(*) FROM case_updates WHERE idempotency_key LIKE 'run:2/s/%'"),
        1,
        "the recent one stays"
    );
    assert_eq!(
        site.count("SELECT COUNT(*) FROM case_updates WHERE run IS NOT NULL"),
        1,
        "the held run's stays"
    );
    assert_eq!(
        site.count(&format!(
            "SELECT COUNT(*) FROM case_updates WHERE run = {held}"
        )),
        1
    );
    assert_eq!(site.count("SELECT COUNT(*) FROM case_updates"), 2);
}

/// A start key is kept while its run may still go on: a run on hold past the retention, its
/// start sent again, is answered, never started a second time (round 21 kill review); the
/// key of an ended run goes once its 7 days are past.
#[test]
fn a_start_key_is_kept_while_its_run_may_go_on() {
    let site = Site::new();
    for (name, steps) in [
        ("hold", json!([{ "id": "w", "wait": "1h" }])),
        ("done", json!([{ "exit": { "status": "done" } }])),
    ] {
        let file = site.dir.path().join(format!("{name}.json"));
        let wf = json!({ "name": name, "workspace": "mssp-soc", "steps": steps });
        std::fs::write(&file, wf.to_string()).expect("write");
        site.ok(&[
            "workflows",
            "publish",
            file.to_str().expect("utf-8"),
            "--as",
            OWNER,
        ]);
    }
    let start = |name: &str| -> Value {
        let out = site.ok(&[
            "run",
            "--published",
            name,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--idempotency-key",
            &format!("k-{name}"),
            "--json",
        ]);
        serde_json::from_str(&out).expect("JSON")
    };
    let held = start("hold");
    assert_eq!(held["status"], "on_hold", "{held}");
    assert_eq!(start("done")["status"], "succeeded");
    site.sql(&format!("UPDATE start_requests SET at = at - 8 * {DAY}"));
    assert_eq!(site.prune()["start_keys"], 1);
    let again = start("hold");
    assert_eq!(again["run_id"], held["run_id"], "{again}");
    assert_eq!(
        site.count("SELECT COUNT(*) FROM runs WHERE workflow = 'hold'"),
        1
    );
}
