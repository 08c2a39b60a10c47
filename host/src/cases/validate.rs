//! Size checks on case input (SPEC ST-4, CS-4), made by the case service before any work, so
//! every door (WIT, built-in step, CLI) is held to the same caps and an oversized call stores
//! nothing. The caps themselves live in [`crate::services::caps`].

use crate::Error;
use crate::services::caps::{
    MAX_CASE_DESCRIPTION_BYTES, MAX_CASE_FIELDS_BYTES, MAX_CASE_FIELDS_VALUES,
    MAX_CASE_TITLE_BYTES, MAX_EMAIL_BYTES, MAX_NAME_BYTES, MAX_PEOPLE_PER_LIST,
    MAX_QUERY_TEXT_BYTES, check_depth, check_len, value_depth,
};
use crate::services::cases::{CaseQuery, NewCase, RestrictionUpdate};

/// A new case's text, fields and people lists are within their caps.
pub fn new_case(input: &NewCase) -> Result<(), Error> {
    let title = input.title.trim();
    if title.is_empty() {
        return Err(Error::Invalid("`title` must not be empty".into()));
    }
    check_len("`title`", title.len(), MAX_CASE_TITLE_BYTES, "bytes")?;
    check_len(
        "`description`",
        input.description.len(),
        MAX_CASE_DESCRIPTION_BYTES,
        "bytes",
    )?;
    for (what, text) in [("`title`", title), ("`description`", &*input.description)] {
        crate::text::check_no_nul(what, text).map_err(Error::Invalid)?;
    }
    if let Some(state) = &input.state {
        // Checked as stored, trimmed (a trailing line break was trimmed away, and stays so).
        let state = state.trim();
        // A blank one was stored as `""`, found by the API's `state: ""` and by no web filter,
        // which reads a blank field as none (round 23 hostile-input review).
        if state.is_empty() {
            return Err(Error::Invalid(
                "a case state must not be blank; leave it out for `open`".into(),
            ));
        }
        // The one cap on a state, for every door (text.rs lists the user-facing caps).
        crate::text::check_len("a case state", state, crate::text::MAX_STATE_CHARS)
            .map_err(Error::Invalid)?;
        // A state is compared as written by every filter: `open\u{200b}` was stored and never
        // found by `state=open` (round 20 hostile-input review), as exit statuses refuse.
        if let Some(c) = crate::text::first_hidden(state) {
            return Err(Error::Invalid(format!(
                "a case state holds U+{:04X}, an invisible or control character",
                u32::from(c)
            )));
        }
    }
    if let Some(fields) = &input.fields {
        if !fields.is_object() {
            return Err(Error::Invalid("`fields` must be a JSON object".into()));
        }
        fields_value(fields)?;
    }
    if let Some(assignee) = &input.assignee {
        email("`assignee`", assignee)?;
    }
    people("`reviewers`", &input.reviewers)?;
    people("`collaborators`", &input.collaborators)
}

/// Custom fields: depth first (a deep value is also a large one), then the size as JSON and
/// how many values it holds (each one is parsed again by every read of the case).
fn fields_value(fields: &serde_json::Value) -> Result<(), Error> {
    check_depth("`fields`", value_depth(fields))?;
    let text = serde_json::to_string(fields).unwrap_or_default();
    check_len(
        "`fields`",
        text.len(),
        MAX_CASE_FIELDS_BYTES,
        "bytes of JSON",
    )?;
    check_len(
        "`fields`",
        crate::json_limits::text_values(&text),
        MAX_CASE_FIELDS_VALUES,
        "JSON values (an object holding anything counts as 20)",
    )
}

/// A people list is short enough, and so is every email in it.
fn people(what: &str, list: &[String]) -> Result<(), Error> {
    check_len(what, list.len(), MAX_PEOPLE_PER_LIST, "entries")?;
    list.iter().try_for_each(|e| email(what, e))
}

fn email(what: &str, email: &str) -> Result<(), Error> {
    check_len(
        &format!("an email in {what}"),
        email.len(),
        MAX_EMAIL_BYTES,
        "bytes",
    )?;
    // Refused here, before any door's own work, so a step test's mocks refuse it as the host
    // does (review: `Sam <sam@x>` passed the mocks and failed the run).
    crate::principal::Email::parse(email)
        .map(|_| ())
        .map_err(|e| Error::Invalid(format!("{what}: {e}")))
}

/// A restriction update's lists are within their caps.
pub fn restriction_update(update: &RestrictionUpdate) -> Result<(), Error> {
    if let Some(set) = &update.set_collaborators {
        people("`set_collaborators`", set)?;
    }
    people("`add_collaborators`", &update.add_collaborators)?;
    people("`remove_collaborators`", &update.remove_collaborators)
}

/// A page query's text filter, names and cursor are within their caps.
pub fn query(q: &CaseQuery) -> Result<(), Error> {
    let f = &q.filter;
    // Blank is no filter anyone asks for: a reference that found nothing (round 26 cases
    // review). Read as none, it answered every case the caller sees.
    for (name, given) in [("state", &f.state), ("text", &f.text)] {
        if given.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(Error::Invalid(format!(
                "the `{name}` filter is blank; leave it out to filter nothing"
            )));
        }
    }
    if let Some(text) = &f.text {
        check_len(
            "the `text` filter",
            text.len(),
            MAX_QUERY_TEXT_BYTES,
            "bytes",
        )?;
        // Named here, not by the store's refusal of a NUL in any text (round 17).
        crate::text::check_no_nul("the `text` filter", text).map_err(Error::Invalid)?;
    }
    if let Some(state) = &f.state {
        // In characters, as a case's state is stored (at most 100): a state of 100
        // characters past 256 bytes could be stored and never found (hostile-step review).
        check_len(
            "the `state` filter",
            state.chars().count(),
            crate::text::MAX_STATE_CHARS,
            "characters",
        )?;
        // Named here, as the `text` filter's (round 20: the store's refusal named none).
        crate::text::check_no_nul("the `state` filter", state).map_err(Error::Invalid)?;
    }
    if let Some(assignee) = &f.assignee {
        email("the `assignee` filter", assignee)?;
    }
    if let Some(cursor) = &q.cursor {
        check_len("`cursor`", cursor.len(), MAX_NAME_BYTES, "bytes")?;
        // Read as the query reads it, before anything is looked up: a `step test` mock
        // answered a cursor every real run refused (polyglot review).
        super::store::query::check_cursor(cursor, q.sort)?;
    }
    Ok(())
}

/// A case id is short enough to be one (and to be echoed in a "not found" message).
pub fn case_id(id: &str) -> Result<(), Error> {
    check_len("the case id", id.len(), MAX_NAME_BYTES, "bytes")
}

/// `Ok` if `id` reads as a case id (`C-<n>`); otherwise the host's answer for a case that
/// does not exist, which `step test`'s mocks give too (they answered ids the host never
/// finds; review).
pub fn readable_case_id(id: &str) -> Result<(), Error> {
    super::id::parse_case_id(id)
        .map(|_| ())
        .ok_or_else(|| super::id::not_found(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::caps::MAX_JSON_DEPTH;
    use crate::services::cases::Severity;

    fn case() -> NewCase {
        NewCase {
            title: "Phishing".into(),
            description: String::new(),
            severity: Severity::Low,
            state: None,
            assignee: None,
            reviewers: Vec::new(),
            access_mode: None,
            collaborators: Vec::new(),
            fields: None,
        }
    }

    #[test]
    fn a_case_at_its_caps_passes_and_one_past_any_cap_fails_naming_it() {
        let at_caps = NewCase {
            title: "t".repeat(MAX_CASE_TITLE_BYTES),
            description: "d".repeat(MAX_CASE_DESCRIPTION_BYTES),
            collaborators: vec!["a@x.test".into(); MAX_PEOPLE_PER_LIST],
            ..case()
        };
        assert!(new_case(&at_caps).is_ok());
        let over: [(NewCase, &str); 11] = [
            // A state holding an invisible or control character no filter finds (round 20).
            (
                NewCase {
                    state: Some("open\u{200b}".into()),
                    ..case()
                },
                "a case state holds U+200B",
            ),
            (
                NewCase {
                    state: Some("in\0progress".into()),
                    ..case()
                },
                "a case state holds a NUL character",
            ),
            // What the host refuses past the caps, refused here for every door (a step test's
            // mocks included; review).
            (
                NewCase {
                    fields: Some(serde_json::json!(["8.8.8.8"])),
                    ..case()
                },
                "`fields` must be a JSON object",
            ),
            (
                NewCase {
                    assignee: Some("Sam <sam@x.test>".into()),
                    ..case()
                },
                "`assignee`: `Sam <sam@x.test>` is not an email address",
            ),
            (
                NewCase {
                    title: "t".repeat(513),
                    ..case()
                },
                "`title` is 513 bytes",
            ),
            (
                NewCase {
                    title: "  ".into(),
                    ..case()
                },
                "`title` must not be empty",
            ),
            (
                NewCase {
                    description: "d".repeat(MAX_CASE_DESCRIPTION_BYTES + 1),
                    ..case()
                },
                "`description` is 65537 bytes",
            ),
            (
                NewCase {
                    reviewers: vec!["a@x.test".into(); 1001],
                    ..case()
                },
                "`reviewers` is 1001 entries",
            ),
            (
                NewCase {
                    assignee: Some(format!("{}@x.test", "a".repeat(300))),
                    ..case()
                },
                "an email in `assignee`",
            ),
            (
                NewCase {
                    fields: Some(serde_json::json!({ "x": "y".repeat(70_000) })),
                    ..case()
                },
                "`fields` is 70008 bytes of JSON",
            ),
            (
                // 20,001 bytes, well within the byte cap: 10,022 values.
                NewCase {
                    fields: Some(serde_json::json!({ "a": vec![0; 10_000] })),
                    ..case()
                },
                "JSON values (an object holding anything counts as 20); the cap is 8192",
            ),
        ];
        // Within both caps.
        let wide = NewCase {
            fields: Some(serde_json::json!({ "a": vec![0; 4000] })),
            ..case()
        };
        assert!(new_case(&wide).is_ok());
        for (input, needle) in over {
            let err = new_case(&input).expect_err(needle).to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
    }

    /// The `state` filter's NUL is named, as the `text` filter's (round 20: the store's
    /// refusal named no filter and said "stored" of a query).
    #[test]
    fn a_nul_in_the_state_filter_is_named() {
        let q: CaseQuery =
            serde_json::from_value(serde_json::json!({ "filter": { "state": "op\0en" } }))
                .expect("query");
        let err = query(&q).expect_err("NUL").to_string();
        assert!(err.contains("the `state` filter"), "{err}");
        let fine = "in progress 🔥";
        let q: CaseQuery =
            serde_json::from_value(serde_json::json!({ "filter": { "state": fine } }))
                .expect("query");
        assert!(query(&q).is_ok());
        assert!(
            new_case(&NewCase {
                state: Some(fine.into()),
                ..case()
            })
            .is_ok()
        );
    }

    #[test]
    fn deep_fields_queries_and_updates_are_held_to_their_caps() {
        let mut deep = serde_json::json!(1);
        for _ in 0..MAX_JSON_DEPTH - 1 {
            deep = serde_json::json!([deep]);
        }
        // `fields` is an object: it and the arrays in it nest exactly to the cap.
        let ok = NewCase {
            fields: Some(serde_json::json!({ "a": deep.clone() })),
            ..case()
        };
        assert!(new_case(&ok).is_ok());
        let too_deep = NewCase {
            fields: Some(serde_json::json!({ "a": [deep] })),
            ..case()
        };
        let err = new_case(&too_deep).expect_err("33 levels").to_string();
        assert!(err.contains("`fields` nests 33 levels deep"), "{err}");

        let q = CaseQuery {
            filter: crate::services::cases::CaseFilter {
                text: Some("x".repeat(MAX_QUERY_TEXT_BYTES + 1)),
                ..Default::default()
            },
            sort: Default::default(),
            page_size: 0,
            cursor: None,
        };
        let err = query(&q).expect_err("long text").to_string();
        assert!(err.contains("the `text` filter is 1025 bytes"), "{err}");

        let update = RestrictionUpdate {
            add_collaborators: vec!["a@x.test".into(); MAX_PEOPLE_PER_LIST + 1],
            ..Default::default()
        };
        let err = restriction_update(&update)
            .expect_err("long list")
            .to_string();
        assert!(err.contains("`add_collaborators` is 1001 entries"), "{err}");
        assert!(case_id(&"C-1".repeat(100)).is_err());
    }

    /// A state any case may hold can be searched for (the filter was capped at 256 bytes,
    /// the state at 100 characters: a state of emoji could never be found).
    #[test]
    fn a_state_filter_takes_every_state_a_case_may_hold() {
        let with_state = |state: String| -> CaseQuery {
            serde_json::from_value(serde_json::json!({ "filter": { "state": state } }))
                .expect("a query")
        };
        let stored = "😀".repeat(crate::text::MAX_STATE_CHARS);
        assert!(stored.len() > MAX_NAME_BYTES);
        assert!(
            new_case(&NewCase {
                state: Some(stored.clone()),
                ..case()
            })
            .is_ok()
        );
        assert!(query(&with_state(stored)).is_ok());
        let over = "😀".repeat(crate::text::MAX_STATE_CHARS + 1);
        assert!(query(&with_state(over)).is_err());
    }

    /// A NUL in the text filter is refused naming the filter, not by the store's words.
    #[test]
    fn a_text_filter_holding_nul_is_refused_by_name() {
        let q: CaseQuery =
            serde_json::from_value(serde_json::json!({ "filter": { "text": "a\u{0}b" } }))
                .expect("a query");
        match query(&q) {
            Err(Error::Invalid(why)) => assert!(why.contains("the `text` filter"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
