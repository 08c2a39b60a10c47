//! Evaluating conditions (`left op right`, SPEC WF-3): comparisons of JSON values, no code.

use std::cmp::Ordering;

use serde_json::Value;

use super::model::{Condition, Op};
use super::refs::Template;
use crate::json_limits::Counting;

/// Whether every condition holds in `context`; a reference that resolves to nothing is an
/// error unless optional (then it compares as `null`).
pub fn all_hold(conditions: &[Condition], context: &Value) -> Result<bool, String> {
    all_hold_charged(conditions, context, Counting::WEIGHTED, &|_| Ok(()))
}

/// [`all_hold`], counting values by `counting` (a run's, by the rules it was recorded under)
/// and handing each side it renders to `charge` first (a run counts what its renderings
/// copy); `charge`'s refusal is the condition's error.
pub fn all_hold_charged(
    conditions: &[Condition],
    context: &Value,
    counting: Counting,
    charge: &dyn Fn(&Value) -> Result<(), String>,
) -> Result<bool, String> {
    for (i, c) in conditions.iter().enumerate() {
        // Named by its place and its references (a written value by its kind only: a
        // trigger's error reaches readers its event's values may not): the error named
        // only the kinds compared (round 19 engine review).
        let named = |e: String| {
            format!(
                "condition [{i}] ({} {} {}): {e}",
                side_named(&c.left),
                c.op.name(),
                side_named(&c.right)
            )
        };
        if !holds(c, context, counting, charge).map_err(named)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A condition's side as an error names it: a reference by its text, anything else as
/// written (never its value).
fn side_named(side: &Template) -> String {
    match side {
        Template::Ref(r) => format!("`{}`", crate::text::clip(&r.text)),
        Template::Text(_) => "a text with references".to_owned(),
        _ => "a written value".to_owned(),
    }
}

fn holds(
    c: &Condition,
    context: &Value,
    counting: Counting,
    charge: &dyn Fn(&Value) -> Result<(), String>,
) -> Result<bool, String> {
    if matches!(c.op, Op::Exists | Op::NotExists) {
        // Only finding nothing is absence: a reference past its copy budget is an error, as
        // for every other operator (it made `not_exists` hold; round 16 hostile-input review).
        let found = match &c.left {
            Template::Ref(r) => r.resolve_found(context, counting)?,
            // Text or a template: refused where written now; a stored revision's reads as it
            // always did (rendered, or absent if it cannot be), so that it runs as before.
            other => other.render_counted(context, counting).ok(),
        };
        let present = match found {
            Some(v) => {
                charge(&v)?;
                !v.is_null()
            }
            None => false,
        };
        return Ok(present == (c.op == Op::Exists));
    }
    // An optional reference that found nothing holds no order and contains nothing, and
    // nothing is in a list; a `null` found or written is a value (`["a", null] contains null`
    // holds, and so does an unassigned case's `assignee? in [null]`: round 16 reviews).
    let (left, left_missing) = side(&c.left, context, counting)?;
    charge(&left)?;
    let (right, right_missing) = side(&c.right, context, counting)?;
    charge(&right)?;
    let order = || ordered(c.op, &left, &right);
    Ok(match c.op {
        Op::Eq => same(&left, &right),
        Op::Ne => !same(&left, &right),
        Op::Gt => order()? == Some(Ordering::Greater),
        Op::Gte => matches!(order()?, Some(Ordering::Greater | Ordering::Equal)),
        Op::Lt => order()? == Some(Ordering::Less),
        Op::Lte => matches!(order()?, Some(Ordering::Less | Ordering::Equal)),
        Op::In if left_missing => false,
        Op::In => match &right {
            Value::Array(items) => items.iter().any(|i| same(i, &left)),
            // An optional reference that found nothing: there is no list to look in.
            Value::Null => false,
            // It never held, silently (hostile-input review): a step's condition now fails
            // naming it, and a trigger's is a failed run naming it.
            other => {
                return Err(format!(
                    "`in` looks for `left` in a list, but `right` is {}",
                    kind_of(other)
                ));
            }
        },
        // As `in`: what cannot hold anything is an error naming it, not a silent `false`
        // (round 15 hostile-input review); an optional reference that found nothing holds
        // nothing.
        Op::Contains if left_missing || right_missing => false,
        Op::Contains => match (&left, &right) {
            (Value::Array(items), _) => items.iter().any(|i| same(i, &right)),
            // A `null` (an unassigned case's `assignee`) holds nothing, and no text holds
            // one; anything else is no list or text, as below (self-review).
            (Value::Null, _) | (Value::String(_), Value::Null) => false,
            (Value::String(s), Value::String(r)) => s.contains(r.as_str()),
            (Value::String(_), other) => {
                return Err(format!(
                    "`contains` looks for text in text, but `right` is {}",
                    kind_of(other)
                ));
            }
            (other, _) => {
                return Err(format!(
                    "`contains` looks in a list or text, but `left` is {}",
                    kind_of(other)
                ));
            }
        },
        Op::Exists | Op::NotExists => false,
    })
}

/// A side of a condition rendered, and whether it is an optional reference that found
/// nothing (a `null` it found is a value).
fn side(t: &Template, context: &Value, counting: Counting) -> Result<(Value, bool), String> {
    match t {
        Template::Ref(r) if r.optional => Ok(match r.resolve_found(context, counting)? {
            Some(v) => (v, false),
            None => (Value::Null, true),
        }),
        other => Ok((other.render_counted(context, counting)?, false)),
    }
}

/// What kind of JSON value `v` is, for an error.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Whether `a` and `b` are the same value, numbers by value wherever they are nested: `3` and
/// `3.0` are one number (serde_json tells them apart, and the web form's number field read
/// `3` as `3.0`, so `eq 3` failed where `gte 3` and `lte 3` held: hostile-input review).
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        (Value::String(x), Value::String(y)) => {
            x == y
                || same_email(x, y)
                || matches!((severity_rank(x), severity_rank(y)), (Some(a), Some(b)) if a == b)
        }
        _ => a == b,
    }
}

/// Whether `x` and `y` are one email address written in two cases: people are stored
/// lower-cased, so `assignee eq "Sam.Lead@…"` never held (round 17 hostile-input review;
/// emails compare case-insensitively everywhere).
fn same_email(x: &str, y: &str) -> bool {
    use crate::principal::Email;
    x.contains('@')
        && y.contains('@')
        && matches!((Email::parse(x), Email::parse(y)), (Ok(a), Ok(b)) if a == b)
}

/// Two numbers in order: integers exactly (past 2^53 as f64 they could tie), an integer
/// and a float exactly too ([`integer_and_float`]), two floats as f64.
fn numbers(x: &serde_json::Number, y: &serde_json::Number) -> Option<Ordering> {
    let exact = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (exact(x), exact(y)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        (Some(a), None) => integer_and_float(a, y.as_f64()?),
        (None, Some(b)) => integer_and_float(b, x.as_f64()?).map(Ordering::reverse),
        (None, None) => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

/// Integer `i` against float `f`, exactly: through f64 the integer was rounded, so
/// 9007199254740993 equalled 9007199254740992.0 and `u64::MAX` was not below 2^64
/// (hostile-input review).
fn integer_and_float(i: i128, f: f64) -> Option<Ordering> {
    // 2^127: past it every i128 (and so every JSON integer) is below, or above.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if !f.is_finite() {
        return None;
    }
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let floor = f.floor();
    // Exact: an f64 within ±2^127 with no fraction is an integer an i128 holds.
    let whole = floor as i128;
    Some(match i.cmp(&whole) {
        Ordering::Equal if floor == f => Ordering::Equal,
        // i is floor(f), and f has a fraction: i is below it.
        Ordering::Equal => Ordering::Less,
        other => other,
    })
}

/// How `a` and `b` are ordered for `op`: numbers as numbers, strings as strings; `None` (no
/// order holds) where an optional reference found nothing; anything else is an error naming
/// both sides: `"85"` against `80` was silently false (round 15 hostile-input review).
fn ordered(op: Op, a: &Value, b: &Value) -> Result<Option<Ordering>, String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(numbers(x, y)),
        // Two severities by rank (SPEC CS-1): as text, `"low" gte "high"` held and
        // `"critical" gte "high"` did not (round 17 hostile-input review).
        (Value::String(x), Value::String(y)) => {
            Ok(Some(match (severity_rank(x), severity_rank(y)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => x.cmp(y),
            }))
        }
        (Value::Null, _) | (_, Value::Null) => Ok(None),
        _ => Err(format!(
            "`{}` orders numbers with numbers or text with text, but `left` is {} and `right` {}",
            op.name(),
            kind_of(a),
            kind_of(b)
        )),
    }
}

/// The rank of a case severity's name in any case, lowest first; `None` for other text.
/// Cases spell it lower-case, alerts often not: `gte "High"` held for every case, as text
/// (round 18 hostile-input review).
fn severity_rank(text: &str) -> Option<u8> {
    ["low", "medium", "high", "critical"]
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text))
        .and_then(|rank| u8::try_from(rank).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::refs::Template;
    use serde_json::json;

    /// An integer against a float compares exactly, not through an f64 that rounds it.
    #[test]
    fn an_integer_and_a_float_compare_exactly() {
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!("a number"),
        };
        let cases = [
            (
                json!(9_007_199_254_740_993_u64),
                json!(9_007_199_254_740_992.0),
                Ordering::Greater,
            ),
            (
                json!(10_000_000_000_000_001_u64),
                json!(1e16),
                Ordering::Greater,
            ),
            (
                json!(u64::MAX),
                json!(18_446_744_073_709_551_616.0),
                Ordering::Less,
            ),
            (json!(3), json!(3.0), Ordering::Equal),
            (json!(3), json!(3.5), Ordering::Less),
            (json!(-3), json!(-3.5), Ordering::Greater),
            (json!(-4), json!(-3.5), Ordering::Less),
            (json!(i64::MIN), json!(-1e300), Ordering::Greater),
        ];
        for (i, f, want) in cases {
            assert_eq!(
                numbers(&n(i.clone()), &n(f.clone())),
                Some(want),
                "{i} vs {f}"
            );
            assert_eq!(
                numbers(&n(f.clone()), &n(i.clone())),
                Some(want.reverse()),
                "{f} vs {i}"
            );
        }
    }

    fn cond(left: Value, op: Op, right: Value) -> Condition {
        Condition {
            left: Template::compile(&left).expect("left"),
            op,
            right: Template::compile(&right).expect("right"),
        }
    }

    /// Severities order by rank, other text as text.
    #[test]
    fn severities_order_by_rank() {
        let ctx = json!({ "low": "low", "critical": "critical", "state": "open" });
        let holds_ =
            |c: Condition| holds(&c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect("evaluates");
        assert!(!holds_(cond(json!("$.low"), Op::Gte, json!("high"))));
        assert!(holds_(cond(json!("$.critical"), Op::Gte, json!("high"))));
        assert!(holds_(cond(json!("$.low"), Op::Lt, json!("medium"))));
        assert!(holds_(cond(json!("$.state"), Op::Gt, json!("closed"))));
        // In any case: an alert's `"Low"`, a written `"High"` (round 18 hostile-input review:
        // `gte "High"` held for every case, as text).
        let ctx = json!({ "low": "low", "critical": "critical", "ext": "Low" });
        let holds_ =
            |c: Condition| holds(&c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect("evaluates");
        assert!(!holds_(cond(json!("$.low"), Op::Gte, json!("High"))));
        assert!(holds_(cond(json!("$.critical"), Op::Gte, json!("High"))));
        assert!(!holds_(cond(json!("$.ext"), Op::Gte, json!("high"))));
        assert!(holds_(cond(
            json!("$.critical"),
            Op::In,
            json!(["High", "Critical"])
        )));
        assert!(holds_(cond(json!("$.ext"), Op::Eq, json!("low"))));
        assert!(!holds_(cond(json!("$.ext"), Op::Eq, json!("lower"))));
    }

    /// Emails are one whatever their case, in `eq`, `ne`, `in` and a list's `contains`; other
    /// text keeps its case (round 17 hostile-input review).
    #[test]
    fn emails_compare_whatever_their_case() {
        let ctx = json!({ "assignee": "sam.lead@acme.test", "added": ["ciso@acme.test"],
                          "state": "open" });
        let yes = [
            cond(json!("$.assignee"), Op::Eq, json!("Sam.Lead@ACME.test")),
            cond(json!("$.assignee"), Op::In, json!(["SAM.LEAD@acme.test"])),
            cond(json!("$.added"), Op::Contains, json!("CISO@acme.test")),
        ];
        for c in &yes {
            assert!(
                holds(c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect("evaluates"),
                "{c:?}"
            );
        }
        let no = [
            cond(json!("$.assignee"), Op::Ne, json!("Sam.Lead@ACME.test")),
            cond(json!("$.assignee"), Op::Eq, json!("sam.lead@acme.other")),
            cond(json!("$.state"), Op::Eq, json!("Open")),
        ];
        for c in &no {
            assert!(
                !holds(c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect("evaluates"),
                "{c:?}"
            );
        }
    }

    /// Numbers are equal by value, wherever they are nested, and integers order exactly.
    #[test]
    fn numbers_compare_by_value() {
        let ctx = json!({ "n": 3.0, "m": -0.0, "big": 9007199254740993_u64, "list": [1.0, 2] });
        let yes = [
            cond(json!("$.n"), Op::Eq, json!(3)),
            cond(json!("$.n"), Op::In, json!([1, 3])),
            cond(json!("$.m"), Op::Eq, json!(0)),
            cond(json!("$.list"), Op::Contains, json!(1)),
            cond(json!("$.list"), Op::Eq, json!([1, 2.0])),
            cond(json!("$.big"), Op::Gt, json!(9007199254740992_u64)),
            cond(json!("$.big"), Op::Ne, json!(9007199254740992_u64)),
        ];
        for c in &yes {
            assert!(
                holds(c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect("evaluates"),
                "{c:?}"
            );
        }
        let no = [
            cond(json!("$.n"), Op::Ne, json!(3)),
            cond(json!("$.n"), Op::Eq, json!("3")),
            cond(json!("$.big"), Op::Lte, json!(9007199254740992_u64)),
        ];
        for c in &no {
            assert!(
                !holds(c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect("evaluates"),
                "{c:?}"
            );
        }
    }

    #[test]
    fn operators_compare_json_values() {
        let ctx = json!({ "event": { "n": 3, "sev": "critical", "tags": ["a"], "holes": ["a", null], "nobody": null } });
        let yes = [
            cond(json!("$.event.n"), Op::Gt, json!(2)),
            cond(json!("$.event.sev"), Op::Eq, json!("critical")),
            cond(json!("$.event.sev"), Op::In, json!(["high", "critical"])),
            cond(json!("$.event.tags"), Op::Contains, json!("a")),
            cond(json!("$.event.n"), Op::Exists, Value::Null),
            cond(json!("$.event.missing?"), Op::NotExists, Value::Null),
            // Not optional, finding nothing is absence too.
            cond(json!("$.event.missing"), Op::NotExists, Value::Null),
            // A `null` written as such is a value (round 16 storage review), and so is one
            // found, optional reference or not (round 16 self-review).
            cond(json!("$.event.holes"), Op::Contains, Value::Null),
            cond(json!("$.event.nobody?"), Op::In, json!([null])),
        ];
        for c in &yes {
            assert!(
                holds(c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect("evaluates"),
                "{c:?}"
            );
        }
        // No order across types, nor containment in what holds nothing: errors naming both
        // sides, not a silent `false` ("85" against 80; round 15 hostile-input review). An
        // optional reference that found nothing holds no order and contains nothing.
        for (c, needle) in [
            (
                cond(json!("$.event.sev"), Op::Gt, json!(1)),
                "`gt` orders numbers with numbers or text with text, but `left` is a string and `right` a number",
            ),
            (
                cond(json!("$.event"), Op::Lte, json!({})),
                "`left` is an object and `right` an object",
            ),
            (
                cond(json!("$.event.n"), Op::Contains, Value::Null),
                "`contains` looks in a list or text, but `left` is a number",
            ),
            (
                cond(json!("$.event.n"), Op::Contains, json!(3)),
                "`contains` looks in a list or text, but `left` is a number",
            ),
            (
                cond(json!("$.event.sev"), Op::Contains, json!(1)),
                "`contains` looks for text in text, but `right` is a number",
            ),
        ] {
            let err = holds(&c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect_err(needle);
            assert!(err.contains(needle), "{err}");
        }
        for c in [
            cond(json!("$.event.missing?"), Op::Gt, json!(1)),
            cond(json!("$.event.missing?"), Op::Contains, json!(1)),
            cond(
                json!("$.event.sev"),
                Op::Contains,
                json!("$.event.missing?"),
            ),
            cond(
                json!("$.event.holes"),
                Op::Contains,
                json!("$.event.missing?"),
            ),
            // Nothing found is in no list, a list holding `null` too (round 16).
            cond(json!("$.event.missing?"), Op::In, json!(["a", null])),
            // A `null` found holds nothing: no error (an unassigned case's assignee).
            cond(json!("$.event.nobody"), Op::Contains, json!("@vendor.test")),
            cond(json!("$.event.sev"), Op::Contains, json!("$.event.nobody")),
        ] {
            assert!(
                !holds(&c, &ctx, Counting::WEIGHTED, &|_| Ok(())).expect("evaluates"),
                "{c:?}"
            );
        }
        assert!(
            holds(
                &cond(json!("$.event.missing"), Op::Eq, json!(1)),
                &ctx,
                Counting::WEIGHTED,
                &|_| Ok(())
            )
            .is_err(),
            "missing reference is an error"
        );
        // `in` over a reference to anything but a list is an error naming what it found
        // (it silently never held); an optional one that found nothing does not hold.
        let err = holds(
            &cond(json!("$.event.sev"), Op::In, json!("$.event.sev")),
            &ctx,
            Counting::WEIGHTED,
            &|_| Ok(()),
        )
        .expect_err("a string is no list");
        assert!(err.contains("`right` is a string"), "{err}");
        assert!(
            !holds(
                &cond(json!("$.event.sev"), Op::In, json!("$.event.missing?")),
                &ctx,
                Counting::WEIGHTED,
                &|_| Ok(())
            )
            .expect("evaluates")
        );
    }
}
