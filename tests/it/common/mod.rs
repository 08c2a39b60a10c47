//! Shared helpers of the integration tests: component paths, runtimes, the CLI binary.

#![allow(dead_code)] // Each test crate uses a different subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flowhost::principal::{Caller, Principal};
use flowhost::services::HostServices;
use flowhost::wasm::{EngineSettings, StepExecution, StepLimits, StepRuntime};

/// Components built from source by `build.rs`.
pub const ECHO: &str = env!("FLOWHOST_STEP_ECHO");
pub const TRANSFORM: &str = env!("FLOWHOST_STEP_TRANSFORM");
pub const NOTIFY: &str = env!("FLOWHOST_STEP_NOTIFY");
pub const HOSTILE: &str = env!("FLOWHOST_STEP_HOSTILE");

/// A runtime with default settings and no disk cache.
pub fn runtime() -> StepRuntime {
    StepRuntime::new(&EngineSettings::default(), None).expect("runtime")
}

/// A server's runtime (the pool) and a one-shot process's (on-demand allocation), no disk
/// cache: the sandbox must hold alike in both (`wasm/engine.rs`).
pub fn runtimes() -> [StepRuntime; 2] {
    [EngineSettings::server(), EngineSettings::one_shot()]
        .map(|settings| StepRuntime::new(&settings, None).expect("runtime"))
}

/// An anonymous caller in workspace `soc`.
pub fn caller() -> Caller {
    Caller {
        workspace: "soc".into(),
        principal: Principal::Anonymous,
        cause: None,
        step: None,
    }
}

/// Loads and runs `component` once with default-deny services.
pub fn run(
    rt: &StepRuntime,
    component: &str,
    input: serde_json::Value,
    limits: StepLimits,
) -> StepExecution {
    let step = rt.load(Path::new(component)).expect("component loads");
    rt.execute(&step, &input, caller(), HostServices::deny_all(), limits)
}

/// Loads and runs `component` once as `caller`, with the platform's real services.
pub fn run_on(
    rt: &StepRuntime,
    platform: std::sync::Arc<flowhost::platform::Platform>,
    component: &str,
    input: serde_json::Value,
    caller: Caller,
) -> StepExecution {
    let step = rt.load(Path::new(component)).expect("component loads");
    rt.execute(
        &step,
        &input,
        caller,
        HostServices::of(platform),
        StepLimits::default(),
    )
}

/// The `flowhost` binary of this build. `cargo test --workspace` builds it because the host
/// crate has integration tests of its own.
pub fn flowhost_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in <target>/<profile>/deps");
    let bin = dir.join(format!("flowhost{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// The environment the tests' processes run with: the fake IdP is plain http on loopback,
/// which only an operator's opt-in allows.
pub const ALLOW_LOOPBACK_IDP: (&str, &str) = ("FLOWHOST_ALLOW_LOOPBACK_IDP", "1");

/// Runs `flowhost --db <db> ARGS...` in `dir` and returns its output.
pub fn flowhost(dir: &Path, db: &Path, args: &[&str]) -> Output {
    Command::new(flowhost_bin())
        .env(ALLOW_LOOPBACK_IDP.0, ALLOW_LOOPBACK_IDP.1)
        .current_dir(dir)
        .arg("--db")
        .arg(db_arg(db))
        .args(args)
        .output()
        .expect("flowhost runs")
}

/// Like [`flowhost`], and asserts that the command succeeded (its stderr otherwise).
#[allow(dead_code)] // Not every test binary that shares this module uses it.
pub fn flowhost_ok(dir: &Path, db: &Path, args: &[&str]) -> Output {
    let out = flowhost(dir, db, args);
    assert!(
        out.status.success(),
        "flowhost {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The path of sample workflow `name` in the library under `tests/workflows/`.
pub fn library(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workflows")
        .join(name)
        .display()
        .to_string()
}

/// A command's stdout followed by its stderr, for messages and matching.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The example tenant shipped under `tests/tenants/`.
pub fn example_tenant_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tenants/acme-mssp.json")
}

/// A platform on a fresh in-memory database with the example tenant applied by the console.
pub fn example_platform() -> flowhost::platform::Platform {
    let platform = flowhost::platform::Platform::new(scratch_db()).expect("platform");
    let path = example_tenant_path();
    let text = std::fs::read_to_string(&path).expect("example tenant");
    let file = flowhost::tenant::TenantFile::parse("acme-mssp.json", &text).expect("valid tenant");
    flowhost::tenant::apply(&platform, &file, None).expect("applies");
    platform
}

/// A person signed in locally.
pub fn user(email: &str) -> Principal {
    Principal::local(flowhost::principal::Email::parse(email).expect("email"))
}

/// A person signed in through SSO.
pub fn sso_user(email: &str) -> Principal {
    Principal::sso(flowhost::principal::Email::parse(email).expect("email"))
}

/// The sample step that restricts open cases of a severity.
pub const RESTRICT_CASES: &str = env!("FLOWHOST_STEP_RESTRICT_CASES");
/// The fixture that reports what a principal sees of cases through WIT.
pub const CASE_PROBE: &str = env!("FLOWHOST_STEP_CASE_PROBE");

/// A temporary directory holding `flowhost.db` with the example tenant bootstrapped: the
/// starting point of the CLI tests. Test modules wrap it (`Deref`) to add their own helpers.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Deployment {
    /// A fresh database with the example tenant applied (`tenant apply --bootstrap`).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("flowhost.db");
        let tenant = example_tenant_path();
        let deployment = Self { dir, db };
        deployment.ok(&[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ]);
        deployment
    }

    /// Publishes `definition` (a workflow with a webhook trigger, `run_as` set) as `publisher`
    /// and gives its hook a fresh secret; the hook's id and signing secret.
    #[allow(dead_code)] // Not every test binary that shares this module uses it.
    pub fn publish_webhook(
        &self,
        definition: &serde_json::Value,
        publisher: &str,
    ) -> (String, String) {
        let name = definition["name"].as_str().expect("the workflow's name");
        let file = self.dir.path().join(format!("{name}.json"));
        std::fs::write(&file, definition.to_string()).expect("write definition");
        self.ok(&[
            "workflows",
            "publish",
            file.to_str().expect("utf-8"),
            "--as",
            publisher,
        ]);
        let workspace = definition["workspace"].as_str().expect("the workspace");
        let out = self.ok(&[
            "workflows",
            "webhook",
            name,
            "--workspace",
            workspace,
            "--rotate",
            "--as",
            publisher,
            "--json",
        ]);
        let hook: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        (
            hook["id"].as_str().expect("hook id").to_owned(),
            hook["secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// Runs `flowhost --db <db> ARGS...` in the directory.
    pub fn cli(&self, args: &[&str]) -> Output {
        flowhost(self.dir.path(), &self.db, args)
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "flowhost {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The example tenant's Owner creates a low-severity case titled `title` in
    /// `mssp-soc`, through the CLI.
    pub fn create_case(&self, title: &str) {
        self.ok(&[
            "cases",
            "create",
            "--title",
            title,
            "--severity",
            "low",
            "--workspace",
            "mssp-soc",
            "--as",
            "olivia.owner@acme-mssp.test",
        ]);
    }

    /// Runs a command that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            !out.status.success(),
            "flowhost {} succeeded: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}
pub mod fake_idp;
pub mod postgres;
pub mod web;
pub mod webdriver;

/// A tiny deterministic generator (xorshift), so a randomized test's failure reproduces from
/// its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Whether the storage-dependent tests run on PostgreSQL: `FLOWHOST_TEST_BACKEND=postgres`
/// (`scripts/test` runs those suites a second time so). Otherwise they run on SQLite.
pub fn on_postgres() -> bool {
    std::env::var("FLOWHOST_TEST_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("postgres"))
}

/// A fresh, empty database of the engine under test: in memory on SQLite, a new database of
/// the test cluster on PostgreSQL.
pub fn scratch_db() -> flowhost::store::Db {
    if on_postgres() {
        let url = postgres::TestDb::new().keep_for_test();
        flowhost::store::Db::open_postgres(&url).expect("a fresh PostgreSQL database")
    } else {
        flowhost::store::Db::open_in_memory().expect("db")
    }
}

/// Inserts `count` open cases titled `title` with `description` into `workspace` of the
/// database "at" `db` ([`db_at`]), by hand: many large cases, faster than through a door.
pub fn insert_cases(db: &Path, workspace: &str, count: usize, title: &str, description: &str) {
    use flowhost::store::sql::Begin;
    let db = db_at(db);
    let conn = db.conn();
    conn.begin(Begin::Write).expect("begin");
    let ws: i64 = conn
        .query_row(
            "SELECT id FROM workspaces WHERE name = ?1",
            [workspace],
            |r| r.get(0),
        )
        .expect("workspace");
    for n in 0..count {
        let number = 10_000 + i64::try_from(n).expect("count");
        conn.execute(
            "INSERT INTO cases (workspace_id, number, title, description, severity, state, created_at, updated_at, public_id, shown_number)
             VALUES (?1, ?2, ?3, ?4, 1, 'open', 0, 0, 'C-' || ?2, ?2)",
            (ws, number, title, description),
        )
        .expect("case");
    }
    conn.commit().expect("commit");
}

/// A case description that makes a text search for `%_%_…` slow: each alignment of the
/// 1,022-byte needle compares about a thousand bytes before it fails.
pub fn slow_description() -> String {
    let unit = format!("{}x", "%_".repeat(510));
    unit.repeat((60 << 10) / unit.len())
}

/// The database "at" `path`, of the engine under test: the SQLite file itself, or on
/// PostgreSQL one database of the test cluster per path (so that two platforms opened "at"
/// one path share a database, as two processes share a file).
pub fn db_at(path: &Path) -> flowhost::store::Db {
    if !on_postgres() {
        return flowhost::store::Db::open(path).expect("db");
    }
    flowhost::store::Db::open_postgres(&url_for(path))
        .expect("the PostgreSQL database of that path")
}

/// What `--db` is given for the database "at" `path` (see [`db_at`]): the path, or on
/// PostgreSQL the URL of that path's database.
pub fn db_arg(path: &Path) -> std::ffi::OsString {
    if on_postgres() {
        url_for(path).into()
    } else {
        path.into()
    }
}

/// The URL of the test cluster's database standing for `path`, created on first use.
fn url_for(path: &Path) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static BY_PATH: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    BY_PATH
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(path.to_owned())
        .or_insert_with(|| postgres::TestDb::new().keep_for_test())
        .clone()
}
