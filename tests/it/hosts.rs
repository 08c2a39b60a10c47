//! Issue 18, several hosts on one PostgreSQL database: heartbeat leases (a live host's runs
//! are refused to others, a dead host's are taken over, a host that cannot renew its
//! heartbeat leases nothing), work claimed once across hosts (events, due timers), wake-ups by
//! LISTEN/NOTIFY, and the access index following another host's changes. Each host is a
//! `Platform` with connections of its own, or a real `flowhost serve` process.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::postgres::TestDb;
use common::{ECHO, NOTIFY, example_tenant_path, flowhost_bin, user};
use flowhost::Error;
use flowhost::access::Scope;
use flowhost::platform::Platform;
use flowhost::principal::Caller;
use flowhost::runs::lease::{Leases, TTL_VAR};
use flowhost::services::cases::{AccessMode, CaseApi, NewCase, Severity};
use flowhost::store::Db;
use flowhost::store::sql::{Begin, FromSql};
use flowhost::testing::Internals;
use flowhost::wasm::{EngineSettings, StepRuntime};
use flowhost::workflow::scheduler::{Notice, Scheduler, SchedulerOptions};
use flowhost::workflow::{Engine, Quiet, Resolver, parse};
use serde_json::{Value, json};

pub const OWNER: &str = "olivia.owner@acme-mssp.test";

/// A host's platform: its own connections to the database at `url`.
pub fn platform(url: &str) -> Arc<Platform> {
    Arc::new(Platform::new(Db::open_postgres(url).expect("PostgreSQL")).expect("platform"))
}

/// A host's engine over `platform`.
pub fn engine(platform: &Arc<Platform>) -> Engine {
    let runtime = Arc::new(StepRuntime::new(&EngineSettings::default(), None).expect("runtime"));
    Engine::new(platform.clone(), runtime, vec![])
}

/// A fresh database with the example tenant applied; the platform that applied it.
pub fn deployment() -> (TestDb, Arc<Platform>) {
    let db = TestDb::new();
    let p = platform(&db.url);
    let text = std::fs::read_to_string(example_tenant_path()).expect("tenant");
    let file = flowhost::tenant::TenantFile::parse("acme-mssp.json", &text).expect("valid");
    flowhost::tenant::apply(&p, &file, None).expect("applies");
    (db, p)
}

/// Publishes `definition` as the Owner of mssp-soc.
pub fn publish(p: &Platform, definition: &Value) {
    let text = definition.to_string();
    let wf = parse("wf.json", &text, &Resolver::default()).expect("valid");
    p.workflows()
        .publish(&user(OWNER), &wf, &text, "wf.json", &Resolver::default())
        .expect("publish");
}

/// Creates a case in mssp-soc (its `case_created` event is what triggers start on).
pub fn create_case(p: &Platform, title: &str) {
    create_case_in(p, "mssp-soc", title);
}

/// Creates a case in `workspace` as its Owner.
pub fn create_case_in(p: &Platform, workspace: &str, title: &str) {
    p.create_case(&owner_in(workspace), low_case(title))
        .expect("case");
}

/// The Owner, calling in `workspace`.
fn owner_in(workspace: &str) -> Caller {
    Caller {
        workspace: workspace.into(),
        principal: user(OWNER),
        cause: None,
        step: None,
    }
}

/// A full-access case of low severity titled `title`, naming nobody.
fn low_case(title: &str) -> NewCase {
    NewCase {
        title: title.into(),
        description: String::new(),
        severity: Severity::Low,
        state: None,
        assignee: None,
        reviewers: Vec::new(),
        access_mode: Some(AccessMode::FullAccess),
        collaborators: Vec::new(),
        fields: None,
    }
}

/// The one value `sql` returns.
pub fn one<T: FromSql>(p: &Platform, sql: &str) -> T {
    p.db().conn().query_row(sql, [], |r| r.get(0)).expect(sql)
}

/// Polls `done` every 20 ms for at most `limit`; whether it came true.
fn within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// A workflow started by every case that is not its own, which opens a case of its own.
fn on_case(name: &str, middle: Value) -> Value {
    json!({ "name": name, "workspace": "mssp-soc", "run_as": OWNER,
        "trigger": { "on": "case_created",
            "if": [{ "left": "$.event.case.title", "op": "ne", "right": "made" }] },
        "steps": [
            { "id": "one", "uses": ECHO, "with": { "title": "$.event.case.title" } },
            middle,
            { "id": "open", "uses": "cases/create-case", "with": { "title": "made", "severity": "high" } }
        ] })
}

/// A `flowhost serve` in `dir` on the database at `url`, its heartbeat TTL `ttl_ms`.
fn serve(dir: &std::path::Path, url: &str, ttl_ms: u64, args: &[&str]) -> Child {
    Command::new(flowhost_bin())
        .current_dir(dir)
        .arg("--db")
        .arg(url)
        .arg("serve")
        .args(args)
        .env(TTL_VAR, ttl_ms.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowhost serve starts")
}

/// A `serve` host in a directory of its own on the database at `url` (heartbeat TTL `ttl_ms`,
/// one run at a time), workflow `name` published to pause 30 s between its steps on every
/// case, and a case created to start it there.
fn pausing_host(p: &Platform, url: &str, name: &str, ttl_ms: u64) -> (tempfile::TempDir, Child) {
    publish(p, &on_case(name, json!({ "id": "pause", "wait": "30s" })));
    let dir = tempfile::tempdir().expect("tempdir");
    let host = serve(
        dir.path(),
        url,
        ttl_ms,
        &["--poll-ms", "50", "--concurrency", "1"],
    );
    create_case(p, "origin");
    (dir, host)
}

/// SPEC WF-8 across hosts: a run a live host executes is refused to another host; once that
/// host is killed (SIGKILL: no goodbye), its heartbeat goes stale and, a TTL later, another
/// host takes the run over and finishes it, each step once.
#[test]
fn a_killed_hosts_run_is_refused_while_its_heartbeat_lives_and_taken_over_after_its_ttl() {
    let (db, p) = deployment();
    // `pause` sleeps in the process (below the in-process limit), holding the run's lease.
    const TTL_MS: u64 = 1_500;
    let (_dir, mut host) = pausing_host(&p, &db.url, "slow", TTL_MS);
    // The other host has started the run and is sleeping in `pause`.
    let started = within(Duration::from_secs(60), || {
        one::<i64>(
            &p,
            "SELECT count(*) FROM run_steps s JOIN runs r ON r.id = s.run_id
             WHERE r.workflow = 'slow' AND s.step_key = 'one'",
        ) == 1
    });
    assert!(started, "the serve host never started the run");
    let run: i64 = one(&p, "SELECT id FROM runs WHERE workflow = 'slow'");
    let holder: String = one(&p, "SELECT lease_owner FROM runs WHERE workflow = 'slow'");
    assert_eq!(
        one::<i64>(
            &p,
            &format!("SELECT count(*) FROM hosts WHERE owner = '{holder}'")
        ),
        1,
        "the run is leased to a host with a heartbeat"
    );
    let e = engine(&p);
    // Alive, and still alive after several TTLs: its heartbeat is renewed.
    std::thread::sleep(Duration::from_millis(2 * TTL_MS));
    let refused = e.resume(run, &Quiet).expect_err("leased to a live host");
    assert!(
        matches!(&refused, Error::Conflict(why) if why.contains("another flowhost process")),
        "{refused:?}"
    );

    host.kill().expect("SIGKILL");
    host.wait().expect("reaped");
    let killed = Instant::now();
    // Refused until its heartbeat is older than the TTL, then taken over.
    let outcome = loop {
        match e.resume(run, &Quiet) {
            Ok(outcome) => break outcome,
            Err(err) if matches!(&err, Error::Conflict(_)) => {
                assert!(
                    killed.elapsed() < Duration::from_millis(TTL_MS + 5_000),
                    "not taken over {} ms after the kill",
                    killed.elapsed().as_millis()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(err) => panic!("resume failed: {err}"),
        }
    };
    // Not before the heartbeat the host last renewed (at most TTL/4 before the kill) expired.
    assert!(
        killed.elapsed() >= Duration::from_millis(TTL_MS * 3 / 4 - 100),
        "taken over {} ms after the kill, before its TTL",
        killed.elapsed().as_millis()
    );
    assert_succeeded(&outcome);
    assert_eq!(
        one::<i64>(&p, "SELECT count(*) FROM run_steps WHERE step_key = 'one'"),
        1,
        "the step before the kill replayed, not executed again"
    );
    assert_eq!(
        one::<i64>(&p, "SELECT count(*) FROM cases WHERE title = 'made'"),
        1
    );
}

/// A host that cannot renew its heartbeat for a TTL leases no new runs; once its heartbeat
/// is stale (another host may have declared it dead and taken its runs), it never leases again,
/// even when the database answers again. The other host sees it dead.
#[test]
fn a_host_that_cannot_renew_its_heartbeat_stops_leasing_and_stays_dead() {
    let db = TestDb::new();
    let p = platform(&db.url);
    let server = p.db().server().expect("on PostgreSQL");
    let ttl = Duration::from_millis(600);
    let lagging = Leases::on_server(server.clone(), ttl);
    let other = Leases::on_server(server, ttl);
    lagging
        .hold()
        .expect("leases while its heartbeat is current");
    other.hold().expect("holds");
    std::thread::sleep(ttl * 2);
    assert!(
        lagging.hold().is_ok(),
        "renewed: still leasing after two TTLs"
    );
    assert!(other.alive(lagging.owner()));

    // Its heartbeat's row locked by someone else: every renewal waits.
    let mut blocker = db.client();
    let mut tx = blocker.transaction().expect("begin");
    tx.execute(
        "SELECT 1 FROM hosts WHERE owner = $1 FOR UPDATE",
        &[&lagging.owner()],
    )
    .expect("lock the row");
    let refused = within(ttl * 3, || lagging.hold().is_err());
    assert!(refused, "still leasing after three TTLs without a renewal");
    match lagging.hold() {
        Err(Error::Busy(why)) => assert!(why.contains("heartbeat"), "{why}"),
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(
        within(ttl, || !other.alive(lagging.owner())),
        "the other host still sees it alive"
    );
    // The database answers again: the stale heartbeat is not renewed, the host stays out.
    tx.rollback().expect("unlock");
    std::thread::sleep(ttl);
    match lagging.hold() {
        Err(Error::Busy(why)) => assert!(why.contains("may have been taken over"), "{why}"),
        other => panic!("expected the host fenced, got {other:?}"),
    }
    assert!(!other.alive(lagging.owner()));
    assert!(other.hold().is_ok(), "the other host leases on");
}

/// Work is claimed once across hosts: two hosts on one database dispatch the same pending
/// events at once (every event starts one run), then wake the same due timers at once (every
/// run resumes once).
#[test]
fn two_hosts_racing_dispatch_each_event_and_fire_each_timer_once() {
    const EVENTS: usize = 12;
    let (db, p) = deployment();
    // A wait beyond the in-process limit (zero here) holds the run until its timer is due.
    publish(&p, &on_case("nap", json!({ "id": "pause", "wait": "1s" })));
    for n in 0..EVENTS {
        create_case(&p, &format!("origin {n}"));
    }
    let hosts: Vec<Engine> = (0..2)
        .map(|_| engine(&platform(&db.url)).with_sleep_limit(Duration::ZERO))
        .collect();
    let race = |f: &(dyn Fn(&Engine) -> usize + Sync)| -> Vec<usize> {
        std::thread::scope(|s| {
            let all: Vec<_> = hosts.iter().map(|h| s.spawn(move || f(h))).collect();
            all.into_iter().map(|t| t.join().expect("host")).collect()
        })
    };
    let dispatched = race(&|h| {
        h.dispatch_triggers_in(None, &Quiet)
            .expect("dispatch")
            .len()
    });
    assert_eq!(dispatched.iter().sum::<usize>(), EVENTS, "{dispatched:?}");
    assert_eq!(
        one::<i64>(&p, "SELECT count(*) FROM runs WHERE workflow = 'nap'"),
        EVENTS as i64
    );
    assert_eq!(
        one::<i64>(
            &p,
            "SELECT count(DISTINCT trigger_event) FROM runs WHERE workflow = 'nap'"
        ),
        EVENTS as i64,
        "one run per event"
    );
    assert_eq!(
        one::<i64>(&p, "SELECT count(*) FROM runs WHERE status = 'on_hold'"),
        EVENTS as i64
    );

    std::thread::sleep(Duration::from_millis(1_100));
    let woken = race(&|h| h.wake_due_timers(&Quiet).expect("wake").len());
    assert_eq!(woken.iter().sum::<usize>(), EVENTS, "{woken:?}");
    assert_eq!(
        one::<i64>(
            &p,
            "SELECT count(*) FROM runs WHERE workflow = 'nap' AND status = 'succeeded'"
        ),
        EVENTS as i64
    );
    for step in ["one", "pause", "open"] {
        assert_eq!(
            one::<i64>(
                &p,
                &format!("SELECT count(*) FROM run_steps WHERE step_key = '{step}'")
            ),
            EVENTS as i64,
            "`{step}` once per run"
        );
    }
    assert_eq!(
        one::<i64>(&p, "SELECT count(*) FROM cases WHERE title = 'made'"),
        EVENTS as i64
    );
}

/// A workflow of mssp-soc started by every case titled `title`, which echoes the title and
/// then does `then`.
fn on_case_titled(name: &str, title: &str, then: Value) -> Value {
    json!({ "name": name, "workspace": "mssp-soc", "run_as": OWNER,
        "trigger": { "on": "case_created",
            "if": [{ "left": "$.event.case.title", "op": "eq", "right": title }] },
        "steps": [
            { "id": "one", "uses": ECHO, "with": { "title": "$.event.case.title" } },
            then
        ] })
}

/// A workflow started by every case titled `greet`, which echoes twice.
fn greeting() -> Value {
    on_case_titled(
        "greet",
        "greet",
        json!({ "id": "two", "uses": ECHO, "with": {} }),
    )
}

/// Asserts that `outcome` succeeded, showing its error otherwise.
fn assert_succeeded(outcome: &flowhost::workflow::RunOutcome) {
    assert_eq!(
        outcome.status,
        flowhost::runs::RunStatus::Succeeded,
        "{:?}",
        outcome.error
    );
}

/// Issue 18: claims go on while another host holds the deployment's write lock, each settled
/// by the row it claims: an event claimed and the run it starts, a due timer's run claimed
/// and its lease taken to resume it.
#[test]
fn claims_go_on_while_another_host_holds_the_write_lock() {
    let (db, p) = deployment();
    publish(&p, &greeting());
    publish(
        &p,
        &on_case_titled("nap", "nap", json!({ "id": "pause", "wait": "1s" })),
    );
    // A wait beyond the in-process limit (zero here) holds the run until its timer is due.
    let e = Arc::new(engine(&p).with_sleep_limit(Duration::ZERO));
    // Before the lock: the host's heartbeat row and the step's compilation, and the napping
    // run put on hold (holding takes the lock: it decides on the run's interactions and
    // timers, which others write).
    create_case(&p, "greet");
    create_case(&p, "nap");
    let first = e.dispatch_triggers_in(None, &Quiet).expect("dispatch");
    assert_eq!(first.len(), 2);
    let held = Instant::now();

    let other = Db::open_postgres(&db.url).expect("another host");
    other
        .conn()
        .begin(Begin::Write)
        .expect("the other host takes the write lock");
    create_case(&p, "greet");
    std::thread::sleep(Duration::from_millis(1_100).saturating_sub(held.elapsed()));
    let claimer = {
        let e = e.clone();
        std::thread::spawn(move || {
            let dispatched = e.dispatch_triggers_in(None, &Quiet)?;
            let woken = e.wake_due_timers(&Quiet)?;
            Ok::<_, Error>((dispatched, woken))
        })
    };
    let claimed = within(Duration::from_secs(10), || claimer.is_finished());
    other.conn().commit().expect("the other host commits");
    assert!(claimed, "a claim waited for the write lock");
    let (dispatched, woken) = claimer.join().expect("thread").expect("claims");
    assert_eq!(dispatched.len(), 1, "the new event");
    assert_eq!(woken.len(), 1, "the due timer");
    dispatched.iter().chain(&woken).for_each(assert_succeeded);
    assert_eq!(
        one::<i64>(&p, "SELECT count(*) FROM events WHERE dispatched = 0"),
        0
    );
}

/// Issue 18, `FOR UPDATE SKIP LOCKED`: while another host is claiming the oldest pending
/// event (its row locked until that claim ends), a host dispatching at once takes the next
/// event instead of queueing behind it, and leaves the held one pending; once the other
/// claim rolls back, the held event is dispatched, once.
#[test]
fn a_host_skips_the_event_another_host_is_claiming_and_takes_it_once_free() {
    let (db, p) = deployment();
    publish(&p, &greeting());
    let e = Arc::new(engine(&p));
    create_case(&p, "greet");
    create_case(&p, "greet");
    let held: i64 = one(&p, "SELECT min(id) FROM events WHERE dispatched = 0");

    // The other host's claim in progress: it has updated the event's row, not yet committed.
    let other = Db::open_postgres(&db.url).expect("another host");
    other.conn().begin(Begin::Leased).expect("begin");
    other
        .conn()
        .execute("UPDATE events SET dispatched = 0 WHERE id = ?1", [held])
        .expect("the other host locks the event's row");
    let dispatcher = {
        let e = e.clone();
        std::thread::spawn(move || e.dispatch_triggers_in(None, &Quiet))
    };
    let skipped = within(Duration::from_secs(10), || dispatcher.is_finished());
    other.conn().rollback().expect("the other claim rolls back");
    assert!(skipped, "the host queued behind the other host's claim");
    let outcomes = dispatcher.join().expect("thread").expect("dispatch");
    assert_eq!(outcomes.len(), 1, "only the free event");
    let trigger_of = |run: i64| -> i64 {
        one(
            &p,
            &format!("SELECT trigger_event FROM runs WHERE id = {run}"),
        )
    };
    assert_ne!(trigger_of(outcomes[0].run_key), held);
    assert_eq!(
        one::<i64>(
            &p,
            &format!("SELECT count(*) FROM events WHERE id = {held} AND dispatched = 0")
        ),
        1,
        "the held event stays pending"
    );

    let outcomes = e.dispatch_triggers_in(None, &Quiet).expect("dispatch");
    assert_eq!(outcomes.len(), 1, "the held event, now free");
    assert_eq!(trigger_of(outcomes[0].run_key), held);
    assert_eq!(
        one::<i64>(&p, "SELECT count(DISTINCT trigger_event) FROM runs"),
        2
    );
    assert_eq!(one::<i64>(&p, "SELECT count(*) FROM runs"), 2);
}

/// Interaction timeouts are fired once across hosts (SPEC IX-8): two hosts' `serve --once`
/// loops race over the same timed-out interactions; each times out once, audited once, and
/// its run resumes once, on its timeout path.
#[test]
fn two_hosts_racing_fire_each_interaction_timeout_once() {
    const RUNS: usize = 8;
    let (db, p) = deployment();
    publish(
        &p,
        &json!({ "name": "ask", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_created" },
            "steps": [
                { "id": "approve", "interaction": {
                    "title": "Contain {{ $.event.case.title }}?",
                    "form": { "fields": [ { "name": "approve", "type": "boolean" } ] },
                    "access": { "workspace_users": { "emails": ["sam.lead@acme-mssp.test"] } },
                    "timeout": "1s",
                    "on_timeout": [ { "exit": { "status": "late", "output": "$.steps.approve" } } ] } },
                { "exit": { "status": "answered" } }
            ] }),
    );
    for n in 0..RUNS {
        create_case(&p, &format!("origin {n}"));
    }
    let held = engine(&p)
        .dispatch_triggers_in(None, &Quiet)
        .expect("dispatch");
    assert_eq!(held.len(), RUNS);
    assert!(
        held.iter()
            .all(|o| o.status == flowhost::runs::RunStatus::OnHold)
    );
    std::thread::sleep(Duration::from_millis(1_100));
    std::thread::scope(|s| {
        let hosts: Vec<_> = (0..2)
            .map(|_| {
                let host = Arc::new(engine(&platform(&db.url)));
                s.spawn(move || {
                    let options = SchedulerOptions {
                        poll: Duration::from_millis(20),
                        once: true,
                        concurrency: 4,
                        stop_on_signals: false,
                    };
                    Scheduler::new(host, options, |_: Notice<'_>| {}).run()
                })
            })
            .collect();
        for h in hosts {
            h.join().expect("host").expect("serve --once");
        }
    });
    let count = |sql: &str| one::<i64>(&p, sql);
    assert_eq!(
        count("SELECT count(*) FROM interactions WHERE status = 'timed_out'"),
        RUNS as i64
    );
    assert_eq!(
        count("SELECT count(*) FROM audit_log WHERE action = 'interaction.timeout'"),
        RUNS as i64,
        "each timeout fired once"
    );
    assert_eq!(
        count("SELECT count(*) FROM runs WHERE status = 'succeeded' AND exit_status = 'late'"),
        RUNS as i64
    );
    assert_eq!(
        count("SELECT count(*) FROM run_steps WHERE step_key = 'approve'"),
        RUNS as i64,
        "each run resumed once"
    );
}

/// LISTEN/NOTIFY: an event committed by one host wakes `serve` on another at once, well
/// before its next poll (30 s here).
#[test]
fn an_event_committed_on_one_host_wakes_another_hosts_serve_before_its_poll() {
    let (db, p) = deployment();
    publish(
        &p,
        &on_case("woken", json!({ "id": "mid", "uses": ECHO, "with": {} })),
    );
    let host = Arc::new(engine(&platform(&db.url)));
    let scheduler = Scheduler::new(
        host.clone(),
        SchedulerOptions {
            poll: Duration::from_secs(30),
            once: false,
            concurrency: 2,
            stop_on_signals: false,
        },
        |_: Notice<'_>| {},
    );
    let waker = scheduler.waker();
    let serving = std::thread::spawn(move || scheduler.run());
    // Its first round (which claims without waiting) is over once its heartbeat exists and a
    // moment has passed: from then on only a wake-up or the poll makes it look again.
    assert!(within(Duration::from_secs(30), || {
        one::<i64>(&p, "SELECT count(*) FROM hosts") == 1
    }));
    std::thread::sleep(Duration::from_millis(500));
    let sent = Instant::now();
    create_case(&p, "ring");
    let picked_up = within(Duration::from_secs(5), || {
        one::<i64>(&p, "SELECT count(*) FROM runs WHERE workflow = 'woken'") == 1
    });
    let after = sent.elapsed();
    host.stop_flag()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    waker.notify_one();
    serving.join().expect("serve").expect("serve ends cleanly");
    assert!(picked_up, "not picked up within 5 s (the poll is 30 s)");
    println!("picked up after {} ms", after.as_millis());
}

/// A host whose workers are all busy claims no event: claimed, its runs were leased to it and
/// waited behind its long step while another host idled (round 16 kill review). The other
/// host runs them at once.
#[test]
fn a_busy_host_leaves_new_events_to_a_host_with_a_free_worker() {
    let (db, p) = deployment();
    publish(
        &p,
        &on_case_titled("hog", "hog", json!({ "id": "sleep", "wait": "20s" })),
    );
    for n in 1..=3 {
        publish(
            &p,
            &on_case_titled(
                &format!("fast-{n}"),
                "fast",
                json!({ "id": "two", "uses": ECHO, "with": {} }),
            ),
        );
    }
    let serving = |concurrency: usize| {
        let host = Arc::new(engine(&platform(&db.url)));
        let scheduler = Scheduler::new(
            host.clone(),
            SchedulerOptions {
                poll: Duration::from_millis(200),
                once: false,
                concurrency,
                stop_on_signals: false,
            },
            |_: Notice<'_>| {},
        );
        let waker = scheduler.waker();
        (host, waker, std::thread::spawn(move || scheduler.run()))
    };
    let (busy, busy_waker, busy_serving) = serving(1);
    create_case(&p, "hog");
    assert!(within(Duration::from_secs(10), || {
        one::<i64>(&p, "SELECT count(*) FROM runs WHERE workflow = 'hog'") == 1
    }));
    std::thread::sleep(Duration::from_millis(300));
    create_case(&p, "fast");
    std::thread::sleep(Duration::from_millis(600));
    let (free, free_waker, free_serving) = serving(4);
    let done = within(Duration::from_secs(15), || {
        one::<i64>(
            &p,
            "SELECT count(*) FROM runs WHERE workflow LIKE 'fast-%' AND status = 'succeeded'",
        ) == 3
    });
    for (host, waker) in [(&busy, &busy_waker), (&free, &free_waker)] {
        host.stop_flag()
            .store(true, std::sync::atomic::Ordering::SeqCst);
        waker.notify_one();
    }
    busy_serving
        .join()
        .expect("serve")
        .expect("serve ends cleanly");
    free_serving
        .join()
        .expect("serve")
        .expect("serve ends cleanly");
    assert!(
        done,
        "the free host ran the new event's runs while the busy one slept"
    );
}

/// The access index across hosts: a grant made on one host is allowed on another after its
/// refresh (`Platform::refresh_access`, by the access epoch); a revoke likewise denied.
#[test]
fn an_access_change_on_one_host_reaches_the_other_after_refresh() {
    let (db, console) = deployment();
    let other = platform(&db.url);
    const NEWCOMER: &str = "nora.new@acme-mssp.test";
    let may_run = |p: &Platform| {
        p.check(&user(NEWCOMER), "mssp-soc", Scope::PlaybookExecute)
            .allowed()
    };
    assert!(!may_run(&other));
    let tenant = |with_newcomer: bool| {
        let text = std::fs::read_to_string(example_tenant_path()).expect("tenant");
        let mut tenant: Value = serde_json::from_str(&text).expect("json");
        if with_newcomer {
            let ws = tenant["workspaces"]
                .as_array_mut()
                .expect("workspaces")
                .iter_mut()
                .find(|w| w["name"] == "mssp-soc")
                .expect("mssp-soc");
            ws["members"]
                .as_array_mut()
                .expect("members")
                .push(json!({ "email": NEWCOMER, "role": "operator" }));
        }
        flowhost::tenant::TenantFile::parse("acme-mssp.json", &tenant.to_string()).expect("valid")
    };
    flowhost::tenant::apply(&console, &tenant(true), None).expect("grant");
    assert!(may_run(&console));
    assert!(!may_run(&other), "not before it refreshes");
    assert!(other.refresh_access().expect("refresh"), "it saw a change");
    assert!(may_run(&other), "granted on the other host");
    flowhost::tenant::apply(&console, &tenant(false), None).expect("revoke");
    assert!(other.refresh_access().expect("refresh"));
    assert!(!may_run(&other), "revoked on the other host");
    assert!(!other.refresh_access().expect("refresh"), "nothing more");
}

/// A heartbeat TTL that is not a number of milliseconds is refused when `serve` starts,
/// naming the variable; nothing is served.
#[test]
fn serve_refuses_a_bad_heartbeat_ttl_naming_it() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["ten seconds", "50", ""] {
        let out = serve_once_with(dir.path(), &db.url, TTL_VAR, bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains(TTL_VAR), "{bad:?}: {stderr}");
    }
    let ok = serve_once_with(dir.path(), &db.url, TTL_VAR, "2000");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// A bound of a chain's runs that does not read is refused as `serve` starts, naming it: read
/// only as a chained event was claimed, it failed every claim of one, and its workspace's
/// events waited for good behind it (round 30 kill review; SPEC WF-9).
#[test]
fn serve_refuses_a_bad_chain_bound_naming_it() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let var = flowhost::workflow::triggers::CHAIN_RUNS_VAR;
    for bad in ["10,000", "0", "1e4"] {
        let out = serve_once_with(dir.path(), &db.url, var, bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains(var), "{bad:?}: {stderr}");
    }
    let ok = serve_once_with(dir.path(), &db.url, var, "100");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// `flowhost serve --once` in `dir` on the database at `url`, with `var` set to `value`.
fn serve_once_with(
    dir: &std::path::Path,
    url: &str,
    var: &str,
    value: &str,
) -> std::process::Output {
    Command::new(flowhost_bin())
        .current_dir(dir)
        .arg("--db")
        .arg(url)
        .args(["serve", "--once"])
        .env(var, value)
        .output()
        .expect("flowhost runs")
}

/// A number of writing connections that is not one is refused when `serve` starts, naming
/// the variable; nothing is served. 0 (no pool: runs write on the host's one connection)
/// serves.
#[test]
fn serve_refuses_a_bad_writer_count_naming_it() {
    use flowhost::platform::writers::WRITERS_VAR;
    let db = TestDb::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let serve_once = |value: &str| serve_once_with(dir.path(), &db.url, WRITERS_VAR, value);
    for bad in ["four", "-1", "65", ""] {
        let out = serve_once(bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad:?}: {stderr}");
        assert!(stderr.contains(WRITERS_VAR), "{bad:?}: {stderr}");
    }
    for good in ["0", "8"] {
        let out = serve_once(good);
        assert!(
            out.status.success(),
            "{good}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Killed hosts leave their rows behind; a host starting forgets those whose heartbeat
/// stopped more than an hour ago, and no other.
#[test]
fn a_starting_host_forgets_hosts_dead_for_an_hour_and_no_other() {
    let db = TestDb::new();
    let p = platform(&db.url);
    let mut client = db.client();
    let now_ms = "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)";
    for (owner, age_ms) in [("long-dead", 3_700_000_i64), ("lately-dead", 60_000)] {
        client
            .execute(
                &format!(
                    "INSERT INTO hosts (owner, started_at, heartbeat_at, ttl_ms)
                     VALUES ($1, {now_ms} - $2, {now_ms} - $2, 10000)"
                ),
                &[&owner, &age_ms],
            )
            .expect("a dead host");
    }
    let starting = Leases::on_server(p.db().server().expect("server"), Duration::from_secs(10));
    starting.hold().expect("starts");
    let owners: Vec<String> = client
        .query("SELECT owner FROM hosts ORDER BY owner", &[])
        .expect("hosts")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut expected = vec!["lately-dead".to_owned(), starting.owner().to_owned()];
    expected.sort();
    assert_eq!(owners, expected);
    assert!(!starting.alive("lately-dead"));
}

/// A heartbeat that cannot start (the database refusing connections) refuses the lease and is
/// tried again at the next one, rather than leaving the host unable to lease for ever.
#[test]
fn a_heartbeat_that_could_not_start_is_started_by_the_next_lease() {
    let db = TestDb::new();
    let p = platform(&db.url);
    let leases = Leases::on_server(p.db().server().expect("server"), Duration::from_secs(10));
    // From the cluster's own database: a session cannot refuse connections to its own.
    let mut admin = postgres::Client::connect(common::postgres::cluster_url(), postgres::NoTls)
        .expect("the cluster");
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false",
            db.name
        ))
        .expect("refuse connections");
    match leases.hold() {
        Err(Error::Busy(why)) => assert!(why.contains("heartbeat"), "{why}"),
        other => panic!("expected Busy, got {other:?}"),
    }
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            db.name
        ))
        .expect("allow connections");
    leases.hold().expect("started this time");
    assert_eq!(
        one::<i64>(
            &p,
            &format!(
                "SELECT count(*) FROM hosts WHERE owner = '{}'",
                leases.owner()
            )
        ),
        1
    );
}

/// A start whose registration committed but which failed after (its answer lost) is tried
/// again over its own row: a plain insert failed on the key at every later lease, and the
/// host could lease nothing until restarted (round 17 kill review).
#[test]
fn a_heartbeat_start_that_registered_before_failing_starts_again() {
    let db = TestDb::new();
    let p = platform(&db.url);
    let leases = Leases::on_server(p.db().server().expect("server"), Duration::from_secs(10));
    // What the lost answer left: the host's row, its heartbeat just now.
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).expect("the database");
    admin
        .execute(
            "INSERT INTO hosts (owner, started_at, heartbeat_at, ttl_ms) VALUES ($1, 1, \
             CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT), 10000)",
            &[&leases.owner()],
        )
        .expect("a registered row");
    leases.hold().expect("started over its own row");
    let restarted = one::<i64>(
        &p,
        &format!(
            "SELECT count(*) FROM hosts WHERE owner = '{}' AND started_at > 1",
            leases.owner()
        ),
    );
    assert_eq!(restarted, 1, "its row is this start's");
}

/// A host whose heartbeat cannot be renewed for a TTL stops the runs it executes at their next
/// step boundary (here, in the middle of a wait), resumable and unleased, so another host
/// resumes them at once rather than after the wait, and they finish once.
#[test]
fn a_host_whose_heartbeat_lapses_stops_its_runs_for_another_host_to_take_over() {
    let (db, p) = deployment();
    const TTL_MS: u64 = 800;
    let (_dir, mut host) = pausing_host(&p, &db.url, "lapse", TTL_MS);
    let waiting = within(Duration::from_secs(60), || {
        one::<i64>(&p, "SELECT count(*) FROM run_timers") == 1
    });
    assert!(waiting, "the serve host never reached the wait");
    let holder: String = one(&p, "SELECT lease_owner FROM runs WHERE workflow = 'lapse'");

    // The host's heartbeat row locked: it cannot renew.
    let mut blocker = db.client();
    let mut tx = blocker.transaction().expect("begin");
    tx.execute(
        "SELECT 1 FROM hosts WHERE owner = $1 FOR UPDATE",
        &[&holder],
    )
    .expect("lock the row");
    let blocked = Instant::now();
    let let_go = within(Duration::from_millis(4 * TTL_MS), || {
        one::<i64>(
            &p,
            "SELECT count(*) FROM runs WHERE workflow = 'lapse' AND status = 'running' AND lease_owner IS NULL",
        ) == 1
    });
    assert!(
        let_go,
        "the run was not let go {} ms after the heartbeat stopped",
        blocked.elapsed().as_millis()
    );
    tx.rollback().expect("unlock");
    host.kill().expect("SIGKILL");
    host.wait().expect("reaped");
    let run: i64 = one(&p, "SELECT id FROM runs WHERE workflow = 'lapse'");
    // Resumed at once (its wait's deadline kept: 30 s from its start), by another host.
    let outcome = engine(&p)
        .with_sleep_limit(Duration::ZERO)
        .resume(run, &Quiet)
        .expect("taken over at once");
    assert_eq!(outcome.status, flowhost::runs::RunStatus::OnHold);
    assert_eq!(
        one::<i64>(&p, "SELECT count(*) FROM run_steps WHERE step_key = 'one'"),
        1,
        "the step before the wait ran once"
    );
}

/// A `serve` whose heartbeat went stale (its database row locked for longer than its TTL) may
/// have been declared dead: it can never lease again, so it stops, saying so, for its
/// supervisor to start it again as a new host.
#[test]
fn a_serve_whose_heartbeat_went_stale_exits_saying_so() {
    let db = TestDb::new();
    let p = platform(&db.url);
    let dir = tempfile::tempdir().expect("tempdir");
    const TTL_MS: u64 = 600;
    let host = serve(dir.path(), &db.url, TTL_MS, &["--poll-ms", "50"]);
    assert!(within(Duration::from_secs(30), || {
        one::<i64>(&p, "SELECT count(*) FROM hosts") == 1
    }));
    let owner: String = one(&p, "SELECT owner FROM hosts");
    let mut blocker = db.client();
    let mut tx = blocker.transaction().expect("begin");
    tx.execute("SELECT 1 FROM hosts WHERE owner = $1 FOR UPDATE", &[&owner])
        .expect("lock the row");
    std::thread::sleep(Duration::from_millis(3 * TTL_MS));
    tx.rollback().expect("unlock");
    let started = Instant::now();
    let mut host = host;
    let status = loop {
        if let Some(status) = host.try_wait().expect("serve") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve still running with a stale heartbeat"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(host.stderr.as_mut().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missed its heartbeat"), "{stderr}");
}

/// A run leased to a host whose heartbeat is current is never taken over, whatever list of
/// live hosts the taker read before: the database judges the holder's heartbeat in the
/// statement that takes the lease (kill and concurrency review: a list read before a
/// restarted host registered told it dead while it executed its first runs).
#[test]
fn a_lease_is_taken_over_only_from_a_host_whose_heartbeat_is_stale_now() {
    let (_db, p) = deployment();
    let e = engine(&p);
    let text = json!({ "name": "napping", "workspace": "mssp-soc", "steps": [
        { "id": "pause", "wait": "1h" }
    ] })
    .to_string();
    let wf = parse("napping.json", &text, &Resolver::default()).expect("valid");
    e.run_manual(&wf, &text, "napping.json", user(OWNER), json!({}), &Quiet)
        .expect("run");
    let run: i64 = one(&p, "SELECT id FROM runs WHERE workflow = 'napping'");
    let now = "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)";
    let db = p.db();
    db.conn()
        .execute_batch(&format!(
            "INSERT INTO hosts (owner, started_at, heartbeat_at, ttl_ms)
                 VALUES ('live-host', {now}, {now}, 60000);
             UPDATE runs SET lease_owner = 'live-host', status = 'running' WHERE id = {run};"
        ))
        .expect("leased to a live host");
    drop(db);
    assert!(
        !p.take_lease(run, "taker", Some("live-host")).expect("take"),
        "the holder's heartbeat is current"
    );
    assert_eq!(
        one::<String>(
            &p,
            "SELECT lease_owner FROM runs WHERE workflow = 'napping'"
        ),
        "live-host"
    );
    p.db()
        .conn()
        .execute(
            "UPDATE hosts SET heartbeat_at = 0 WHERE owner = 'live-host'",
            [],
        )
        .expect("stale");
    assert!(
        p.take_lease(run, "taker", Some("live-host")).expect("take"),
        "a stale heartbeat's run is taken over"
    );
}

/// A run stopped after another host took it over (this one's heartbeat lapsed meanwhile)
/// leaves that host's lease alone: freeing it would let a third host execute the run beside
/// the second.
#[test]
fn a_run_stopped_after_another_host_took_it_over_leaves_that_hosts_lease() {
    let (_db, p) = deployment();
    let e = Arc::new(engine(&p));
    let text = json!({ "name": "slowpoke", "workspace": "mssp-soc", "steps": [
        { "id": "one", "uses": ECHO, "with": {} },
        { "id": "pause", "wait": "20s" },
        { "id": "two", "uses": ECHO, "with": {} }
    ] })
    .to_string();
    let runner = {
        let e = e.clone();
        std::thread::spawn(move || {
            let wf = parse("slowpoke.json", &text, &Resolver::default()).expect("valid");
            e.run_manual(&wf, &text, "slowpoke.json", user(OWNER), json!({}), &Quiet)
        })
    };
    assert!(within(Duration::from_secs(30), || {
        one::<i64>(&p, "SELECT count(*) FROM run_timers") == 1
    }));
    p.db()
        .conn()
        .execute("UPDATE runs SET lease_owner = 'other-host'", [])
        .expect("taken over");
    e.stop_flag()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let stopped = runner.join().expect("runner").expect("run");
    assert_eq!(stopped.status, flowhost::runs::RunStatus::Running);
    assert_eq!(
        one::<String>(&p, "SELECT lease_owner FROM runs"),
        "other-host"
    );
}

/// Issue 18, the write lock narrowed: a run's own writes (its start, journal entries, step
/// records and end, which its lease guards) go on while another host holds the deployment's
/// write lock; a case write, which numbers the case and its audit entry under that lock,
/// waits for it, and so does a run whose step publishes an event (the event log is dispatched
/// in the order of its ids, which holds only while every insert into it takes the lock).
/// A workflow of mssp-soc whose one step publishes an event (`notification.requested`).
fn publishing() -> String {
    json!({ "name": "publishing", "workspace": "mssp-soc", "steps": [
        { "id": "tag", "uses": NOTIFY, "grants": ["events:emit"],
          "with": { "to": ["sam.lead@acme-mssp.test"], "subject": "s" } }
    ] })
    .to_string()
}

/// Runs the workflow `text` of mssp-soc once by hand, as its Owner.
fn run_by_hand(e: &Engine, text: &str) -> Result<flowhost::workflow::RunOutcome, Error> {
    let wf = parse("wf.json", text, &Resolver::default()).expect("valid");
    e.run_manual(&wf, text, "wf.json", user(OWNER), json!({}), &Quiet)
}

/// Issue 18: a run's own writes, the events its steps publish and the cases it creates take
/// no deployment-wide lock (on the host's writing connections): they go on while another
/// host holds the write lock, and wait only for their own workspace's lock, which numbers its
/// cases, audit entries and events (SPEC ID-4).
#[test]
fn runs_and_cases_go_on_under_the_write_lock_and_wait_only_for_their_workspaces_lock() {
    let (db, p) = deployment();
    let e = Arc::new(engine(&p));
    let text = json!({ "name": "pure", "workspace": "mssp-soc", "steps": [
        { "id": "one", "uses": ECHO, "with": { "n": 1 } },
        { "id": "two", "uses": ECHO, "with": { "n": 2 } }
    ] })
    .to_string();
    let run = || run_by_hand(&e, &text);
    let publish_run = {
        let e = e.clone();
        move || {
            let done = run_by_hand(&e, &publishing()).expect("publishing run");
            assert_eq!(done.status, flowhost::runs::RunStatus::Succeeded);
        }
    };
    // Once before, so that nothing of the first runs' (the steps' compilation) is in the
    // way of those measured.
    run().expect("first run");
    publish_run();

    // Another host holds the deployment's write lock: none of these waits for it.
    let other = Db::open_postgres(&db.url).expect("another host");
    other
        .conn()
        .begin(Begin::Write)
        .expect("the other host takes the write lock");
    let started = Instant::now();
    assert_eq!(
        run().expect("a run beside it").status,
        flowhost::runs::RunStatus::Succeeded
    );
    publish_run();
    create_case(&p, "beside the write lock");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited for the write lock: {:?}",
        started.elapsed()
    );
    other.conn().commit().expect("the other host commits");

    // Another host holds mssp-soc's lock: a run of its own rows and a case in another
    // workspace go on; a case and a published event in mssp-soc wait for it.
    other.conn().begin(Begin::Leased).expect("begin");
    other
        .conn()
        .lock_workspace("mssp-soc")
        .expect("the other host takes mssp-soc's lock");
    // Taken with the next statement: send it now.
    other.conn().flush().expect("the lock is taken");
    let started = Instant::now();
    run().expect("a run of its own rows");
    create_case_in(&p, "customer-globex", "in another workspace");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited for another workspace's lock: {:?}",
        started.elapsed()
    );
    let writer = {
        let p = p.clone();
        std::thread::spawn(move || create_case(&p, "after the lock"))
    };
    let publisher = std::thread::spawn(publish_run);
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(
        !writer.is_finished(),
        "a case in mssp-soc waits for its lock"
    );
    assert!(
        !publisher.is_finished(),
        "an event of mssp-soc waits for its lock"
    );
    other.conn().commit().expect("the other host commits");
    writer
        .join()
        .expect("the case is written once the lock is free");
    publisher
        .join()
        .expect("the event is published once the lock is free");
    assert_eq!(
        one::<i64>(&p, "SELECT count(*) FROM runs WHERE status = 'succeeded'"),
        6
    );
    assert_eq!(one::<i64>(&p, "SELECT count(*) FROM cases"), 3);
    assert_eq!(
        one::<i64>(
            &p,
            "SELECT count(*) FROM events WHERE kind = 'notification.requested'"
        ),
        3
    );
}

/// Issue 18, lock order: a journal entry whose step published events takes its workspace's
/// lock before it inserts its row, so a host that waits for that lock holds no row another
/// host writing the same run (a lapsed lease) could wait for: deadlock-free.
#[test]
fn a_publishing_entry_waits_for_its_workspaces_lock_before_its_journal_row() {
    let (db, p) = deployment();
    let e = Arc::new(engine(&p));
    let other = Db::open_postgres(&db.url).expect("another host");
    other.conn().begin(Begin::Leased).expect("begin");
    other
        .conn()
        .lock_workspace("mssp-soc")
        .expect("the other host takes mssp-soc's lock");
    // Taken with the next statement: send it now.
    other.conn().flush().expect("the lock is taken");
    let run = std::thread::spawn(move || run_by_hand(&e, &publishing()));
    assert!(
        within(Duration::from_secs(20), || one::<i64>(
            &p,
            "SELECT count(*) FROM runs"
        ) == 1),
        "the run started"
    );
    let id: i64 = one(&p, "SELECT id FROM runs");
    // Let it reach the lock's wait.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!run.is_finished(), "the run waits for mssp-soc's lock");
    // A third session writes the same journal row: it must not wait for the run's.
    let third = Db::open_postgres(&db.url).expect("a third session");
    third
        .conn()
        .execute_batch("SET lock_timeout = 500")
        .expect("bound waits");
    third
        .conn()
        .execute(
            "INSERT INTO run_steps (run_id, step_key, seq, status, attempts, duration_us)
             VALUES (?1, 'tag', 0, 'succeeded', 1, 0)",
            [id],
        )
        .expect("no journal row of the waiting run is in the way");
    other.conn().commit().expect("the other host commits");
    run.join().expect("thread").expect("the run ends");
}

/// Issue 18: the same step executed on two hosts at once (a lapsed lease) creates its case
/// once: every attempt with the key gets that case, none a duplicate-key error, though the
/// look-up is made without the deployment's write lock.
#[test]
fn one_idempotency_key_on_two_hosts_at_once_creates_one_case() {
    let (db, p) = deployment();
    let hosts = [p.clone(), platform(&db.url)];
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let p = hosts[i % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                p.create_case_once(&owner_in("mssp-soc"), low_case("once"), Some("run-1:open"))
            })
        })
        .collect();
    let ids: std::collections::BTreeSet<String> = threads
        .into_iter()
        .map(|t| {
            t.join()
                .expect("thread")
                .expect("the case, created or found")
                .id
        })
        .collect();
    assert_eq!(ids.len(), 1, "one case for the key: {ids:?}");
    assert_eq!(one::<i64>(&p, "SELECT count(*) FROM cases"), 1);
}

/// A case written on a writing connection (no deployment lock) is decided on access data no
/// change commits over before the write does (round 23 kill and concurrency review): another
/// host removing the writer while the write was between its decision and its commit let it
/// land after the removal. Here that host holds the access lock, as `Platform::write` does
/// just before it commits: the case write waits for it, is decided on the removal, refused,
/// and writes nothing; the Owner's, after, goes through.
#[test]
fn a_case_write_waits_for_an_access_change_being_committed_and_is_decided_on_it() {
    let (db, p) = deployment();
    let lead = "sam.lead@acme-mssp.test";
    let writer = |who: &str| Caller {
        workspace: "mssp-soc".into(),
        principal: user(who),
        cause: None,
        step: None,
    };
    // The allowed path first: the lead may create a case.
    p.create_case(&writer(lead), low_case("before"))
        .expect("the lead writes");
    // Without the deployment's write lock, which the case write need not wait for: only the
    // access lock holds it.
    let other = Db::open_postgres(&db.url).expect("another host");
    other.conn().begin(Begin::Leased).expect("begin");
    other
        .conn()
        .query_row(
            &format!(
                "SELECT pg_advisory_xact_lock({})::text",
                flowhost::store::sql::ACCESS_LOCK
            ),
            [],
            |r| r.get::<String>(0),
        )
        .expect("the access lock");
    other
        .conn()
        .execute(
            "DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = ?1)
             AND workspace_id = (SELECT id FROM workspaces WHERE name = 'mssp-soc')",
            [lead],
        )
        .expect("removed");
    other
        .conn()
        .execute("UPDATE access_epoch SET n = n + 1 WHERE id = 1", [])
        .expect("epoch");
    let write = {
        let p = p.clone();
        let caller = writer(lead);
        std::thread::spawn(move || p.create_case(&caller, low_case("after the removal")))
    };
    // It waits for the change to commit rather than commit on the access data of before.
    assert!(
        !within(Duration::from_millis(500), || write.is_finished()),
        "the case write waited for the access change"
    );
    other.conn().commit().expect("the removal commits");
    let refused = write.join().expect("thread");
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        one::<i64>(
            &p,
            "SELECT count(*) FROM cases WHERE title = 'after the removal'"
        ),
        0
    );
    p.create_case(&owner_in("mssp-soc"), low_case("the owner's"))
        .expect("the Owner writes");
}

/// Issue 18: cases created at once by two hosts in one workspace are numbered one after the
/// other, as are their audit entries, with no number twice and none skipped (SPEC ID-4), though
/// neither host takes the deployment's write lock for them.
#[test]
fn two_hosts_creating_cases_in_one_workspace_number_them_one_by_one() {
    let (db, p) = deployment();
    let hosts = [p.clone(), platform(&db.url)];
    let audit_before: i64 = one(
        &p,
        "SELECT count(*) FROM audit_log WHERE workspace = 'mssp-soc'",
    );
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let p = hosts[i % 2].clone();
            std::thread::spawn(move || {
                for n in 0..10 {
                    create_case(&p, &format!("case {i}.{n}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("every case is created");
    }
    let (count, distinct, max): (i64, i64, i64) = p
        .db()
        .conn()
        .query_row(
            "SELECT count(*), count(DISTINCT number), max(number) FROM cases",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("numbers");
    assert_eq!((count, distinct, max), (80, 80, 80), "case numbers");
    let (count, distinct, max): (i64, i64, i64) = p
        .db()
        .conn()
        .query_row(
            "SELECT count(*), count(DISTINCT number), max(number) FROM audit_log
             WHERE workspace = 'mssp-soc'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("audit numbers");
    assert_eq!(count, audit_before + 80, "an audit entry per case");
    assert_eq!((distinct, max), (count, count), "audit numbers");
}

/// Issue 18: a case's restrictions are updated without the deployment's lock, under its
/// workspace's lock, taken before the case is read. Updates of one case from two hosts at
/// once, while another host holds the deployment lock throughout, all go through, one after
/// the other: each timeline entry's `before` is the previous entry's `after`.
#[test]
fn case_restriction_updates_from_two_hosts_apply_one_after_the_other_beside_the_write_lock() {
    use flowhost::services::cases::RestrictionUpdate;
    const ROUNDS: usize = 8;
    let (db, p) = deployment();
    let owner = owner_in("mssp-soc");
    let case = p.create_case(&owner, low_case("shared")).expect("case");
    let other = Db::open_postgres(&db.url).expect("another host");
    other
        .conn()
        .begin(Begin::Write)
        .expect("the other host takes the write lock");
    let hosts = [p.clone(), platform(&db.url)];
    let people = [
        ["sam.lead@acme-mssp.test", "tina.analyst@acme-mssp.test"],
        ["omar.operator@acme-mssp.test", "automation@acme-mssp.test"],
    ];
    let updated = std::thread::scope(|s| {
        let all: Vec<_> = hosts
            .iter()
            .zip(people)
            .map(|(host, emails)| {
                let (owner, case) = (&owner, &case);
                s.spawn(move || -> Result<(), Error> {
                    for _ in 0..ROUNDS {
                        for email in emails {
                            let add = RestrictionUpdate {
                                add_collaborators: vec![email.into()],
                                ..RestrictionUpdate::default()
                            };
                            host.update_case_restrictions(owner, &case.id, add)?;
                            let remove = RestrictionUpdate {
                                remove_collaborators: vec![email.into()],
                                ..RestrictionUpdate::default()
                            };
                            host.update_case_restrictions(owner, &case.id, remove)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        all.into_iter()
            .map(|t| t.join().expect("host"))
            .collect::<Result<Vec<()>, Error>>()
    });
    other.conn().commit().expect("the other host commits");
    updated.expect("every update went through beside the write lock");

    let entries: Vec<Value> = {
        let db = p.db();
        let mut stmt = db
            .conn()
            .prepare(
                "SELECT details FROM case_timeline WHERE kind = 'restrictions_updated' ORDER BY id",
            )
            .expect("prepare");
        stmt.query_map([], |r| r.get::<String>(0))
            .expect("query")
            .map(|d| serde_json::from_str(&d.expect("row")).expect("details"))
            .collect()
    };
    assert_eq!(entries.len(), 2 * 2 * 2 * ROUNDS);
    for pair in entries.windows(2) {
        assert_eq!(
            pair[1]["before"]["collaborators"], pair[0]["after"]["collaborators"],
            "an update decided on a case another had changed meanwhile"
        );
    }
}

/// A host that registered after another host last read the live hosts is alive to it at
/// once: the other's cached list answered "dead" for up to TTL/8, and a host's first runs,
/// claimed within milliseconds of its start, were taken over while it executed them (kill
/// and concurrency review).
#[test]
fn a_host_that_started_after_the_live_hosts_were_read_is_alive_at_once() {
    let db = TestDb::new();
    let p = platform(&db.url);
    let server = p.db().server().expect("on PostgreSQL");
    let ttl = Duration::from_secs(10);
    let old = Leases::on_server(server.clone(), ttl);
    old.hold().expect("holds");
    assert!(
        !old.alive("a-host-that-never-was"),
        "the live hosts are read"
    );
    let newcomer = Leases::on_server(server, ttl);
    newcomer.hold().expect("holds");
    assert!(
        old.alive(newcomer.owner()),
        "a host that started after the list was read is alive"
    );
}

/// An answer is decided on access data as of the deployment's write lock it is stored under
/// (SPEC IX-8): a responder the console (another process) removed is refused by a host that
/// has not looked at access data since, while one still allowed is accepted there. Before,
/// the decision rested on the index the host held before it waited for the lock, and a
/// library door never refreshed it (cross-host review).
#[test]
fn an_answer_from_someone_another_process_removed_is_refused_at_once() {
    const LEAD: &str = "sam.lead@acme-mssp.test";
    const ANALYST: &str = "tina.analyst@acme-mssp.test";
    let (db, console) = deployment();
    publish(
        &console,
        &json!({ "name": "ask", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_created" },
            "steps": [
                { "id": "approve", "interaction": {
                    "title": "Contain {{ $.event.case.title }}?",
                    "form": { "fields": [ { "name": "approve", "type": "boolean" } ] },
                    "access": { "workspace_users": { "emails": [LEAD, ANALYST] } } } },
                { "exit": { "status": "answered" } }
            ] }),
    );
    create_case(&console, "origin 1");
    create_case(&console, "origin 2");
    let host_platform = platform(&db.url);
    let host = engine(&host_platform);
    let held = host.dispatch_triggers_in(None, &Quiet).expect("dispatch");
    let asked: Vec<_> = held.iter().map(|o| o.waiting_on[0].clone()).collect();
    assert_eq!(asked.len(), 2);
    console
        .admin()
        .delete_user(&user(OWNER), "mssp-soc", LEAD)
        .expect("the lead leaves");
    let answer = json!({ "approve": true });
    let refused = host_platform
        .interactions()
        .respond(&user(LEAD), &asked[0], &answer);
    assert!(matches!(refused, Err(Error::NotFound(_))), "{refused:?}");
    host_platform
        .interactions()
        .respond(&user(ANALYST), &asked[1], &answer)
        .expect("a responder still allowed is accepted");
}

/// An answer taken without its run resumed (another door's, `--no-resume`) wakes `serve` on
/// another host at once: the run, leased to nobody, waited for the next poll (30 s here;
/// round 18 kill-and-concurrency review).
#[test]
fn an_answer_left_to_any_host_wakes_another_hosts_serve_before_its_poll() {
    const LEAD: &str = "sam.lead@acme-mssp.test";
    let (db, p) = deployment();
    publish(
        &p,
        &json!({ "name": "ask", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_created" },
            "steps": [
                { "id": "approve", "interaction": {
                    "title": "Contain {{ $.event.case.title }}?",
                    "form": { "fields": [ { "name": "approve", "type": "boolean" } ] },
                    "access": { "workspace_users": { "emails": [LEAD] } } } },
                { "exit": { "status": "answered" } }
            ] }),
    );
    create_case(&p, "origin");
    let held = engine(&p)
        .dispatch_triggers_in(None, &Quiet)
        .expect("dispatch");
    let asked = held[0].waiting_on[0].clone();
    let host = Arc::new(engine(&platform(&db.url)));
    let scheduler = Scheduler::new(
        host.clone(),
        SchedulerOptions {
            poll: Duration::from_secs(30),
            once: false,
            concurrency: 2,
            stop_on_signals: false,
        },
        |_: Notice<'_>| {},
    );
    let waker = scheduler.waker();
    let serving = std::thread::spawn(move || scheduler.run());
    assert!(within(Duration::from_secs(30), || {
        one::<i64>(&p, "SELECT count(*) FROM hosts") == 1
    }));
    std::thread::sleep(Duration::from_millis(500));
    p.interactions()
        .respond(&user(LEAD), &asked, &json!({ "approve": true }))
        .expect("answered");
    let resumed = within(Duration::from_secs(5), || {
        one::<i64>(
            &p,
            "SELECT count(*) FROM runs WHERE exit_status = 'answered'",
        ) == 1
    });
    host.stop_flag()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    waker.notify_one();
    serving.join().expect("serve").expect("serve ends cleanly");
    assert!(resumed, "not resumed within 5 s (the poll is 30 s)");
}

/// What the `restrict-cases` step, under `timeout`, made of its host call's wait for
/// `mssp-soc`'s lock, which another host holds throughout: the failure its host calls noted
/// as the infrastructure's, if any, and how long it took.
fn behind_another_hosts_lock(timeout: Duration) -> (Option<String>, Duration) {
    let (db, p) = deployment();
    create_case(&p, "one");
    let runtime = StepRuntime::new(&EngineSettings::default(), None).expect("runtime");
    let step = runtime
        .load(std::path::Path::new(common::RESTRICT_CASES))
        .expect("component loads");
    let mut holder = db.client();
    let mut lock = holder.transaction().expect("begin");
    lock.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&"flowhost workspace mssp-soc"],
    )
    .expect("the workspace's lock");
    let (services, watch) = flowhost::services::HostServices::of(p.clone()).watched();
    let started = Instant::now();
    let exec = runtime.execute(
        &step,
        &json!({ "collaborators": ["sam.lead@acme-mssp.test"], "severity": "low" }),
        owner_in("mssp-soc"),
        services,
        flowhost::wasm::StepLimits {
            timeout,
            ..flowhost::wasm::StepLimits::default()
        },
    );
    let waited = started.elapsed();
    drop(lock);
    assert!(exec.result.is_err(), "{:?}", exec.result);
    (watch.failure(), waited)
}

/// A WASM step's host call waiting for a workspace lock another host holds up to the step's
/// deadline, within the busy timeout, is the infrastructure's failure too, as SQLite's busy
/// handler decides it (SPEC WF-11): the server ended the lock's wait and the statement at the
/// same instant and reported the statement's timeout, so the step failed as its own (round 30
/// kill and concurrency review).
#[test]
fn a_steps_wait_for_another_hosts_lock_to_its_deadline_is_the_infrastructures() {
    let (noticed, waited) = behind_another_hosts_lock(Duration::from_secs(2));
    let noticed = noticed.expect("the lock's wait was the host's");
    assert!(noticed.contains("unavailable"), "{noticed}");
    assert!(
        waited < Duration::from_secs(4),
        "at its deadline: {waited:?}"
    );
}

/// A WASM step's host call waiting for a workspace lock another host holds past the busy
/// timeout gives up then, as the infrastructure's failure the engine stops the run resumable
/// for (SPEC WF-11), as SQLite's busy handler decides it: it waited to the step's deadline and
/// the step failed there (round 18 storage review).
#[test]
fn a_steps_wait_for_another_hosts_lock_ends_at_the_busy_timeout_as_the_infrastructures() {
    let (noticed, waited) = behind_another_hosts_lock(Duration::from_secs(30));
    let noticed = noticed.expect("the lock's wait was noticed");
    assert!(noticed.contains("unavailable"), "{noticed}");
    assert!(
        waited < Duration::from_secs(20),
        "given up at the busy timeout, not the step's deadline: {waited:?}"
    );
}
