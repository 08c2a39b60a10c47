//! What a published revision binds, through the real CLI on a real database: its `run_as` to
//! what the publisher may bind, its runs to what both the run identity and the publisher hold
//! now (SPEC WF-10, AU-1); a share to the revision accepted (SPEC SH-3); its steps to the
//! component bytes published with it (issue 14, SPEC WF-11).

use crate::common;

use std::path::Path;

use common::ECHO;
use serde_json::{Value, json};

const OWNER: &str = "olivia.owner@acme-mssp.test";
/// A Contributor of `mssp-soc`: may publish, holds no bypass.
const LEAD: &str = "sam.lead@acme-mssp.test";
/// An Operator of `mssp-soc`.
const AUTOMATION: &str = "automation@acme-mssp.test";
/// A second Owner of `mssp-soc`, invited by each test that needs one.
const OTTO: &str = "otto.owner@acme-mssp.test";

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

    /// Dispatches `mssp-soc`'s pending events as its Owner.
    fn dispatch(&self) {
        self.ok(&[
            "triggers",
            "dispatch",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ]);
    }

    fn steps(&self) -> String {
        Path::new(ECHO).parent().expect("dir").display().to_string()
    }

    fn write(&self, name: &str, definition: &Value) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, definition.to_string()).expect("write");
        path.display().to_string()
    }

    fn publish(&self, file: &str, who: &str) -> std::process::Output {
        let steps = self.steps();
        self.cli(&["workflows", "publish", file, "--as", who, "--steps", &steps])
    }

    fn publish_ok(&self, file: &str, who: &str) {
        let out = self.publish(file, who);
        assert!(
            out.status.success(),
            "publish as {who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Deletes `email` from `mssp-soc`, as the Owner.
    fn delete(&self, email: &str) {
        self.ok(&[
            "users",
            "delete",
            email,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ]);
    }

    fn invite(&self, email: &str, role: &str) {
        self.ok(&[
            "users",
            "invite",
            email,
            "--role",
            role,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ]);
    }

    /// Publishes `ask-then-echo` (asks "Go on?", then runs `step:echo`) and starts it on a
    /// new case, where it waits for the answer. Its file's path.
    fn ask_then_echo_on_hold(&self) -> String {
        let wf = json!({
            "name": "ask-then-echo", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_created" },
            "steps": [
                { "id": "ask", "interaction": { "title": "Go on?",
                    "form": { "fields": [ { "name": "ok", "type": "boolean" } ] } } },
                { "id": "echo", "uses": "step:echo", "with": { "case": "$.event.case.id" } }
            ]
        });
        let file = self.write("ask.json", &wf);
        self.publish_ok(&file, OWNER);
        self.case("one", false);
        self.dispatch();
        assert_eq!(self.runs()[0].1, "on_hold");
        file
    }

    /// Answers the one open interaction ("Go on?") as the Owner; the command's outcome.
    fn answer_go_on(&self) -> std::process::Output {
        let open: Value = serde_json::from_str(&self.ok(&[
            "interact",
            "list",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ]))
        .expect("json");
        let id = open[0]["id"].as_str().expect("interaction id");
        self.cli(&[
            "interact",
            "respond",
            id,
            "--as",
            OWNER,
            "--values",
            r#"{"ok":true}"#,
        ])
    }

    /// Creates a case as the Owner; its id.
    fn case(&self, title: &str, restricted: bool) -> String {
        let mut args = vec![
            "cases",
            "create",
            "--title",
            title,
            "--severity",
            "high",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ];
        if restricted {
            args.extend(["--access-mode", "restricted"]);
        }
        let made: serde_json::Value = serde_json::from_str(&self.ok(&args)).expect("json");
        made["id"].as_str().expect("an id").to_owned()
    }

    /// (workflow, status, error, its steps' outputs) of every run, oldest first.
    fn runs(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        let db = crate::common::db_at(&self.db);
        let mut stmt = db
            .conn()
            .prepare(
                "SELECT workflow, status, error,
                        (SELECT string_agg(output, ' ') FROM run_steps WHERE run_id = runs.id)
                 FROM runs ORDER BY id",
            )
            .expect("sql");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn sql(&self, sql: &str) {
        crate::common::db_at(&self.db)
            .conn()
            .execute_batch(sql)
            .expect("sql");
    }
}

/// A `case_created` workflow running as `run_as` that adds `collaborator` to every new case:
/// the escalation of issue 13 (a Contributor reaching every restricted case).
fn adds_collaborator(name: &str, run_as: &str, collaborator: &str) -> Value {
    json!({
        "name": name, "workspace": "mssp-soc", "run_as": run_as,
        "trigger": { "on": "case_created" },
        "steps": [{ "id": "add", "uses": "cases/update-case-restrictions",
                    "with": { "case_id": "$.event.case.id", "add_collaborators": [collaborator] } }]
    })
}

/// A `case_created` workflow running as `run_as` that lists the titles of the cases it sees.
fn lists_cases(name: &str, run_as: &str) -> Value {
    json!({
        "name": name, "workspace": "mssp-soc", "run_as": run_as,
        "trigger": { "on": "case_created" },
        "steps": [{ "id": "look", "uses": "cases/query-cases", "with": {} }]
    })
}

// --- SPEC WF-10: binding `run_as` at publish ---------------------------------------------------

#[test]
fn a_contributor_cannot_publish_a_workflow_that_runs_as_an_owner() {
    let env = Env::new();
    let file = env.write("grab.json", &adds_collaborator("grab", OWNER, LEAD));
    let out = env.publish(&file, LEAD);
    assert!(!out.status.success(), "a Contributor bound an Owner");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("may not publish a workflow that runs as olivia.owner@acme-mssp.test")
            && err.contains("SPEC WF-10"),
        "{err}"
    );
    // Nothing was published, so a new restricted case gains no collaborator.
    let listed = env.ok(&[
        "workflows",
        "list",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    assert!(!listed.contains("grab"), "{listed}");
    let secret = env.case("secret", true);
    env.dispatch();
    assert!(env.runs().is_empty());
    let people = env.ok(&[
        "cases",
        "get-restrictions",
        &secret,
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    assert!(!people.contains(LEAD), "{people}");
}

#[test]
fn only_an_owner_may_bind_another_person_and_a_publisher_may_bind_themselves() {
    let env = Env::new();
    // Denied: a Contributor naming a person with fewer scopes is still naming someone else.
    let file = env.write("other.json", &lists_cases("other", AUTOMATION));
    let err = String::from_utf8_lossy(&env.publish(&file, LEAD).stderr).into_owned();
    assert!(err.contains("SPEC WF-10"), "{err}");
    // Allowed: the publisher themselves (emails compare case-insensitively).
    let own = env.write("own.json", &lists_cases("own", "Sam.Lead@ACME-mssp.test"));
    env.publish_ok(&own, LEAD);
    // Allowed: an Owner may name anyone.
    env.publish_ok(&file, OWNER);
}

#[test]
fn a_service_key_is_bound_only_if_its_role_grants_nothing_the_publisher_lacks() {
    let env = Env::new();
    let key = |role: &str| {
        let out = env.ok(&[
            "keys",
            "create",
            "--name",
            role,
            "--service-role",
            role,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ]);
        let key: Value = serde_json::from_str(&out).expect("json");
        format!("key:{}", key["id"].as_str().expect("id"))
    };
    let (owner_key, operator_key) = (key("owner"), key("operator"));
    let broad = env.write("broad.json", &lists_cases("broad", &owner_key));
    let err = String::from_utf8_lossy(&env.publish(&broad, LEAD).stderr).into_owned();
    assert!(
        err.contains("a service key whose role grants nothing the publisher lacks")
            && err.contains("SPEC WF-10"),
        "{err}"
    );
    // What the key's role holds is not told to one who may not list keys, nor whether a key
    // exists: a broader key and a made-up one read alike (round 17 leak review).
    assert!(!err.contains("bypass.case.access.restriction"), "{err}");
    let made_up = env.write(
        "made-up.json",
        &lists_cases("broad", "key:0123456789abcdef"),
    );
    let other = String::from_utf8_lossy(&env.publish(&made_up, LEAD).stderr).into_owned();
    assert_eq!(
        err.replace(&owner_key, "KEY"),
        other.replace("key:0123456789abcdef", "KEY"),
    );
    let narrow = env.write("narrow.json", &lists_cases("narrow", &operator_key));
    env.publish_ok(&narrow, LEAD);
    // The Owner may bind the Owner-role key.
    env.publish_ok(&broad, OWNER);
    // A run as the key names it to who may list keys, and to nobody else (round 18 leak
    // review: every viewer of runs read its id, and so which keys exist).
    env.case("ring", false);
    env.dispatch();
    let principal = |who: &str| {
        let runs: Value = serde_json::from_str(&env.ok(&[
            "runs",
            "list",
            "--workspace",
            "mssp-soc",
            "--as",
            who,
            "--json",
        ]))
        .expect("json");
        runs.as_array()
            .into_iter()
            .flatten()
            .find(|r| r["workflow"] == "narrow")
            .and_then(|r| r["principal"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let id = operator_key.trim_start_matches("key:");
    assert!(principal(OWNER).contains(id), "{}", principal(OWNER));
    let lead = principal(LEAD);
    assert!(
        !lead.contains(id) && lead.contains("key:withheld"),
        "{lead}"
    );
}

/// A key of another workspace named as `run_as` is answered as a key that does not exist: its
/// kind and workspace are not told to a publisher (SPEC ID-4; leak review: another tenant's
/// service key read "of another workspace", a personal one "another person").
#[test]
fn another_workspaces_key_as_run_as_reads_as_no_key() {
    let env = Env::new();
    let out = env.ok(&[
        "keys",
        "create",
        "--name",
        "elsewhere",
        "--service-role",
        "owner",
        "--workspace",
        "customer-globex",
        "--as",
        OWNER,
        "--json",
    ]);
    let key: Value = serde_json::from_str(&out).expect("json");
    let real = key["id"].as_str().expect("id").to_owned();
    let made_up: String = real.chars().rev().collect::<String>();
    let refusal = |id: &str| {
        let file = env.write(
            "elsewhere.json",
            &lists_cases("elsewhere", &format!("key:{id}")),
        );
        let out = env.publish(&file, LEAD);
        assert!(!out.status.success(), "{id}: published");
        String::from_utf8_lossy(&out.stderr).replace(id, "ID")
    };
    assert_eq!(refusal(&real), refusal(&made_up));
}

// --- SPEC WF-10: a run holds what both its identity and its publisher hold now ----------------

#[test]
fn a_demoted_publishers_runs_lose_what_the_publisher_lost_and_a_deleted_ones_fail_closed() {
    let env = Env::new();
    env.invite(OTTO, "owner");
    // Otto, an Owner, may bind Olivia; while he is an Owner, runs see restricted cases.
    let file = env.write("look.json", &lists_cases("look", OWNER));
    env.publish_ok(&file, OTTO);
    env.case("restricted one", true);
    env.dispatch();
    let runs = env.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        runs[0]
            .3
            .as_deref()
            .unwrap_or("")
            .contains("restricted one"),
        "{runs:?}"
    );

    // Demoted to Contributor: no bypass any more, so the run's identity (still an Owner)
    // does not lend him one.
    env.ok(&[
        "users",
        "set-role",
        OTTO,
        "--role",
        "contributor",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    env.case("restricted two", true);
    env.case("open three", false);
    env.dispatch();
    let runs = env.runs();
    assert_eq!(
        runs.len(),
        2,
        "the restricted case does not exist for the run (SPEC CS-2): {runs:?}"
    );
    let seen = runs[1].3.as_deref().unwrap_or("");
    assert!(seen.contains("open three"), "{seen}");
    assert!(
        !seen.contains("restricted one") && !seen.contains("restricted two"),
        "the run kept the demoted publisher's lost bypass: {seen}"
    );

    // Deleted: the workflow fails closed, loudly, naming nobody (round 23 interactions
    // review: it named the publisher to every reader of the run).
    env.delete(OTTO);
    env.case("open four", false);
    env.dispatch();
    let runs = env.runs();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(runs[2].1, "failed", "{runs:?}");
    let error = runs[2].2.as_deref().unwrap_or("");
    assert!(
        error.contains("no longer acts") && error.contains("SPEC WF-10"),
        "{error}"
    );
    assert!(!error.contains("otto.owner@acme-mssp.test"), "{error}");
}

/// A published revision whose publisher no longer acts is not started by hand either, and a
/// hand run of it waiting when they were deleted ends at its resume, naming nobody: its
/// triggers, webhook and flow failed closed, and the hand door ran code nobody in the
/// workspace vouched for any more with its starter's power (round 29 authority review; SPEC
/// WF-10).
#[test]
fn a_deleted_publishers_revision_is_not_started_by_hand_and_its_waiting_runs_end() {
    let env = Env::new();
    env.invite(OTTO, "owner");
    let file = env.write(
        "by-hand.json",
        &json!({ "name": "by-hand", "workspace": "mssp-soc",
            "steps": [
                { "id": "ask", "interaction": { "title": "Go on?",
                    "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
                    "access": { "workspace_users": { "emails": [OWNER] } } } },
                { "id": "open", "uses": "cases/create-case",
                  "with": { "title": "after the answer", "severity": "low" } }
            ] }),
    );
    env.publish_ok(&file, OTTO);
    let start = || {
        env.cli(&[
            "run",
            "--published",
            "by-hand",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ])
    };
    // Allowed path: while Otto acts here, it starts and waits for its answer.
    let waiting: Value = serde_json::from_slice(&start().stdout).expect("json");
    assert_eq!(waiting["status"], "on_hold", "{waiting}");
    let ix = waiting["waiting_on"][0]
        .as_str()
        .expect("an interaction")
        .to_owned();
    env.delete(OTTO);
    // Denied path: refused, naming nobody.
    let refused = start();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("no longer acts"), "{stderr}");
    assert!(!stderr.contains(OTTO), "{stderr}");
    // The waiting one ends as it resumes, its case never made.
    env.cli(&[
        "interact",
        "respond",
        &ix,
        "--as",
        OWNER,
        "--values",
        r#"{"ok":true}"#,
    ]);
    let runs = env.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].1, "failed", "{runs:?}");
    let error = runs[0].2.as_deref().unwrap_or("");
    assert!(error.contains("no longer acts"), "{error}");
    assert!(!error.contains(OTTO), "{error}");
    let db = crate::common::db_at(&env.db);
    let made: i64 = db
        .conn()
        .query_row(
            "SELECT count(*) FROM cases WHERE title = 'after the answer'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(made, 0);
}

/// A published revision started by hand acts with what its starter and its publisher both
/// hold now (SPEC WF-10): a Contributor's revision, run by the Owner, reads no restricted case
/// the Contributor may not see and cannot put the Contributor on one (round 30 authority
/// review: it ran with the Owner's whole power). The same revision published by the Owner,
/// run by the Owner, reads it and does.
#[test]
fn a_hand_run_holds_only_what_its_publisher_holds_too() {
    let env = Env::new();
    let hidden = env.case("hidden from the lead", true);
    let definition = |name: &str| {
        json!({ "name": name, "workspace": "mssp-soc", "steps": [
            { "id": "look", "uses": "cases/query-cases", "with": {} },
            { "id": "add", "uses": "cases/update-case-restrictions",
              "with": { "case_id": hidden, "add_collaborators": [LEAD] } } ] })
    };
    let file = env.write("lead.json", &definition("weekly-report"));
    env.publish_ok(&file, LEAD);
    let file = env.write("owner.json", &definition("owners-report"));
    env.publish_ok(&file, OWNER);
    let start = |name: &str| {
        env.cli(&[
            "run",
            "--published",
            name,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ])
    };
    let lead_sees = || {
        env.cli(&[
            "cases",
            "get",
            &hidden,
            "--workspace",
            "mssp-soc",
            "--as",
            LEAD,
        ])
        .status
        .success()
    };
    // Denied path: the Contributor's revision sees only what both see.
    let out = start("weekly-report");
    assert!(!out.status.success(), "{}", common::text(&out));
    assert!(!lead_sees(), "the lead was put on the case");
    let runs = env.runs();
    let looked = runs[0].3.as_deref().unwrap_or_default();
    assert_eq!(runs[0].0, "weekly-report");
    assert!(!looked.contains("hidden from the lead"), "{looked}");
    // Allowed path: the Owner's own revision acts with the Owner's power.
    let out = start("owners-report");
    assert!(out.status.success(), "{}", common::text(&out));
    assert!(lead_sees());
}

/// A hand run held by its binder is judged at its resume as it acts, not as its starter
/// alone (round 30 self-review): a Contributor's revision run by the Owner read a case that
/// named the Contributor, who was then taken off it; resumed, the run went on as the Owner
/// (who sees every case) and copied the case's title into a case everyone sees. It ends.
#[test]
fn a_hand_run_held_by_its_binder_is_judged_at_its_resume_as_it_acts() {
    let env = Env::new();
    let hidden = env.case("hidden later", true);
    env.ok(&[
        "cases",
        "update-restrictions",
        &hidden,
        "--add",
        LEAD,
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let file = env.write(
        "copy-out.json",
        &json!({ "name": "copy-out", "workspace": "mssp-soc", "steps": [
            { "id": "look", "uses": "cases/query-cases", "with": {} },
            { "id": "ask", "interaction": { "title": "Go on?",
                "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
                "access": { "workspace_users": { "emails": [OWNER] } } } },
            { "id": "copy", "uses": "cases/create-case", "with": {
                "title": "copy of {{ $.steps.look.cases[0].title }}", "severity": "low" } } ] }),
    );
    env.publish_ok(&file, LEAD);
    let started: Value = serde_json::from_str(&env.ok(&[
        "run",
        "--published",
        "copy-out",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
        "--json",
    ]))
    .expect("json");
    assert_eq!(started["status"], "on_hold", "{started}");
    let ix = started["waiting_on"][0]
        .as_str()
        .expect("an interaction")
        .to_owned();
    env.ok(&[
        "cases",
        "update-restrictions",
        &hidden,
        "--remove",
        LEAD,
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    env.cli(&[
        "interact",
        "respond",
        &ix,
        "--as",
        OWNER,
        "--values",
        r#"{"ok":true}"#,
    ]);
    let runs = env.runs();
    assert_eq!(runs[0].1, "failed", "{runs:?}");
    assert!(
        runs[0]
            .2
            .as_deref()
            .unwrap_or("")
            .contains("no longer visible"),
        "{runs:?}"
    );
    let db = crate::common::db_at(&env.db);
    let copied: i64 = db
        .conn()
        .query_row(
            "SELECT count(*) FROM cases WHERE title LIKE 'copy of%'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(copied, 0);
}

/// A case a hand run held by its binder creates names its starter as reporter, as the
/// starter's own run's does (round 30 self-review: it had none, a run principal naming no
/// person).
#[test]
fn a_hand_runs_case_names_its_starter_as_reporter() {
    let env = Env::new();
    let file = env.write(
        "make-case.json",
        &json!({ "name": "make-case", "workspace": "mssp-soc", "steps": [
            { "id": "make", "uses": "cases/create-case", "with": {
                "title": "made by hand", "severity": "low" } } ] }),
    );
    env.publish_ok(&file, OWNER);
    env.ok(&[
        "run",
        "--published",
        "make-case",
        "--workspace",
        "mssp-soc",
        "--as",
        LEAD,
    ]);
    let db = crate::common::db_at(&env.db);
    let reporter: Option<String> = db
        .conn()
        .query_row(
            "SELECT reporter FROM cases WHERE title = 'made by hand'",
            [],
            |r| r.get(0),
        )
        .expect("the case");
    assert_eq!(reporter.as_deref(), Some(LEAD));
}

/// A trigger's conditions are evaluated only once the run's identity is known and may see
/// the event's case (SPEC CS-2): a workflow whose identity fails closed (its publisher
/// deleted) is refused on every case event of its kind, whatever its conditions say, and the
/// refused run keeps none of the event. Before, the conditions ran first on the restricted
/// case's payload, so a refused run appeared exactly when they held (a yes/no answer about
/// a case its publisher could not see), and it stored the payload.
#[test]
fn a_refused_workflow_tells_nothing_of_what_its_conditions_would_have_said() {
    let env = Env::new();
    env.invite(OTTO, "owner");
    let mut watch = lists_cases("watch", OWNER);
    watch["trigger"]["if"] =
        json!([{ "left": "$.event.case.title", "op": "eq", "right": "merger talks" }]);
    let file = env.write("watch.json", &watch);
    env.publish_ok(&file, OTTO);
    env.delete(OTTO);
    env.case("merger talks", true);
    env.case("lunch order", false);
    env.dispatch();
    let runs = env.runs();
    assert_eq!(
        runs.len(),
        2,
        "one refusal per event, the condition not consulted: {runs:?}"
    );
    assert!(runs.iter().all(|r| r.1 == "failed"), "{runs:?}");
    let db = crate::common::db_at(&env.db);
    let events: Vec<String> = db
        .conn()
        .prepare("SELECT event FROM runs ORDER BY id")
        .expect("sql")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("events");
    assert!(
        events
            .iter()
            .all(|e| !e.contains("merger") && !e.contains("lunch")),
        "{events:?}"
    );
}

#[test]
fn what_a_run_does_is_audited_with_the_run_and_its_publisher() {
    let env = Env::new();
    env.invite(OTTO, "owner");
    let file = env.write("add.json", &adds_collaborator("add", OWNER, LEAD));
    env.publish_ok(&file, OTTO);
    env.case("watched", false);
    env.dispatch();
    let out = env.ok(&["audit", "--workspace", "mssp-soc", "--as", OWNER, "--json"]);
    let entries: Value = serde_json::from_str(&out).expect("json");
    let entry = entries
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "case.restrictions.update")
        .unwrap_or_else(|| panic!("no restriction update audited: {entries}"));
    assert_eq!(entry["actor"], OWNER, "{entry}");
    assert_eq!(entry["actor_kind"], "workflow_run", "{entry}");
    // The run by the id people see, never by its internal key (SPEC ID-4).
    let run = entry["details"]["run"]["id"].as_str().unwrap_or_default();
    assert!(run.starts_with("R-") && run.len() == 18, "{entry}");
    assert_eq!(entry["details"]["run"]["published_by"], OTTO, "{entry}");
}

// --- SPEC SH-3: a share is of a revision -------------------------------------------------------

fn says(name: &str, words: &str) -> Value {
    json!({
        "name": name, "workspace": "mssp-soc",
        "trigger": { "on": "manual" },
        "steps": [{ "id": "say", "exit": { "status": "done", "output": { "words": words } } }]
    })
}

#[test]
fn a_later_revision_reaches_the_destination_only_when_accepted_again() {
    let env = Env::new();
    let file = env.write("shared.json", &says("shared", "first"));
    env.publish_ok(&file, OWNER);
    // Olivia is an Owner of both workspaces: accepted at once, at revision 1.
    env.ok(&[
        "share",
        "workflow",
        "shared",
        "--from",
        "mssp-soc",
        "--to",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    let run = |who: &str| -> Value {
        let out = env.ok(&[
            "run",
            "--published",
            "shared",
            "--workspace",
            "customer-globex",
            "--as",
            who,
            "--json",
        ]);
        serde_json::from_str(&out).expect("json")
    };
    assert_eq!(run(OWNER)["output"]["words"], "first");

    // A Contributor of the source, who is nobody in the destination, publishes revision 2.
    std::fs::write(&file, says("shared", "second").to_string()).expect("write");
    env.publish_ok(&file, LEAD);
    assert_eq!(
        run(OWNER)["output"]["words"],
        "first",
        "revision 2 ran in the destination without being accepted"
    );
    let list = env.ok(&[
        "share",
        "list",
        "--workspace",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    assert!(
        list.contains("revision 1 (revision 2 waits to be accepted)"),
        "{list}"
    );

    // Not by someone who is nobody in the destination.
    let listed: Value = serde_json::from_str(&env.ok(&[
        "share",
        "list",
        "--workspace",
        "customer-globex",
        "--as",
        OWNER,
        "--json",
    ]))
    .expect("json");
    let id = listed[0]["id"].as_str().expect("share id").to_owned();
    let refused = env.fails(&["share", "accept", &id, "--as", LEAD]);
    // To someone with no standing in the destination the share does not exist (SPEC ID-4).
    assert!(
        refused.contains("there is no such share") && !refused.contains(&id),
        "{refused}"
    );
    // Accepted again by the destination's Owner: revision 2 runs there.
    let accepted = env.ok(&["share", "accept", &id, "--as", OWNER]);
    assert!(accepted.contains("at revision 2"), "{accepted}");
    assert_eq!(run(OWNER)["output"]["words"], "second");
    let again = env.fails(&["share", "accept", &id, "--as", OWNER]);
    assert!(again.contains("already accepted at revision 2"), "{again}");

    // A revision a trigger starts is neither shared nor accepted: nothing would start it in
    // the destination, which answers none of its triggers and starts none by hand (round 29
    // review of round 28).
    let mut triggered = says("shared", "third");
    triggered["trigger"] = json!({ "on": "case_created" });
    triggered["run_as"] = json!(OWNER);
    std::fs::write(&file, triggered.to_string()).expect("write");
    env.publish_ok(&file, OWNER);
    let refused = env.fails(&["share", "accept", &id, "--as", OWNER]);
    assert!(refused.contains("starts on its trigger"), "{refused}");
    assert_eq!(
        run(OWNER)["output"]["words"],
        "second",
        "the accepted revision stays"
    );
    let hooked = env.write("hooked.json", &{
        let mut w = says("hooked", "x");
        w["trigger"] = json!({ "on": "webhook" });
        w["run_as"] = json!(OWNER);
        w
    });
    env.publish_ok(&hooked, OWNER);
    let refused = env.fails(&[
        "share",
        "workflow",
        "hooked",
        "--from",
        "mssp-soc",
        "--to",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    assert!(
        refused.contains("starts on its trigger (`webhook`)"),
        "{refused}"
    );
}

// --- issue 14: a published workflow runs the components it was published with ----------------

fn echoes(name: &str) -> Value {
    json!({
        "name": name, "workspace": "mssp-soc", "run_as": OWNER,
        "trigger": { "on": "case_created" },
        "steps": [{ "id": "echo", "uses": "step:echo", "with": { "case": "$.event.case.id" } }]
    })
}

#[test]
fn a_triggered_run_finds_its_pinned_component_without_steps() {
    let env = Env::new();
    let file = env.write("echoes.json", &echoes("echoes"));
    env.publish_ok(&file, OWNER);
    env.case("one", false);
    // No --steps: the component comes from the database.
    env.dispatch();
    let runs = env.runs();
    assert_eq!(runs.len(), 1, "the event was dispatched without a run");
    assert_eq!(runs[0].1, "succeeded", "{runs:?}");
    assert!(
        runs[0].3.as_deref().unwrap_or("").contains("C-1"),
        "{runs:?}"
    );
}

#[test]
fn a_component_that_cannot_be_found_fails_the_run_loudly() {
    let env = Env::new();
    let file = env.write("echoes.json", &echoes("echoes"));
    env.publish_ok(&file, OWNER);
    // The pinned bytes are gone (and were never written out beside the database).
    env.sql("DELETE FROM components");
    env.case("one", false);
    env.dispatch();
    let runs = env.runs();
    assert_eq!(runs.len(), 1, "the event was dispatched without a run");
    assert_eq!(runs[0].1, "failed", "{runs:?}");
    let error = runs[0].2.as_deref().unwrap_or("");
    assert!(
        error.contains("step:echo") && error.contains("not in the database"),
        "{error}"
    );
}

/// A run whose pinned component is gone for good when it resumes ends failed saying why, as
/// one its event starts does: it stayed `running`, retried by every host for hours, with no
/// error on it (round 27 engine review; SPEC WF-11 keeps "resumable" for the host's
/// failures).
#[test]
fn a_resumed_run_whose_pinned_component_is_gone_fails_saying_why() {
    let env = Env::new();
    env.ask_then_echo_on_hold();
    // The pinned bytes are gone, from the database and from every `components/` directory
    // they were written out to.
    env.sql("DELETE FROM components");
    let mut dirs = vec![env.dir.path().to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n == "components") {
                std::fs::remove_dir_all(&path).expect("removed");
            } else if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    env.answer_go_on();
    let runs = env.runs();
    assert_eq!(runs[0].1, "failed", "{runs:?}");
    let error = runs[0].2.as_deref().unwrap_or("");
    assert!(
        error.contains("step:echo") && error.contains("not in the database"),
        "{error}"
    );
}

#[test]
fn a_resumed_run_runs_the_component_it_started_with() {
    let env = Env::new();
    let file = env.ask_then_echo_on_hold();

    // Revision 2: the same definition, but `step:echo` is now another component.
    let other = env.dir.path().join("other-steps");
    std::fs::create_dir(&other).expect("dir");
    std::fs::copy(common::TRANSFORM, other.join("echo.wasm")).expect("copy");
    let other = other.display().to_string();
    env.ok(&[
        "workflows",
        "publish",
        &file,
        "--as",
        OWNER,
        "--steps",
        &other,
    ]);
    let pinned = |revision: i64| -> String {
        let db = crate::common::db_at(&env.db);
        let text: String = db
            .conn()
            .query_row(
                "SELECT components FROM workflow_revisions WHERE name = 'ask-then-echo' AND revision = ?1",
                [revision],
                |r| r.get(0),
            )
            .expect("revision");
        let pins: Value = serde_json::from_str(&text).expect("json");
        pins["step:echo"].as_str().expect("pinned").to_owned()
    };
    assert_ne!(pinned(1), pinned(2), "a new component is a new revision");

    // Answered without --steps: the run resumes with revision 1's component.
    let answered = env.answer_go_on();
    assert!(
        answered.status.success(),
        "{}",
        String::from_utf8_lossy(&answered.stderr)
    );
    let runs = env.runs();
    assert_eq!(runs[0].1, "succeeded", "{runs:?}");
    let db = crate::common::db_at(&env.db);
    let ran: String = db
        .conn()
        .query_row("SELECT digest FROM step_executions", [], |r| r.get(0))
        .expect("one execution");
    assert_eq!(ran, pinned(1));
}

#[test]
fn a_revision_published_before_pinning_fails_its_runs_loudly_without_its_component() {
    let env = Env::new();
    let file = env.write("echoes.json", &echoes("echoes"));
    env.publish_ok(&file, OWNER);
    // As a revision published before components were pinned: nothing to run it with but
    // --steps, which this dispatch does not give.
    env.sql("UPDATE workflow_revisions SET components = NULL");
    env.case("one", false);
    env.dispatch();
    let runs = env.runs();
    assert_eq!(runs.len(), 1, "the event was dispatched without a run");
    assert_eq!(runs[0].1, "failed", "{runs:?}");
    assert!(
        runs[0]
            .2
            .as_deref()
            .unwrap_or("")
            .contains("missing component `step:echo`"),
        "{runs:?}"
    );
}

#[test]
fn a_contributor_cannot_publish_an_interaction_flow_that_runs_as_an_owner() {
    let env = Env::new();
    let flow = json!({
        "name": "peek", "workspace": "mssp-soc", "run_as": OWNER,
        "trigger": { "on": "interaction", "interaction": {
            "title": "Peek", "form": { "fields": [ { "name": "why", "type": "text" } ] } } },
        "steps": [{ "id": "look", "uses": "cases/query-cases", "with": {} }]
    });
    let file = env.write("peek.json", &flow);
    let err = String::from_utf8_lossy(&env.publish(&file, LEAD).stderr).into_owned();
    assert!(err.contains("SPEC WF-10"), "{err}");
    let started = env.fails(&[
        "interact",
        "start",
        "peek",
        "--workspace",
        "mssp-soc",
        "--as",
        LEAD,
        "--values",
        r#"{"why":"curious"}"#,
    ]);
    assert!(started.contains("no Interaction Flow `peek`"), "{started}");
}

#[test]
fn a_run_sees_a_restricted_case_only_if_its_identity_and_its_publisher_both_do() {
    let env = Env::new();
    env.invite(OTTO, "owner");
    // An Owner may bind another person; then he is demoted and no longer bypasses.
    let file = env.write("look.json", &lists_cases("look", LEAD));
    env.publish_ok(&file, OTTO);
    env.ok(&[
        "users",
        "set-role",
        OTTO,
        "--role",
        "contributor",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let restricted = |title: &str, people: &str| {
        env.ok(&[
            "cases",
            "create",
            "--title",
            title,
            "--severity",
            "high",
            "--access-mode",
            "restricted",
            "--collaborators",
            people,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ]);
    };
    restricted("lead only", LEAD);
    env.dispatch();
    assert!(
        env.runs().is_empty(),
        "the publisher cannot see it, so the run cannot: {:?}",
        env.runs()
    );
    restricted("lead and otto", &format!("{LEAD},{OTTO}"));
    env.dispatch();
    let runs = env.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let seen = runs[0].3.as_deref().unwrap_or("");
    assert!(seen.contains("lead and otto"), "{seen}");
    assert!(!seen.contains("lead only"), "{seen}");
}

#[test]
fn a_run_is_not_a_sign_in_so_sso_only_does_not_stop_it() {
    let env = Env::new();
    // `customer-globex` is SSO-only; Tina is an Operator there, not break-glass. Olivia, its
    // break-glass Owner, binds her as `run_as`.
    let wf = json!({
        "name": "look", "workspace": "customer-globex",
        "run_as": "tina.analyst@acme-mssp.test",
        "trigger": { "on": "case_created" },
        "steps": [{ "id": "look", "uses": "cases/query-cases", "with": {} }]
    });
    let file = env.write("look.json", &wf);
    env.publish_ok(&file, OWNER);
    env.ok(&[
        "cases",
        "create",
        "--title",
        "globex one",
        "--severity",
        "low",
        "--workspace",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    env.ok(&[
        "triggers",
        "dispatch",
        "--workspace",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    let runs = env.runs();
    assert_eq!(
        runs.len(),
        1,
        "SSO-only stopped a run (SPEC WF-10): {runs:?}"
    );
    assert_eq!(runs[0].1, "succeeded", "{runs:?}");
    assert!(
        runs[0].3.as_deref().unwrap_or("").contains("globex one"),
        "{runs:?}"
    );
}

/// Who may see a case names the members of an SSO-only workspace who read it through a key
/// or as a run's identity, neither a sign-in: decided as sign-ins, an Owner was told Tina
/// could not see a case her runs read (round 27 authority review; SPEC CS-2, WF-10). One
/// that does not name her she may not see, and is not listed for.
#[test]
fn who_may_see_a_case_names_whom_a_run_reads_it_as_in_an_sso_only_workspace() {
    const TINA: &str = "tina.analyst@acme-mssp.test";
    let env = Env::new();
    let wf = json!({
        "name": "look", "workspace": "customer-globex", "run_as": TINA,
        "trigger": { "on": "case_access_mode_updated" },
        "steps": [{ "id": "look", "uses": "cases/get-case-restrictions",
                    "with": { "case_id": "$.event.case.id" } }]
    });
    let file = env.write("look.json", &wf);
    env.publish_ok(&file, OWNER);
    let case = |title: &str, people: &str| -> String {
        let made: Value = serde_json::from_str(&env.ok(&[
            "cases",
            "create",
            "--title",
            title,
            "--severity",
            "low",
            "--workspace",
            "customer-globex",
            "--as",
            OWNER,
            "--json",
        ]))
        .expect("json");
        let id = made["id"].as_str().expect("an id").to_owned();
        let mut args = vec![
            "cases",
            "update-restrictions",
            &id,
            "--access-mode",
            "restricted",
            "--workspace",
            "customer-globex",
            "--as",
            OWNER,
        ];
        if !people.is_empty() {
            args.extend(["--add", people]);
        }
        env.ok(&args);
        id
    };
    let hers = case("hers", TINA);
    let not_hers = case("not hers", "gary.admin@globex.test");
    env.ok(&[
        "triggers",
        "dispatch",
        "--workspace",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    let runs = env.runs();
    assert_eq!(runs.len(), 1, "a run as Tina read only hers: {runs:?}");
    assert_eq!(runs[0].1, "succeeded", "{runs:?}");
    assert!(
        runs[0].3.as_deref().unwrap_or("").contains(TINA),
        "{runs:?}"
    );

    let platform =
        flowhost::platform::Platform::new(crate::common::db_at(&env.db)).expect("platform");
    let owner = flowhost::principal::Caller::of(&common::user(OWNER), "customer-globex");
    let viewers = |id: &str| platform.case_viewers(&owner, id).expect("viewers");
    assert!(
        viewers(&hers).iter().any(|v| v == TINA),
        "{:?}",
        viewers(&hers)
    );
    assert!(
        !viewers(&not_hers).iter().any(|v| v == TINA),
        "{:?}",
        viewers(&not_hers)
    );
}

/// A component file cut short (its build killed mid-write) is refused at publish, naming it:
/// before, its bytes were pinned for good by their digest, and every run of the revision
/// failed the step as "not a valid component" until someone published again (review).
#[test]
fn a_component_cut_short_is_not_pinned() {
    let env = Env::new();
    let whole = std::fs::read(ECHO).expect("echo component");
    let cut = env.dir.path().join("cut.wasm");
    std::fs::write(&cut, &whole[..whole.len() / 2]).expect("write");
    let file = env.write(
        "cut.json",
        &json!({ "name": "cut", "workspace": "mssp-soc", "run_as": OWNER,
            "steps": [{ "id": "echo", "uses": cut.display().to_string(), "with": {} }] }),
    );
    let out = env.publish(&file, OWNER);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("not a whole component"), "{said}");
    let listed = env.ok(&[
        "workflows",
        "list",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    assert!(!listed.contains("cut"), "{listed}");
}

/// A pinned component written out to the state directory is checked once per process while
/// it is still there: deleted since (a state directory cleaned by hand), it is written out
/// again from the database; before, every run of it failed until a restart (kill and
/// concurrency review).
#[test]
fn a_pinned_component_deleted_from_the_state_directory_is_written_out_again() {
    let d = common::Deployment::new();
    let wf = json!({ "name": "pinned", "workspace": "mssp-soc",
        "steps": [{ "id": "echo", "uses": ECHO, "with": { "n": 1 } }] });
    std::fs::write(d.dir.path().join("pinned.json"), wf.to_string()).expect("write");
    d.ok(&["workflows", "publish", "pinned.json", "--as", OWNER]);
    // A state directory of its own (a PostgreSQL database has no file beside which to keep it).
    let state = d.dir.path().join("state");
    let platform = std::sync::Arc::new(
        flowhost::platform::Platform::new(common::db_at(&d.db))
            .expect("platform")
            .with_state_dir(state.clone()),
    );
    let engine = flowhost::workflow::engine::Engine::new(
        platform,
        std::sync::Arc::new(common::runtime()),
        Vec::new(),
    );
    let run = || {
        engine
            .run_published(
                common::user(OWNER),
                "mssp-soc",
                "pinned",
                json!({}),
                None,
                &flowhost::workflow::Quiet,
            )
            .expect("runs")
    };
    assert_eq!(run().status.as_str(), "succeeded");
    let components = state.join("components");
    let written: Vec<_> = std::fs::read_dir(&components)
        .expect("written out")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(!written.is_empty());
    for file in &written {
        std::fs::remove_file(file).expect("removed by hand");
    }
    let again = run();
    assert_eq!(again.status.as_str(), "succeeded", "{:?}", again.error);
    // Replaced by other bytes (another component), it is not run as the pinned step: checked
    // again, and written out again (SPEC WF-7; kill and concurrency review).
    let echo = std::fs::read(ECHO).expect("echo");
    for file in &written {
        assert_eq!(std::fs::read(file).expect("written again"), echo);
        std::fs::write(file, std::fs::read(common::TRANSFORM).expect("transform"))
            .expect("replaced by hand");
    }
    let replaced = run();
    assert_eq!(
        replaced.status.as_str(),
        "succeeded",
        "{:?}",
        replaced.error
    );
    for file in &written {
        assert_eq!(
            std::fs::read(file).expect("written again"),
            echo,
            "the pinned bytes"
        );
    }
}

/// A name is one visible line where it is given, at publish: one holding a line break forged
/// lines of `flowhost audit`, one holding a zero-width space read as another workflow's
/// (hostile-input review).
#[test]
fn a_workflow_is_published_under_a_name_of_one_visible_line() {
    let d = common::Deployment::new();
    for (name, shown) in [
        ("x\n2026 forged line", "U+000A"),
        ("triage\u{200b}", "U+200B"),
    ] {
        let wf = json!({ "name": name, "workspace": "mssp-soc",
            "steps": [{ "id": "echo", "uses": ECHO }] });
        std::fs::write(d.dir.path().join("named.json"), wf.to_string()).expect("write");
        let err = d.fails(&["workflows", "publish", "named.json", "--as", OWNER]);
        assert!(
            err.contains("the workflow's name") && err.contains(shown),
            "{err}"
        );
    }
    let wf = json!({ "name": "triage", "workspace": "mssp-soc",
        "steps": [{ "id": "echo", "uses": ECHO }] });
    std::fs::write(d.dir.path().join("named.json"), wf.to_string()).expect("write");
    d.ok(&["workflows", "publish", "named.json", "--as", OWNER]);
}
