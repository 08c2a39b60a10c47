//! Components pinned at publish (issue 14): a published workflow runs the exact component bytes
//! it was published with, found by content hash in the database, whatever `--steps` the
//! process dispatching or resuming its runs was given. The runtime loads components from files,
//! so a pinned component is written out once to `<database dir>/components/<digest>.wasm`
//! (checked against its digest before use). Nested workflows are pinned the same way: their
//! definitions stored by digest, handed to the run's resolver instead of read from files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::Error;
use crate::builtin;
use crate::definition::model::{StepKind, Workflow};
use crate::definition::parse::parse;
use crate::definition::resolver::Resolver;
use crate::json_locate::joined;
use crate::platform::Platform;
use crate::store::Transaction;
use crate::wasm::cache::content_digest;

/// `uses` value → SHA-256 of the component it named at publish.
pub type Pins = BTreeMap<String, String>;

/// A component found at publish: its `uses`, digest and bytes.
pub struct Found {
    uses: String,
    digest: String,
    bytes: Vec<u8>,
}

/// Every component `definition` names, resolved with `resolver` and read. A component that
/// cannot be found or read is an error naming it: nothing is published without its steps.
pub fn collect(definition: &str, resolver: &Resolver) -> Result<Vec<Found>, Error> {
    let doc: Value = serde_json::from_str(definition)
        .map_err(|e| Error::Invalid(format!("the definition is not JSON: {e}")))?;
    let mut names = Vec::new();
    uses_values(doc.get("steps"), &mut names);
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|uses| {
            let path = resolver.component(&uses).map_err(Error::Invalid)?;
            // Where only for a definition of a file: a server's path is not an API sender's
            // to learn (leak review).
            let at = if resolver.names_files() {
                format!(" at {}", path.display())
            } else {
                " in the server's step directories".to_owned()
            };
            let unreadable =
                |e: &dyn std::fmt::Display| format!("cannot read component `{uses}`{at}: {e}");
            let bytes = crate::wasm::component_file::read(&path).map_err(|e| {
                // The machine's failure (no file handle left) is not the definition's.
                if e.for_now {
                    Error::Busy(unreadable(&e))
                } else {
                    Error::Invalid(unreadable(&e))
                }
            })?;
            crate::wasm::component_file::whole_component(&bytes).map_err(|e| {
                Error::Invalid(unreadable(&format!("it is not a whole component: {e}")))
            })?;
            Ok(Found {
                digest: content_digest(&bytes),
                uses,
                bytes,
            })
        })
        .collect()
}

/// Pins of nested workflows are keyed `nested-workflow:<path>` ([`Resolver::nested_key`]);
/// their definitions are stored like component bytes, by digest.
const NESTED: &str = "nested-workflow:";

/// Refuses an Interaction Flow `inner` (read from `origin`) as a nested workflow: its steps
/// read the form's checked answers and the responder its settings allowed, where nested they
/// read the parent's event, which a manual run's caller writes (round 22 engine review; a
/// file's `run` and `run --published` refuse it likewise, SPEC IX-4).
pub(crate) fn not_a_flow(inner: &Workflow, origin: &str) -> Result<(), String> {
    if inner.trigger.on == crate::definition::model::TriggerKind::Interaction {
        return Err(format!(
            "nested workflow {origin} is an Interaction Flow: it starts through its form \
             once published, not as a step (SPEC IX-4)"
        ));
    }
    Ok(())
}

/// The nested workflows `workflow` reaches (theirs included), each read, parsed with the
/// resolver for its file, and found with the components it names: pinned with the revision so
/// that editing a nested file after publishing changes nothing for its runs (SPEC WF-7,
/// SH-3). One that cannot be read or does not validate is an error naming it. A component
/// named alike by two of them must be the same bytes (pins are keyed by `uses`). Returns
/// whether any of them asks people for input (what publishing it takes, `publish.rs`).
///
/// A nested workflow that is an Interaction Flow is refused (see [`not_a_flow`]).
pub fn collect_nested(workflow: &Workflow, found: &mut Vec<Found>) -> Result<bool, Error> {
    let mut asks_people = false;
    let mut seen = HashSet::new();
    // Breadth first, so a file is pinned where it is first reached by its shortest path: depth
    // first, one reached deep down (past the limit) was marked seen, and left unpinned when a
    // short path reached it later; its runs then read it from disk (authority review).
    let mut queue = std::collections::VecDeque::from([(workflow.clone(), 0_usize)]);
    while let Some((wf, depth)) = queue.pop_front() {
        if depth >= MAX_NESTED_PINS_DEPTH {
            continue;
        }
        for step in wf.all_steps() {
            let StepKind::Nested { path, .. } = &step.kind else {
                continue;
            };
            let key = format!("{NESTED}{}", Resolver::nested_key(path));
            if !seen.insert(key.clone()) {
                continue;
            }
            let (text, resolver) = wf.resolver.nested(path, &[]).map_err(Error::Invalid)?;
            let origin = path.display().to_string();
            let inner = parse(&origin, &text, &resolver).map_err(|errors| {
                Error::Invalid(format!("nested workflow {origin}: {}", joined(&errors)))
            })?;
            // It runs in its parent's workspace, or not at all: refused here, where it is
            // published (or validated), not at each run (hostile-input review).
            if inner.workspace != workflow.workspace {
                return Err(Error::Invalid(format!(
                    "nested workflow {origin} belongs to workspace `{}`, not `{}`: a nested \
                     workflow runs in its parent's workspace",
                    inner.workspace, workflow.workspace
                )));
            }
            not_a_flow(&inner, &origin).map_err(Error::Invalid)?;
            asks_people |= inner.asks_people();
            for component in collect(&text, &resolver)? {
                match found.iter().find(|f| f.uses == component.uses) {
                    Some(f) if f.digest != component.digest => {
                        return Err(Error::Invalid(format!(
                            "component `{}` names different files in this workflow and in nested workflow {origin}; give them different names",
                            component.uses
                        )));
                    }
                    Some(_) => {}
                    None => found.push(component),
                }
            }
            found.push(Found {
                digest: content_digest(text.as_bytes()),
                uses: key,
                bytes: text.into_bytes(),
            });
            queue.push_back((inner, depth + 1));
        }
    }
    Ok(asks_people)
}

/// Whether `pins` hold any nested workflow.
pub(crate) fn pins_nested(pins: &Pins) -> bool {
    pins.keys().any(|k| k.starts_with(NESTED))
}

/// Nested workflows deeper than this are not run anyway (the engine's nesting limit).
const MAX_NESTED_PINS_DEPTH: usize = 8;

/// Stores the bytes of `found` (once per digest) and returns the pins, in `tx`.
pub(crate) fn store(tx: &Transaction<'_>, found: &[Found]) -> Result<Pins, Error> {
    let mut pins = Pins::new();
    for f in found {
        super::store::components::put(tx, &f.digest, &f.bytes)?;
        pins.insert(f.uses.clone(), f.digest.clone());
    }
    Ok(pins)
}

/// The `uses` values naming components (not built-in steps) of the steps in `steps` and in
/// the step lists within them, where the parser reads steps: a `uses` key in data (`vars`,
/// `with`, an exit's output) is not a step, and was read (and pinned) as one (hostile-input
/// review).
fn uses_values(steps: Option<&Value>, out: &mut Vec<String>) {
    for step in steps.and_then(Value::as_array).into_iter().flatten() {
        let Some(o) = step.as_object() else { continue };
        if let Some(Value::String(uses)) = o.get("uses")
            && !builtin::is_builtin(uses)
            && (uses.starts_with("step:") || uses.ends_with(".wasm"))
        {
            out.push(uses.clone());
        }
        for list in ["then", "else", "default", "do"] {
            uses_values(o.get(list), out);
        }
        for case in o
            .get("switch")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            uses_values(case.get("then"), out);
        }
        for branch in o
            .get("parallel")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            uses_values(Some(branch), out);
        }
        uses_values(
            o.get("interaction").and_then(|ix| ix.get("on_timeout")),
            out,
        );
    }
}

/// What identifies a file's contents cheaply: its inode, size and modification time. A
/// file written again or replaced changes it.
type FileStamp = (u64, u64, Option<std::time::SystemTime>);

fn stamp_of(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).ok()?;
    meta.is_file()
        .then(|| (meta.ino(), meta.len(), meta.modified().ok()))
}

/// Files already checked against their digest by this process, with the stamp they had.
fn verified() -> &'static Mutex<HashMap<PathBuf, FileStamp>> {
    static VERIFIED: OnceLock<Mutex<HashMap<PathBuf, FileStamp>>> = OnceLock::new();
    VERIFIED.get_or_init(Mutex::default)
}

impl Platform {
    /// A resolver that finds each of `pins` (and nothing else) for a definition read from
    /// `source`. A pinned component missing from the database is an error naming it: a
    /// workflow never runs without, or with another version of, a step it was published with.
    pub(crate) fn pinned_resolver(&self, source: &str, pins: &Pins) -> Result<Resolver, Error> {
        let dir = self.components_dir()?;
        let mut pinned = BTreeMap::new();
        let mut workflows = BTreeMap::new();
        for (uses, digest) in pins {
            // A digest is hex: it names a file inside `dir` and nothing else.
            if digest.is_empty() || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                // Stored data that can never run: a defect of the revision, not of the moment.
                return Err(Error::Invalid(format!(
                    "component `{uses}` is pinned to `{digest}`, which is not a SHA-256 digest"
                )));
            }
            if let Some(path) = uses.strip_prefix(NESTED) {
                workflows.insert(path.to_owned(), self.pinned_definition(path, digest)?);
                continue;
            }
            let path = dir.join(format!("{digest}.wasm"));
            self.write_out(uses, digest, &path)?;
            pinned.insert(uses.clone(), path);
        }
        let mut resolver = Resolver::for_file(Path::new(source), Vec::new());
        resolver.pinned = Some(pinned);
        resolver.workflows = Some(workflows);
        resolver.stored = true;
        Ok(resolver)
    }

    /// The definition of nested workflow `path` pinned as `digest`, checked against it.
    fn pinned_definition(&self, path: &str, digest: &str) -> Result<String, Error> {
        let bytes = super::store::components::bytes(self.db()?.conn(), digest)?.ok_or_else(|| {
                Error::NotFound(format!(
                    "nested workflow {path} (sha256 {digest}), pinned when the workflow was published, is not in the database"
                ))
            })?;
        if content_digest(&bytes) != digest {
            return Err(Error::Invalid(format!(
                "the stored definition of nested workflow {path} does not match its digest {digest}"
            )));
        }
        String::from_utf8(bytes).map_err(|_| {
            Error::Invalid(format!(
                "the stored definition of nested workflow {path} is not UTF-8"
            ))
        })
    }

    /// Where pinned components are written out: in the state directory (by default beside
    /// the database file); without one, a directory this process made for itself (one named
    /// by the process id was used as found, whoever had made it; polyglot review).
    fn components_dir(&self) -> Result<PathBuf, Error> {
        // Made once it can be; a failure (a full disk) is tried again by the next run.
        static OWN: Mutex<Option<crate::scratch::Scratch>> = Mutex::new(None);
        if let Some(dir) = self.state_dir() {
            return Ok(dir.join("components"));
        }
        let mut own = OWN.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(made) = own.as_ref() {
            return Ok(made.path().to_owned());
        }
        let made = crate::scratch::Scratch::new("flowhost-components-").map_err(|e| {
            Error::Busy(format!(
                "cannot make a directory for pinned components: {e}"
            ))
        })?;
        let dir = made.path().to_owned();
        *own = Some(made);
        Ok(dir)
    }

    /// Makes sure `path` holds the component `digest`: checked once per process, else
    /// written (atomically) from the database.
    fn write_out(&self, uses: &str, digest: &str, path: &Path) -> Result<(), Error> {
        let mut seen = verified().lock().unwrap_or_else(|p| p.into_inner());
        // Checked once per process while it is the file checked: one deleted (a state
        // directory cleaned by hand), replaced or written to since is checked again, and
        // written out again from the database unless it holds the pinned bytes, rather than
        // failing every run of the component until a restart, or running other bytes as the
        // pinned step (kill and concurrency reviews; SPEC WF-7).
        if seen
            .get(path)
            .is_some_and(|was| stamp_of(path).as_ref() == Some(was))
        {
            return Ok(());
        }
        // Stamped before it is read: a file replaced while it was read is not taken as checked.
        let before = stamp_of(path);
        let good = crate::wasm::component_file::read(path)
            .is_ok_and(|bytes| content_digest(&bytes) == digest);
        if !good {
            let bytes = super::store::components::bytes(self.db()?.conn(), digest)?.ok_or_else(|| {
                    Error::NotFound(format!(
                        "component `{uses}` (sha256 {digest}), pinned when the workflow was published, is not in the database"
                    ))
                })?;
            if content_digest(&bytes) != digest {
                return Err(Error::Invalid(format!(
                    "the stored bytes of component `{uses}` do not match its digest {digest}"
                )));
            }
            let dir = path.parent().unwrap_or(Path::new("."));
            // The host's disk (full, read-only), not the workflow: the infrastructure's
            // failure, so an event waiting on it stays pending and a run stops resumable
            // (SPEC WF-11) rather than being set aside or failed.
            // The directory is not named: the message reaches API callers and run records,
            // and the server's paths are not theirs (it is `<state dir>/components/`).
            let fail = |e: std::io::Error| {
                Error::Busy(format!(
                    "cannot write component `{uses}` to the host's `components/` directory: {e}"
                ))
            };
            std::fs::create_dir_all(dir).map_err(fail)?;
            // A temporary file of its own, synced before it is renamed into place: two hosts
            // sharing a state directory with the same process id (containers, each pid 1)
            // once wrote one temporary file, and a kill left a short one (review).
            crate::wasm::cache::write_atomically(dir, path, &bytes).map_err(fail)?;
        }
        let now = stamp_of(path);
        if let Some(stamp) = now
            && (!good || now == before)
        {
            seen.insert(path.to_owned(), stamp);
        }
        Ok(())
    }
}

/// Pins as stored (JSON), or `None` for a revision or run without pins. Pins that do not
/// read are stored data the host never wrote: `Internal`, so an event whose dispatch meets
/// them is set aside, naming them, rather than failing every scheduler round for every
/// workspace (stored-data review).
pub fn read_pins(text: Option<String>, what: &str) -> Result<Option<Pins>, Error> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            Error::Internal(format!("the pinned components of {what} do not read: {e}"))
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only steps name components: a `uses` key in data is data (hostile-input review: it
    /// was read, and pinned, as a component).
    #[test]
    fn components_are_collected_from_steps_only() {
        let mut found = Vec::new();
        let doc = serde_json::json!({
            "vars": { "tool": { "uses": "scanner.wasm" } },
            "steps": [
                { "id": "a", "uses": "step:a", "with": { "uses": "data.wasm" } },
                { "if": [], "then": [ { "id": "b", "uses": "step:b" } ],
                  "else": [ { "id": "c", "uses": "step:c" } ] },
                { "switch": [ { "when": [], "then": [ { "id": "d", "uses": "step:d" } ] } ],
                  "default": [ { "id": "e", "uses": "step:e" } ] },
                { "parallel": [ [ { "id": "f", "uses": "step:f" } ], [ { "id": "g", "uses": "step:g" } ] ] },
                { "id": "l", "loop": { "over": "$.vars.x" }, "do": [ { "id": "h", "uses": "step:h" } ] },
                { "id": "ask", "interaction": { "form": { "fields": [] },
                  "on_timeout": [ { "id": "i", "uses": "step:i" } ] } },
                { "exit": { "status": "done", "output": { "uses": "out.wasm" } } }
            ]
        });
        uses_values(doc.get("steps"), &mut found);
        found.sort();
        let expected: Vec<String> = "abcdefghi".chars().map(|c| format!("step:{c}")).collect();
        assert_eq!(found, expected);
    }

    /// A component that does not read is named with its path to the person at the CLI, whose
    /// file the definition is, and without it to a sender through the API (leak review).
    #[test]
    fn an_unreadable_component_names_the_servers_path_only_to_a_files_definition() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("junk.wasm"), b"\0asm junk").expect("write");
        let definition = r#"{"steps": [{"id": "a", "uses": "step:junk"}]}"#;
        let shown = dir.path().display().to_string();
        let api = Resolver::without_files(vec![dir.path().to_owned()]);
        let Err(Error::Invalid(why)) = collect(definition, &api) else {
            panic!("refused");
        };
        assert!(
            why.contains("`step:junk` in the server's step directories") && !why.contains(&shown),
            "{why}"
        );
        let file = Resolver::for_file(&dir.path().join("wf.json"), vec![dir.path().to_owned()]);
        let Err(Error::Invalid(why)) = collect(definition, &file) else {
            panic!("refused");
        };
        assert!(why.contains(&shown), "{why}");
    }
}
