//! `scripts/postgres start|stop DIR` (issue 18): the throwaway cluster of the tests. `start`
//! prints a URL the `postgres` client connects with (to the `flowhost` database, over the
//! Unix socket in DIR only, fsync on), and again the same URL without restarting when the
//! cluster runs; `stop` stops it and removes DIR.

use std::path::Path;
use std::process::Command;

fn script(args: &[&str], dir: &Path) -> String {
    let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres"))
        .args(args)
        .arg(dir)
        .output()
        .expect("scripts/postgres runs");
    assert!(
        out.status.success(),
        "scripts/postgres {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

#[test]
fn start_prints_a_url_the_client_accepts_start_again_is_a_no_op_and_stop_removes_it() {
    // Short, under the temp dir: a Unix socket's path is limited to ~100 bytes.
    let dir = std::env::temp_dir().join(format!("flowhost-script-pg-{}", std::process::id()));
    let url = script(&["start"], &dir);
    let query = |url: &str| -> (String, String, String, i32) {
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        let row = client
            .query_one(
                "SELECT current_database()::text, current_setting('fsync'),
                        current_setting('listen_addresses'), pg_backend_pid()",
                &[],
            )
            .expect("query");
        (row.get(0), row.get(1), row.get(2), row.get(3))
    };
    let (database, fsync, listen, _) = query(&url);
    assert_eq!(
        (database.as_str(), fsync.as_str(), listen.as_str()),
        ("flowhost", "on", "")
    );
    let postmaster = std::fs::read_to_string(dir.join("data/postmaster.pid")).expect("pid file");
    assert_eq!(script(&["start"], &dir), url, "the same URL again");
    assert_eq!(
        std::fs::read_to_string(dir.join("data/postmaster.pid")).expect("pid file"),
        postmaster,
        "not restarted"
    );
    script(&["stop"], &dir);
    assert!(!dir.exists(), "stop removes {}", dir.display());
    assert!(
        postgres::Client::connect(&url, postgres::NoTls).is_err(),
        "the server is gone"
    );
}
