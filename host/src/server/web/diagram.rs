//! A run's workflow drawn server-side as SVG: its steps top to bottom, branches (`if`,
//! `switch`, `parallel`) side by side, loop bodies framed, each step coloured by its status
//! with its duration. Drawn from the definition the run executes (JSON) and its journal; all
//! text is escaped.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::html::visible;
use crate::definition::parse::OPERATORS;
use crate::runs::StepRecord;

const BOX_W: i32 = 220;
const BOX_H: i32 = 46;
const GAP: i32 = 26;
const ARM_GAP: i32 = 24;
const LABEL_H: i32 = 18;
const PAD: i32 = 12;
const MARGIN: i32 = 16;
/// Steps and branches drawn at most: a valid 256 KiB definition of one `switch` holds about
/// 87,000 branches, some 25 MB of SVG at each view of its runs (hostile-input review).
const MAX_DRAWN: usize = 1_000;

/// A run's journal entries by the step id they end in (`loop[i].id` under `id`): each
/// shape's found in one look, where scanning every entry for each shape cost steps × entries
/// (thousands of steps, a million entries; hostile-input review).
type Journal<'a> = HashMap<&'a str, Vec<&'a StepRecord>>;

/// What the journal says of one step.
struct Seen {
    status: String,
    duration_us: i64,
    times: usize,
}

/// One step of the drawing.
enum Shape {
    Step {
        id: String,
        kind: String,
        seen: Option<Seen>,
    },
    Branch {
        id: String,
        kind: String,
        arms: Vec<(String, Vec<Shape>)>,
        /// `taken` when something inside ran; `not listed` when the journal drawn is cut.
        seen: Option<Seen>,
    },
    Loop {
        id: String,
        over: String,
        seen: Option<Seen>,
        body: Vec<Shape>,
    },
}

/// The SVG of `definition` with the statuses of `steps`; `exit` is the status the run exited
/// with (an `exit` step is not journaled: the one with that status is shown as taken).
/// `partial`: `steps` are the newest of the journal, not all of it (a run's detail past its
/// budget): a step they do not name is drawn "not listed", not "not run" (round 15 web
/// review: an ordinary run of large outputs drew its first steps as never run).
pub(super) fn svg(
    definition: &Value,
    steps: &[StepRecord],
    exit: Option<&str>,
    partial: bool,
) -> String {
    let mut journal: Journal<'_> = HashMap::new();
    for record in steps {
        // A nested workflow's steps are journaled under its step's key and a `/`; its ids
        // may repeat this definition's, which it does not draw (round 16 web review: its
        // loop step coloured the parent's step of the same id).
        if record.step.contains('/') {
            continue;
        }
        // Step ids hold no `.`: the key's last part is the step's id.
        let id = record.step.rsplit('.').next().unwrap_or(&record.step);
        journal.entry(id).or_default().push(record);
    }
    let mut generated = 0;
    let mut shapes = sequence(definition.get("steps"), &journal, &mut generated);
    let drawn = count(&shapes);
    if drawn > MAX_DRAWN {
        return format!(
            "<p class=\"empty\">The workflow has {drawn} steps and branches, too many to draw \
             (at most {MAX_DRAWN}); its journal follows.</p>"
        );
    }
    let exit = exit.map(|status| (status, exits_with(&shapes, status)));
    for s in &mut shapes {
        mark_taken(s, exit);
        if partial {
            mark_unlisted(s);
        }
    }
    let (w, h) = seq_size(&shapes);
    let (width, height) = (w + 2 * MARGIN, h + 2 * MARGIN);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"the workflow's steps\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#9aa3b2\"/>\
         </marker></defs>"
    );
    draw_seq(&shapes, width / 2, MARGIN, &mut out);
    out.push_str("</svg>");
    out
}

/// How many shapes `shapes` draws: steps, and each branch's arms.
fn count(shapes: &[Shape]) -> usize {
    shapes
        .iter()
        .map(|s| match s {
            Shape::Step { .. } => 1,
            Shape::Branch { arms, .. } => {
                1 + arms.iter().map(|(_, arm)| 1 + count(arm)).sum::<usize>()
            }
            Shape::Loop { body, .. } => 1 + count(body),
        })
        .sum()
}

/// The steps of a definition's step list, with ids as the parser gives them (generated ones
/// numbered in the same order, `_<op><n>`).
fn sequence(list: Option<&Value>, records: &Journal<'_>, generated: &mut usize) -> Vec<Shape> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_object().map(|o| shape(o, records, generated)))
        .collect()
}

fn shape(
    o: &serde_json::Map<String, Value>,
    records: &Journal<'_>,
    generated: &mut usize,
) -> Shape {
    let op = OPERATORS
        .iter()
        .find(|k| o.contains_key(**k))
        .copied()
        .unwrap_or("step");
    let id = match o.get("id").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => {
            *generated += 1;
            format!("_{op}{generated}")
        }
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    match op {
        "if" => {
            let arms = vec![
                (
                    "then".to_owned(),
                    sequence(o.get("then"), records, generated),
                ),
                (
                    "else".to_owned(),
                    sequence(o.get("else"), records, generated),
                ),
            ];
            Shape::Branch {
                id,
                kind: "if".into(),
                arms,
                seen: None,
            }
        }
        "switch" => {
            let mut arms: Vec<(String, Vec<Shape>)> = o["switch"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, c)| {
                    (
                        format!("case {}", i + 1),
                        sequence(c.get("then"), records, generated),
                    )
                })
                .collect();
            arms.push((
                "default".into(),
                sequence(o.get("default"), records, generated),
            ));
            Shape::Branch {
                id,
                kind: "switch".into(),
                arms,
                seen: None,
            }
        }
        "parallel" => {
            let arms = o["parallel"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, b)| {
                    (
                        format!("branch {}", i + 1),
                        sequence(Some(b), records, generated),
                    )
                })
                .collect();
            Shape::Branch {
                id,
                kind: "parallel".into(),
                arms,
                seen: None,
            }
        }
        "loop" => {
            let over = text(o["loop"].get("over"));
            let body = sequence(o.get("do"), records, generated);
            Shape::Loop {
                seen: seen(&id, records),
                id,
                over,
                body,
            }
        }
        _ => {
            let kind = match op {
                "uses" => text(o.get("uses")),
                "wait" => format!("wait {}", text(o.get("wait"))),
                "exit" => format!("exit {}", text(o["exit"].get("status"))),
                "workflow" => format!("workflow {}", text(o.get("workflow"))),
                other => other.to_owned(),
            };
            Shape::Step {
                seen: seen(&id, records),
                id,
                kind,
            }
        }
    }
}

/// The journal entries of step `id`: itself, or each of its runs inside loops
/// (`loop[i].id`).
fn seen(id: &str, records: &Journal<'_>) -> Option<Seen> {
    let mine = records.get(id)?;
    let last = mine.last()?;
    let status = if mine.iter().any(|r| r.status != "succeeded") {
        mine.iter()
            .find(|r| r.status != "succeeded")
            .map_or_else(|| last.status.clone(), |r| r.status.clone())
    } else {
        last.status.clone()
    };
    Some(Seen {
        status,
        duration_us: mine.iter().map(|r| r.duration_us).sum(),
        times: mine.len(),
    })
}

/// Marks every step and loop the journal's listed entries do not name as not listed.
fn mark_unlisted(shape: &mut Shape) {
    let unlisted = || Seen {
        status: "not listed".into(),
        duration_us: 0,
        times: 0,
    };
    match shape {
        Shape::Step { seen, .. } => {
            seen.get_or_insert_with(unlisted);
        }
        // A branch nothing listed ran inside may have run before the listed entries.
        Shape::Branch { arms, seen, .. } => {
            seen.get_or_insert_with(unlisted);
            arms.iter_mut()
                .flat_map(|(_, steps)| steps.iter_mut())
                .for_each(mark_unlisted);
        }
        Shape::Loop { seen, body, .. } => {
            seen.get_or_insert_with(unlisted);
            body.iter_mut().for_each(mark_unlisted);
        }
    }
}

/// How many `exit` steps of `shapes`, wherever nested, exit with `status`.
fn exits_with(shapes: &[Shape], status: &str) -> usize {
    shapes
        .iter()
        .map(|s| match s {
            Shape::Step { kind, .. } => usize::from(kind.strip_prefix("exit ") == Some(status)),
            Shape::Branch { arms, .. } => arms.iter().map(|(_, arm)| exits_with(arm, status)).sum(),
            Shape::Loop { body, .. } => exits_with(body, status),
        })
        .sum()
}

/// Whether a shape ran, as far as the journal and the run's exit status tell.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ran {
    No,
    /// One of several exits with the run's status is inside: it may have.
    Maybe,
    Yes,
}

/// Marks the exit step with the run's exit status (`exit`: it, and how many exits have it),
/// and every branch or loop with something run inside as taken; whether `shape` ran. An
/// exit is not journaled: of several with the run's status, which one was taken is not
/// known, so none is drawn taken (round 16 web review: every one was), and a branch that
/// holds one, and nothing that ran, may have been taken.
fn mark_taken(shape: &mut Shape, exit: Option<(&str, usize)>) -> Ran {
    match shape {
        Shape::Step { kind, seen, .. } => {
            if let Some((status, exits)) = exit
                && seen.is_none()
                && kind.strip_prefix("exit ") == Some(status)
            {
                *seen = Some(if exits == 1 {
                    Seen {
                        status: "exited".into(),
                        duration_us: 0,
                        times: 1,
                    }
                } else {
                    Seen {
                        status: format!("one of {exits} exits"),
                        duration_us: 0,
                        times: 0,
                    }
                });
            }
            match seen {
                Some(s) if s.times > 0 => Ran::Yes,
                Some(_) => Ran::Maybe,
                None => Ran::No,
            }
        }
        Shape::Branch { arms, seen, .. } => {
            let mut ran = Ran::No;
            for (_, steps) in arms.iter_mut() {
                for s in steps.iter_mut() {
                    ran = ran.max(mark_taken(s, exit));
                }
            }
            *seen = match ran {
                Ran::Yes => Some(Seen {
                    status: "taken".into(),
                    duration_us: 0,
                    times: 1,
                }),
                Ran::Maybe => Some(Seen {
                    status: "maybe taken".into(),
                    duration_us: 0,
                    times: 0,
                }),
                Ran::No => None,
            };
            ran
        }
        Shape::Loop { body, seen, .. } => {
            let mut ran = if seen.is_some() { Ran::Yes } else { Ran::No };
            for s in body.iter_mut() {
                ran = ran.max(mark_taken(s, exit));
            }
            ran
        }
    }
}

fn size(shape: &Shape) -> (i32, i32) {
    match shape {
        Shape::Step { .. } => (BOX_W, BOX_H),
        Shape::Branch { arms, .. } => {
            let sizes: Vec<(i32, i32)> = arms.iter().map(|(_, s)| seq_size(s)).collect();
            let w = sizes.iter().map(|s| s.0).sum::<i32>()
                + ARM_GAP * (i32::try_from(sizes.len()).unwrap_or(1) - 1).max(0);
            let h = sizes.iter().map(|s| s.1).max().unwrap_or(0);
            (w.max(BOX_W), BOX_H + GAP + LABEL_H + h + GAP / 2)
        }
        Shape::Loop { body, .. } => {
            let (w, h) = seq_size(body);
            ((w + 2 * PAD).max(BOX_W), BOX_H + GAP + h + 2 * PAD)
        }
    }
}

fn seq_size(shapes: &[Shape]) -> (i32, i32) {
    if shapes.is_empty() {
        return (BOX_W / 2, LABEL_H);
    }
    let sizes: Vec<(i32, i32)> = shapes.iter().map(size).collect();
    let w = sizes.iter().map(|s| s.0).max().unwrap_or(0);
    let h = sizes.iter().map(|s| s.1).sum::<i32>()
        + GAP * (i32::try_from(sizes.len()).unwrap_or(1) - 1);
    (w, h)
}

/// Draws `shapes` top to bottom, centred on `cx`, from `y`.
fn draw_seq(shapes: &[Shape], cx: i32, y: i32, out: &mut String) {
    if shapes.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{cx}\" y=\"{}\" text-anchor=\"middle\" fill=\"#9aa3b2\">nothing</text>",
            y + 13
        );
        return;
    }
    let mut y = y;
    for (i, s) in shapes.iter().enumerate() {
        if i > 0 {
            line(out, cx, y - GAP, cx, y, true);
        }
        draw(s, cx, y, out);
        y += size(s).1 + GAP;
    }
}

fn draw(shape: &Shape, cx: i32, y: i32, out: &mut String) {
    match shape {
        Shape::Step { id, kind, seen } => step_box(out, cx, y, id, kind, seen.as_ref()),
        Shape::Branch {
            id,
            kind,
            arms,
            seen,
        } => {
            step_box(out, cx, y, id, kind, seen.as_ref());
            let h = size(shape).1;
            let widths: Vec<i32> = arms.iter().map(|(_, s)| seq_size(s).0).collect();
            let gaps = ARM_GAP * (i32::try_from(widths.len()).unwrap_or(1) - 1).max(0);
            let mut x = cx - (widths.iter().sum::<i32>() + gaps) / 2;
            let top = y + BOX_H;
            let arms_y = top + GAP;
            let join = y + h;
            for ((label, steps), aw) in arms.iter().zip(&widths) {
                let ax = x + aw / 2;
                // From the branch down to the arm's label, and from the arm's end to the join.
                let _ = write!(
                    out,
                    "<path d=\"M{cx} {top}V{mid}H{ax}V{arms_y}\" fill=\"none\" stroke=\"#9aa3b2\"/>",
                    mid = top + GAP / 2
                );
                let _ = write!(
                    out,
                    "<text x=\"{ax}\" y=\"{}\" text-anchor=\"middle\" fill=\"#5d6678\" \
                     font-style=\"italic\">{}</text>",
                    arms_y + 13,
                    visible(label)
                );
                let body_y = arms_y + LABEL_H;
                draw_seq(steps, ax, body_y, out);
                let end = body_y + seq_size(steps).1;
                let _ = write!(
                    out,
                    "<path d=\"M{ax} {end}V{join}H{cx}\" fill=\"none\" stroke=\"#9aa3b2\"/>"
                );
                x += aw + ARM_GAP;
            }
        }
        Shape::Loop {
            id,
            over,
            seen,
            body,
        } => {
            let kind = format!("loop over {over}");
            step_box(out, cx, y, id, &kind, seen.as_ref());
            let (w, h) = size(shape);
            let frame_y = y + BOX_H + GAP;
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{frame_y}\" width=\"{w}\" height=\"{}\" rx=\"8\" fill=\"none\" \
                 stroke=\"#9aa3b2\" stroke-dasharray=\"5 4\"/>",
                cx - w / 2,
                h - BOX_H - GAP
            );
            line(out, cx, y + BOX_H, cx, frame_y + PAD, true);
            draw_seq(body, cx, frame_y + PAD, out);
        }
    }
}

fn line(out: &mut String, x1: i32, y1: i32, x2: i32, y2: i32, arrow: bool) {
    let marker = if arrow {
        " marker-end=\"url(#arrow)\""
    } else {
        ""
    };
    let _ = write!(
        out,
        "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#9aa3b2\"{marker}/>"
    );
}

fn step_box(out: &mut String, cx: i32, y: i32, id: &str, kind: &str, seen: Option<&Seen>) {
    let (fill, stroke) = match seen.map(|s| s.status.as_str()) {
        Some("succeeded" | "exited" | "taken") => ("#e3f5ea", "#1f8a4c"),
        Some("failed") => ("#fbe3e1", "#c23b32"),
        Some("not listed") => ("#ffffff", "#c5cbd6"),
        Some(_) => ("#fdf1dc", "#b7791f"),
        None => ("#ffffff", "#c5cbd6"),
    };
    let x = cx - BOX_W / 2;
    let _ = write!(
        out,
        "<g><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" \
         fill=\"{fill}\" stroke=\"{stroke}\"/>\
         <text x=\"{}\" y=\"{}\" font-weight=\"600\" fill=\"#1d2330\">{}</text>\
         <text x=\"{}\" y=\"{}\" fill=\"#5d6678\">{}</text>",
        visible(id),
        x + 10,
        y + 19,
        visible(&clip(id, 18)),
        x + 10,
        y + 36,
        visible(&clip(kind, 30))
    );
    let state = match seen {
        Some(s) if matches!(s.status.as_str(), "exited" | "taken") || s.times == 0 => {
            s.status.clone()
        }
        Some(s) if s.times > 1 => {
            format!("{} ×{} · {}", s.status, s.times, duration(s.duration_us))
        }
        Some(s) => format!("{} · {}", s.status, duration(s.duration_us)),
        None => "not run".into(),
    };
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{stroke}\" font-size=\"11\">{}</text></g>",
        x + BOX_W - 8,
        y + 19,
        visible(&state)
    );
}

/// At most `n` characters of `text`, with an ellipsis when cut.
fn clip(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(n - 1).collect();
    cut.push('…');
    cut
}

/// A step's duration for people: µs, ms or s.
pub(super) fn duration(us: i64) -> String {
    match us {
        us if us < 1_000 => format!("{us} µs"),
        us if us < 1_000_000 => format!("{:.1} ms", us as f64 / 1e3),
        us => format!("{:.2} s", us as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(step: &str, status: &str) -> StepRecord {
        StepRecord {
            step: step.into(),
            status: status.into(),
            output: None,
            error: None,
            attempts: 1,
            duration_us: 1500,
        }
    }

    #[test]
    fn a_workflow_of_too_many_branches_is_not_drawn() {
        let arms = |n: usize| -> Vec<serde_json::Value> {
            (0..n).map(|_| json!({ "when": [], "then": [] })).collect()
        };
        let drawn = svg(
            &json!({ "steps": [ { "switch": arms(10) } ] }),
            &[],
            None,
            false,
        );
        assert!(drawn.starts_with("<svg"), "{drawn}");
        let refused = svg(
            &json!({ "steps": [ { "switch": arms(5_000) } ] }),
            &[],
            None,
            false,
        );
        assert!(refused.contains("too many to draw"), "{refused}");
        assert!(refused.len() < 200, "{}", refused.len());
    }

    #[test]
    fn steps_branches_and_loops_are_drawn_with_their_status() {
        let def = json!({ "steps": [
            { "id": "a", "uses": "cases/create-case" },
            { "switch": [ { "when": [], "then": [ { "exit": { "status": "x" } } ] } ],
              "default": [ { "id": "b", "uses": "echo" } ] },
            { "id": "each", "loop": { "over": "$.items" }, "do": [ { "id": "c", "uses": "echo" } ] }
        ]});
        let svg = svg(
            &def,
            &[
                record("a", "succeeded"),
                record("each[0].c", "succeeded"),
                record("each[1].c", "failed"),
            ],
            Some("x"),
            false,
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains(">a</text>") && svg.contains("succeeded · 1.5 ms"),
            "{svg}"
        );
        assert!(
            svg.contains(">_switch1</text>"),
            "generated ids as the parser numbers them"
        );
        assert!(svg.contains("case 1") && svg.contains("default"), "{svg}");
        assert!(
            svg.contains("failed ×2 · 3.0 ms"),
            "a loop body's step sums its runs: {svg}"
        );
        assert!(svg.contains(">exited</text>"), "the exit taken: {svg}");
        assert!(svg.contains(">taken</text>"), "the switch it is in: {svg}");
        assert!(svg.contains("not run"), "b never ran: {svg}");
        // Drawn from the newest entries only, a step they do not name is not listed: it may
        // have run (round 15 web review).
        let partial = super::svg(&def, &[record("each[1].c", "failed")], Some("x"), true);
        assert!(partial.contains(">not listed</text>"), "{partial}");
        assert!(!partial.contains("not run"), "{partial}");
        // A branch nothing listed ran inside is not listed either (round 16).
        let partial = super::svg(&def, &[record("each[1].c", "failed")], None, true);
        assert!(!partial.contains("not run"), "{partial}");
    }

    /// A nested workflow's entries do not colour this definition's steps of the same id, and
    /// of two exits with the run's status neither is drawn taken (round 16 web review).
    #[test]
    fn only_what_the_journal_names_is_drawn_as_run() {
        let def = json!({ "steps": [
            { "id": "call", "workflow": "child.json" },
            { "id": "notify", "uses": "echo" },
            { "switch": [
                { "when": [], "then": [ { "exit": { "status": "closed" } } ] },
                { "when": [], "then": [ { "exit": { "status": "closed" } } ] } ] }
        ]});
        let svg = svg(
            &def,
            &[
                record("call", "succeeded"),
                record("call/items[0].notify", "failed"),
            ],
            Some("closed"),
            false,
        );
        assert!(
            !svg.contains("failed"),
            "the child's notify is not drawn: {svg}"
        );
        assert_eq!(
            svg.matches(">not run</text>").count(),
            1,
            "the parent's notify, and nothing else, never ran: {svg}"
        );
        assert!(!svg.contains(">exited</text>"), "{svg}");
        assert!(!svg.contains(">taken</text>"), "{svg}");
        assert_eq!(svg.matches(">one of 2 exits</text>").count(), 2, "{svg}");
        assert!(
            svg.contains(">maybe taken</text>"),
            "the switch holding them: {svg}"
        );
    }

    #[test]
    fn text_in_a_definition_is_escaped() {
        let def = json!({ "steps": [ { "id": "a", "uses": "<script>x</script>" } ] });
        let svg = svg(&def, &[], None, false);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
    }
}
