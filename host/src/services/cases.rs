//! Case data (SPEC CS-1) and the case service interface behind the case steps (SPEC CS-4).

use serde::{Deserialize, Serialize};

use crate::principal::Caller;

use crate::Error;

use super::caps;

/// SPEC CS-1: who may see a case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessMode {
    /// Visible to every workspace member with `case.read`.
    #[default]
    FullAccess,
    /// Visible only as SPEC CS-2 says.
    Restricted,
}

/// SPEC CS-1: case severity, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// A case as a principal sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub id: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub state: String,
    pub reporter: Option<String>,
    pub assignee: Option<String>,
    pub reviewers: Vec<String>,
    pub access_mode: AccessMode,
    pub collaborators: Vec<String>,
    /// Custom fields (a JSON object).
    pub fields: serde_json::Value,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// Input of *Create a case* and, as JSON, of *Create a case from JSON*.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub severity: Severity,
    /// Left out: `open`; given as `null` refused, as a blank one is: a reference that found
    /// nothing was stored as `open` (round 29 hostile-input review).
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub state: Option<String>,
    /// Left out: nobody; given as `null` refused, as for `state`.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub assignee: Option<String>,
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Left out: full access. Given as `null` refused: a reference that found no mode made
    /// a case every case reader sees, its event reaching every listener (round 26 leak
    /// review).
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub access_mode: Option<AccessMode>,
    #[serde(default)]
    pub collaborators: Vec<String>,
    /// Left out: none; given as `null` refused (not an object), as for `state`.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub fields: Option<serde_json::Value>,
}

/// Filters of *Query cases*; every present filter must match. A filter given as `null` is
/// refused, not read as absent: a reference that found nobody (a new case's `assignee`)
/// asks for no case, and read as no filter it answered every case the run sees (round 26
/// hostile-input review; as [`RestrictionUpdate`]'s parts).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFilter {
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub access_mode: Option<AccessMode>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub severity: Option<Severity>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub assignee: Option<String>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub text: Option<String>,
}

/// Sort order of *Query cases*.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSort {
    #[default]
    CreatedDesc,
    CreatedAsc,
    UpdatedDesc,
    SeverityDesc,
}

/// *Query cases* input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    #[serde(default, deserialize_with = "crate::json_limits::record")]
    pub filter: CaseFilter,
    #[serde(default)]
    pub sort: CaseSort,
    /// 1..=200; 0 or absent means 50.
    #[serde(default)]
    pub page_size: u32,
    /// `null` or left out: the first page (a paging loop's first iteration reads the
    /// `next_cursor?` of a step not run yet, round 26 door review).
    #[serde(default)]
    pub cursor: Option<String>,
}

impl CaseQuery {
    /// The query as every door reads it: its `state` and `text` filters trimmed. One place
    /// for the service, the built-ins' written input and `step test`'s mocks (round 24
    /// bad-input review: the validator and the mocks measured a padded filter a run took). A
    /// filter blank once trimmed stays given, and is refused (`validate::query`): read as no
    /// filter, a reference that found nothing (`{{ $.event.state? }}`) widened the query to
    /// every case the run sees (round 26 cases review); the web's search box leaves a blank
    /// field out itself.
    pub fn normalized(mut self) -> CaseQuery {
        let trimmed = |value: Option<String>| value.map(|v| v.trim().to_owned());
        self.filter.state = trimmed(self.filter.state.take());
        self.filter.text = trimmed(self.filter.text.take());
        self
    }
}

/// One page of visible cases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CasePage {
    pub cases: Vec<CaseRecord>,
    pub next_cursor: Option<String>,
}

/// *Get case restrictions* output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restrictions {
    pub access_mode: AccessMode,
    pub collaborators: Vec<String>,
}

/// *Update case restrictions* input: absent parts are left alone; `set_collaborators` replaces
/// the list, then `add_collaborators` and `remove_collaborators` apply. A part given as
/// `null` is refused, not read as absent: "leave the collaborators alone" is not what a
/// reference that found nobody asks (SPEC CS-4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictionUpdate {
    // Written out as before (`null` when absent): `step test`'s recorded calls, and the
    // patterns written against them, keep their shape.
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub access_mode: Option<AccessMode>,
    #[serde(default, deserialize_with = "crate::json_limits::given")]
    pub set_collaborators: Option<Vec<String>>,
    #[serde(default)]
    pub add_collaborators: Vec<String>,
    #[serde(default)]
    pub remove_collaborators: Vec<String>,
}

/// The service behind the case steps, whichever door they come through (WIT, built-in step,
/// CLI): one path, one set of checks. One method per function of `flowhost:step/cases`. A
/// step's grants (SPEC WF-6) and its creations' idempotency keys (SPEC WF-8) come in the
/// [`Caller`]; an implementation checks the grant before anything else, and creates a case
/// at most once per key (a re-executed step gets the case it created before).
pub trait CaseApi: Send + Sync {
    /// *Create a case* (needs `cases:write`).
    fn create_case(&self, caller: &Caller, input: NewCase) -> Result<CaseRecord, Error>;
    /// *Create a case from JSON* (needs `cases:write`).
    fn create_case_from_json(&self, caller: &Caller, json: &str) -> Result<CaseRecord, Error>;
    /// *Query cases* (needs `cases:read`).
    fn query_cases(&self, caller: &Caller, query: CaseQuery) -> Result<CasePage, Error>;
    /// *Get case restrictions* (needs `cases:read`).
    fn get_case_restrictions(&self, caller: &Caller, case_id: &str) -> Result<Restrictions, Error>;
    /// *Update case restrictions* (needs `cases:write`).
    fn update_case_restrictions(
        &self,
        caller: &Caller,
        case_id: &str,
        update: RestrictionUpdate,
    ) -> Result<Restrictions, Error>;
}

/// Parses *Create a case from JSON* input; errors name the field (SPEC CS-4). The document's
/// size and nesting are capped before it is parsed (SPEC ST-4); the case service checks the
/// fields' own caps.
pub fn parse_case_json(json: &str) -> Result<NewCase, Error> {
    caps::check_len(
        "the case JSON",
        json.len(),
        caps::MAX_CASE_JSON_BYTES,
        "bytes",
    )?;
    // Its values nest one level inside the document. Named as the document's: `fields` was
    // blamed for a deep `reviewers` (round 19 hostile-step review).
    let depth = caps::json_depth(json).saturating_sub(1);
    caps::check_depth("a value in the case JSON", depth)?;
    // A key named twice, in `fields` too, is refused naming it: serde_json kept the last
    // value (`{"approved": false, "approved": true}`) silently (hostile-input review).
    let value: serde_json::Value = crate::json_limits::from_str(json).map_err(|e| {
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or_default();
        Error::Invalid(format!("case JSON: {message}"))
    })?;
    crate::json_limits::not_an_array("case JSON", &value).map_err(Error::Invalid)?;
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner().to_string();
        let message = inner.split(" at line ").next().unwrap_or_default();
        Error::Invalid(format!(
            "case JSON, field `{}`: {}",
            crate::text::decoder_words(&e.path().to_string()),
            crate::text::decoder_words(message)
        ))
    })
}

/// Parses a step's `fields-json` into the object *Create a case* takes, refusing text past the
/// fields caps before parsing it (SPEC ST-4).
pub fn parse_fields_json(json: &str) -> Result<serde_json::Value, Error> {
    caps::check_len(
        "`fields`",
        json.len(),
        caps::MAX_CASE_FIELDS_BYTES,
        "bytes of JSON",
    )?;
    caps::check_json_depth("`fields`", json)?;
    match crate::json_limits::from_str(json) {
        Ok(fields) if fields.is_object() => Ok(fields),
        Ok(_) => Err(Error::Invalid("`fields-json` must be a JSON object".into())),
        Err(e) => Err(Error::Invalid(format!("`fields-json` is not JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key named twice in *Create a case from JSON*, in its `fields` too, is refused naming
    /// it: the last value was kept silently (hostile-input review).
    #[test]
    fn case_json_nesting_past_the_cap_is_named_as_the_documents() {
        let deep = format!(
            r#"{{"title":"t","severity":"low","reviewers":{}"x"{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        let err = parse_case_json(&deep).expect_err("too deep").to_string();
        assert!(
            err.contains("a value in the case JSON nests 40 levels deep"),
            "{err}"
        );
        assert!(!err.contains("`fields`"), "{err}");
    }

    #[test]
    fn case_json_naming_a_key_twice_is_refused() {
        let twice = r#"{"title":"t","severity":"low","fields":{"approved":false,"approved":true}}"#;
        let err = parse_case_json(twice).expect_err("refused").to_string();
        assert!(err.contains("approved"), "{err}");
        let once = r#"{"title":"t","severity":"low","fields":{"approved":false}}"#;
        let case = parse_case_json(once).expect("parses");
        assert_eq!(case.fields, Some(serde_json::json!({ "approved": false })));
    }

    /// A case given as an array is refused: serde read a record from an array, its fields
    /// in order (round 27 steps review).
    #[test]
    fn case_json_given_as_an_array_is_refused() {
        let err = parse_case_json(r#"["t", "", "high"]"#)
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("an array where an object is expected"),
            "{err}"
        );
    }
}
