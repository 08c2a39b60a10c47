//! Context references (SPEC WF-3): JSONPath (RFC 9535, via `serde_json_path`) used as a whole
//! value (`"$.event.case.id"`) or interpolated in text (`"Case {{ $.event.case.id }}"`). A
//! trailing `?` marks a reference optional: it resolves to `null` instead of failing.
//! References are data: nothing here evaluates code.

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::json_limits::Counting;
use crate::text::{MAX_JSONPATH_BYTES, clip};

/// The most one rendering of a template may copy from the context, in bytes of JSON text:
/// what a run's outputs may hold in all (`workflow/held.rs`). Without it, a template listing
/// `$.steps` ten thousand times copied a 64 MiB context ten thousand times (hostile-input
/// review).
pub const MAX_RENDERED_BYTES: usize = 64 << 20;

/// The most JSON values one rendering may copy from the context: twice what a run's outputs
/// may hold in all (`workflow/held.rs`), since the context holds more than they do (a loop's
/// list wraps each iteration's outputs, and its last iteration's stay beside it; the event and
/// `vars` are not outputs: self-review C, a loop's 1.9 million values passed whole to the next
/// step held 2,000,001). Bytes alone let a 200 kB definition copy a list of 100,000 zeros 330
/// times, 33 million values: gigabytes in memory, where each takes about 72 bytes, per
/// rendering and per parallel part (round 22 hostile-input review).
pub const MAX_RENDERED_VALUES: usize = 4_000_000;

/// What one rendering may still copy from the context, and how it counts values.
#[derive(Clone, Copy, Debug)]
struct Budget {
    bytes: usize,
    values: usize,
    counting: Counting,
}

impl Budget {
    fn full(counting: Counting) -> Budget {
        Budget {
            bytes: MAX_RENDERED_BYTES,
            values: MAX_RENDERED_VALUES,
            counting,
        }
    }
}

/// A reference to the context.
#[derive(Clone, Debug)]
pub struct Ref {
    /// As written, without the `?`.
    pub text: String,
    pub path: JsonPath,
    pub optional: bool,
    /// Whether it selects one node at most (names and indexes only, RFC 9535's singular
    /// query): one that may select several (a wildcard, a filter, a slice, a union, a
    /// descent) always resolves to the list of what it selects, however many.
    pub singular: bool,
}

impl Ref {
    /// Parses `$...` (with an optional trailing `?`).
    pub fn parse(raw: &str) -> Result<Ref, String> {
        let raw = raw.trim();
        let (text, optional) = match raw.strip_suffix('?') {
            Some(t) => (t.trim_end(), true),
            None => (raw, false),
        };
        let path = parse_path(text)?;
        Ok(Ref {
            text: text.to_owned(),
            path,
            optional,
            singular: super::path_shape::is_singular(text),
        })
    }

    /// The step id a `$.steps.<id>` or `$.steps['<id>']` reference names (the bracket form
    /// for an id JSONPath's shorthand cannot spell: one with a `-`, or starting with a digit).
    pub fn step_id(&self) -> Option<&str> {
        let rest = self.text.strip_prefix("$.steps")?;
        if let Some(rest) = rest.strip_prefix('.') {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            return Some(&rest[..end]);
        }
        let rest = rest.strip_prefix('[')?;
        let quote = rest.chars().next().filter(|q| matches!(q, '\'' | '"'))?;
        let inner = &rest[1..];
        let end = inner.find(quote)?;
        // An id holds no quote or backslash, so no escape can be in it.
        inner[end + 1..].starts_with(']').then(|| &inner[..end])
    }

    /// The names this reference reads from its root on, as far as each segment is one name
    /// (`.name`, `['name']` or `["name"]`): `$.steps['ask'].values.reason` reads `steps`,
    /// `ask`, `values`, `reason`. A wildcard, an index, a filter, a union, a descent or a
    /// bracketed name holding an escape ends them.
    pub fn leading_names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        let Some(mut rest) = self.text.strip_prefix('$') else {
            return names;
        };
        loop {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() || name == "*" {
                    break;
                }
                names.push(name);
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let Some(quote) = after.chars().next().filter(|q| matches!(q, '\'' | '"')) else {
                    break;
                };
                let inner = &after[1..];
                let Some(end) = inner.find(quote) else {
                    break;
                };
                let name = &inner[..end];
                if name.contains('\\') || !inner[end + 1..].starts_with(']') {
                    break;
                }
                names.push(name);
                rest = &inner[end + 2..];
            } else {
                break;
            }
        }
        names
    }

    /// The root this reference reads: `event`, `steps`, `vars`, `loop` or `inputs`.
    pub fn root(&self) -> Option<&str> {
        let rest = self.text.strip_prefix("$.")?;
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        Some(&rest[..end])
    }

    /// Resolves against `context`: a singular reference's node is its value, and none an
    /// error unless optional; any other reference's nodes are a list, empty when it finds
    /// none (round 19 engine review: `$.steps.q.cases[*].id` gave one id as text when one
    /// case matched, and failed the step when none did, so a loop over it or `contains` on
    /// it changed meaning with the count).
    pub fn resolve(&self, context: &Value) -> Result<Value, String> {
        let mut left = Budget::full(Counting::WEIGHTED);
        self.resolve_within(context, &mut left)
    }

    /// [`Ref::resolve`], finding nothing being `None` whether or not the reference is
    /// optional (what `exists` asks); any other error, a copy past its budget, is one.
    /// Values are counted by `counting` (a run's, by the rules it was recorded under).
    pub fn resolve_found(
        &self,
        context: &Value,
        counting: Counting,
    ) -> Result<Option<Value>, String> {
        let mut left = Budget::full(counting);
        self.nodes_within(context, &mut left)
    }

    /// [`Ref::resolve`], taking the size of what it copies from `left` (bytes and values):
    /// each node is measured before it is copied, so a reference past the budget copies
    /// nothing.
    fn resolve_within(&self, context: &Value, left: &mut Budget) -> Result<Value, String> {
        match self.nodes_within(context, left)? {
            Some(value) => Ok(value),
            None if !self.singular => Ok(Value::Array(Vec::new())),
            None if self.optional => Ok(Value::Null),
            None => Err(format!("`{}` resolved to nothing", self.text)),
        }
    }

    /// What the reference finds, `None` for nothing, within `left`.
    fn nodes_within(&self, context: &Value, left: &mut Budget) -> Result<Option<Value>, String> {
        let nodes = self.path.query(context).all();
        for node in &nodes {
            let len = crate::json_limits::text_len_within(node, left.bytes).ok_or_else(|| {
                format!(
                    "`{}` resolves to more than a rendering may hold: at most \
                     {MAX_RENDERED_BYTES} bytes of JSON in all",
                    clip(&self.text)
                )
            })?;
            let values = left
                .counting
                .values_within(node, left.values)
                .ok_or_else(|| {
                    format!(
                        "`{}` resolves to more than a rendering may hold: at most \
                         {MAX_RENDERED_VALUES} JSON values in all (an object holding anything \
                         counts as 20)",
                        clip(&self.text)
                    )
                })?;
            left.bytes -= len;
            left.values -= values;
        }
        Ok(match nodes.as_slice() {
            [] => None,
            [one] if self.singular => Some((*one).clone()),
            many => Some(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
        })
    }
}

/// Parses `text` as a JSONPath once it is known to be within [`MAX_JSONPATH_BYTES`] and of
/// a shape whose cost is bounded ([`super::path_shape`]); the error names the path (its
/// start, if long) and the bound.
pub fn parse_path(text: &str) -> Result<JsonPath, String> {
    let shown = clip(text);
    if text.len() > MAX_JSONPATH_BYTES {
        return Err(format!(
            "`{shown}` is too long: a JSONPath may be at most {MAX_JSONPATH_BYTES} bytes"
        ));
    }
    super::path_shape::check(text).map_err(|why| format!("`{shown}` {why}"))?;
    JsonPath::parse(text).map_err(|e| format!("`{shown}` is not a valid JSONPath: {e}"))
}

/// A JSON value that may hold references anywhere inside it.
#[derive(Clone, Debug)]
pub enum Template {
    Literal(Value),
    Ref(Ref),
    /// Text with `{{ ref }}` parts.
    Text(Vec<Part>),
    Array(Vec<Template>),
    Object(Vec<(String, Template)>),
}

/// A piece of interpolated text.
#[derive(Clone, Debug)]
pub enum Part {
    Lit(String),
    Ref(Ref),
}

impl Template {
    /// Compiles `value`; errors carry the offending text.
    pub fn compile(value: &Value) -> Result<Template, String> {
        Ok(match value {
            Value::String(s) if s.trim_start().starts_with("$.") || s.trim() == "$" => {
                Template::Ref(Ref::parse(s)?)
            }
            Value::String(s) if s.contains("{{") => Template::Text(parts(s)?),
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .map(Template::compile)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Template::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Template::compile(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => Template::Literal(other.clone()),
        })
    }

    /// Every reference inside.
    pub fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Ref>) {
        match self {
            Template::Literal(_) => {}
            Template::Ref(r) => out.push(r),
            Template::Text(parts) => out.extend(parts.iter().filter_map(|p| match p {
                Part::Ref(r) => Some(r),
                Part::Lit(_) => None,
            })),
            Template::Array(items) => items.iter().for_each(|t| t.collect(out)),
            Template::Object(fields) => fields.iter().for_each(|(_, t)| t.collect(out)),
        }
    }

    /// The value with every reference resolved against `context`, copying at most
    /// [`MAX_RENDERED_BYTES`] and [`MAX_RENDERED_VALUES`] from it.
    pub fn render(&self, context: &Value) -> Result<Value, String> {
        self.render_counted(context, Counting::WEIGHTED)
    }

    /// [`Template::render`], counting values by `counting` (a run's, by the rules it was
    /// recorded under: `runs::RunRules`).
    pub fn render_counted(&self, context: &Value, counting: Counting) -> Result<Value, String> {
        let mut left = Budget::full(counting);
        self.render_within(context, &mut left)
    }

    fn render_within(&self, context: &Value, left: &mut Budget) -> Result<Value, String> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Ref(r) => r.resolve_within(context, left)?,
            Template::Text(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        Part::Lit(s) => out.push_str(s),
                        Part::Ref(r) => match r.resolve_within(context, left)? {
                            Value::String(s) => out.push_str(&s),
                            Value::Null => {}
                            other => out.push_str(&other.to_string()),
                        },
                    }
                }
                Value::String(out)
            }
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.render_within(context, left))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), t.render_within(context, left)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

fn parts(text: &str) -> Result<Vec<Part>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Part::Lit(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| {
            format!(
                "`{}` has `{{{{` without a closing `}}}}`",
                crate::text::clip(text)
            )
        })?;
        out.push(Part::Ref(Ref::parse(&after[..end])?));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push(Part::Lit(rest.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A reference that may select several nodes is a list whatever it finds: one match
    /// gave the node itself, none failed the step (round 19 engine review); a singular one
    /// stays its node.
    #[test]
    fn a_reference_that_may_select_several_is_always_a_list() {
        let context = |ids: &[&str]| json!({ "steps": { "q": { "cases": ids.iter().map(|i| json!({ "id": i })).collect::<Vec<_>>() } } });
        let wild = Ref::parse("$.steps.q.cases[*].id").expect("parses");
        assert!(!wild.singular);
        assert_eq!(
            wild.resolve(&context(&["C-1", "C-2"])),
            Ok(json!(["C-1", "C-2"]))
        );
        assert_eq!(wild.resolve(&context(&["C-1"])), Ok(json!(["C-1"])));
        assert_eq!(wild.resolve(&context(&[])), Ok(json!([])));
        assert_eq!(
            wild.resolve_found(&context(&[]), Counting::WEIGHTED),
            Ok(None),
            "exists finds nothing"
        );
        let filter = Ref::parse("$.steps.q.cases[?@.id == 'C-1'].id").expect("parses");
        assert_eq!(
            filter.resolve(&context(&["C-1", "C-2"])),
            Ok(json!(["C-1"]))
        );
        let one = Ref::parse("$.steps.q.cases[0].id").expect("parses");
        assert!(one.singular);
        assert_eq!(one.resolve(&context(&["C-1"])), Ok(json!("C-1")));
        assert!(
            one.resolve(&context(&[])).is_err(),
            "a singular one finding nothing"
        );
    }

    fn ctx() -> Value {
        json!({ "event": { "case": { "id": "C-7", "tags": ["a", "b"] } }, "steps": { "q": { "n": 2 } }, "vars": {} })
    }

    #[test]
    fn whole_value_and_interpolated_references_resolve() {
        let t = Template::compile(&json!({ "id": "$.event.case.id", "msg": "Case {{ $.event.case.id }} has {{$.steps.q.n}} notes", "keep": 3 })).expect("compiles");
        assert_eq!(
            t.render(&ctx()).expect("renders"),
            json!({ "id": "C-7", "msg": "Case C-7 has 2 notes", "keep": 3 })
        );
        let many = Template::compile(&json!("$.event.case.tags[*]")).expect("compiles");
        assert_eq!(many.render(&ctx()).expect("renders"), json!(["a", "b"]));
    }

    #[test]
    fn a_path_too_long_or_nested_too_deep_is_refused_before_it_is_parsed() {
        // Each of these hung or overflowed the parser's stack before the bounds (robustness
        // review): 2^N time in nested filters, one recursion per parenthesis.
        let nested = |n: usize| {
            let inner = (0..n).fold("@.a".to_owned(), |inner, _| format!("@[?{inner}]"));
            format!("$.event[?{inner}]")
        };
        let filters = nested(29);
        let e = Template::compile(&json!(filters)).expect_err("nested filters");
        assert!(e.contains("nests filters") && e.contains('4'), "{e}");
        let parens = format!("$[?{}@.a{}]", "(".repeat(100_000), ")".repeat(100_000));
        let e = Ref::parse(&parens).expect_err("parentheses");
        assert!(
            e.contains("too long") && e.contains("1024 bytes") && e.contains("bytes)"),
            "{e}"
        );
        let deep = format!("$[?{}@.a{}]", "(".repeat(40), ")".repeat(40));
        let e = Ref::parse(&deep).expect_err("deep parentheses");
        assert!(e.contains("deeper than 16"), "{e}");
        let text = Template::compile(&json!(format!("Case {{{{ {filters} }}}}")))
            .expect_err("interpolated");
        assert!(text.contains("nests filters"), "{text}");
        // Within the bounds, and brackets inside string literals do not count.
        Ref::parse(&nested(3)).expect("four nested filters");
        let e = Ref::parse(&nested(4)).expect_err("five nested filters");
        assert!(e.contains("nests filters"), "{e}");
        Ref::parse(&format!("$.event['{}']", "[(".repeat(60))).expect("quoted brackets");
        Ref::parse("$.event.case[?@.tags[?@ == 'a']].id").expect("a filter in a filter");
    }

    /// Values are counted as well as bytes: a list of zeros is two bytes of text a value and
    /// about 72 in memory (round 22 hostile-input review: 330 references to 100,000 zeros,
    /// a 200 kB definition, copied 33 million values in one rendering).
    #[test]
    fn a_rendering_copies_at_most_its_budget_of_values() {
        let ctx = json!({ "vars": { "z": vec![0; 100_000] } });
        let refs = |n: usize| Template::compile(&json!(vec!["$.vars.z"; n])).expect("compiles");
        let twenty = refs(19).render(&ctx).expect("within the budget");
        assert_eq!(twenty.as_array().map(Vec::len), Some(19));
        let e = refs(330).render(&ctx).expect_err("past it");
        assert!(
            e.contains("`$.vars.z`") && e.contains(&MAX_RENDERED_VALUES.to_string()),
            "{e}"
        );
    }

    #[test]
    fn a_rendering_copies_at_most_its_budget_from_the_context() {
        // One MiB of text, referenced 64 times, is what a rendering may hold; once more is
        // refused before it is copied, naming the reference and the bound.
        let mib = "x".repeat((1 << 20) - 2);
        let ctx = json!({ "vars": { "big": mib } });
        let refs = |n: usize| Template::compile(&json!(vec!["$.vars.big"; n])).expect("compiles");
        let all = refs(64).render(&ctx).expect("within the budget");
        assert_eq!(all.as_array().map(Vec::len), Some(64));
        let e = refs(65).render(&ctx).expect_err("past it");
        assert!(
            e.contains("`$.vars.big`") && e.contains(&MAX_RENDERED_BYTES.to_string()),
            "{e}"
        );
        // Interpolated text and a reference selecting many nodes are counted alike.
        let text = Template::compile(&json!("{{ $.vars.big }}".repeat(65))).expect("compiles");
        assert!(text.render(&ctx).is_err());
        let many = json!({ "vars": { "list": vec![mib.clone(); 65] } });
        let e = Template::compile(&json!("$.vars.list[*]"))
            .expect("compiles")
            .render(&many)
            .expect_err("65 nodes");
        assert!(e.contains("more than a rendering may hold"), "{e}");
    }

    #[test]
    fn missing_values_fail_unless_optional() {
        let t = Template::compile(&json!("$.event.case.owner")).expect("compiles");
        assert_eq!(
            t.render(&ctx()).expect_err("missing"),
            "`$.event.case.owner` resolved to nothing"
        );
        let t = Template::compile(&json!("$.event.case.owner?")).expect("compiles");
        assert_eq!(t.render(&ctx()).expect("optional"), Value::Null);
    }

    #[test]
    fn bad_references_are_compile_errors() {
        assert!(Template::compile(&json!("$.event[")).is_err());
        assert!(Template::compile(&json!("Case {{ $.event.case.id")).is_err());
    }

    #[test]
    fn leading_names_are_read_in_either_spelling() {
        for (text, names) in [
            ("$.event.values.reason", vec!["event", "values", "reason"]),
            (
                "$.event['values'][\"reason\"]",
                vec!["event", "values", "reason"],
            ),
            (
                "$.steps['ask'].values.r[0]",
                vec!["steps", "ask", "values", "r"],
            ),
            ("$.event.values.*", vec!["event", "values"]),
            ("$.event..reason", vec!["event"]),
            ("$.event['a','b']", vec!["event"]),
            ("$.event['a\\'b']", vec!["event"]),
        ] {
            let r = Ref::parse(text).expect("ref");
            assert_eq!(r.leading_names(), names, "{text}");
        }
    }

    #[test]
    fn step_ids_and_roots_are_read_from_references() {
        let r = Ref::parse("$.steps.lookup.emails[0]").expect("ref");
        assert_eq!((r.root(), r.step_id()), (Some("steps"), Some("lookup")));
        assert_eq!(Ref::parse("$.vars.team").expect("ref").step_id(), None);
        // An id the shorthand cannot spell is named in brackets (hostile-input review).
        for (text, id) in [
            ("$.steps['fetch-ip'].ip", Some("fetch-ip")),
            ("$.steps[\"1st\"]", Some("1st")),
            ("$.steps['unclosed", None),
            ("$.steps[0]", None),
        ] {
            let r = Ref::parse(text);
            assert_eq!(r.as_ref().ok().and_then(Ref::step_id), id, "{text}");
        }
    }
}
