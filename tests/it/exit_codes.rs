//! The CLI's exit codes (issue 15 deliverable 6, README "Exit codes"): 0 success, 1 a denial
//! or a failed run, 2 a usage error, invalid input or the host's own failure. Each case runs
//! the real binary on a real database file and checks that a refusal stored nothing.

use crate::common::Deployment;

const OWNER: &str = "olivia.owner@acme-mssp.test";
const OPERATOR: &str = "omar.operator@acme-mssp.test";

/// `users list` as the Owner: the members of mssp-soc, one a line.
fn members(env: &Deployment) -> String {
    env.ok(&["users", "list", "--workspace", "mssp-soc", "--as", OWNER])
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn a_denial_exits_1_and_changes_nothing() {
    let env = Deployment::new();
    let before = members(&env);
    // An Operator may not invite (SPEC UA-1, RB-3): denied, by type.
    let invite = [
        "users",
        "invite",
        "newbie@acme-mssp.test",
        "--role",
        "viewer",
        "--workspace",
        "mssp-soc",
    ];
    let out = env.cli(&[&invite[..], &["--as", OPERATOR]].concat());
    assert_eq!(
        code(&out),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("denied"));
    assert_eq!(members(&env), before, "a denied invite stores nothing");
    // Nobody named is a denial too (default deny, SPEC RB-3).
    assert_eq!(code(&env.cli(&invite)), Some(1));
    // The allowed path: the Owner invites, exit 0.
    assert_eq!(
        code(&env.cli(&[&invite[..], &["--as", OWNER]].concat())),
        Some(0)
    );
    assert!(members(&env).contains("newbie@acme-mssp.test"));
    // `access check` says deny with 1 and allow with 0.
    let check = [
        "access",
        "check",
        "--workspace",
        "mssp-soc",
        "--scope",
        "user.write",
    ];
    assert_eq!(
        code(&env.cli(&[&check[..], &["--as", OPERATOR]].concat())),
        Some(1)
    );
    assert_eq!(
        code(&env.cli(&[&check[..], &["--as", OWNER]].concat())),
        Some(0)
    );
}

#[test]
fn a_failed_run_exits_1_and_a_succeeded_one_0() {
    let env = Deployment::new();
    let workflow = |name: &str, case: &str| {
        let file = env.dir.path().join(format!("{name}.json"));
        let definition = serde_json::json!({ "name": name, "workspace": "mssp-soc", "steps": [
            { "id": "look", "uses": "cases/get-case-restrictions", "with": { "case_id": case } }
        ] });
        std::fs::write(&file, definition.to_string()).expect("write");
        file.display().to_string()
    };
    env.ok(&[
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
    ]);
    let missing = workflow("missing", "C-999");
    let out = env.cli(&["run", &missing, "--as", OWNER]);
    assert_eq!(
        code(&out),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed"));
    let found = workflow("found", "C-1");
    let out = env.cli(&["run", &found, "--as", OWNER]);
    assert_eq!(
        code(&out),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_usage_error_exits_2() {
    let env = Deployment::new();
    for args in [
        &["users", "invite", "--no-such-flag"][..],
        &["runs", "show"][..],
        &["no-such-command"][..],
    ] {
        assert_eq!(code(&env.cli(args)), Some(2), "{args:?}");
    }
}

#[test]
fn invalid_input_exits_2_and_changes_nothing() {
    let env = Deployment::new();
    let before = members(&env);
    let invite = |email: &str, role: &str, who: &str| {
        env.cli(&[
            "users",
            "invite",
            email,
            "--role",
            role,
            "--workspace",
            "mssp-soc",
            "--as",
            who,
        ])
    };
    // A role that does not exist, asked by the Owner (the service's Invalid).
    let out = invite("newbie@acme-mssp.test", "wizard", OWNER);
    assert_eq!(
        code(&out),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An email that is not one, in the argument naming who acts.
    assert_eq!(
        code(&invite("newbie@acme-mssp.test", "viewer", "not-an-email")),
        Some(2)
    );
    // An event that is not JSON.
    let file = env.dir.path().join("w.json");
    std::fs::write(
        &file,
        r#"{"name":"w","workspace":"mssp-soc","steps":[{"id":"q","uses":"cases/query-cases","with":{}}]}"#,
    )
    .expect("write");
    let out = env.cli(&[
        "run",
        file.to_str().expect("utf-8"),
        "--event",
        "{",
        "--as",
        OWNER,
    ]);
    assert_eq!(
        code(&out),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A definition with located errors.
    std::fs::write(&file, r#"{"name":"w","steps":[]}"#).expect("write");
    assert_eq!(
        code(&env.cli(&["validate", file.to_str().expect("utf-8")])),
        Some(2)
    );
    assert_eq!(members(&env), before, "nothing was stored");
}

#[test]
fn a_database_that_cannot_be_used_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A directory where the database file should be.
    let out = crate::common::flowhost(
        dir.path(),
        dir.path(),
        &["users", "list", "--workspace", "mssp-soc", "--as", OWNER],
    );
    assert_eq!(
        code(&out),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
