//! The flows page over HTTP (issue 16, SPEC IX-1, IX-4, IX-7, SV-2), against the real
//! `flowhost serve --http` on a real database: a person IX allows sees an Interaction Flow,
//! fills its form and the run starts; a person it does not allow never sees it and a crafted
//! POST is refused; a form with a bad value comes back naming the field, and nothing starts.

use crate::web::{ANALYST, OPERATOR, OWNER, Site, steps_dir};

/// A flow only the analyst (and the Owner, SPEC IX-2) may start.
const FLOW: &str = r#"{
  "name": "report-phish",
  "workspace": "mssp-soc",
  "run_as": "automation@acme-mssp.test",
  "trigger": {
    "on": "interaction",
    "interaction": {
      "title": "Report a phishing email",
      "form": { "fields": [
        { "name": "sender", "type": "email" },
        { "name": "count", "type": "number" },
        { "name": "urgent", "type": "boolean", "required": false }
      ] },
      "access": { "workspace_users": { "emails": ["tina.analyst@acme-mssp.test"] }, "external_sso": "none" }
    }
  },
  "steps": [
    { "id": "summary", "uses": "step:echo", "with": { "sender": "$.event.values.sender", "by": "$.event.responder" } },
    { "exit": { "status": "reported", "output": "$.steps.summary" } }
  ]
}"#;

impl Site {
    /// Publishes [`FLOW`] as the Owner.
    fn publish_flow(&self) {
        self.publish_as_owner("report-phish", FLOW);
    }

    /// Publishes the definition `text` as the Owner, written to `<name>.json`.
    fn publish_as_owner(&self, name: &str, text: &str) {
        let file = self.deployment.dir.path().join(format!("{name}.json"));
        std::fs::write(&file, text).expect("written");
        self.deployment.ok(&[
            "workflows",
            "publish",
            file.to_str().expect("utf-8"),
            "--as",
            OWNER,
            "--steps",
            &steps_dir(),
        ]);
    }

    /// How many runs the database holds.
    fn runs(&self) -> i64 {
        crate::common::db_at(&self.deployment.db)
            .conn()
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .expect("count")
    }
}

/// A form's bytes that are not UTF-8 (a Latin-1 client's `caf%E9`) are refused naming the
/// field, as the API refuses such a body: read as U+FFFD, they started a run holding text no
/// one typed, in its event and the audit log (round 22 web review).
#[test]
fn a_form_holding_other_than_utf8_text_is_refused_naming_its_field() {
    let site = Site::new();
    site.publish_as_owner(
        "note",
        r#"{ "name": "note", "workspace": "mssp-soc", "run_as": "automation@acme-mssp.test",
             "trigger": { "on": "interaction", "interaction": { "title": "Note",
               "form": { "fields": [ { "name": "note", "type": "text" } ] },
               "access": { "workspace_users": { "emails": ["tina.analyst@acme-mssp.test"] } } } },
             "steps": [ { "exit": { "status": "noted", "output": "$.event.values" } } ] }"#,
    );
    let mut analyst = site.signed_in(ANALYST);
    let url = site.server.url("/flows/note");
    let csrf = analyst.get(&url).csrf();
    let refused = analyst.post_raw(&url, &format!("csrf={csrf}&note=caf%E9"));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("form field `note` is not UTF-8 text"),
        "{}",
        refused.body
    );
    assert_eq!(site.runs(), 0, "nothing started");
    // The allowed path: the same word in UTF-8.
    let started = analyst.post_raw(&url, &format!("csrf={csrf}&note=caf%C3%A9"));
    assert_eq!(started.status, 303, "{}", started.body);
    assert_eq!(site.runs(), 1);
}

#[test]
fn a_person_ix_allows_starts_a_flow_from_its_form_and_the_run_is_listed() {
    let site = Site::new();
    site.publish_flow();
    let mut analyst = site.signed_in(ANALYST);
    let flows = analyst.get(&site.server.url("/flows"));
    assert_eq!(flows.status, 200, "{}", flows.body);
    assert!(
        flows.body.contains("href=\"/flows/report-phish\""),
        "{}",
        flows.body
    );
    let url = site.server.url("/flows/report-phish");
    let form = analyst.get(&url);
    assert_eq!(form.status, 200, "{}", form.body);
    for input in [
        "<input id=\"f-sender\" name=\"sender\" type=\"email\"",
        "<input id=\"f-count\" name=\"count\" type=\"number\"",
        "<select id=\"f-urgent\" name=\"urgent\">",
    ] {
        assert!(form.body.contains(input), "{input}: {}", form.body);
    }
    let csrf = form.csrf();

    // Bad values come back beside the form, naming the field, with what was typed; nothing
    // starts.
    for (sender, count, named) in [
        ("ops@globex.test", "ten", "field `count` expects a number"),
        ("not an email", "2", "field `sender`"),
        ("", "2", "field `sender`"),
    ] {
        let refused = analyst.post(
            &url,
            &[("csrf", &csrf), ("sender", sender), ("count", count)],
        );
        assert_eq!(refused.status, 400, "{sender} {count}: {}", refused.body);
        assert!(refused.body.contains(named), "{named}: {}", refused.body);
        assert!(
            refused.body.contains("<button>Start</button>"),
            "the form again"
        );
        assert!(
            refused.body.contains(&format!("value=\"{count}\"")),
            "{}",
            refused.body
        );
    }
    // Each refused start is audited, the one that never read as a number too, as through
    // the CLI (SPEC IX-8).
    let refused_starts = site
        .audit_actions()
        .iter()
        .filter(|(a, who)| a == "interaction.start.invalid" && who == ANALYST)
        .count();
    assert_eq!(refused_starts, 3);
    // Without the session's CSRF token: refused, nothing starts (SPEC SV-2).
    let forged = analyst.post(&url, &[("sender", "ops@globex.test"), ("count", "2")]);
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(site.runs(), 0, "nothing started");
    // Posted by another site (no `Sec-Fetch-Site: same-origin`), none of its text is shown
    // as the person's (round 19 self-review).
    assert!(!forged.body.contains("ops@globex.test"), "{}", forged.body);
    // From this site, what was typed is shown to be kept, in no form that sends it again
    // (round 19 web review); so it is to one whose session ended.
    // A field of any name: one named `shown_…` was dropped with the case page's hidden
    // fields (round 20 hostile-input review).
    let kept = analyst.post_same_origin(
        &url,
        &[
            ("sender", "ops@globex.test"),
            ("count", "2"),
            ("shown_reason", "keep me too"),
        ],
    );
    assert_eq!(kept.status, 403, "{}", kept.body);
    assert!(
        kept.body.contains("What you typed")
            && kept.body.contains("ops@globex.test")
            && kept.body.contains("keep me too"),
        "{}",
        kept.body
    );
    let signed_out = crate::common::web::Client::new().post_same_origin(
        &url,
        &[
            ("csrf", &csrf),
            ("sender", "kept@globex.test"),
            ("count", "2"),
        ],
    );
    assert_eq!(signed_out.status, 401, "{}", signed_out.body);
    assert!(
        signed_out.body.contains("kept@globex.test") && !signed_out.body.contains(&csrf),
        "{}",
        signed_out.body
    );
    // A flow gone while its page was open (unpublished, offered no longer): what was typed
    // is kept as well (round 21 web review).
    let gone = analyst.post_same_origin(
        &url.replace("report-phish", "no-such-flow"),
        &[
            ("csrf", &csrf),
            ("sender", "gone@globex.test"),
            ("count", "2"),
        ],
    );
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert!(
        gone.body.contains("What you typed") && gone.body.contains("gone@globex.test"),
        "{}",
        gone.body
    );
    assert_eq!(site.runs(), 0, "nothing started");

    let started = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("sender", "Ops@Globex.test"),
            ("count", "2"),
            ("urgent", "true"),
        ],
    );
    // Answered with a redirect to a page that starts nothing (Post/Redirect/Get): reloading
    // the answer started another run (round 15 web review).
    assert_eq!(started.status, 303, "{}", started.body);
    let to = started.header("location").expect("where to").to_owned();
    assert!(to.starts_with("/flows/report-phish?started=R-"), "{to}");
    let notice = analyst.get(&site.server.url(&to));
    assert_eq!(notice.status, 200, "{}", notice.body);
    let at = notice
        .body
        .find("href=\"/runs/")
        .expect("a link to the run")
        + 12;
    let run = &notice.body[at..];
    let run = &run[..run.find('"').expect("the link ends")];
    assert!(run.starts_with("R-"), "{run}");
    assert!(notice.body.contains("Started run"), "{}", notice.body);
    let again = analyst.get(&site.server.url(&to));
    assert_eq!(again.status, 200);
    assert_eq!(site.runs(), 1, "a reload starts nothing");
    // Only a run id and a status are shown from the address, and only as this session
    // sealed them for this flow: a crafted link, a changed status, or the link opened in
    // another person's session shows nothing (round 16 web review).
    let forged = analyst.get(
        &site
            .server
            .url("/flows/report-phish?started=%3Cscript%3E&status=succeeded"),
    );
    assert!(!forged.body.contains("Started run"), "{}", forged.body);
    assert!(to.contains("&status=succeeded&seal="), "{to}");
    let unsealed = to[..to.find("&seal=").expect("a seal")].to_owned();
    for crafted in [
        unsealed.clone(),
        format!("{unsealed}&seal=00"),
        to.replace("&status=succeeded", "&status=failed"),
    ] {
        let shown = analyst.get(&site.server.url(&crafted));
        assert!(
            !shown.body.contains("Started run"),
            "{crafted}: {}",
            shown.body
        );
    }
    let someone_else = site.signed_in(ANALYST).get(&site.server.url(&to));
    assert!(
        !someone_else.body.contains("Started run"),
        "a link sealed by another session: {}",
        someone_else.body
    );
    assert_eq!(site.run_status(run), "succeeded");
    // Visible on the runs page, and its page shows what the step returned.
    let runs = analyst.get(&site.server.url("/runs"));
    assert!(runs.body.contains(run), "{}", runs.body);
    let shown = site
        .signed_in(OWNER)
        .get(&site.server.url(&format!("/runs/{run}")));
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("ops@globex.test"), "{}", shown.body);
    assert!(
        site.audit_actions()
            .contains(&("interaction.start".into(), ANALYST.into())),
        "audited"
    );
}

#[test]
fn a_person_ix_does_not_allow_never_sees_the_flow_and_a_crafted_post_starts_nothing() {
    let site = Site::new();
    site.publish_flow();
    let mut operator = site.signed_in(OPERATOR);
    let flows = operator.get(&site.server.url("/flows"));
    assert_eq!(flows.status, 200, "{}", flows.body);
    assert!(!flows.body.contains("report-phish"), "{}", flows.body);
    let url = site.server.url("/flows/report-phish");
    let page = operator.get(&url);
    assert_eq!(page.status, 404, "{}", page.body);
    // As for a flow that does not exist (SPEC ID-4).
    let missing = operator.get(&site.server.url("/flows/no-such-flow"));
    assert_eq!(missing.status, 404);
    assert_eq!(
        page.body.replace("report-phish", "no-such-flow"),
        missing.body
    );
    // A crafted POST with the operator's own session and token.
    let csrf = flows.csrf();
    let crafted = operator.post(
        &url,
        &[
            ("csrf", &csrf),
            ("sender", "ops@globex.test"),
            ("count", "2"),
        ],
    );
    assert_eq!(crafted.status, 404, "{}", crafted.body);
    assert_eq!(site.runs(), 0, "nothing started");
    // The refused start is audited as through the API and the CLI (SPEC IX-8); it was not
    // (authority review). A missing flow leaves nothing.
    let denied = |audit: &[(String, String)]| {
        audit
            .iter()
            .filter(|(action, who)| action == "interaction.start.denied" && who == OPERATOR)
            .count()
    };
    assert_eq!(denied(&site.audit_actions()), 1);
    let missing_post = operator.post(
        &site.server.url("/flows/no-such-flow"),
        &[("csrf", &csrf), ("sender", "ops@globex.test")],
    );
    assert_eq!(missing_post.status, 404);
    assert_eq!(denied(&site.audit_actions()), 1);
}

/// A flow that would start nothing (here: the identity it runs as was removed) is offered to
/// no one, and a POST of its form is refused and audited as the CLI and the API audit it
/// (SPEC IX-8, WF-10; round 14 authority and web reviews: the web wrote nothing).
#[test]
fn a_flow_that_would_start_nothing_is_refused_and_audited_on_the_web_too() {
    let site = Site::new();
    site.publish_flow();
    let mut analyst = site.signed_in(ANALYST);
    let flows = analyst.get(&site.server.url("/flows"));
    assert!(flows.body.contains("report-phish"), "{}", flows.body);
    let csrf = flows.csrf();
    site.deployment.ok(&[
        "users",
        "delete",
        "automation@acme-mssp.test",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let flows = analyst.get(&site.server.url("/flows"));
    assert!(!flows.body.contains("report-phish"), "{}", flows.body);
    let posted = analyst.post(
        &site.server.url("/flows/report-phish"),
        &[
            ("csrf", &csrf),
            ("sender", "ops@globex.test"),
            ("count", "2"),
        ],
    );
    assert_eq!(posted.status, 404, "{}", posted.body);
    assert_eq!(site.runs(), 0, "nothing started");
    let refused = site
        .audit_actions()
        .iter()
        .filter(|(action, who)| action == "interaction.start.refused" && who == ANALYST)
        .count();
    assert_eq!(refused, 1);
}

/// A start refused for now (every run slot of its starter in use) comes back 503 with
/// `Retry-After` and the form as it was filled in, starting nothing: the page answered
/// without the form, and everything typed was lost (round 16 web review).
#[test]
fn a_start_refused_for_now_keeps_what_was_typed() {
    let site = Site::new();
    let slow = FLOW.replace("report-phish", "slow-report").replace(
        r#"{ "exit": { "status": "reported""#,
        r#"{ "id": "w", "wait": "3s" }, { "exit": { "status": "reported""#,
    );
    site.publish_as_owner("slow-report", &slow);
    let url = site.server.url("/flows/slow-report");
    let start = |sender: &str| {
        let mut analyst = site.signed_in(ANALYST);
        let csrf = analyst.get(&url).csrf();
        analyst.post(&url, &[("csrf", &csrf), ("sender", sender), ("count", "2")])
    };
    let refused = std::thread::scope(|s| {
        let holding: Vec<_> = (0..4)
            .map(|_| s.spawn(|| start("hold@globex.test").status))
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(1_000));
        let refused = start("kept@globex.test");
        for h in holding {
            assert_eq!(h.join().expect("a start"), 303);
        }
        refused
    });
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        refused.body.contains("value=\"kept@globex.test\""),
        "the form as typed: {}",
        refused.body
    );
    assert_eq!(site.runs(), 4, "the refused start started nothing");
}

/// A start whose flow cannot be read for now (its table locked by another session past the
/// request's deadline) answers 503 with what was typed, to send again: the page answered
/// without it (round 18 web review). On SQLite a read goes on beside any writer (WAL), so
/// only PostgreSQL meets this refusal.
#[test]
fn a_start_whose_flow_cannot_be_read_for_now_keeps_what_was_typed() {
    let deployment = crate::common::Deployment::new();
    let db = crate::common::db_at(&deployment.db);
    if db.conn().engine() == flowhost::store::sql::Engine::Sqlite {
        return;
    }
    let server = crate::common::web::WebServer::start_with_env(
        deployment.dir.path(),
        &deployment.db,
        &steps_dir(),
        50,
        &[],
        &[("FLOWHOST_REQUEST_DEADLINE_MS", "1500")],
    );
    let site = Site { deployment, server };
    site.publish_flow();
    let url = site.server.url("/flows/report-phish");
    let mut analyst = site.signed_in(ANALYST);
    let csrf = analyst.get(&url).csrf();
    db.conn()
        .execute_batch("BEGIN; LOCK TABLE workflow_revisions IN ACCESS EXCLUSIVE MODE")
        .expect("the lock");
    let refused = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("sender", "kept@globex.test"),
            ("count", "2"),
        ],
    );
    db.conn().execute_batch("ROLLBACK").expect("let go");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        refused.body.contains("kept@globex.test")
            && refused.body.contains("action=\"/flows/report-phish\""),
        "what was typed, to send again: {}",
        refused.body
    );
    assert_eq!(site.runs(), 0, "nothing started");
}

/// The address a page's flow form posts to, as its `action` says (`&amp;` read as `&`).
fn form_action(body: &str) -> String {
    let at = body
        .find("<form class=\"answer card\" method=\"post\" action=\"")
        .expect("the flow's form")
        + "<form class=\"answer card\" method=\"post\" action=\"".len();
    let rest = &body[at..];
    rest[..rest.find('"').expect("the action ends")].replace("&amp;", "&")
}

/// The same form sent twice (a double click, a resend after an answer lost) starts one run
/// and answers both with it: the form carries a start token, a new one each time it is
/// shown (round 19 kill and concurrency review; Post/Redirect/Get covered reloads only).
/// The token sent with other answers starts nothing.
#[test]
fn a_flow_form_sent_twice_starts_one_run() {
    let site = Site::new();
    site.publish_flow();
    let mut analyst = site.signed_in(ANALYST);
    let url = site.server.url("/flows/report-phish");
    let form = analyst.get(&url);
    let csrf = form.csrf();
    let action = form_action(&form.body);
    assert!(action.starts_with("/flows/report-phish?start="), "{action}");
    let answers = [
        ("csrf", csrf.as_str()),
        ("sender", "ops@globex.test"),
        ("count", "2"),
    ];
    let first = analyst.post(&site.server.url(&action), &answers);
    assert_eq!(first.status, 303, "{}", first.body);
    let second = analyst.post(&site.server.url(&action), &answers);
    assert_eq!(second.status, 303, "{}", second.body);
    let run_of = |location: &str| {
        let at = location.find("started=").expect("the run") + "started=".len();
        location[at..]
            .split('&')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let (one, two) = (
        first.header("location").expect("where to"),
        second.header("location").expect("where to"),
    );
    assert_eq!(run_of(one), run_of(two), "{one} {two}");
    assert_eq!(site.runs(), 1, "the form sent twice started one run");
    // The repeat is audited, as a repeated answer is (round 20 authority review).
    let actions = site.audit_actions();
    let count = |action: &str| actions.iter().filter(|(a, _)| a == action).count();
    assert_eq!(
        (
            count("interaction.start"),
            count("interaction.start.repeated")
        ),
        (1, 1),
        "{actions:?}"
    );
    // Other answers under the same token are another start: refused, nothing starts.
    let other = analyst.post(
        &site.server.url(&action),
        &[
            ("csrf", csrf.as_str()),
            ("sender", "someone@globex.test"),
            ("count", "3"),
        ],
    );
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(site.runs(), 1);
    // The form shown again has a token of its own: another start.
    let fresh = analyst.get(&url);
    let next = form_action(&fresh.body);
    assert_ne!(next, action, "each form shown has its own token");
    let third = analyst.post(&site.server.url(&next), &answers);
    assert_eq!(third.status, 303, "{}", third.body);
    assert_eq!(site.runs(), 2);
}
