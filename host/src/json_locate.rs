//! Locating a JSON path in source text, so that errors about a document's *meaning* (an
//! unknown scope, a duplicate id) can name line and column like syntax errors do.

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
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
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

    /// With line and column in `text` (read from `origin`).
    pub fn in_text(self, origin: &str, text: &str) -> SpecError {
        let (line, column) = locate(text, &self.path);
        SpecError {
            origin: origin.to_owned(),
            line,
            column,
            path: self.path.to_string(),
            message: self.message,
        }
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
/// JSON. Falls back to the deepest ancestor found.
pub fn locate(text: &str, path: &JsonPath) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut pos = skip_ws(bytes, 0);
    for seg in &path.0 {
        match find_child(bytes, pos, seg) {
            Some(child) => pos = child,
            None => break,
        }
    }
    line_col(text, pos)
}

/// 1-based line and column (in characters) of byte offset `pos`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Offset of the value of `seg` inside the container starting at `start`.
fn find_child(b: &[u8], start: usize, seg: &Seg) -> Option<usize> {
    match (b.get(start)?, seg) {
        (b'{', Seg::Key(key)) => {
            let mut i = skip_ws(b, start + 1);
            while b.get(i)? == &b'"' {
                let end = skip_string(b, i)?;
                let name: String = serde_json::from_slice(&b[i..end]).ok()?;
                i = skip_ws(b, end);
                i = skip_ws(b, i + 1); // ':'
                if name == *key {
                    return Some(i);
                }
                i = skip_ws(b, skip_value(b, i)?);
                if b.get(i)? == &b',' {
                    i = skip_ws(b, i + 1);
                }
            }
            None
        }
        (b'[', Seg::Index(n)) => {
            let mut i = skip_ws(b, start + 1);
            for _ in 0..*n {
                i = skip_ws(b, skip_value(b, i)?);
                if b.get(i)? != &b',' {
                    return None;
                }
                i = skip_ws(b, i + 1);
            }
            (b.get(i)? != &b']').then_some(i)
        }
        _ => None,
    }
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
                        depth -= 1;
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
    fn paths_display_like_jsonpath_without_the_root() {
        let p = JsonPath::default()
            .key("workspaces")
            .index(0)
            .key("members");
        assert_eq!(p.to_string(), "workspaces[0].members");
    }
}
