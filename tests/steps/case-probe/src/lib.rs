//! Reports what the run's principal can see of cases, through the WIT door: every case id
//! *Query cases* returns (all pages, small pages to exercise cursors), and for each id asked
//! about, whether *Get case restrictions* finds it. The consistency tests compare this with
//! the service and the CLI. It also asks `access.check-flow-access` for each `flow_checks`
//! pair, so tests see the Interaction Flow decision through WIT.

use flowhost_step::StepError;
use flowhost_step::cases::{self, CaseFilter, CaseQuery, CaseSort};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    ask: Vec<String>,
    /// Titles of cases to create first (the idempotency tests).
    #[serde(default)]
    create: Vec<String>,
    #[serde(default)]
    page_size: Option<u32>,
    /// (flow, email) pairs to ask `check-flow-access` about.
    #[serde(default)]
    flow_checks: Vec<(String, String)>,
    /// Ask only the flow questions: a principal who may not query cases asks them too.
    #[serde(default)]
    flows_only: bool,
    /// A nested record, an enum and a newtype, echoed back: the SDK's input decoding
    /// (records read from objects only, at any depth; everything else as serde reads it).
    #[serde(default)]
    shape: Option<Shape>,
}

#[derive(Deserialize, Serialize)]
struct Shape {
    target: Target,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    tag: Option<Tag>,
}

#[derive(Deserialize, Serialize)]
struct Target {
    kind: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize, Serialize)]
enum Mode {
    Lookup { ip: String },
    Batch(Vec<String>),
}

#[derive(Deserialize, Serialize)]
struct Tag(String);

#[derive(Serialize)]
struct FlowAnswer {
    flow: String,
    email: String,
    allowed: bool,
    reason: String,
}

#[derive(Serialize)]
struct Output {
    created: Vec<String>,
    listed: Vec<String>,
    found: Vec<String>,
    not_found: Vec<String>,
    flow_access: Vec<FlowAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<Shape>,
}

fn probe(input: Input) -> Result<Output, StepError> {
    let mut created = Vec::new();
    for title in &input.create {
        let case = cases::create_case(&cases::NewCase {
            title: title.clone(),
            description: String::new(),
            severity: flowhost_step::Severity::Low,
            state: None,
            assignee: None,
            reviewers: Vec::new(),
            access_mode: None,
            collaborators: Vec::new(),
            fields_json: None,
        })?;
        created.push(case.id);
    }
    let filter = CaseFilter {
        access_mode: None,
        state: None,
        severity: None,
        assignee: None,
        text: None,
    };
    let mut listed = Vec::new();
    let mut cursor = None;
    while !input.flows_only {
        let q = CaseQuery {
            filter: filter.clone(),
            sort: CaseSort::CreatedDesc,
            page_size: input.page_size.unwrap_or(3),
            cursor,
        };
        let page = cases::query_cases(&q)?;
        listed.extend(page.cases.into_iter().map(|c| c.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let (mut found, mut not_found) = (Vec::new(), Vec::new());
    for id in input.ask {
        match cases::get_case_restrictions(&id) {
            Ok(_) => found.push(id),
            Err(flowhost_step::HostError::NotFound(_)) => not_found.push(id),
            Err(other) => return Err(StepError::Host(other)),
        }
    }
    let mut flow_access = Vec::new();
    for (flow, email) in input.flow_checks {
        let d = flowhost_step::access::check_flow_access(&flow, &email)?;
        flow_access.push(FlowAnswer {
            flow,
            email,
            allowed: d.allowed,
            reason: d.reason,
        });
    }
    Ok(Output {
        created,
        listed,
        found,
        not_found,
        flow_access,
        shape: input.shape,
    })
}

flowhost_step::step!(probe);
