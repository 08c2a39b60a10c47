//! PostgreSQL for the tests (issue 18). `FLOWHOST_TEST_PG` is the URL of a cluster's
//! `flowhost` database (`scripts/test` starts one with `scripts/postgres`). When it is unset
//! (a plain `cargo test`), the first test that needs PostgreSQL starts a cluster with
//! `scripts/postgres` in a temporary directory, once per test binary; a watcher process
//! stops it and removes the directory once the test binary has exited (it is left running
//! only if the watcher is killed too: stop it with `scripts/postgres stop DIR`, the directory
//! named `flowhost-test-pg-<pid>` in the temporary directory). Each test gets a database of
//! its own (`CREATE DATABASE test_…`), dropped when the test ends, so tests run in parallel.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub use postgres::Client;

/// The URL of the cluster's `flowhost` database: `FLOWHOST_TEST_PG`, else a cluster started
/// for this test binary.
pub fn cluster_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("FLOWHOST_TEST_PG") {
        Ok(url) if !url.is_empty() => url,
        _ => start_cluster(),
    })
}

fn start_cluster() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres");
    // Short, under the system temp dir: a Unix socket's path is limited to ~100 bytes.
    let dir = std::env::temp_dir().join(format!("flowhost-test-pg-{}", std::process::id()));
    let out = Command::new(&script)
        .arg("start")
        .arg(&dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/postgres runs");
    assert!(
        out.status.success(),
        "scripts/postgres start {} failed (set FLOWHOST_TEST_PG to use a running cluster)",
        dir.display()
    );
    // Stops the cluster once this process is gone, however it ends: a watcher in the
    // background (its shell exits at once, so nothing is left to wait for).
    let watcher = Command::new("bash")
        .arg("-c")
        .arg(
            r#"(while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3") </dev/null >/dev/null 2>&1 &"#,
        )
        .arg("watch-test-binary")
        .arg(std::process::id().to_string())
        .arg(&script)
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the cluster's watcher starts");
    assert!(watcher.success(), "the cluster's watcher did not start");
    String::from_utf8(out.stdout)
        .expect("a UTF-8 URL")
        .trim()
        .to_owned()
}

/// `url` with its database name replaced by `name` (URL form only: `postgres://…/db[?…]`).
pub fn with_database(url: &str, name: &str) -> String {
    let scheme_end = url
        .find("://")
        .unwrap_or_else(|| panic!("FLOWHOST_TEST_PG must be a postgres:// URL, not {url}"))
        + 3;
    let (head, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &head[..authority_end])
}

/// A fresh, empty database of the cluster, dropped at the end of the test.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> Self {
        Self::created_with("")
    }

    /// A fresh database created with `options` (`ENCODING 'LATIN1' …`).
    pub fn created_with(options: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let random = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            h.finish()
        };
        let name = format!("test_{}_{random:016x}", std::process::id());
        admin()
            .batch_execute(&format!("CREATE DATABASE {name} {options}"))
            .expect("create a test database");
        let url = with_database(cluster_url(), &name);
        Self { name, url }
    }

    /// Its URL, keeping the database until the test's thread ends (each test runs on a
    /// thread of its own), when it is dropped: for a platform the test owns.
    pub fn keep_for_test(self) -> String {
        thread_local! {
            static KEPT: std::cell::RefCell<Vec<TestDb>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let url = self.url.clone();
        KEPT.with(|kept| kept.borrow_mut().push(self));
        url
    }

    /// A new connection to this database.
    pub fn client(&self) -> Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // WITH (FORCE): a connection a failed test left open must not keep it.
        let _ = admin().batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn admin() -> Client {
    postgres::Client::connect(cluster_url(), postgres::NoTls)
        .expect("connect to the test cluster (FLOWHOST_TEST_PG)")
}

/// A table's rows in a form both databases print alike, ordered by `order`: each value as
/// `null`, `int:N`, `real:F`, `text:"…"` or `blob:HEX`.
pub type Rows = Vec<Vec<String>>;

/// Every row of `table` in SQLite, all columns in `columns`' order, ordered by `order`.
pub fn sqlite_rows(
    conn: &rusqlite::Connection,
    table: &str,
    columns: &[String],
    order: &str,
) -> Rows {
    use rusqlite::types::ValueRef;
    let sql = format!(
        "SELECT {} FROM \"{table}\" ORDER BY {order}",
        quoted(columns)
    );
    let mut stmt = conn.prepare(&sql).expect(&sql);
    let mut rows = stmt.query([]).expect(&sql);
    let mut all = Vec::new();
    while let Some(row) = rows.next().expect("a row") {
        all.push(
            (0..columns.len())
                .map(|i| match row.get_ref(i).expect("a value") {
                    ValueRef::Null => "null".to_string(),
                    ValueRef::Integer(n) => format!("int:{n}"),
                    ValueRef::Real(f) => format!("real:{f}"),
                    ValueRef::Text(t) => format!("text:{:?}", String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => format!("blob:{}", hex(b)),
                })
                .collect(),
        );
    }
    all
}

/// Every row of `table` in PostgreSQL, as [`sqlite_rows`] prints them.
pub fn postgres_rows(client: &mut Client, table: &str, columns: &[String], order: &str) -> Rows {
    use postgres::types::Type;
    let sql = format!(
        "SELECT {} FROM \"{table}\" ORDER BY {order}",
        quoted(columns)
    );
    client
        .query(&sql, &[])
        .expect(&sql)
        .iter()
        .map(|row| {
            row.columns()
                .iter()
                .enumerate()
                .map(|(i, c)| match *c.type_() {
                    Type::INT8 => row
                        .get::<_, Option<i64>>(i)
                        .map_or("null".into(), |n| format!("int:{n}")),
                    Type::FLOAT8 => row
                        .get::<_, Option<f64>>(i)
                        .map_or("null".into(), |f| format!("real:{f}")),
                    Type::TEXT => row
                        .get::<_, Option<String>>(i)
                        .map_or("null".into(), |t| format!("text:{t:?}")),
                    Type::BYTEA => row
                        .get::<_, Option<Vec<u8>>>(i)
                        .map_or("null".into(), |b| format!("blob:{}", hex(&b))),
                    ref other => panic!("{table}.{}: unexpected type {other}", c.name()),
                })
                .collect()
        })
        .collect()
}

fn quoted(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
