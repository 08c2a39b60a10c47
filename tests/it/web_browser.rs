//! The web pages in a real headless Chromium (issue 16, SPEC SV-2, IX-7, IX-8), driven through
//! chromedriver's WebDriver API: two people sign in with one-time links; the one IX allows
//! sees the Interaction, answers it in the form and the run resumes; the other never sees it,
//! and a crafted POST with their own valid session and CSRF token is refused; an Owner
//! changes a case's restrictions in its form. Screenshots of the Interaction page, the run
//! page, the case's page and the case list are written where `FLOWHOST_SCREENSHOTS` points
//! (the README's come from there).
//!
//! A member also signs in through the workspace's IdP (the fake one of `web_oidc.rs`): the
//! browser follows the redirects to the IdP and back and lands signed in.
//!
//! Skipped, with a notice, where Chromium is not installed (`scripts/browser` installs it;
//! `scripts/test` runs that first).

use std::time::{Duration, Instant};

use crate::common::web::{Client, hidden_value};
use crate::common::webdriver::{self, Browser};
use crate::web::{ANALYST, OPERATOR, OWNER, Site};

fn save(name: &str, png: &[u8]) {
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    if let Some(dir) = std::env::var_os("FLOWHOST_SCREENSHOTS") {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, png).expect("screenshot written");
        eprintln!("screenshot: {}", path.display());
    }
}

/// Waits until the browser's page contains `text`.
fn wait_for(browser: &Browser, text: &str) -> String {
    let started = Instant::now();
    loop {
        let source = browser.source();
        if source.contains(text) {
            return source;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the page never showed {text}: {source}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_person_ix_allows_answers_in_the_browser_and_the_other_never_sees_it() {
    let Some((chromium, chromedriver)) = webdriver::required() else {
        eprintln!("skipped: chromium and chromedriver are not installed (run scripts/browser)");
        return;
    };
    let site = Site::new();
    let (id, run) = site.triage();
    let interaction = site.server.url(&format!("/interactions/{id}"));

    // The operator signs in: nothing waits for them, the interaction does not exist for
    // them, and a crafted POST with their own session and token is refused.
    let operator = Browser::start(&chromium, &chromedriver);
    operator.go(&site.link(OPERATOR));
    operator.click("form button");
    let home = wait_for(&operator, "Nothing is waiting for you");
    assert!(!home.contains(&id), "{home}");
    operator.go(&interaction);
    let hidden = operator.source();
    assert!(hidden.contains("no such interaction"), "{hidden}");
    let csrf = hidden_value(&home, "csrf").expect("the sign-out form's token");
    let mut crafted = Client::new().with_cookie("fh_session", &operator.cookie("fh_session"));
    let refused = crafted.post(&interaction, &[("csrf", &csrf), ("verdict", "escalate")]);
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(site.run_status(&run), "on_hold");

    // The analyst signs in, sees it, answers it in the form; the run resumes.
    let analyst = Browser::start(&chromium, &chromedriver);
    analyst.go(&site.link(ANALYST));
    analyst.click("form button");
    wait_for(&analyst, &id);
    analyst.click(&format!("a[href=\"/interactions/{id}\"]"));
    wait_for(&analyst, "Submit answer");
    save("interaction.png", &analyst.screenshot());
    analyst.click("select[name=\"verdict\"] option[value=\"escalate\"]");
    analyst.type_into("textarea[name=\"note\"]", "beacon confirmed on two hosts");
    analyst.click("form.answer button");
    wait_for(&analyst, "Answered");
    let started = Instant::now();
    while site.run_status(&run) == "on_hold" {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run resumes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(site.run_status(&run), "succeeded");

    // The run as its Owner sees it: the workflow drawn, each step's status.
    operator.go(&site.link(OWNER));
    operator.click("form button");
    wait_for(&operator, "Waiting for me");
    operator.go(&site.server.url(&format!("/runs/{run}")));
    let page = wait_for(&operator, "<svg");
    assert!(page.contains("escalated"), "{page}");
    save("run.png", &operator.screenshot());
    assert!(operator.current_url().ends_with(&run));

    // The cases page: the Owner adds the operator to a restricted case in its form.
    let case = site.case("Beacon on the CFO laptop", Some(ANALYST));
    operator.go(&site.server.url(&format!("/cases/{case}")));
    wait_for(&operator, "Update restrictions");
    operator.type_into(
        "textarea[name=\"set_collaborators\"]",
        &format!("\n{OPERATOR}"),
    );
    operator.click("form.answer button");
    let page = wait_for(&operator, "Restrictions updated");
    assert!(page.contains(OPERATOR), "{page}");
    save("cases.png", &operator.screenshot());
    operator.go(&site.server.url("/cases?access_mode=restricted"));
    wait_for(&operator, &format!("href=\"/cases/{case}\""));
    save("cases-list.png", &operator.screenshot());
}

#[test]
fn a_member_signs_in_through_the_idp_in_the_browser() {
    signs_in_through_the_idp(false);
}

/// An IdP that sends the browser back through another origin (a broker, a federated IdP)
/// signs people in too: the button's form was redirected to the IdP, and the browser held
/// every hop of that redirect to the page's `form-action`, refusing the other origin (round 30
/// web review). The sign-in page now goes on by a refresh.
#[test]
fn a_member_signs_in_through_an_idp_that_goes_through_another_origin() {
    signs_in_through_the_idp(true);
}

fn signs_in_through_the_idp(hop: bool) {
    let Some((chromium, chromedriver)) = webdriver::required() else {
        eprintln!("skipped: chromium and chromedriver are not installed (run scripts/browser)");
        return;
    };
    let o = crate::web_oidc::Oidc::new();
    if hop {
        o.idp.hop_through_another_origin();
    }
    o.idp.person(crate::web_oidc::member(
        "nina.new@acme-mssp.test",
        &["soc-analysts"],
    ));
    let browser = Browser::start(&chromium, &chromedriver);
    browser.go(&o.url("/signin/oidc/mssp-soc"));
    wait_for(&browser, "Sign in with acme-okta");
    browser.click("form button");
    let home = wait_for(&browser, "nina.new@acme-mssp.test (sso)");
    assert!(home.contains("Waiting for me"), "{home}");
    assert_eq!(browser.current_url(), o.url("/"));
    assert!(!browser.cookie("fh_session").is_empty());
}
