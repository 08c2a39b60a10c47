//! SPEC IX-1..5: every combination of Interaction Flow access settings × principal kind, as a
//! table of expected decisions and reasons. Settings with context references go through the
//! same resolution as a running interaction (IX-3).

use crate::common;

use common::{sso_user, user};
use flowhost::access::{ExternalSso, FlowAccess, Scope};
use flowhost::definition::model::{AccessSpec, UsersSpec};
use flowhost::definition::refs::Template;
use flowhost::platform::Platform;
use flowhost::principal::{Email, Principal};
use flowhost::testing::Internals;
use serde_json::json;

const TENANT: &str = r#"{
  "organization": "ix-org",
  "workspaces": [{
    "name": "ix",
    "idps": ["ix-idp"],
    "custom_roles": [
      { "name": "triage", "scopes": ["case.read", "interaction.submit"] },
      { "name": "nosubmit", "scopes": ["case.read"] }
    ],
    "members": [
      { "email": "owner@ix.test", "role": "owner" },
      { "email": "lead@ix.test", "role": "contributor" },
      { "email": "analyst@ix.test", "role": "triage" },
      { "email": "refd@ix.test", "role": "viewer" },
      { "email": "io@ix.test", "role": "interact-only" },
      { "email": "nosub@ix.test", "role": "nosubmit" },
      { "email": "denied@ix.test", "role": "viewer" }
    ],
    "claim_rules": [
      { "claim": "groups", "value": "Staff", "role": "viewer" },
      { "claim": "groups", "value": "Vendors", "role": "external" }
    ]
  }]
}"#;

fn platform() -> Platform {
    let platform = Platform::new(crate::common::scratch_db()).expect("platform");
    let file = flowhost::tenant::TenantFile::parse("ix.json", TENANT).expect("tenant");
    flowhost::tenant::apply(&platform, &file, None).expect("applies");
    for (email, group) in [
        ("vendor-in@v.test", "Vendors"),
        ("vendor-out@v.test", "Vendors"),
        ("denied@ix.test", "Nobody"),
    ] {
        platform
            .admin()
            .sso_login("ix-idp", &json!({ "email": email, "groups": [group] }))
            .expect("login");
    }
    // The fixture is what the table assumes: the SSO denial stands.
    let d = platform.check(&user("denied@ix.test"), "ix", Scope::CaseRead);
    assert!(
        d.reason().to_string().contains("denied by SSO"),
        "{}",
        d.reason()
    );
    platform
}

fn email(e: &str) -> Email {
    Email::parse(e).expect("email")
}

/// The four workspace-user settings, in table order: all; selected by email; by role; by a
/// context reference (resolved from a step's output, mixed case on purpose).
fn users_settings() -> Vec<(&'static str, UsersSpec)> {
    let ref_text = "$.steps.pick.emails";
    vec![
        ("all", UsersSpec::All),
        (
            "emails",
            UsersSpec::Selected {
                emails: vec![
                    email("lead@ix.test"),
                    email("outsider@ix.test"),
                    email("denied@ix.test"),
                ],
                roles: vec![],
                refs: vec![],
            },
        ),
        (
            "roles",
            UsersSpec::Selected {
                emails: vec![],
                roles: vec!["triage".into(), "Interact-Only".into()],
                refs: vec![],
            },
        ),
        (
            "refs",
            UsersSpec::Selected {
                emails: vec![],
                roles: vec![],
                refs: vec![(
                    ref_text.into(),
                    Template::compile(&json!(ref_text)).expect("ref"),
                )],
            },
        ),
    ]
}

/// The three external SSO settings, in table order: none, all, selected.
fn external_settings() -> Vec<(&'static str, ExternalSso)> {
    vec![
        ("none", ExternalSso::None),
        ("all", ExternalSso::All),
        (
            "selected",
            ExternalSso::Selected {
                emails: vec![email("vendor-in@v.test"), email("denied@ix.test")],
            },
        ),
    ]
}

/// What each cell code means: allowed?, and a fragment the reason must contain.
fn code(c: char) -> (bool, &'static str) {
    match c {
        'a' => (true, "workspace users: all"),
        'e' => (true, "is listed by email and is a member"),
        'r' => (true, "` is listed (SPEC IX-1, IX-4)"),
        'o' => (true, "always includes (SPEC IX-2)"),
        'X' => (true, "external SSO users: all"),
        'L' => (true, "external SSO identity listed by the flow"),
        '-' => (false, "neither"),
        's' => (false, "does not include `interaction.submit`"),
        'N' => (false, "there is no workspace `ix` you are a member of"),
        'm' => (false, "is listed by email but is not a member of `ix`"),
        'n' => (false, "the flow admits none"),
        'x' => (false, "the flow does not list"),
        'v' => (false, "must sign in through SSO"),
        'd' => (false, "denied by SSO claim mapping"),
        'k' => (false, "answered by people"),
        other => panic!("unknown cell code {other}"),
    }
}

/// Rows: principal × the 12 settings, grouped by workspace-user setting (all, emails, roles,
/// refs), each group in external order (none, all, selected).
const TABLE: &[(&str, &str)] = &[
    ("owner@ix.test", "aaa ooo ooo ooo"), // Owner, listed nowhere (IX-2)
    ("lead@ix.test", "aaa eee --- ---"),  // member listed by email
    ("analyst@ix.test", "aaa --- rrr ---"), // member with a listed custom role
    ("refd@ix.test", "aaa --- --- eee"),  // member named by a context reference
    ("io@ix.test", "aaa --- rrr ---"),    // Interact Only, role listed
    ("nosub@ix.test", "sss sss sss sss"), // role without interaction.submit
    ("outsider@ix.test", "NNN mmm NNN NNN"), // non-member listed by email (IX-5)
    ("sso:vendor-in@v.test", "nXL nXL nXL nXL"), // external identity in the list
    ("sso:vendor-out@v.test", "nXx nXx nXx nXx"), // external identity not in the list
    ("vendor-in@v.test", "nvv nvv nvv nvv"), // external identity signing in locally
    ("denied@ix.test", "ddd ddd ddd ddd"), // SSO-denied, listed everywhere (IX-5)
    ("sso:denied@ix.test", "ddd ddd ddd ddd"),
    ("key:ix-key", "kkk kkk kkk kkk"), // an API key is not a person
];

fn principal(who: &str) -> Principal {
    match who.split_once(':') {
        Some(("sso", e)) => sso_user(e),
        Some(("key", id)) => Principal::ApiKey(id.into()),
        _ => user(who),
    }
}

#[test]
fn every_setting_combination_for_every_principal_kind() {
    let platform = platform();
    let index = platform.index();
    let ctx = json!({ "steps": { "pick": { "emails": ["REFD@ix.test"] } } });
    let mut settings = Vec::new();
    for (u_name, users) in users_settings() {
        for (e_name, external) in external_settings() {
            let spec = AccessSpec {
                workspace_users: users.clone(),
                external_sso: external,
            };
            let access: FlowAccess =
                flowhost::interact::resolve::resolve(&spec, &ctx).expect("resolves");
            settings.push((format!("users={u_name}, external={e_name}"), access));
        }
    }
    let mut failures = Vec::new();
    for (who, row) in TABLE {
        let cells: Vec<char> = row.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(
            cells.len(),
            settings.len(),
            "row {who} has {} cells",
            cells.len()
        );
        let p = principal(who);
        for ((label, access), cell) in settings.iter().zip(cells) {
            let (allowed, needle) = code(cell);
            let d = index.check_flow(&p, "ix", access);
            let reason = d.reason.to_string();
            if d.allowed != allowed || !reason.contains(needle) {
                failures.push(format!(
                    "{who} with {label}: expected {} containing {needle:?}, got {} ({reason})",
                    if allowed { "allow" } else { "deny" },
                    if d.allowed { "allow" } else { "deny" },
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn in_a_destination_workspace_custom_roles_grant_nothing_but_builtins_and_emails_do() {
    let platform = platform();
    let index = platform.index();
    let access = FlowAccess {
        workspace_users: flowhost::access::WorkspaceUsers::Selected {
            emails: vec![email("lead@ix.test")],
            roles: vec!["triage".into(), "interact-only".into()],
        },
        external_sso: ExternalSso::None,
    };
    let (shared, dropped) = access.shared();
    assert_eq!(dropped, ["triage"]);
    // SPEC IX-6: the custom role selection no longer admits the analyst...
    assert!(
        index
            .check_flow(&user("analyst@ix.test"), "ix", &access)
            .allowed
    );
    assert!(
        !index
            .check_flow(&user("analyst@ix.test"), "ix", &shared)
            .allowed
    );
    // ...while built-in roles and listed members still do.
    assert!(index.check_flow(&user("io@ix.test"), "ix", &shared).allowed);
    assert!(
        index
            .check_flow(&user("lead@ix.test"), "ix", &shared)
            .allowed
    );
}

#[test]
fn a_decision_in_another_workspace_denies_members_of_this_one() {
    let platform = platform();
    let d =
        platform
            .index()
            .check_flow(&user("owner@ix.test"), "elsewhere", &FlowAccess::default());
    assert!(!d.allowed);
    assert!(
        d.reason.to_string().contains("no workspace `elsewhere`"),
        "{}",
        d.reason
    );
}
