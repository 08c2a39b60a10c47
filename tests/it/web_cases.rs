//! The cases page over HTTP (issue 16, SPEC CS-2, CS-4, CS-7, SV-2, ID-4), against the real
//! `flowhost serve --http` on a real database: the list and a case's page show what the case
//! service lets each person see; restrictions change only for those it lets update them, with
//! the session's CSRF token, and the change is audited as the CLI's is.

use serde_json::Value;

use crate::common::web::{Client, hidden_value};
use crate::web::{ANALYST, LEAD, OPERATOR, OWNER, Site};

/// A member with `case.read` but not `case.write` (SPEC RB-1: viewer).
const VIEWER: &str = "vera.viewer@acme-mssp.test";

impl Site {
    /// Creates a case as the Owner with the CLI; its id.
    pub(crate) fn case(&self, title: &str, restricted_to: Option<&str>) -> String {
        let mut args = vec![
            "cases",
            "create",
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--title",
            title,
            "--severity",
            "high",
            "--json",
        ];
        if let Some(people) = restricted_to {
            args.extend(["--access-mode", "restricted", "--collaborators", people]);
        }
        let out = self.deployment.ok(&args);
        let case: Value = serde_json::from_str(&out).expect("JSON");
        case["id"].as_str().expect("an id").to_owned()
    }

    /// The case's restrictions as the Owner's CLI reads them.
    fn restrictions(&self, id: &str) -> Value {
        let out = self.deployment.ok(&[
            "cases",
            "get-restrictions",
            id,
            "--workspace",
            "mssp-soc",
            "--as",
            OWNER,
            "--json",
        ]);
        serde_json::from_str(&out).expect("JSON")
    }

    /// The audit entries of `action`, as the Owner's CLI reads them.
    fn audited(&self, action: &str) -> Vec<Value> {
        let out =
            self.deployment
                .ok(&["audit", "--workspace", "mssp-soc", "--as", OWNER, "--json"]);
        let all: Value = serde_json::from_str(&out).expect("JSON");
        all.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["action"] == action)
            .cloned()
            .collect()
    }
}

/// The case page's path.
fn at(id: &str) -> String {
    format!("/cases/{id}")
}

#[test]
fn the_list_and_a_cases_page_show_a_restricted_case_only_to_those_allowed() {
    let site = Site::new();
    let open = site.case("Open phishing report", None);
    let hidden = site.case("Beacon on the CFO laptop", Some(ANALYST));

    // The analyst is a collaborator: both cases are listed, and the restricted one's page
    // names its restrictions (SPEC CS-2).
    let mut analyst = site.signed_in(ANALYST);
    let list = analyst.get(&site.server.url("/cases"));
    assert_eq!(list.status, 200, "{}", list.body);
    for id in [&open, &hidden] {
        assert!(
            list.body.contains(&format!("href=\"/cases/{id}\"")),
            "{}",
            list.body
        );
    }
    assert!(
        list.body.contains("Beacon on the CFO laptop"),
        "{}",
        list.body
    );
    let page = analyst.get(&site.server.url(&at(&hidden)));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("restricted"), "{}", page.body);
    assert!(page.body.contains(ANALYST), "{}", page.body);

    // The operator is not named and holds no bypass: the case is not listed, and its page
    // is the page of a case that does not exist, word for word but for the id (SPEC ID-4).
    let mut operator = site.signed_in(OPERATOR);
    let list = operator.get(&site.server.url("/cases"));
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(&format!("href=\"/cases/{open}\"")),
        "{}",
        list.body
    );
    assert!(!list.body.contains(&hidden), "{}", list.body);
    assert!(!list.body.contains("CFO laptop"), "{}", list.body);
    let unseen = operator.get(&site.server.url(&at(&hidden)));
    let missing = operator.get(&site.server.url("/cases/C-999"));
    assert_eq!(unseen.status, 404, "{}", unseen.body);
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(unseen.body.replace(&hidden, "C-999"), missing.body);
    // A crafted address puts none of its text on the page (web review: phishing words in
    // the site's layout, under the person's name).
    let crafted = operator.get(
        &site
            .server
            .url("/cases/%60.%20Your%20session%20expired%2C%20sign%20in%20at%20evil.example"),
    );
    assert_eq!(crafted.status, 404, "{}", crafted.body);
    assert!(!crafted.body.contains("evil.example"), "{}", crafted.body);
    assert!(!missing.body.contains("C-999"), "{}", missing.body);
    // Filters go to the same query: the text filter finds the open case for the operator,
    // never the hidden one; an unreadable filter is named.
    let found = operator.get(&site.server.url("/cases?text=laptop&access_mode="));
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(
        found.body.contains("No case you may see matches"),
        "{}",
        found.body
    );
    let found = analyst.get(&site.server.url("/cases?text=laptop&access_mode=restricted"));
    assert!(
        found.body.contains(&format!("href=\"/cases/{hidden}\"")),
        "{}",
        found.body
    );
    assert!(
        !found.body.contains(&format!("href=\"/cases/{open}\"")),
        "{}",
        found.body
    );
    let bad = analyst.get(&site.server.url("/cases?severity=urgent"));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("field `severity`"), "{}", bad.body);
    assert!(
        !bad.body.contains("urgent"),
        "a link's text is not echoed: {}",
        bad.body
    );
    for query in ["access_mode=Call-the-SOC", "cursor=Call-the-SOC"] {
        let bad = analyst.get(&site.server.url(&format!("/cases?{query}")));
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert!(!bad.body.contains("Call-the-SOC"), "{query}: {}", bad.body);
    }
    // A filter that is not UTF-8 (Latin-1's `é`) is refused naming it, as a posted form's
    // field is, not searched for as U+FFFD (round 23 web review).
    let latin1 = analyst.get(&site.server.url("/cases?text=caf%E9"));
    assert_eq!(latin1.status, 400, "{}", latin1.body);
    assert!(
        latin1.body.contains("query parameter `text` is not UTF-8"),
        "{}",
        latin1.body
    );
    // A parameter whose name reads as words is not quoted: a crafted link's text is not the
    // site's (round 24 web review).
    let crafted = analyst.get(&site.server.url("/cases?Your+session+expired.+Call+555=%FF"));
    assert_eq!(crafted.status, 400, "{}", crafted.body);
    assert!(!crafted.body.contains("Call 555"), "{}", crafted.body);

    // The Owner bypasses restrictions (SPEC RB-1) and sees who may see the case.
    let mut owner = site.signed_in(OWNER);
    let page = owner.get(&site.server.url(&at(&hidden)));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("May see it"), "{}", page.body);
    assert!(!page.body.contains(OPERATOR), "{}", page.body);
}

#[test]
fn the_list_pages_through_the_queries_cursor() {
    let site = Site::new();
    // One more than a page (50): the second page holds the oldest.
    let first = site.case("case number 0", None);
    for n in 1..=50 {
        site.case(&format!("case number {n}"), None);
    }
    let mut lead = site.signed_in(LEAD);
    let page = lead.get(&site.server.url("/cases?text=number"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.contains(&format!("href=\"/cases/{first}\"")),
        "{}",
        page.body
    );
    let at = page
        .body
        .find("/cases?text=number")
        .expect("a next page link");
    let next = &page.body[at..];
    let next = next[..next.find('"').expect("the link ends")].replace("&amp;", "&");
    let second = lead.get(&site.server.url(&next));
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(
        second.body.contains(&format!("href=\"/cases/{first}\"")),
        "{}",
        second.body
    );
    assert!(!second.body.contains("Next page"), "{}", second.body);
}

#[test]
fn the_allowed_editor_changes_restrictions_and_the_change_is_audited_as_the_clis() {
    let site = Site::new();
    let id = site.case("Beacon", Some(ANALYST));
    let url = site.server.url(&at(&id));
    let mut analyst = site.signed_in(ANALYST);
    let page = analyst.get(&url);
    assert!(
        page.body.contains("Update restrictions"),
        "the form: {}",
        page.body
    );
    let csrf = page.csrf();
    let shown = hidden_value(&page.body, "shown_collaborators").expect("the list shown");
    let shown_mode = hidden_value(&page.body, "shown_access_mode").expect("the mode shown");

    // Refusals of the service are shown on the form, naming the field, and change nothing.
    let before = site.restrictions(&id);
    for (mode, people, named) in [
        ("secret", ANALYST, "field `access_mode`"),
        ("restricted", "not-an-email", "`set_collaborators`"),
        (
            "restricted",
            "mallory@elsewhere.test",
            "`set_collaborators`",
        ),
    ] {
        let refused = analyst.post(
            &url,
            &[
                ("csrf", &csrf),
                ("access_mode", mode),
                ("set_collaborators", people),
                ("shown_collaborators", &shown),
                ("shown_access_mode", &shown_mode),
            ],
        );
        assert_eq!(refused.status, 400, "{mode} {people}: {}", refused.body);
        assert!(refused.body.contains(named), "{named}: {}", refused.body);
        assert!(
            refused.body.contains("Nothing was changed"),
            "{}",
            refused.body
        );
        assert!(
            refused.body.contains("Update restrictions"),
            "the form again"
        );
        assert_eq!(site.restrictions(&id), before);
    }
    // A POST without this session's CSRF token is refused and changes nothing (SPEC SV-2).
    let forged = analyst.post(
        &url,
        &[
            ("access_mode", "full_access"),
            ("set_collaborators", ANALYST),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.body.contains("CSRF"), "{}", forged.body);
    assert_eq!(site.restrictions(&id), before);
    assert!(site.audited("case.restrictions.update").is_empty());

    // The change: the operator added (emails compare case-insensitively).
    let people = format!("{ANALYST}\n{}", OPERATOR.to_uppercase());
    let done = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "restricted"),
            ("set_collaborators", &people),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Restrictions updated"), "{}", done.body);
    let after = site.restrictions(&id);
    assert_eq!(after["access_mode"], "restricted", "{after}");
    assert_eq!(
        after["collaborators"],
        serde_json::json!([OPERATOR, ANALYST]),
        "{after}"
    );
    // The same form again (a double click, a reload's resubmit) is answered by the change
    // the first one made, not "changed since the page was shown" (round 16 web review), and
    // writes nothing more: one audit entry.
    let again = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "restricted"),
            ("set_collaborators", &people),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(
        again.body.contains("Restrictions updated"),
        "{}",
        again.body
    );
    assert!(
        !again.body.contains("Nothing was changed"),
        "{}",
        again.body
    );
    assert_eq!(site.audited("case.restrictions.update").len(), 1);
    assert_eq!(site.restrictions(&id), after);
    // A stale form asking for something else is still refused (409) and changes nothing.
    let stale = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "restricted"),
            ("set_collaborators", ANALYST),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(site.restrictions(&id), after);
    // An untouched form changes nothing and says so.
    let page = analyst.get(&url);
    let untouched = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "restricted"),
            ("set_collaborators", &people),
            (
                "shown_collaborators",
                &hidden_value(&page.body, "shown_collaborators").expect("the list shown"),
            ),
            (
                "shown_access_mode",
                &hidden_value(&page.body, "shown_access_mode").expect("the mode shown"),
            ),
        ],
    );
    assert_eq!(untouched.status, 200, "{}", untouched.body);
    assert!(
        untouched.body.contains("Nothing to change"),
        "{}",
        untouched.body
    );
    assert_eq!(site.audited("case.restrictions.update").len(), 1);
    // Now the operator sees it, listed and on its page.
    let mut operator = site.signed_in(OPERATOR);
    assert_eq!(operator.get(&url).status, 200);
    assert!(operator.get(&site.server.url("/cases")).body.contains(&id));

    // Audited as the CLI's change is: the same action, the actor, before and after.
    site.deployment.ok(&[
        "cases",
        "update-restrictions",
        &id,
        "--access-mode",
        "full-access",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let entries = site.audited("case.restrictions.update");
    assert_eq!(entries.len(), 2, "{entries:?}");
    let (web, cli) = (&entries[0], &entries[1]);
    assert_eq!(web["actor"], ANALYST, "{web}");
    assert_eq!(cli["actor"], OWNER, "{cli}");
    assert_eq!(web["target"], id.as_str(), "{web}");
    assert_eq!(web["target"], cli["target"]);
    assert_eq!(
        web["details"]["added"],
        serde_json::json!([OPERATOR]),
        "{web}"
    );
    assert_eq!(
        web["details"]["after"], cli["details"]["before"],
        "one history, whichever door: {web} {cli}"
    );

    // A change that takes the case from the one who saves it is made and said so (it
    // answered "no such case" after writing it; round 15 web review).
    let page = analyst.get(&url);
    let shown = hidden_value(&page.body, "shown_collaborators").expect("the list shown");
    let shown_mode = hidden_value(&page.body, "shown_access_mode").expect("the mode shown");
    let gone = analyst.post(
        &url,
        &[
            ("csrf", &page.csrf()),
            ("access_mode", "restricted"),
            ("set_collaborators", OPERATOR),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert!(
        gone.body
            .contains("Restrictions updated. You no longer see this case."),
        "{}",
        gone.body
    );
    assert_eq!(
        site.restrictions(&id)["collaborators"],
        serde_json::json!([OPERATOR])
    );
    assert_eq!(analyst.get(&url).status, 404);
}

/// The form replaces the collaborators the page showed, and only those: a collaborator added
/// meanwhile (by a workflow, another person) is not dropped by a save of an older page,
/// which is refused, saying so, with nothing changed (hostile-input review: the list was
/// replaced with the page's, silently removing the newcomer's access).
#[test]
fn a_form_shown_before_the_collaborators_changed_changes_nothing() {
    let site = Site::new();
    let id = site.case("Beacon", Some(ANALYST));
    let url = site.server.url(&at(&id));
    let mut analyst = site.signed_in(ANALYST);
    let page = analyst.get(&url);
    let csrf = page.csrf();
    let shown = hidden_value(&page.body, "shown_collaborators").expect("the list shown");
    let shown_mode = hidden_value(&page.body, "shown_access_mode").expect("the mode shown");
    // Meanwhile the lead is added through another door.
    site.deployment.ok(&[
        "cases",
        "update-restrictions",
        &id,
        "--add",
        LEAD,
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let before = site.restrictions(&id);
    // A refused save of the old page (a typo) keeps what the page first showed in the form,
    // so that the corrected save still meets the change made since (review).
    let typo = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "restricted"),
            ("set_collaborators", "not-an-email"),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(typo.status, 400, "{}", typo.body);
    assert_eq!(
        hidden_value(&typo.body, "shown_collaborators").as_deref(),
        Some(shown.as_str())
    );
    let stale = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "restricted"),
            ("set_collaborators", &format!("{ANALYST}\n{OPERATOR}")),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(stale.status, 409, "{}", stale.body);
    // The form again as the restrictions are now: saving it again keeps the lead.
    assert!(stale.body.contains(LEAD), "{}", stale.body);
    assert!(
        stale.body.contains("changed since the page was shown"),
        "{}",
        stale.body
    );
    assert_eq!(site.restrictions(&id), before, "nothing was changed");
    // The page shown again lists the lead; saved from it, the change goes through.
    let fresh = analyst.get(&url);
    let shown = hidden_value(&fresh.body, "shown_collaborators").expect("the list shown");
    let shown_mode = hidden_value(&fresh.body, "shown_access_mode").expect("the mode shown");
    let done = analyst.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "restricted"),
            (
                "set_collaborators",
                &format!("{ANALYST}\n{LEAD}\n{OPERATOR}"),
            ),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    let after = site.restrictions(&id);
    assert_eq!(
        after["collaborators"].as_array().map(Vec::len),
        Some(3),
        "{after}"
    );
}

#[test]
fn someone_the_service_does_not_let_update_gets_no_form_and_a_crafted_post_is_refused() {
    let site = Site::new();
    site.deployment.ok(&[
        "users",
        "invite",
        VIEWER,
        "--role",
        "viewer",
        "--workspace",
        "mssp-soc",
        "--as",
        OWNER,
    ]);
    let id = site.case("Beacon", Some(&format!("{ANALYST},{VIEWER}")));
    let url = site.server.url(&at(&id));
    let before = site.restrictions(&id);
    // What a crafted POST claims the page showed: the service refuses it before it looks.
    let shown = String::new();
    let shown_mode = "restricted".to_owned();

    // The viewer sees the case (a collaborator) but may not write cases: no form, and a
    // crafted POST with their own session and token is refused by the service.
    let mut viewer = site.signed_in(VIEWER);
    let page = viewer.get(&url);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Beacon"), "{}", page.body);
    assert!(
        !page.body.contains("Update restrictions"),
        "no form: {}",
        page.body
    );
    assert!(!page.body.contains("name=\"access_mode\""), "{}", page.body);
    let csrf = page.csrf();
    let crafted = viewer.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "full_access"),
            ("set_collaborators", VIEWER),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(crafted.status, 403, "{}", crafted.body);
    assert!(crafted.body.contains("case.write"), "{}", crafted.body);
    assert_eq!(site.restrictions(&id), before);

    // The operator may write cases but does not see this one: a crafted POST finds no case,
    // exactly as for a missing one (SPEC CS-2), and changes nothing.
    let mut operator = site.signed_in(OPERATOR);
    let csrf = operator.get(&site.server.url("/cases")).csrf();
    let crafted = operator.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "full_access"),
            ("set_collaborators", OPERATOR),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    assert_eq!(crafted.status, 404, "{}", crafted.body);
    assert_eq!(site.restrictions(&id), before);
    assert!(site.audited("case.restrictions.update").is_empty());

    // Signed out, nothing is shown or changed.
    let mut stranger = Client::new();
    assert_eq!(stranger.get(&site.server.url("/cases")).status, 401);
    let crafted = stranger.post(&url, &[("access_mode", "full_access")]);
    assert_eq!(crafted.status, 401, "{}", crafted.body);
    assert_eq!(site.restrictions(&id), before);
}

/// A case title holding a bidi override or a zero-width space is shown with them written
/// out, on the list and the case's page, as the CLI shows it: the page read otherwise than
/// what is stored (round 16 hostile-input review).
#[test]
fn a_titles_hidden_characters_are_written_out_on_the_pages() {
    let site = Site::new();
    let id = site.case("Invoice \u{202e}fdp.exe\u{200b}", None);
    let mut owner = site.signed_in(OWNER);
    for url in [site.server.url("/cases"), site.server.url(&at(&id))] {
        let page = owner.get(&url);
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("Invoice \\u202efdp.exe\\u200b"),
            "{url}: {}",
            page.body
        );
        assert!(!page.body.contains('\u{202e}'), "{url}");
    }
}

/// A restriction change refused for now (the database's write lock held past the request's
/// deadline) answers 503 with `Retry-After` and the form as typed, as the flow and answer
/// forms do: the generic page lost the collaborators typed (round 17 web review). The
/// deadline leaves the sign-in's own reads time on a loaded machine.
#[test]
fn a_restriction_change_refused_for_now_keeps_what_was_typed() {
    let deployment = crate::common::Deployment::new();
    let server = crate::common::web::WebServer::start_with_env(
        deployment.dir.path(),
        &deployment.db,
        &crate::web::steps_dir(),
        50,
        &[],
        &[("FLOWHOST_REQUEST_DEADLINE_MS", "2000")],
    );
    let site = Site { deployment, server };
    let id = site.case("Phish", None);
    let mut owner = site.signed_in(OWNER);
    let url = site.server.url(&format!("/cases/{id}"));
    let page = owner.get(&url);
    let csrf = page.csrf();
    let shown = hidden_value(&page.body, "shown_collaborators").expect("the list shown");
    let shown_mode = hidden_value(&page.body, "shown_access_mode").expect("the mode shown");
    let before = site.restrictions(&id);
    // Another writer holds the write lock past the request's deadline.
    let db = crate::common::db_at(&site.deployment.db);
    let lock = match db.conn().engine() {
        flowhost::store::sql::Engine::Sqlite => "BEGIN IMMEDIATE",
        // Reads go on; the update waits for the table.
        flowhost::store::sql::Engine::Postgres => "BEGIN; LOCK TABLE cases IN EXCLUSIVE MODE",
    };
    db.conn().execute_batch(lock).expect("the lock");
    let refused = owner.post(
        &url,
        &[
            ("csrf", &csrf),
            ("access_mode", "restricted"),
            ("set_collaborators", ANALYST),
            ("shown_collaborators", &shown),
            ("shown_access_mode", &shown_mode),
        ],
    );
    db.conn().execute_batch("ROLLBACK").expect("let go");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        refused.body.contains("Update restrictions") && refused.body.contains(ANALYST),
        "the form as typed: {}",
        refused.body
    );
    assert_eq!(site.restrictions(&id), before, "nothing was changed");
}
