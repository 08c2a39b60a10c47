//! SPEC ID-4: questions about access (`check-flow-access` and `has-scope` through real WIT,
//! `access check [--explain]` from the CLI) are answered only to a principal with a standing
//! in the workspace. Anyone else gets one answer, the same for an existing and a missing
//! flow, workspace or person, which names nobody.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{CASE_PROBE, HOSTILE, example_tenant_path, flowhost, flowhost_ok, run_on, runtime};
use flowhost::platform::Platform;
use flowhost::principal::{Caller, Email, Principal};
use serde_json::{Value, json};

const GLOBEX: &str = "customer-globex";
const SOC: &str = "mssp-soc";
const GLOBEX_OWNER: &str = "gary.admin@globex.test";
const SOC_OPERATOR: &str = "omar.operator@acme-mssp.test";
const STRANGER: &str = "mallory@evil.test";
const FLOW: &str = "vendor-access-request";

/// The example tenant with the vendor flow published in `customer-globex`, on a file.
struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("flowhost.db");
        let tenant = example_tenant_path();
        let env = Env { dir, db };
        env.ok(&[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ]);
        for (email, group) in [
            (GLOBEX_OWNER, "Flowhost-Admins"),
            ("vera@vendor.test", "Vendors"),
        ] {
            let claims = json!({ "email": email, "groups": [group] }).to_string();
            env.ok(&["sso", "login", "--idp", "globex-entra", "--claims", &claims]);
        }
        let flow = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/workflows/vendor-access-request.json");
        let steps = Path::new(common::ECHO).parent().expect("component dir");
        env.ok(&[
            "workflows",
            "publish",
            flow.to_str().expect("utf-8"),
            "--as",
            GLOBEX_OWNER,
            "--sso",
            "--steps",
            steps.to_str().expect("utf-8"),
        ]);
        env
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = flowhost_ok(self.dir.path(), &self.db, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn platform(&self) -> Arc<Platform> {
        let db = crate::common::db_at(&self.db);
        Arc::new(Platform::new(db).expect("platform"))
    }
}

/// What `principal`, in `workspace`, is told through WIT about the flow and a missing one.
fn flow_answers(platform: &Arc<Platform>, workspace: &str, principal: Principal) -> Vec<Value> {
    let checks = json!([
        [FLOW, "vera@vendor.test"],
        [FLOW, GLOBEX_OWNER],
        ["no-such-flow", "vera@vendor.test"],
        [FLOW, "nobody@nowhere.test"]
    ]);
    flow_answers_to(platform, workspace, principal, checks)
}

/// What `principal`, in `workspace`, is told through WIT about each `[flow, email]` of
/// `checks`.
fn flow_answers_to(
    platform: &Arc<Platform>,
    workspace: &str,
    principal: Principal,
    checks: Value,
) -> Vec<Value> {
    let input = json!({ "flows_only": true, "flow_checks": checks });
    let caller = Caller {
        workspace: workspace.to_owned(),
        principal,
        cause: None,
        step: None,
    };
    let exec = run_on(&runtime(), platform.clone(), CASE_PROBE, input, caller);
    let output = exec.result.expect("the probe runs");
    output["flow_access"].as_array().cloned().expect("answers")
}

/// The reason, with the workspace asked about blanked out: what else it says.
fn blank(reason: &Value, workspace: &str) -> String {
    reason
        .as_str()
        .expect("a reason")
        .replace(&format!("`{workspace}`"), "`WS`")
}

fn person(email: &str) -> Principal {
    Principal::local(Email::parse(email).expect("email"))
}

#[test]
fn id_4_check_flow_access_answers_outsiders_alike_and_names_nobody() {
    let env = Env::new();
    let platform = env.platform();

    // The allowed path: a member with a standing gets the flow decision (SPEC IX-4).
    let owner = Principal::sso(Email::parse(GLOBEX_OWNER).expect("email"));
    let answers = flow_answers(&platform, GLOBEX, owner);
    assert_eq!(answers[0]["allowed"], true, "{answers:?}");
    assert_eq!(answers[1]["allowed"], true, "the Owner, always (IX-2)");
    assert!(
        blank(&answers[2]["reason"], GLOBEX).contains("no Interaction Flow"),
        "{answers:?}"
    );

    // The denied path: nobody, a stranger, a member of another workspace of the same
    // organization, in an existing workspace and in one that does not exist.
    let outsiders = [
        (GLOBEX, Principal::Anonymous),
        (GLOBEX, person(STRANGER)),
        (GLOBEX, person(SOC_OPERATOR)),
        ("no-such-workspace", person(STRANGER)),
        ("no-such-workspace", Principal::Anonymous),
    ];
    let mut seen = Vec::new();
    for (workspace, who) in outsiders {
        let answers = flow_answers(&platform, workspace, who.clone());
        assert_eq!(answers.len(), 4);
        let first = blank(&answers[0]["reason"], workspace);
        for a in &answers {
            assert_eq!(a["allowed"], false, "{who} in {workspace}: {a}");
            // The same answer for an existing and a missing flow or person.
            assert_eq!(
                blank(&a["reason"], workspace),
                first,
                "{who} in {workspace}"
            );
        }
        // Beyond the asker's own name, nothing: no member, role, flow or organization.
        let rest = first.replace(&who.to_string(), "WHO");
        for secret in [GLOBEX_OWNER, "vera", "owner", "Interaction Flow", "acme"] {
            assert!(!rest.contains(secret), "{who} learns `{secret}`: {first}");
        }
        assert!(first.contains("SPEC ID-4"), "{first}");
        seen.push((who.to_string(), first));
    }
    // An existing and a missing workspace read the same to the same outsider.
    let stranger: Vec<&String> = seen
        .iter()
        .filter(|(who, _)| who == STRANGER)
        .map(|(_, reason)| reason)
        .collect();
    assert_eq!(stranger[0], stranger[1]);
    let nobody: Vec<&String> = seen
        .iter()
        .filter(|(who, _)| who == "anonymous")
        .map(|(_, reason)| reason)
        .collect();
    assert_eq!(nobody[0], nobody[1]);
}

#[test]
fn id_4_has_scope_does_not_tell_an_outsider_which_workspaces_exist() {
    let env = Env::new();
    let platform = env.platform();
    let has_scope = |workspace: &str, who: Principal| {
        let caller = Caller {
            workspace: workspace.to_owned(),
            principal: who,
            cause: None,
            step: None,
        };
        let input = json!({ "attack": "host_calls" });
        let exec = run_on(&runtime(), platform.clone(), HOSTILE, input, caller);
        exec.result.expect("the step runs")["has_scope"].clone()
    };
    // Allowed path: a member is answered for itself.
    let member = has_scope(SOC, person(SOC_OPERATOR));
    assert_eq!(member["allowed"], true, "{member}");
    // Denied path: the same words for an existing and a missing workspace.
    for who in [person(STRANGER), person(SOC_OPERATOR), Principal::Anonymous] {
        let existing = has_scope(GLOBEX, who.clone());
        let missing = has_scope("no-such-workspace", who.clone());
        assert_eq!(existing["allowed"], false, "{who}: {existing}");
        assert_eq!(missing["allowed"], false, "{who}: {missing}");
        assert_eq!(
            blank(&existing["reason"], GLOBEX),
            blank(&missing["reason"], "no-such-workspace"),
            "{who}"
        );
    }
}

#[test]
fn id_4_access_check_explains_only_to_those_with_a_standing() {
    let env = Env::new();
    let check = |workspace: &str, who: &str, explain: bool| {
        let mut args = vec![
            "access",
            "check",
            "--workspace",
            workspace,
            "--as",
            who,
            "--scope",
            "user.write",
        ];
        if explain {
            args.push("--explain");
        }
        let out = flowhost(env.dir.path(), &env.db, &args);
        let text = String::from_utf8_lossy(&out.stdout).replace(&format!("`{workspace}`"), "`WS`");
        (out.status.code(), text)
    };
    // Allowed path: a member is explained the whole path, organization and role included.
    let (code, text) = check(GLOBEX, "olivia.owner@acme-mssp.test", true);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("of organization `acme-mssp`"), "{text}");
    assert!(text.contains("break-glass"), "{text}");
    // Denied path: a stranger and a member of a sibling workspace learn nothing, and an
    // existing workspace reads like a missing one.
    for who in [STRANGER, SOC_OPERATOR] {
        for explain in [false, true] {
            let (code, existing) = check(GLOBEX, who, explain);
            let (_, missing) = check("no-such-workspace", who, explain);
            assert_eq!(code, Some(1), "{existing}");
            assert_eq!(existing, missing, "{who}");
            for secret in [
                "organization",
                "acme-mssp`",
                "SSO-only",
                "membership",
                "role",
            ] {
                assert!(
                    !existing.contains(secret),
                    "{who} learns `{secret}`: {existing}"
                );
            }
        }
    }
}

/// Whether someone else may start a flow, and why, tells their membership, role or sign-in:
/// member data, which a member without `user.read` is not told. They get one denial about
/// anyone else, the same for a member, the Owner, an external identity, a stranger, an
/// existing flow and a missing one; about themselves, and for a holder of `user.read`, the
/// decision and its whole reason. Before, an Interact Only requester could list members'
/// roles by asking about each email, and then whether each was a member (leak review).
#[test]
fn check_flow_access_tells_why_about_others_only_to_who_may_read_members() {
    let env = Env::new();
    let claims = json!({ "email": "rita@globex.test", "groups": ["Flowhost-Requesters"] });
    env.ok(&[
        "sso",
        "login",
        "--idp",
        "globex-entra",
        "--claims",
        &claims.to_string(),
    ]);
    let platform = env.platform();

    let rita = Principal::sso(Email::parse("rita@globex.test").expect("email"));
    let answers = flow_answers(&platform, GLOBEX, rita);
    // vera (external, listed) may, the Owner may, nobody@ may not, and one flow is missing:
    // rita is told none of it, in one answer.
    let shape = |a: &Value| {
        let email = a["email"].as_str().expect("email");
        a["reason"].as_str().expect("reason").replace(email, "WHO")
    };
    assert_eq!(answers.len(), 4);
    for a in &answers {
        assert_eq!(a["allowed"], false, "{answers:?}");
        assert_eq!(shape(a), shape(&answers[0]), "{answers:?}");
        let reason = a["reason"].as_str().expect("reason");
        assert!(reason.contains("holders of user.read"), "{reason}");
        for secret in ["Owner", "owner`", "external", "role `", "Interaction Flow"] {
            assert!(!reason.contains(secret), "rita learns `{secret}`: {reason}");
        }
    }
    // About herself, the whole reason.
    let rita = Principal::sso(Email::parse("rita@globex.test").expect("email"));
    let own = flow_answers_to(&platform, GLOBEX, rita, json!([[FLOW, "rita@globex.test"]]));
    let own = own[0]["reason"].as_str().expect("reason");
    assert!(!own.contains("holders of user.read"), "{own}");
    // A personal key asks as its owner does (round 24 authority review: an operator's key,
    // without `user.read`, was told "withheld" about its own owner); about others, it is
    // told nothing either.
    let omar = "omar.operator@acme-mssp.test";
    let flow =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workflows/mssp-customer-onboarding.json");
    let steps = Path::new(common::ECHO).parent().expect("component dir");
    env.ok(&[
        "workflows",
        "publish",
        flow.to_str().expect("utf-8"),
        "--as",
        "olivia.owner@acme-mssp.test",
        "--steps",
        steps.to_str().expect("utf-8"),
    ]);
    let platform = env.platform();
    let key = platform
        .admin()
        .create_key(
            &person(omar),
            "mssp-soc",
            "mine",
            flowhost::admin::keys::NewKey::Personal,
            None,
        )
        .expect("an operator's personal key")
        .id;
    let onboarding = "mssp-customer-onboarding";
    let by_key = flow_answers_to(
        &platform,
        "mssp-soc",
        Principal::ApiKey(key),
        json!([
            [onboarding, omar],
            [onboarding, "tina.analyst@acme-mssp.test"]
        ]),
    );
    let about_self = by_key[0]["reason"].as_str().expect("reason");
    assert!(!about_self.contains("holders of user.read"), "{about_self}");
    let about_tina = by_key[1]["reason"].as_str().expect("reason");
    assert!(about_tina.contains("holders of user.read"), "{about_tina}");

    // The Owner holds user.read: the whole reason about others.
    let owner = Principal::sso(Email::parse(GLOBEX_OWNER).expect("email"));
    let answers = flow_answers(&platform, GLOBEX, owner);
    let reason = answers[0]["reason"].as_str().expect("reason");
    assert!(reason.contains("external"), "{reason}");
}

/// An invited member whose latest SSO login admitted them as external keeps their invitation
/// and signs in locally with it: a step asking whether they may start a flow is told what
/// `interact start` then does (round 21 access review: told "no SSO login as a member").
#[test]
fn check_flow_access_about_an_invited_member_admitted_as_external_decides_their_sign_in() {
    const OLIVIA: &str = "olivia.owner@acme-mssp.test";
    const TINA: &str = "tina.analyst@acme-mssp.test";
    let env = Env::new();
    let flow = json!({ "name": "triage", "workspace": "mssp-soc", "run_as": OLIVIA,
        "trigger": { "on": "interaction", "interaction": { "title": "Triage",
            "form": { "fields": [ { "name": "x", "type": "text" } ] },
            "access": { "workspace_users": "all" } } },
        "steps": [ { "exit": { "status": "done" } } ] });
    let file = env.dir.path().join("triage.json");
    std::fs::write(&file, flow.to_string()).expect("write");
    env.ok(&[
        "workflows",
        "publish",
        file.to_str().expect("utf-8"),
        "--as",
        OLIVIA,
    ]);
    env.ok(&[
        "sso",
        "rules",
        "add",
        "--claim",
        "department",
        "--value",
        "vendor",
        "--role",
        "external",
        "--rank",
        "1",
        "--workspace",
        "mssp-soc",
        "--as",
        OLIVIA,
    ]);
    let claims = json!({ "email": TINA, "department": "vendor" }).to_string();
    env.ok(&["sso", "login", "--idp", "acme-okta", "--claims", &claims]);
    let answers = flow_answers_to(
        &env.platform(),
        "mssp-soc",
        person(OLIVIA),
        json!([["triage", TINA]]),
    );
    assert_eq!(answers[0]["allowed"], true, "{answers:?}");
    env.ok(&[
        "interact",
        "start",
        "triage",
        "--workspace",
        "mssp-soc",
        "--values",
        r#"{"x": "a"}"#,
        "--as",
        TINA,
    ]);
}
