//! SPEC ID-4, the whole class (issue 13 item 6): every CLI command that names a workspace, an
//! organization, a case, run, interaction, share, key, group, role, flow or workflow answers an
//! outsider about another workspace's real object byte for byte as about a missing one, and
//! leaves no audit row there. One table, built from the clap definitions in `host/src/cli/`;
//! the real `flowhost` binary on real database files.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{CASE_PROBE, ECHO, example_tenant_path, flowhost, library, text};

const OWNER: &str = "olivia.owner@acme-mssp.test";
const LEAD: &str = "sam.lead@acme-mssp.test";
/// The outsider: Owner of `zeta-soc` in another organization, nobody in `mssp-soc`.
const ZED: &str = "zed@zeta.test";
const ZETA: &str = r#"{"organization":"zeta","workspaces":[{"name":"zeta-soc","members":[{"email":"zed@zeta.test","role":"owner"}]}]}"#;

fn ok(dir: &Path, db: &Path, args: &[&str]) -> Output {
    let out = flowhost(dir, db, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn steps_dir() -> String {
    Path::new(ECHO)
        .parent()
        .expect("component directory")
        .display()
        .to_string()
}

/// The outsider's own organization, the same in both databases, and a service key of
/// `zeta-soc` whose token is written to `<db>.key`; returns the key's id.
fn zeta(dir: &Path, db: &Path) -> String {
    std::fs::write(dir.join("zeta.json"), ZETA).expect("write");
    ok(dir, db, &["tenant", "apply", "zeta.json", "--bootstrap"]);
    ok(
        dir,
        db,
        &["workflows", "publish", "zhello.json", "--as", ZED],
    );
    let key = json(&ok(
        dir,
        db,
        &[
            "keys",
            "create",
            "--name",
            "zk",
            "--service-role",
            "owner",
            "--workspace",
            "zeta-soc",
            "--as",
            ZED,
            "--json",
        ],
    ));
    std::fs::write(
        db.with_extension("key"),
        key["token"].as_str().expect("token"),
    )
    .expect("write");
    key["id"].as_str().expect("key id").to_owned()
}

/// The real objects of `mssp-soc` an outsider probes for.
struct Victim {
    /// The outsider's key id in this database.
    zeta_key: String,
    run: String,
    interaction: String,
    share: String,
    key: String,
}

/// `with`: the example tenant, with a case, a run waiting on an interaction, a published
/// workflow and Interaction Flow, a share and a key in `mssp-soc`; and `zeta`.
fn victim(dir: &Path, db: &Path) -> Victim {
    let tenant = example_tenant_path();
    ok(
        dir,
        db,
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
    let zeta_key = zeta(dir, db);
    let started = json(&ok(
        dir,
        db,
        &[
            "run",
            &library("mssp-analyst-triage.json"),
            "--as",
            LEAD,
            "--event",
            r#"{"alert":"beacon"}"#,
            "--steps",
            &steps_dir(),
            "--json",
        ],
    ));
    // A run with a WASM step: what a global sequence of executions would count.
    ok(
        dir,
        db,
        &["run", "echo.json", "--as", OWNER, "--steps", &steps_dir()],
    );
    ok(
        dir,
        db,
        &["workflows", "publish", "hello.json", "--as", OWNER],
    );
    ok(
        dir,
        db,
        &[
            "workflows",
            "publish",
            &library("mssp-customer-onboarding.json"),
            "--as",
            OWNER,
            "--steps",
            &steps_dir(),
        ],
    );
    ok(
        dir,
        db,
        &[
            "share",
            "workflow",
            "hello",
            "--from",
            "mssp-soc",
            "--to",
            "customer-globex",
            "--as",
            OWNER,
        ],
    );
    let shares = json(&ok(
        dir,
        db,
        &[
            "share",
            "list",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ],
    ));
    let key = json(&ok(
        dir,
        db,
        &[
            "keys",
            "create",
            "--name",
            "ci",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ],
    ));
    Victim {
        zeta_key,
        run: started["run_id"].as_str().expect("run id").to_owned(),
        interaction: started["waiting_on"][0]
            .as_str()
            .expect("interaction id")
            .to_owned(),
        share: shares[0]["id"].as_str().expect("share id").to_owned(),
        key: key["id"].as_str().expect("key id").to_owned(),
    }
}

/// Every command of the CLI that names something of a workspace, with the victim's real
/// names and ids, about workspace `ws` of the victim's organization.
fn probes(v: &Victim, ws: &str) -> Vec<Vec<String>> {
    let s = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let echo = ECHO;
    let probe = CASE_PROBE;
    vec![
        // cases (cli/cases.rs)
        s(&[
            "cases",
            "create",
            "--workspace",
            ws,
            "--title",
            "t",
            "--severity",
            "low",
        ]),
        s(&[
            "cases",
            "create-from-json",
            r#"{"title":"t","severity":"low"}"#,
            "--workspace",
            ws,
        ]),
        s(&["cases", "query", "--workspace", ws]),
        s(&["cases", "get", "C-1", "--workspace", ws]),
        s(&["cases", "get-restrictions", "C-1", "--workspace", ws]),
        s(&[
            "cases",
            "update-restrictions",
            "C-1",
            "--workspace",
            ws,
            "--access-mode",
            "restricted",
        ]),
        // run, runs, triggers (cli/run.rs, cli/mod.rs)
        s(&["run", "hello.json"]),
        s(&["run", "--published", "hello", "--workspace", ws]),
        s(&["runs", "list", "--workspace", ws]),
        s(&["runs", "list"]),
        s(&["runs", "show", &v.run]),
        s(&["runs", "show", &v.run, "--json"]),
        s(&["runs", "resume", &v.run]),
        s(&["triggers", "dispatch", "--workspace", ws]),
        s(&["triggers", "list", "--workspace", ws]),
        s(&["triggers", "list", "--workspace", ws, "--quarantined"]),
        s(&[
            "triggers",
            "release",
            "--workspace",
            ws,
            "--event",
            "E-0123456789ABCDEF",
        ]),
        // workflows (cli/workflows.rs)
        s(&["workflows", "publish", "hello.json"]),
        s(&["workflows", "list", "--workspace", ws]),
        s(&["workflows", "history", "hello", "--workspace", ws]),
        // tenant (cli/tenant.rs)
        s(&["tenant", "apply", "intrude.json"]),
        s(&["tenant", "export", "--org", "acme-mssp"]),
        // access (cli/access.rs)
        s(&["access", "check", "--workspace", ws, "--scope", "case.read"]),
        s(&[
            "access",
            "check",
            "--workspace",
            ws,
            "--scope",
            "case.read",
            "--explain",
        ]),
        s(&[
            "access",
            "check",
            "--workspace",
            ws,
            "--scope",
            "case.read",
            "--json",
        ]),
        // users, roles, groups (cli/users.rs)
        s(&[
            "users",
            "invite",
            "new@zeta.test",
            "--role",
            "viewer",
            "--workspace",
            ws,
        ]),
        s(&["users", "delete", OWNER, "--workspace", ws]),
        s(&[
            "users",
            "set-role",
            OWNER,
            "--role",
            "viewer",
            "--workspace",
            ws,
        ]),
        s(&["users", "list", "--workspace", ws]),
        s(&[
            "roles",
            "create",
            "spy",
            "--scopes",
            "case.read",
            "--workspace",
            ws,
        ]),
        s(&["roles", "delete", "triage-analyst", "--workspace", ws]),
        s(&[
            "groups",
            "create",
            "spies",
            "--type",
            "static",
            "--workspace",
            ws,
        ]),
        s(&["groups", "add", "ir-team", OWNER, "--workspace", ws]),
        s(&["groups", "remove", "ir-team", OWNER, "--workspace", ws]),
        s(&["groups", "delete", "ir-team", "--workspace", ws]),
        s(&["groups", "list", "--workspace", ws]),
        // sso (cli/sso.rs)
        s(&["sso", "enforce", "on", "--workspace", ws]),
        s(&[
            "sso",
            "rules",
            "add",
            "--claim",
            "groups",
            "--value",
            "x",
            "--role",
            "viewer",
            "--workspace",
            ws,
        ]),
        s(&["sso", "rules", "move", "1", "2", "--workspace", ws]),
        s(&["sso", "rules", "delete", "1", "--workspace", ws]),
        s(&["sso", "rules", "list", "--workspace", ws]),
        // keys and audit (cli/keys.rs)
        s(&["keys", "create", "--name", "k", "--workspace", ws]),
        s(&["keys", "revoke", &v.key, "--workspace", ws]),
        s(&["keys", "list", "--workspace", ws]),
        s(&["audit", "--workspace", ws]),
        // interact (cli/interact.rs)
        s(&["interact", "list", "--workspace", ws]),
        s(&["interact", "show", &v.interaction]),
        s(&[
            "interact",
            "respond",
            &v.interaction,
            "--values",
            r#"{"verdict":"close"}"#,
        ]),
        s(&["interact", "flows", "--workspace", ws]),
        s(&[
            "interact",
            "start",
            "mssp-customer-onboarding",
            "--workspace",
            ws,
            "--values",
            r#"{"site":"x","contact":"a@b.test"}"#,
        ]),
        // share (cli/share.rs): out of, into, and about the victim's workspace
        s(&[
            "share", "workflow", "hello", "--from", ws, "--to", "zeta-soc",
        ]),
        s(&[
            "share",
            "flow",
            "mssp-customer-onboarding",
            "--from",
            ws,
            "--to",
            "zeta-soc",
        ]),
        s(&[
            "share", "workflow", "zhello", "--from", "zeta-soc", "--to", ws,
        ]),
        s(&["share", "accept", &v.share]),
        s(&["share", "list", "--workspace", ws]),
        // The same questions for JSON (`--json` prints another document, or none).
        s(&["cases", "query", "--workspace", ws, "--json"]),
        s(&["cases", "get", "C-1", "--workspace", ws, "--json"]),
        s(&["run", "--published", "hello", "--workspace", ws, "--json"]),
        s(&["runs", "list", "--workspace", ws, "--json"]),
        s(&["runs", "resume", &v.run, "--json"]),
        s(&["triggers", "dispatch", "--workspace", ws, "--json"]),
        s(&["triggers", "list", "--workspace", ws, "--json"]),
        s(&["workflows", "list", "--workspace", ws, "--json"]),
        s(&["workflows", "history", "hello", "--workspace", ws, "--json"]),
        s(&["tenant", "apply", "intrude.json", "--json"]),
        s(&["users", "list", "--workspace", ws, "--json"]),
        s(&["groups", "list", "--workspace", ws, "--json"]),
        s(&["sso", "rules", "list", "--workspace", ws, "--json"]),
        s(&["keys", "create", "--name", "k", "--workspace", ws, "--json"]),
        s(&["keys", "list", "--workspace", ws, "--json"]),
        s(&["audit", "--workspace", ws, "--json"]),
        s(&["interact", "list", "--workspace", ws, "--json"]),
        s(&["interact", "show", &v.interaction, "--json"]),
        s(&[
            "interact",
            "respond",
            &v.interaction,
            "--values",
            r#"{"verdict":"close"}"#,
            "--json",
        ]),
        s(&["interact", "flows", "--workspace", ws, "--json"]),
        s(&[
            "share", "workflow", "hello", "--from", ws, "--to", "zeta-soc", "--json",
        ]),
        s(&["share", "list", "--workspace", ws, "--json"]),
        // step run (cli/step.rs): a step's host calls in the victim's workspace
        s(&["step", "run", echo, "--workspace", ws]),
        s(&["step", "run", probe, "--workspace", ws, "--json"]),
    ]
}

/// The files the probes name, written to `dir`.
fn files(dir: &Path) {
    let hello = r#"{"name":"hello","workspace":"mssp-soc","steps":[{"exit":{"status":"done"}}]}"#;
    let zhello = r#"{"name":"zhello","workspace":"zeta-soc","steps":[{"exit":{"status":"done"}}]}"#;
    let echo = r#"{"name":"echo","workspace":"mssp-soc","steps":[{"id":"say","uses":"step:echo","with":{"x":1}}]}"#;
    let intrude = r#"{"organization":"zeta","workspaces":[{"name":"mssp-soc","members":[{"email":"x@zeta.test","role":"owner"}]}]}"#;
    for (name, body) in [
        ("hello.json", hello),
        ("zhello.json", zhello),
        ("intrude.json", intrude),
        ("echo.json", echo),
    ] {
        std::fs::write(dir.join(name), body).expect("write");
    }
}

/// One way of acting, in the database with the victim's objects and in the one without, and
/// what to blank in each one's output (what differs between the databases by construction).
struct Acting<'a> {
    with: Vec<&'a str>,
    without: Vec<&'a str>,
    blank: (&'a str, &'a str),
}

/// Runs each probe with each way of acting in `with` and in `without`; returns every
/// difference in stdout, stderr or exit code, every usage error (a probe that never reaches
/// its command proves nothing) and every audit row written in `mssp-soc` or, unless the
/// principal stands there, `customer-globex` (`watched`).
fn differences(
    dir: &Path,
    (with, without): (&Path, &Path),
    probes: &[Vec<String>],
    acting: &[Acting<'_>],
    watched: &str,
) -> Vec<String> {
    let rows = |db: &Path| -> i64 {
        crate::common::db_at(db)
            .conn()
            .query_row(
                &format!("SELECT count(*) FROM audit_log WHERE workspace IN ({watched})"),
                [],
                |r| r.get(0),
            )
            .expect("count")
    };
    let before = rows(with);
    let mut found = Vec::new();
    for probe in probes {
        let base: Vec<&str> = probe.iter().map(String::as_str).collect();
        for a in acting {
            let args = [base.as_slice(), a.with.as_slice()].concat();
            let hidden = flowhost(dir, with, &args);
            let missing = flowhost(
                dir,
                without,
                &[base.as_slice(), a.without.as_slice()].concat(),
            );
            let seen = |o: &Output, blank: &str| {
                let clean = |b: &[u8]| {
                    let t = untimed(b);
                    if blank.is_empty() {
                        t
                    } else {
                        t.replace(blank, "BLANK")
                    }
                };
                (clean(&o.stdout), clean(&o.stderr), o.status.code())
            };
            if hidden.status.code() == Some(2) {
                found.push(format!(
                    "{args:?} is not a valid command: {}",
                    text(&hidden)
                ));
            }
            if seen(&hidden, a.blank.0) != seen(&missing, a.blank.1) {
                found.push(format!(
                    "{args:?}\n  real:    {:?} {}\n  missing: {:?} {}",
                    hidden.status.code(),
                    text(&hidden).trim(),
                    missing.status.code(),
                    text(&missing).trim()
                ));
            }
            if rows(with) != before {
                found.push(format!(
                    "{args:?} wrote an audit row in the victim's workspace"
                ));
            }
        }
    }
    found
}

#[test]
fn every_command_answers_an_outsider_about_another_workspace_as_about_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    files(dir.path());
    let with: PathBuf = dir.path().join("with.db");
    let without: PathBuf = dir.path().join("without.db");
    let v = victim(dir.path(), &with);
    let without_key = zeta(dir.path(), &without);
    let (with_keyfile, without_keyfile) = (
        with.with_extension("key").display().to_string(),
        without.with_extension("key").display().to_string(),
    );
    // The outsider is a real principal: the key acts in its own workspace.
    ok(
        dir.path(),
        &with,
        &[
            "workflows",
            "list",
            "--workspace",
            "zeta-soc",
            "--key-file",
            &with_keyfile,
        ],
    );
    // The outsider as a person, as a person signed in through SSO, and as a key of their own
    // workspace (its id, which differs between the databases, blanked).
    let acting = [
        Acting {
            with: vec!["--as", ZED],
            without: vec!["--as", ZED],
            blank: ("", ""),
        },
        Acting {
            with: vec!["--as", ZED, "--sso"],
            without: vec!["--as", ZED, "--sso"],
            blank: ("", ""),
        },
        Acting {
            with: vec!["--key-file", &with_keyfile],
            without: vec!["--key-file", &without_keyfile],
            blank: (&v.zeta_key, &without_key),
        },
    ];
    // `customer-globex` enforces SSO-only sign-in: outsiders must not learn that either.
    // And in the outsider's own workspace, naming the victim's ids and names.
    let own: Vec<Vec<String>> = [
        vec!["keys", "revoke", v.key.as_str(), "--workspace", "zeta-soc"],
        vec!["run", "--published", "hello", "--workspace", "zeta-soc"],
        vec!["workflows", "history", "hello", "--workspace", "zeta-soc"],
        vec![
            "interact",
            "start",
            "mssp-customer-onboarding",
            "--workspace",
            "zeta-soc",
            "--values",
            "{}",
        ],
        vec![
            "share", "workflow", "hello", "--from", "zeta-soc", "--to", "mssp-soc",
        ],
        vec!["groups", "add", "ir-team", ZED, "--workspace", "zeta-soc"],
        vec![
            "roles",
            "delete",
            "triage-analyst",
            "--workspace",
            "zeta-soc",
        ],
    ]
    .into_iter()
    .map(|p| p.into_iter().map(str::to_owned).collect())
    .collect();
    let all = [probes(&v, "mssp-soc"), probes(&v, "customer-globex"), own].concat();
    let found = differences(
        dir.path(),
        (&with, &without),
        &all,
        &acting,
        "'mssp-soc', 'customer-globex'",
    );
    assert!(
        found.is_empty(),
        "{} command(s) tell an outsider what exists:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The same table for someone of the victim's own organization, a member (an Owner, through
/// SSO) of its other workspace `customer-globex` only: `mssp-soc` is none of theirs. The
/// database without the victim's objects holds `customer-globex` alone.
#[test]
fn a_member_of_a_sibling_workspace_learns_nothing_of_another() {
    const GARY: &str = "gary.admin@globex.test";
    let dir = tempfile::tempdir().expect("tempdir");
    files(dir.path());
    let with: PathBuf = dir.path().join("with.db");
    let without: PathBuf = dir.path().join("without.db");
    let v = victim(dir.path(), &with);
    let mut sibling: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example_tenant_path()).expect("tenant"))
            .expect("json");
    sibling["workspaces"]
        .as_array_mut()
        .expect("workspaces")
        .retain(|w| w["name"] != "mssp-soc");
    std::fs::write(dir.path().join("sibling.json"), sibling.to_string()).expect("write");
    ok(
        dir.path(),
        &without,
        &["tenant", "apply", "sibling.json", "--bootstrap"],
    );
    zeta(dir.path(), &without);
    for db in [&with, &without] {
        ok(
            dir.path(),
            db,
            &[
                "sso",
                "login",
                "--idp",
                "globex-entra",
                "--claims",
                r#"{"email":"gary.admin@globex.test","groups":["Flowhost-Admins"]}"#,
            ],
        );
    }
    ok(
        dir.path(),
        &with,
        &[
            "users",
            "list",
            "--workspace",
            "customer-globex",
            "--as",
            GARY,
            "--sso",
        ],
    );
    let acting = [Acting {
        with: vec!["--as", GARY, "--sso"],
        without: vec!["--as", GARY, "--sso"],
        blank: ("", ""),
    }];
    // Not the share into customer-globex: that one is Gary's business.
    let probes: Vec<Vec<String>> = probes(&v, "mssp-soc")
        .into_iter()
        .filter(|p| !p.contains(&v.share))
        .collect();
    let found = differences(
        dir.path(),
        (&with, &without),
        &probes,
        &acting,
        "'mssp-soc'",
    );
    assert!(
        found.is_empty(),
        "{} command(s) tell a sibling workspace's member what exists:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// `bytes` as text with durations (`in 1.23 ms`, `"duration_us": 123`) blanked: they differ
/// from one execution to the next and tell nothing about other workspaces.
fn untimed(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for line in text.lines() {
        let line = match (line.find("\"duration_us\": "), line.rfind(" in ")) {
            (Some(at), _) => format!("{}\"duration_us\": N", &line[..at]),
            (None, Some(at)) if line.ends_with(" ms") => format!("{} in N ms", &line[..at]),
            _ => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// SPEC ID-4 with opaque ids, in one database: an outsider asking about another workspace's
/// real run, interaction or share reads byte for byte as asking about an id nobody holds
/// (the answer does not echo the id).
#[test]
fn a_real_id_of_another_workspace_reads_as_an_id_nobody_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    files(dir.path());
    let db: PathBuf = dir.path().join("with.db");
    let v = victim(dir.path(), &db);
    let values = r#"{"verdict":"close"}"#;
    let pairs = [
        (v.run.as_str(), "R-0000000000000000"),
        (v.interaction.as_str(), "I-0000000000000000"),
        (v.share.as_str(), "S-0000000000000000"),
    ];
    let asks = |id: &str| -> Vec<Vec<String>> {
        let s = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        match id.chars().next() {
            Some('R') => vec![
                s(&["runs", "show", id]),
                s(&["runs", "show", id, "--json"]),
                s(&["runs", "resume", id]),
                s(&["runs", "resume", id, "--json"]),
            ],
            Some('I') => vec![
                s(&["interact", "show", id]),
                s(&["interact", "show", id, "--json"]),
                s(&["interact", "respond", id, "--values", values]),
                s(&["interact", "respond", id, "--values", values, "--json"]),
            ],
            _ => vec![s(&["share", "accept", id])],
        }
    };
    for (real, nobody) in pairs {
        for (hidden, missing) in asks(real).into_iter().zip(asks(nobody)) {
            let run = |args: &[String]| {
                let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
                args.extend(["--as", ZED]);
                flowhost(dir.path(), &db, &args)
            };
            let (h, m) = (run(&hidden), run(&missing));
            assert_eq!(h.status.code(), Some(1), "{hidden:?}: {}", text(&h));
            assert_eq!(
                (&h.stdout, &h.stderr, h.status.code()),
                (&m.stdout, &m.stderr, m.status.code()),
                "{hidden:?}: {}",
                text(&h)
            );
        }
    }
}
