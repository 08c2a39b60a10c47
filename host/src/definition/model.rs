//! Workflow definitions as data (SPEC WF-1..6): what a parsed, validated workflow is.

use std::path::PathBuf;
use std::time::Duration;

use crate::json_locate::JsonPath;

use super::refs::Template;

/// The longest `timeout` a step may ask for. A step computes: waiting is a `wait` step or an
/// interaction, which hold nothing. A running step holds an instance slot of its host (and,
/// started through the API, a request thread) until its deadline, so a step asking for years
/// let one tenant take every slot from the others (hostile step review).
pub const MAX_STEP_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The longest pause between two attempts of a retried step (`delay`, `max_delay`). A retry
/// pauses in the run's worker, which every workspace's runs share: a `delay` of years held a
/// worker for years (hostile-input review). A longer pause is a `wait` step's.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(5 * 60);

/// The most branches one `parallel` step may have (checked when the definition is parsed).
pub const MAX_PARALLEL_BRANCHES: usize = 64;
/// Most items a `loop` goes over: every iteration is journaled and keeps its outputs in the
/// run's context, so a list of millions is a run no host should take on; split it instead.
pub const MAX_LOOP_ITEMS: usize = 100_000;

/// At most this many people and roles (each) an interaction's settings name, as written and
/// once resolved: they are stored with it and read again by every list of open interactions
/// and every answer (SPEC ST-4; a step's output of a million names was stored and parsed whole
/// each time).
pub const MAX_ACCESS_ENTRIES: usize = 1_000;

/// At most this many context references an interaction's settings name: each renders a list
/// of up to [`MAX_ACCESS_ENTRIES`] names as the interaction opens, so 22,000 references to one
/// list of 1,000 emails gathered 22 million names, about a gigabyte, for an access list of
/// 1,000 (round 15 hostile-input review).
pub const MAX_ACCESS_REFS: usize = 64;

/// A validated workflow definition.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub name: String,
    pub workspace: String,
    /// The identity triggered runs act as (SPEC WF-6).
    pub run_as: Option<String>,
    pub trigger: Trigger,
    /// `$.vars`.
    pub vars: serde_json::Value,
    pub steps: Vec<Step>,
    /// Set when the workflow runs in a workspace it was shared to: its home workspace. Custom
    /// role selections of its interactions do not apply there (SPEC IX-6, SH-2).
    pub shared_from: Option<String>,
    /// How its components and nested workflows are found: for a published revision, the
    /// ones pinned at publish (its nested workflows run with it).
    pub resolver: super::resolver::Resolver,
}

impl Workflow {
    /// Whether it asks people for input: an Interaction step, or an Interaction Flow's form
    /// (what `interaction.write` authors, SPEC RB-1).
    pub fn asks_people(&self) -> bool {
        self.trigger.interaction.is_some()
            || self
                .all_steps()
                .iter()
                .any(|s| matches!(s.kind, StepKind::Interaction(_)))
    }

    /// Every step, nested branches and bodies included (not inside nested workflows).
    pub fn all_steps(&self) -> Vec<&Step> {
        steps_within(&self.steps)
    }
}

/// `steps` and every step nested in them (branches, bodies, timeout paths; not inside nested
/// workflows).
pub fn steps_within(steps: &[Step]) -> Vec<&Step> {
    nested(steps, true)
}

/// `steps` and the steps of their branches and timeout paths, at any depth, but not those in
/// a loop's body (the loop itself is among them): what one iteration of a loop outputs, an
/// inner loop's steps being in its own output.
pub fn steps_outside_loops(steps: &[Step]) -> Vec<&Step> {
    nested(steps, false)
}

/// `steps` and those nested in them, into loops' bodies if `into_loops`.
fn nested(steps: &[Step], into_loops: bool) -> Vec<&Step> {
    fn walk<'a>(steps: &'a [Step], into_loops: bool, out: &mut Vec<&'a Step>) {
        for step in steps {
            out.push(step);
            match &step.kind {
                StepKind::If {
                    then, otherwise, ..
                } => {
                    walk(then, into_loops, out);
                    walk(otherwise, into_loops, out);
                }
                StepKind::Switch { cases, default } => {
                    cases
                        .iter()
                        .for_each(|(_, body)| walk(body, into_loops, out));
                    walk(default, into_loops, out);
                }
                StepKind::Loop { body, .. } if into_loops => walk(body, into_loops, out),
                StepKind::Parallel { branches } => {
                    branches.iter().for_each(|b| walk(b, into_loops, out))
                }
                StepKind::Interaction(ix) => walk(&ix.on_timeout, into_loops, out),
                StepKind::Loop { .. }
                | StepKind::Action { .. }
                | StepKind::Wait { .. }
                | StepKind::Exit { .. }
                | StepKind::Nested { .. } => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(steps, into_loops, &mut out);
    out
}

/// What starts a run (SPEC WF-2).
#[derive(Clone, Debug)]
pub struct Trigger {
    pub on: TriggerKind,
    /// All must hold for the event.
    pub conditions: Vec<Condition>,
    /// For an Interaction Flow started by its form: the form and who may submit it.
    pub interaction: Option<Box<Interaction>>,
}

/// The kinds of trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerKind {
    /// Started by a person (`flowhost run --as`).
    Manual,
    /// A case event: `case_created`, `case_updated`, `case_access_mode_updated`,
    /// `case_collaborators_list_updated`.
    Case(String),
    /// A custom event emitted by a step.
    Custom(String),
    /// A person submits the flow's form (`flowhost interact start`): an Interaction Flow
    /// started by its trigger (SPEC IX-3).
    Interaction,
    /// A signed HTTP request to the workflow's URL, `POST /hooks/<id>` of `serve --http`
    /// (SPEC WF-2, SV; issue 16): the request's JSON body is `$.event.body`.
    Webhook,
}

/// The case events a trigger may name.
pub const CASE_EVENTS: &[&str] = &[
    "case_created",
    "case_updated",
    "case_access_mode_updated",
    "case_collaborators_list_updated",
];

/// One step of a workflow, with where it is in the document.
#[derive(Clone, Debug)]
pub struct Step {
    /// Unique within the workflow; operators without one get a generated id.
    pub id: String,
    pub at: JsonPath,
    pub kind: StepKind,
}

pub use crate::services::grants::Grants;

/// The grant names a definition may use.
pub const GRANTS: &[&str] = &["cases:read", "cases:write", "events:emit", "access:check"];

/// Retry policy (SPEC WF-5): the delay grows by `BACKOFF` per attempt, up to `max_delay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    pub attempts: u32,
    pub delay: Duration,
    pub max_delay: Duration,
}

/// The longest step key, in bytes: a step id (at most 64 bytes) with the ids and iteration
/// numbers of the loops and nested workflows around it. It keys the step's journal entry,
/// interaction, timer and case idempotency in every store (PostgreSQL indexes no entry past
/// ~2.7 KB).
pub const MAX_STEP_KEY_BYTES: usize = 1024;

/// The backoff factor of SPEC WF-5.
pub const BACKOFF: f64 = 1.25;

/// What a step is.
#[derive(Clone, Debug)]
pub enum StepKind {
    /// A WASM component or a built-in step.
    Action {
        uses: Uses,
        with: Template,
        grants: Grants,
        timeout: Option<Duration>,
        retry: Option<Retry>,
    },
    If {
        conditions: Vec<Condition>,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    /// Ordered cases, first match wins, then the default.
    Switch {
        cases: Vec<(Vec<Condition>, Vec<Step>)>,
        default: Vec<Step>,
    },
    Loop {
        over: Template,
        parallel: Option<u32>,
        break_if: Vec<Condition>,
        body: Vec<Step>,
    },
    Parallel {
        branches: Vec<Vec<Step>>,
    },
    Wait {
        duration: Duration,
    },
    Exit {
        status: String,
        output: Template,
    },
    /// Another workflow file, run inline with `$.inputs` = `with`.
    Nested {
        path: PathBuf,
        with: Template,
    },
    /// Human input (SPEC IX): the run waits on hold until an allowed person answers or the
    /// interaction times out.
    Interaction(Box<Interaction>),
}

pub use crate::access::ExternalSso;
pub use crate::definition::form::Form;

/// An Interaction (SPEC IX-1..8): a form, who may answer it, and what happens on timeout.
#[derive(Clone, Debug)]
pub struct Interaction {
    /// Shown to the people who may answer; may interpolate the context.
    pub title: Template,
    pub form: Form,
    pub access: AccessSpec,
    /// None: waits until answered.
    pub timeout: Option<Duration>,
    /// Runs when the interaction times out; without it a timeout fails the run (fail closed,
    /// SPEC IX-8).
    pub on_timeout: Vec<Step>,
}

/// Access settings as written (SPEC IX-1); references resolve when the interaction opens.
#[derive(Clone, Debug, Default)]
pub struct AccessSpec {
    pub workspace_users: UsersSpec,
    pub external_sso: ExternalSso,
}

/// Which workspace members an interaction admits, as written.
#[derive(Clone, Debug, Default)]
pub enum UsersSpec {
    #[default]
    All,
    Selected {
        emails: Vec<crate::principal::Email>,
        roles: Vec<String>,
        /// Context references, each to an array of only emails or only role names (SPEC IX-3):
        /// the text as written, and the compiled reference.
        refs: Vec<(String, Template)>,
    },
}

/// Where an action's code lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Uses {
    /// A built-in step such as `cases/update-case-restrictions`, parsed with the definition.
    Builtin(crate::builtin::Builtin),
    /// A WebAssembly component (path resolved against the definition's directory).
    Component(PathBuf),
}

/// `left op right`, data not code (SPEC WF-3).
#[derive(Clone, Debug)]
pub struct Condition {
    pub left: Template,
    pub op: Op,
    pub right: Template,
}

/// Comparison operators of conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Contains,
    Exists,
    NotExists,
}

impl Op {
    /// Every operator name.
    pub const NAMES: &'static [&'static str] = &[
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "in",
        "contains",
        "exists",
        "not_exists",
    ];

    /// Parses an operator name.
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "in" => Op::In,
            "contains" => Op::Contains,
            "exists" => Op::Exists,
            "not_exists" => Op::NotExists,
            _ => return None,
        })
    }

    /// The operator's name, as written.
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::In => "in",
            Op::Contains => "contains",
            Op::Exists => "exists",
            Op::NotExists => "not_exists",
        }
    }
}
