//! Reading a workflow definition: JSON → [`Workflow`], every error located by JSON path and
//! line:column with what was expected (SPEC WF-1). Nothing is executed here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::builtin;
use crate::clock;
use crate::json_locate::{JsonPath, Located, SpecError};

use super::available::Available;
use super::model::*;
use super::refs::Template;
use super::resolver::Resolver;

/// Parses and validates the definition `text` read from `origin`.
pub fn parse(origin: &str, text: &str, resolver: &Resolver) -> Result<Workflow, Vec<SpecError>> {
    // Capped nesting (issue 14 item 9): a definition is stored at publish and read back.
    if let Some(e) =
        SpecError::byte_order_mark(origin, text).or_else(|| SpecError::too_deep(origin, text))
    {
        return Err(vec![e]);
    }
    // Counted before it is parsed: its `vars` enter every run's context whole (round 26).
    // Where it is written only, as every writing rule: a revision stored before, and the
    // runs on hold with it, still read (round 26 self-review).
    if !resolver.stored
        && let Err(message) = crate::json_limits::document_values_within("the definition", text)
    {
        return Err(vec![SpecError {
            origin: origin.to_owned(),
            line: 1,
            column: 1,
            path: "(document)".into(),
            message,
        }]);
    }
    if let Some(found) = crate::json_limits::inexact_integer(text) {
        return Err(vec![SpecError {
            origin: origin.to_owned(),
            line: found.line,
            column: found.column,
            path: "(document)".into(),
            message: found.message(),
        }]);
    }
    let value: Value = crate::json_limits::from_str(text).map_err(|e| {
        vec![SpecError {
            origin: origin.to_owned(),
            line: e.line(),
            column: e.column(),
            path: "(document)".into(),
            message: format!(
                "invalid JSON: {}",
                e.to_string().split(" at line ").next().unwrap_or_default()
            ),
        }]
    })?;
    let mut p = Parser {
        errors: Vec::new(),
        more_errors: 0,
        ids: BTreeSet::new(),
        silent: BTreeMap::new(),
        resolver: resolver.clone(),
        generated: 0,
        vars: Value::Null,
        flow_fields: None,
        step_fields: BTreeMap::new(),
        probing: false,
    };
    let workflow = p.workflow(&value);
    if let Some(w) = &workflow {
        p.vars = serde_json::json!({ "vars": w.vars });
        p.flow_fields = w.trigger.interaction.as_ref().map(|ix| {
            ix.form
                .fields
                .iter()
                .map(|f| (f.name.clone(), AnswerField::of(f)))
                .collect()
        });
        let all = super::model::steps_within(&w.steps);
        p.step_fields = all
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Interaction(ix) => Some((
                    s.id.clone(),
                    ix.form
                        .fields
                        .iter()
                        .map(|f| (f.name.clone(), AnswerField::of(f)))
                        .collect(),
                )),
                _ => None,
            })
            .collect();
        p.silent = all
            .iter()
            .filter_map(|s| Some((s.id.clone(), silent_kind(&s.kind)?)))
            .collect();
        // An id given twice is its own error: the other step may give an output.
        for s in all.iter().filter(|s| silent_kind(&s.kind).is_none()) {
            p.silent.remove(&s.id);
        }
        let mut available = Available::default();
        p.check_refs(&w.steps, &mut available, false);
        p.no_key_past_the_cap(&w.steps, 0);
        if let Some(run_as) = &w.run_as
            && let Err(e) = crate::principal::Principal::parse_run_as(run_as)
        {
            p.err(JsonPath::default().key("run_as"), e);
        }
    }
    match workflow {
        Some(w) if p.errors.is_empty() => Ok(w),
        _ => {
            if p.more_errors > 0 {
                p.errors.push(Located::new(
                    JsonPath::default(),
                    format!("and {} more errors, not listed", p.more_errors),
                ));
            }
            Err(crate::json_locate::locate_all(origin, text, p.errors))
        }
    }
}

struct Parser {
    errors: Vec<Located>,
    /// Errors found past [`MAX_ERRORS`], counted only.
    more_errors: usize,
    ids: BTreeSet<String>,
    /// Steps that give no output (`wait`, `if`, `switch`, `parallel`, `exit`), by id, with
    /// their kind: a reference to one read nothing in every run.
    silent: BTreeMap<String, &'static str>,
    resolver: Resolver,
    generated: usize,
    /// `{"vars": …}`: what a `$.vars` reference reads, known where the workflow is written.
    vars: Value,
    /// An Interaction Flow's form fields, by name, and whether each is required: what a
    /// `$.event.values.<name>` reference may read.
    flow_fields: Option<BTreeMap<String, AnswerField>>,
    /// Each interaction step's form fields, by step id, as [`Parser::flow_fields`].
    step_fields: BTreeMap<String, BTreeMap<String, AnswerField>>,
    /// Whether the references being checked are an `exists` or `not_exists`'s, which finding
    /// nothing answers rather than fails.
    probing: bool,
}

const TOP: &[&str] = &[
    "name",
    "workspace",
    "run_as",
    "trigger",
    "vars",
    "steps",
    "description",
];
/// The operators a step may have, exactly one each (SPEC WF-1); the run page draws by them too.
pub(crate) const OPERATORS: &[&str] = &[
    "uses",
    "if",
    "switch",
    "loop",
    "parallel",
    "wait",
    "exit",
    "workflow",
    "interaction",
];

/// Errors a definition is reported with at most; past them, only how many more. A 256 KiB
/// body of empty steps made 87,000 messages, tens of megabytes an API answer (hostile-input
/// review).
const MAX_ERRORS: usize = 100;

impl Parser {
    /// An error of the rules added on 2026-12-05 (a condition's `left`/`right`, a loop's
    /// `over`/`do`, `on_timeout` without `timeout`, a `?` reference to a step that exists
    /// nowhere, a literal non-list `in`, an `exit` in a loop): refused where a definition is
    /// written (validated, published, run from its file), not where a stored one is read
    /// again (`Resolver::stored`), whose runs go on as before rather than all fail (review of this
    /// round; an `exit` in a parallel loop fails at run time, as in a sequential one).
    fn authoring(&mut self, at: JsonPath, message: impl Into<String>) {
        if !self.resolver.stored {
            self.err(at, message);
        }
    }

    fn err(&mut self, at: JsonPath, message: impl Into<String>) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(Located::new(at, message));
        } else {
            self.more_errors += 1;
        }
    }

    fn object<'a>(
        &mut self,
        v: &'a Value,
        at: &JsonPath,
        what: &str,
    ) -> Option<&'a Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.err(at.clone(), format!("expected {what} (a JSON object)"));
        }
        o
    }

    fn string(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        at: &JsonPath,
        required: bool,
    ) -> Option<String> {
        match o.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            None if !required => None,
            None => {
                self.err(at.clone(), format!("expected a `{key}` string"));
                None
            }
            Some(_) => {
                self.err(at.key(key), "expected a non-empty string");
                None
            }
        }
    }

    fn unknown_keys(&mut self, o: &Map<String, Value>, at: &JsonPath, known: &[&str], what: &str) {
        for key in o.keys().filter(|k| !known.contains(&k.as_str())) {
            self.err(
                at.key(key),
                format!(
                    "unknown field `{}` in {what}; expected one of: {}",
                    crate::text::clip(key),
                    known.join(", ")
                ),
            );
        }
    }

    fn template(&mut self, v: Option<&Value>, at: JsonPath) -> Template {
        match v.map(Template::compile).transpose() {
            Ok(t) => {
                let t = t.unwrap_or(Template::Literal(Value::Object(Map::new())));
                if !self.resolver.stored {
                    self.no_reference_read_as_text(&t, &at);
                    for r in t.refs() {
                        if let Err(why) = super::path_shape::filter_comparisons(&r.text) {
                            self.err(
                                at.clone(),
                                format!("`{}` {why}", crate::text::clip(&r.text)),
                            );
                        }
                    }
                }
                t
            }
            Err(e) => {
                self.err(at, format!("bad reference: {e}"));
                Template::Literal(Value::Null)
            }
        }
    }

    /// Refuses, where a definition is written, literal text written as a reference: from the
    /// root in brackets (`$['event']`), or behind an invisible character (a BOM, a zero-width
    /// space) that editors leave. Read as text, `exists` on it always held and `eq` never did
    /// (round 16 hostile-input review: a trigger restricted every new case). A stored
    /// revision still loads.
    fn no_reference_read_as_text(&mut self, t: &Template, at: &JsonPath) {
        match t {
            Template::Literal(Value::String(s)) => {
                let blank = |c: char| c.is_whitespace() || crate::text::is_hidden_at(None, c, None);
                // Blank or hidden characters before the `$` or between it and what follows
                // (`$\u{200b}.event`, `$ .event`: round 17 hostile-input review).
                let after = s
                    .trim_start_matches(blank)
                    .strip_prefix('$')
                    .map(|after| after.trim_start_matches(blank));
                // `$[`, or `$.` then (past blank or hidden characters) a name, a wildcard, a
                // descendant or a bracket: not `$ 5.00` nor `$.50`.
                let reads_as_reference = after.is_some_and(|after| {
                    if after.starts_with('[') {
                        return true;
                    }
                    after.strip_prefix('.').is_some_and(|rest| {
                        rest.trim_start_matches(blank)
                            .chars()
                            .next()
                            .is_some_and(|c| {
                                c.is_alphabetic() || matches!(c, '_' | '.' | '*' | '[')
                            })
                    })
                });
                if reads_as_reference {
                    let message = format!(
                        "`{}` reads as text, not a reference: a reference starts with `$.`, \
                         with nothing before it (a name in brackets after the first: \
                         `$.steps['fetch-ip']`)",
                        crate::text::clip(s)
                    );
                    self.err(at.clone(), message);
                }
            }
            Template::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.no_reference_read_as_text(item, &at.index(i));
                }
            }
            Template::Object(fields) => {
                for (k, v) in fields {
                    self.no_reference_read_as_text(v, &at.key(k));
                }
            }
            // A hidden character inside a reference names a key no event or output holds:
            // `exists` on it never held (round 16 self-review).
            Template::Ref(r) => self.no_hidden_character(&r.text, at),
            Template::Text(parts) => {
                for part in parts {
                    if let super::refs::Part::Ref(r) = part {
                        self.no_hidden_character(&r.text, at);
                    }
                }
            }
            Template::Literal(_) => {}
        }
    }

    /// Refuses, where it is written, a reference holding a character that hides itself.
    fn no_hidden_character(&mut self, reference: &str, at: &JsonPath) {
        if let Some(c) = crate::text::first_hidden(reference) {
            let message = format!(
                "`{}` holds the hidden character U+{:04X}, which no name it reads holds",
                crate::text::clip(reference),
                u32::from(c)
            );
            self.err(at.clone(), message);
        }
    }

    fn duration(&mut self, v: Option<&Value>, at: JsonPath) -> Option<Duration> {
        let text = v?.as_str();
        match text.map(parse_duration) {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) if e.contains("at most") => {
                self.err(at, e);
                None
            }
            _ => {
                self.err(
                    at,
                    "expected a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\"",
                );
                None
            }
        }
    }

    fn workflow(&mut self, v: &Value) -> Option<Workflow> {
        let root = JsonPath::default();
        let o = self.object(v, &root, "a workflow definition")?;
        self.unknown_keys(o, &root, TOP, "a workflow");
        let name = self.string(o, "name", &root, true);
        // Its name keys its revisions, shares, webhooks and runs in every store (PostgreSQL
        // indexes no entry past ~2.7 KB, nor text holding NUL): bounded as every name is.
        // One visible line where it is written (validate printed "ok" for a name publishing
        // then refused); a stored one is read as it was.
        if let Some(n) = &name {
            let (what, max) = ("the workflow's name", crate::text::MAX_NAME_CHARS);
            let checked = if self.resolver.stored {
                crate::text::check_len(what, n, max)
            } else {
                crate::text::check_name(what, n, max)
            };
            if let Err(e) = checked {
                self.err(root.key("name"), e);
            }
            // A path's `.` or `..` in the web's and the API's addresses (`/flows/..`): clients
            // resolve them away, so only the CLI could start such a flow (round 15 web review).
            if matches!(n.trim(), "." | "..") {
                self.authoring(
                    root.key("name"),
                    format!("the workflow's name `{n}` is a path's `.` or `..`, which no address can name"),
                );
            }
        }
        let workspace = self.string(o, "workspace", &root, true);
        let run_as = self.string(o, "run_as", &root, false);
        let trigger = match o.get("trigger") {
            None => Some(Trigger {
                on: TriggerKind::Manual,
                conditions: Vec::new(),
                interaction: None,
            }),
            Some(t) => self.trigger(t, root.key("trigger")),
        };
        let vars = o
            .get("vars")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        if !vars.is_object() {
            self.err(root.key("vars"), "expected `vars` to be a JSON object");
        }
        // Known before the steps are read: a built-in step's field read from them alone is
        // checked where written.
        self.vars = serde_json::json!({ "vars": vars });
        let steps = match o.get("steps") {
            Some(s) => self.steps(s, root.key("steps")),
            None => {
                self.err(root.clone(), "expected a `steps` array");
                Vec::new()
            }
        };
        let trigger = trigger?;
        if trigger.on != TriggerKind::Manual && run_as.is_none() {
            self.err(
                root.key("trigger"),
                "a triggered workflow needs `run_as`: the identity its runs act as (SPEC WF-6)",
            );
        }
        Some(Workflow {
            name: name?,
            workspace: workspace?,
            run_as,
            trigger,
            vars,
            steps,
            shared_from: None,
            resolver: self.resolver.clone(),
        })
    }

    fn trigger(&mut self, v: &Value, at: JsonPath) -> Option<Trigger> {
        let o = self.object(v, &at, "a trigger")?;
        self.unknown_keys(o, &at, &["on", "event", "if", "interaction"], "a trigger");
        let on = self.string(o, "on", &at, true)?;
        let mut interaction = None;
        if on != "interaction" && o.contains_key("interaction") {
            self.err(
                at.key("interaction"),
                "`interaction` settings belong to a trigger with \"on\": \"interaction\"",
            );
        }
        // Read by a custom-event trigger only: `{"on": "case_updated", "event":
        // "case_access_mode_updated"}` started on every case update (round 18 hostile-input
        // review). Where written: a stored revision still loads.
        if on != "custom_event" && o.contains_key("event") {
            self.authoring(
                at.key("event"),
                "`event` names the custom event kind of a trigger with \"on\": \"custom_event\"; \
                 a case event is named by `on` itself",
            );
        }
        let kind = match on.as_str() {
            "manual" => TriggerKind::Manual,
            "interaction" => {
                match o.get("interaction") {
                    Some(v) => {
                        interaction = self
                            .interaction(v, at.key("interaction"), true)
                            .map(Box::new);
                    }
                    None => self.err(
                        at.clone(),
                        "an interaction trigger needs `interaction`: the form and who may submit it",
                    ),
                }
                TriggerKind::Interaction
            }
            "custom_event" => {
                let kind = self.string(o, "event", &at, true)?;
                // A revision published before trigger names were reserved still reads (its
                // trigger waits for events no step can emit now).
                let reserved_since = crate::services::events::names_a_trigger(&kind);
                match crate::services::events::check_kind(&kind) {
                    Err(why) if reserved_since => self.authoring(at.key("event"), why),
                    Err(why) => self.err(at.key("event"), why),
                    Ok(()) => {}
                }
                TriggerKind::Custom(kind)
            }
            "webhook" => {
                // A request either starts a run or is refused; a request answered 202 that
                // started nothing would read as accepted work (issue 16).
                if o.contains_key("if") {
                    self.err(
                        at.key("if"),
                        "a webhook trigger takes no conditions: every verified request starts a run",
                    );
                }
                TriggerKind::Webhook
            }
            case if CASE_EVENTS.contains(&case) => TriggerKind::Case(case.to_owned()),
            other => {
                self.err(
                    at.key("on"),
                    format!(
                        "unknown trigger `{}`; expected manual, interaction, webhook, custom_event or one of {}",
                        crate::text::clip(other),
                        CASE_EVENTS.join(", ")
                    ),
                );
                return None;
            }
        };
        // Conditions are evaluated where an event is dispatched; a run started by hand or by
        // a form would run whatever they said, as would a limit written there (WF-2).
        if matches!(kind, TriggerKind::Manual | TriggerKind::Interaction) && o.contains_key("if") {
            self.err(
                at.key("if"),
                format!(
                    "a{} trigger takes no conditions: they are checked only on case and custom events, and every start of this one would run whatever they say (check the values in a step)",
                    if kind == TriggerKind::Manual { " manual" } else { "n interaction" }
                ),
            );
        }
        let conditions = self.conditions(o.get("if"), at.key("if"));
        // They see only the event (`{ "event": ... }` is their whole context): any other
        // reference never resolves and would silently start nothing.
        for (i, c) in conditions.iter().enumerate() {
            for (side, t) in [("left", &c.left), ("right", &c.right)] {
                for r in t.refs() {
                    if r.root() != Some("event") {
                        self.err(
                            at.key("if").index(i).key(side),
                            format!(
                                "`{}`: a trigger's conditions see only the event; start the reference with $.event",
                                crate::text::clip(&r.text)
                            ),
                        );
                    }
                }
            }
        }
        Some(Trigger {
            on: kind,
            conditions,
            interaction,
        })
    }

    fn conditions(&mut self, v: Option<&Value>, at: JsonPath) -> Vec<Condition> {
        let Some(v) = v else { return Vec::new() };
        let Some(items) = v.as_array() else {
            self.err(
                at,
                "expected an array of conditions {\"left\", \"op\", \"right\"}",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, c) in items.iter().enumerate() {
            let at = at.index(i);
            let Some(o) = self.object(c, &at, "a condition {\"left\", \"op\", \"right\"}") else {
                continue;
            };
            self.unknown_keys(o, &at, &["left", "op", "right"], "a condition");
            let op_name = o.get("op").and_then(Value::as_str).unwrap_or_default();
            let Some(op) = Op::parse(op_name) else {
                self.err(
                    at.key("op"),
                    format!(
                        "unknown operator `{}`; expected one of {}",
                        crate::text::clip(op_name),
                        Op::NAMES.join(", ")
                    ),
                );
                continue;
            };
            // `left` is what is compared: without it an `exists` always held (it read `{}`).
            if !o.contains_key("left") {
                self.authoring(
                    at.key("left"),
                    "a condition needs `left`, the value it tests",
                );
            }
            let left = self.template(o.get("left"), at.key("left"));
            let unary = matches!(op, Op::Exists | Op::NotExists);
            // Whether something was found is a reference's to say: text, or a template that
            // renders a missing or null value as "", is always there (round 17 hostile-input
            // review: `exists` on "{{ $.event.case.assignee }}" held for an unassigned case).
            if unary && o.contains_key("left") && !matches!(left, Template::Ref(_)) {
                self.authoring(
                    at.key("left"),
                    format!(
                        "`{op_name}` asks whether a reference finds something: `left` must be a \
                         reference such as \"$.event.case.assignee\""
                    ),
                );
            }
            match (unary, o.get("right")) {
                (true, Some(_)) => self.authoring(
                    at.key("right"),
                    format!("`{op_name}` tests `left` alone and takes no `right`"),
                ),
                (false, None) => self.authoring(
                    at.key("right"),
                    format!("`{op_name}` needs `right`, the value `left` is compared with"),
                ),
                _ => {}
            }
            let right = self.template(o.get("right").or(Some(&Value::Null)), at.key("right"));
            // `in` looks in a list: a literal list, or a reference (checked as it renders);
            // anything else never held.
            if op == Op::In
                && o.contains_key("right")
                && !matches!(right, Template::Array(_) | Template::Ref(_))
            {
                self.authoring(
                    at.key("right"),
                    "`in` looks for `left` in a list: `right` must be an array or a reference to one",
                );
            }
            for (side, operand) in [("left", &left), ("right", &right)] {
                self.no_hidden_operand(operand, &at.key(side));
            }
            self.no_list_compared_as_one(op, &left, &right, &at);
            out.push(Condition { left, op, right });
        }
        out
    }

    /// Refuses, where written, a reference that is always a list (it may select several
    /// nodes) compared as one value: `eq "vip"` never held and `ne` always did, an order
    /// failed every run, and `in` looked for the whole list (round 20 hostile-input review,
    /// after round 19 made such references lists whatever they find).
    fn no_list_compared_as_one(
        &mut self,
        op: Op,
        left: &Template,
        right: &Template,
        at: &JsonPath,
    ) {
        let list_ref = |t: &Template| match t {
            Template::Ref(r) if !r.singular => Some(r.text.clone()),
            _ => None,
        };
        let one_value = |t: &Template| {
            !matches!(
                t,
                Template::Ref(_) | Template::Array(_) | Template::Literal(Value::Array(_))
            )
        };
        // A list written where one value is looked for is looked for whole, as one item,
        // as a list reference there is (round 21 engine review: `tags contains ["phishing",
        // "bec"]` published, and its trigger never fired).
        let written_list =
            |t: &Template| matches!(t, Template::Array(_) | Template::Literal(Value::Array(_)));
        let written = match op {
            Op::Contains if written_list(right) => Some("right"),
            Op::In if written_list(left) => Some("left"),
            _ => None,
        };
        if let Some(side) = written {
            self.authoring(
                at.key(side),
                format!(
                    "`{}` looks for one value, and a list written here is looked for whole, as \
                     one item: write one condition per value (to look for a list as one item, \
                     name it in `vars` and refer to it)",
                    op.name()
                ),
            );
        }
        let sides = [("left", left, right), ("right", right, left)];
        for (side, this, other) in sides {
            let Some(text) = list_ref(this) else { continue };
            let refused = match op {
                Op::Gt | Op::Gte | Op::Lt | Op::Lte => true,
                Op::Eq | Op::Ne => one_value(other),
                // `contains` looks for one value in a list or text: a list on its right was
                // looked for whole (round 20 self-review), as `in`'s left.
                Op::In => side == "left",
                Op::Contains => side == "right",
                Op::Exists | Op::NotExists => false,
            };
            if refused {
                let or_contains = if op == Op::Contains {
                    ""
                } else {
                    ", or use `contains`"
                };
                self.authoring(
                    at.key(side),
                    format!(
                        "{}, which `{}` does not compare with one value: select one with an \
                         index such as `[0]`{or_contains}",
                        always_a_list(&text),
                        op.name()
                    ),
                );
            }
        }
    }

    /// Refuses, where written, a condition's text value holding an invisible character:
    /// `eq "open\u{200b}"` never held, and `gte "high\u{200b}"` ordered as text (round 18
    /// hostile-input review). Stored revisions still load.
    fn no_hidden_operand(&mut self, operand: &Template, at: &JsonPath) {
        match operand {
            // Beside visible text only: a value of invisible characters alone looks for them
            // (`contains "\u{202e}"`, the right-to-left trick in a file name), on purpose.
            Template::Literal(Value::String(text))
                if text
                    .chars()
                    .any(|c| !c.is_whitespace() && !crate::text::is_hidden_at(None, c, None)) =>
            {
                if let Some(c) = invisible_in(text) {
                    self.authoring(
                        at.clone(),
                        format!(
                            "the value `{}` holds U+{:04X}, an invisible character beside its \
                             text, which the values it is compared with do not hold there; to \
                             look for the character itself, write it alone",
                            crate::text::clip(text),
                            u32::from(c)
                        ),
                    );
                }
            }
            Template::Literal(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.no_hidden_operand(&Template::Literal(item.clone()), &at.index(i));
                }
            }
            Template::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.no_hidden_operand(item, &at.index(i));
                }
            }
            // Text around a reference is never the character alone (self-review).
            Template::Text(parts) => {
                let written: String = parts
                    .iter()
                    .filter_map(|p| match p {
                        super::refs::Part::Lit(text) => Some(text.as_str()),
                        super::refs::Part::Ref(_) => None,
                    })
                    .collect();
                if let Some(c) = invisible_in(&written) {
                    self.authoring(
                        at.clone(),
                        format!(
                            "the text around the reference holds U+{:04X}, an invisible \
                             character the values it is compared with do not hold there",
                            u32::from(c)
                        ),
                    );
                }
            }
            Template::Object(fields) => {
                for (key, value) in fields {
                    self.no_hidden_operand(value, &at.key(key));
                }
            }
            Template::Literal(Value::Object(fields)) => {
                for (key, value) in fields {
                    self.no_hidden_operand(&Template::Literal(value.clone()), &at.key(key));
                }
            }
            _ => {}
        }
    }

    fn steps(&mut self, v: &Value, at: JsonPath) -> Vec<Step> {
        let Some(items) = v.as_array() else {
            self.err(at, "expected an array of steps");
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.step(s, at.index(i)))
            .collect()
    }

    fn step(&mut self, v: &Value, at: JsonPath) -> Option<Step> {
        let o = self.object(v, &at, "a step")?;
        let ops: Vec<&str> = OPERATORS
            .iter()
            .copied()
            .filter(|k| o.contains_key(*k))
            .collect();
        let op = match ops.as_slice() {
            [one] => *one,
            [] => {
                self.err(
                    at,
                    format!(
                        "unknown operator: a step needs exactly one of {}",
                        OPERATORS.join(", ")
                    ),
                );
                return None;
            }
            many => {
                self.err(
                    at,
                    format!("a step has one operator, found {}", many.join(" and ")),
                );
                return None;
            }
        };
        let id = match o.get("id") {
            Some(Value::String(id)) if valid_id(id) => id.clone(),
            Some(_) => {
                self.err(
                    at.key("id"),
                    "expected an id of letters, digits, `_` or `-`",
                );
                return None;
            }
            None if op == "uses" || op == "loop" || op == "interaction" || op == "workflow" => {
                self.err(
                    at.clone(),
                    format!("a `{op}` step needs an `id` (its output is `$.steps.<id>`)"),
                );
                return None;
            }
            None => {
                self.generated += 1;
                format!("_{op}{}", self.generated)
            }
        };
        if !self.ids.insert(id.clone()) {
            self.err(at.key("id"), format!("duplicate step id `{id}`"));
        }
        let kind = match op {
            "uses" => self.action(o, &at)?,
            "if" => {
                self.unknown_keys(o, &at, &["id", "if", "then", "else"], "an `if` step");
                let conditions = self.conditions(o.get("if"), at.key("if"));
                // No condition always held: `then` ran on every path.
                if o["if"].as_array().is_some_and(Vec::is_empty) {
                    self.authoring(at.key("if"), "`if` needs at least one condition");
                }
                StepKind::If {
                    conditions,
                    then: o
                        .get("then")
                        .map(|s| self.steps(s, at.key("then")))
                        .unwrap_or_default(),
                    otherwise: o
                        .get("else")
                        .map(|s| self.steps(s, at.key("else")))
                        .unwrap_or_default(),
                }
            }
            "switch" => {
                self.unknown_keys(o, &at, &["id", "switch", "default"], "a `switch` step");
                let mut cases = Vec::new();
                for (i, c) in o["switch"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let cat = at.key("switch").index(i);
                    let Some(co) = self.object(c, &cat, "a switch case {\"when\", \"then\"}")
                    else {
                        continue;
                    };
                    self.unknown_keys(co, &cat, &["when", "then"], "a switch case");
                    let when = self.conditions(co.get("when"), cat.key("when"));
                    if co
                        .get("when")
                        .is_none_or(|w| w.as_array().is_some_and(Vec::is_empty))
                    {
                        self.authoring(
                            cat.key("when"),
                            "a switch case needs `when`, at least one condition (use `default` for the rest)",
                        );
                    }
                    let then = co
                        .get("then")
                        .map(|s| self.steps(s, cat.key("then")))
                        .unwrap_or_default();
                    cases.push((when, then));
                }
                if !o["switch"].is_array() {
                    self.err(
                        at.key("switch"),
                        "expected an array of {\"when\", \"then\"} cases",
                    );
                }
                let default = o
                    .get("default")
                    .map(|s| self.steps(s, at.key("default")))
                    .unwrap_or_default();
                StepKind::Switch { cases, default }
            }
            "loop" => {
                self.unknown_keys(o, &at, &["id", "loop", "do"], "a `loop` step");
                let l = self.object(
                    &o["loop"],
                    &at.key("loop"),
                    "loop settings {\"over\", \"parallel\", \"break_if\"}",
                )?;
                self.unknown_keys(
                    l,
                    &at.key("loop"),
                    &["over", "parallel", "break_if"],
                    "loop settings",
                );
                if !l.contains_key("over") {
                    self.authoring(
                        at.key("loop").key("over"),
                        "a loop needs `over`, the list it goes over",
                    );
                }
                let over = self.template(l.get("over"), at.key("loop").key("over"));
                // Text, a number or an object is never a list: every run failed at the loop.
                if l.contains_key("over") && !matches!(over, Template::Array(_) | Template::Ref(_))
                {
                    self.authoring(
                        at.key("loop").key("over"),
                        "a loop goes over a list: `over` must be an array or a reference to one \
                         (`$.steps.q.cases`, not `{{ $.steps.q.cases }}`)",
                    );
                }
                // A written list past the loop's bound failed every run at the loop, after the
                // steps before it made their effects (round 16 hostile-input review).
                if let Template::Array(items) = &over
                    && items.len() > super::model::MAX_LOOP_ITEMS
                {
                    self.authoring(
                        at.key("loop").key("over"),
                        format!(
                            "`loop.over` has {} items; a loop goes over at most {} (split the list)",
                            items.len(),
                            super::model::MAX_LOOP_ITEMS
                        ),
                    );
                }
                let parallel = match l.get("parallel") {
                    None => None,
                    Some(n) => match n.as_u64().filter(|n| (1..=64).contains(n)) {
                        Some(n) => Some(n as u32),
                        None => {
                            self.err(
                                at.key("loop").key("parallel"),
                                "expected a concurrency cap from 1 to 64",
                            );
                            None
                        }
                    },
                };
                let break_if = self.conditions(l.get("break_if"), at.key("loop").key("break_if"));
                // Parallel parts start before the items before them end: nothing could stop
                // the loop at the item that matched (WF-4).
                if parallel.is_some_and(|n| n > 1) && !break_if.is_empty() {
                    self.err(
                        at.key("loop").key("break_if"),
                        "`break_if` needs the items taken one at a time: leave `parallel` out or set it to 1",
                    );
                }
                if !o.contains_key("do") {
                    self.authoring(
                        at.key("do"),
                        "a loop needs `do`, the steps it runs for each item",
                    );
                }
                let body = o
                    .get("do")
                    .map(|s| self.steps(s, at.key("do")))
                    .unwrap_or_default();
                // An `exit` would end the run from one item (and a parallel loop's went
                // unheeded: the run went on past a timed-out approval's exit; hostile-input
                // review).
                if super::model::steps_within(&body)
                    .iter()
                    .any(|s| matches!(s.kind, StepKind::Exit { .. }))
                {
                    self.authoring(
                        at.key("do"),
                        "`exit` inside a loop is not supported: use `break_if` to stop the loop, \
                         and an `exit` after it",
                    );
                }
                StepKind::Loop {
                    over,
                    parallel,
                    break_if,
                    body,
                }
            }
            "parallel" => {
                self.unknown_keys(o, &at, &["id", "parallel"], "a `parallel` step");
                let branches = o["parallel"].as_array().cloned().unwrap_or_default();
                if branches.len() < 2 {
                    self.err(
                        at.key("parallel"),
                        "expected an array of at least two branches (each an array of steps)",
                    );
                }
                // Fan-out is bounded where it is written (SPEC WF-4, ST-4), like a loop's cap.
                let most = MAX_PARALLEL_BRANCHES;
                if branches.len() > most {
                    self.err(
                        at.key("parallel"),
                        format!("expected at most {most} branches, got {}", branches.len()),
                    );
                }
                StepKind::Parallel {
                    branches: branches
                        .iter()
                        .enumerate()
                        .map(|(i, b)| self.steps(b, at.key("parallel").index(i)))
                        .collect(),
                }
            }
            "wait" => {
                self.unknown_keys(o, &at, &["id", "wait"], "a `wait` step");
                StepKind::Wait {
                    duration: self.duration(o.get("wait"), at.key("wait"))?,
                }
            }
            "exit" => {
                self.unknown_keys(o, &at, &["id", "exit"], "an `exit` step");
                let e = self.object(&o["exit"], &at.key("exit"), "{\"status\", \"output\"}")?;
                self.unknown_keys(e, &at.key("exit"), &["status", "output"], "an exit");
                let status = self
                    .string(e, "status", &at.key("exit"), false)
                    .unwrap_or_else(|| "succeeded".into());
                // Stored with the run and shown in every listing of runs: a state's length,
                // printable (a NUL the store refuses left the run unrecordable, resumed and
                // failing again every round; review).
                if let Err(why) = exit_status_ok(&status) {
                    self.err(at.key("exit").key("status"), why);
                } else if let Some(c) = crate::text::first_hidden(&status) {
                    // Read as a state by people and by conditions: a bidi override made it
                    // read otherwise wherever the run is listed (round 17 hostile-input
                    // review). Where written: a stored revision still loads.
                    self.authoring(
                        at.key("exit").key("status"),
                        format!(
                            "the exit status `{}` holds U+{:04X}, an invisible character",
                            crate::text::clip(&crate::text::written_out(
                                &status,
                                crate::text::is_hidden_at
                            )),
                            u32::from(c)
                        ),
                    );
                }
                StepKind::Exit {
                    status,
                    output: self.template(
                        e.get("output").or(Some(&Value::Null)),
                        at.key("exit").key("output"),
                    ),
                }
            }
            "workflow" => {
                self.unknown_keys(
                    o,
                    &at,
                    &["id", "workflow", "with"],
                    "a nested `workflow` step",
                );
                let file = self.string(o, "workflow", &at, true)?;
                let path = match self.resolver.nested_path(&file) {
                    Ok(path) => path,
                    Err(e) => {
                        self.err(at.key("workflow"), e);
                        return None;
                    }
                };
                if !self.resolver.has_nested(&path) {
                    let why = if path.exists() {
                        "is not a regular file"
                    } else {
                        "is missing"
                    };
                    self.err(
                        at.key("workflow"),
                        format!("workflow file `{}` {why}", path.display()),
                    );
                }
                StepKind::Nested {
                    path,
                    with: self.template(o.get("with"), at.key("with")),
                }
            }
            _ => {
                self.unknown_keys(o, &at, &["id", "interaction"], "an `interaction` step");
                let ix = self.interaction(&o["interaction"], at.key("interaction"), false)?;
                StepKind::Interaction(Box::new(ix))
            }
        };
        Some(Step { id, at, kind })
    }

    /// An interaction's settings (SPEC IX-1..3); `in_trigger` for an Interaction Flow started
    /// by its form, where context references are refused (IX-3) and there is no timeout.
    fn interaction(&mut self, v: &Value, at: JsonPath, in_trigger: bool) -> Option<Interaction> {
        let o = self.object(v, &at, "interaction settings {\"form\", \"access\", ...}")?;
        let known: &[&str] = if in_trigger {
            &["title", "form", "access"]
        } else {
            &["title", "form", "access", "timeout", "on_timeout"]
        };
        self.unknown_keys(o, &at, known, "interaction settings");
        // Text, or text a reference gives: a number, an object, a list or a boolean was shown
        // as its JSON text (round 21 hostile-input review).
        if let Some(other) = o.get("title").filter(|t| !t.is_string() && !t.is_null()) {
            self.authoring(
                at.key("title"),
                format!(
                    "an interaction's title is text (or a reference to text), not {}",
                    crate::text::clip(&other.to_string())
                ),
            );
        }
        let title = self.template(
            Some(o.get("title").unwrap_or(&Value::String(String::new()))),
            at.key("title"),
        );
        // Checked where written, as the form is: a literal past the bound was stored with
        // every flow and listed whole, or failed only when a run reached it (hostile-input
        // review).
        if let Some(text) = o.get("title").and_then(Value::as_str)
            && title.refs().is_empty()
        {
            let (chars, max) = (
                text.chars().count(),
                crate::text::MAX_INTERACTION_TITLE_CHARS,
            );
            if chars > max {
                self.err(
                    at.key("title"),
                    format!("the title is too long: {chars} characters, at most {max}"),
                );
            }
        }
        // A flow's form is shown before anything is known: a reference in its title never
        // resolved, and the workflow's name was shown instead, silently (SPEC IX-3).
        if in_trigger && !title.refs().is_empty() {
            self.err(
                at.key("title"),
                "a form-started flow's title is shown before any event: it holds no references",
            );
        }
        let form = match o.get("form") {
            Some(f) => self.form(f, at.key("form")),
            None => {
                self.err(at.clone(), "an interaction needs a `form` with `fields`");
                None
            }
        };
        let access = match o.get("access") {
            Some(a) => self.access(a, at.key("access"), in_trigger),
            None => AccessSpec::default(),
        };
        let timeout = self.duration(o.get("timeout"), at.key("timeout"));
        // A path for a timeout that never comes would never run.
        if o.contains_key("on_timeout") && !o.contains_key("timeout") {
            self.authoring(
                at.key("on_timeout"),
                "`on_timeout` needs a `timeout` to wait for",
            );
        }
        let on_timeout = o
            .get("on_timeout")
            .map(|s| self.steps(s, at.key("on_timeout")))
            .unwrap_or_default();
        Some(Interaction {
            title,
            form: form?,
            access,
            timeout,
            on_timeout,
        })
    }

    fn form(&mut self, v: &Value, at: JsonPath) -> Option<Form> {
        let o = self.object(v, &at, "a form {\"fields\": [...]}")?;
        self.unknown_keys(o, &at, &["fields"], "a form");
        let Some(items) = o.get("fields").and_then(Value::as_array) else {
            self.err(at, "expected `fields`: an array of {\"name\", \"type\"}");
            return None;
        };
        use crate::definition::form::{
            MAX_CHOICE_OPTIONS, MAX_FORM_BYTES, MAX_FORM_FIELDS, MAX_FORM_TEXT_CHARS,
        };
        let bytes = v.to_string().len();
        if bytes > MAX_FORM_BYTES {
            self.err(
                at.clone(),
                format!("the form takes {bytes} bytes of JSON; at most {MAX_FORM_BYTES}"),
            );
        }
        if items.len() > MAX_FORM_FIELDS {
            self.err(
                at.key("fields"),
                format!(
                    "the form has {} fields; at most {MAX_FORM_FIELDS}",
                    items.len()
                ),
            );
            return None;
        }
        let mut fields: Vec<crate::definition::form::Field> = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, f) in items.iter().enumerate() {
            let at = at.key("fields").index(i);
            let Some(fo) = self.object(f, &at, "a field {\"name\", \"type\"}") else {
                continue;
            };
            self.unknown_keys(
                fo,
                &at,
                &["name", "type", "label", "required", "options"],
                "a field",
            );
            let Some(name) = self.string(fo, "name", &at, true) else {
                continue;
            };
            if let Err(why) =
                crate::text::check_len("a field's name", &name, crate::text::MAX_NAME_CHARS)
            {
                self.err(at.key("name"), why);
            } else if let Err(why) =
                crate::text::check_name("a field's name", &name, crate::text::MAX_NAME_CHARS)
            {
                // A browser posts a line break as CRLF: the web could not answer such a field.
                self.authoring(at.key("name"), why);
            }
            if !names.insert(name.clone()) {
                self.err(at.key("name"), format!("duplicate field `{name}`"));
            }
            // The web form's own field: an answer's `csrf` was its token, never the field's,
            // so a required one could not be answered on the web (hostile-input review).
            if name == crate::definition::form::WEB_TOKEN_FIELD {
                self.err(
                    at.key("name"),
                    "`csrf` is the web form's own field; name the field otherwise",
                );
            }
            use crate::definition::form::{FIELD_TYPES, FieldKind};
            // Only a `choice` offers options: on another field they were dropped, and any
            // answer taken (round 19 hostile-input review).
            if fo.contains_key("options")
                && fo.get("type").and_then(Value::as_str) != Some("choice")
            {
                self.authoring(
                    at.key("options"),
                    "only a `choice` field offers `options`; make it `\"type\": \"choice\"` \
                     or leave them out",
                );
            }
            let kind = match fo.get("type").and_then(Value::as_str) {
                Some("text") => FieldKind::Text,
                Some("number") => FieldKind::Number,
                Some("boolean") => FieldKind::Boolean,
                Some("email") => FieldKind::Email,
                Some("choice") => {
                    let listed = fo.get("options").and_then(Value::as_array);
                    let options: Vec<String> = listed
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    // An option that is not text is an error, not an option dropped.
                    for (i, option) in listed.into_iter().flatten().enumerate() {
                        match option.as_str() {
                            None => self.err(at.key("options").index(i), "expected text"),
                            Some(text) => {
                                if let Err(why) =
                                    crate::text::check_len("an option", text, MAX_FORM_TEXT_CHARS)
                                {
                                    self.err(at.key("options").index(i), why);
                                } else if text.is_empty() || text.chars().any(char::is_control) {
                                    // The web posts no empty value and a line break as CRLF:
                                    // such an option could be chosen at the CLI only.
                                    self.authoring(
                                        at.key("options").index(i),
                                        "an option is one line of text, not empty",
                                    );
                                } else if let Some(c) = crate::text::first_hidden(text) {
                                    // Typed as it reads, it never matched, and a condition
                                    // on it never held (round 19 hostile-input review).
                                    self.authoring(
                                        at.key("options").index(i),
                                        format!(
                                            "option `{}` holds U+{:04X}, an invisible \
                                             character: typed as it reads it is never chosen",
                                            crate::text::clip(text),
                                            u32::from(c)
                                        ),
                                    );
                                }
                            }
                        }
                    }
                    if options.len() > MAX_CHOICE_OPTIONS {
                        self.err(
                            at.key("options"),
                            format!(
                                "{} options; a `choice` field offers at most {MAX_CHOICE_OPTIONS}",
                                options.len()
                            ),
                        );
                    }
                    if options.is_empty() {
                        self.err(
                            at.key("options"),
                            "a `choice` field needs `options`: an array of strings",
                        );
                    }
                    FieldKind::Choice { options }
                }
                _ => {
                    self.err(
                        at.key("type"),
                        format!("expected a field type: one of {}", FIELD_TYPES.join(", ")),
                    );
                    continue;
                }
            };
            let required = match fo.get("required") {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    self.err(at.key("required"), "expected true or false");
                    true
                }
            };
            let label = match fo.get("label") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => {
                    if let Err(why) = crate::text::check_len("a label", s, MAX_FORM_TEXT_CHARS) {
                        self.err(at.key("label"), why);
                    }
                    Some(s.clone())
                }
                Some(_) => {
                    self.err(at.key("label"), "expected text");
                    None
                }
            };
            fields.push(crate::definition::form::Field {
                name,
                kind,
                label,
                required,
            });
        }
        if fields.is_empty() && self.errors.is_empty() {
            self.err(at.key("fields"), "a form needs at least one field");
        }
        Some(Form { fields })
    }

    fn access(&mut self, v: &Value, at: JsonPath, in_trigger: bool) -> AccessSpec {
        let Some(o) = self.object(
            v,
            &at,
            "access settings {\"workspace_users\", \"external_sso\"}",
        ) else {
            return AccessSpec::default();
        };
        self.unknown_keys(
            o,
            &at,
            &["workspace_users", "external_sso"],
            "access settings",
        );
        let workspace_users = match o.get("workspace_users") {
            None => UsersSpec::All,
            Some(Value::String(s)) if s == "all" => UsersSpec::All,
            Some(Value::Object(sel)) => {
                let at = at.key("workspace_users");
                self.unknown_keys(
                    sel,
                    &at,
                    &["emails", "roles", "refs"],
                    "selected workspace users",
                );
                let emails = self.emails(sel.get("emails"), at.key("emails"));
                self.access_list(&emails, &at.key("emails"), "people");
                let roles = self.strings(sel.get("roles"), at.key("roles"), "role names");
                self.access_list(&roles, &at.key("roles"), "roles");
                // Shaped as roles are named, as those a reference gives are: an email or
                // a name with a space granted nobody, silently (round 15 hostile-input review).
                for (i, role) in roles.iter().enumerate() {
                    if role.contains('@')
                        || !crate::access::is_role_name(role)
                        || crate::text::first_hidden(role).is_some()
                    {
                        self.authoring(
                            at.key("roles").index(i),
                            format!(
                                "`{}` is not a role name (1-64 characters, no spaces or \
                                 control characters); people go in `emails`",
                                crate::text::clip(role)
                            ),
                        );
                    }
                }
                let mut refs = Vec::new();
                let texts = self.strings(sel.get("refs"), at.key("refs"), "context references");
                if texts.len() > MAX_ACCESS_REFS {
                    self.authoring(
                        at.key("refs"),
                        format!(
                            "names {} context references; an interaction's access names at \
                             most {MAX_ACCESS_REFS} (each may give a list; SPEC ST-4)",
                            texts.len()
                        ),
                    );
                }
                for (i, text) in texts.into_iter().enumerate() {
                    let rat = at.key("refs").index(i);
                    if in_trigger {
                        // SPEC IX-3: nothing has run yet when the form starts the flow.
                        self.err(rat, format!("context reference `{text}` is not allowed in an interaction that starts the workflow; references work only for interactions in the middle of a workflow (SPEC IX-3)"));
                        continue;
                    }
                    match Template::compile(&Value::String(text.clone())) {
                        Ok(t @ Template::Ref(_)) => {
                            // As every other reference where written (round 17 hostile-input
                            // review: it published, and every run failed at the form).
                            if !self.resolver.stored {
                                self.no_hidden_character(&text, &rat);
                                if let Err(why) = super::path_shape::filter_comparisons(&text) {
                                    let shown = crate::text::clip(&text);
                                    self.err(rat.clone(), format!("`{shown}` {why}"));
                                }
                            }
                            refs.push((text, t));
                        }
                        _ => self.err(rat, format!("expected a context reference such as \"$.steps.oncall.emails\", got `{text}`")),
                    }
                }
                UsersSpec::Selected {
                    emails,
                    roles,
                    refs,
                }
            }
            Some(_) => {
                self.err(
                    at.key("workspace_users"),
                    "expected \"all\" or {\"emails\", \"roles\", \"refs\"} (selected)",
                );
                UsersSpec::All
            }
        };
        let external_sso = match o.get("external_sso") {
            None => ExternalSso::None,
            Some(Value::String(s)) if s == "none" => ExternalSso::None,
            Some(Value::String(s)) if s == "all" => ExternalSso::All,
            Some(Value::Object(sel)) => {
                let at = at.key("external_sso");
                self.unknown_keys(sel, &at, &["emails"], "selected external SSO users");
                let emails = self.emails(sel.get("emails"), at.key("emails"));
                self.access_list(&emails, &at.key("emails"), "external SSO users");
                ExternalSso::Selected { emails }
            }
            Some(_) => {
                self.err(
                    at.key("external_sso"),
                    "expected \"none\", \"all\" or {\"emails\"} (selected)",
                );
                ExternalSso::None
            }
        };
        AccessSpec {
            workspace_users,
            external_sso,
        }
    }

    fn strings(&mut self, v: Option<&Value>, at: JsonPath, what: &str) -> Vec<String> {
        let Some(v) = v else { return Vec::new() };
        let Some(items) = v.as_array() else {
            self.err(at, format!("expected an array of {what}"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => out.push(s.to_owned()),
                None => self.err(
                    at.index(i),
                    format!("expected one of the {what}, a non-empty string"),
                ),
            }
        }
        out
    }

    /// An interaction's list of `what`, at most [`MAX_ACCESS_ENTRIES`] entries as written,
    /// repeats too (more passed validation and publishing, then failed every run as the
    /// interaction opened; 1.8 million copies of one email were stored with every interaction
    /// it opened: round 15 hostile-input review).
    fn access_list<T>(&mut self, list: &[T], at: &JsonPath, what: &str) {
        if list.len() > MAX_ACCESS_ENTRIES {
            self.authoring(
                at.clone(),
                format!(
                    "names {} {what}; an interaction's access names at most \
                     {MAX_ACCESS_ENTRIES} (SPEC ST-4)",
                    list.len()
                ),
            );
        }
    }

    fn emails(&mut self, v: Option<&Value>, at: JsonPath) -> Vec<crate::principal::Email> {
        let mut out = Vec::new();
        for (i, raw) in self
            .strings(v, at.clone(), "emails")
            .into_iter()
            .enumerate()
        {
            // Where written, refusing what a mail client brings along; a stored revision
            // reads its people as they were.
            let parsed = if self.resolver.stored {
                crate::principal::Email::parse(&raw)
            } else {
                crate::principal::Email::parse_new(&raw)
            };
            match parsed {
                Ok(e) => out.push(e),
                Err(e) => self.err(at.index(i), e),
            }
        }
        out
    }

    fn action(&mut self, o: &Map<String, Value>, at: &JsonPath) -> Option<StepKind> {
        self.unknown_keys(
            o,
            at,
            &["id", "uses", "with", "grants", "timeout", "retry"],
            "a `uses` step",
        );
        let name = self.string(o, "uses", at, true)?;
        let uses = if let Some(step) = builtin::Builtin::parse(&name) {
            Uses::Builtin(step)
        } else if name.ends_with(".wasm") || name.starts_with("step:") {
            match self.resolver.component(&name) {
                Ok(path) => Uses::Component(path),
                Err(e) => {
                    self.err(at.key("uses"), e);
                    Uses::Component(PathBuf::from(&name))
                }
            }
        } else {
            self.err(at.key("uses"), format!("unknown step `{name}`; expected `step:<name>`, a `.wasm` path or a built-in step ({})", builtin::Builtin::names()));
            return None;
        };
        let mut grants = Grants::default();
        // Grants that are not a list are an error, not none (a step then failed at run time,
        // its grant read as absent).
        if o.get("grants").is_some_and(|g| !g.is_array()) {
            self.err(
                at.key("grants"),
                "expected an array of grants, such as [\"cases:read\"]",
            );
        }
        for (i, g) in o
            .get("grants")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            match g.as_str() {
                Some("cases:read") => grants.cases_read = true,
                Some("cases:write") => grants.cases_write = true,
                Some("events:emit") => grants.events_emit = true,
                Some("access:check") => grants.access_check = true,
                _ => self.err(
                    at.key("grants").index(i),
                    format!("unknown grant; expected one of {}", GRANTS.join(", ")),
                ),
            }
        }
        let with = self.template(o.get("with"), at.key("with"));
        // A WASM step's input is an object of its fields (`wit/world.wit`), as every SDK reads
        // it: written as `null`, a list or text, it validated and every run failed at the step
        // (round 28 input review). One reference is left to run time.
        // A reference that did not compile is named already.
        let compiled_badly = matches!(
            (o.get("with"), &with),
            (Some(Value::String(_)), Template::Literal(Value::Null))
        );
        if let (Uses::Component(_), false) = (&uses, self.resolver.stored)
            && !matches!(with, Template::Object(_) | Template::Ref(_))
            && !matches!(with, Template::Literal(Value::Object(_)))
            && !compiled_badly
        {
            self.err(
                at.key("with"),
                "a WASM step's input is an object of its fields, or one reference to such an \
                 object",
            );
        }
        if let (Uses::Builtin(step), false) = (&uses, self.resolver.stored) {
            self.builtin_input(*step, o.get("with"), &with, &at.key("with"));
            // Not read for a built-in step, which is its own grant (decided as the run's
            // principal): `"grants": ["cases:read"]` on an update validated and wrote
            // (round 19 engine review).
            if o.contains_key("grants") {
                self.err(
                    at.key("grants"),
                    "a built-in step is its own grant (decided as the run's principal); \
                     `grants` are for WASM steps",
                );
            }
        }
        let timeout = self.duration(o.get("timeout"), at.key("timeout"));
        if timeout.is_some_and(|t| t > MAX_STEP_TIMEOUT) {
            self.err(
                at.key("timeout"),
                "a step's `timeout` is at most 15m: a step computes, and holds an instance slot \
                 until its deadline; to wait longer use a `wait` step or an interaction",
            );
        }
        let retry = o.get("retry").and_then(|r| self.retry(r, at.key("retry")));
        Some(StepKind::Action {
            uses,
            with,
            grants,
            timeout,
            retry,
        })
    }

    /// Refuses where written a built-in step's `with` that every run would refuse (see
    /// [`builtin::Builtin::written_input_errors`]); one given whole by a reference is its
    /// run's to check.
    fn builtin_input(
        &mut self,
        step: builtin::Builtin,
        written: Option<&Value>,
        with: &Template,
        at: &JsonPath,
    ) {
        // Not an object of its fields nor one reference (text, a number, a list, `null`):
        // every run refused it at that step, after the steps before had made their effects
        // (round 19 hostile-input review). A reference that did not compile is named already.
        let compiled_badly = matches!(
            (written, with),
            (Some(Value::String(_)), Template::Literal(Value::Null))
        );
        if !matches!(with, Template::Object(_) | Template::Ref(_))
            && !matches!(with, Template::Literal(Value::Object(_)))
            && !compiled_badly
        {
            self.err(
                at.clone(),
                format!(
                    "`{}` takes an object of its input fields, or one reference to such an \
                     object",
                    step.name()
                ),
            );
            return;
        }
        // Given whole by one reference: one that is always a list is never the object, and
        // one reading the workflow's own `vars` alone is known here (round 21 hostile-input
        // review: both published, and every run refused the step).
        if let Template::Ref(r) = with {
            if !r.singular {
                self.err(
                    at.clone(),
                    format!(
                        "{}; `with` takes one object: select one with an index such as `[0]`",
                        always_a_list(&r.text)
                    ),
                );
            } else if reads_vars_alone(with)
                && let Ok(given) = with.render(&self.vars)
            {
                match given.as_object() {
                    Some(literal) => {
                        for (field, why) in step.written_input_errors(literal, &[]) {
                            let at = field.map_or_else(|| at.clone(), |f| at.key(&f));
                            self.err(at, why);
                        }
                    }
                    None => self.err(
                        at.clone(),
                        format!(
                            "`{}` takes an object of its input fields; `{}` holds {}",
                            step.name(),
                            r.text,
                            crate::text::clip(&given.to_string())
                        ),
                    ),
                }
            }
            return;
        }
        let Template::Object(fields) = with else {
            if let Template::Literal(v @ Value::Object(_)) = with {
                let literal = v.as_object().cloned().unwrap_or_default();
                for (field, why) in step.written_input_errors(&literal, &[]) {
                    let at = field.map_or_else(|| at.clone(), |f| at.key(&f));
                    self.err(at, why);
                }
            }
            return;
        };
        let mut literal = Map::new();
        let mut templated = Vec::new();
        for (key, value) in fields {
            // A reference that is always a list, given whole to a field of one value: every
            // run refused it at that step (round 20 hostile-input review).
            if self.no_list_as_one_value(key, value, &at.key(key)) {
                continue;
            }
            // A value with no reference in it, however nested, is what every run reads; a
            // list or an object holding some is checked on what is written in it, each
            // reference stood in for (round 19 hostile-input review: `["$.event.who",
            // "ciso@acme"]` published, and every run refused `ciso@acme`).
            // What reads the workflow's own `vars` alone is known where written, and checked
            // as written (round 20 engine review: `"severity": "$.vars.sev"` holding "urgent"
            // failed every run, where the same value written was refused).
            if reads_vars_alone(value)
                && let Ok(v) = value.render(&self.vars)
            {
                literal.insert(key.clone(), v);
                continue;
            }
            match value.refs().is_empty().then(|| value.render(&Value::Null)) {
                Some(Ok(v)) => {
                    literal.insert(key.clone(), v);
                }
                _ => match written_parts(value, &self.vars) {
                    Some(v) => {
                        literal.insert(key.clone(), v);
                    }
                    None => templated.push(key.as_str()),
                },
            }
        }
        for (field, why) in step.written_input_errors(&literal, &templated) {
            let at = field.map_or_else(|| at.clone(), |f| at.key(&f));
            self.err(at, why);
        }
    }

    /// Refuses, where written, a reference that is always a list given whole to built-in
    /// input field `key` of one value, in the `filter` or `case` objects too, and as an item
    /// of a list of people (whose items are each one); whether it refused.
    fn no_list_as_one_value(&mut self, key: &str, value: &Template, at: &JsonPath) -> bool {
        let refuse = |p: &mut Self, r: &super::refs::Ref, at: &JsonPath, key: &str| {
            p.err(
                at.clone(),
                format!(
                    "{}; `{key}` takes one value: select one with an index such as `[0]`",
                    always_a_list(&r.text)
                ),
            );
        };
        match value {
            Template::Ref(r) if !r.singular && !builtin::takes_list(key) => {
                refuse(self, r, at, key);
                true
            }
            // Nested fields (round 20 engine review: `filter.severity`, `case.assignee`).
            Template::Object(fields) if matches!(key, "filter" | "case") => {
                let mut refused = false;
                for (inner, v) in fields {
                    refused |= self.no_list_as_one_value(inner, v, &at.key(inner));
                }
                refused
            }
            // An item of a list of people is one person.
            Template::Array(items) if builtin::takes_list(key) => {
                let mut refused = false;
                for (i, item) in items.iter().enumerate() {
                    if let Template::Ref(r) = item
                        && !r.singular
                    {
                        refuse(self, r, &at.index(i), &format!("{key}[{i}]"));
                        refused = true;
                    }
                }
                refused
            }
            _ => false,
        }
    }

    fn retry(&mut self, v: &Value, at: JsonPath) -> Option<Retry> {
        let o = self.object(
            v,
            &at,
            "retry settings {\"attempts\", \"delay\", \"max_delay\"}",
        )?;
        self.unknown_keys(
            o,
            &at,
            &["attempts", "delay", "max_delay"],
            "retry settings",
        );
        let attempts = match o
            .get("attempts")
            .and_then(Value::as_u64)
            .filter(|n| (1..=20).contains(n))
        {
            Some(n) => n as u32,
            None => {
                self.err(at.key("attempts"), "expected attempts from 1 to 20");
                return None;
            }
        };
        let delay = self.duration(
            o.get("delay").or(Some(&Value::String("1s".into()))),
            at.key("delay"),
        )?;
        // Unset, the longest pause is a minute, or the first one if longer.
        let max_delay = match o.get("max_delay") {
            Some(v) => self.duration(Some(v), at.key("max_delay"))?,
            None => delay.max(Duration::from_secs(60)),
        };
        let mut fits = true;
        for (key, d) in [("delay", delay), ("max_delay", max_delay)] {
            if d > MAX_RETRY_DELAY {
                self.err(
                    at.key(key),
                    format!(
                        "a retry's `{key}` is at most 5m: a retry pauses in the run's worker, \
                         which other runs wait for; to wait longer use a `wait` step"
                    ),
                );
                fits = false;
            }
        }
        if fits && delay > max_delay {
            self.err(
                at.key("delay"),
                "a retry's `delay` is at most its `max_delay`",
            );
            return None;
        }
        if !fits {
            return None;
        }
        Some(Retry {
            attempts,
            delay,
            max_delay,
        })
    }

    /// References may name only context that exists on every path to them (SPEC WF-1):
    /// `$.steps.<id>` must have run before, on this path; `$.loop` only inside a loop.
    /// Refuses a step whose key (its id after those of the loops around it, each with an
    /// iteration number) is past [`MAX_STEP_KEY_BYTES`] whatever the data, its loops' first
    /// iterations included: every run failed there, after the steps before it had made their
    /// effects (round 23 hostile-input review). `prefix` is the shortest key before the
    /// step's id; a nested workflow's steps are checked where they run (its file is its own).
    fn no_key_past_the_cap(&mut self, steps: &[Step], prefix: usize) {
        for step in steps {
            let key = prefix + step.id.len();
            if key > MAX_STEP_KEY_BYTES {
                self.authoring(
                    step.at.key("id"),
                    format!(
                        "this step's key (its id after those of the loops around it, each with \
                         an iteration number) is at least {key} bytes long; at most \
                         {MAX_STEP_KEY_BYTES} are allowed: nest fewer loops or shorten their ids"
                    ),
                );
                continue;
            }
            match &step.kind {
                StepKind::If {
                    then, otherwise, ..
                } => {
                    self.no_key_past_the_cap(then, prefix);
                    self.no_key_past_the_cap(otherwise, prefix);
                }
                StepKind::Switch { cases, default } => {
                    for (_, branch) in cases {
                        self.no_key_past_the_cap(branch, prefix);
                    }
                    self.no_key_past_the_cap(default, prefix);
                }
                // `{id}[{i}].` before each step of an iteration: `[0].` at the shortest.
                StepKind::Loop { body, .. } => self.no_key_past_the_cap(body, key + 4),
                StepKind::Parallel { branches } => {
                    for branch in branches {
                        self.no_key_past_the_cap(branch, prefix);
                    }
                }
                StepKind::Interaction(ix) => self.no_key_past_the_cap(&ix.on_timeout, prefix),
                StepKind::Action { .. }
                | StepKind::Wait { .. }
                | StepKind::Exit { .. }
                | StepKind::Nested { .. } => {}
            }
        }
    }

    fn check_refs(&mut self, steps: &[Step], available: &mut Available, in_loop: bool) {
        for step in steps {
            let mut templates: Vec<(JsonPath, &Template)> = Vec::new();
            let mut conds: Vec<(JsonPath, &Condition)> = Vec::new();
            match &step.kind {
                StepKind::Action { uses, with, .. } => {
                    if let Uses::Builtin(builtin) = uses {
                        self.builtin_answers(*builtin, with, &step.at.key("with"));
                    }
                    templates.push((step.at.key("with"), with))
                }
                StepKind::Nested { with, .. } => templates.push((step.at.key("with"), with)),
                StepKind::If { conditions, .. } => conds.extend(
                    conditions
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (step.at.key("if").index(i), c)),
                ),
                StepKind::Switch { cases, .. } => {
                    for (i, (when, _)) in cases.iter().enumerate() {
                        conds.extend(when.iter().enumerate().map(|(j, c)| {
                            (step.at.key("switch").index(i).key("when").index(j), c)
                        }));
                    }
                }
                StepKind::Loop { over, .. } => {
                    // A form's answer is never a list (round 22 hostile-input review).
                    if let Template::Ref(r) = over
                        && let Some(what) = self.answer_field(r).map(|f| f.kind.answer_is())
                    {
                        self.authoring(
                            step.at.key("loop").key("over"),
                            format!(
                                "a loop goes over a list, but `{}` is a form's answer: {what}",
                                crate::text::clip(&r.text)
                            ),
                        );
                    }
                    // A loop over `vars` goes over what they hold: a list, or every run
                    // failed at the loop (round 15 hostile-input review).
                    // And a list the loop's bound holds, as a written one (round 16
                    // self-review).
                    if let Template::Ref(r) = over
                        && !self.resolver.stored
                        && r.root() == Some("vars")
                        && super::path_shape::is_singular(&r.text)
                        && let Ok(found) = r.resolve(&self.vars)
                    {
                        match found {
                            Value::Array(items) if items.len() > super::model::MAX_LOOP_ITEMS => {
                                self.authoring(
                                    step.at.key("loop").key("over"),
                                    format!(
                                        "`loop.over` has {} items; a loop goes over at most {} \
                                         (split the list)",
                                        items.len(),
                                        super::model::MAX_LOOP_ITEMS
                                    ),
                                );
                            }
                            Value::Array(_) => {}
                            _ => self.authoring(
                                step.at.key("loop").key("over"),
                                format!("a loop goes over a list, but `{}` is not one", r.text),
                            ),
                        }
                    }
                    templates.push((step.at.key("loop").key("over"), over))
                }
                StepKind::Exit { output, .. } => {
                    templates.push((step.at.key("exit").key("output"), output))
                }
                StepKind::Interaction(ix) => {
                    let at = step.at.key("interaction");
                    templates.push((at.key("title"), &ix.title));
                    if let UsersSpec::Selected { refs, .. } = &ix.access.workspace_users {
                        // A form's answer is never the list a context reference must give
                        // (SPEC IX-3; round 22 review: "who approves?" then "let them").
                        for (i, (_, t)) in refs.iter().enumerate() {
                            if let Template::Ref(r) = t
                                && let Some(what) = self.answer_field(r).map(|f| f.kind.answer_is())
                            {
                                self.authoring(
                                    at.key("access").key("workspace_users").key("refs").index(i),
                                    format!(
                                        "a context reference must give a list of people, even \
                                         of one (SPEC IX-3), but `{}` is a form's answer: {what}",
                                        crate::text::clip(&r.text)
                                    ),
                                );
                            }
                        }
                        templates.extend(refs.iter().enumerate().map(|(i, (_, t))| {
                            (
                                at.key("access").key("workspace_users").key("refs").index(i),
                                t,
                            )
                        }));
                    }
                }
                StepKind::Wait { .. } | StepKind::Parallel { .. } => {}
            }
            for (at, c) in conds {
                self.no_answer_compared_with_what_it_never_is(c, &at);
                // What `exists` asks of may find nothing: checked as a probe.
                if matches!(c.op, Op::Exists | Op::NotExists) {
                    self.probing = true;
                    for r in c.left.refs() {
                        self.check_ref(r, &at.key("left"), available, in_loop);
                    }
                    self.probing = false;
                } else {
                    templates.push((at.key("left"), &c.left));
                }
                templates.push((at.key("right"), &c.right));
            }
            for (at, t) in templates {
                for r in t.refs() {
                    self.check_ref(r, &at, available, in_loop);
                }
            }
            match &step.kind {
                // Each branch starts from what is available here and gives back what it added:
                // a copy per branch made a switch of thousands of cases after thousands of
                // steps quadratic, on every event the workflow is matched against (review).
                StepKind::If {
                    then, otherwise, ..
                } => {
                    for branch in [then, otherwise] {
                        let mark = available.mark();
                        self.check_refs(branch, available, in_loop);
                        available.reset(mark);
                    }
                }
                StepKind::Switch { cases, default } => {
                    for body in cases.iter().map(|(_, body)| body).chain([default]) {
                        let mark = available.mark();
                        self.check_refs(body, available, in_loop);
                        available.reset(mark);
                    }
                }
                StepKind::Loop { body, break_if, .. } => {
                    let mark = available.mark();
                    self.check_refs(body, available, true);
                    for (i, c) in break_if.iter().enumerate() {
                        let at = step.at.key("loop").key("break_if").index(i);
                        // What `exists` asks of may find nothing, as in an `if`.
                        self.probing = matches!(c.op, Op::Exists | Op::NotExists);
                        for r in c.left.refs() {
                            self.check_ref(r, &at, available, true);
                        }
                        self.probing = false;
                        for r in c.right.refs() {
                            self.check_ref(r, &at, available, true);
                        }
                        // As an `if`'s: the body's forms are known by now (round 22
                        // hostile-input review: `stop eq "true"` never broke the loop).
                        self.no_answer_compared_with_what_it_never_is(c, &at);
                    }
                    available.reset(mark);
                }
                StepKind::Interaction(ix) => {
                    // The timeout path sees the interaction's own (timed-out) output.
                    let mark = available.mark();
                    available.insert(&step.id);
                    // Timed out, it holds no answers: every field is read with `?` there
                    // (round 20 self-review).
                    let answered = self.step_fields.get(&step.id).cloned();
                    if let Some(fields) = self.step_fields.get_mut(&step.id) {
                        fields.values_mut().for_each(|f| f.required = false);
                    }
                    self.check_refs(&ix.on_timeout, available, in_loop);
                    if let Some(fields) = answered {
                        self.step_fields.insert(step.id.clone(), fields);
                    }
                    available.reset(mark);
                }
                StepKind::Parallel { branches } => {
                    // After them, what any branch added.
                    let mark = available.mark();
                    let mut added = Vec::new();
                    for branch in branches {
                        self.check_refs(branch, available, in_loop);
                        added.extend(available.reset(mark));
                    }
                    for id in &added {
                        available.insert(id);
                    }
                }
                _ => {}
            }
            available.insert(&step.id);
        }
    }

    /// An Interaction Flow's `$.event.values.<name>`, and an interaction step's
    /// `$.steps.<id>.values.<name>`, name one of its form's fields, and one a person may
    /// leave blank (left out of the answers then) is read with `?` (or asked by `exists`): a
    /// misspelt field failed every run, an optional one every run it was left blank (round
    /// 20 hostile-input and engine reviews).
    fn check_form_value(&mut self, r: &super::refs::Ref, at: &JsonPath) {
        // Read by its names, in either spelling (round 21 hostile-input review:
        // `$.event['values'].tpyo` was not checked).
        let names = r.leading_names();
        let (fields, name) = match names.as_slice() {
            ["event", "values", name, ..] => match &self.flow_fields {
                Some(fields) => (fields, *name),
                None => return,
            },
            ["steps", id, "values", name, ..] => match self.step_fields.get(*id) {
                Some(fields) => (fields, *name),
                None => return,
            },
            _ => return,
        };
        let message = match fields.get(name).map(|f| f.required) {
            None => format!(
                "`{}` names no field of its form (its fields: {})",
                crate::text::clip(&r.text),
                fields.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            Some(false) if !r.optional && r.singular && !self.probing => format!(
                "`{name}` is not required: a blank answer leaves it out of the values, and \
                 `{}` then fails the run; write `{}?`",
                crate::text::clip(&r.text),
                crate::text::clip(&r.text)
            ),
            Some(_) => return,
        };
        self.authoring(at.clone(), message);
    }

    /// Refuses, where written, a condition comparing a form's answer with a written value
    /// that answer never is: a yes/no answer `ne "false"` held when the person answered No
    /// (a refusal approved), `eq "true"` never held, a choice `in ["Malicious"]` never held
    /// beside its option `malicious` (round 21 engine review; SPEC IX-8).
    fn no_answer_compared_with_what_it_never_is(&mut self, c: &Condition, at: &JsonPath) {
        match c.op {
            Op::Eq | Op::Ne | Op::In => self.no_answer_equal_to_what_it_never_is(c, at),
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => self.no_answer_ordered_against_its_kind(c, at),
            Op::Contains => self.no_answer_contained_against_its_kind(c, at),
            Op::Exists | Op::NotExists => {}
        }
        // `in` looks in its right's list, and an answer is never one.
        if c.op == Op::In
            && let Template::Ref(r) = &c.right
            && let Some(what) = self.answer_field(r).map(|f| f.kind.answer_is())
        {
            self.authoring(
                at.key("right"),
                format!(
                    "`in` looks in a list, but `{}` is a form's answer: {what}",
                    crate::text::clip(&r.text)
                ),
            );
        }
    }

    /// An order (`gt`, `gte`, `lt`, `lte`) of a form's answer against a written value of
    /// another kind, or of a yes/no answer at all, fails every run it is answered in: numbers
    /// order with numbers, text with text (round 22 hostile-input review).
    fn no_answer_ordered_against_its_kind(&mut self, c: &Condition, at: &JsonPath) {
        let sides = [
            ("left", &c.left, "right", &c.right),
            ("right", &c.right, "left", &c.left),
        ];
        for (side, this, other_side, other) in sides {
            let Template::Ref(r) = this else { continue };
            let Some(kind) = self.answer_field(r).map(|f| f.kind.clone()) else {
                continue;
            };
            let shown = crate::text::clip(&r.text);
            let op = c.op.name();
            if kind.answer_is() == "true or false" {
                self.authoring(
                    at.key(side),
                    format!(
                        "`{shown}` is true or false, which `{op}` does not order (it orders \
                         numbers with numbers, text with text)"
                    ),
                );
            } else if let Template::Literal(v) = other
                && !v.is_null()
                && kind.answer_is() != kind_of_written(v)
            {
                self.authoring(
                    at.key(other_side),
                    format!(
                        "`{shown}` is {}, and `{op}` orders numbers with numbers, text with \
                         text: against {} it fails every run",
                        kind.answer_is(),
                        crate::text::clip(&v.to_string())
                    ),
                );
            }
        }
    }

    /// `contains` with a form's answer: one on the left is looked in, so it must be text
    /// (a number or a yes/no holds nothing), and what is looked for in it text; one on the
    /// right is looked for in written text, so it must be text too (round 22 hostile-input
    /// review: each failed every run it was answered in).
    fn no_answer_contained_against_its_kind(&mut self, c: &Condition, at: &JsonPath) {
        if let Template::Ref(r) = &c.left
            && let Some(kind) = self.answer_field(r).map(|f| f.kind.clone())
        {
            let shown = crate::text::clip(&r.text);
            if kind.answer_is() != "text" {
                self.authoring(
                    at.key("left"),
                    format!(
                        "`contains` looks in a list or text, but `{shown}` is {}",
                        kind.answer_is()
                    ),
                );
            } else if let Template::Literal(v) = &c.right
                && !v.is_null()
                && !v.is_string()
            {
                self.authoring(
                    at.key("right"),
                    format!(
                        "`{shown}` is text, which holds text only, never {}",
                        crate::text::clip(&v.to_string())
                    ),
                );
            }
        }
        // A written list's item the answer never is: `contains` compares each item as `in`
        // does, and `["Malicious"] contains` a lower-case choice never held (review).
        if let Template::Ref(r) = &c.right
            && let Some(kind) = self.answer_field(r).map(|f| f.kind.clone())
        {
            let written: Vec<(JsonPath, &Value)> = match &c.left {
                Template::Literal(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (at.key("left").index(i), v))
                    .collect(),
                Template::Array(items) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, t)| match t {
                        Template::Literal(v) => Some((at.key("left").index(i), v)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (path, value) in written {
                if let Some(what) = kind.never_answered_by(value) {
                    self.authoring(
                        path,
                        format!(
                            "`{}` is {what}, never {}: `contains` never finds it as this item",
                            crate::text::clip(&r.text),
                            crate::text::clip(&value.to_string())
                        ),
                    );
                }
            }
        }
        if let Template::Ref(r) = &c.right
            && let Template::Literal(Value::String(_)) = &c.left
            && let Some(kind) = self.answer_field(r).map(|f| f.kind.clone())
            && kind.answer_is() != "text"
        {
            self.authoring(
                at.key("right"),
                format!(
                    "`contains` looks for text in text, but `{}` is {}",
                    crate::text::clip(&r.text),
                    kind.answer_is()
                ),
            );
        }
    }

    /// A built-in step's field given a form's answer whole: each answer it may be (a
    /// choice's options, a number, true or false) is checked as a written value is: a choice
    /// `["Low", "High"]` given to `severity` failed every run as "unknown variant `High`"
    /// (round 22 hostile-input review). Free text may be anything: not checked.
    fn builtin_answers(&mut self, builtin: builtin::Builtin, with: &Template, at: &JsonPath) {
        if self.resolver.stored {
            return;
        }
        let Template::Object(fields) = with else {
            return;
        };
        // Where an answer may be given: a field whole, a field of the `filter` or `case`
        // object, an item of a list of people (self-review: round 20's places).
        // Refusals that are not the answers' (an unknown or missing field) are named where
        // they are already, not again at each answer (review).
        let all: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        if !builtin.written_input_errors(&Map::new(), &all).is_empty() {
            return;
        }
        type Given = Box<dyn Fn(Value) -> (String, Value)>;
        // Each with whether text is never what it takes (a list of people, a number, an
        // object): free text may be anything elsewhere (`"high"` as a severity).
        let mut places: Vec<(JsonPath, &super::refs::Ref, Given, bool)> = Vec::new();
        for (key, value) in fields {
            match value {
                Template::Ref(r) => {
                    // (`case` takes text too: a JSON object's text, as a form may ask it.)
                    let never_text = builtin::takes_list(key)
                        || matches!(key.as_str(), "page_size" | "filter" | "fields");
                    let key = key.clone();
                    places.push((
                        at.key(&key),
                        r,
                        Box::new(move |v| (key.clone(), v)),
                        never_text,
                    ));
                }
                Template::Object(inner) if matches!(key.as_str(), "filter" | "case") => {
                    for (name, value) in inner {
                        let Template::Ref(r) = value else { continue };
                        let siblings: Map<String, Value> = inner
                            .iter()
                            .filter(|(other, _)| other != name)
                            .filter_map(|(other, _)| {
                                Some((other.clone(), builtin::Builtin::stand_in(other)?))
                            })
                            .collect();
                        let (key, name) = (key.clone(), name.clone());
                        places.push((
                            at.key(&key).key(&name),
                            r,
                            Box::new(move |v| {
                                let mut object = siblings.clone();
                                object.insert(name.clone(), v);
                                (key.clone(), Value::Object(object))
                            }),
                            false,
                        ));
                    }
                }
                Template::Array(items) if builtin::takes_list(key) => {
                    for (i, item) in items.iter().enumerate() {
                        let Template::Ref(r) = item else { continue };
                        let key = key.clone();
                        places.push((
                            at.key(&key).index(i),
                            r,
                            Box::new(move |v| (key.clone(), Value::Array(vec![v]))),
                            false,
                        ));
                    }
                }
                _ => {}
            }
        }
        for (place, r, given, never_text) in places {
            let Some(kind) = self.answer_field(r).map(|f| f.kind.clone()) else {
                continue;
            };
            let answers: Vec<Value> = match &kind {
                super::form::FieldKind::Choice { options } => {
                    options.iter().map(|o| Value::String(o.clone())).collect()
                }
                super::form::FieldKind::Number => vec![serde_json::json!(1)],
                super::form::FieldKind::Boolean => vec![Value::Bool(true)],
                // An address, which is text too (round 22 review: an email answer given to
                // `add_collaborators` failed every run as "expected a sequence").
                super::form::FieldKind::Text | super::form::FieldKind::Email if never_text => {
                    vec![Value::String("someone@example.test".into())]
                }
                super::form::FieldKind::Text | super::form::FieldKind::Email => continue,
            };
            for answer in answers {
                let (key, value) = given(answer.clone());
                let others: Vec<&str> = fields
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .filter(|k| *k != key)
                    .collect();
                let literal = Map::from_iter([(key, value)]);
                let refused = builtin.written_input_errors(&literal, &others);
                if let Some((_, why)) = refused.into_iter().next() {
                    self.authoring(
                        place,
                        format!(
                            "`{}` may be answered {}, which `{}` refuses: {why}",
                            crate::text::clip(&r.text),
                            crate::text::clip(&answer.to_string()),
                            builtin.name()
                        ),
                    );
                    break;
                }
            }
        }
    }

    /// `==` and `in`'s left of a form's answer against written values it can never equal.
    fn no_answer_equal_to_what_it_never_is(&mut self, c: &Condition, at: &JsonPath) {
        let sides = [
            ("left", &c.left, "right", &c.right),
            ("right", &c.right, "left", &c.left),
        ];
        for (side, this, other_side, other) in sides {
            // `in` looks for its left in its right's list.
            if c.op == Op::In && side == "right" {
                continue;
            }
            let Template::Ref(r) = this else { continue };
            let Some(kind) = self.answer_field(r).map(|f| f.kind.clone()) else {
                continue;
            };
            let written: Vec<(JsonPath, &Value)> = match (c.op, other) {
                (Op::Eq | Op::Ne, Template::Literal(v)) => vec![(at.key(other_side), v)],
                (Op::In, Template::Literal(Value::Array(items))) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (at.key(other_side).index(i), v))
                    .collect(),
                (Op::In, Template::Array(items)) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, t)| match t {
                        Template::Literal(v) => Some((at.key(other_side).index(i), v)),
                        _ => None,
                    })
                    .collect(),
                _ => continue,
            };
            let outcome = if c.op == Op::Ne {
                "always holds"
            } else {
                "never holds"
            };
            for (at, value) in written {
                if let Some(what) = kind.never_answered_by(value) {
                    self.authoring(
                        at,
                        format!(
                            "`{}` is {what}, never {}: `{}` with it {outcome}",
                            crate::text::clip(&r.text),
                            crate::text::clip(&value.to_string()),
                            c.op.name()
                        ),
                    );
                }
            }
        }
    }

    /// The form field reference `r` reads the answer of, whole (`$.event.values.<field>` of
    /// an Interaction Flow, `$.steps.<id>.values.<field>` of an interaction step).
    fn answer_field(&self, r: &super::refs::Ref) -> Option<&AnswerField> {
        if !r.singular {
            return None;
        }
        let names = r.leading_names();
        let (fields, name) = match names.as_slice() {
            ["event", "values", name] => (self.flow_fields.as_ref()?, *name),
            ["steps", id, "values", name] => (self.step_fields.get(*id)?, *name),
            _ => return None,
        };
        // The field itself, nothing after its name (`[0]` of a text finds nothing anyway).
        let whole = [
            format!(".{name}"),
            format!("['{name}']"),
            format!("[\"{name}\"]"),
        ];
        if !whole.iter().any(|end| r.text.ends_with(end.as_str())) {
            return None;
        }
        fields.get(name)
    }

    fn check_ref(
        &mut self,
        r: &super::refs::Ref,
        at: &JsonPath,
        available: &Available,
        in_loop: bool,
    ) {
        match r.root() {
            // `vars` are the definition's own: a reference to one it lacks read nothing in
            // every run, an optional one `null` (round 15 hostile-input review).
            // Only a singular path where written: a filter may read the run's context, which
            // is empty here, and a stored definition is not walked again (self-review).
            Some("vars")
                if !self.resolver.stored
                    && super::path_shape::is_singular(&r.text)
                    && r.path.query(&self.vars).all().is_empty() =>
            {
                self.err(
                    at.clone(),
                    format!("`{}` names nothing in this workflow's `vars`", r.text),
                )
            }
            Some("event") => self.check_form_value(r, at),
            Some("vars" | "inputs") => {}
            Some("loop") if in_loop => {}
            Some("loop") => self.err(at.clone(), format!("`{}` is only available inside a loop's `do`", r.text)),
            Some("steps") => match r.step_id() {
                Some(id) if self.silent.contains_key(id) => {
                    let kind = self.silent[id];
                    self.authoring(
                        at.clone(),
                        format!("`{}` refers to step `{id}`, a `{kind}`, which gives no output", r.text),
                    );
                }
                // `?` allows a step not run on this path, not one that exists nowhere: a
                // misspelled id read `null` in every run (a condition never held; review).
                Some(id)
                    if available.contains(id)
                        || (r.optional
                            && (self.ids.contains(id) || self.resolver.stored)) =>
                {
                    self.check_form_value(r, at)
                }
                Some(id) if self.ids.contains(id) => self.err(
                    at.clone(),
                    format!("`{}` refers to step `{id}`, which has not run yet on this path (mark it optional with a trailing `?`)", r.text),
                ),
                Some(id) => self.err(at.clone(), format!("`{}` refers to step `{id}`, which does not exist", r.text)),
                None => self.err(at.clone(), format!("`{}`: expected `$.steps.<id>...` (`$.steps['<id>']...` for an id with a `-` or a leading digit)", r.text)),
            },
            _ => self.err(at.clone(), format!("`{}` must start with $.event, $.steps, $.vars, $.loop or $.inputs", r.text)),
        }
    }
}

/// What a written value is, as [`super::form::FieldKind::answer_is`] says of an answer.
fn kind_of_written(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "text",
        Value::Number(_) => "a number",
        Value::Bool(_) => "true or false",
        Value::Null => "nothing",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// What a refusal says of reference `text` that may select several nodes, and so is always
/// the list of them (round 19).
fn always_a_list(text: &str) -> String {
    format!(
        "`{}` may select several nodes (a wildcard, a filter, a slice, a union or `..`) and is \
         always the list of them",
        crate::text::clip(text)
    )
}

/// The kind of a step that gives no output, `None` for one that does.
fn silent_kind(kind: &StepKind) -> Option<&'static str> {
    match kind {
        StepKind::Wait { .. } => Some("wait"),
        StepKind::If { .. } => Some("if"),
        StepKind::Switch { .. } => Some("switch"),
        StepKind::Parallel { .. } => Some("parallel"),
        StepKind::Exit { .. } => Some("exit"),
        StepKind::Action { .. }
        | StepKind::Loop { .. }
        | StepKind::Nested { .. }
        | StepKind::Interaction(_) => None,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `500ms`, `30s`, `5m`, `1h`, `2d`, at most [`clock::MAX_DURATION_SECS`] (issue 14 item 8:
/// an unbounded duration overflowed the deadlines computed from it).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Some(ms) = text.trim().strip_suffix("ms") {
        let max_ms = clock::MAX_DURATION_SECS.unsigned_abs() * 1000;
        // Told apart: not a number of milliseconds, or out of range (0 as with `0s`).
        let Ok(n) = ms.parse::<u64>() else {
            return Err(format!(
                "`{}` is not a duration: expected a whole number of milliseconds such as `500ms`",
                crate::text::clip(text)
            ));
        };
        if n == 0 || n > max_ms {
            return Err(format!(
                "`{}` is out of range: a duration is more than 0 and at most {}",
                crate::text::clip(text),
                clock::MAX_DURATION_TEXT
            ));
        }
        return Ok(Duration::from_millis(n));
    }
    clock::parse_duration_secs(text).map(|s| Duration::from_secs(s.unsigned_abs()))
}

/// `Ok` if `status` may be an `exit` step's status: at most
/// [`crate::text::MAX_STATE_CHARS`] characters, none of them a control character.
fn exit_status_ok(status: &str) -> Result<(), String> {
    crate::text::check_len("the exit status", status, crate::text::MAX_STATE_CHARS)?;
    if status.chars().any(char::is_control) {
        return Err(format!(
            "the exit status `{}` holds a control character",
            crate::text::clip(status)
        ));
    }
    Ok(())
}

/// The first character of `text` that shows nothing where it stands, line breaks and tabs
/// aside (text compared may hold them): a condition's written value holding one never meets
/// what it is compared with.
fn invisible_in(text: &str) -> Option<char> {
    crate::text::first_hidden_by(text, |prev, c, next| {
        !matches!(c, '\n' | '\t' | '\r') && crate::text::is_hidden_at(prev, c, next)
    })
}

/// A form's field as references to its answer are checked where written.
#[derive(Clone, Debug)]
struct AnswerField {
    /// Whether it is always answered (`false` on an interaction's own timeout path).
    required: bool,
    kind: super::form::FieldKind,
}

impl AnswerField {
    fn of(field: &super::form::Field) -> Self {
        Self {
            required: field.required,
            kind: field.kind.clone(),
        }
    }
}

/// Whether `template` reads the workflow's own `vars` alone, each reference one value that
/// must be there: what it gives every run is known where written (round 20 engine review).
fn reads_vars_alone(template: &Template) -> bool {
    let refs = template.refs();
    !refs.is_empty()
        && refs
            .iter()
            .all(|r| r.root() == Some("vars") && r.singular && !r.optional)
}

/// What a list or an object of a built-in step's input holds as written, its parts reading
/// `vars` alone as they read there, each other reference stood in for: dropped from a list
/// (a people list's item by reference is its run's to check), a field's value always taken
/// in an object ([`builtin::Builtin::stand_in`]). `None` for a reference or a text around
/// references, whose whole field is stood in for. (Round 21 hostile-input review: a `vars`
/// value beside another reference was stood in for, and every run refused it.)
fn written_parts(template: &Template, vars: &Value) -> Option<Value> {
    let written = |t: &Template| {
        if t.refs().is_empty() {
            t.render(&Value::Null).ok()
        } else if reads_vars_alone(t) {
            t.render(vars).ok()
        } else {
            written_parts(t, vars)
        }
    };
    match template {
        Template::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter(|t| {
                    t.refs().is_empty()
                        || reads_vars_alone(t)
                        || matches!(t, Template::Array(_) | Template::Object(_))
                })
                .filter_map(written)
                .collect(),
        )),
        Template::Object(fields) => Some(Value::Object(
            fields
                .iter()
                .filter_map(|(key, t)| {
                    let value = match written(t) {
                        Some(value) => value,
                        None => builtin::Builtin::stand_in(key)?,
                    };
                    Some((key.clone(), value))
                })
                .collect(),
        )),
        Template::Literal(_) | Template::Ref(_) | Template::Text(_) => None,
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    /// Rules added where definitions are written do not make a stored one unreadable: a
    /// trigger on an event named like a trigger, a step reading a `wait`'s output, an empty
    /// `if` (round 14 self-review: reserved event names were refused in stored revisions).
    #[test]
    fn writing_rules_are_not_applied_to_a_stored_definition() {
        let text = serde_json::json!({ "name": "x", "workspace": "ws", "run_as": "key:svc",
            "trigger": { "on": "custom_event", "event": "webhook" },
            "vars": { "leads": ["lead"] },
            "steps": [
                { "id": "pause", "wait": "1s" },
                { "id": "b", "if": [], "then": [] },
                { "id": "c", "if": [{ "left": "$.steps.pause.at?", "op": "exists" }], "then": [] },
                // Round 15's: vars it lacks, a loop over vars that is no list, roles as
                // roles are not named, access lists counted as written.
                { "id": "d", "loop": { "over": "$.vars.none" }, "do": [] },
                { "id": "e", "interaction": { "title": "t",
                    "form": { "fields": [{ "name": "ok", "type": "boolean" }] },
                    "access": { "workspace_users": { "roles": ["a b", "triage\u{200b}"],
                                                     "refs": vec!["$.vars.leads"; 65] },
                                "external_sso": { "emails": vec!["a@b.test"; 1_001] } } } }
            ] })
        .to_string();
        let Err(errors) = parse("wf.json", &text, &Resolver::default()) else {
            panic!("refused where written");
        };
        assert_eq!(errors.len(), 8, "{errors:?}");
        let stored = Resolver {
            stored: true,
            ..Resolver::default()
        };
        assert!(parse("wf.json", &text, &stored).is_ok());
    }

    /// Errors are listed up to [`MAX_ERRORS`], then counted (hostile-input review).
    #[test]
    fn a_definition_of_many_errors_lists_a_hundred_and_counts_the_rest() {
        let steps = vec![serde_json::json!({}); 5_000];
        let text =
            serde_json::json!({ "name": "x", "workspace": "ws", "steps": steps }).to_string();
        let Err(errors) = parse("wf.json", &text, &Resolver::default()) else {
            panic!("refused");
        };
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        let last = &errors[MAX_ERRORS].message;
        assert!(
            last.starts_with("and ") && last.ends_with("more errors, not listed"),
            "{last}"
        );
    }

    /// The shipped JSON Schema names the same fields and operators the parser accepts.
    #[test]
    fn the_json_schema_matches_the_parser() {
        let schema: Value = serde_json::from_str(include_str!("../../schema/workflow.schema.json"))
            .expect("schema is JSON");
        let top: Vec<&str> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = TOP.to_vec();
        expected.sort_unstable();
        let mut top_sorted = top.clone();
        top_sorted.sort_unstable();
        assert_eq!(top_sorted, expected);
        let variants = schema["$defs"]["step"]["oneOf"]
            .as_array()
            .expect("step variants");
        let mut operators: Vec<String> = variants
            .iter()
            .filter_map(|v| v["required"].as_array())
            .map(|req| {
                req.iter()
                    .filter_map(Value::as_str)
                    .find(|k| *k != "id" && *k != "do")
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        operators.sort();
        let mut known: Vec<String> = OPERATORS.iter().map(|s| (*s).to_owned()).collect();
        known.sort();
        assert_eq!(operators, known);
        let ops = schema["$defs"]["conditions"]["items"]["properties"]["op"]["enum"].clone();
        assert_eq!(ops, serde_json::json!(Op::NAMES));
        let grants =
            schema["$defs"]["step"]["oneOf"][0]["properties"]["grants"]["items"]["enum"].clone();
        assert_eq!(grants, serde_json::json!(GRANTS));
        // `grants` on a built-in step is refused by the parser; the schema names the same
        // built-in steps when it refuses it.
        let action = &schema["$defs"]["step"]["oneOf"][0];
        let builtins: Vec<&str> = builtin::Builtin::ALL.iter().map(|b| b.name()).collect();
        assert_eq!(
            action["if"]["properties"]["uses"]["enum"],
            serde_json::json!(builtins)
        );
        assert_eq!(
            action["then"]["not"]["required"],
            serde_json::json!(["grants"])
        );
    }
}
