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
//!   without unions a path selects no more nodes than the value holds at that depth;
//! - at most one descendant segment (`..`): each is a walk of everything under every node so
//!   far, and two multiply;
//! - `match` and `search` take their pattern as a string literal of at most
//!   [`MAX_PATTERN_BYTES`]: the library compiles it again for every node it tests, so a pattern
//!   read from data (up to the size of a case's field) was compiled per node.
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

/// An open bracket or parenthesis, as the scan of a path sees it.
struct Open {
    /// `[`: its selectors so far; `(`: none.
    selectors: Option<usize>,
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
                let bytes: usize = chars[i + 1..end].iter().map(|c| c.len_utf8()).sum();
                if in_pattern && bytes > MAX_PATTERN_BYTES {
                    return Err(format!(
                        "gives `match` or `search` a pattern longer than {MAX_PATTERN_BYTES} \
                         bytes"
                    ));
                }
                i = end;
            }
            '[' | '(' => {
                let pattern_call = (c == '(' && ends_with_word(&chars[..i], &["match", "search"]))
                    .then_some(false);
                open.push(Open {
                    selectors: (c == '[').then_some(1),
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
                    selectors: Some(n), ..
                }) = open.pop()
                {
                    fan_out = fan_out.saturating_mul(n);
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
                    selectors: Some(n), ..
                }) => *n += 1,
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
            _ => {}
        }
        i += 1;
    }
    Ok(())
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
        // Unions inside a filter count too: they run once per node tested.
        let e = check("$.a[?@[0,0,0,0][0,0,0,0][0,0] == 1]").expect_err("in a filter");
        assert!(e.contains("multiply"), "{e}");
        // Commas inside a literal or a function's arguments are not selectors.
        check("$.a['x,y,z,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q']").expect("a quoted comma");
        check("$.a[?length(@.b) == 1]").expect("a function call");
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
    fn a_pattern_is_a_short_literal() {
        check("$.a[?match(@.title, 'phish.*')]").expect("a literal");
        check("$.a[?search( @.title ,\"x\")]").expect("spaces, double quotes");
        let e = check("$.a[?match(@.title, @.pattern)]").expect_err("from data");
        assert!(e.contains("not a string literal"), "{e}");
        let long = format!("$.a[?search(@.t, '{}')]", "a".repeat(MAX_PATTERN_BYTES + 1));
        let e = check(&long).expect_err("long");
        assert!(e.contains("longer than"), "{e}");
        // Another function's second argument, or a name ending in `match`, is not a pattern.
        check("$.a[?my_match(@.x, @.y)]").expect("not `match`");
        check("$.rematch[?count(@.x) == 1]").expect("no call");
    }
}
