//! Limits on the text people and files hand the host, and how errors echo it back.
//!
//! Every user-facing length cap lives here so the README can list them in one place
//! (issue 13 item 8), and [`clip`] is the one way an error quotes input: a 100 kB value is
//! shown by its start and its size, never whole.

use std::borrow::Cow;

/// Longest name (workspace, user-facing names of keys, groups, roles, workflows, flows), in
/// characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description (groups, roles, keys), in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// Longest SSO claim name or value (a claim rule's, or a presented claim's), in characters.
pub const MAX_CLAIM_CHARS: usize = 1_000;
/// Longest title of an interaction, as rendered when it opens, in characters: room for a
/// case's title (512 bytes) and the words around it. Unbounded, a title rendered from a run's
/// context stored megabytes per interaction, read again by every list of open ones
/// (hostile-input review).
pub const MAX_INTERACTION_TITLE_CHARS: usize = 1_000;
/// Longest case `state`, in characters.
pub const MAX_STATE_CHARS: usize = 100;
/// Longest JSONPath in a definition or a test, in bytes (SPEC WF-3): longer than any path
/// into a context, short enough that parsing one costs microseconds.
pub const MAX_JSONPATH_BYTES: usize = 1024;

/// Longest message of a step's failure kept (its error, a traceback), in bytes: the rest is
/// cut, so a hostile step cannot make every run record, journal entry and retry hold tens of
/// megabytes.
pub const MAX_STEP_ERROR_BYTES: usize = 64 << 10;

/// How many characters of an input an error quotes before shortening it.
pub const ECHO_CHARS: usize = 80;

/// `input` as an error may quote it: whole when short, else its first [`ECHO_CHARS`]
/// characters followed by `… (N bytes)`; control characters escaped (`\n`, `\u{1b}`), so a
/// quoted input starts no line of its own in a log or a terminal (hostile-input review: an
/// OIDC callback's `iss` wrote a forged line into the server's log).
pub fn clip(input: &str) -> Cow<'_, str> {
    let cut = input.char_indices().nth(ECHO_CHARS).map(|(cut, _)| cut);
    let shown = &input[..cut.unwrap_or(input.len())];
    if cut.is_none() && !shown.chars().any(char::is_control) && first_hidden(shown).is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = escaped(shown);
    if cut.is_some() {
        out.push_str(&format!("… ({} bytes)", input.len()));
    }
    Cow::Owned(out)
}

/// `text` with its control characters escaped and its hidden characters written out
/// (`\u200b`): "there is no role `owner`" quoted `owner\u{200b}` as a name the same message
/// listed (round 18 hostile-input review).
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 24);
    let mut prev = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else if is_hidden_at(prev, c, chars.peek().copied()) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// `message` cut to at most `max` bytes (at a character boundary), saying how long it was,
/// and [`storable`]. Cut first: a NUL becomes three bytes, and a step's 60 MiB of NULs was
/// tripled in host memory before it was cut (hostile-step review).
pub fn clip_bytes(message: String, max: usize) -> String {
    let len = message.len();
    if len <= max {
        let kept = storable(message);
        if kept.len() <= max {
            return kept;
        }
        return clip_bytes(kept, max);
    }
    let mut message = message;
    message.truncate(message.floor_char_boundary(max));
    let mut kept = storable(message);
    // Replaced NULs may have grown it past `max` again: cut once more, at a boundary.
    kept.truncate(kept.floor_char_boundary(max));
    format!("{kept}… (cut: {len} bytes in all)")
}

/// `text` as every store keeps it: a NUL character (which PostgreSQL stores in no text
/// column, and the store refuses on either engine) becomes U+FFFD. For text a step writes
/// (its log lines, its error, its stderr) or that is made of its values (an interaction's
/// title), which must be recorded whatever it holds.
pub fn storable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

/// [`storable`] for borrowed text: the text itself when it holds no NUL.
pub fn storable_str(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `message` with every run of non-space characters longer than [`ECHO_CHARS`] clipped: the
/// last line of defence for an error that quotes a huge input (a 100 kB `--workspace`).
pub fn clip_words(message: &str) -> Cow<'_, str> {
    if !message
        .split(char::is_whitespace)
        .any(|w| w.chars().nth(ECHO_CHARS).is_some())
    {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len().min(4 * ECHO_CHARS));
    let mut word = String::new();
    for c in message.chars().chain(std::iter::once(' ')) {
        if c.is_whitespace() {
            out.push_str(&clip(&word));
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.pop(); // the space chained on
    Cow::Owned(out)
}

/// Bytes a refusal a decoder wrote keeps at most ([`decoder_words`]).
const DECODER_REFUSAL_BYTES: usize = 1024;

/// What a decoder (serde, serde_path_to_error) wrote of what it refused, which quotes the
/// input whole and raw (an unknown field or variant, a string of the wrong type, a path of
/// map keys): each long word clipped, line breaks and other control characters written
/// out, at most 1 KiB (round 21 input review: a 100 kB severity with a line break came
/// back whole, forged a line on the CLI's stderr, and was stored twice with a run).
pub fn decoder_words(message: &str) -> String {
    // Hidden characters written out as `clip` writes them: `critical` and `critical\u200b`
    // read alike otherwise.
    clip_bytes(escaped(&clip_words(message)), DECODER_REFUSAL_BYTES)
}

/// Checks that `value` (the `what` of an error) has at most `max` characters.
pub fn check_len(what: &str, value: &str, max: usize) -> Result<(), String> {
    check_no_nul(what, value)?;
    let chars = value.chars().count();
    if chars > max {
        Err(format!(
            "{what} `{}` is too long: {chars} characters, at most {max}",
            clip(value)
        ))
    } else {
        Ok(())
    }
}

/// Whether `c` is invisible or reorders what follows it (Unicode's default-ignorable code
/// points: zero-width spaces, bidirectional controls, the byte order mark, fillers, tags,
/// variation selectors): two names differing by one read alike
/// (`triage` and `triage\u{200b}`), and one can make a line read backwards. Joiners and
/// variation selectors depend on their neighbours ([`is_hidden_at`]).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{feff}' | '\u{ffa0}'
        | '\u{fff0}'..='\u{fffb}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0000}'..='\u{e0fff}')
}

/// Whether `c`, between `prev` and `next`, hides itself in a line: a control or invisible
/// character; a joiner (U+200C, U+200D) unless between two non-ASCII characters, a
/// variation selector unless after one (Persian words and emoji need them; `triage\u{200d}`
/// reads as `triage`; review of this change).
pub fn is_hidden_at(prev: Option<char>, c: char, next: Option<char>) -> bool {
    let non_ascii = |c: Option<char>| c.is_some_and(|c| !c.is_ascii());
    match c {
        '\u{200c}' | '\u{200d}' => !(non_ascii(prev) && non_ascii(next)),
        // The emoji presentation selector of a keycap (`1️⃣`: a digit, U+FE0F, U+20E3) shows
        // (round 19 self-review: a `choice` option "1️⃣ Low" was refused).
        '\u{fe0f}' if next == Some('\u{20e3}') => false,
        // Variation selectors: the standard ones, the supplement's, and Mongolian's.
        '\u{fe00}'..='\u{fe0f}'
        | '\u{e0100}'..='\u{e01ef}'
        | '\u{180b}'..='\u{180d}'
        | '\u{180f}' => !non_ascii(prev),
        c => c.is_control() || is_invisible(c),
    }
}

/// `text` with each character `hides` (given the characters before and after it) written
/// out as JSON spells an escaped character (`\u001b`), so `--json` output stays valid JSON
/// and means the same (serde_json writes DEL and C1 characters raw); borrowed if none is.
pub fn written_out(
    text: &str,
    hides: impl Fn(Option<char>, char, Option<char>) -> bool,
) -> std::borrow::Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut prev = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        if hides(prev, c, next) {
            use std::fmt::Write as _;
            let out = out.get_or_insert_with(|| {
                let mut kept = String::with_capacity(text.len() + 16);
                kept.push_str(&text[..at]);
                kept
            });
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else if let Some(out) = out.as_mut() {
            out.push(c);
        }
        prev = Some(c);
    }
    out.map_or(std::borrow::Cow::Borrowed(text), std::borrow::Cow::Owned)
}

/// The first character of `text` that hides itself in a line ([`is_hidden_at`]).
pub fn first_hidden(text: &str) -> Option<char> {
    first_hidden_by(text, is_hidden_at)
}

/// The first character of `text` that `hides` (given the characters before and after it).
pub fn first_hidden_by(
    text: &str,
    hides: impl Fn(Option<char>, char, Option<char>) -> bool,
) -> Option<char> {
    let mut prev = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if hides(prev, c, chars.peek().copied()) {
            return Some(c);
        }
        prev = Some(c);
    }
    None
}

/// [`check_len`] of a name shown in listings and compared by people: also one line, without
/// invisible characters, and not starting or ending with white space (hostile-input review:
/// a workflow name holding a line break forged whole lines of `flowhost audit`).
pub fn check_name(what: &str, value: &str, max: usize) -> Result<(), String> {
    check_len(what, value, max)?;
    if let Some(c) = first_hidden(value) {
        return Err(format!(
            "{what} `{}` holds U+{:04X}, a control or invisible character",
            clip(value),
            u32::from(c)
        ));
    }
    if value.trim() != value {
        return Err(format!(
            "{what} `{}` starts or ends with white space",
            clip(value)
        ));
    }
    Ok(())
}

/// `Ok` unless `value` holds a NUL character: PostgreSQL stores no text with one, so it
/// failed there as the host's error after the request was taken (robustness review).
pub fn check_no_nul(what: &str, value: &str) -> Result<(), String> {
    if value.contains('\0') {
        return Err(format!(
            "{what} holds a NUL character (U+0000), which text may not hold"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keycaps_presentation_selector_shows() {
        assert_eq!(first_hidden("1\u{fe0f}\u{20e3} Low"), None);
        assert_eq!(first_hidden("1\u{fe0f} Low"), Some('\u{fe0f}'));
    }

    #[test]
    fn a_name_is_one_visible_line() {
        assert!(check_name("the name", "triage-critical", 200).is_ok());
        assert!(check_name("the name", "Tri\u{e1}ge \u{65e5}\u{672c}", 200).is_ok());
        // Joiners and variation selectors are parts of words and emoji; after ASCII they hide.
        for bad in [
            "triage\u{200d}",
            "triage\u{fe0f}",
            "\u{200d}triage",
            // The supplement's and Mongolian's variation selectors, other default-ignorables.
            "triage\u{e0100}",
            "triage\u{180b}",
            "tri\u{1bca0}age",
            "tri\u{1d173}age",
            "tri\u{e0080}age",
        ] {
            assert!(check_name("the name", bad, 200).is_err(), "{bad:?}");
        }
        assert!(check_name("the name", "\u{26a0}\u{fe0f} phishing", 200).is_ok());
        assert!(check_name("the name", "\u{1f9d1}\u{200d}\u{1f4bb} on-call", 200).is_ok());
        assert!(
            check_name(
                "the name",
                "\u{645}\u{06cc}\u{200c}\u{062e}\u{648}\u{0627}\u{0647}\u{0645}",
                200
            )
            .is_ok()
        );
        for bad in [
            "x\n2026 forged",
            "triage\u{200b}",
            "\u{202e}egairt",
            " triage",
            "tab\t",
        ] {
            assert!(check_name("the name", bad, 200).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_a_step_wrote_is_stored_with_its_nul_characters_replaced() {
        assert_eq!(storable("a\0b\0".into()), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(storable("plain".into()), "plain");
        assert!(!clip_bytes("x\0".repeat(100), 10).contains('\0'));
        // Cut before the NULs grow three times: what is kept stays within the bound.
        let kept = clip_bytes("\0".repeat(1_000_000), 10);
        let (text, rest) = kept.split_once('…').expect("cut");
        assert!(text.len() <= 10 && !text.contains('\0'), "{kept}");
        assert!(rest.contains("1000000 bytes"), "{kept}");
    }

    #[test]
    fn a_nul_character_is_refused_naming_the_field() {
        let refused = check_len("`title`", "a\0b", 100).expect_err("refused");
        assert!(refused.contains("`title` holds a NUL"), "{refused}");
        assert!(check_len("`title`", "ab", 100).is_ok());
    }

    #[test]
    fn clip_bytes_cuts_at_a_character_boundary_and_says_the_length() {
        assert_eq!(clip_bytes("short".into(), 10), "short");
        let long = "é".repeat(10); // 20 bytes
        let cut = clip_bytes(long, 5);
        assert_eq!(cut, "éé… (cut: 20 bytes in all)");
    }

    #[test]
    fn short_input_is_echoed_whole_and_long_input_clipped() {
        assert_eq!(clip("OPERATOR"), "OPERATOR");
        let long = "é".repeat(50_000);
        let shown = clip(&long);
        assert!(shown.len() < 300, "{shown}");
        assert!(shown.ends_with("… (100000 bytes)"), "{shown}");
    }

    /// A quoted input's control characters are escaped: it starts no line of its own in a
    /// log or a terminal (hostile-input review: an OIDC callback forged a server log line).
    #[test]
    fn quoted_control_characters_are_escaped() {
        assert_eq!(clip("a\nflowhost serve: ok"), "a\\nflowhost serve: ok");
        assert_eq!(clip("\u{1b}[31mred"), "\\u{1b}[31mred");
        // A hidden character is written out too (round 18): the quote reads as what it is.
        assert_eq!(clip("owner\u{200b}"), "owner\\u200b");
        assert_eq!(clip("\u{202e}evil"), "\\u202eevil");
        let long = format!("{}\n", "x".repeat(200));
        let shown = clip(&long);
        assert!(
            !shown.contains('\n') && shown.ends_with("(201 bytes)"),
            "{shown}"
        );
    }

    #[test]
    fn long_words_in_a_message_are_clipped() {
        assert_eq!(
            clip_words("there is no workspace `soc`"),
            "there is no workspace `soc`"
        );
        let msg = format!("there is no workspace `{}`\nnext", "w".repeat(100_000));
        let shown = clip_words(&msg);
        assert!(shown.starts_with("there is no workspace `www"), "{shown}");
        assert!(shown.ends_with("… (100002 bytes)\nnext"), "{shown}");
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(check_len("a name", &"é".repeat(10), 10).is_ok());
        let err = check_len("a name", &"x".repeat(11), 10).expect_err("too long");
        assert!(err.contains("11 characters, at most 10"), "{err}");
    }
}
