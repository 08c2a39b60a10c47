//! Restricts every open, full-access case of a given severity to a list of collaborators
//! (typically a context-reference array: the on-call responders an earlier step found).
//! Uses *Query cases* page by page and *Update case restrictions* on each match.

use flowhost_step::cases::{self, CaseFilter, CaseQuery, CaseSort, RestrictionUpdate};
use flowhost_step::{AccessMode, Severity, StepError, log};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    /// Who keeps access: must be workspace members.
    collaborators: Vec<String>,
    #[serde(default = "high")]
    severity: String,
    #[serde(default = "open")]
    state: String,
    /// Stop after this many cases (a guard against restricting a whole backlog by mistake);
    /// at most 100, the restriction updates one execution may make.
    #[serde(default = "limit")]
    limit: usize,
}

fn high() -> String {
    "high".into()
}
fn open() -> String {
    "open".into()
}
/// The restriction updates one step execution may make (the host's cap, SPEC ST-4).
const MAX_UPDATES: usize = 100;

fn limit() -> usize {
    MAX_UPDATES
}

#[derive(Serialize)]
struct Output {
    restricted: Vec<String>,
    collaborators: Vec<String>,
}

fn severity(name: &str) -> Result<Severity, StepError> {
    Ok(match name {
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        other => {
            return Err(StepError::InvalidInput(format!(
                "unknown severity `{other}`"
            )));
        }
    })
}

fn restrict(input: Input) -> Result<Output, StepError> {
    if input.collaborators.is_empty() {
        return Err(StepError::InvalidInput(
            "`collaborators` is empty: nobody would keep access".into(),
        ));
    }
    // Past it the host refuses the 101st update, after restricting 100 (round 17 steps
    // review): refused before any, naming why.
    if input.limit > MAX_UPDATES {
        return Err(StepError::InvalidInput(format!(
            "`limit` is {}: one execution restricts at most {MAX_UPDATES} cases",
            input.limit
        )));
    }
    let filter = CaseFilter {
        access_mode: Some(AccessMode::FullAccess),
        state: Some(input.state.clone()),
        severity: Some(severity(&input.severity)?),
        assignee: None,
        text: None,
    };
    // Collect first, then restrict: restricting while paging would move cases between pages.
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = cases::query_cases(&CaseQuery {
            filter: filter.clone(),
            sort: CaseSort::CreatedAsc,
            page_size: 100,
            cursor,
        })?;
        ids.extend(page.cases.into_iter().map(|c| c.id));
        cursor = page.next_cursor;
        if cursor.is_none() || ids.len() >= input.limit {
            break;
        }
    }
    ids.truncate(input.limit);
    let mut collaborators = Vec::new();
    for id in &ids {
        let update = RestrictionUpdate {
            access_mode: Some(AccessMode::Restricted),
            set_collaborators: Some(input.collaborators.clone()),
            add_collaborators: Vec::new(),
            remove_collaborators: Vec::new(),
        };
        collaborators = cases::update_case_restrictions(id, &update)?.collaborators;
    }
    log::info(&format!(
        "restricted {} {} {} case(s)",
        ids.len(),
        input.state,
        input.severity
    ));
    Ok(Output {
        restricted: ids,
        collaborators,
    })
}

flowhost_step::step!(restrict);
