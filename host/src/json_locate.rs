//! Locating a JSON path in source text, so that errors about a document's *meaning* (an
//! unknown scope, a duplicate id) can name line and column like syntax errors do.

use std::collections::HashMap;
use std::fmt;

/// One step of a path into a JSON document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path such as `workspaces[0].members[2].role`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonPath(pub Vec<Seg>);

impl JsonPath {
    /// The path with `key` appended.
    pub fn key(&self, key: &str) -> JsonPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_owned()));
        p
    }

    /// The path with `index` appended.
    pub fn index(&self, index: usize) -> JsonPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(index));
        p
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                // A key is the document's own text: quoted clipped and escaped, as any input.
                Seg::Key(k) if i == 0 => write!(f, "{}", crate::text::clip(k))?,
                Seg::Key(k) => write!(f, ".{}", crate::text::clip(k))?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A problem found in a document, at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub path: JsonPath,
    pub message: String,
}

impl Located {
    /// A problem at `path`.
    pub fn new(path: JsonPath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }

    /// With line and column in `text` (read from `origin`). For several problems in one
    /// text, [`locate_all`] indexes the text once.
    pub fn in_text(self, origin: &str, text: &str) -> SpecError {
        locate_all(origin, text, vec![self]).remove(0)
    }
}

/// A problem with its place: `FILE:LINE:COL: PATH: MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub path: String,
    pub message: String,
}

impl SpecError {
    /// The error for a document that starts with a byte order mark, at 1:1, or `None`
    /// ([`crate::json_limits::BYTE_ORDER_MARK`]).
    pub fn byte_order_mark(origin: &str, text: &str) -> Option<SpecError> {
        text.starts_with('\u{feff}').then(|| SpecError {
            origin: origin.to_owned(),
            line: 1,
            column: 1,
            path: "(document)".into(),
            message: crate::json_limits::BYTE_ORDER_MARK.into(),
        })
    }

    /// The error for a document nested deeper than [`crate::json_limits::MAX_JSON_DEPTH`],
    /// located where it goes too deep (issue 14 item 9), or `None` for one that does not.
    pub fn too_deep(origin: &str, text: &str) -> Option<SpecError> {
        let (line, column) = crate::json_limits::too_deep_at(text)?;
        Some(SpecError {
            origin: origin.to_owned(),
            line,
            column,
            path: "(document)".into(),
            message: format!(
                "nested more than {} levels deep",
                crate::json_limits::MAX_JSON_DEPTH
            ),
        })
    }
}

/// Several errors on one line, `; `-separated (for messages that carry them all).
pub fn joined(errors: &[SpecError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.origin, self.line, self.column, self.path, self.message
        )
    }
}

/// The 1-based (line, column) where the value at `path` starts in `text`, which must be valid
/// JSON. Falls back to the deepest ancestor found. To locate many paths in one text, use
/// [`locate_all`]: it indexes the text once.
pub fn locate(text: &str, path: &JsonPath) -> (usize, usize) {
    let index = SourceIndex::new(text);
    line_col(text, index.offset(path))
}

/// Every problem with its line and column in `text` (read from `origin`), in the order given.
/// Linear in the size of `text` plus the problems (issue 14 item 10: locating each error by
/// rescanning the text made 2,000 workspaces with errors take 20-30 s).
pub fn locate_all(origin: &str, text: &str, problems: Vec<Located>) -> Vec<SpecError> {
    let index = SourceIndex::new(text);
    let offsets: Vec<usize> = problems.iter().map(|p| index.offset(&p.path)).collect();
    let places = line_cols(text, &offsets);
    problems
        .into_iter()
        .zip(places)
        .map(|(p, (line, column))| SpecError {
            origin: origin.to_owned(),
            line,
            column,
            path: p.path.to_string(),
            message: p.message,
        })
        .collect()
}

/// 1-based line and column (in characters) of byte offset `pos`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    line_cols(text, &[pos])[0]
}

/// [`line_col`] of each offset, in one pass over `text` (offsets visited in sorted order).
fn line_cols(text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut out = vec![(1, 1); offsets.len()];
    let (mut line, mut col) = (1usize, 1usize);
    let mut chars = text.char_indices().peekable();
    for i in order {
        let pos = offsets[i].min(text.len());
        while let Some(&(at, c)) = chars.peek() {
            if at >= pos {
                break;
            }
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
            chars.next();
        }
        out[i] = (line, col);
    }
    out
}

/// Where each value of a JSON text starts, and its children, built in one pass.
struct SourceIndex {
    nodes: Vec<Node>,
}

struct Node {
    start: usize,
    children: Children,
}

enum Children {
    Leaf,
    /// Keys to node indices; the first of duplicate keys wins.
    Object(HashMap<String, usize>),
    Array(Vec<usize>),
}

/// Containers nested deeper than this are not indexed (their errors point at an ancestor);
/// it bounds the recursion of [`SourceIndex::value`].
const INDEX_DEPTH: usize = 256;

impl SourceIndex {
    /// Indexes `text`; where the text is not valid JSON, what was read so far is kept.
    fn new(text: &str) -> Self {
        let mut index = SourceIndex { nodes: Vec::new() };
        let b = text.as_bytes();
        let start = skip_ws(b, 0);
        index.value(b, start, 0);
        index
    }

    /// Indexes the value at `i`; returns its node and the offset just past it.
    fn value(&mut self, b: &[u8], i: usize, depth: usize) -> (usize, Option<usize>) {
        let node = self.nodes.len();
        self.nodes.push(Node {
            start: i,
            children: Children::Leaf,
        });
        let end = match b.get(i) {
            Some(b'{') if depth < INDEX_DEPTH => self.object(b, node, i, depth),
            Some(b'[') if depth < INDEX_DEPTH => self.array(b, node, i, depth),
            Some(_) => skip_value(b, i),
            None => None,
        };
        (node, end)
    }

    fn object(&mut self, b: &[u8], node: usize, start: usize, depth: usize) -> Option<usize> {
        let mut keys = HashMap::new();
        let mut i = skip_ws(b, start + 1);
        let end = loop {
            match b.get(i) {
                Some(b'}') => break Some(i + 1),
                Some(b'"') => {}
                _ => break None,
            }
            let key_end = skip_string(b, i)?;
            let key = string_at(b, i, key_end);
            i = skip_ws(b, key_end);
            i = skip_ws(b, i + 1); // ':'
            let (child, after) = self.value(b, i, depth + 1);
            if let Some(key) = key {
                keys.entry(key).or_insert(child);
            }
            let Some(after) = after else { break None };
            i = skip_ws(b, after);
            if b.get(i) == Some(&b',') {
                i = skip_ws(b, i + 1);
            }
        };
        self.nodes[node].children = Children::Object(keys);
        end
    }

    fn array(&mut self, b: &[u8], node: usize, start: usize, depth: usize) -> Option<usize> {
        let mut items = Vec::new();
        let mut i = skip_ws(b, start + 1);
        let end = loop {
            match b.get(i) {
                Some(b']') => break Some(i + 1),
                Some(_) => {}
                None => break None,
            }
            let (child, after) = self.value(b, i, depth + 1);
            items.push(child);
            let Some(after) = after else { break None };
            i = skip_ws(b, after);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b']') => {}
                _ => break None,
            }
        };
        self.nodes[node].children = Children::Array(items);
        end
    }

    /// The offset of the value at `path`, or of its deepest ancestor indexed.
    fn offset(&self, path: &JsonPath) -> usize {
        let Some(mut node) = self.nodes.first() else {
            return 0;
        };
        for seg in &path.0 {
            let child = match (&node.children, seg) {
                (Children::Object(keys), Seg::Key(k)) => keys.get(k.as_str()).copied(),
                (Children::Array(items), Seg::Index(n)) => items.get(*n).copied(),
                _ => None,
            };
            match child {
                Some(c) => node = &self.nodes[c],
                None => break,
            }
        }
        node.start
    }
}

/// The text of the JSON string `b[start..end]` (quotes included), escapes decoded.
fn string_at(b: &[u8], start: usize, end: usize) -> Option<String> {
    let raw = &b[start + 1..end - 1];
    if raw.contains(&b'\\') {
        serde_json::from_slice(&b[start..end]).ok()
    } else {
        std::str::from_utf8(raw).ok().map(str::to_owned)
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Offset just past the string starting at `i` (which is `"`).
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Offset just past the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            Some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        "{\n  \"a\": {\"x\": \"}\\\"\", \"b\": [1, {\"c\": true}]},\n  \"d\": null\n}";

    fn path(segs: &[Seg]) -> JsonPath {
        JsonPath(segs.to_vec())
    }

    #[test]
    fn finds_nested_keys_and_indices() {
        let k = |s: &str| Seg::Key(s.into());
        assert_eq!(locate(DOC, &path(&[k("d")])), (3, 8));
        assert_eq!(
            locate(DOC, &path(&[k("a"), k("b"), Seg::Index(1), k("c")])),
            (2, 36)
        );
        assert_eq!(locate(DOC, &path(&[k("a"), k("x")])), (2, 14));
    }

    #[test]
    fn falls_back_to_the_deepest_ancestor() {
        let k = |s: &str| Seg::Key(s.into());
        assert_eq!(locate(DOC, &path(&[k("a"), k("nope")])), (2, 8));
        assert_eq!(
            locate(DOC, &path(&[k("a"), k("b"), Seg::Index(9)])),
            (2, 26)
        );
    }

    #[test]
    fn locating_many_paths_agrees_with_locating_each() {
        let k = |s: &str| Seg::Key(s.into());
        let paths = [
            path(&[k("d")]),
            path(&[k("a"), k("b"), Seg::Index(1), k("c")]),
            path(&[k("a"), k("x")]),
            path(&[k("a"), k("nope")]),
            path(&[]),
        ];
        let problems: Vec<Located> = paths.iter().map(|p| Located::new(p.clone(), "m")).collect();
        let located = locate_all("f", DOC, problems);
        for (p, e) in paths.iter().zip(&located) {
            assert_eq!((e.line, e.column), locate(DOC, p), "{p}");
        }
        assert_eq!((located[4].line, located[4].column), (1, 1));
    }

    #[test]
    fn escaped_keys_and_characters_before_a_value_count_once() {
        let doc = "{\"\\u00e9t\u{e9}\": 1, \"k\": [\"é\", 2]}";
        let k = |s: &str| Seg::Key(s.into());
        assert_eq!(locate(doc, &path(&[k("été")])), (1, 14));
        assert_eq!(locate(doc, &path(&[k("k"), Seg::Index(1)])), (1, 28));
    }

    #[test]
    fn paths_display_like_jsonpath_without_the_root() {
        let p = JsonPath::default()
            .key("workspaces")
            .index(0)
            .key("members");
        assert_eq!(p.to_string(), "workspaces[0].members");
    }
}
