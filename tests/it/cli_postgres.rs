//! Issue 18: the real `flowhost` binary with `--db postgres://…` (or `FLOWHOST_DB`) on a fresh
//! PostgreSQL database: the example tenant applied, a workflow with a WASM step that creates a
//! case, the runs listed and shown, the case queried, an interaction answered, the audit log
//! read, `db prune`, and `serve --http` answering a request from what the CLI stored. A
//! server's URL is never printed with its password; a server that cannot be reached fails at
//! once naming it; `db migrate` refuses a server as its source. The host's own files (the
//! component cache) go to the state directory: `.flowhost`, `--state-dir` or
//! `FLOWHOST_STATE_DIR`.

use crate::common::postgres::TestDb;
use crate::common::{ECHO, example_tenant_path, flowhost_bin, library, text};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const OWNER: &str = "olivia.owner@acme-mssp.test";
const LEAD: &str = "sam.lead@acme-mssp.test";
const ANALYST: &str = "tina.analyst@acme-mssp.test";

/// The password put into the URLs when the test cluster's has none (its local connections
/// are trusted, so the server never asks for it): it must never be printed.
const SECRET: &str = "pw-never-shown";

/// How the database is named to the binary.
#[derive(Clone, Copy, Debug)]
enum Named {
    /// `--db URL` (and the default state directory, `.flowhost`).
    Flag,
    /// `FLOWHOST_DB=URL` (and `FLOWHOST_STATE_DIR`).
    Env,
}

/// A working directory and a fresh PostgreSQL database, driven through the real binary.
struct PgHost {
    dir: tempfile::TempDir,
    pg: TestDb,
    /// The database's URL as given to the binary, with a password in it.
    url: String,
    /// The password of `url`.
    secret: String,
    named: Named,
}

impl PgHost {
    fn new(named: Named) -> Self {
        let pg = TestDb::new();
        let (url, secret) = with_password(&pg.url);
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            pg,
            url,
            secret,
            named,
        }
    }

    /// The state directory the binary is told of (or defaults to).
    fn state_dir(&self) -> PathBuf {
        match self.named {
            Named::Flag => self.dir.path().join(".flowhost"),
            Named::Env => self.dir.path().join("state"),
        }
    }

    /// `flowhost ARGS…` on this database, named as `self.named` says.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(flowhost_bin());
        cmd.current_dir(self.dir.path())
            .env_remove("FLOWHOST_DB")
            .env_remove("FLOWHOST_STATE_DIR");
        match self.named {
            Named::Flag => {
                cmd.arg("--db").arg(&self.url);
            }
            Named::Env => {
                cmd.env("FLOWHOST_DB", &self.url)
                    .env("FLOWHOST_STATE_DIR", self.state_dir());
            }
        }
        cmd.args(args);
        cmd
    }

    fn cli(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("flowhost runs");
        let all = text(&out);
        assert!(
            !all.contains(&self.secret),
            "flowhost {} printed the password: {all}",
            args.join(" ")
        );
        out
    }

    /// A command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "flowhost {} ({:?}): {}",
            args.join(" "),
            self.named,
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{}: {e}: {out}", args.join(" ")))
    }

    /// One number from the database, read directly.
    fn count(&self, sql: &str) -> i64 {
        self.pg.client().query_one(sql, &[]).expect(sql).get(0)
    }
}

/// `url` with a password: its own if it has one, else [`SECRET`]; and that password.
fn with_password(url: &str) -> (String, String) {
    let start = url.find("://").expect("a URL") + 3;
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let authority = &url[start..authority_end];
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        panic!("the test cluster's URL names its user: {url}");
    };
    if let Some((_, password)) = userinfo.split_once(':') {
        return (url.to_owned(), password.to_owned());
    }
    let at = start + userinfo.len();
    (
        format!("{}:{SECRET}{}", &url[..at], &url[at..]),
        SECRET.to_owned(),
    )
}

/// The directory of the sample step components (`step:echo`, …).
fn steps_dir() -> String {
    Path::new(ECHO)
        .parent()
        .expect("component directory")
        .display()
        .to_string()
}

/// The commands of a pilot, on PostgreSQL: everything lands in the server's database, nothing
/// in an SQLite file, and the component cache in the state directory.
fn the_cli_on_postgres(named: Named) {
    let host = PgHost::new(named);
    let steps = steps_dir();
    let tenant = example_tenant_path();
    let applied = host.ok(&[
        "tenant",
        "apply",
        tenant.to_str().expect("utf-8"),
        "--bootstrap",
    ]);
    assert!(applied.contains("mssp-soc: workspace created"), "{applied}");
    assert_eq!(
        host.count("SELECT count(*) FROM workspaces"),
        2,
        "the tenant is in PostgreSQL"
    );

    // A workflow whose WASM step feeds a case's collaborators.
    let ran = host.json(&[
        "run",
        &library("collaborators-from-step.json"),
        "--as",
        LEAD,
        "--steps",
        &steps,
        "--json",
    ]);
    assert_eq!(ran["status"], "succeeded", "{ran}");
    assert_eq!(ran["exit_status"], "restricted", "{ran}");
    let run = ran["run_id"].as_str().expect("a run id").to_owned();
    assert_eq!(host.count("SELECT count(*) FROM cases"), 1);

    let listed = host.json(&["runs", "list", "--as", LEAD, "--json"]);
    assert!(
        listed
            .as_array()
            .expect("a list")
            .iter()
            .any(|r| r["id"] == run.as_str()),
        "{listed}"
    );
    let shown = host.json(&["runs", "show", &run, "--as", LEAD, "--json"]);
    assert_eq!(shown["run"]["status"], "succeeded", "{shown}");
    assert_eq!(shown["steps"][0]["step"], "oncall", "{shown}");

    let cases = host.json(&[
        "cases",
        "query",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
        "--json",
    ]);
    assert!(cases.to_string().contains("Phishing wave"), "{cases}");

    // An interaction, answered through `interact`.
    let waiting = host.json(&[
        "run",
        &library("mssp-analyst-triage.json"),
        "--as",
        LEAD,
        "--event",
        r#"{"alert":"beacon"}"#,
        "--json",
    ]);
    assert_eq!(waiting["status"], "on_hold", "{waiting}");
    let interaction = waiting["waiting_on"][0]
        .as_str()
        .expect("an interaction id")
        .to_owned();
    let triage = waiting["run_id"].as_str().expect("a run id").to_owned();
    host.ok(&[
        "interact",
        "respond",
        &interaction,
        "--as",
        ANALYST,
        "--values",
        r#"{"verdict":"escalate"}"#,
    ]);
    let finished = host.json(&["runs", "show", &triage, "--as", LEAD, "--json"]);
    assert_eq!(finished["run"]["status"], "succeeded", "{finished}");
    assert_eq!(finished["run"]["exit_status"], "escalated", "{finished}");

    let audit = host.json(&["audit", "--workspace", "mssp-soc", "--as", OWNER, "--json"]);
    assert!(
        audit.to_string().contains(&interaction),
        "the answer is audited: {audit}"
    );

    // A published revision's pinned component, written out from the database by the run.
    host.ok(&[
        "workflows",
        "publish",
        &library("collaborators-from-step.json"),
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    let published = host.json(&[
        "run",
        "--published",
        "collaborators-from-step",
        "--workspace",
        "mssp-soc",
        "--as",
        LEAD,
        "--json",
    ]);
    assert_eq!(published["status"], "succeeded", "{published}");

    let pruned = host.ok(&["db", "prune"]);
    assert!(pruned.contains("removed"), "{pruned}");

    // The host's own files in the state directory: the compiled echo step and the pinned
    // component written out; no SQLite file anywhere, and no lease files (on PostgreSQL a
    // process leases runs by its heartbeat in the database, issue 18).
    let leases = host.state_dir().join("leases");
    assert!(!leases.exists(), "{}", leases.display());
    for (dir, what) in [
        ("cache", "the precompiled step"),
        ("components", "the pinned component"),
    ] {
        let dir = host.state_dir().join(dir);
        assert!(
            std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()),
            "{} holds {what}",
            dir.display()
        );
    }
    let sqlite_files: Vec<_> = walk(host.dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert!(sqlite_files.is_empty(), "{sqlite_files:?}");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn the_cli_works_on_postgresql_named_by_db() {
    the_cli_on_postgres(Named::Flag);
}

#[test]
fn the_cli_works_on_postgresql_named_by_flowhost_db() {
    the_cli_on_postgres(Named::Env);
}

/// `serve --http` on PostgreSQL answers from what the CLI stored there, and says which
/// database it serves without the password.
#[test]
fn serve_http_on_postgresql_answers_a_request() {
    let host = PgHost::new(Named::Flag);
    let tenant = example_tenant_path();
    host.ok(&[
        "tenant",
        "apply",
        tenant.to_str().expect("utf-8"),
        "--bootstrap",
    ]);
    let ran = host.json(&[
        "run",
        &library("collaborators-from-step.json"),
        "--as",
        LEAD,
        "--steps",
        &steps_dir(),
        "--json",
    ]);
    let run = ran["run_id"].as_str().expect("a run id").to_owned();
    let key = host.json(&[
        "keys",
        "create",
        "--name",
        "http",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
        "--json",
    ]);
    let token = key["token"].as_str().expect("a token");

    let server = Serving::start(&host);
    // It says which database it serves, named without the password (rebuilt from what the
    // client read: its user, host, port and database).
    let rest = host.url.split_once("://").expect("a URL").1;
    let user = rest.split(['@', ':']).next().expect("a user");
    let database = host.url.rsplit('/').next().expect("a database");
    assert!(
        server
            .said_first
            .contains(&format!("flowhost serve: database postgres://{user}@"))
            && server.said_first.contains(&format!("/{database}")),
        "{}",
        server.said_first
    );
    assert!(
        !server.said_first.contains(&host.secret),
        "{}",
        server.said_first
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = agent
        .get(format!("{}/api/v1/runs?workspace=mssp-soc", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("the server answers");
    let status = answer.status().as_u16();
    let body = answer.body_mut().read_to_string().expect("a body");
    assert_eq!(status, 200, "{body}");
    let runs: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(runs[0]["id"], run.as_str(), "{runs}");
}

/// `flowhost serve --http 127.0.0.1:0` on a host's database; killed when dropped.
struct Serving {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// What it printed up to the line with its address.
    said_first: String,
}

impl Serving {
    fn start(host: &PgHost) -> Self {
        let mut child = host
            .command(&["serve", "--http", "127.0.0.1:0", "--poll-ms", "50"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowhost serve starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut said = String::new();
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Shown with a failing test's output.
                eprintln!("[serve] {line}");
                if sent {
                    continue;
                }
                said += &line;
                said.push('\n');
                if let Some(addr) = line.strip_prefix("flowhost serve: http://") {
                    let _ = tx.send((addr.trim_end_matches('/').to_owned(), said.clone()));
                    sent = true;
                }
            }
        });
        let (addr, said_first) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server prints its address");
        Self {
            child,
            base: format!("http://{addr}"),
            said_first,
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // This test's own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server that is not there fails at once, naming it (not the password); and so does one
/// given through `FLOWHOST_DB`.
#[test]
fn an_unreachable_server_fails_fast_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let url = "postgres://flowhost:hunter2@127.0.0.1:1/flowhost";
    for named in [Named::Flag, Named::Env] {
        let mut cmd = Command::new(flowhost_bin());
        cmd.current_dir(dir.path())
            .env_remove("FLOWHOST_DB")
            .env_remove("FLOWHOST_STATE_DIR");
        match named {
            Named::Flag => {
                cmd.args(["--db", url]);
            }
            Named::Env => {
                cmd.env("FLOWHOST_DB", url);
            }
        }
        let started = Instant::now();
        let out = cmd
            .args(["runs", "list", "--as", OWNER])
            .output()
            .expect("flowhost runs");
        let elapsed = started.elapsed();
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{named:?}: {said}");
        assert!(
            elapsed < Duration::from_secs(5),
            "{named:?}: took {elapsed:?}"
        );
        assert!(
            said.contains("cannot connect to PostgreSQL at 127.0.0.1 port 1"),
            "{named:?}: {said}"
        );
        assert!(
            said.contains("database postgres://flowhost@127.0.0.1:1/flowhost"),
            "{named:?}: {said}"
        );
        assert!(!said.contains("hunter2"), "{named:?}: {said}");
        assert!(
            walk(dir.path()).is_empty(),
            "{named:?}: nothing is created for a server that is not there"
        );
    }
}

/// `db migrate` copies an SQLite file: a server as its source is refused, naming what to do,
/// before anything is connected to or written.
#[test]
fn db_migrate_refuses_a_server_as_its_source() {
    let host = PgHost::new(Named::Flag);
    let target = TestDb::new();
    let out = host.cli(&["db", "migrate", "--to", &target.url]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("--db must name the file to copy"), "{said}");
    assert!(said.contains("--to URL"), "{said}");
    let tables: i64 = target
        .client()
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .expect("count tables")
        .get(0);
    assert_eq!(tables, 0, "nothing was written to the target");
}

/// With an SQLite file, `--state-dir` moves the host's own files away from the database's
/// directory; without it they stay beside the file, as before.
#[test]
fn a_state_dir_holds_the_cache_of_a_file_database_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("data").join("flowhost.db");
    let state = dir.path().join("state");
    let tenant = example_tenant_path();
    let steps = steps_dir();
    let flowhost = |extra: &[&str], args: &[&str]| {
        let out = Command::new(flowhost_bin())
            .current_dir(dir.path())
            .env_remove("FLOWHOST_DB")
            .env_remove("FLOWHOST_STATE_DIR")
            .arg("--db")
            .arg(&db)
            .args(extra)
            .args(args)
            .output()
            .expect("flowhost runs");
        assert!(out.status.success(), "{}", text(&out));
    };
    flowhost(
        &[],
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
    let run = [
        "run",
        &library("collaborators-from-step.json"),
        "--as",
        LEAD,
        "--steps",
        &steps,
    ];
    let state_arg = state.to_str().expect("utf-8");
    flowhost(&["--state-dir", state_arg], &run);
    assert!(state.join("cache").is_dir(), "the cache is in --state-dir");
    assert!(
        !db.with_file_name("cache").exists(),
        "nothing is cached beside the database"
    );
    flowhost(&[], &run);
    assert!(
        db.with_file_name("cache").is_dir(),
        "by default the cache is beside the database file"
    );
}

/// An empty `--db` or `FLOWHOST_DB` is a usage error naming both, not a file named "".
#[test]
fn an_empty_database_name_is_refused() {
    for env in [false, true] {
        let mut cmd = Command::new(flowhost_bin());
        cmd.env_remove("FLOWHOST_DB");
        if env {
            cmd.env("FLOWHOST_DB", "");
        } else {
            cmd.args(["--db", ""]);
        }
        let out = cmd
            .args(["runs", "list", "--as", OWNER])
            .output()
            .expect("flowhost runs");
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(
            said.contains("name a database file or a postgres:// URL (--db or FLOWHOST_DB)"),
            "{said}"
        );
    }
}

/// `--help` lists FLOWHOST_DB but never its value, which may hold a password.
#[test]
fn help_never_shows_the_databases_url() {
    let out = Command::new(flowhost_bin())
        .env("FLOWHOST_DB", "postgres://u:hunter2@db.internal/flowhost")
        .env("FLOWHOST_STATE_DIR", "/srv/flowhost-state")
        .arg("--help")
        .output()
        .expect("flowhost runs");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("FLOWHOST_DB"), "{said}");
    assert!(said.contains("FLOWHOST_STATE_DIR"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
    assert!(!said.contains("db.internal"), "{said}");
}

/// `db prune` on a server's database that holds no Flowhost schema is refused, as an empty
/// file is, and writes nothing there: it was given the whole schema, and said "0 removed"
/// (round 18 storage review).
#[test]
fn db_prune_refuses_a_database_that_holds_no_flowhost_schema() {
    let empty = TestDb::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(flowhost_bin())
        .current_dir(dir.path())
        .args(["--db", &empty.url, "db", "prune"])
        .output()
        .expect("flowhost runs");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("holds no Flowhost database"), "{said}");
    let tables: i64 = empty
        .client()
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .expect("count tables")
        .get(0);
    assert_eq!(tables, 0, "nothing was written");
}
