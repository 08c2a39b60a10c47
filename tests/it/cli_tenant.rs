//! The access engine from the CLI, as a real process against a real database file:
//! `tenant apply|export`, `access check`, `sso`, `users`, `audit`, and `has-scope` from a step.

use crate::common;

use std::path::Path;

use common::{HOSTILE, example_tenant_path, flowhost};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn audit_rows(db: &Path) -> i64 {
    let db = crate::common::db_at(db);
    db.conn()
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .expect("count")
}

fn applied(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("flowhost.db");
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
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("mssp-soc: workspace created"),
        "{}",
        stdout(&out)
    );
    db
}

/// Applies the example tenant file again as its Owner: no change, and no audit entry.
fn applies_with_no_change(dir: &Path, db: &Path) {
    let rows = audit_rows(db);
    let tenant = example_tenant_path();
    let out = flowhost(
        dir,
        db,
        &[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "no changes");
    assert_eq!(audit_rows(db), rows);
}

#[test]
fn applying_twice_changes_nothing_and_writes_no_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    assert!(audit_rows(&db) > 10);
    applies_with_no_change(dir.path(), &db);
}

/// Claim rules stored with a role as it was typed (`Owner`, `Triage-Analyst`, before roles
/// were stored by their canonical names in round 24) are the file's rules: applying the file
/// again changes nothing and writes no audit (round 25 review of round 24: it replaced the
/// rules, asking for SSO rights, each first apply after the upgrade).
#[test]
fn claim_rules_stored_with_a_role_as_typed_are_the_files_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let respelt = crate::common::db_at(&db)
        .conn()
        .execute(
            "UPDATE claim_rules SET role = CASE role WHEN 'owner' THEN 'Owner' \
             ELSE 'Triage-Analyst' END WHERE role IN ('owner', 'triage-analyst')",
            [],
        )
        .expect("stored as typed");
    assert_eq!(respelt, 3, "one per rule naming them");
    applies_with_no_change(dir.path(), &db);
}

/// A claim rule's `external` is read in any case and spacing, as every role name is, and
/// stored as `external`: `External` was refused at every door, and `external ` taken by
/// `sso rules add` and refused in a tenant file (round 25 identity review).
#[test]
fn a_claim_rules_external_is_read_in_any_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let text = std::fs::read_to_string(example_tenant_path()).expect("tenant file");
    let shouted = text.replace(r#""role": "external""#, r#""role": " External ""#);
    assert_ne!(shouted, text, "the file has an external rule");
    let file = dir.path().join("shouted.json");
    std::fs::write(&file, shouted).expect("write");
    let owner = ["--as", "olivia.owner@acme-mssp.test"];
    let apply = flowhost(
        dir.path(),
        &db,
        &[
            &["tenant", "apply", file.to_str().expect("utf-8")][..],
            &owner,
        ]
        .concat(),
    );
    assert!(apply.status.success(), "{}", stderr(&apply));
    assert_eq!(
        stdout(&apply).trim(),
        "no changes",
        "stored as `external` already"
    );
    let add = flowhost(
        dir.path(),
        &db,
        &[
            &[
                "sso",
                "rules",
                "add",
                "--claim",
                "groups",
                "--value",
                "contractors",
                "--role",
                "External",
                "--workspace",
                "customer-globex",
            ][..],
            &owner,
        ]
        .concat(),
    );
    assert!(add.status.success(), "{}", stderr(&add));
    let listed = flowhost(
        dir.path(),
        &db,
        &[
            &["sso", "rules", "list", "--workspace", "customer-globex"][..],
            &owner,
        ]
        .concat(),
    );
    assert!(
        stdout(&listed).contains("contractors → external"),
        "{}",
        stdout(&listed)
    );
    let refused = flowhost(
        dir.path(),
        &db,
        &[
            &[
                "sso",
                "rules",
                "add",
                "--claim",
                "groups",
                "--value",
                "x",
                "--role",
                "nobody",
                "--workspace",
                "customer-globex",
            ][..],
            &owner,
        ]
        .concat(),
    );
    assert!(
        stderr(&refused).contains("or `external`"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn export_prints_the_same_format_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "export", "--as", "olivia.owner@acme-mssp.test"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let exported: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(exported["organization"], "acme-mssp");
    std::fs::write(dir.path().join("export.json"), &out.stdout).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            "export.json",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "no changes",
        "applying an export is a no-op"
    );
}

#[test]
fn a_bad_file_names_every_error_with_path_and_line_and_applies_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let bad = r#"{
  "organization": "acme",
  "workspaces": [
    { "name": "soc",
      "custom_roles": [ { "name": "r", "scopes": ["case.read", "case.destroy"] } ],
      "members": [ { "email": "a@acme.test", "role": "operator" },
                   { "email": "b@acme.test", "role": "wizard" } ] }
  ]
}"#;
    std::fs::write(dir.path().join("bad.json"), bad).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "bad.json", "--bootstrap"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "bad.json:5:64: workspaces[0].custom_roles[0].scopes[1]: unknown scope `case.destroy`"
        ),
        "{err}"
    );
    assert!(
        err.contains("bad.json:7:54: workspaces[0].members[1].role: there is no role `wizard`"),
        "{err}"
    );
    assert!(
        err.contains("workspaces[0].members: workspace `soc` needs at least one owner"),
        "{err}"
    );
    let db = crate::common::db_at(&db);
    let n: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM workspaces", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 0, "nothing was applied");
}

/// Names that key rows in every store are bounded where the file is read, so PostgreSQL
/// (which indexes no entry past ~2.7 KB, and stores no NUL) never sees them: an IdP's name
/// of 3,000 characters, and a workspace and a custom role named with a NUL, are each named
/// at their place, and nothing applies (PostgreSQL answered an internal error; review).
#[test]
fn names_too_long_or_holding_nul_are_located_and_nothing_applies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    let file = serde_json::json!({
        "organization": "acme",
        "workspaces": [
            { "name": "soc", "idps": ["i".repeat(3_000), " okta"],
              "groups": [ { "name": "tier-1\nforged", "type": "static" } ],
              "members": [ { "email": "a@acme.test", "role": "owner" } ] },
            { "name": "nul\u{0}ws",
              "custom_roles": [ { "name": "r\u{0}", "scopes": ["case.read"] } ],
              "members": [ { "email": "a@acme.test", "role": "owner" } ] }
        ]
    });
    std::fs::write(dir.path().join("names.json"), file.to_string()).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "names.json", "--bootstrap"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "workspaces[0].idps[0]: an IdP's name",
        "at most 200",
        // One visible line, untrimmed never (hostile-input review).
        "workspaces[0].idps[1]: an IdP's name ` okta` starts or ends with white space",
        "workspaces[0].groups[0].name: a group name",
        "workspaces[1].name: a workspace name is 1 to",
        "workspaces[1].custom_roles[0]",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
    let db = crate::common::db_at(&db);
    let n: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM workspaces", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 0, "nothing was applied");
}

#[test]
fn malformed_json_and_unknown_fields_are_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("flowhost.db");
    std::fs::write(
        dir.path().join("broken.json"),
        "{\n  \"organization\": \"x\",\n  \"workspaces\": [,]\n}",
    )
    .expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "broken.json", "--bootstrap"],
    );
    assert!(
        stderr(&out).contains("broken.json:3:18:"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        dir.path().join("typo.json"),
        "{\"organization\": \"x\", \"workspaces\": [{\"name\": \"w\", \"memebers\": []}]}",
    )
    .expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "typo.json", "--bootstrap"],
    );
    let err = stderr(&out);
    assert!(
        err.contains("workspaces[0].memebers") && err.contains("unknown field `memebers`"),
        "{err}"
    );
}

#[test]
fn a_group_type_change_is_refused_and_nothing_of_the_file_applies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let rows = audit_rows(&db);
    let text = std::fs::read_to_string(example_tenant_path()).expect("read");
    let changed = text
        .replace("\"sam.lead@acme-mssp.test\", \"role\": \"contributor\"", "\"sam.lead@acme-mssp.test\", \"role\": \"owner\"")
        .replace("\"name\": \"soc-analysts\", \"description\": \"Mirrors the IdP group soc-analysts\", \"type\": \"dynamic\"", "\"name\": \"soc-analysts\", \"description\": \"Mirrors the IdP group soc-analysts\", \"type\": \"static\"");
    assert_ne!(changed, text);
    std::fs::write(dir.path().join("changed.json"), changed).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            "changed.json",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("workspaces[0].groups[1].type: group `soc-analysts` is dynamic"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        audit_rows(&db),
        rows,
        "the promotion in the same file was rolled back too"
    );
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "access",
            "check",
            "--workspace",
            "mssp-soc",
            "--as",
            "sam.lead@acme-mssp.test",
            "--scope",
            "user.write",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
}

/// A file respelling a trusted IdP only by case is refused, nothing applied: it removed the
/// IdP, every member it provisioned and their keys, and trusted a new one, exit 0 (round 17
/// hostile-input review).
#[test]
fn an_idp_respelt_by_case_is_refused_and_nothing_of_the_file_applies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let login = flowhost(
        dir.path(),
        &db,
        &[
            "sso",
            "login",
            "--idp",
            "acme-okta",
            "--claims",
            r#"{"email":"erin@acme-mssp.test","groups":["soc-analysts"]}"#,
        ],
    );
    assert!(login.status.success(), "{}", stderr(&login));
    let rows = audit_rows(&db);
    let text = std::fs::read_to_string(example_tenant_path()).expect("read");
    let changed = text.replace("\"acme-okta\"", "\"Acme-Okta\"");
    assert_ne!(changed, text);
    std::fs::write(dir.path().join("changed.json"), changed).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            "changed.json",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("IdP `Acme-Okta` differs from IdP `acme-okta` only by case"),
        "{}",
        stderr(&out)
    );
    assert_eq!(audit_rows(&db), rows, "nothing applied");
    // The member it provisioned is still there.
    let check = flowhost(
        dir.path(),
        &db,
        &[
            "access",
            "check",
            "--workspace",
            "mssp-soc",
            "--as",
            "erin@acme-mssp.test",
            "--sso",
            "--scope",
            "case.read",
        ],
    );
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
}

#[test]
fn access_check_answers_with_reasons_and_exit_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let args = [
        "access",
        "check",
        "--workspace",
        "mssp-soc",
        "--as",
        "TINA.analyst@acme-mssp.test",
        "--scope",
        "case.write",
        "--explain",
    ];
    let out = flowhost(dir.path(), &db, &args);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.starts_with("allow: granted by role `triage-analyst`"),
        "{text}"
    );
    assert!(text.contains("groups: ir-team (static)"), "{text}");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "access",
            "check",
            "--workspace",
            "mssp-soc",
            "--as",
            "tina.analyst@acme-mssp.test",
            "--scope",
            "user.write",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["allowed"], false);
    assert!(
        doc["reason"]
            .as_str()
            .is_some_and(|r| r.contains("does not include `user.write`"))
    );
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "access",
            "check",
            "--workspace",
            "mssp-soc",
            "--as",
            "tina.analyst@acme-mssp.test",
            "--scope",
            "case.nuke",
        ],
    );
    assert!(stdout(&out).contains("`case.nuke` is not a known scope"));
}

#[test]
fn claim_mapping_order_from_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let claims = r#"{"email":"erin@acme-mssp.test","groups":["soc-analysts","soc-admins"]}"#;
    let out = flowhost(
        dir.path(),
        &db,
        &["sso", "login", "--idp", "acme-okta", "--claims", claims],
    );
    assert!(
        stdout(&out).contains("mssp-soc: member as owner (rule 1)"),
        "{}",
        stdout(&out)
    );
    let owner = [
        "--workspace",
        "mssp-soc",
        "--as",
        "olivia.owner@acme-mssp.test",
    ];
    let out = flowhost(
        dir.path(),
        &db,
        &[&["sso", "rules", "move", "2", "1"][..], &owner].concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = flowhost(
        dir.path(),
        &db,
        &["sso", "login", "--idp", "acme-okta", "--claims", claims],
    );
    assert!(
        stdout(&out).contains("mssp-soc: member as triage-analyst (rule 1)"),
        "{}",
        stdout(&out)
    );
    // A contributor may not re-rank.
    let lead = ["--workspace", "mssp-soc", "--as", "sam.lead@acme-mssp.test"];
    let out = flowhost(
        dir.path(),
        &db,
        &[&["sso", "rules", "move", "2", "1"][..], &lead].concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not include `user.write`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn users_keys_and_audit_from_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let owner = [
        "--workspace",
        "mssp-soc",
        "--as",
        "olivia.owner@acme-mssp.test",
    ];
    let run = |args: &[&str]| flowhost(dir.path(), &db, &[args, &owner[..]].concat());
    assert!(
        run(&["users", "invite", "new@acme-mssp.test", "--role", "viewer"])
            .status
            .success()
    );
    let out = run(&[
        "keys",
        "create",
        "--name",
        "ci",
        "--service-role",
        "operator",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let id = key["id"].as_str().expect("id");
    let token = key["token"].as_str().expect("token");
    // A key acts by its token, from the environment (SPEC RB-4), never by its id.
    let out = std::process::Command::new(common::flowhost_bin())
        .current_dir(dir.path())
        .env("FLOWHOST_API_KEY", token)
        .arg("--db")
        .arg(common::db_arg(&db))
        .args([
            "access",
            "check",
            "--workspace",
            "mssp-soc",
            "--scope",
            "playbook.execute",
        ])
        .output()
        .expect("flowhost runs");
    assert!(
        stdout(&out).contains(&format!("granted to service key `{id}`")),
        "{}",
        stdout(&out)
    );
    let out = run(&["audit", "--json"]);
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let actions: Vec<&str> = entries
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.ends_with(&["user.invite", "key.create"]),
        "{actions:?}"
    );
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "audit",
            "--workspace",
            "mssp-soc",
            "--as",
            "tina.analyst@acme-mssp.test",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not include `audit.read`"));
}

#[test]
fn a_steps_has_scope_answers_for_the_runs_principal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let probe = |who: &str| {
        let out = flowhost(
            dir.path(),
            &db,
            &[
                "step",
                "run",
                HOSTILE,
                "--input",
                r#"{"attack":"host_calls"}"#,
                "--workspace",
                "mssp-soc",
                "--as",
                who,
                "--json",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        doc["output"]["has_scope"].clone()
    };
    let analyst = probe("tina.analyst@acme-mssp.test");
    assert_eq!(analyst["allowed"], true);
    assert_eq!(
        analyst["reason"],
        "granted by role `triage-analyst`, which includes `case.read`"
    );
    let stranger = probe("gary.admin@globex.test");
    assert_eq!(stranger["allowed"], false);
    assert!(
        stranger["reason"]
            .as_str()
            .is_some_and(|r| r.contains("has no standing in workspace `mssp-soc`")),
        "an outsider is answered as for any workspace (SPEC ID-4): {stranger}"
    );
}

#[test]
fn outsiders_cannot_join_an_organization_or_borrow_its_idp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let intruder = r#"{"organization":"acme-mssp","workspaces":[{"name":"x","members":[{"email":"mallory@evil.test","role":"owner"}]}]}"#;
    std::fs::write(dir.path().join("intruder.json"), intruder).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            "intruder.json",
            "--as",
            "mallory@evil.test",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    // Only that the name is taken; not who holds it, nor that an Owner is missing (ID-4).
    assert!(
        stderr(&out).contains("the organization name `acme-mssp` is not available"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("Owner"), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("mssp-soc"),
        "no workspace names leak"
    );
    let borrow = r#"{"organization":"evil","workspaces":[{"name":"evil-ws","idps":["acme-okta"],"members":[{"email":"mallory@evil.test","role":"owner"}]}]}"#;
    std::fs::write(dir.path().join("borrow.json"), borrow).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "borrow.json", "--bootstrap"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("IdP `acme-okta` cannot be trusted here"),
        "{}",
        stderr(&out)
    );
    // Taken, but not said by whom (SPEC ID-4).
    assert!(!stderr(&out).contains("acme-mssp"), "{}", stderr(&out));
    // An Owner of the organization may add a workspace to it.
    let addition = r#"{"organization":"acme-mssp","workspaces":[{"name":"new-ws","members":[{"email":"olivia.owner@acme-mssp.test","role":"owner"}]}]}"#;
    std::fs::write(dir.path().join("addition.json"), addition).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            "addition.json",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `tenant export` of the database at `db`, as text.
fn export(dir: &Path, db: &Path) -> String {
    let out = flowhost(
        dir,
        db,
        &["tenant", "export", "--as", "olivia.owner@acme-mssp.test"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn an_export_after_sso_logins_reproduces_the_tenant_on_a_fresh_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let login = |idp: &str, claims: serde_json::Value| {
        let out = flowhost(
            dir.path(),
            &db,
            &[
                "sso",
                "login",
                "--idp",
                idp,
                "--claims",
                &claims.to_string(),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // Invited members sign in through SSO: an Owner matching a lesser rule, a break-glass
    // Owner, a member denied; others are provisioned by SSO, one of them put in a static group.
    login(
        "acme-okta",
        serde_json::json!({ "email": "Olivia.Owner@acme-mssp.test", "groups": ["soc-analysts"] }),
    );
    login(
        "globex-entra",
        serde_json::json!({ "email": "gary.admin@globex.test", "groups": ["Flowhost-Requesters"] }),
    );
    login(
        "globex-entra",
        serde_json::json!({ "email": "tina.analyst@acme-mssp.test", "groups": ["Nobody"] }),
    );
    login(
        "acme-okta",
        serde_json::json!({ "email": "erin@acme-mssp.test", "groups": ["soc-admins"] }),
    );
    login(
        "acme-okta",
        serde_json::json!({ "email": "dana@acme-mssp.test", "groups": ["soc-analysts"] }),
    );
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "groups",
            "add",
            "ir-team",
            "dana@acme-mssp.test",
            "--workspace",
            "mssp-soc",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let first = export(dir.path(), &db);
    // The invitations are all there, break-glass included.
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example_tenant_path()).expect("read"))
            .expect("json");
    let exported: serde_json::Value = serde_json::from_str(&first).expect("json");
    for i in 0..2 {
        let mut want: Vec<String> = original["workspaces"][i]["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| m.to_string())
            .collect();
        let mut got: Vec<String> = exported["workspaces"]
            .as_array()
            .expect("workspaces")
            .iter()
            .find(|w| w["name"] == original["workspaces"][i]["name"])
            .expect("workspace")["members"]
            .as_array()
            .expect("members")
            .iter()
            // SSO-provisioned Owners are exported too, marked (see the test below).
            .filter(|m| m["sso"] != true)
            .map(|m| m.to_string())
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
    }
    assert!(
        first.contains(r#""email": "erin@acme-mssp.test""#) && first.contains(r#""sso": true"#),
        "{first}"
    );
    let file = dir.path().join("export.json");
    std::fs::write(&file, &first).expect("write");
    let file = file.to_str().expect("utf-8");
    // Applying it where it came from changes nothing...
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            file,
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "no changes");
    // ...and on a fresh database it reproduces the tenant.
    let fresh = dir.path().join("fresh.db");
    let out = flowhost(
        dir.path(),
        &fresh,
        &["tenant", "apply", file, "--bootstrap"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(export(dir.path(), &fresh), first);
}

#[test]
fn sso_rules_add_refuses_what_tenant_apply_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let rules = |db: &Path| {
        stdout(&flowhost(
            dir.path(),
            db,
            &[
                "sso",
                "rules",
                "list",
                "--workspace",
                "mssp-soc",
                "--as",
                "olivia.owner@acme-mssp.test",
            ],
        ))
    };
    let before = rules(&db);
    for (claim, value) in [("groups", ""), ("groups", "  "), ("", "soc"), ("  ", "soc")] {
        let out = flowhost(
            dir.path(),
            &db,
            &[
                "sso",
                "rules",
                "add",
                "--claim",
                claim,
                "--value",
                value,
                "--role",
                "viewer",
                "--workspace",
                "mssp-soc",
                "--as",
                "olivia.owner@acme-mssp.test",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{claim:?} = {value:?}");
        assert!(
            stderr(&out).contains("a claim rule needs a claim name and a value"),
            "{}",
            stderr(&out)
        );
        // The tenant file says the same of the same rule.
        let file = serde_json::json!({ "organization": "acme-mssp", "workspaces": [{
            "name": "mssp-soc", "idps": ["acme-okta"],
            "members": [{ "email": "olivia.owner@acme-mssp.test", "role": "owner" }],
            "claim_rules": [{ "claim": claim, "value": value, "role": "viewer" }] }] });
        std::fs::write(dir.path().join("rule.json"), file.to_string()).expect("write");
        let out = flowhost(
            dir.path(),
            &db,
            &["tenant", "apply", "rule.json", "--bootstrap"],
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("a claim rule needs a claim name and a value"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(rules(&db), before, "nothing was added");
}

/// Issue 13 item 5: a workspace whose only Owners came through SSO exported without an Owner,
/// so its export no longer applied (SPEC UA-3). Its SSO-provisioned Owners are exported
/// (`"sso": true`): the export applies where it came from with no change, and on a fresh
/// database reproduces an owned workspace whose export is the same again.
#[test]
fn a_workspace_owned_only_through_sso_exports_its_owners_and_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("solo.db");
    let tenant = r#"{"organization":"solo","workspaces":[{"name":"solo-soc","idps":["solo-idp"],
        "members":[{"email":"first@solo.test","role":"owner"}],
        "claim_rules":[{"claim":"groups","value":"admins","role":"owner"}]}]}"#;
    std::fs::write(dir.path().join("solo.json"), tenant).expect("write");
    let ok = |db: &Path, args: &[&str]| -> String {
        let out = flowhost(dir.path(), db, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok(&db, &["tenant", "apply", "solo.json", "--bootstrap"]);
    ok(
        &db,
        &[
            "sso",
            "login",
            "--idp",
            "solo-idp",
            "--claims",
            r#"{"email":"sam@solo.test","groups":["admins"]}"#,
        ],
    );
    // The invited Owner leaves; the SSO-provisioned one is the workspace's only Owner.
    ok(
        &db,
        &[
            "users",
            "delete",
            "first@solo.test",
            "--workspace",
            "solo-soc",
            "--as",
            "sam@solo.test",
            "--sso",
        ],
    );
    let first = ok(&db, &["tenant", "export", "--as", "sam@solo.test", "--sso"]);
    let doc: serde_json::Value = serde_json::from_str(&first).expect("json");
    assert_eq!(
        doc["workspaces"][0]["members"],
        serde_json::json!([{ "email": "sam@solo.test", "role": "owner", "sso": true }]),
        "{first}"
    );
    std::fs::write(dir.path().join("export.json"), &first).expect("write");
    // Where it came from: no change.
    let same = ok(
        &db,
        &[
            "tenant",
            "apply",
            "export.json",
            "--as",
            "sam@solo.test",
            "--sso",
        ],
    );
    assert_eq!(same.trim(), "no changes");
    // On a fresh database: applies, owned, and exports the same.
    let fresh = dir.path().join("fresh.db");
    ok(&fresh, &["tenant", "apply", "export.json", "--bootstrap"]);
    let again = ok(&fresh, &["tenant", "export", "--as", "sam@solo.test"]);
    assert_eq!(again, first);
    let check = ok(
        &fresh,
        &[
            "access",
            "check",
            "--workspace",
            "solo-soc",
            "--scope",
            "user.write",
            "--as",
            "sam@solo.test",
        ],
    );
    assert!(!check.is_empty());
    // Sam, an Owner through SSO with no SSO login here yet, is an Owner who can act: another
    // Owner may leave (round 25 self-review: a NULL outcome left Sam uncounted, and every
    // other Owner was refused as the last).
    for args in [
        ["users", "invite", "other@solo.test", "--role", "owner"].as_slice(),
        ["users", "delete", "other@solo.test"].as_slice(),
    ] {
        ok(
            &fresh,
            &[args, &["--workspace", "solo-soc", "--as", "sam@solo.test"]].concat(),
        );
    }
}

/// `tenant apply` names the workspaces of the organization left out of the file only to
/// those who manage them (`user.write`), as `tenant export` holds only those: Gary, an Owner
/// of customer-globex alone, learned the name of mssp-soc (SPEC ID-1; leak review).
#[test]
fn apply_names_only_the_left_out_workspaces_the_applier_manages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let gary = "gary.admin@globex.test";
    // Gary signs in locally once his workspace's SSO-only sign-in is lifted.
    let lifted = flowhost(
        dir.path(),
        &db,
        &[
            "sso",
            "enforce",
            "off",
            "--workspace",
            "customer-globex",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(lifted.status.success(), "{}", stderr(&lifted));
    let out = flowhost(dir.path(), &db, &["tenant", "export", "--as", gary]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = dir.path().join("globex.json");
    std::fs::write(&file, stdout(&out)).expect("write");
    let file = file.to_str().expect("utf-8");
    let apply = |who: &str| {
        let out = flowhost(dir.path(), &db, &["tenant", "apply", file, "--as", who]);
        assert!(out.status.success(), "{who}: {}", stderr(&out));
        stdout(&out)
    };
    let gary_sees = apply(gary);
    assert!(!gary_sees.contains("mssp-soc"), "{gary_sees}");
    let olivia_sees = apply("olivia.owner@acme-mssp.test");
    assert!(
        olivia_sees.contains("mssp-soc: not in the file, left alone"),
        "{olivia_sees}"
    );
}

/// A claim rule's value is the IdP's word, one line: a line break in it wrote a forged rule
/// line into `sso rules list` (hostile-input review), and is now refused where written, as
/// every character that hides in a line is (round 17); one stored before is listed as one
/// line.
#[test]
fn a_claim_rules_value_is_listed_as_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let owner = [
        "--workspace",
        "mssp-soc",
        "--as",
        "olivia.owner@acme-mssp.test",
    ];
    let add = [
        "sso",
        "rules",
        "add",
        "--claim",
        "groups",
        "--value",
        "x\n  1. groups = everyone → owner",
        "--role",
        "viewer",
    ];
    let out = flowhost(dir.path(), &db, &[&add[..], &owner].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("holds U+000A"), "{}", stderr(&out));
    // Stored before this was refused: listed as one line.
    crate::common::db_at(&db)
        .conn()
        .execute(
            "UPDATE claim_rules SET value = ?1 WHERE value = 'soc-admins'",
            ["x\n  1. groups = everyone → owner"],
        )
        .expect("a stored value");
    let out = flowhost(
        dir.path(),
        &db,
        &[&["sso", "rules", "list"][..], &owner].concat(),
    );
    let listed = stdout(&out);
    assert!(
        listed.contains("= x\\u000a  1. groups = everyone → owner → owner"),
        "{listed}"
    );
    assert!(
        !listed
            .lines()
            .any(|l| l.starts_with("  1. groups = everyone")),
        "{listed}"
    );
}

/// A tenant file's dynamic group with a blank claim value is refused where it is written,
/// as a claim rule's blank value is: it mirrored no IdP group (round 16 hostile-input
/// review). Nothing of the file applies.
#[test]
fn a_dynamic_groups_blank_claim_value_is_refused_in_a_tenant_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let rows = audit_rows(&db);
    let text = std::fs::read_to_string(example_tenant_path()).expect("read");
    let blank = text.replace(
        "\"claim_value\": \"Flowhost-Requesters\"",
        "\"claim_value\": \"  \"",
    );
    assert_ne!(blank, text);
    std::fs::write(dir.path().join("blank.json"), blank).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            "blank.json",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("workspaces[1].groups[0].claim_value: a claim value must not be blank"),
        "{}",
        stderr(&out)
    );
    assert_eq!(audit_rows(&db), rows, "nothing applied");
    // Nor one given as `null`: it followed the group's name instead, silently (round 29
    // hostile-input review).
    let null = text.replace(
        "\"claim_value\": \"Flowhost-Requesters\"",
        "\"claim_value\": null",
    );
    std::fs::write(dir.path().join("null.json"), null).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            "null.json",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("claim_value"), "{}", stderr(&out));
    assert_eq!(audit_rows(&db), rows, "nothing applied");
    // Nor one holding an invisible character, nor a claim rule's name or value: none ever
    // matches what an IdP sends (round 17 hostile-input review).
    for (from, to, at) in [
        (
            "\"claim_value\": \"Flowhost-Requesters\"",
            "\"claim_value\": \"\u{200b}\"",
            "workspaces[1].groups[0].claim_value: the claim value holds U+200B",
        ),
        (
            "{ \"claim\": \"groups\", \"value\": \"soc-admins\"",
            "{ \"claim\": \"groups\", \"value\": \"soc-admins\u{200b}\"",
            "claim value `soc-admins\\u200b` holds U+200B",
        ),
        (
            "{ \"claim\": \"groups\", \"value\": \"soc-admins\"",
            "{ \"claim\": \"groups\u{feff}\", \"value\": \"soc-admins\"",
            "claim name `groups\\ufeff` holds U+FEFF",
        ),
    ] {
        let hidden = text.replace(from, to);
        assert_ne!(hidden, text, "{from}");
        std::fs::write(dir.path().join("hidden.json"), hidden).expect("write");
        let out = flowhost(
            dir.path(),
            &db,
            &[
                "tenant",
                "apply",
                "hidden.json",
                "--as",
                "olivia.owner@acme-mssp.test",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{to}: {}", stderr(&out));
        assert!(stderr(&out).contains(at), "{at}: {}", stderr(&out));
        assert_eq!(audit_rows(&db), rows, "nothing applied");
    }
}

/// A tenant file is one document: two exports written into one file applied the first and
/// dropped the second, exit 0 (round 18 hostile-input review). Refused, naming where the
/// second begins, and nothing applies.
#[test]
fn a_tenant_file_with_a_second_document_is_refused_and_nothing_applies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let rows = audit_rows(&db);
    let text = std::fs::read_to_string(example_tenant_path()).expect("read");
    let lines = text.trim_end().lines().count();
    std::fs::write(
        dir.path().join("two.json"),
        format!(
            "{}\n{{\"organization\": \"other\", \"workspaces\": []}}\n",
            text.trim_end()
        ),
    )
    .expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            "two.json",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let said = stderr(&out);
    assert!(said.contains("trailing characters"), "{said}");
    assert!(said.contains(&format!("two.json:{}:", lines + 1)), "{said}");
    assert_eq!(audit_rows(&db), rows, "nothing applied");
}

/// Names that differ only by case read as one, an organization's and a group's too: a file
/// spelling the organization otherwise created a second one beside it, and one respelling a
/// group deleted it and made another, its memberships lost (round 18 hostile-input review).
/// Refused, and nothing of the file applies; `groups create` refuses the same.
#[test]
fn an_organization_a_group_or_a_role_respelt_by_case_is_refused_where_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let rows = audit_rows(&db);
    let text = std::fs::read_to_string(example_tenant_path()).expect("read");
    let mut changed_files = Vec::new();
    for (from, to, said) in [
        (
            "\"acme-mssp\"",
            "\"ACME-MSSP\"",
            "the organization name `ACME-MSSP` is not available",
        ),
        (
            "\"ir-team\"",
            "\"IR-Team\"",
            "group `IR-Team` differs from group `ir-team` only by case",
        ),
    ] {
        let changed = text.replacen(from, to, 1);
        assert_ne!(changed, text, "{from}");
        changed_files.push((changed, said));
    }
    // A custom role respelt by case, beside the one stored or inside the file, is refused
    // where the file names it (it was refused unlocated).
    let respelt = text.replace("\"triage-analyst\"", "\"Triage-Analyst\"");
    changed_files.push((
        respelt,
        "workspaces[0].custom_roles[0].name: `Triage-Analyst` differs from the role \
         `triage-analyst` only by case",
    ));
    let twice = text.replacen(
        "\"custom_roles\": [",
        "\"custom_roles\": [{ \"name\": \"TRIAGE-analyst\", \"scopes\": [\"case.read\"] },",
        1,
    );
    changed_files.push((
        twice,
        "workspaces[0].custom_roles[1].name: custom role `triage-analyst` is declared twice",
    ));
    // A new invited member's address holding what a mail client brings along is refused
    // where the file names it (it was refused unlocated).
    let bracketed = text.replacen(
        "{ \"email\": \"sam.lead@acme-mssp.test\", \"role\": \"contributor\" },",
        "{ \"email\": \"sam.lead@acme-mssp.test\", \"role\": \"contributor\" }, \
         { \"email\": \"<new.person@acme-mssp.test>\", \"role\": \"viewer\" },",
        1,
    );
    assert_ne!(bracketed, text);
    // A new workspace or IdP named `.` or `..`, which clients resolve away in every address
    // that names it (round 22 input review).
    let dots = text.replacen("\"customer-globex\"", "\"..\"", 1);
    assert_ne!(dots, text);
    changed_files.push((dots, "a new workspace's name `..` is a path's `.` or `..`"));
    let dot_idp = text.replacen(
        "\"idps\": [\"globex-entra\"]",
        "\"idps\": [\"globex-entra\", \".\"]",
        1,
    );
    assert_ne!(dot_idp, text);
    changed_files.push((dot_idp, "IdP `.` is a path's `.` or `..`"));
    // Nor listed as an SSO member, which an IdP's sign-in then took as known (round 22
    // identity review).
    let as_sso = bracketed.replacen(
        "\"role\": \"viewer\" },",
        "\"role\": \"owner\", \"sso\": true },",
        1,
    );
    assert_ne!(as_sso, bracketed);
    changed_files.push((
        as_sso,
        "workspaces[0].members[2].email: `<new.person@acme-mssp.test>` is not an email",
    ));
    changed_files.push((
        bracketed,
        "changed.json:15:83: workspaces[0].members[2].email: `<new.person@acme-mssp.test>` is not an email \
         address: '<' is in no address",
    ));
    for (changed, said) in changed_files {
        std::fs::write(dir.path().join("changed.json"), changed).expect("write");
        let out = flowhost(
            dir.path(),
            &db,
            &[
                "tenant",
                "apply",
                "changed.json",
                "--as",
                "olivia.owner@acme-mssp.test",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(stderr(&out).contains(said), "{}", stderr(&out));
        assert_eq!(audit_rows(&db), rows, "nothing applied");
    }
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "groups",
            "create",
            "IR-team",
            "--type",
            "static",
            "--workspace",
            "mssp-soc",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains("only by case"), "{}", stderr(&out));
}

/// A file's static group names invited members only: one naming a member provisioned
/// through SSO applied once, then every later apply of the same file failed on a raw
/// storage error (round 19 identity review). Refused where written; a claim rule's role is
/// quoted with its hidden characters written out.
#[test]
fn a_static_group_naming_an_sso_member_or_a_hidden_role_is_refused_where_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(example_tenant_path()).expect("read");
    let mut tenant: serde_json::Value = serde_json::from_str(&text).expect("json");
    let ws = &mut tenant["workspaces"][0];
    ws["members"].as_array_mut().expect("members").push(
        serde_json::json!({ "email": "sso.sam@acme-mssp.test", "role": "viewer", "sso": true }),
    );
    ws["groups"][0]["members"]
        .as_array_mut()
        .expect("group members")
        .push(serde_json::json!("SSO.Sam@acme-mssp.test"));
    ws["claim_rules"] = serde_json::json!([
        { "claim": "groups", "value": "soc", "role": "owner\u{200b}" }
    ]);
    std::fs::write(dir.path().join("t.json"), tenant.to_string()).expect("write");
    let out = flowhost(
        dir.path(),
        &dir.path().join("f.db"),
        &["tenant", "apply", "t.json", "--bootstrap"],
    );
    let said = stderr(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("groups[0].members[2]")
            && said.contains("is listed as provisioned through SSO"),
        "{said}"
    );
    assert!(said.contains("there is no role `owner\\u200b`"), "{said}");
}

/// A role holding `user.write` without `user.read` learns nothing of who is a member from
/// `users invite`, `set-role`, `delete` or `groups add`: each said "already a member", "not
/// a member" or changed nothing for the role a member already held (round 18 leak review).
#[test]
fn who_is_a_member_is_told_to_no_one_who_may_not_read_members() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let owner = "olivia.owner@acme-mssp.test";
    let ok = |args: &[&str]| {
        let out = flowhost(dir.path(), &db, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    ok(&[
        "roles",
        "create",
        "people-writer",
        "--scopes",
        "user.write",
        "--workspace",
        "mssp-soc",
        "--as",
        owner,
    ]);
    ok(&[
        "users",
        "invite",
        "pat@acme-mssp.test",
        "--role",
        "people-writer",
        "--workspace",
        "mssp-soc",
        "--as",
        owner,
    ]);
    for (args, member) in [
        (
            vec![
                "users",
                "invite",
                "sam.lead@acme-mssp.test",
                "--role",
                "viewer",
            ],
            true,
        ),
        (
            vec![
                "users",
                "invite",
                "nobody@acme-mssp.test",
                "--role",
                "viewer",
            ],
            false,
        ),
        (vec!["users", "delete", "nobody@acme-mssp.test"], false),
        (
            vec![
                "users",
                "set-role",
                "sam.lead@acme-mssp.test",
                "--role",
                "contributor",
            ],
            true,
        ),
        (
            vec!["groups", "add", "ir-team", "nobody@acme-mssp.test"],
            false,
        ),
    ] {
        let mut full = args.clone();
        full.extend(["--workspace", "mssp-soc", "--as", "pat@acme-mssp.test"]);
        let out = flowhost(dir.path(), &db, &full);
        let said = stderr(&out);
        assert!(!out.status.success(), "{full:?}");
        assert!(
            said.contains("user.read"),
            "{full:?} (member: {member}): {said}"
        );
        assert!(
            !said.contains("already a member") && !said.contains("not a member"),
            "{said}"
        );
    }
    // Which groups exist, and another's keys, whose and of what role: `user.read`'s too
    // (round 19 authority review: `groups create/delete` and `keys revoke` told them).
    for group in [
        vec!["groups", "create", "IR-Team", "--type", "static"],
        vec!["groups", "create", "new-team", "--type", "static"],
        vec!["groups", "delete", "ir-team"],
        vec!["groups", "delete", "no-such-team"],
    ] {
        let mut full = group.clone();
        full.extend(["--workspace", "mssp-soc", "--as", "pat@acme-mssp.test"]);
        let out = flowhost(dir.path(), &db, &full);
        let said = stderr(&out);
        assert!(!out.status.success(), "{full:?}");
        assert!(said.contains("user.read"), "{full:?}: {said}");
        assert!(!said.contains("ir-team"), "{said}");
    }
    let created = flowhost(
        dir.path(),
        &db,
        &[
            "keys",
            "create",
            "--name",
            "mine",
            "--workspace",
            "mssp-soc",
            "--as",
            owner,
            "--json",
        ],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let key: serde_json::Value = serde_json::from_slice(&created.stdout).expect("key json");
    let id = key["id"].as_str().expect("key id").to_owned();
    let revoke = |id: &str| {
        let out = flowhost(
            dir.path(),
            &db,
            &[
                "keys",
                "revoke",
                id,
                "--workspace",
                "mssp-soc",
                "--as",
                "pat@acme-mssp.test",
            ],
        );
        assert!(!out.status.success(), "{id}");
        stderr(&out).replace(id, "<id>")
    };
    let owners = revoke(&id);
    assert!(!owners.contains(owner), "{owners}");
    assert_eq!(
        owners,
        revoke("0123456789abcdef"),
        "alike for a missing key"
    );
    // Nor which roles exist, spelt how, or whether they are held (round 20 authority
    // review: `roles create/delete` and `sso rules add` told them); the answers are alike
    // for a role that exists and one that does not.
    let mut answers = Vec::new();
    for role in [
        vec!["roles", "delete", "people-writer"],
        vec!["roles", "delete", "no-such-role"],
        vec!["roles", "create", "Triage-Analyst", "--scopes", "case.read"],
        vec!["roles", "create", "new-role", "--scopes", "case.read"],
        vec![
            "sso",
            "rules",
            "add",
            "--claim",
            "g",
            "--value",
            "v",
            "--role",
            "triage-analyst",
        ],
        vec![
            "sso",
            "rules",
            "add",
            "--claim",
            "g",
            "--value",
            "v",
            "--role",
            "no-such-role",
        ],
    ] {
        let mut full = role.clone();
        full.extend(["--workspace", "mssp-soc", "--as", "pat@acme-mssp.test"]);
        let out = flowhost(dir.path(), &db, &full);
        let said = stderr(&out);
        assert!(!out.status.success(), "{full:?}");
        assert!(
            !said.contains("still held")
                && !said.contains("no custom role")
                && !said.contains("only by case")
                && !said.contains("there is no role"),
            "{full:?}: {said}"
        );
        answers.push((out.status.code(), said));
    }
    for pair in answers.chunks(2) {
        let strip = |said: &str| {
            said.replace("people-writer", "<r>")
                .replace("no-such-role", "<r>")
                .replace("Triage-Analyst", "<r>")
                .replace("new-role", "<r>")
                .replace("triage-analyst", "<r>")
        };
        assert_eq!(
            (pair[0].0, strip(&pair[0].1)),
            (pair[1].0, strip(&pair[1].1)),
            "alike for a role that exists and one that does not"
        );
    }
}

/// A tenant file that creates a workspace SSO-only keeps a way in for an Owner, as one that
/// turns SSO-only on for a workspace in use must: created without a break-glass Owner or an
/// IdP to sign in through, nobody could ever act in it (round 20 identity review).
#[test]
fn a_new_sso_only_workspace_without_a_way_in_for_an_owner_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("f.db");
    let locked = serde_json::json!({ "organization": "zeta", "workspaces": [ {
        "name": "zeta-soc", "sso_only": true,
        "members": [ { "email": "zed@zeta.test", "role": "owner" } ] } ] });
    std::fs::write(dir.path().join("t.json"), locked.to_string()).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "t.json", "--bootstrap"],
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("would have no Owner who can sign in"),
        "{}",
        stderr(&out)
    );
    // With a break-glass Owner it applies.
    let open = serde_json::json!({ "organization": "zeta", "workspaces": [ {
        "name": "zeta-soc", "sso_only": true,
        "members": [ { "email": "zed@zeta.test", "role": "owner", "break_glass": true } ] } ] });
    std::fs::write(dir.path().join("t.json"), open.to_string()).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &["tenant", "apply", "t.json", "--bootstrap"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A member the claim rules provisioned, listed in a tenant file as theirs (`"sso": true`)
/// with another role, keeps the role the rules gave, and the apply says so: the rules put it
/// back at their next SSO sign-in, and every apply flipped it again (round 24 credentials
/// review); `users set-role` refuses the same. The rest of the file applies.
#[test]
fn a_tenant_file_does_not_set_the_role_the_claim_rules_decide() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let login = |group: &str| {
        let claims = serde_json::json!({ "email": "nina@globex.test", "groups": [group] });
        let out = flowhost(
            dir.path(),
            &db,
            &[
                "sso",
                "login",
                "--idp",
                "globex-entra",
                "--claims",
                &claims.to_string(),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // An Owner by the rules, then the IdP moves her: interact-only by them.
    login("Flowhost-Admins");
    login("Flowhost-Requesters");
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example_tenant_path()).expect("tenant file"))
            .expect("json");
    let globex = file["workspaces"]
        .as_array_mut()
        .expect("workspaces")
        .iter_mut()
        .find(|w| w["name"] == "customer-globex")
        .expect("globex");
    globex["members"]
        .as_array_mut()
        .expect("members")
        .push(serde_json::json!({ "email": "nina@globex.test", "role": "owner", "sso": true }));
    let kept = dir.path().join("kept.json");
    std::fs::write(&kept, file.to_string()).expect("write");
    let out = flowhost(
        dir.path(),
        &db,
        &[
            "tenant",
            "apply",
            kept.to_str().expect("utf-8"),
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("nina@globex.test: the role follows the SSO claim rules (`interact-only`)"),
        "{said}"
    );
    assert!(!said.contains("→ `owner`"), "{said}");
    let check = flowhost(
        dir.path(),
        &db,
        &[
            "access",
            "check",
            "--workspace",
            "customer-globex",
            "--scope",
            "user.read",
            "--as",
            "nina@globex.test",
            "--sso",
        ],
    );
    assert!(
        !check.status.success(),
        "still not an Owner: {}",
        stdout(&check)
    );
}

/// A tenant file names a custom role in any case, as every other door does, and stores it as
/// the role is spelled: a member listed with `Triage-Analyst` holds `triage-analyst` (round
/// 24 doors review: refused in a file, taken at `users invite`); applying it again changes
/// nothing. `roles delete` names it in any case too.
#[test]
fn a_tenant_file_names_a_custom_role_in_any_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = applied(dir.path());
    let text = std::fs::read_to_string(example_tenant_path()).expect("tenant file");
    let shouted = text.replace(
        r#""email": "tina.analyst@acme-mssp.test", "role": "triage-analyst""#,
        r#""email": "tina.analyst@acme-mssp.test", "role": "Triage-Analyst""#,
    );
    assert_ne!(shouted, text, "the member is listed");
    let file = dir.path().join("shouted.json");
    std::fs::write(&file, shouted).expect("write");
    let apply = || {
        flowhost(
            dir.path(),
            &db,
            &[
                "tenant",
                "apply",
                file.to_str().expect("utf-8"),
                "--as",
                "olivia.owner@acme-mssp.test",
            ],
        )
    };
    let out = apply();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("tina.analyst"),
        "nothing changed for her: {}",
        stdout(&out)
    );
    let refused = flowhost(
        dir.path(),
        &db,
        &[
            "roles",
            "delete",
            "TRIAGE-ANALYST",
            "--workspace",
            "mssp-soc",
            "--as",
            "olivia.owner@acme-mssp.test",
        ],
    );
    assert!(
        stderr(&refused).contains("is held by"),
        "found in any case, and held: {}",
        stderr(&refused)
    );
}
