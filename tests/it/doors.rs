//! Every door names a principal, and outsiders learn nothing (issue 13, items 6 and 7; SPEC
//! ID-4, RB-4, UA-1, AU, IX-8). The real `flowhost` binary on real database files.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{ECHO, example_tenant_path, flowhost, library, text};

const OWNER: &str = "olivia.owner@acme-mssp.test";
const OPERATOR: &str = "omar.operator@acme-mssp.test";
const LEAD: &str = "sam.lead@acme-mssp.test";
/// A member of `customer-globex` only (an SSO-only workspace): an outsider to `mssp-soc`.
const OUTSIDER: &str = "gary.admin@globex.test";

/// Another organization, in which none of the example tenant's workspaces exist.
const ZETA: &str = r#"{"organization":"zeta","workspaces":[{"name":"zeta-soc","members":[{"email":"zed@zeta.test","role":"owner"}]}]}"#;

/// stdout, stderr and exit code: what an oracle would compare.
fn observed(out: &Output) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    (out.stdout.clone(), out.stderr.clone(), out.status.code())
}

fn steps_dir() -> String {
    Path::new(ECHO)
        .parent()
        .expect("component directory")
        .display()
        .to_string()
}

/// A database with the example tenant, bootstrapped.
fn acme(dir: &Path) -> PathBuf {
    let db = dir.join("acme.db");
    let tenant = example_tenant_path();
    let out = flowhost(
        dir,
        &db,
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    db
}

/// A database with only the `zeta` organization: where `mssp-soc` does not exist.
fn zeta(dir: &Path) -> PathBuf {
    let db = dir.join("zeta.db");
    std::fs::write(dir.join("zeta.json"), ZETA).expect("write");
    let out = flowhost(dir, &db, &["tenant", "apply", "zeta.json", "--bootstrap"]);
    assert!(out.status.success(), "{}", text(&out));
    db
}

fn audit_rows(db: &Path) -> i64 {
    crate::common::db_at(db)
        .conn()
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .expect("count")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(out));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// A run by the Owner whose output holds something only she may see.
fn owners_run(dir: &Path, db: &Path) -> String {
    let wf = r#"{"name":"secret-output","workspace":"mssp-soc","vars":{"secret":"Exec mailbox compromise"},
        "steps":[{"id":"say","uses":"step:echo","with":{"title":"$.vars.secret"}},
                 {"exit":{"status":"done","output":{"title":"$.vars.secret"}}}]}"#;
    std::fs::write(dir.join("secret.json"), wf).expect("write");
    let out = flowhost(
        dir,
        db,
        &[
            "run",
            "secret.json",
            "--as",
            OWNER,
            "--steps",
            &steps_dir(),
            "--json",
        ],
    );
    let doc = json(&out);
    assert_eq!(doc["output"]["title"], "Exec mailbox compromise", "{doc}");
    doc["run_id"].as_str().expect("run id").to_owned()
}

#[test]
fn runs_list_and_show_name_a_principal_and_show_what_a_run_saw_only_to_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let run = owners_run(dir.path(), &db);
    let cli = |args: &[&str]| flowhost(dir.path(), &db, args);

    // Nobody named: refused, nothing shown.
    for args in [&["runs", "list"][..], &["runs", "show", &run][..]] {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{}", text(&out));
        assert!(text(&out).contains("name who acts"), "{}", text(&out));
    }

    // The run's own principal sees everything.
    let mine = json(&cli(&["runs", "show", &run, "--as", OWNER, "--json"]));
    assert_eq!(mine["run"]["output"]["title"], "Exec mailbox compromise");
    assert!(mine["steps"][0]["output"].is_object(), "{mine}");

    // A member with playbook.get sees the run, not what it saw (SPEC CS-2).
    let theirs = json(&cli(&["runs", "show", &run, "--as", OPERATOR, "--json"]));
    assert_eq!(theirs["run"]["status"], "succeeded");
    assert!(theirs["run"]["output"].is_null(), "{theirs}");
    assert!(theirs["steps"][0]["output"].is_null(), "{theirs}");
    let listed = json(&cli(&["runs", "list", "--as", OPERATOR, "--json"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert!(listed[0]["output"].is_null(), "{listed}");
    assert!(!text(&cli(&["runs", "list", "--as", OPERATOR])).contains("Exec mailbox"));

    // An outsider lists nothing and cannot resume it.
    let none = json(&cli(&["runs", "list", "--as", OUTSIDER, "--json"]));
    assert_eq!(none, serde_json::json!([]));
    let resume = cli(&["runs", "resume", &run, "--as", OUTSIDER]);
    assert_eq!(resume.status.code(), Some(1));
    assert!(
        text(&resume).contains("there is no such run"),
        "{}",
        text(&resume)
    );
}

/// A run's summary shows a loop's steps once, not once per iteration: their number is how many
/// items the run saw, cases among them the reader may not see (SPEC CS-2; leak review).
#[test]
fn a_runs_summary_does_not_count_its_loop_iterations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let wf = serde_json::json!({ "name": "looped", "workspace": "mssp-soc",
        "steps": [{ "id": "each", "loop": { "over": "$.event.items" },
                    "do": [{ "id": "x", "uses": "step:echo", "with": {} }] }] });
    std::fs::write(dir.path().join("looped.json"), wf.to_string()).expect("write");
    let steps = steps_dir();
    let ran = json(&flowhost(
        dir.path(),
        &db,
        &[
            "run",
            "looped.json",
            "--as",
            OWNER,
            "--steps",
            &steps,
            "--event",
            r#"{"items":[1,2,3]}"#,
            "--json",
        ],
    ));
    let run = ran["run_id"].as_str().expect("run id").to_owned();
    let keys = |who: &str| -> Vec<String> {
        let shown = json(&flowhost(
            dir.path(),
            &db,
            &["runs", "show", &run, "--as", who, "--json"],
        ));
        shown["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s["step"].as_str().expect("key").to_owned())
            .collect()
    };
    let mine = keys(OWNER);
    assert_eq!(
        mine.iter().filter(|k| k.contains('[')).count(),
        3,
        "{mine:?}"
    );
    assert_eq!(keys(OPERATOR), vec!["each[*].x".to_owned()]);
}

#[test]
fn an_outsider_reads_a_hidden_run_exactly_as_a_missing_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with_run = acme(dir.path());
    let run = owners_run(dir.path(), &with_run);
    let without = zeta(dir.path());
    for args in [
        vec!["runs", "show", &run, "--as", OUTSIDER],
        vec!["runs", "show", &run, "--as", OUTSIDER, "--json"],
        vec!["runs", "list", "--workspace", "mssp-soc", "--as", OUTSIDER],
        vec!["runs", "resume", &run, "--as", OUTSIDER],
    ] {
        let hidden = flowhost(dir.path(), &with_run, &args);
        let missing = flowhost(dir.path(), &without, &args);
        assert_eq!(
            observed(&hidden),
            observed(&missing),
            "{args:?}: {}",
            text(&hidden)
        );
    }
}

/// `flowhost` with `FLOWHOST_API_KEY` set to `token`.
fn with_token(dir: &Path, db: &Path, token: &str, args: &[&str]) -> Output {
    Command::new(common::flowhost_bin())
        .current_dir(dir)
        .env("FLOWHOST_API_KEY", token)
        .arg("--db")
        .arg(crate::common::db_arg(db))
        .args(args)
        .output()
        .expect("flowhost runs")
}

/// A personal key lists its owner's own keys, as it may revoke them (round 21 authority
/// review: it listed none, its owner's address read from a principal that has none); a
/// service key of no `user.read` lists no one's.
#[test]
fn a_personal_key_lists_its_owners_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let create = |args: &[&str]| {
        let mut all = vec!["keys", "create", "--workspace", "mssp-soc", "--json"];
        all.extend_from_slice(args);
        json(&flowhost(dir.path(), &db, &all))
    };
    let personal = create(&["--name", "mine", "--as", OPERATOR]);
    let other = create(&["--name", "also-mine", "--as", OPERATOR]);
    let service = create(&["--name", "ci", "--service-role", "operator", "--as", OWNER]);
    let list = |token: &serde_json::Value| {
        let out = with_token(
            dir.path(),
            &db,
            token["token"].as_str().expect("token"),
            &["keys", "list", "--workspace", "mssp-soc", "--json"],
        );
        let ids: Vec<String> = json(&out)
            .as_array()
            .expect("a list")
            .iter()
            .map(|k| k["id"].as_str().expect("id").to_owned())
            .collect();
        ids
    };
    let mut listed = list(&personal);
    listed.sort();
    let mut mine = vec![
        personal["id"].as_str().expect("id").to_owned(),
        other["id"].as_str().expect("id").to_owned(),
    ];
    mine.sort();
    assert_eq!(listed, mine, "its owner's keys, and only theirs");
    assert!(list(&service).is_empty(), "a service key owns none");
}

/// An Interaction Flow is started through its form, at every door: a file's run handed its
/// steps an `--event` of unchecked answers and a forged responder, which `run --published`
/// refuses (round 21 hostile-input review; SPEC IX-4).
#[test]
fn an_interaction_flow_file_is_not_run_with_a_forged_event() {
    let d = common::Deployment::new();
    let flow = serde_json::json!({ "name": "refund", "workspace": "mssp-soc",
        "run_as": OWNER,
        "trigger": { "on": "interaction", "interaction": { "title": "Refund",
            "form": { "fields": [ { "name": "approve", "type": "boolean" } ] } } },
        "steps": [ { "exit": { "status": "done" } } ] });
    let file = d.dir.path().join("refund.json");
    std::fs::write(&file, flow.to_string()).expect("write");
    let out = d.cli(&[
        "run",
        file.to_str().expect("utf-8"),
        "--as",
        OWNER,
        "--event",
        r#"{"values": {"approve": "yes"}, "responder": "ceo@acme-mssp.test"}"#,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("`refund` is an Interaction Flow: it starts through its form"),
        "{}",
        text(&out)
    );
    // Nor nested in a workflow of a file or a published one: its steps read the parent's
    // event (round 22 engine review).
    let parent = d.dir.path().join("parent.json");
    std::fs::write(
        &parent,
        serde_json::json!({ "name": "parent", "workspace": "mssp-soc",
            "steps": [ { "id": "f", "workflow": "refund.json" } ] })
        .to_string(),
    )
    .expect("write");
    let parent = parent.to_str().expect("utf-8");
    for args in [
        vec![
            "run",
            parent,
            "--as",
            OWNER,
            "--event",
            r#"{"values": {"approve": true}}"#,
        ],
        vec!["workflows", "publish", parent, "--as", OWNER],
        vec!["validate", parent],
    ] {
        let out = d.cli(&args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("refund.json is an Interaction Flow: it starts through its form"),
            "{args:?}: {}",
            text(&out)
        );
    }
    // A workflow of another trigger still runs from its file.
    let manual = d.dir.path().join("manual.json");
    std::fs::write(
        &manual,
        serde_json::json!({ "name": "m", "workspace": "mssp-soc",
            "steps": [ { "exit": { "status": "done" } } ] })
        .to_string(),
    )
    .expect("write");
    d.ok(&["run", manual.to_str().expect("utf-8"), "--as", OWNER]);
}

#[test]
fn a_key_acts_by_its_secret_token_never_by_its_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let created = json(&flowhost(
        dir.path(),
        &db,
        &[
            "keys",
            "create",
            "--name",
            "ci",
            "--service-role",
            "operator",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ],
    ));
    let id = created["id"].as_str().expect("id");
    let token = created["token"].as_str().expect("token");
    let check = [
        "access",
        "check",
        "--workspace",
        "mssp-soc",
        "--scope",
        "case.write",
    ];

    // The id alone is refused, and says how a key authenticates (SPEC RB-4).
    let by_id = flowhost(dir.path(), &db, &[&check[..], &["--key", id]].concat());
    assert_eq!(by_id.status.code(), Some(1));
    assert!(
        text(&by_id).contains("FLOWHOST_API_KEY"),
        "{}",
        text(&by_id)
    );
    assert!(!text(&by_id).contains("granted"), "{}", text(&by_id));

    // The token, from the environment or a file, acts as the key.
    let by_env = with_token(dir.path(), &db, token, &check);
    assert!(by_env.status.success(), "{}", text(&by_env));
    assert!(text(&by_env).contains(&format!("granted to service key `{id}`")));
    std::fs::write(dir.path().join("key"), format!("{token}\n")).expect("write");
    let by_file = flowhost(
        dir.path(),
        &db,
        &[&check[..], &["--key-file", "key"]].concat(),
    );
    assert!(by_file.status.success(), "{}", text(&by_file));

    // A wrong secret for a real id reads like a made-up token.
    let (prefix, _) = token.rsplit_once('_').expect("fhk_<id>_<secret>");
    let wrong = with_token(
        dir.path(),
        &db,
        &format!("{prefix}_{}", "0".repeat(64)),
        &check,
    );
    let made_up = with_token(
        dir.path(),
        &db,
        &format!("fhk_0123456789abcdef_{}", "0".repeat(64)),
        &check,
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(observed(&wrong), observed(&made_up));
    assert!(
        text(&wrong).contains("invalid API key token"),
        "{}",
        text(&wrong)
    );

    // Revoked, it is refused as a wrong token, as the API's 401 refuses it (round 20 door
    // review: the CLI answered it as a key with no standing, exit 0).
    let revoked = flowhost(
        dir.path(),
        &db,
        &[
            "keys",
            "revoke",
            id,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ],
    );
    assert!(revoked.status.success(), "{}", text(&revoked));
    let after = with_token(
        dir.path(),
        &db,
        token,
        &["runs", "list", "--workspace", "mssp-soc"],
    );
    assert_eq!(after.status.code(), Some(1), "{}", text(&after));
    assert_eq!(observed(&after).1, observed(&made_up).1);
}

#[test]
fn tenant_apply_without_a_principal_only_bootstraps_an_unowned_tenant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let tenant = example_tenant_path();
    let file = tenant.to_str().expect("utf-8");

    // Nobody named and no --bootstrap: refused, nothing written.
    let out = flowhost(dir.path(), &db, &["tenant", "apply", file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("--bootstrap"), "{}", text(&out));
    assert_eq!(audit_rows(&db), 0);

    // A brand-new database: the bootstrap applies it.
    let out = flowhost(dir.path(), &db, &["tenant", "apply", file, "--bootstrap"]);
    assert!(out.status.success(), "{}", text(&out));
    let rows = audit_rows(&db);

    // Once owned, a bootstrap is refused, even of a file that would change things.
    let text_in = std::fs::read_to_string(&tenant).expect("read");
    let promoted = text_in.replace(
        "\"sam.lead@acme-mssp.test\", \"role\": \"contributor\"",
        "\"sam.lead@acme-mssp.test\", \"role\": \"owner\"",
    );
    assert_ne!(promoted, text_in);
    std::fs::write(dir.path().join("promoted.json"), &promoted).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "promoted.json", "--bootstrap"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("nobody owns it"), "{}", text(&out));
    assert_eq!(audit_rows(&db), rows, "nothing was written");

    // A non-Owner naming themself is refused; the Owner applies it.
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "promoted.json", "--as", LEAD],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(audit_rows(&db), rows);
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "promoted.json", "--as", OWNER],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("sam.lead@acme-mssp.test"),
        "{}",
        text(&out)
    );
}

#[test]
fn tenant_export_holds_only_the_workspaces_the_principal_manages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let export =
        |who: &[&str]| flowhost(dir.path(), &db, &[&["tenant", "export"][..], who].concat());

    let nobody = export(&[]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(nobody.stdout.is_empty());

    let all = json(&export(&["--as", OWNER]));
    let names = |doc: &serde_json::Value| -> Vec<String> {
        doc["workspaces"]
            .as_array()
            .expect("workspaces")
            .iter()
            .filter_map(|w| w["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(names(&all), ["customer-globex", "mssp-soc"]);
    // An Owner of one workspace of the organization sees that one only (SPEC UA-1, ID-4).
    let lab = r#"{"organization":"acme-mssp","workspaces":[{"name":"acme-lab","members":[
        {"email":"olivia.owner@acme-mssp.test","role":"owner"},{"email":"lab.owner@acme-mssp.test","role":"owner"}]}]}"#;
    std::fs::write(dir.path().join("lab.json"), lab).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "lab.json", "--as", OWNER],
    );
    assert!(out.status.success(), "{}", text(&out));
    let theirs = export(&["--as", "lab.owner@acme-mssp.test"]);
    assert_eq!(names(&json(&theirs)), ["acme-lab"]);
    assert!(!text(&theirs).contains("mssp-soc"), "{}", text(&theirs));
    assert!(!text(&theirs).contains("tina.analyst"), "{}", text(&theirs));

    // No user.write anywhere: the organization reads as one that does not exist.
    let zeta_db = zeta(dir.path());
    let args = ["tenant", "export", "--org", "acme-mssp", "--as", LEAD];
    let hidden = flowhost(dir.path(), &db, &args);
    let missing = flowhost(dir.path(), &zeta_db, &args);
    assert_eq!(hidden.status.code(), Some(1));
    assert_eq!(observed(&hidden), observed(&missing));
}

#[test]
fn triggers_dispatch_needs_playbook_execute_in_the_workspace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let zeta_db = zeta(dir.path());
    let out = flowhost(
        dir.path(),
        &db,
        &["triggers", "dispatch", "--workspace", "mssp-soc"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("name who acts"), "{}", text(&out));
    // A viewer lacks playbook.execute: a member is told why.
    let invited = flowhost(
        dir.path(),
        &db,
        &[
            "users",
            "invite",
            "vic.viewer@acme-mssp.test",
            "--role",
            "viewer",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ],
    );
    assert!(invited.status.success(), "{}", text(&invited));
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "triggers",
            "dispatch",
            "--workspace",
            "mssp-soc",
            "--as",
            "vic.viewer@acme-mssp.test",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("playbook.execute"), "{}", text(&out));
    // An outsider: as for a workspace that does not exist.
    let args = [
        "triggers",
        "dispatch",
        "--workspace",
        "mssp-soc",
        "--as",
        OUTSIDER,
    ];
    let hidden = flowhost(dir.path(), &db, &args);
    let missing = flowhost(dir.path(), &zeta_db, &args);
    assert_eq!(hidden.status.code(), Some(1));
    assert_eq!(observed(&hidden), observed(&missing));
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "triggers",
            "dispatch",
            "--workspace",
            "mssp-soc",
            "--as",
            OPERATOR,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn not_a_member_reads_exactly_as_no_such_workspace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let zeta_db = zeta(dir.path());
    for args in [
        vec![
            "cases",
            "query",
            "--workspace",
            "mssp-soc",
            "--as",
            OUTSIDER,
        ],
        vec!["users", "list", "--workspace", "mssp-soc", "--as", OUTSIDER],
        vec![
            "interact",
            "list",
            "--workspace",
            "mssp-soc",
            "--as",
            OUTSIDER,
        ],
        vec![
            "access",
            "check",
            "--workspace",
            "mssp-soc",
            "--as",
            OUTSIDER,
            "--scope",
            "case.read",
            "--explain",
        ],
    ] {
        let hidden = flowhost(dir.path(), &db, &args);
        let missing = flowhost(dir.path(), &zeta_db, &args);
        assert_eq!(hidden.status.code(), Some(1), "{args:?}: {}", text(&hidden));
        assert_eq!(
            observed(&hidden),
            observed(&missing),
            "{args:?}: {}",
            text(&hidden)
        );
        assert!(
            !text(&hidden).contains("acme-mssp"),
            "{args:?}: {}",
            text(&hidden)
        );
    }
}

#[test]
fn interact_respond_answers_an_outsider_as_for_nothing_and_audits_only_members() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let zeta_db = zeta(dir.path());
    let started = json(&flowhost(
        dir.path(),
        &db,
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
    let id = started["waiting_on"][0]
        .as_str()
        .expect("interaction")
        .to_owned();
    let values = r#"{"verdict":"escalate"}"#;
    let rows = audit_rows(&db);

    // An outsider: byte for byte the answer for an interaction that does not exist, and no
    // audit row in a workspace they are not in (SPEC ID-4).
    let args = [
        "interact", "respond", &id, "--as", OUTSIDER, "--values", values,
    ];
    let hidden = flowhost(dir.path(), &db, &args);
    let missing = flowhost(dir.path(), &zeta_db, &args);
    assert_eq!(hidden.status.code(), Some(1));
    assert_eq!(observed(&hidden), observed(&missing));
    assert_eq!(audit_rows(&db), rows, "an outsider writes no audit row");

    // A key of another workspace, by its token: the same.
    let created = json(&flowhost(
        dir.path(),
        &db,
        &[
            "keys",
            "create",
            "--name",
            "k",
            "--service-role",
            "owner",
            "--workspace",
            "customer-globex",
            "--as",
            OWNER,
            "--json",
        ],
    ));
    let rows = audit_rows(&db);
    let token = created["token"].as_str().expect("token");
    let key_args = ["interact", "respond", &id, "--values", values];
    let by_key = with_token(dir.path(), &db, token, &key_args);
    assert_eq!(by_key.status.code(), Some(1));
    assert_eq!(observed(&by_key).0, observed(&missing).0);
    assert_eq!(observed(&by_key).1, observed(&missing).1);
    assert_eq!(
        audit_rows(&db),
        rows,
        "a key of another workspace writes no audit row"
    );

    // A member who may not answer is told why, and audited (SPEC IX-8).
    let member = flowhost(
        dir.path(),
        &db,
        &[
            "interact", "respond", &id, "--as", OPERATOR, "--values", values,
        ],
    );
    assert_eq!(member.status.code(), Some(1));
    assert!(
        text(&member).contains("may not answer"),
        "{}",
        text(&member)
    );
    assert_eq!(audit_rows(&db), rows + 1, "a refused member is audited");
}

#[test]
fn case_and_audit_ids_count_within_their_workspace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    let create = |ws: &str, who: &str, title: &str| {
        json(&flowhost(
            dir.path(),
            &db,
            &[
                "cases",
                "create",
                "--title",
                title,
                "--severity",
                "high",
                "--workspace",
                ws,
                "--as",
                who,
                "--json",
            ],
        ))
    };
    assert_eq!(create("mssp-soc", OWNER, "one")["id"], "C-1");
    assert_eq!(create("mssp-soc", OWNER, "two")["id"], "C-2");
    // Another workspace's first case is its C-1, whatever exists elsewhere (SPEC ID-4).
    let theirs = create("customer-globex", OWNER, "theirs");
    assert_eq!(theirs["id"], "C-1", "{theirs}");
    let get = |ws: &str, who: &str, id: &str| {
        flowhost(
            dir.path(),
            &db,
            &["cases", "get", id, "--workspace", ws, "--as", who, "--json"],
        )
    };
    assert_eq!(
        json(&get("customer-globex", OWNER, "C-1"))["title"],
        "theirs"
    );
    assert_eq!(json(&get("mssp-soc", OWNER, "C-1"))["title"], "one");
    let missing = get("customer-globex", OWNER, "C-2");
    assert_eq!(missing.status.code(), Some(1));

    // Audit entries are numbered 1, 2, 3... in each workspace, though the tenant's entries
    // of both workspaces were written interleaved.
    for ws in ["mssp-soc", "customer-globex"] {
        let entries = json(&flowhost(
            dir.path(),
            &db,
            &["audit", "--workspace", ws, "--as", OWNER, "--json"],
        ));
        let ids: Vec<i64> = entries
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["id"].as_i64())
            .collect();
        let expected: Vec<i64> = (1..=ids.len() as i64).collect();
        assert!(!ids.is_empty());
        assert_eq!(ids, expected, "{ws}");
    }
}

#[test]
fn interact_start_and_flows_answer_an_outsider_as_for_a_missing_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with_flow = acme(dir.path());
    let out = flowhost(
        dir.path(),
        &with_flow,
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
    assert!(out.status.success(), "{}", text(&out));
    // The same tenant without the flow, and a database where the workspace does not exist.
    let without_dir = tempfile::tempdir().expect("tempdir");
    let without_flow = acme(without_dir.path());
    let no_workspace = zeta(dir.path());
    let rows = audit_rows(&with_flow);
    let values = r#"{"site":"Berlin","contact":"ops@globex.test"}"#;
    let start = [
        "interact",
        "start",
        "mssp-customer-onboarding",
        "--workspace",
        "mssp-soc",
        "--as",
        OUTSIDER,
        "--values",
        values,
    ];
    let flows = [
        "interact",
        "flows",
        "--workspace",
        "mssp-soc",
        "--as",
        OUTSIDER,
    ];
    for args in [&start[..], &flows[..]] {
        let hidden = flowhost(dir.path(), &with_flow, args);
        assert_eq!(hidden.status.code(), Some(1), "{args:?}: {}", text(&hidden));
        let missing = flowhost(without_dir.path(), &without_flow, args);
        let nowhere = flowhost(dir.path(), &no_workspace, args);
        assert_eq!(observed(&hidden), observed(&missing), "{args:?}");
        assert_eq!(observed(&hidden), observed(&nowhere), "{args:?}");
    }
    assert_eq!(
        audit_rows(&with_flow),
        rows,
        "an outsider writes no audit row in a workspace they are not in"
    );
}

/// Review findings (SPEC ID-4): a share id, another organization's workspace name and a key
/// id of a workspace one is not in each read exactly as a missing one.
#[test]
fn shares_and_keys_of_a_workspace_one_is_not_in_read_as_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with = acme(dir.path());
    // The other organization lives in the same database, so its Owner is a real principal.
    std::fs::write(dir.path().join("zeta.json"), ZETA).expect("write");
    let out = flowhost(
        dir.path(),
        &with,
        &["tenant", "apply", "zeta.json", "--bootstrap"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let without = zeta(dir.path());
    let wf = r#"{"name":"hello","workspace":"mssp-soc","steps":[{"exit":{"status":"done"}}]}"#;
    std::fs::write(dir.path().join("hello.json"), wf).expect("write");
    for (db, args) in [
        (
            &with,
            vec!["workflows", "publish", "hello.json", "--as", OWNER],
        ),
        (
            &with,
            vec![
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
        ),
    ] {
        let out = flowhost(dir.path(), db, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let key = json(&flowhost(
        dir.path(),
        &with,
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
    let key = key["id"].as_str().expect("key id").to_owned();
    const ZED: &str = "zed@zeta.test";

    // The share exists (into customer-globex); in `without` there is no share at all.
    let share = json(&flowhost(
        dir.path(),
        &with,
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
    let share = share[0]["id"].as_str().expect("share id").to_owned();
    let accept = ["share", "accept", &share, "--as", ZED];
    let hidden = flowhost(dir.path(), &with, &accept);
    let missing = flowhost(dir.path(), &without, &accept);
    assert_eq!(observed(&hidden), observed(&missing), "{}", text(&hidden));

    // Another organization's workspace reads as one that does not exist.
    let to = |destination: &str| {
        flowhost(
            dir.path(),
            &with,
            &[
                "share",
                "workflow",
                "hello",
                "--from",
                "mssp-soc",
                "--to",
                destination,
                "--as",
                OWNER,
            ],
        )
    };
    let other_org = to("zeta-soc");
    let nowhere = to("no-such-soc");
    assert!(!other_org.status.success());
    assert_eq!(
        text(&other_org).replace("zeta-soc", "X"),
        text(&nowhere).replace("no-such-soc", "X")
    );

    // A real key id of mssp-soc reads, to an outsider, as a made-up one.
    let revoke = |id: &str| {
        flowhost(
            dir.path(),
            &with,
            &["keys", "revoke", id, "--workspace", "mssp-soc", "--as", ZED],
        )
    };
    let (real, made_up) = (revoke(&key), revoke("0123456789abcdef"));
    assert!(!real.status.success());
    assert_eq!(
        text(&real).replace(&key, "K"),
        text(&made_up).replace("0123456789abcdef", "K")
    );
    // So it does to a member who may revoke only their own keys: "not yours" against "no
    // such key" told them which key ids exist (authority review).
    let as_member = |id: &str| {
        flowhost(
            dir.path(),
            &with,
            &[
                "keys",
                "revoke",
                id,
                "--workspace",
                "mssp-soc",
                "--as",
                OPERATOR,
            ],
        )
    };
    let (real, made_up) = (as_member(&key), as_member("0123456789abcdef"));
    assert!(!real.status.success());
    assert_eq!(
        text(&real).replace(&key, "K"),
        text(&made_up).replace("0123456789abcdef", "K")
    );
    // And the key still works for its workspace's Owner to revoke.
    let out = flowhost(
        dir.path(),
        &with,
        &[
            "keys",
            "revoke",
            &key,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// Whether `id` is `prefix` and 16 upper-case hexadecimal digits (SPEC ID-4: opaque ids).
fn opaque(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|digits| {
        digits.len() == 16
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    })
}

/// Issue 13 item 6 (SPEC ID-4): run and interaction ids were one global sequence, so another
/// organization's first run was `run 3`. Now every id people see is random: the other
/// organization's first run and interaction tell nothing of what exists elsewhere, and the
/// internal row number is not accepted as an id.
#[test]
fn run_and_interaction_ids_are_opaque_and_tell_nothing_across_organizations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = acme(dir.path());
    std::fs::write(dir.path().join("zeta.json"), ZETA).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "zeta.json", "--bootstrap"],
    );
    assert!(out.status.success(), "{}", text(&out));
    // Two runs in acme, one of them waiting on an interaction.
    let first = owners_run(dir.path(), &db);
    let started = json(&flowhost(
        dir.path(),
        &db,
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
    let second = started["run_id"].as_str().expect("run id").to_owned();
    let acme_ix = started["waiting_on"][0]
        .as_str()
        .expect("interaction")
        .to_owned();
    // Zeta's first run and its first interaction.
    let wf = r#"{"name":"ask","workspace":"zeta-soc","steps":[
        {"id":"ok","interaction":{"title":"OK?","form":{"fields":[{"name":"ok","type":"boolean"}]},
         "access":{"workspace_users":{"roles":["owner"]}}}}]}"#;
    std::fs::write(dir.path().join("ask.json"), wf).expect("write");
    let theirs = json(&flowhost(
        dir.path(),
        &db,
        &["run", "ask.json", "--as", "zed@zeta.test", "--json"],
    ));
    let zeta_run = theirs["run_id"].as_str().expect("run id").to_owned();
    let zeta_ix = theirs["waiting_on"][0]
        .as_str()
        .expect("interaction")
        .to_owned();

    for run in [&first, &second, &zeta_run] {
        assert!(opaque(run, "R-"), "{run}");
    }
    for ix in [&acme_ix, &zeta_ix] {
        assert!(opaque(ix, "I-"), "{ix}");
    }
    let distinct: std::collections::BTreeSet<&String> = [&first, &second, &zeta_run].into();
    assert_eq!(distinct.len(), 3);
    assert_ne!(acme_ix, zeta_ix);
    // Zeta's owner sees his run by its id; its row number (3) is no id at all.
    let shown = json(&flowhost(
        dir.path(),
        &db,
        &["runs", "show", &zeta_run, "--as", "zed@zeta.test", "--json"],
    ));
    assert_eq!(shown["run"]["id"], zeta_run.as_str(), "{shown}");
    let by_number = flowhost(
        dir.path(),
        &db,
        &["runs", "show", "3", "--as", "zed@zeta.test"],
    );
    assert_eq!(by_number.status.code(), Some(2));
    assert!(
        text(&by_number).contains("`3` is not a run id"),
        "{}",
        text(&by_number)
    );
    // The step's output names its interaction by the same opaque id, and the listing too.
    let listed = json(&flowhost(
        dir.path(),
        &db,
        &[
            "interact",
            "list",
            "--workspace",
            "zeta-soc",
            "--as",
            "zed@zeta.test",
            "--json",
        ],
    ));
    assert_eq!(listed[0]["id"], zeta_ix.as_str(), "{listed}");
    assert_eq!(listed[0]["run"], zeta_run.as_str(), "{listed}");
}

/// Issue 13 item 6 (SPEC ID-4): `tenant apply` told an outsider "not an Owner in organization
/// X" and "workspace X belongs to another organization". Now a refusal reads as for a name
/// that does not exist, and where a taken name must fail (creating it), the error says only
/// that the name is not available.
#[test]
fn tenant_apply_tells_an_outsider_only_that_a_name_is_taken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with = acme(dir.path());
    let without = zeta(dir.path());
    // zed is a principal in both databases, an outsider to acme in `with`.
    let out = flowhost(
        dir.path(),
        &with,
        &["tenant", "apply", "zeta.json", "--bootstrap"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let apply = |db: &Path, name: &str, body: &str| {
        std::fs::write(dir.path().join(name), body).expect("write");
        flowhost(
            dir.path(),
            db,
            &["tenant", "apply", name, "--as", "zed@zeta.test"],
        )
    };
    // Naming another organization's workspace without listing himself as its owner: the
    // refusal for a workspace he cannot create, as for one that does not exist.
    let not_listed = r#"{"organization":"zeta","workspaces":[{"name":"mssp-soc","members":[{"email":"x@zeta.test","role":"owner"}]}]}"#;
    let hidden = apply(&with, "a.json", not_listed);
    let missing = apply(&without, "a.json", not_listed);
    assert_eq!(hidden.status.code(), Some(1), "{}", text(&hidden));
    assert_eq!(observed(&hidden), observed(&missing), "{}", text(&hidden));
    // Creating it: the name is not available; whose it is, is not said.
    let create = r#"{"organization":"zeta","workspaces":[{"name":"mssp-soc","members":[{"email":"zed@zeta.test","role":"owner"}]}]}"#;
    let taken = apply(&with, "b.json", create);
    assert_eq!(taken.status.code(), Some(2));
    assert!(
        text(&taken).contains("the workspace name `mssp-soc` is not available"),
        "{}",
        text(&taken)
    );
    assert!(!text(&taken).contains("acme"), "{}", text(&taken));
    // Nor one that reads as it: differing only by case, or by an invisible character
    // (hostile-input review: another tenant's `soc` on a sign-in page).
    let alike = r#"{"organization":"zeta","workspaces":[{"name":"MSSP-Soc","members":[{"email":"zed@zeta.test","role":"owner"}]}]}"#;
    let alike = apply(&with, "d.json", alike);
    assert_eq!(alike.status.code(), Some(2), "{}", text(&alike));
    assert!(
        text(&alike).contains("differs from it only by case") && !text(&alike).contains("acme"),
        "{}",
        text(&alike)
    );
    let hidden_char = "{\"organization\":\"zeta\",\"workspaces\":[{\"name\":\"mssp-soc\\u200b\",\"members\":[{\"email\":\"zed@zeta.test\",\"role\":\"owner\"}]}]}";
    let invisible = apply(&with, "e.json", hidden_char);
    assert_eq!(invisible.status.code(), Some(2), "{}", text(&invisible));
    assert!(
        text(&invisible).contains("invisible"),
        "{}",
        text(&invisible)
    );
    // Joining another organization: only that its name is taken.
    let join = r#"{"organization":"acme-mssp","workspaces":[{"name":"zed-ws","members":[{"email":"zed@zeta.test","role":"owner"}]}]}"#;
    let joined = apply(&with, "c.json", join);
    assert_eq!(joined.status.code(), Some(2));
    let said = text(&joined);
    assert!(
        said.contains("the organization name `acme-mssp` is not available"),
        "{said}"
    );
    assert!(
        !said.contains("Owner") && !said.contains("mssp-soc"),
        "{said}"
    );
    // Nothing of it was written anywhere.
    let out = flowhost(
        dir.path(),
        &with,
        &["tenant", "export", "--as", OWNER, "--org", "acme-mssp"],
    );
    assert!(!text(&out).contains("zed"), "{}", text(&out));
}

/// The CLI names a start or a creation with `--idempotency-key`, as the API's header does:
/// a script retrying after a lost answer gets what the first made, never a second run or
/// case (round 20 kill and concurrency review: the CLI passed no key).
#[test]
fn the_cli_starts_and_creates_once_under_an_idempotency_key() {
    let d = common::Deployment::new();
    let wf = serde_json::json!({ "name": "hello", "workspace": "mssp-soc",
        "steps": [ { "exit": { "status": "done" } } ] });
    let file = d.dir.path().join("hello.json");
    std::fs::write(&file, wf.to_string()).expect("write");
    let file = file.to_str().expect("utf-8");
    d.ok(&["workflows", "publish", file, "--as", OWNER]);
    let json = |out: String| -> serde_json::Value { serde_json::from_str(&out).expect("json") };
    let run = |key: &str| {
        json(d.ok(&[
            "run",
            "--published",
            "hello",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--idempotency-key",
            key,
            "--json",
        ]))
    };
    let (first, again, other) = (run("r-1"), run("r-1"), run("r-2"));
    assert_eq!(first["run_id"], again["run_id"], "{first} {again}");
    assert_ne!(first["run_id"], other["run_id"]);
    // The first CLI killed mid-run (its run left `running`, leased to nobody alive): the
    // retry goes on with it, rather than answer "running" with nothing executing it.
    let id = first["run_id"].as_str().expect("run id");
    common::db_at(&d.db)
        .conn()
        .execute_batch(&format!(
            "UPDATE runs SET status = 'running', exit_status = NULL, output = NULL,
                 finished_at = NULL, lease_owner = NULL WHERE public_id = '{id}'"
        ))
        .expect("as a killed CLI left it");
    let resumed = run("r-1");
    assert_eq!(resumed["run_id"], first["run_id"]);
    assert_eq!(resumed["status"], "succeeded", "{resumed}");
    let create = |key: &str| {
        json(d.ok(&[
            "cases",
            "create",
            "--title",
            "Phish",
            "--severity",
            "low",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--idempotency-key",
            key,
            "--json",
        ]))
    };
    let (made, made_again) = (create("c-1"), create("c-1"));
    assert_eq!(made["id"], made_again["id"], "{made} {made_again}");
    let from_json = |key: &str| {
        json(d.ok(&[
            "cases",
            "create-from-json",
            r#"{"title": "Beacon", "severity": "high"}"#,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--idempotency-key",
            key,
            "--json",
        ]))
    };
    let (json_made, json_again) = (from_json("c-2"), from_json("c-2"));
    assert_eq!(json_made["id"], json_again["id"]);
    assert_ne!(json_made["id"], made["id"]);
    // A restriction update sent again under its key changes nothing again: a collaborator
    // removed since stays removed (round 22 authority review: the CLI took no key).
    let case = made["id"].as_str().expect("case id");
    let operator = "omar.operator@acme-mssp.test";
    let update = |args: &[&str]| {
        let mut all = vec![
            "cases",
            "update-restrictions",
            case,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ];
        all.extend_from_slice(args);
        json(d.ok(&all))
    };
    let added = update(&["--add", operator, "--idempotency-key", "u-1"]);
    assert_eq!(added["collaborators"], serde_json::json!([operator]));
    update(&["--remove", operator]);
    let again = update(&["--add", operator, "--idempotency-key", "u-1"]);
    assert_eq!(again, added, "the first answer");
    let now = update(&[]);
    assert_eq!(
        now["collaborators"],
        serde_json::json!([]),
        "not added back"
    );
    // A file's run names no published start, nor another workspace, and a key of spaces is
    // no key: refused (round 21 input review: `--workspace` with a file was ignored).
    let elsewhere = d.cli(&["run", file, "--as", OWNER, "--workspace", "customer-globex"]);
    assert!(!elsewhere.status.success(), "{}", text(&elsewhere));
    assert!(
        text(&elsewhere).contains("--workspace"),
        "{}",
        text(&elsewhere)
    );
    for args in [
        vec!["run", file, "--as", OWNER, "--idempotency-key", "k"],
        vec![
            "run",
            "--published",
            "hello",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--idempotency-key",
            "a b",
        ],
    ] {
        let out = d.cli(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out).contains("--idempotency-key"), "{}", text(&out));
    }
    let runs = d.ok(&[
        "runs",
        "list",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
        "--json",
    ]);
    assert_eq!(
        json(runs).as_array().map(Vec::len),
        Some(2),
        "two keys, two runs"
    );
}

/// `--json` prints one document: a run whose events trigger others answers its outcome with
/// theirs under `triggered` (it printed a document per run, which no JSON reader parses), and
/// `triggers dispatch --json` a list, `[]` when nothing started (it printed nothing; round 22
/// door review).
#[test]
fn a_runs_json_answer_is_one_document_with_the_runs_it_triggered() {
    let d = common::Deployment::new();
    let write = |name: &str, wf: serde_json::Value| {
        let file = d.dir.path().join(format!("{name}.json"));
        std::fs::write(&file, wf.to_string()).expect("write");
        file.to_str().expect("utf-8").to_owned()
    };
    let on_case = write(
        "on-case",
        serde_json::json!({ "name": "on-case", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_created" },
            "steps": [ { "exit": { "status": "seen" } } ] }),
    );
    d.ok(&["workflows", "publish", &on_case, "--as", OWNER]);
    let make = write(
        "make",
        serde_json::json!({ "name": "make", "workspace": "mssp-soc", "steps": [
            { "id": "mk", "uses": "cases/create-case", "with": { "title": "T", "severity": "low" } } ] }),
    );
    let out = d.ok(&["run", &make, "--as", OWNER, "--json"]);
    let answer: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(answer["status"], "succeeded", "{answer}");
    let triggered = answer["triggered"].as_array().expect("triggered");
    assert_eq!(triggered.len(), 1, "{answer}");
    assert_eq!(triggered[0]["exit_status"], "seen");
    let out = d.ok(&[
        "triggers",
        "dispatch",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
        "--json",
    ]);
    let none: serde_json::Value = serde_json::from_str(&out).expect("a JSON list");
    assert_eq!(none, serde_json::json!([]));
}
