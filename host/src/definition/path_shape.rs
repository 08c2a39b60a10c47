//! What a JSONPath may cost, read from its text before it is parsed or run (SPEC WF-3, ST-4).
//!
//! `serde_json_path` keeps every node a segment selects, duplicates included, and applies
//! the next segment to each: `$.vars.x[0,0][0,0]…` with 40 unions is 2^40 nodes from a
//! 200-byte path, and the run or the event dispatch that resolved it took the host down, again
//! after each restart (hostile-input review). A path is therefore bounded by its shape:
//! - brackets and parentheses nest at most [`MAX_PATH_NESTING`] deep, filters
//!   [`MAX_FILTER_NESTING`] (the parser recurses per level, twice per filter);
//! - the selectors of its unions multiply to at most [`MAX_PATH_FAN_OUT`]: a segment of one
//!   selector (a name, an index, a slice, `*`, a filter) selects each child at most once, so
//!   without unions a path selects no more nodes than the value holds at that depth; a union
//!   of names and non-negative indexes selects a child once per time it names it (`['a','b',
//!   …]` once each, however many);
//! - at most one descendant segment (`..`): each is a walk of everything under every node so
//!   far, and two multiply;
//! - `match` and `search` take their pattern as a string literal of at most
//!   [`MAX_PATTERN_BYTES`] whose compiled program fits [`MAX_PATTERN_PROGRAM`]: the library
//!   compiles it again for every node it tests, so a pattern read from data (up to the size
//!   of a case's field) was compiled per node, and a few bytes (`\w{300}`) compile to
//!   megabytes (review).
//!
//! - inside a filter, a query from the root (`$`) is singular: names and indexes only (what
//!   RFC 9535 lets a comparison hold). The library runs it again from the root for every
//!   node the filter tests, so `$.a[?$.a[?$.a[?$.a[*]]]]` cost N⁴ over an array of N, and
//!   a trigger's condition holding it stalled every host's dispatch (review).
//!
//! String literals are skipped: brackets, commas and dots inside quotes are names.

/// How deeply brackets and parentheses may nest in a JSONPath. The parser recurses once per
/// level, on whatever thread parses the definition (a server's request thread among them).
pub const MAX_PATH_NESTING: usize = 16;

/// How deeply filter selectors (`[?…]`) may nest in a JSONPath: the parser reads a nested
/// filter's query twice per level, so its time doubles with each.
pub const MAX_FILTER_NESTING: usize = 4;

/// The most the selectors of a path's unions (`['a','b']`, `[0,1]`) may multiply to: the
/// most times one node may be selected.
pub const MAX_PATH_FAN_OUT: usize = 16;

/// How many descendant segments (`..`) a path may have.
pub const MAX_DESCENDANT_SEGMENTS: usize = 1;

/// The longest regular expression `match` or `search` may take, in bytes.
pub const MAX_PATTERN_BYTES: usize = 128;

/// The most a `match` or `search` pattern may compile to, in bytes of the regex crate's
/// program: what each node's compile then costs at most.
pub const MAX_PATTERN_PROGRAM: usize = 64 << 10;

/// A bracket's selectors, as the scan has read them so far.
struct Selectors {
    /// Each selector's text, once a comma or the bracket's end closes it.
    written: Vec<String>,
    /// The text of the one being read, at the bracket's own level.
    current: String,
    /// Whether something nested (a filter's query, a function's arguments) is among them.
    nested: bool,
}

impl Selectors {
    fn new() -> Self {
        Selectors {
            written: Vec::new(),
            current: String::new(),
            nested: false,
        }
    }

    /// Closes the selector being read.
    fn end_one(&mut self) {
        self.written
            .push(std::mem::take(&mut self.current).trim().to_owned());
    }

    /// How many times the bracket may select one child: once per time a plain union (names
    /// and non-negative indexes) names it; otherwise once per selector (`[0,-1]`, slices,
    /// wildcards and filters may overlap).
    fn fan_out(mut self) -> usize {
        self.end_one();
        let plain = |s: &String| {
            let quoted = s.len() >= 2
                && (s.starts_with('\'') && s.ends_with('\'')
                    || s.starts_with('"') && s.ends_with('"'));
            quoted || !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
        };
        if self.nested || !self.written.iter().all(plain) {
            return self.written.len();
        }
        // By the name each selector decodes to: `'j'` and `'\u006a'` are one name, which
        // the library selects once per spelling (review). A name that does not decode counts
        // once per selector.
        let mut times = std::collections::HashMap::new();
        for s in &self.written {
            let name = match s.as_bytes().first() {
                Some(b'\'' | b'"') => {
                    let inner: Vec<char> = s.chars().collect();
                    match unescape(&inner[1..inner.len() - 1]) {
                        Some(name) => format!("name:{name}"),
                        None => return self.written.len(),
                    }
                }
                _ => format!("index:{s}"),
            };
            *times.entry(name).or_insert(0_usize) += 1;
        }
        times.into_values().max().unwrap_or(1)
    }
}

/// An open bracket or parenthesis, as the scan of a path sees it.
struct Open {
    /// `[`: its selectors so far; `(`: none.
    selectors: Option<Selectors>,
    /// A filter selector's bracket (`[?…]`).
    filter: bool,
    /// The argument list of `match` or `search`, and whether its first comma was seen.
    pattern_call: Option<bool>,
}

/// Checks the shape of `text` against the bounds above; the error says which it passes.
pub fn check(text: &str) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    let mut open: Vec<Open> = Vec::new();
    let mut fan_out: usize = 1;
    let mut descendants = 0;
    // Set after the first comma of a pattern call: the next token must be a string literal.
    let mut pattern_next = false;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if pattern_next && !c.is_whitespace() {
            pattern_next = false;
            if c != '\'' && c != '"' {
                return Err(format!(
                    "gives `match` or `search` a pattern that is not a string literal; a \
                     pattern is written in the path, at most {MAX_PATTERN_BYTES} bytes"
                ));
            }
        }
        match c {
            '\'' | '"' => {
                let end = literal_end(&chars, i);
                let in_pattern = open.last().and_then(|o| o.pattern_call) == Some(true);
                if in_pattern {
                    pattern_within_bounds(&chars[i + 1..end.min(chars.len())])?;
                }
                if let Some(Open {
                    selectors: Some(s), ..
                }) = open.last_mut()
                {
                    s.current.extend(&chars[i..(end + 1).min(chars.len())]);
                }
                i = end;
            }
            '[' | '(' => {
                let pattern_call = (c == '(' && ends_with_word(&chars[..i], &["match", "search"]))
                    .then_some(false);
                if let Some(Open {
                    selectors: Some(s), ..
                }) = open.last_mut()
                {
                    s.nested = true;
                }
                open.push(Open {
                    selectors: (c == '[').then(Selectors::new),
                    filter: false,
                    pattern_call,
                });
                if open.len() > MAX_PATH_NESTING {
                    return Err(format!(
                        "nests brackets and parentheses deeper than {MAX_PATH_NESTING}"
                    ));
                }
            }
            ']' | ')' => {
                if let Some(Open {
                    selectors: Some(s), ..
                }) = open.pop()
                {
                    fan_out = fan_out.saturating_mul(s.fan_out());
                    if fan_out > MAX_PATH_FAN_OUT {
                        return Err(format!(
                            "selects a node up to {fan_out} times through its unions (`[a,b]`); \
                             their selectors may multiply to at most {MAX_PATH_FAN_OUT}"
                        ));
                    }
                }
            }
            ',' => match open.last_mut() {
                Some(Open {
                    selectors: Some(s), ..
                }) => s.end_one(),
                Some(Open {
                    pattern_call: Some(seen @ false),
                    ..
                }) => {
                    *seen = true;
                    pattern_next = true;
                }
                _ => {}
            },
            '?' => {
                if let Some(last) = open.last_mut() {
                    last.filter = true;
                }
                if open.iter().filter(|o| o.filter).count() > MAX_FILTER_NESTING {
                    return Err(format!(
                        "nests filters (`[?…]`) deeper than {MAX_FILTER_NESTING}"
                    ));
                }
            }
            '$' if open.iter().any(|o| o.filter) => {
                if !singular_from(&chars, i, false) {
                    return Err(
                        "queries the root (`$`) inside a filter with more than names and \
                         indexes (`$.a.b[0]`); the filter runs it again for every node it \
                         tests"
                            .to_owned(),
                    );
                }
                // The run's own bookkeeping (which output is newest) sits beside what a
                // reference may read; its numbers follow the order parallel branches
                // finished in, which a resume may not repeat, so a filter reading them took
                // another path on replay (round 24 engine review).
                if root_name(&chars, i).as_deref() == Some(HIDDEN_ROOT) {
                    return Err(format!(
                        "reads `$.{HIDDEN_ROOT}` inside a filter; a reference reads \
                         $.event, $.steps, $.vars, $.loop or $.inputs"
                    ));
                }
            }
            '.' if chars.get(i + 1) == Some(&'.') => {
                descendants += 1;
                if descendants > MAX_DESCENDANT_SEGMENTS {
                    return Err(format!(
                        "has {descendants} descendant segments (`..`); at most \
                         {MAX_DESCENDANT_SEGMENTS} is allowed"
                    ));
                }
                i += 1;
            }
            _ => {
                if let Some(Open {
                    selectors: Some(s), ..
                }) = open.last_mut()
                {
                    s.current.push(c);
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// Checks the comparisons inside `text`'s filters (`[?…]`) that give another answer than a
/// condition gives to the same question, whatever the data: a filter compares as RFC 9535
/// says, text by its characters and numbers as doubles, where conditions order severities
/// by rank and compare integers exactly (round 22 engine review: `[?@.severity >= 'high']`
/// selected low, medium and high cases and left critical ones out). Refused where a
/// definition is written; the error says what to write instead.
pub fn filter_comparisons(text: &str) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    // For each open bracket, whether it is a filter's.
    let mut open: Vec<bool> = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let in_filter = open.iter().any(|f| *f);
        match c {
            '\'' | '"' => {
                let end = literal_end(&chars, i);
                if in_filter
                    && let Some(op) = operator_beside(&chars, i, end)
                    && let Some(value) = unescape(&chars[i + 1..end.min(chars.len())])
                {
                    compared_text(op, &value)?;
                }
                i = end;
            }
            '[' | '(' => open.push(false),
            ']' | ')' => {
                open.pop();
            }
            '?' => {
                if let Some(last) = open.last_mut() {
                    *last = true;
                }
            }
            '0'..='9' | '-'
                if in_filter
                    && !chars[..i].last().is_some_and(|p| {
                        p.is_alphanumeric() || *p == '_' || *p == '.' || *p == '-'
                    }) =>
            {
                let end = chars[i + 1..]
                    .iter()
                    .position(|d| !d.is_ascii_digit())
                    .map_or(chars.len(), |n| i + 1 + n);
                let whole = !matches!(chars.get(end), Some('.' | 'e' | 'E'));
                let digits: String = chars[i..end].iter().collect();
                // Compared, not an index or a slice bound; past i128 as well (self-review).
                let past = digits
                    .parse::<i128>()
                    .map_or(digits.len() > 2, |n| n.unsigned_abs() > 1 << 53);
                if whole && past && operator_beside(&chars, i, end - 1).is_some() {
                    return Err(format!(
                        "compares with {digits} inside a filter (`[?…]`), which compares \
                         numbers as doubles: an integer past 2^53 matches its neighbours; \
                         compare it with a condition (`eq`), which compares integers exactly"
                    ));
                }
                i = end - 1;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The comparison operator written right before the literal at `start`, or right after its
/// closing quote at `end`, if one is.
fn operator_beside(chars: &[char], start: usize, end: usize) -> Option<&'static str> {
    const OPERATORS: [&str; 6] = ["==", "!=", "<=", ">=", "<", ">"];
    // The two characters before the literal, whitespace skipped: read back from `start`,
    // not from a copy of everything before it (which made a filter of many literals
    // quadratic in its length).
    let mut before: Vec<char> = chars[..start.min(chars.len())]
        .iter()
        .rev()
        .skip_while(|c| c.is_whitespace())
        .take(2)
        .copied()
        .collect();
    before.reverse();
    let before: String = before.into_iter().collect();
    let after: String = chars
        .get(end + 1..)
        .unwrap_or_default()
        .iter()
        .skip_while(|c| c.is_whitespace())
        .take(2)
        .collect();
    OPERATORS
        .iter()
        .find(|op| before.ends_with(*op) || after.starts_with(*op))
        .copied()
}

/// Refuses text `value` compared by `op` inside a filter where a condition would answer
/// otherwise whatever the data: a severity name ordered. (Equality is left as written: a
/// webhook's own data may spell `High` or an address as its sender does; review.)
fn compared_text(op: &str, value: &str) -> Result<(), String> {
    let lower = value.to_ascii_lowercase();
    let severity = ["low", "medium", "high", "critical"].contains(&lower.as_str());
    let shown = crate::text::clip(value);
    if severity && matches!(op, "<" | "<=" | ">" | ">=") {
        return Err(format!(
            "orders '{shown}' with `{op}` inside a filter (`[?…]`), which orders text by its \
             characters ('low' after 'high', 'critical' before it): order severities with a \
             condition (`gte`, by rank) or *Query cases*' `severity` filter"
        ));
    }
    Ok(())
}

/// Checks a `match`/`search` pattern, as written between its quotes: short, and compiling
/// (as the library compiles it: anchored for `match`, not for `search`; the larger of the
/// two is checked) to at most [`MAX_PATTERN_PROGRAM`].
fn pattern_within_bounds(written: &[char]) -> Result<(), String> {
    let bytes: usize = written.iter().map(|c| c.len_utf8()).sum();
    if bytes > MAX_PATTERN_BYTES {
        return Err(format!(
            "gives `match` or `search` a pattern longer than {MAX_PATTERN_BYTES} bytes"
        ));
    }
    // A literal that does not unescape is the parser's to refuse.
    let Some(pattern) = unescape(written) else {
        return Ok(());
    };
    ["(?R)^({})$", "(?R)({})"]
        .iter()
        .try_for_each(|form| {
            regex::RegexBuilder::new(&form.replace("{}", &pattern))
                .size_limit(MAX_PATTERN_PROGRAM)
                .build()
                .map(|_| ())
        })
        .map_err(|e| {
            format!(
                "gives `match` or `search` a pattern that does not compile within \
                 {MAX_PATTERN_PROGRAM} bytes: {}",
                crate::text::clip(&e.to_string())
            )
        })
}

/// A JSONPath string literal's text without its escapes (RFC 9535 §2.3.1.1), as the library
/// decodes it (a surrogate pair is one character), if they read.
fn unescape(written: &[char]) -> Option<String> {
    let mut out = String::new();
    let mut chars = written.iter().copied().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            c @ ('\'' | '"' | '\\' | '/') => out.push(c),
            'u' => {
                // UTF-16 units, a pair when the first is a high surrogate.
                let mut units = vec![hex_unit(&mut chars)?];
                if (0xD800..0xDC00).contains(&units[0]) {
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    units.push(hex_unit(&mut chars)?);
                }
                for decoded in char::decode_utf16(units) {
                    out.push(decoded.ok()?);
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Four hexadecimal digits as a UTF-16 unit.
fn hex_unit(chars: &mut impl Iterator<Item = char>) -> Option<u16> {
    let hex: String = chars.take(4).collect();
    if hex.len() != 4 {
        return None;
    }
    u16::from_str_radix(&hex, 16).ok()
}

/// The index of the quote closing the string literal opened at `start` (or the text's end).
fn literal_end(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut escaped = false;
    for (i, &c) in chars.iter().enumerate().skip(start + 1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            _ if c == quote => return i,
            _ => {}
        }
    }
    chars.len()
}

/// The member of the run's context no reference reads (`workflow::engine`'s output stamps).
const HIDDEN_ROOT: &str = "stamps";

/// The first member name of the query starting at `chars[start]` (a `$`), if it begins with
/// one (`.name`, `['name']`, `["name"]`), escapes read.
fn root_name(chars: &[char], start: usize) -> Option<String> {
    let next = |from: usize| (from..chars.len()).find(|&k| !chars[k].is_whitespace());
    let k = next(start + 1)?;
    match chars[k] {
        '.' => Some(
            chars[k + 1..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || **c == '_' || !c.is_ascii())
                .collect(),
        ),
        '[' => {
            let inner = next(k + 1)?;
            if !matches!(chars[inner], '\'' | '"') {
                return None;
            }
            let end = literal_end(chars, inner);
            let quoted: String = chars.get(inner + 1..end)?.iter().collect();
            // As the JSONPath literal reads: `\'`, `\u0073` and the like.
            let json = format!("\"{}\"", quoted.replace("\\'", "'").replace('"', "\\\""));
            serde_json::from_str(&json).ok().or(Some(quoted))
        }
        _ => None,
    }
}

/// Whether the whole of `text` (`$...`) is a singular query: `.name`, `['name']` and
/// `[index]` segments only, no filter, wildcard, slice or descent.
pub fn is_singular(text: &str) -> bool {
    let chars: Vec<char> = text.trim().chars().collect();
    chars.first() == Some(&'$') && singular_from(&chars, 0, true)
}

/// Whether the query starting at `chars[start]` (a `$`) is singular: its segments, up to the
/// first character that begins none (to its end when `whole`), are `.name`, `['name']` or
/// `[index]` only.
fn singular_from(chars: &[char], start: usize, whole: bool) -> bool {
    let next = |from: usize| (from..chars.len()).find(|&k| !chars[k].is_whitespace());
    let mut i = start + 1;
    loop {
        let Some(k) = next(i) else { return true };
        match chars[k] {
            '.' => match chars.get(k + 1) {
                Some('.' | '*') => return false,
                _ => {
                    i = k + 1;
                    while chars
                        .get(i)
                        .is_some_and(|c| c.is_alphanumeric() || *c == '_' || !c.is_ascii())
                    {
                        i += 1;
                    }
                }
            },
            '[' => {
                let Some(inner) = next(k + 1) else {
                    return true;
                };
                let after = match chars[inner] {
                    '\'' | '"' => literal_end(chars, inner) + 1,
                    _ => {
                        let digits = inner + usize::from(chars[inner] == '-');
                        let end = (digits..chars.len())
                            .find(|&d| !chars[d].is_ascii_digit())
                            .unwrap_or(chars.len());
                        if end == digits {
                            return false;
                        }
                        end
                    }
                };
                match next(after) {
                    Some(close) if chars[close] == ']' => i = close + 1,
                    _ => return false,
                }
            }
            _ => return !whole,
        }
    }
}

/// Whether `before` ends with one of `words`, as a whole word (spaces before `(` allowed).
fn ends_with_word(before: &[char], words: &[&str]) -> bool {
    let trimmed: Vec<char> = {
        let end = before
            .iter()
            .rposition(|c| !c.is_whitespace())
            .map_or(0, |p| p + 1);
        before[..end].to_vec()
    };
    words.iter().any(|word| {
        let w: Vec<char> = word.chars().collect();
        trimmed.ends_with(&w)
            && trimmed
                .len()
                .checked_sub(w.len() + 1)
                .and_then(|p| trimmed.get(p))
                .is_none_or(|c| !(c.is_alphanumeric() || *c == '_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_that_multiply_past_the_fan_out_are_refused() {
        // The review's bomb: 2^40 nodes from 40 unions of two.
        let bomb = format!("$.vars.x{}", "[0,0]".repeat(40));
        let e = check(&bomb).expect_err("bomb");
        assert!(e.contains("32 times") && e.contains("16"), "{e}");
        check(&format!("$.vars.x{}", "[0,0]".repeat(4))).expect("16 is the bound");
        check("$.event.case['title','state'][0,1]").expect("small unions");
        // Distinct names and indexes select each child once, however many.
        let names: Vec<String> = (0..40).map(|n| format!("'f{n}'")).collect();
        check(&format!("$.a[{}][{}]", names.join(","), names.join(", "))).expect("names");
        let indexes: Vec<String> = (0..40).map(|n| n.to_string()).collect();
        check(&format!("$.a[{}]", indexes.join(","))).expect("indexes");
        // The same name twice, or indexes that may alias, count as often as written.
        let e = check(&format!("$.a{}", "['x',\"x\"]".repeat(5))).expect_err("the same name");
        assert!(e.contains("32 times"), "{e}");
        check(&format!("$.a{}", "[0,-1]".repeat(5))).expect_err("an index and its alias");
        check(&format!("$.a{}", "[*,0]".repeat(5))).expect_err("a wildcard and an index");
        // One name spelled two ways is one name, selected once per spelling (review).
        let e = check(&format!("$.a{}", r"['j','\u006a']".repeat(5))).expect_err("escapes");
        assert!(e.contains("32 times"), "{e}");
        // Unions inside a filter count too: they run once per node tested.
        let e = check("$.a[?@[0,0,0,0][0,0,0,0][0,0] == 1]").expect_err("in a filter");
        assert!(e.contains("multiply"), "{e}");
        // Commas inside a literal or a function's arguments are not selectors.
        check("$.a['x,y,z,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q']").expect("a quoted comma");
        check("$.a[?length(@.b) == 1]").expect("a function call");
    }

    /// A filter reads no run bookkeeping: its numbers follow the order parallel branches
    /// finished in, which a resume may not repeat (round 24 engine review).
    #[test]
    fn a_filter_reads_no_output_stamps() {
        for text in [
            "$.steps.x[?$.stamps.a < $.stamps.b]",
            "$.steps.x[?$['stamps'].a == 1]",
            "$.steps.x[?$[\"stamps\"].a == 1]",
            r"$.steps.x[?$['\u0073tamps'].a == 1]",
        ] {
            let e = check(text).expect_err(text);
            assert!(e.contains("$.stamps"), "{text}: {e}");
        }
        check("$.steps.x[?@.n < $.vars.limit]").expect("another root");
        check("$.steps.x[?@.stamps == 1]").expect("a member of the node tested");
    }

    #[test]
    fn a_filter_queries_the_root_only_by_names_and_indexes() {
        // The review's bomb: N⁴ over an array of N, from four filters.
        let e = check("$.a[?$.a[?$.a[?$.a[*]]]]").expect_err("bomb");
        check("$.event.a[?$.event.a[?$.event.a[?$.event.a[*]]]]").expect_err("bomb");
        assert!(e.contains("inside a filter"), "{e}");
        for refused in [
            "$.a[?$.b[*]]",
            "$.a[?$..b]",
            "$.a[?$.b.*]",
            "$.a[?$.b[0:2]]",
            "$.a[?$.b[0,1]]",
            "$.a[?count($.b[?@.x]) > 1]",
            "$.a[?@.id == $.b [ * ]]",
        ] {
            check(refused).expect_err(refused);
        }
        for allowed in [
            "$.a[?@.id == $.event.case.id]",
            "$.a[?@.id == $['event'][\"case\"].fields[0]]",
            "$.a[?@.n > $.vars.min && @.n < $.vars.max]",
            "$.a[?@.name == '$..x[*]']",
            "$.a[*]",
            "$..b",
        ] {
            check(allowed).expect(allowed);
        }
    }

    #[test]
    fn a_second_descendant_segment_is_refused() {
        check("$..id").expect("one");
        let e = check("$..a..b").expect_err("two");
        assert!(e.contains("descendant"), "{e}");
        let e = check("$..a[?@..b]").expect_err("one in a filter");
        assert!(e.contains("descendant"), "{e}");
        check("$['a..b']..c").expect("dots inside a literal are a name");
    }

    #[test]
    fn a_filters_comparisons_that_conditions_answer_otherwise_are_refused() {
        for (text, says) in [
            ("$.cases[?@.severity >= 'high']", "orders 'high' with `>=`"),
            ("$.cases[?'high' < @.severity]", "orders 'high' with `<`"),
            (
                "$.c[?@.n == 9007199254740993]",
                "compares with 9007199254740993",
            ),
            (
                "$.c[?@.n == -9007199254740993]",
                "compares with -9007199254740993",
            ),
            (
                "$.c[?1000000000000000000000000000000000000000000 < @.n]",
                "compares with 1000000000000000000000000000000000000000000",
            ),
        ] {
            let e = filter_comparisons(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
        for fine in [
            "$.cases[?@.severity == 'high']",
            "$.cases[?@.severity != 'critical']",
            // A webhook's own data spells as its sender does: equality is left as written.
            "$.alerts[?@.severity == 'High']",
            "$.c[?@.assignee != \"Sam@Acme.test\"]",
            "$.c[?@.assignee == 'sam@acme.test']",
            "$.c[?@.title == 'High']",
            "$.c[?@.title >= 'Alpha']",
            "$.c[?@.n == 9007199254740992]",
            "$.c[?@.n > 1.5e300]",
            "$.c[?@.a1 == 3]",
            "$.c['High']",
            "$.c[?match(@.s, 'High.*')]",
            "$.c[12345678901234567890]",
            "$.a[?@.x[0:9007199254740993]]",
            "$.a[?@.ids[9007199254740993]]",
        ] {
            assert!(filter_comparisons(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn a_pattern_is_a_short_literal() {
        check("$.a[?match(@.title, 'phish.*')]").expect("a literal");
        check("$.a[?search( @.title ,\"x\")]").expect("spaces, double quotes");
        let e = check("$.a[?match(@.title, @.pattern)]").expect_err("from data");
        assert!(e.contains("not a string literal"), "{e}");
        let long = format!("$.a[?search(@.t, '{}')]", "a".repeat(MAX_PATTERN_BYTES + 1));
        let e = check(&long).expect_err("long");
        assert!(e.contains("longer than"), "{e}");
        // A few bytes that compile to megabytes, compiled again per node tested.
        let e = check(r"$.a[?search(@.t, '\\w{300}')]").expect_err("a big program");
        assert!(e.contains("does not compile within"), "{e}");
        check(r"$.a[?match(@.t, '[a-z]+\\.[a-z]{2,6}')]").expect("an everyday pattern");
        let e = check("$.a[?match(@.t, '(unclosed')]").expect_err("not a regex");
        assert!(e.contains("does not compile"), "{e}");
        // Another function's second argument, or a name ending in `match`, is not a pattern.
        check("$.a[?my_match(@.x, @.y)]").expect("not `match`");
        check("$.rematch[?count(@.x) == 1]").expect("no call");
    }
}
