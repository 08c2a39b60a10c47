//! SPEC WF-10, SSO-4, SSO-5: a run is not a sign-in. In an SSO-only workspace a triggered
//! run acts as its `run_as` identity even when that identity is no break-glass account; an
//! identity denied by SSO still acts for nobody.

use crate::common;

use std::path::Path;

use common::ECHO;
use serde_json::json;

const GLOBEX: &str = "customer-globex";
/// Break-glass Owner of the SSO-only `customer-globex`.
const OWNER: &str = "olivia.owner@acme-mssp.test";
/// An invited operator of `customer-globex`, not break-glass.
const OPERATOR: &str = "tina.analyst@acme-mssp.test";

/// The example tenant on a file, with this module's helpers.
struct Env(common::Deployment);

impl std::ops::Deref for Env {
    type Target = common::Deployment;
    fn deref(&self) -> &common::Deployment {
        &self.0
    }
}

impl Env {
    fn new() -> Env {
        Env(common::Deployment::new())
    }

    fn runs(&self) -> Vec<(String, Option<String>)> {
        let db = crate::common::db_at(&self.db);
        let mut stmt = db
            .conn()
            .prepare("SELECT status, error FROM runs ORDER BY id")
            .expect("sql");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn create_case(&self, title: &str) {
        self.ok(&[
            "cases",
            "create",
            "--title",
            title,
            "--severity",
            "high",
            "--workspace",
            GLOBEX,
            "--as",
            OWNER,
        ]);
    }
}

#[test]
fn wf_10_sso_only_does_not_stop_a_run_identity_but_an_sso_denial_does() {
    let env = Env::new();
    // The operator's own local sign-in is refused here (SPEC SSO-4)...
    let out = env.cli(&["cases", "query", "--workspace", GLOBEX, "--as", OPERATOR]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SSO-only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...but a workflow an Owner published to run as them starts and acts (SPEC WF-10).
    let wf = json!({ "name": "look-at-new-cases", "workspace": GLOBEX, "run_as": OPERATOR,
        "trigger": { "on": "case_created" },
        "steps": [ { "id": "look", "uses": "cases/get-case-restrictions",
                     "with": { "case_id": "$.event.case.id" } } ] });
    let file = env.dir.path().join("look.json");
    std::fs::write(&file, wf.to_string()).expect("write");
    let steps = Path::new(ECHO).parent().expect("dir").display().to_string();
    env.ok(&[
        "workflows",
        "publish",
        file.to_str().expect("utf-8"),
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    env.create_case("first");
    env.ok(&["triggers", "dispatch", "--workspace", GLOBEX, "--as", OWNER]);
    assert_eq!(env.runs(), [("succeeded".to_owned(), None)]);

    // Denied path: once SSO denies the identity, its runs act for nobody (SPEC SSO-5).
    let claims = json!({ "email": OPERATOR, "groups": ["Nobody"] }).to_string();
    env.ok(&["sso", "login", "--idp", "globex-entra", "--claims", &claims]);
    env.create_case("second");
    env.ok(&["triggers", "dispatch", "--workspace", GLOBEX, "--as", OWNER]);
    let runs = env.runs();
    assert!(
        runs.iter().skip(1).all(|(status, _)| status != "succeeded"),
        "{runs:?}"
    );
}
