//! Interactions and sharing end to end through the CLI, against a real database file (SPEC IX,
//! SH): the seeds' MSSP and enterprise scenarios, pausing, denied and allowed responses,
//! resuming, timeouts, a restart while on hold, and use-not-modify in a destination.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{CASE_PROBE, ECHO, example_tenant_path, flowhost};
use serde_json::Value;

const OWNER: &str = "olivia.owner@acme-mssp.test";
const LEAD: &str = "sam.lead@acme-mssp.test";
const ANALYST: &str = "tina.analyst@acme-mssp.test";
const OPERATOR: &str = "omar.operator@acme-mssp.test";
const GLOBEX_OWNER: &str = "gary.admin@globex.test";

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

fn steps_dir() -> String {
    Path::new(ECHO)
        .parent()
        .expect("component directory")
        .display()
        .to_string()
}

fn library(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/workflows")
        .join(name)
        .display()
        .to_string()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Env {
    fn new() -> Env {
        Env::with_tenant(&example_tenant_path())
    }

    /// A fresh database with the tenant file `tenant` applied.
    fn with_tenant(tenant: &Path) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("flowhost.db");
        let env = Env { dir, db };
        env.ok(&[
            "tenant",
            "apply",
            tenant.to_str().expect("utf-8"),
            "--bootstrap",
        ]);
        env
    }

    fn cli(&self, args: &[&str]) -> Output {
        flowhost(self.dir.path(), &self.db, args)
    }

    /// Runs a command that must succeed; returns its output as text.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "{args:?} failed: {}", text(&out));
        text(&out)
    }

    /// Runs a command that must fail; returns its output as text.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            !out.status.success(),
            "{args:?} should fail: {}",
            text(&out)
        );
        text(&out)
    }

    /// Runs a command with `--json` that must succeed, and parses its output.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(&all);
        assert!(out.status.success(), "{args:?} failed: {}", text(&out));
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    /// Writes `definition` to `NAME.json` and publishes it as the Owner, with the sample
    /// steps.
    fn publish_flow(&self, name: &str, definition: &Value) {
        let flow = self.dir.path().join(format!("{name}.json"));
        std::fs::write(&flow, definition.to_string()).expect("flow");
        self.ok(&[
            "workflows",
            "publish",
            flow.to_str().expect("utf-8"),
            "--as",
            OWNER,
            "--steps",
            &steps_dir(),
        ]);
    }

    fn sso_login(&self, idp: &str, email: &str, group: &str) {
        let claims = format!(r#"{{"email":"{email}","groups":["{group}"]}}"#);
        self.ok(&["sso", "login", "--idp", idp, "--claims", &claims]);
    }

    fn audit(&self, workspace: &str, who: &str) -> Vec<Value> {
        self.json(&["audit", "--workspace", workspace, "--as", who])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn run_status(&self, run: &str) -> Value {
        self.json(&["runs", "show", run, "--as", "olivia.owner@acme-mssp.test"])
    }
}

fn actions(entries: &[Value], prefix: &str) -> Vec<(String, String)> {
    entries
        .iter()
        .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with(prefix)))
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn mssp_triage_pauses_rejects_the_wrong_people_and_resumes_for_an_analyst() {
    let env = Env::new();
    let steps = steps_dir();
    env.sso_login("globex-entra", "rita@globex.test", "Flowhost-Requesters");
    let started = env.json(&[
        "run",
        &library("mssp-analyst-triage.json"),
        "--as",
        LEAD,
        "--event",
        r#"{"alert":"beacon"}"#,
        "--steps",
        &steps,
    ]);
    assert_eq!(started["status"], "on_hold", "{started}");
    let id = started["waiting_on"][0]
        .as_str()
        .expect("an interaction id")
        .to_owned();
    let run = started["run_id"].as_str().expect("run id").to_owned();

    // SPEC IX-7: only people who may answer see it.
    let listed = |who: &str, extra: &[&str]| {
        let mut args = vec!["interact", "list", "--workspace", "mssp-soc", "--as", who];
        args.extend_from_slice(extra);
        env.json(&args).as_array().map_or(0, Vec::len)
    };
    assert_eq!(listed(ANALYST, &[]), 1, "the triage analyst sees it");
    assert_eq!(listed(OWNER, &[]), 1, "the Owner always sees it (IX-2)");
    assert_eq!(listed(OPERATOR, &[]), 0, "an operator is not selected");
    // A customer is not a member here: for her the workspace does not exist (SPEC ID-4).
    let outsider = env.fails(&[
        "interact",
        "list",
        "--workspace",
        "mssp-soc",
        "--as",
        "rita@globex.test",
        "--sso",
    ]);
    assert!(
        outsider.contains("there is no workspace `mssp-soc` you are a member of"),
        "{outsider}"
    );
    let hidden = env.fails(&["interact", "show", &id, "--as", OPERATOR]);
    assert!(hidden.contains("no such interaction"), "{hidden}");

    // Denied attempts change nothing and are audited with the responder (IX-8).
    let values = r#"{"verdict":"escalate"}"#;
    let denied = env.fails(&[
        "interact", "respond", &id, "--as", OPERATOR, "--values", values,
    ]);
    assert!(
        denied.contains("neither omar.operator@acme-mssp.test nor role `operator` is listed"),
        "{denied}"
    );
    let denied = env.fails(&[
        "interact",
        "respond",
        &id,
        "--as",
        "rita@globex.test",
        "--sso",
        "--values",
        values,
    ]);
    // Not a member here: answered as for an interaction that does not exist, and not
    // audited in a workspace she is not in (SPEC ID-4).
    assert!(denied.contains("there is no such interaction"), "{denied}");
    let bad = env.fails(&[
        "interact",
        "respond",
        &id,
        "--as",
        ANALYST,
        "--values",
        r#"{"verdict":"maybe"}"#,
    ]);
    assert!(
        bad.contains("field `verdict` expects one of escalate, close"),
        "{bad}"
    );
    assert_eq!(env.run_status(&run)["run"]["status"], "on_hold");

    // The right person answers; the run resumes from where it waited.
    let done = env.json(&[
        "interact", "respond", &id, "--as", ANALYST, "--values", values, "--steps", &steps,
    ]);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["exit_status"], "escalated");
    // What the run saw is its principal's and bypass holders' to see (SPEC CS-2).
    assert_eq!(done["output"], Value::Null, "{done}");
    assert_eq!(env.run_status(&run)["run"]["output"]["by"], ANALYST);

    // A response is accepted once.
    let again = env.fails(&[
        "interact",
        "respond",
        &id,
        "--as",
        OWNER,
        "--values",
        r#"{"verdict":"close"}"#,
    ]);
    assert!(
        again.contains("already answered by tina.analyst@acme-mssp.test"),
        "{again}"
    );
    // Sent again as it was by who gave it (a retry after a lost reply or a killed resume):
    // taken, said so, no conflict (round 18 reviews: "already answered by" oneself, exit 2).
    let repeated = env.ok(&[
        "interact", "respond", &id, "--as", ANALYST, "--values", values, "--steps", &steps,
    ]);
    assert!(
        repeated.contains("your answer was taken before"),
        "{repeated}"
    );

    let audit = env.audit("mssp-soc", OWNER);
    assert_eq!(
        actions(&audit, "interaction.respond"),
        [
            // A member refused is audited; an outsider writes nothing here (SPEC ID-4).
            ("interaction.respond.denied".into(), OPERATOR.into()),
            ("interaction.respond.invalid".into(), ANALYST.into()),
            ("interaction.respond".into(), ANALYST.into()),
            ("interaction.respond.refused".into(), OWNER.into()),
            ("interaction.respond.repeated".into(), ANALYST.into()),
        ]
    );
    let answered = |audit: &[Value]| {
        audit
            .iter()
            .find(|e| e["action"] == "interaction.respond")
            .map(|e| e["details"]["values"].clone())
            .expect("the answer's entry")
    };
    assert_eq!(answered(&audit)["verdict"], "escalate");
    // An auditor who does not see every case reads that an answer was given, not what it
    // said: it can quote what the interaction showed (SPEC CS-2; leak review).
    for args in [
        &["roles", "create", "auditor", "--scopes", "audit.read"][..],
        &["users", "invite", "aud@acme-mssp.test", "--role", "auditor"][..],
    ] {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--workspace", "mssp-soc", "--as", OWNER]);
        env.ok(&all);
    }
    let audit = env.audit("mssp-soc", "aud@acme-mssp.test");
    let hidden = answered(&audit);
    assert!(
        hidden.as_str().is_some_and(|h| h.starts_with("hidden")),
        "{hidden}"
    );
    // A refused answer's reason quotes what was entered: hidden alike.
    let refused = audit
        .iter()
        .find(|e| e["action"] == "interaction.respond.invalid")
        .expect("the refused answer's entry");
    assert!(
        refused["details"]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("hidden")),
        "{refused}"
    );
    // The case the run created before it waited exists once: the resume replayed that step.
    let cases = env.json(&["cases", "query", "--workspace", "mssp-soc", "--as", OWNER]);
    let titles: Vec<&str> = cases["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["title"].as_str())
        .filter(|t| *t == "Triage beacon")
        .collect();
    assert_eq!(titles.len(), 1, "{cases}");
}

/// The audit log shows a reader who does not see every case no entry of an interaction
/// whose run had read a restricted case: its answer (who, when, which step) told that the
/// case exists and changed, and when, while the run itself is missing to them (SPEC CS-2;
/// leak review). The entries they see are numbered without a gap, and keep their numbers: a
/// run reading a restricted case after its answer does not renumber what was read before
/// (review). A reader who sees every case gets them all.
#[test]
fn an_interaction_of_a_run_that_read_a_hidden_case_is_not_in_a_partial_readers_audit() {
    let env = Env::new();
    env.ok(&[
        "cases",
        "create",
        "--title",
        "CEO phished",
        "--severity",
        "critical",
        "--access-mode",
        "restricted",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    for args in [
        &["roles", "create", "auditor", "--scopes", "audit.read"][..],
        &["users", "invite", "aud@acme-mssp.test", "--role", "auditor"][..],
    ] {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--workspace", "mssp-soc", "--as", OWNER]);
        env.ok(&all);
    }
    // Runs ask the analyst; the first has read the restricted case, the second nothing, the
    // third reads it once answered.
    let asks = |name: &str, text: &str| {
        let query = serde_json::json!(
            { "id": "q", "uses": "cases/query-cases", "with": { "filter": { "text": text } } });
        let ask = serde_json::json!({ "id": "ask", "interaction": { "title": "Look?",
                "form": { "fields": [{ "name": "go", "type": "boolean" }] },
                "access": { "workspace_users": { "emails": [ANALYST] } } } });
        let steps = if name == "later" {
            [ask, query]
        } else {
            [query, ask]
        };
        let wf = serde_json::json!({ "name": name, "workspace": "mssp-soc", "steps": steps });
        let file = env.dir.path().join(format!("{name}.json"));
        std::fs::write(&file, wf.to_string()).expect("write");
        let run = env.json(&["run", file.to_str().expect("utf-8"), "--as", OWNER]);
        let ix = run["waiting_on"][0]
            .as_str()
            .expect("an interaction")
            .to_owned();
        env.ok(&[
            "interact",
            "respond",
            &ix,
            "--values",
            r#"{"go":true}"#,
            "--as",
            ANALYST,
        ]);
        ix
    };
    let on_hidden = asks("hidden", "CEO");
    let on_nothing = asks("plain", "nothing like it");
    let names = |audit: &[Value], ix: &str| {
        audit
            .iter()
            .filter(|e| e["target"] == format!("interaction:{ix}"))
            .count()
    };
    let partial = env.audit("mssp-soc", "aud@acme-mssp.test");
    assert_eq!(names(&partial, &on_hidden), 0, "{partial:?}");
    assert_eq!(names(&partial, &on_nothing), 1, "{partial:?}");
    let numbers: Vec<i64> = partial.iter().filter_map(|e| e["id"].as_i64()).collect();
    let contiguous: Vec<i64> = (1..=i64::try_from(numbers.len()).expect("len")).collect();
    assert_eq!(numbers, contiguous, "no gap where a hidden entry was");
    let full = env.audit("mssp-soc", OWNER);
    assert_eq!(names(&full, &on_hidden), 1, "{full:?}");
    // Read after its answer: that entry stays, and nothing seen before moves.
    let reads_later = asks("later", "CEO");
    let again = env.audit("mssp-soc", "aud@acme-mssp.test");
    assert_eq!(names(&again, &reads_later), 1, "{again:?}");
    let first_ids = |audit: &[Value]| -> Vec<(i64, Value)> {
        audit
            .iter()
            .map(|e| (e["id"].as_i64().expect("id"), e["target"].clone()))
            .collect()
    };
    assert_eq!(
        first_ids(&again)[..partial.len()],
        first_ids(&partial)[..],
        "the entries read before keep their numbers"
    );
    // A run an event about a case started, the case restricted after the run was claimed
    // (so not among what the run read): its interaction's answer is kept from the partial
    // reader too, as the run and the interaction are (leak review).
    let wf = serde_json::json!({ "name": "on-case", "workspace": "mssp-soc",
        "run_as": "automation@acme-mssp.test", "trigger": { "on": "case_created" },
        "steps": [{ "id": "ask", "interaction": { "title": "Triage?",
            "form": { "fields": [{ "name": "go", "type": "boolean" }] },
            "access": { "workspace_users": { "emails": [OWNER] } } } }] });
    let file = env.dir.path().join("on-case.json");
    std::fs::write(&file, wf.to_string()).expect("write");
    env.ok(&[
        "workflows",
        "publish",
        file.to_str().expect("utf-8"),
        "--as",
        OWNER,
    ]);
    env.ok(&[
        "cases",
        "create",
        "--title",
        "Wire fraud",
        "--severity",
        "high",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    env.ok(&[
        "triggers",
        "dispatch",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let ix: String = crate::common::db_at(&env.db)
        .conn()
        .query_row(
            "SELECT i.public_id FROM interactions i JOIN runs r ON r.id = i.run_id
             WHERE r.workflow = 'on-case'",
            [],
            |r| r.get(0),
        )
        .expect("the triggered run asks");
    env.ok(&[
        "cases",
        "update-restrictions",
        "C-1",
        "--access-mode",
        "restricted",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    // Answered; the run then ends, its case no longer visible to its identity.
    let answered = env.cli(&[
        "interact",
        "respond",
        &ix,
        "--values",
        r#"{"go":true}"#,
        "--as",
        OWNER,
    ]);
    assert!(text(&answered).contains("answered"), "{}", text(&answered));
    // Its ending names nobody: a run's error is read by whoever sees the run (round 24
    // leaks review: it named its identity or key id).
    let ended: String = crate::common::db_at(&env.db)
        .conn()
        .query_row(
            "SELECT error FROM runs WHERE workflow = 'on-case'",
            [],
            |r| r.get(0),
        )
        .expect("the run ended");
    assert!(
        ended.contains("no longer visible to the identity it acts as")
            && !ended.contains("automation@"),
        "{ended}"
    );
    let partial = env.audit("mssp-soc", "aud@acme-mssp.test");
    assert_eq!(names(&partial, &ix), 0, "{partial:?}");
    assert_eq!(names(&env.audit("mssp-soc", OWNER), &ix), 1);
}

/// An interaction's title, rendered from the run's context when it opens, is at most 1,000
/// characters: past it the step fails naming the title and its length, and nothing opens.
/// Unbounded, a title stored megabytes per interaction, read again by every list of open ones
/// (hostile-input review).
#[test]
fn an_interactions_title_is_bounded_as_rendered() {
    let env = Env::new();
    let asks = |name: &str, chars: usize| {
        let wf = serde_json::json!({ "name": name, "workspace": "mssp-soc",
            "vars": { "long": "t".repeat(chars) },
            "steps": [{ "id": "ask", "interaction": { "title": "$.vars.long",
                "form": { "fields": [{ "name": "go", "type": "boolean" }] },
                "access": { "workspace_users": { "emails": [ANALYST] } } } }] });
        let file = env.dir.path().join(format!("{name}.json"));
        std::fs::write(&file, wf.to_string()).expect("write");
        let out = env.cli(&[
            "run",
            file.to_str().expect("utf-8"),
            "--as",
            OWNER,
            "--json",
        ]);
        serde_json::from_slice::<Value>(&out.stdout).expect("json")
    };
    let long = asks("long", 1001);
    assert_eq!(long["status"], "failed", "{long}");
    let error = long["error"].as_str().expect("error");
    assert!(
        error.contains("the interaction's title")
            && error.contains("1001 characters, at most 1000"),
        "{error}"
    );
    assert!(
        error.len() < 1000,
        "the error quotes the title clipped: {error}"
    );
    let fits = asks("fits", 1000);
    assert_eq!(fits["status"], "on_hold", "{fits}");
}

#[test]
fn a_run_on_hold_survives_a_restart_and_resumes_in_another_process() {
    let env = Env::new();
    let steps = steps_dir();
    let started = env.json(&[
        "run",
        &library("mssp-analyst-triage.json"),
        "--as",
        LEAD,
        "--event",
        r#"{"alert":"restart"}"#,
        "--steps",
        &steps,
    ]);
    let run = started["run_id"].as_str().expect("run id").to_owned();
    let id = started["waiting_on"][0]
        .as_str()
        .expect("interaction")
        .to_owned();
    // A new host process starts, resumes what was interrupted, and leaves the waiting run be.
    let served = env.ok(&["serve", "--once", "--steps", &steps]);
    assert!(served.contains("stopped cleanly"), "{served}");
    assert_eq!(env.run_status(&run)["run"]["status"], "on_hold");
    // `runs resume` on a waiting run keeps it waiting.
    let resumed = env.json(&[
        "runs",
        "resume",
        &run.to_string(),
        "--steps",
        &steps,
        "--as",
        "olivia.owner@acme-mssp.test",
    ]);
    assert_eq!(resumed["status"], "on_hold", "{resumed}");
    let done = env.json(&[
        "interact",
        "respond",
        &id,
        "--as",
        ANALYST,
        "--values",
        r#"{"verdict":"close"}"#,
        "--steps",
        &steps,
    ]);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["exit_status"], "closed");
    let detail = env.run_status(&run);
    let case_steps = detail["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["step"] == "case")
        .count();
    assert_eq!(case_steps, 1, "the case step ran once: {detail}");
}

/// An approval of a run a case event started stays answerable by the people on the case when
/// a colleague is added to it while it waits: judged as the event recorded the case, it was
/// answerable by nobody without bypass once the case changed (round 28 self-review).
#[test]
fn an_approval_stays_answerable_when_a_colleague_is_added_to_its_case() {
    let env = Env::new();
    let mut ask = json_ask("ask", "Approve?");
    ask["interaction"]["access"] = serde_json::json!({ "workspace_users": { "emails": [LEAD] } });
    env.publish_flow(
        "on-added",
        &serde_json::json!({ "name": "on-added", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_collaborators_list_updated" },
            "steps": [ask, { "exit": { "status": "answered" } }] }),
    );
    let as_owner = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--workspace", "mssp-soc", "--as", OWNER]);
        env.ok(&all);
    };
    as_owner(&[
        "cases",
        "create",
        "--title",
        "Wire fraud",
        "--severity",
        "high",
    ]);
    as_owner(&[
        "cases",
        "update-restrictions",
        "C-1",
        "--access-mode",
        "restricted",
        "--set-collaborators",
        LEAD,
    ]);
    as_owner(&["triggers", "dispatch"]);
    let listed =
        |who: &str| env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", who]);
    let ix = listed(LEAD)[0]["id"]
        .as_str()
        .expect("the lead's approval")
        .to_owned();
    // A colleague added while it waits.
    as_owner(&["cases", "update-restrictions", "C-1", "--add", ANALYST]);
    assert_eq!(
        listed(LEAD)[0]["id"],
        ix.as_str(),
        "still listed to the lead"
    );
    env.ok(&[
        "interact",
        "respond",
        &ix,
        "--as",
        LEAD,
        "--values",
        r#"{"ok":true}"#,
    ]);
}

/// An interaction of a run that ended (a branch failed while another waited) is not timed
/// out at its deadline: nothing resumes, and no timeout is audited for a run already over
/// (round 28 kill and concurrency review: `interaction.timeout` was written minutes after the
/// run failed).
#[test]
fn an_interaction_of_a_run_that_ended_is_not_timed_out() {
    let env = Env::new();
    let mut ask = json_ask("ask", "Approve?");
    ask["interaction"]["timeout"] = serde_json::json!("1s");
    let wf = serde_json::json!({ "name": "fail-beside-ask", "workspace": "mssp-soc",
        "steps": [ { "id": "both", "parallel": [
            [ask],
            [{ "id": "bad", "uses": "cases/get-case-restrictions", "with": { "case_id": "C-999" } }]
        ] } ] });
    let file = env.dir.path().join("fail-beside-ask.json");
    std::fs::write(&file, wf.to_string()).expect("write");
    let ran = env.cli(&[
        "run",
        file.to_str().expect("utf-8"),
        "--as",
        OWNER,
        "--steps",
        &steps_dir(),
        "--json",
    ]);
    let ended: Value = serde_json::from_slice(&ran.stdout).expect("json");
    assert_eq!(ended["status"], "failed", "{ended}");
    std::thread::sleep(std::time::Duration::from_millis(1300));
    env.ok(&["serve", "--once", "--steps", &steps_dir()]);
    let timed_out = env
        .audit("mssp-soc", OWNER)
        .into_iter()
        .filter(|e| e["action"] == "interaction.timeout")
        .count();
    assert_eq!(timed_out, 0, "nothing timed out for a run already over");
    // Nor is it looked at again: its deadline is forgotten, not left due for every round.
    let due: i64 = crate::common::db_at(&env.db)
        .conn()
        .query_row(
            "SELECT count(*) FROM interactions WHERE deadline_ms IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(due, 0);
}

#[test]
fn a_timeout_takes_the_timeout_path_and_is_never_approval() {
    let env = Env::new();
    let steps = steps_dir();
    // The library sample gives people 30 s; this copy gives them 1 s.
    let sample =
        std::fs::read_to_string(library("approval-timeout-beside-parallel.json")).expect("sample");
    assert!(sample.contains(r#""timeout": "30s""#));
    let quick = env.dir.path().join("approval-in-1s.json");
    std::fs::write(
        &quick,
        sample.replace(r#""timeout": "30s""#, r#""timeout": "1s""#),
    )
    .expect("write");
    let started = env.json(&[
        "run",
        quick.to_str().expect("utf-8"),
        "--as",
        LEAD,
        "--event",
        r#"{"host":"h1"}"#,
        "--steps",
        &steps,
    ]);
    assert_eq!(started["status"], "on_hold", "{started}");
    let run = started["run_id"].as_str().expect("run id").to_owned();
    let id = started["waiting_on"][0]
        .as_str()
        .expect("interaction")
        .to_owned();
    let listed =
        |env: &Env| env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", LEAD]);
    assert_eq!(
        listed(&env)[0]["id"],
        id.as_str(),
        "listed while it takes answers"
    );
    std::thread::sleep(std::time::Duration::from_millis(1300));
    // Past its deadline, before the host times it out: not listed as waiting, and shown
    // timed out, not open with a form (round 16 web review).
    assert_eq!(listed(&env), serde_json::json!([]));
    let shown = env.json(&["interact", "show", &id, "--as", LEAD]);
    assert_eq!(shown["status"], "timed_out", "{shown}");
    assert_eq!(
        shown["response"]["timed_out"], true,
        "as once recorded: {shown}"
    );
    // Too late to answer, even for the listed lead.
    let late = env.fails(&[
        "interact",
        "respond",
        &id,
        "--as",
        LEAD,
        "--values",
        r#"{"approve":true}"#,
    ]);
    assert!(late.contains("timed out"), "{late}");
    // The host fires the timeout: the run resumes on its timeout path.
    env.ok(&["serve", "--once", "--steps", &steps]);
    let detail = env.run_status(&run);
    assert_eq!(detail["run"]["status"], "succeeded", "{detail}");
    assert_eq!(detail["run"]["exit_status"], "not-approved-in-time");
    assert_eq!(detail["run"]["output"]["timed_out"], true);
    assert_eq!(detail["run"]["output"]["values"], serde_json::json!({}));
    // The parallel branch beside the interaction ran once, before the wait.
    let enrich = detail["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["step"] == "enrich")
        .count();
    assert_eq!(enrich, 1);
}

#[test]
fn an_allowed_answer_beside_a_parallel_branch_approves() {
    let env = Env::new();
    let steps = steps_dir();
    let started = env.json(&[
        "run",
        &library("approval-timeout-beside-parallel.json"),
        "--as",
        LEAD,
        "--event",
        r#"{"host":"h2"}"#,
        "--steps",
        &steps,
    ]);
    let id = started["waiting_on"][0]
        .as_str()
        .expect("interaction")
        .to_owned();
    // The lead is named by a context reference ($.vars.leads); the analyst is not.
    env.fails(&[
        "interact",
        "respond",
        &id,
        "--as",
        ANALYST,
        "--values",
        r#"{"approve":true}"#,
    ]);
    let done = env.json(&[
        "interact",
        "respond",
        &id,
        "--as",
        LEAD,
        "--values",
        r#"{"approve":true}"#,
        "--steps",
        &steps,
    ]);
    assert_eq!(done["exit_status"], "contained", "{done}");
    assert_eq!(done["output"]["ips"], serde_json::json!(["10.0.0.1"]));
}

#[test]
fn mssp_onboarding_flow_shared_to_a_customer_is_for_its_requesters_only() {
    let env = Env::new();
    let steps = steps_dir();
    env.sso_login("globex-entra", "rita@globex.test", "Flowhost-Requesters");
    env.ok(&[
        "workflows",
        "publish",
        &library("mssp-customer-onboarding.json"),
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    env.ok(&[
        "workflows",
        "publish",
        &library("mssp-analyst-triage.json"),
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    // A contributor cannot share (SPEC SH-1: resource.share).
    let refused = env.fails(&[
        "share",
        "flow",
        "mssp-customer-onboarding",
        "--from",
        "mssp-soc",
        "--to",
        "customer-globex",
        "--as",
        LEAD,
    ]);
    assert!(refused.contains("resource.share"), "{refused}");
    // The Owner of both workspaces shares: accepted at once.
    let shared = env.ok(&[
        "share",
        "flow",
        "mssp-customer-onboarding",
        "--from",
        "mssp-soc",
        "--to",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    assert!(shared.contains("is usable in customer-globex"), "{shared}");

    // Customers get only onboarding flows; the analysts' triage flow is not theirs.
    let flows = env.json(&[
        "interact",
        "flows",
        "--workspace",
        "customer-globex",
        "--as",
        "rita@globex.test",
        "--sso",
    ]);
    let names: Vec<&str> = flows
        .as_array()
        .expect("flows")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["mssp-customer-onboarding"]);
    let values = r#"{"site":"Berlin","contact":"Ops@Globex.test"}"#;
    let done = env.json(&[
        "interact",
        "start",
        "mssp-customer-onboarding",
        "--workspace",
        "customer-globex",
        "--as",
        "rita@globex.test",
        "--sso",
        "--values",
        values,
        "--steps",
        &steps,
    ]);
    assert_eq!(done["exit_status"], "onboarding-requested", "{done}");
    assert_eq!(done["output"]["contact"], "ops@globex.test");
    assert_eq!(done["output"]["requested_by"], "rita@globex.test");
    // The run's identity is the source's person: named to nobody in the destination, as
    // `share list` does not name them (round 14 leak review).
    let runs = env.json(&[
        "runs",
        "list",
        "--workspace",
        "customer-globex",
        "--as",
        OLIVIA_BREAK_GLASS,
    ]);
    let principal = runs[0]["principal"].as_str().unwrap_or_default();
    assert!(
        principal.starts_with("run:other-workspace ") && !principal.contains("automation@"),
        "{runs}"
    );

    // A local sign-in in an SSO-only workspace gets nothing (IX-5); an operator is not selected.
    let local = env.fails(&[
        "interact",
        "start",
        "mssp-customer-onboarding",
        "--workspace",
        "customer-globex",
        "--as",
        "rita@globex.test",
        "--values",
        values,
    ]);
    assert!(local.contains("SSO-only"), "{local}");
    env.sso_login("globex-entra", "tina.analyst@acme-mssp.test", "Nobody");
    let sso_denied = env.fails(&[
        "interact",
        "start",
        "mssp-customer-onboarding",
        "--workspace",
        "customer-globex",
        "--as",
        ANALYST,
        "--sso",
        "--values",
        values,
    ]);
    assert!(sso_denied.contains("denied by SSO"), "{sso_denied}");
    // Admins see everything: the customer's Owner may start it though not listed (IX-2).
    let owner_flows = env.json(&[
        "interact",
        "flows",
        "--workspace",
        "customer-globex",
        "--as",
        OLIVIA_BREAK_GLASS,
    ]);
    assert_eq!(owner_flows.as_array().map(Vec::len), Some(1));

    // Use, not modify: the destination cannot publish over the shared flow (SPEC SH-1).
    let doc = std::fs::read_to_string(library("mssp-customer-onboarding.json")).expect("read");
    let copy = env.dir.path().join("copy.json");
    std::fs::write(&copy, doc.replace("\"mssp-soc\"", "\"customer-globex\"")).expect("write");
    env.sso_login("globex-entra", "gary.admin@globex.test", "Flowhost-Admins");
    let modify = env.fails(&[
        "workflows",
        "publish",
        copy.to_str().expect("utf-8"),
        "--as",
        GLOBEX_OWNER,
        "--sso",
        "--steps",
        &steps,
    ]);
    assert!(modify.contains("may use it, not modify it"), "{modify}");

    let audit = env.audit("customer-globex", OLIVIA_BREAK_GLASS);
    let starts = actions(&audit, "interaction.start");
    assert_eq!(
        starts[0],
        ("interaction.start".into(), "rita@globex.test".into())
    );
    // The start is audited with the run it made, in the transaction that records the run.
    let started = audit
        .iter()
        .find(|e| e["action"] == "interaction.start")
        .expect("the start is audited");
    assert!(
        started["details"]["run"]
            .as_str()
            .is_some_and(|r| r.starts_with("R-")),
        "{started}"
    );
    assert!(
        starts
            .iter()
            .filter(|(a, _)| a == "interaction.start.denied")
            .count()
            >= 2,
        "{starts:?}"
    );
}

/// Olivia is the break-glass Owner of the SSO-only customer workspace.
const OLIVIA_BREAK_GLASS: &str = OWNER;

#[test]
fn enterprise_vendor_flow_admits_only_the_listed_external_identity() {
    let env = Env::new();
    let steps = steps_dir();
    env.sso_login("globex-entra", "gary.admin@globex.test", "Flowhost-Admins");
    env.ok(&[
        "workflows",
        "publish",
        &library("vendor-access-request.json"),
        "--as",
        GLOBEX_OWNER,
        "--sso",
        "--steps",
        &steps,
    ]);
    env.sso_login("globex-entra", "vera@vendor.test", "Vendors");
    env.sso_login("globex-entra", "victor@vendor.test", "Vendors");
    env.sso_login("globex-entra", "rita@globex.test", "Flowhost-Requesters");
    let values = r#"{"system":"erp","days":3}"#;
    let start = |who: &str, sso: bool| {
        let mut args = vec![
            "interact",
            "start",
            "vendor-access-request",
            "--workspace",
            "customer-globex",
            "--as",
            who,
        ];
        if sso {
            args.push("--sso");
        }
        args.extend_from_slice(&["--values", values, "--steps", &steps]);
        env.cli(&args)
    };
    let vera = start("vera@vendor.test", true);
    assert!(vera.status.success(), "{}", text(&vera));
    assert!(text(&vera).contains("on_hold"), "{}", text(&vera));
    // The request waits for an Owner; a business user cannot approve it, the Owner does.
    let ix = env.json(&[
        "interact",
        "list",
        "--workspace",
        "customer-globex",
        "--as",
        GLOBEX_OWNER,
        "--sso",
    ]);
    let id = ix[0]["id"].as_str().expect("open interaction").to_owned();
    assert_eq!(ix[0]["title"], "Grant vera@vendor.test access to erp?");
    // Its id is not in the trace shown to the vendor, who may not see it (SPEC IX-7; round
    // 16 leak review), as the outcome printed after it leaves it out.
    assert!(!text(&vera).contains(&id), "{}", text(&vera));
    let denied = env.fails(&[
        "interact",
        "respond",
        &id,
        "--as",
        "rita@globex.test",
        "--sso",
        "--values",
        r#"{"grant":true}"#,
    ]);
    assert!(
        denied.contains("neither rita@globex.test nor role `interact-only` is listed"),
        "{denied}"
    );
    let done = env.json(&[
        "interact",
        "respond",
        &id,
        "--as",
        GLOBEX_OWNER,
        "--sso",
        "--values",
        r#"{"grant":true}"#,
        "--steps",
        &steps,
    ]);
    assert_eq!(done["exit_status"], "granted", "{done}");
    assert_eq!(done["output"]["approved_by"], GLOBEX_OWNER);
    let victor = start("victor@vendor.test", true);
    assert!(
        text(&victor).contains("the flow does not list"),
        "{}",
        text(&victor)
    );
    let local = start("vera@vendor.test", false);
    assert!(
        text(&local).contains("must sign in through SSO"),
        "{}",
        text(&local)
    );
    // Business users (Interact Only) get request flows, not this vendor flow.
    let rita = start("rita@globex.test", true);
    assert!(
        text(&rita).contains("neither rita@globex.test nor role `interact-only`"),
        "{}",
        text(&rita)
    );
    // The workspace Owner is always included (IX-2).
    let gary = start(GLOBEX_OWNER, true);
    assert!(gary.status.success(), "{}", text(&gary));

    // A step asks the same question through WIT `access.check-flow-access`.
    let input = serde_json::json!({
        "flow_checks": [
            ["vendor-access-request", "Vera@Vendor.test"],
            ["vendor-access-request", "victor@vendor.test"],
            ["no-such-flow", "vera@vendor.test"]
        ]
    })
    .to_string();
    let probe = env.json(&[
        "step",
        "run",
        CASE_PROBE,
        "--workspace",
        "customer-globex",
        "--as",
        GLOBEX_OWNER,
        "--sso",
        "--input",
        &input,
    ]);
    let answers = probe["output"]["flow_access"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(answers.len(), 3, "{probe}");
    assert_eq!(answers[0]["allowed"], true, "{probe}");
    assert_eq!(answers[1]["allowed"], false);
    assert!(
        answers[1]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("does not list")
    );
    assert!(
        answers[2]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no Interaction Flow")
    );
}

#[test]
fn a_share_by_an_owner_of_the_source_only_waits_for_a_destination_owner() {
    let env = Env::new();
    let steps = steps_dir();
    env.ok(&[
        "users",
        "invite",
        "oscar@acme-mssp.test",
        "--role",
        "owner",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    env.ok(&[
        "workflows",
        "publish",
        &library("mssp-analyst-triage.json"),
        "--as",
        OWNER,
        "--steps",
        &steps,
    ]);
    let out = env.cli(&[
        "share",
        "flow",
        "mssp-analyst-triage",
        "--from",
        "mssp-soc",
        "--to",
        "customer-globex",
        "--as",
        "oscar@acme-mssp.test",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // Custom-role selections do not carry over, with a warning naming them (SPEC IX-6, SH-2).
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("custom role `triage-analyst`") && err.contains("does not carry over"),
        "{err}"
    );
    assert!(text(&out).contains("awaits acceptance"), "{}", text(&out));
    let shares = env.json(&["share", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    let id = shares[0]["id"].as_str().expect("share id").to_owned();
    assert_eq!(shares[0]["status"], "pending");
    env.sso_login("globex-entra", "gary.admin@globex.test", "Flowhost-Admins");
    env.sso_login("globex-entra", "tina.analyst@acme-mssp.test", "Nobody");
    // Not usable before acceptance; an operator of the destination cannot accept.
    let early = env.fails(&[
        "run",
        "--published",
        "mssp-analyst-triage",
        "--workspace",
        "customer-globex",
        "--as",
        GLOBEX_OWNER,
        "--sso",
        "--steps",
        &steps,
    ]);
    assert!(early.contains("no published or shared workflow"), "{early}");
    let refused = env.fails(&["share", "accept", &id, "--as", ANALYST, "--sso"]);
    assert!(refused.contains("denied"), "{refused}");
    // The offer stands only while its sharer could make it now (SPEC SH-1): demoted in the
    // source meanwhile, their share is accepted by nobody; an Owner again, it is.
    let set_oscar_role = |role: &str| {
        env.ok(&[
            "users",
            "set-role",
            "oscar@acme-mssp.test",
            "--role",
            role,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ]);
    };
    set_oscar_role("viewer");
    let stale = env.fails(&["share", "accept", &id, "--as", GLOBEX_OWNER, "--sso"]);
    assert!(
        stale.contains("can no longer be accepted: ask `mssp-soc` to share it again"),
        "{stale}"
    );
    // Nothing of whose power in the source went (leak review).
    assert!(!stale.contains("no longer share"), "{stale}");
    set_oscar_role("owner");
    env.ok(&["share", "accept", &id, "--as", GLOBEX_OWNER, "--sso"]);
    // Who shared and who accepted are people of the source and the destination: listed to
    // whoever may list those workspaces' people, not to an operator who may list workflows
    // (SPEC ID-1; leak review).
    let people = |who: &str| {
        let shares = env.json(&["share", "list", "--workspace", "mssp-soc", "--as", who]);
        (
            shares[0]["shared_by"].clone(),
            shares[0]["accepted_by"].clone(),
        )
    };
    assert_eq!(people(OPERATOR), (Value::Null, Value::Null));
    assert_eq!(people(OWNER).0, "oscar@acme-mssp.test");
    // Now the destination uses it, in its own workspace: the run waits on an interaction
    // whose custom-role selection was dropped, so only the Owner role (always) admits.
    let started = env.json(&[
        "run",
        "--published",
        "mssp-analyst-triage",
        "--workspace",
        "customer-globex",
        "--as",
        GLOBEX_OWNER,
        "--sso",
        "--event",
        r#"{"alert":"x"}"#,
        "--steps",
        &steps,
    ]);
    assert_eq!(started["status"], "on_hold", "{started}");
    let id = started["waiting_on"][0]
        .as_str()
        .expect("interaction")
        .to_owned();
    let shown = env.json(&["interact", "show", &id, "--as", GLOBEX_OWNER, "--sso"]);
    assert_eq!(shown["workspace"], "customer-globex");
    assert!(
        shown["access_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("SPEC IX-2"),
        "{shown}"
    );
}

#[test]
fn validation_refuses_references_in_form_started_flows_and_runs_refuse_mixed_arrays() {
    let env = Env::new();
    let flow = serde_json::json!({
        "name": "bad-flow", "workspace": "mssp-soc", "run_as": "automation@acme-mssp.test",
        "trigger": { "on": "interaction", "interaction": {
            "form": { "fields": [{ "name": "ok", "type": "yes-no" }] },
            "access": { "workspace_users": { "refs": ["$.vars.people"] }, "external_sso": "some" } } },
        "steps": []
    });
    let path = env.dir.path().join("bad-flow.json");
    std::fs::write(&path, serde_json::to_string_pretty(&flow).expect("json")).expect("write");
    let out = env.fails(&["validate", path.to_str().expect("utf-8")]);
    assert!(
        out.contains("trigger.interaction.access.workspace_users.refs[0]")
            && out.contains("SPEC IX-3"),
        "{out}"
    );
    assert!(
        out.contains("trigger.interaction.form.fields[0].type"),
        "{out}"
    );
    assert!(
        out.contains("trigger.interaction.access.external_sso"),
        "{out}"
    );
    // A reference that mixes emails and roles fails the run at the interaction, naming it.
    let mixed = serde_json::json!({
        "name": "mixed", "workspace": "mssp-soc", "vars": { "people": ["sam.lead@acme-mssp.test", "owner"] },
        "steps": [{ "id": "ask", "interaction": {
            "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
            "access": { "workspace_users": { "refs": ["$.vars.people"] } } } }]
    });
    let path = env.dir.path().join("mixed.json");
    std::fs::write(&path, mixed.to_string()).expect("write");
    let out = env.fails(&["run", path.to_str().expect("utf-8"), "--as", LEAD]);
    assert!(
        out.contains("`$.vars.people` mixes emails and role names"),
        "{out}"
    );
}

/// A flow's starter sees its output (its answer to the form, SPEC IX-1) but a failed step's
/// message only if they may see what the run saw (SPEC CS-2): here the flow runs as the
/// Owner and fails quoting what its first step returned. The operator who started it gets
/// the status and the run's id; the Owner starting it gets the message. Before, `interact
/// start` printed the message to anyone the flow admits, live and at the end.
#[test]
fn a_flows_failure_shows_its_message_only_to_who_may_see_what_the_run_saw() {
    let env = Env::new();
    let steps = steps_dir();
    env.publish_flow(
        "leaky",
        &serde_json::json!({
            "name": "leaky", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "interaction", "interaction": {
                "title": "Leaky", "form": { "fields": [{ "name": "n", "type": "text" }] } } },
            "steps": [
                { "id": "read", "uses": "step:echo", "with": { "secret": "TOPSECRET-4711" } },
                { "id": "each", "loop": { "over": "$.steps.read" },
                  "do": [{ "id": "x", "uses": "step:echo", "with": {} }] }
            ]
        }),
    );
    let start = |who: &str| {
        env.cli(&[
            "interact",
            "start",
            "leaky",
            "--workspace",
            "mssp-soc",
            "--as",
            who,
            "--values",
            r#"{"n":"1"}"#,
            "--steps",
            &steps,
        ])
    };
    let operator = start(OPERATOR);
    assert!(!operator.status.success(), "{}", text(&operator));
    assert!(text(&operator).contains("failed"), "{}", text(&operator));
    assert!(
        !text(&operator).contains("TOPSECRET"),
        "{}",
        text(&operator)
    );
    assert!(text(&operator).contains("hidden"), "{}", text(&operator));
    let owner = start(OWNER);
    assert!(!owner.status.success(), "{}", text(&owner));
    assert!(text(&owner).contains("TOPSECRET-4711"), "{}", text(&owner));
}

/// A flow start sent again under its key, after the flow's form changed, is answered with the
/// run it started: the form in use refused the retry of a start it had taken (round 29 kill
/// review). A new start with those answers is refused by the form in use.
#[test]
fn a_keyed_flow_start_sent_again_after_its_form_changed_answers_its_run() {
    let env = Env::new();
    let flow = |field: &str| {
        serde_json::json!({
            "name": "report", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "interaction", "interaction": {
                "title": "Report", "form": { "fields": [{ "name": field, "type": "text" }] } } },
            "steps": [ { "id": "done", "exit": { "status": "filed" } } ]
        })
    };
    env.publish_flow("report", &flow("url"));
    let start = |key: &str| {
        env.cli(&[
            "interact",
            "start",
            "report",
            "--workspace",
            "mssp-soc",
            "--as",
            OPERATOR,
            "--values",
            r#"{"url":"http://phish.example"}"#,
            "--idempotency-key",
            key,
            "--json",
        ])
    };
    let first = start("lost-answer");
    assert!(first.status.success(), "{}", text(&first));
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).expect("json");
    env.publish_flow("report", &flow("link"));
    let again = start("lost-answer");
    assert!(again.status.success(), "{}", text(&again));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(again["run_id"], first["run_id"], "{again}");
    let fresh = start("a-new-start");
    assert!(!fresh.status.success());
    assert!(text(&fresh).contains("unknown field"), "{}", text(&fresh));
}

/// Starting a flow from the CLI dispatches the workspace's pending events only for someone
/// who may dispatch them (playbook.execute, decided by the access layer): an Interact Only
/// requester's start left every pending event of the workspace dispatched (leak review).
#[test]
fn an_interact_only_start_dispatches_no_pending_events() {
    let env = Env::new();
    let steps = steps_dir();
    env.ok(&[
        "users",
        "invite",
        "ivy@acme-mssp.test",
        "--role",
        "interact-only",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let dir = env.dir.path();
    let on_case = dir.join("on-case.json");
    std::fs::write(
        &on_case,
        serde_json::json!({ "name": "on-case", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "case_created" },
            "steps": [{ "id": "say", "uses": "step:echo", "with": {} }] })
        .to_string(),
    )
    .expect("workflow");
    let flow = dir.join("ask.json");
    std::fs::write(
        &flow,
        serde_json::json!({ "name": "ask", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "interaction", "interaction": {
                "title": "Ask", "form": { "fields": [{ "name": "n", "type": "text" }] } } },
            "steps": [{ "id": "say", "uses": "step:echo", "with": {} }] })
        .to_string(),
    )
    .expect("flow");
    for file in [&on_case, &flow] {
        env.ok(&[
            "workflows",
            "publish",
            file.to_str().expect("utf-8"),
            "--as",
            OWNER,
            "--steps",
            &steps,
        ]);
    }
    env.ok(&[
        "cases",
        "create",
        "--title",
        "pending",
        "--severity",
        "low",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let start = |who: &str| {
        env.ok(&[
            "interact",
            "start",
            "ask",
            "--workspace",
            "mssp-soc",
            "--as",
            who,
            "--values",
            r#"{"n":"1"}"#,
            "--steps",
            &steps,
        ])
    };
    let triggered = || {
        let listed: serde_json::Value = serde_json::from_str(&env.ok(&[
            "runs",
            "list",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ]))
        .expect("json");
        listed
            .as_array()
            .expect("runs")
            .iter()
            .filter(|r| r["workflow"] == "on-case")
            .count()
    };
    start("ivy@acme-mssp.test");
    assert_eq!(triggered(), 0, "the case's event is still pending");
    // Someone who may dispatch does, as before.
    start(OWNER);
    assert_eq!(triggered(), 1);
}

/// The live trace of `interact start` shows each step of a loop once, as a summary of the
/// run does: one line per iteration told the starter how many items (cases, say) the run's
/// identity read (SPEC CS-2; authority review).
#[test]
fn a_flows_live_trace_does_not_count_its_loop_iterations() {
    let env = Env::new();
    let steps = steps_dir();
    // Publishes flow `name` (one text field) with `vars` and `steps`, as the Owner.
    let publish = |name: &str, vars: serde_json::Value, body: serde_json::Value| {
        env.publish_flow(
            name,
            &serde_json::json!({
                "name": name, "workspace": "mssp-soc", "run_as": OWNER, "vars": vars,
                "trigger": { "on": "interaction", "interaction": {
                    "title": name, "form": { "fields": [{ "name": "n", "type": "text" }] } } },
                "steps": body
            }),
        );
    };
    // Starts flow `name` as the operator; what it printed.
    let start = |name: &str| {
        let out = env.cli(&[
            "interact",
            "start",
            name,
            "--workspace",
            "mssp-soc",
            "--as",
            OPERATOR,
            "--values",
            r#"{"n":"1"}"#,
            "--steps",
            &steps,
        ]);
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    publish(
        "counting",
        serde_json::json!({ "items": [1, 2, 3, 4, 5, 6, 7] }),
        serde_json::json!([
            { "id": "each", "loop": { "over": "$.vars.items" },
              "do": [{ "id": "x", "uses": "step:echo", "with": {} }] }
        ]),
    );
    let shown = start("counting");
    assert_eq!(shown.matches("each[*].x").count(), 1, "{shown}");
    assert!(
        !shown.contains("each[1]") && !shown.contains("each[6]"),
        "{shown}"
    );

    // Nor by the interactions its iterations wait on: the trace names the loop's step once,
    // and the outcome lists only those the starter may see (here none: the Owner answers).
    // Before, a line and an id an iteration counted the items (leak review).
    publish(
        "asking",
        serde_json::json!({ "items": [1, 2, 3, 4, 5, 6, 7] }),
        serde_json::json!([
            { "id": "each", "loop": { "over": "$.vars.items", "parallel": 7 },
              "do": [{ "id": "ok", "interaction": {
                  "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
                  "access": { "workspace_users": { "emails": [OWNER] } } } }] }
        ]),
    );
    let shown = start("asking");
    assert_eq!(shown.matches("each[*].ok").count(), 1, "{shown}");
    assert!(shown.matches("I-").count() <= 1, "{shown}");
    // Nor by the interactions themselves, to whoever may answer one: their step and their
    // default title name the loop's step, not the iteration (leak review: `each[37].ok`
    // told an assignee how many cases ranked ahead of theirs).
    let listed = env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 7, "{listed:?}");
    for ix in listed {
        assert_eq!(ix["step"], "each[*].ok", "{ix}");
        assert_eq!(ix["title"], "each[*].ok", "{ix}");
    }
}

/// A flow's output is its starter's only if they may see every case the run read: a flow
/// running as the Owner that answers with what its query found told a starter restricted
/// cases' titles, which `runs show` hid from them (SPEC CS-2, WF-10; leak review).
#[test]
fn a_flows_output_is_withheld_from_a_starter_who_may_not_see_what_it_read() {
    let env = Env::new();
    let steps = steps_dir();
    env.ok(&[
        "cases",
        "create",
        "--title",
        "secret-merger-case",
        "--severity",
        "low",
        "--access-mode",
        "restricted",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    env.publish_flow(
        "lookup",
        &serde_json::json!({
            "name": "lookup", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "interaction", "interaction": {
                "title": "Look up", "form": { "fields": [{ "name": "n", "type": "text" }] } } },
            "steps": [
                { "id": "q", "uses": "cases/query-cases", "with": { "page_size": 10 } },
                { "id": "say", "exit": { "output": { "found": "$.steps.q" } } }
            ]
        }),
    );
    let start = |who: &str| {
        env.ok(&[
            "interact",
            "start",
            "lookup",
            "--workspace",
            "mssp-soc",
            "--as",
            who,
            "--values",
            r#"{"n":"1"}"#,
            "--steps",
            &steps,
            "--json",
        ])
    };
    let operator = start(OPERATOR);
    assert!(!operator.contains("secret-merger-case"), "{operator}");
    let owner = start(OWNER);
    assert!(owner.contains("secret-merger-case"), "{owner}");
}

/// A manual run of an Interaction Flow (`run --published`, or the API's runs) is refused:
/// it skipped the flow's settings and handed its steps a forged `$.event.responder`, for
/// anyone with playbook.execute (SPEC IX-4; authority review). Its form starts it.
#[test]
fn an_interaction_flow_is_not_run_by_hand_with_a_forged_event() {
    let env = Env::new();
    let steps = steps_dir();
    env.publish_flow(
        "approve",
        &serde_json::json!({
            "name": "approve", "workspace": "mssp-soc", "run_as": OWNER,
            "trigger": { "on": "interaction", "interaction": {
                "title": "Approve", "form": { "fields": [{ "name": "n", "type": "text" }] },
                "access": { "workspace_users": { "emails": [OWNER] } } } },
            "steps": [{ "id": "who", "uses": "step:echo", "with": { "by": "$.event.responder" } }]
        }),
    );
    let forged =
        r#"{"kind":"interaction","responder":"olivia.owner@acme-mssp.test","values":{"n":"1"}}"#;
    let out = env.cli(&[
        "run",
        "--published",
        "approve",
        "--workspace",
        "mssp-soc",
        "--as",
        OPERATOR,
        "--event",
        forged,
        "--steps",
        &steps,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("is an Interaction Flow"),
        "{}",
        text(&out)
    );
    let runs = env.ok(&["runs", "list", "--as", OWNER, "--json"]);
    let runs: Value = serde_json::from_str(&runs).expect("json");
    assert_eq!(runs.as_array().map(Vec::len), Some(0), "{runs}");
}

/// One name is one workflow in a workspace: while a share of `triage` from one workspace is
/// accepted into the destination, another workspace's `triage` is neither accepted at once
/// nor later. Before, both were, and which one ran (under whose acceptance) was whichever row
/// the database returned first (SPEC SH-1, WF-10; concurrency review).
#[test]
fn a_second_workspaces_share_of_the_same_name_is_not_accepted_beside_the_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = dir.path().join("tenant.json");
    let ws = |name: &str, members: Value| serde_json::json!({ "name": name, "members": members });
    let owner = serde_json::json!({ "email": OWNER, "role": "owner" });
    let lead = serde_json::json!({ "email": LEAD, "role": "owner" });
    let file = serde_json::json!({ "organization": "acme-mssp", "workspaces": [
        ws("soc-a", serde_json::json!([owner])),
        ws("soc-b", serde_json::json!([owner, lead])),
        ws("customer", serde_json::json!([owner])),
    ] });
    std::fs::write(&tenant, file.to_string()).expect("tenant");
    let env = Env::with_tenant(&tenant);
    for source in ["soc-a", "soc-b"] {
        let wf = serde_json::json!({ "name": "triage", "workspace": source, "run_as": OWNER,
            "steps": [{ "id": "echo", "uses": ECHO, "with": { "from": source } },
                { "exit": { "status": "done", "output": "$.steps.echo" } }] });
        let path = env.dir.path().join(format!("{source}.json"));
        std::fs::write(&path, wf.to_string()).expect("workflow");
        env.ok(&[
            "workflows",
            "publish",
            path.to_str().expect("utf-8"),
            "--as",
            OWNER,
        ]);
    }
    let share = |from: &str, who: &str| {
        env.cli(&[
            "share", "workflow", "triage", "--from", from, "--to", "customer", "--as", who,
        ])
    };
    // The Owner of both sides shares soc-a's: accepted at once.
    let first = share("soc-a", OWNER);
    assert!(first.status.success(), "{}", text(&first));
    // soc-b's, by the same Owner: refused, naming the share in the way.
    let second = share("soc-b", OWNER);
    assert!(!second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("already runs `triage` shared from `soc-a`"),
        "{}",
        text(&second)
    );
    // By someone who is no Owner of the destination it waits; accepting it is refused too.
    let pending = share("soc-b", LEAD);
    assert!(pending.status.success(), "{}", text(&pending));
    let shares = env.json(&["share", "list", "--workspace", "soc-b", "--as", LEAD]);
    let id = shares[0]["id"].as_str().expect("share id").to_owned();
    let refused = env.fails(&["share", "accept", &id, "--as", OWNER]);
    assert!(
        refused.contains("already runs `triage` shared from `soc-a`"),
        "{refused}"
    );
    // The destination runs soc-a's, as before.
    let run = env.json(&[
        "run",
        "--published",
        "triage",
        "--workspace",
        "customer",
        "--as",
        OWNER,
    ]);
    assert_eq!(run["output"]["from"], "soc-a", "{run}");
}

/// Accepting a share again is told who accepted it only as `share list` shows it: to a
/// reader of the destination's people, not to a member who may share but not list them
/// (SPEC ID-1; leak review).
#[test]
fn an_accepted_share_names_its_acceptor_only_to_a_reader_of_the_destinations_people() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = dir.path().join("tenant.json");
    let file = serde_json::json!({ "organization": "acme-mssp", "workspaces": [
        { "name": "soc-a", "members": [{ "email": OWNER, "role": "owner" }] },
        { "name": "customer", "members": [{ "email": OWNER, "role": "owner" }] },
    ] });
    std::fs::write(&tenant, file.to_string()).expect("tenant");
    let env = Env::with_tenant(&tenant);
    let wf = serde_json::json!({ "name": "triage", "workspace": "soc-a", "run_as": OWNER,
        "steps": [{ "id": "echo", "uses": ECHO, "with": {} }] });
    let path = env.dir.path().join("triage.json");
    std::fs::write(&path, wf.to_string()).expect("workflow");
    let path = path.to_str().expect("utf-8");
    env.ok(&["workflows", "publish", path, "--as", OWNER]);
    for args in [
        &["roles", "create", "sharer", "--scopes", "resource.share"][..],
        &["users", "invite", ANALYST, "--role", "sharer"][..],
    ] {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--workspace", "customer", "--as", OWNER]);
        env.ok(&all);
    }
    let shared = env.cli(&[
        "share", "workflow", "triage", "--from", "soc-a", "--to", "customer", "--as", OWNER,
    ]);
    assert!(shared.status.success(), "{}", text(&shared));
    let shares = env.json(&["share", "list", "--workspace", "soc-a", "--as", OWNER]);
    let id = shares[0]["id"].as_str().expect("share id").to_owned();
    let again = env.fails(&["share", "accept", &id, "--as", OWNER]);
    assert!(
        again.contains("already accepted") && again.contains(&format!("by {OWNER}")),
        "{again}"
    );
    let again = env.fails(&["share", "accept", &id, "--as", ANALYST]);
    assert!(
        again.contains("already accepted") && !again.contains(OWNER),
        "{again}"
    );

    // Accepting installs the workflow: it takes what publishing it there takes, beside
    // `resource.share` (SPEC SH-1: an Owner accepts; authority review). A second workflow,
    // shared by an Owner of the source only, waits; the sharer role may not accept it.
    env.ok(&[
        "users",
        "invite",
        LEAD,
        "--role",
        "owner",
        "--workspace",
        "soc-a",
        "--as",
        OWNER,
    ]);
    let wf = serde_json::json!({ "name": "enrich", "workspace": "soc-a",
        "steps": [{ "id": "echo", "uses": ECHO, "with": {} }] });
    let path = env.dir.path().join("enrich.json");
    std::fs::write(&path, wf.to_string()).expect("workflow");
    env.ok(&[
        "workflows",
        "publish",
        path.to_str().expect("utf-8"),
        "--as",
        OWNER,
    ]);
    let pending = env.cli(&[
        "share", "workflow", "enrich", "--from", "soc-a", "--to", "customer", "--as", LEAD,
    ]);
    assert!(
        text(&pending).contains("awaits acceptance"),
        "{}",
        text(&pending)
    );
    let shares = env.json(&["share", "list", "--workspace", "soc-a", "--as", OWNER]);
    let id = shares
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == "enrich"))
        .and_then(|s| s["id"].as_str())
        .expect("the pending share")
        .to_owned();
    let refused = env.fails(&["share", "accept", &id, "--as", ANALYST]);
    assert!(
        refused.contains("denied") && refused.contains("playbook.publish"),
        "{refused}"
    );
    env.ok(&["share", "accept", &id, "--as", OWNER]);

    // An acceptor who may install but not bind another's identity is refused naming no one
    // of the source (round 15 leak review: the refusal named its `run_as`).
    env.ok(&[
        "roles",
        "create",
        "installer",
        "--scopes",
        "resource.share,playbook.publish,playbook.write,playbook.get,playbook.list",
        "--workspace",
        "customer",
        "--as",
        OWNER,
    ]);
    env.ok(&[
        "users",
        "set-role",
        ANALYST,
        "--role",
        "installer",
        "--workspace",
        "customer",
        "--as",
        OWNER,
    ]);
    let wf = serde_json::json!({ "name": "contain", "workspace": "soc-a", "run_as": LEAD,
        "steps": [{ "id": "echo", "uses": ECHO, "with": {} }] });
    let path = env.dir.path().join("contain.json");
    std::fs::write(&path, wf.to_string()).expect("workflow");
    env.ok(&[
        "workflows",
        "publish",
        path.to_str().expect("utf-8"),
        "--as",
        LEAD,
    ]);
    env.ok(&[
        "share", "workflow", "contain", "--from", "soc-a", "--to", "customer", "--as", LEAD,
    ]);
    let shares = env.json(&["share", "list", "--workspace", "soc-a", "--as", OWNER]);
    let id = shares
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == "contain"))
        .and_then(|s| s["id"].as_str())
        .expect("the pending share")
        .to_owned();
    let refused = env.fails(&["share", "accept", &id, "--as", ANALYST]);
    assert!(
        refused.contains("denied") && refused.contains("shared from") && !refused.contains(LEAD),
        "{refused}"
    );
}

/// A run that ended with an interaction still open (a sibling branch exited) takes no answer
/// to it: the interaction is not listed, and an answer is refused, naming why. Before, the
/// answer was stored, audited and reported accepted, and reached nothing (concurrency review).
#[test]
fn an_interaction_of_a_run_that_ended_takes_no_answer() {
    let env = Env::new();
    let wf = serde_json::json!({ "name": "ends-early", "workspace": "mssp-soc", "run_as": OWNER,
        "steps": [{ "parallel": [
            [{ "id": "approve", "interaction": {
                "title": "Approve?",
                "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
                "access": { "workspace_users": { "emails": [OWNER] } } } }],
            [{ "id": "slow", "wait": "200ms" }, { "exit": { "status": "closed-early" } }]
        ] }] });
    let path = env.dir.path().join("ends-early.json");
    std::fs::write(&path, wf.to_string()).expect("workflow");
    let run = env.json(&["run", path.to_str().expect("utf-8"), "--as", OWNER]);
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["exit_status"], "closed-early", "{run}");
    let id: String = common::db_at(&env.db)
        .conn()
        .query_row("SELECT public_id FROM interactions", [], |r| r.get(0))
        .expect("the branch opened its interaction");
    let listed = env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    assert_eq!(listed, serde_json::json!([]), "{listed}");
    let shown = env.json(&["interact", "show", &id, "--as", OWNER]);
    assert_eq!(shown["status"], "closed", "{shown}");
    let refused = env.fails(&[
        "interact",
        "respond",
        &id,
        "--values",
        r#"{"ok":true}"#,
        "--as",
        OWNER,
    ]);
    assert!(
        refused.contains("which has ended; it takes no response"),
        "{refused}"
    );
}

/// Open interactions are listed a page at a time, oldest first, each once, a reader's own
/// alone on each page: the whole workspace's were one page, sifted while the shared
/// connection was held (round 26 web review). A page's cursor is the last interaction it
/// shows; one the reader may not see is a bad page link, as a missing one is.
#[test]
fn open_interactions_are_listed_a_page_at_a_time() {
    let env = Env::new();
    let items: Vec<i64> = (0..150).collect();
    let ask = |who: &str| {
        serde_json::json!([{ "id": format!("ask-{}", &who[..3]), "interaction": {
            "title": "Item {{ $.loop.item }}?",
            "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
            "access": { "workspace_users": { "emails": [who] } } } }])
    };
    // Each iteration opens one for the lead and one for the operator: their rows interleave.
    let wf = serde_json::json!({ "name": "asks", "workspace": "mssp-soc", "run_as": OWNER,
        "vars": { "items": items },
        "steps": [{ "id": "each", "loop": { "over": "$.vars.items", "parallel": 8 },
            "do": [{ "parallel": [ask(LEAD), ask(OPERATOR)] }] }] });
    let path = env.dir.path().join("asks.json");
    std::fs::write(&path, wf.to_string()).expect("workflow");
    let run = env.json(&["run", path.to_str().expect("utf-8"), "--as", OWNER]);
    assert_eq!(run["status"], "on_hold", "{}", run["status"]);
    let page = |who: &str, after: Option<&str>| {
        let mut args = list_args(who, &["--limit", "60"]);
        if let Some(after) = after {
            args.extend(["--after", after]);
        }
        env.json(&args)
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut after: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let listed = page(LEAD, after.as_deref());
        let listed = listed.as_array().expect("a list").clone();
        sizes.push(listed.len());
        for ix in &listed {
            assert!(
                ix["title"].as_str().is_some_and(|t| t.starts_with("Item ")),
                "{ix}"
            );
            assert!(
                seen.insert(ix["id"].as_str().expect("id").to_owned()),
                "listed once"
            );
        }
        match listed.last() {
            Some(last) if listed.len() == 60 => after = last["id"].as_str().map(str::to_owned),
            _ => break,
        }
    }
    assert_eq!(sizes, [60, 60, 30], "the lead's 150, a page at a time");
    // In text, a full page says where the next begins (round 26 door review); so does a
    // full page of runs.
    let text = env.ok(&list_args(LEAD, &["--limit", "60"]));
    assert!(text.contains("next page: --after I-"), "{text}");
    let text = env.ok(&["runs", "list", "--limit", "1", "--as", OWNER]);
    assert!(text.contains("next page: --before R-"), "{text}");
    // The operator's are none of the lead's.
    let operators = env.json(&list_args(OPERATOR, &["--limit", "1000"]));
    let operators = operators.as_array().expect("a list");
    assert_eq!(operators.len(), 150);
    assert!(
        operators
            .iter()
            .all(|ix| !seen.contains(ix["id"].as_str().unwrap_or("")))
    );
    // A cursor the reader may not see is a bad page link, as a missing one is.
    let leads = seen.iter().next().expect("one").clone();
    let refused = env.fails(&list_args(OPERATOR, &["--after", &leads]));
    assert!(
        refused.contains("names no interaction of this listing"),
        "{refused}"
    );
    let refused = env.fails(&list_args(LEAD, &["--limit", "1001"]));
    assert!(
        refused.contains("a page lists 1 to 1000 interactions"),
        "{refused}"
    );
}

/// The arguments of `interact list` in mssp-soc as `who`, then `more`.
fn list_args<'a>(who: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["interact", "list", "--workspace", "mssp-soc", "--as", who];
    args.extend_from_slice(more);
    args
}

/// Text holding the NUL character, which PostgreSQL stores in no text column, is answered
/// alike on both engines: an interaction's title made of an event's NUL is stored with U+FFFD
/// in its place and the run waits for its answer, and a workflow named with one is refused,
/// naming the name (bad-input review: on PostgreSQL the first failed the run as the host's
/// error, the second answered an internal error).
#[test]
fn text_holding_nul_is_answered_alike_on_both_engines() {
    let env = Env::new();
    let file = env.dir.path().join("nul-title.json");
    let definition = serde_json::json!({ "name": "nul-title", "workspace": "mssp-soc", "steps": [
        { "id": "ask", "interaction": {
            "title": "{{ $.event.subject }}",
            "form": { "fields": [ { "name": "ok", "type": "boolean" } ] },
            "access": { "workspace_users": { "emails": [LEAD] } } } } ] });
    std::fs::write(&file, definition.to_string()).expect("write");
    let started = env.json(&[
        "run",
        file.to_str().expect("utf-8"),
        "--as",
        OWNER,
        "--event",
        r#"{"subject": "phish\u0000ing"}"#,
    ]);
    assert_eq!(started["status"], "on_hold", "{started}");
    let listed = env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", LEAD]);
    assert_eq!(listed[0]["title"], "phish\u{FFFD}ing", "{listed}");

    // A built-in step's error quoting a value with a NUL ends its run failed, the error kept
    // (review: the run stayed `running`, its end refused, and was taken up again and again).
    let file = env.dir.path().join("nul-case.json");
    let definition = serde_json::json!({ "name": "nul-case", "workspace": "mssp-soc", "steps": [
        { "id": "get", "uses": "cases/get-case-restrictions",
          "with": { "case_id": "{{ $.event.case_id }}" } } ] });
    std::fs::write(&file, definition.to_string()).expect("write");
    let out = env.cli(&[
        "run",
        file.to_str().expect("utf-8"),
        "--as",
        OWNER,
        "--event",
        r#"{"case_id": "C-1\u0000"}"#,
        "--json",
    ]);
    let ended: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(ended["status"], "failed", "{ended} {}", text(&out));
    let run = ended["run_id"].as_str().expect("run id");
    let shown = env.json(&["runs", "show", run, "--as", OWNER]);
    assert_eq!(
        shown["run"]["status"], "failed",
        "stored as it ended: {shown}"
    );

    let named = env.dir.path().join("nul-name.json");
    std::fs::write(
        &named,
        serde_json::json!({ "name": "nul\u{0}name", "workspace": "mssp-soc", "steps": [] })
            .to_string(),
    )
    .expect("write");
    let refused = env.fails(&["validate", named.to_str().expect("utf-8")]);
    assert!(
        refused.contains("the workflow's name") && refused.contains("NUL"),
        "{refused}"
    );
}

/// More interactions fall due at once than one transaction times out (256): one scheduler
/// pass times out every one of them, a transaction a chunk, and their runs go on past them
/// (kill and concurrency review: all in one transaction held the write lock for seconds).
#[test]
fn more_interactions_due_than_one_transaction_takes_all_time_out_in_one_pass() {
    let env = Env::new();
    let steps = steps_dir();
    // Five runs each asking 60 people at once (a loop's parallel cap is 64).
    let (runs, asks) = (5, 60);
    let definition = serde_json::json!({ "name": "many-asks", "workspace": "mssp-soc",
        "steps": [
            { "id": "each", "loop": { "over": "$.event.items", "parallel": asks },
              "do": [{ "id": "ask", "interaction": {
                  "title": "Contain {{ $.loop.item }}?",
                  "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
                  "access": { "workspace_users": { "emails": [LEAD] } },
                  "timeout": "1s",
                  "on_timeout": [{ "id": "noted", "uses": "step:echo" }] } }] },
            { "exit": { "status": "all-asked" } }
        ] });
    let file = env.dir.path().join("many-asks.json");
    std::fs::write(&file, definition.to_string()).expect("write");
    let items: Vec<usize> = (0..asks).collect();
    let event = serde_json::json!({ "items": items }).to_string();
    let ids: Vec<String> = (0..runs)
        .map(|_| {
            let started = env.json(&[
                "run",
                file.to_str().expect("utf-8"),
                "--as",
                LEAD,
                "--event",
                &event,
                "--steps",
                &steps,
            ]);
            assert_eq!(started["status"], "on_hold", "{started}");
            started["run_id"].as_str().expect("run id").to_owned()
        })
        .collect();
    let count = |status: &str| -> usize {
        let n: i64 = crate::common::db_at(&env.db)
            .conn()
            .query_row(
                "SELECT count(*) FROM interactions WHERE status = ?1",
                [status],
                |r| r.get(0),
            )
            .expect("count");
        usize::try_from(n).expect("a count")
    };
    assert_eq!(count("open"), runs * asks);
    assert!(runs * asks > 256, "more than one transaction's worth");
    std::thread::sleep(std::time::Duration::from_millis(1300));
    env.ok(&["serve", "--once", "--steps", &steps]);
    assert_eq!(
        count("open"),
        0,
        "every due interaction timed out in one pass"
    );
    assert_eq!(count("timed_out"), runs * asks);
    for run in &ids {
        let detail = env.run_status(run);
        assert_eq!(detail["run"]["status"], "succeeded", "{detail}");
        assert_eq!(detail["run"]["exit_status"], "all-asked");
    }
}

/// A shared flow whose `run_as` stands in the destination is installed there only if it runs
/// as its own publisher: the acceptor is not shown whom it names, and a source Owner could
/// bind a destination member, whose power there the flow then had for anyone who may start it
/// (round 16 authority review; SPEC WF-10, SH-2). A flow its publisher bound to themselves
/// is accepted.
#[test]
fn a_shared_flow_runs_as_a_destination_member_only_if_they_published_it() {
    let env = Env::new();
    let flow = |run_as: &str| {
        let definition = serde_json::json!({ "name": "ask-help", "workspace": "mssp-soc",
            "run_as": run_as,
            "trigger": { "on": "interaction", "interaction": { "title": "Ask for help",
                "form": { "fields": [{ "name": "why", "type": "text" }] } } },
            "steps": [{ "id": "w", "wait": "1ms" }] });
        let path = env.dir.path().join("ask-help.json");
        std::fs::write(&path, definition.to_string()).expect("write");
        env.ok(&[
            "workflows",
            "publish",
            path.to_str().expect("utf-8"),
            "--as",
            OWNER,
        ]);
    };
    // Tina is an operator of customer-globex; the Owner of mssp-soc names her, and an Owner
    // of mssp-soc alone offers it to customer-globex.
    flow(ANALYST);
    let (id, _) = env.offered_by_another_owner("ask-help");
    env.sso_login("globex-entra", GLOBEX_OWNER, "Flowhost-Admins");
    let refused = env.fails(&["share", "accept", &id, "--as", GLOBEX_OWNER, "--sso"]);
    assert!(
        refused.contains("runs as someone who acts in `customer-globex`"),
        "{refused}"
    );
    assert!(
        !refused.contains(ANALYST),
        "whom it names is not told: {refused}"
    );
    let listed = env.json(&["share", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    assert_eq!(listed[0]["status"], "pending", "{listed}");
    // Bound to its publisher, who acts there too, it is accepted.
    flow(OWNER);
    env.ok(&["share", "accept", &id, "--as", GLOBEX_OWNER, "--sso"]);
    let listed = env.json(&["share", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    assert_eq!(listed[0]["status"], "accepted", "{listed}");
}

/// A shared flow's `run_as` that someone else bound in the source acts with nothing of its
/// own in the destination, even once it joins there after the share was accepted (round 23
/// authority review; SPEC WF-10, SH-2): accepting it is refused while it stands there (above),
/// and one invited later gave the flow its destination Owner's power for anyone who may start
/// it. A flow its publisher bound to themselves acts with their power there.
#[test]
fn a_shared_flows_identity_joining_the_destination_later_gains_it_nothing() {
    let env = Env::new();
    let steps = steps_dir();
    let xavier = "xavier@acme-mssp.test";
    env.ok(&[
        "users",
        "invite",
        xavier,
        "--role",
        "operator",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    for (name, run_as) in [("ask-x", xavier), ("ask-self", OWNER)] {
        env.publish_flow(
            name,
            &serde_json::json!({
                "name": name, "workspace": "mssp-soc", "run_as": run_as,
                "trigger": { "on": "interaction", "interaction": {
                    "title": "Look up", "form": { "fields": [{ "name": "n", "type": "text" }] } } },
                "steps": [
                    { "id": "q", "uses": "cases/query-cases", "with": { "page_size": 10 } },
                    { "id": "say", "exit": { "output": { "found": "$.steps.q" } } }
                ]
            }),
        );
        // The Owner of both workspaces offers it: accepted at once (xavier is no member of
        // customer-globex yet).
        env.ok(&[
            "share",
            "flow",
            name,
            "--from",
            "mssp-soc",
            "--to",
            "customer-globex",
            "--as",
            OWNER,
        ]);
    }
    let start = |name: &str| -> Value {
        let out = env.cli(&[
            "interact",
            "start",
            name,
            "--workspace",
            "customer-globex",
            "--as",
            OWNER,
            "--values",
            r#"{"n":"1"}"#,
            "--steps",
            &steps,
            "--json",
        ]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("JSON: {}", text(&out)))
    };
    // Bound to its own publisher, it acts with their power in the destination.
    assert_eq!(start("ask-self")["status"], "succeeded");
    // xavier joins customer-globex as an Owner after the acceptance.
    env.ok(&[
        "users",
        "invite",
        xavier,
        "--role",
        "owner",
        "--workspace",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    let borrowed = start("ask-x");
    assert_eq!(borrowed["status"], "failed", "{borrowed}");
    let error = borrowed["error"].as_str().unwrap_or_default();
    assert!(error.contains("acts with nothing of its own"), "{error}");
    assert!(
        !error.contains(xavier),
        "whom it names is not told: {error}"
    );
}

/// Asking people is the act of whoever answers for what a run runs (SPEC WF-10, RB-1;
/// round 23 authority and interactions reviews): an operator's file that asks people is
/// refused before it runs, as publishing it is; a published revision run by hand asks only
/// while its publisher may still ask (a demoted publisher's approvals opened in the Owners'
/// queue when started by hand, where every triggered start refused them).
#[test]
fn a_manual_run_asks_people_only_for_whoever_may_ask() {
    let env = Env::new();
    let steps = steps_dir();
    let approve = serde_json::json!({ "name": "approve", "workspace": "mssp-soc",
        "steps": [{ "id": "ok", "interaction": { "title": "Approve the wire transfer",
            "form": { "fields": [{ "name": "yes", "type": "boolean" }] },
            "access": { "workspace_users": { "emails": [OWNER] } } } }] });
    let file = env.dir.path().join("approve.json");
    std::fs::write(&file, approve.to_string()).expect("write");
    let file = file.to_str().expect("utf-8");
    let listed = || env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    // An operator (no `interaction.write`) running the file: refused, nothing asked.
    let refused = env.fails(&["run", file, "--as", OPERATOR, "--steps", &steps]);
    assert!(refused.contains("interaction.write"), "{refused}");
    assert_eq!(listed().as_array().map(Vec::len), Some(0), "nothing asked");
    // The lead (a contributor) publishes it; an operator running it asks for them.
    env.ok(&[
        "workflows",
        "publish",
        file,
        "--as",
        LEAD,
        "--steps",
        &steps,
    ]);
    let run = |who: &str| {
        let out = env.cli(&[
            "run",
            "--published",
            "approve",
            "--workspace",
            "mssp-soc",
            "--as",
            who,
            "--steps",
            &steps,
            "--json",
        ]);
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap_or_else(|_| panic!("JSON: {}", text(&out)))
    };
    assert_eq!(run(OPERATOR)["status"], "on_hold");
    assert_eq!(listed().as_array().map(Vec::len), Some(1), "asked");
    // Demoted below `interaction.write`, the lead's revision asks nobody when run by hand.
    env.ok(&[
        "users",
        "set-role",
        LEAD,
        "--role",
        "operator",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let demoted = run(OPERATOR);
    assert_eq!(demoted["status"], "failed", "{demoted}");
    let error = demoted["error"].as_str().unwrap_or_default();
    assert!(error.contains("may no longer ask people"), "{error}");
    assert!(!error.contains(LEAD), "naming nobody: {error}");
    assert_eq!(
        listed().as_array().map(Vec::len),
        Some(1),
        "nothing more asked"
    );
}

/// A share is accepted at the revision its acceptor looked at (SPEC SH-3; round 23
/// interactions review): one the source published since is refused naming both, rather than
/// pinned unseen; the revision named, when it is the latest, is accepted.
#[test]
fn a_share_is_accepted_only_at_the_revision_its_acceptor_names() {
    let env = Env::new();
    let publish = |title: &str| {
        env.publish_flow(
            "ask-help",
            &serde_json::json!({ "name": "ask-help", "workspace": "mssp-soc", "run_as": OWNER,
                "trigger": { "on": "interaction", "interaction": { "title": title,
                    "form": { "fields": [{ "name": "why", "type": "text" }] } } },
                "steps": [{ "id": "w", "wait": "1ms" }] }),
        );
    };
    publish("Ask for help");
    let (id, shares) = env.offered_by_another_owner("ask-help");
    let offered = shares[0]["latest"].as_i64().expect("the revision offered");
    // The source publishes again before the destination's Owner accepts what they saw.
    publish("Ask for help, now with more steps");
    env.sso_login("globex-entra", GLOBEX_OWNER, "Flowhost-Admins");
    let seen = offered.to_string();
    let refused = env.fails(&[
        "share",
        "accept",
        &id,
        "--revision",
        &seen,
        "--as",
        GLOBEX_OWNER,
        "--sso",
    ]);
    assert!(
        refused.contains(&format!("not revision {offered}")),
        "{refused}"
    );
    let listed = env.json(&["share", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    assert_eq!(listed[0]["status"], "pending", "{listed}");
    let newer = (offered + 1).to_string();
    env.ok(&[
        "share",
        "accept",
        &id,
        "--revision",
        &newer,
        "--as",
        GLOBEX_OWNER,
        "--sso",
    ]);
    let listed = env.json(&["share", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    assert_eq!(listed[0]["status"], "accepted", "{listed}");
    assert_eq!(listed[0]["revision"], offered + 1, "{listed}");
}

/// An `exit` in one parallel branch of a nested workflow while another branch waits (for an
/// answer, or a long wait) holds the run until that branch is over, then exits the nested
/// workflow (round 23 engine review): the parent went on past it, creating its case, while the
/// branch's interaction or timer stayed live; its answer or expiry later resumed the run and
/// replayed the branch past the exit.
#[test]
fn a_nested_workflows_exit_waits_for_its_waiting_branch() {
    let env = Env::new();
    let steps = steps_dir();
    env.write_triage(json_ask("confirm", "Confirm?"), None);
    let parent = serde_json::json!({ "name": "parent", "workspace": "mssp-soc", "steps": [
        { "id": "triage", "workflow": "triage.json" },
        { "id": "done", "uses": "cases/create-case",
          "with": { "title": "after triage", "severity": "low" } } ] });
    let started = env.run_json(&parent);
    assert_eq!(started["status"], "on_hold", "{started}");
    let cases = || env.json(&["cases", "query", "--workspace", "mssp-soc", "--as", OWNER]);
    assert!(
        !cases().to_string().contains("after triage"),
        "nothing after the exit yet"
    );
    env.answer("Confirm?", &steps);
    let run = started["run_id"].as_str().expect("run id");
    assert_eq!(env.run_status(run)["run"]["status"], "succeeded");
    assert!(
        cases().to_string().contains("after triage"),
        "the parent went on once"
    );
}

/// The same with a long wait in the waiting branch: held at the nested workflow, the parent's
/// interaction after it is not opened before the wait is over (a first fix, reverted, opened
/// it, and the run, once it was answered, was resumed and replayed for ever).
#[test]
fn a_nested_workflows_exit_waits_for_a_long_wait_in_a_branch() {
    let env = Env::new();
    env.write_triage(serde_json::json!({ "id": "later", "wait": "2h" }), None);
    let parent = serde_json::json!({ "name": "parent", "workspace": "mssp-soc", "steps": [
        { "id": "triage", "workflow": "triage.json" },
        json_ask("after", "After triage?") ] });
    let started = env.run_json(&parent);
    assert_eq!(started["status"], "on_hold", "{started}");
    let open = env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    assert_eq!(open, serde_json::json!([]), "the parent asks nothing yet");
}

/// A run recorded under the engine rules before (`runs.rules` = 1, every run from before
/// migration 42) keeps them on every resume: its nested workflow's exit went on past a
/// waiting branch, and a replay under the new rule held there, where no step it journaled
/// could go on; answered further, it was resumed again without end (round 23 self-review D).
/// Here it goes on as it started, and ends.
#[test]
fn a_run_recorded_under_the_rules_before_replays_under_them() {
    let env = Env::new();
    let steps = steps_dir();
    let (run, _) = env.past_a_nested_exit(1);
    // Its parent went on past the nested workflow while the branch still asks.
    env.answer("After triage?", &steps);
    assert_eq!(
        env.run_status(&run)["run"]["status"],
        "succeeded",
        "went on as it started"
    );
    assert!(
        env.cases().contains("after triage"),
        "the parent's case was made"
    );
}

/// A run whose replay no longer reaches what arrived for it (here, one an older host took
/// past a nested exit, resumed by a newer one: a rolling upgrade) is held for what it still
/// waits for, not resumed again without end with the answering request hanging; the answer
/// it waits for takes it on, and the one that arrived early is then taken up (round 23
/// self-review D, its general bound).
#[test]
fn a_run_whose_replay_no_longer_reaches_an_arrival_is_held_not_resumed_for_ever() {
    let env = Env::new();
    let steps = steps_dir();
    let (run, db) = env.past_a_nested_exit(2);
    let before = std::time::Instant::now();
    let mut answering = std::process::Command::new(common::flowhost_bin())
        .current_dir(env.dir.path())
        .arg("--db")
        .arg(common::db_arg(&db))
        .args(env.answer_args("After triage?", &steps))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("flowhost runs");
    let finished = loop {
        if let Some(status) = answering.try_wait().expect("status") {
            break Some(status);
        }
        if before.elapsed() > std::time::Duration::from_secs(60) {
            let _ = answering.kill();
            let _ = answering.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        finished.is_some(),
        "the answer's resume went on without end"
    );
    assert_eq!(env.run_status(&run)["run"]["status"], "on_hold");
    assert!(!env.cases().contains("after triage"), "nothing went on");
    // The branch's second question is still open: its answer takes the run to its end.
    env.answer("Confirm again?", &steps);
    assert_eq!(env.run_status(&run)["run"]["status"], "succeeded");
    assert!(env.cases().contains("after triage"), "the parent went on");
}

/// A run recorded before objects were weighted (rules 2) counts values as it did when it
/// went on, at every replay: its event of 200,000 `{"":0}` (400,001 values then, 4,200,001
/// weighted, past a rendering's 4,000,000) is read by the condition after its question as it
/// was before, where the weighting failed the run at its resume (round 25 review of round
/// 24). A run recorded now is refused there, naming the cap.
#[test]
fn a_run_recorded_before_objects_were_weighted_counts_as_it_did() {
    let env = Env::new();
    let steps = steps_dir();
    let items: Vec<Value> = (0..200_000).map(|_| serde_json::json!({ "": 0 })).collect();
    // Stored as a run of then stored it: an event of so many values is refused at the CLI
    // now (`json_limits::MAX_DOCUMENT_VALUES`, round 26), so it is written in after the start.
    let wide = serde_json::json!({ "items": items }).to_string();
    let flow = serde_json::json!({ "name": "wide", "workspace": "mssp-soc", "steps": [
        json_ask("ask", "Go on?"),
        { "id": "check", "if": [{ "left": "$.event.items", "op": "exists" }],
          "then": [{ "id": "done", "uses": "cases/create-case",
                     "with": { "title": "went on", "severity": "low" } }] } ] });
    let file = env.dir.path().join("flow.json");
    std::fs::write(&file, flow.to_string()).expect("flow");
    let start = || {
        let started = env.json(&[
            "run",
            file.to_str().expect("utf-8"),
            "--as",
            OWNER,
            "--event",
            r#"{"items": []}"#,
            "--steps",
            &steps,
        ]);
        assert_eq!(started["status"], "on_hold", "{started}");
        let run = started["run_id"].as_str().expect("run id").to_owned();
        common::db_at(&env.db)
            .conn()
            .execute(
                "UPDATE runs SET event = ?1 WHERE public_id = ?2",
                [wide.as_str(), run.as_str()],
            )
            .expect("its event");
        run
    };
    let before = start();
    common::db_at(&env.db)
        .conn()
        .execute("UPDATE runs SET rules = 2", [])
        .expect("recorded before");
    env.answer("Go on?", &steps);
    assert_eq!(env.run_status(&before)["run"]["status"], "succeeded");
    assert!(env.cases().contains("went on"), "{}", env.cases());
    let now = start();
    let out = env.cli(
        &env.answer_args("Go on?", &steps)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let shown = env.run_status(&now);
    assert_eq!(shown["run"]["status"], "failed", "{} {shown}", text(&out));
    assert!(shown.to_string().contains("4000000 JSON values"), "{shown}");
}

/// An interaction step `id` asking the Owner `title`.
fn json_ask(id: &str, title: &str) -> Value {
    serde_json::json!({ "id": id, "interaction": { "title": title,
        "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
        "access": { "workspace_users": { "emails": [OWNER] } } } })
}

impl Env {
    /// `flow` offered to `customer-globex` by another Owner of `mssp-soc` (invited here), who
    /// may not accept it there: the share's id and `share list` of `mssp-soc`.
    fn offered_by_another_owner(&self, flow: &str) -> (String, Value) {
        self.ok(&[
            "users",
            "invite",
            "oscar@acme-mssp.test",
            "--role",
            "owner",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
        ]);
        self.ok(&[
            "share",
            "flow",
            flow,
            "--from",
            "mssp-soc",
            "--to",
            "customer-globex",
            "--as",
            "oscar@acme-mssp.test",
        ]);
        let shares = self.json(&["share", "list", "--workspace", "mssp-soc", "--as", OWNER]);
        let id = shares[0]["id"].as_str().expect("share id").to_owned();
        (id, shares)
    }

    /// Writes `triage.json`: a parallel step whose first branch exits and whose second runs
    /// `waits`, then `more` if given.
    fn write_triage(&self, waits: Value, more: Option<Value>) {
        let mut branch = vec![waits];
        branch.extend(more);
        let triage = serde_json::json!({ "name": "triage", "workspace": "mssp-soc", "steps": [
            { "id": "both", "parallel": [
                [ { "id": "auto", "exit": { "status": "auto", "output": { "x": 1 } } } ],
                branch
            ] } ] });
        std::fs::write(self.dir.path().join("triage.json"), triage.to_string()).expect("write");
    }

    /// Runs `definition` from a file as the Owner; its `--json` outcome.
    fn run_json(&self, definition: &Value) -> Value {
        let file = self.dir.path().join("parent.json");
        std::fs::write(&file, definition.to_string()).expect("write");
        let out = self.cli(&[
            "run",
            file.to_str().expect("utf-8"),
            "--as",
            OWNER,
            "--steps",
            &steps_dir(),
            "--json",
        ]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("JSON: {}", text(&out)))
    }

    /// The arguments answering the open interaction titled `title` as the Owner.
    fn answer_args(&self, title: &str, steps: &str) -> Vec<String> {
        let open = self.json(&["interact", "list", "--workspace", "mssp-soc", "--as", OWNER]);
        let id = open
            .as_array()
            .and_then(|all| all.iter().find(|ix| ix["title"] == title))
            .and_then(|ix| ix["id"].as_str())
            .unwrap_or_else(|| panic!("`{title}` is open: {open}"))
            .to_owned();
        ["interact", "respond", &id, "--as", OWNER]
            .into_iter()
            .chain(["--values", r#"{"ok":true}"#, "--steps", steps])
            .map(str::to_owned)
            .collect()
    }

    /// Answers the open interaction titled `title` as the Owner.
    fn answer(&self, title: &str, steps: &str) {
        let args = self.answer_args(title, steps);
        self.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }

    /// The workspace's cases as text.
    fn cases(&self) -> String {
        self.json(&["cases", "query", "--workspace", "mssp-soc", "--as", OWNER])
            .to_string()
    }

    /// A run taken past a nested workflow's exit as a run recorded under the rules before
    /// takes it: the branch asks "Confirm?" then "Confirm again?", the parent then "After
    /// triage?" and creates a case. Recorded under `rules` once there (2: as a newer host
    /// finds it); returns its id and its database's path.
    fn past_a_nested_exit(&self, rules: i64) -> (String, PathBuf) {
        let steps = steps_dir();
        self.write_triage(
            json_ask("confirm", "Confirm?"),
            Some(json_ask("again", "Confirm again?")),
        );
        let parent = serde_json::json!({ "name": "parent", "workspace": "mssp-soc", "steps": [
            { "id": "triage", "workflow": "triage.json" },
            json_ask("after", "After triage?"),
            { "id": "done", "uses": "cases/create-case",
              "with": { "title": "after triage", "severity": "low" } } ] });
        let started = self.run_json(&parent);
        assert_eq!(started["status"], "on_hold", "{started}");
        let run = started["run_id"].as_str().expect("run id").to_owned();
        let db = common::db_at(&self.db);
        let set = |n: i64| {
            db.conn()
                .execute("UPDATE runs SET rules = ?1", [n])
                .expect("rules")
        };
        // Recorded before: once its first question is answered, the exit wins over the
        // branch asking again, and the parent asks its own.
        set(1);
        self.answer("Confirm?", &steps);
        let open = self.json(&["interact", "list", "--workspace", "mssp-soc", "--as", OWNER]);
        let titles: Vec<&str> = open
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|ix| ix["title"].as_str())
            .collect();
        assert!(
            titles.contains(&"Confirm again?") && titles.contains(&"After triage?"),
            "{open}"
        );
        set(rules);
        (run, self.db.clone())
    }
}

/// A shared flow's step asking the host about access is refused without naming the identity
/// its source bound (nor its publisher): the run's error and output are read in the destination,
/// where `runs list` names that identity to nobody (round 24 leaks review: `has-scope`'s and
/// `check-flow-access`'s refusals spelt out `run R-… as automation@… published by …`).
#[test]
fn a_shared_runs_refusals_do_not_name_its_identity() {
    let env = Env::new();
    env.sso_login("globex-entra", "rita@globex.test", "Flowhost-Requesters");
    let flow = serde_json::json!({
        "name": "probe-onboarding", "workspace": "mssp-soc",
        "run_as": "automation@acme-mssp.test",
        "trigger": { "on": "interaction", "interaction": { "title": "Probe",
            "form": { "fields": [{ "name": "site", "type": "text" }] },
            "access": { "workspace_users": { "roles": ["interact-only"] },
                        "external_sso": "none" } } },
        "steps": [
            { "id": "probe", "uses": common::HOSTILE, "grants": ["access:check"],
              "with": { "attack": "host_calls" } },
            { "exit": { "status": "probed", "output": "$.steps.probe" } } ] });
    env.publish_flow("probe-onboarding", &flow);
    env.ok(&[
        "share",
        "flow",
        "probe-onboarding",
        "--from",
        "mssp-soc",
        "--to",
        "customer-globex",
        "--as",
        OWNER,
    ]);
    let done = env.json(&[
        "interact",
        "start",
        "probe-onboarding",
        "--workspace",
        "customer-globex",
        "--as",
        "rita@globex.test",
        "--sso",
        "--values",
        r#"{"site":"Berlin"}"#,
    ]);
    assert_eq!(done["exit_status"], "probed", "{done}");
    let scope = &done["output"]["has_scope"];
    assert_eq!(scope["allowed"], false, "{done}");
    assert!(
        scope["reason"]
            .as_str()
            .is_some_and(|r| r.contains("acts with nothing of its own")),
        "{done}"
    );
    let run = done["run_id"].as_str().expect("run id");
    let shown = env.json(&["runs", "show", run, "--as", OLIVIA_BREAK_GLASS]);
    let text = shown.to_string();
    assert!(
        !text.contains("automation@"),
        "the destination is not told the source's identity: {shown}"
    );
}

/// One open interaction whose stored row does not read is left out of the list, logged, and
/// the others are listed (round 24 web review: it failed the list, the web's home page, for
/// every member of the workspace); showing it names what is wrong, never a default.
#[test]
fn an_unreadable_interaction_leaves_the_others_listed() {
    let env = Env::new();
    for title in ["First?", "Second?"] {
        let flow = serde_json::json!({ "name": "asks", "workspace": "mssp-soc",
            "steps": [json_ask("ask", title)] });
        assert_eq!(env.run_json(&flow)["status"], "on_hold");
    }
    let listed = env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    let first = listed
        .as_array()
        .and_then(|all| all.iter().find(|ix| ix["title"] == "First?"))
        .and_then(|ix| ix["id"].as_str())
        .expect("listed")
        .to_owned();
    common::db_at(&env.db)
        .conn()
        .execute(
            "UPDATE interactions SET access = '{\"workspace_users\":{\"mode\":\"later\"}}' \
             WHERE public_id = ?1",
            [&first],
        )
        .expect("corrupt");
    let listed = env.json(&["interact", "list", "--workspace", "mssp-soc", "--as", OWNER]);
    let titles: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|ix| ix["title"].as_str())
        .collect();
    assert_eq!(titles, ["Second?"], "{listed}");
    let shown = env.fails(&["interact", "show", &first, "--as", OWNER]);
    assert!(shown.contains("interactions.access"), "{shown}");
}

/// An interaction's `roles` name roles of the workspace: a typo (`operater`) is refused at
/// publish, naming the step and the role, where it published and then admitted only Owners
/// (round 30 hostile-input review; SPEC WF-1, IX-1). A built-in in another case and a custom
/// role of the workspace publish; nothing of the refused one is stored.
#[test]
fn an_interaction_selecting_a_role_the_workspace_has_not_is_refused_at_publish() {
    let env = Env::new();
    let flow = |name: &str, roles: Value| {
        let path = env.dir.path().join(format!("{name}.json"));
        let definition = serde_json::json!({ "name": name, "workspace": "mssp-soc",
            "steps": [ { "id": "ask", "interaction": { "title": "Go on?",
                "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
                "access": { "workspace_users": { "roles": roles } } } } ] });
        std::fs::write(&path, definition.to_string()).expect("flow");
        env.cli(&[
            "workflows",
            "publish",
            path.to_str().expect("utf-8"),
            "--as",
            OWNER,
            "--steps",
            &steps_dir(),
        ])
    };
    let out = flow("typo", serde_json::json!(["operator", "operater"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("step `ask`") && text(&out).contains("`operater`"),
        "{}",
        text(&out)
    );
    let listed = env.ok(&[
        "workflows",
        "list",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    assert!(!listed.contains("typo"), "{listed}");
    let out = flow("known", serde_json::json!(["Operator", "Triage-Analyst"]));
    assert!(out.status.success(), "{}", text(&out));
}
