//! The nesting limit on JSON the host accepts (issue 14 item 9).
//!
//! serde_json refuses to parse text nested deeper than 128 levels, so a value nested close to
//! that could be stored (or embedded one level deeper in an event, a journal entry or a run's
//! context) and then fail to parse when read back. Every place JSON enters (CLI input, case
//! fields, event payloads, step outputs, workflow definitions, tenant files) checks it against
//! [`MAX_JSON_DEPTH`], which leaves ample headroom for the levels the host wraps around it.

use serde_json::Value;

/// The deepest nesting accepted: an array or object counts one level, scalars none, so
/// `{"a": [1]}` has depth 2.
pub const MAX_JSON_DEPTH: usize = 64;

/// The nesting depth of `value`, without recursion (a hostile value cannot overflow the stack).
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(d + 1);
        stack.extend(children.map(|c| (c, d + 1)));
    }
    deepest
}

/// Checks `value` (named `what` in the error) against [`MAX_JSON_DEPTH`].
pub fn check_depth(what: &str, value: &Value) -> Result<(), String> {
    let d = depth(value);
    if d > MAX_JSON_DEPTH {
        Err(format!(
            "{what} is nested {d} levels deep; at most {MAX_JSON_DEPTH} are allowed"
        ))
    } else {
        Ok(())
    }
}

/// The nesting depth of JSON `text`, counted over its brackets outside strings; for text that
/// may not parse at all (serde_json stops at 128 levels with a less helpful error).
pub fn text_depth(text: &str) -> usize {
    scan(text, usize::MAX).0
}

/// Where JSON `text` first nests deeper than [`MAX_JSON_DEPTH`]: (line, column), 1-based,
/// of the bracket that opens one level too many.
pub fn too_deep_at(text: &str) -> Option<(usize, usize)> {
    let at = scan(text, MAX_JSON_DEPTH).1?;
    let before = &text[..at];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}

/// The bytes of JSON `text` outside its strings, with their offsets (a string's opening quote
/// included, nothing after it up to its closing one).
fn outside_strings(text: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    text.bytes().enumerate().filter(move |&(_, b)| {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            return false;
        }
        in_string = b == b'"';
        true
    })
}

/// An integer JSON text holds that this host would read as the nearest float, not exactly.
#[derive(Debug, PartialEq, Eq)]
pub struct InexactInteger {
    /// Where it starts, 1-based.
    pub line: usize,
    pub column: usize,
    /// Its digits (clipped).
    pub token: String,
}

impl InexactInteger {
    /// What is wrong, without where (callers say where).
    pub fn message(&self) -> String {
        format!(
            "the integer {} is outside what JSON carries exactly here (-2^63 to 2^64-1); \
             write it as a string",
            self.token
        )
    }
}

impl std::fmt::Display for InexactInteger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (line {}, column {})",
            self.message(),
            self.line,
            self.column
        )
    }
}

/// The first integer in `text` this host would not read exactly (outside -2^63..2^64-1), if
/// any. Numbers are the runs of `-0-9.eE+` outside strings: an integer is one with no `.`,
/// `e` or `E`. One that is exactly how a double is written (JavaScript writes
/// `18446744073709552000` for 2^64) is a float's text, read as that float: left alone.
pub fn inexact_integer(text: &str) -> Option<InexactInteger> {
    let check = |start: usize, end: usize| -> Option<InexactInteger> {
        let token = &text[start..end];
        let integer = token.bytes().any(|b| b.is_ascii_digit())
            && !token.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
        if !integer || token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok() {
            return None;
        }
        if token
            .parse::<f64>()
            .is_ok_and(|f| f.is_finite() && f.to_string() == token)
        {
            return None;
        }
        let before = &text[..start];
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some(InexactInteger {
            line,
            column,
            token: crate::text::clip(token).into_owned(),
        })
    };
    let mut run: Option<(usize, usize)> = None;
    for (i, b) in outside_strings(text) {
        let in_number = b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E');
        match run {
            Some((start, end)) if in_number && end == i => run = Some((start, i + 1)),
            Some((start, end)) => {
                if let Some(found) = check(start, end) {
                    return Some(found);
                }
                run = in_number.then_some((i, i + 1));
            }
            None => run = in_number.then_some((i, i + 1)),
        }
    }
    run.and_then(|(start, end)| check(start, end))
}

/// The deepest nesting of `text`, and the byte offset of the first bracket beyond `limit`.
fn scan(text: &str, limit: usize) -> (usize, Option<usize>) {
    let (mut depth, mut deepest, mut beyond) = (0usize, 0usize, None);
    for (i, b) in outside_strings(text) {
        match b {
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > limit && beyond.is_none() {
                    beyond = Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (deepest, beyond)
}

/// What an object holding anything counts for, in values: parsed, its first member takes a
/// whole B-tree node (about 632 bytes, where a value is 32), so `[{"":0},…]`, 7 bytes of text
/// and two values an element, took 20 times what every values cap assumed and a step's output
/// within them held hundreds of MiB (round 24 hostile-step review). Empty objects allocate
/// nothing and count as one value.
pub const OBJECT_VALUES: usize = 20;

/// The most values (counted as [`text_values`] counts them) a document the host reads whole
/// may hold: a workflow definition, a JSON `@FILE` argument of the CLI (an event). 16 MiB of
/// `{"a":0},` is two million objects, about 1.3 GB parsed, and a run's context, `vars` and
/// event included, is copied once for each part of a `parallel` in flight (round 26 engine
/// review: such `vars` took the host's memory). A million weighted values are about 32 MB
/// parsed.
pub const MAX_DOCUMENT_VALUES: usize = 1_000_000;

/// `Err` naming `what` when JSON `text` holds more than [`MAX_DOCUMENT_VALUES`] values.
/// [`parse`] of a whole document someone hands over (a file, an argument), its values
/// counted first ([`document_values_within`]): every door reading one refuses what another
/// refuses (round 27 hostile-input review: test files skipped the count).
pub fn parse_document(what: &str, text: &str) -> Result<Value, String> {
    document_values_within(what, text)?;
    parse(what, text)
}

pub fn document_values_within(what: &str, text: &str) -> Result<(), String> {
    let values = text_values(text);
    if values > MAX_DOCUMENT_VALUES {
        return Err(format!(
            "{what} holds about {values} JSON values (an object holding anything counts as \
             {OBJECT_VALUES}); a document holds at most {MAX_DOCUMENT_VALUES}"
        ));
    }
    Ok(())
}

/// About how many values JSON `text` holds (each array, object and scalar, an object holding
/// anything as [`OBJECT_VALUES`]; object keys not counted), over its commas and brackets
/// outside strings, without parsing it. What a value costs parsed is what this bounds:
/// `[0,0,…]` is 2 bytes of text per value but 32 bytes of `serde_json::Value`, so 16 MiB of
/// it would be 256 MiB in memory.
pub fn text_values(text: &str) -> usize {
    let (mut values, mut any, mut opened) = (0usize, false, false);
    for (_, b) in outside_strings(text) {
        if b.is_ascii_whitespace() {
            continue;
        }
        if opened && b != b'}' {
            values += OBJECT_VALUES - 1;
        }
        opened = b == b'{';
        if matches!(b, b'[' | b'{' | b',') {
            values += 1;
        }
        any = true;
    }
    // The last value of each non-empty container, or a lone scalar, follows no comma; counting
    // one more is exact for a scalar and at most one short per container otherwise.
    values + usize::from(any)
}

/// How many values a parsed JSON `value` holds, counted as [`text_values`] counts them on
/// the text (each array, object and scalar, an object holding anything as
/// [`OBJECT_VALUES`]; object keys not counted).
pub fn value_count(value: &serde_json::Value) -> usize {
    Counting::WEIGHTED.values(value)
}

/// How a parsed value's values are counted: what an object holding anything counts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counting {
    object: usize,
}

impl Default for Counting {
    /// As every cap counts now.
    fn default() -> Self {
        Counting::WEIGHTED
    }
}

impl Counting {
    /// As every cap counts now: an object holding anything as [`OBJECT_VALUES`].
    pub const WEIGHTED: Counting = Counting {
        object: OBJECT_VALUES,
    };
    /// As before round 24, an object as one value: what a run recorded then counts its
    /// journal and renderings by, so that its replay takes the path it journaled
    /// (`runs::RunRules`).
    pub const FLAT: Counting = Counting { object: 1 };

    /// How many values `value` holds.
    pub fn values(self, value: &serde_json::Value) -> usize {
        self.values_within(value, usize::MAX).unwrap_or(usize::MAX)
    }

    /// [`Counting::values`] if at most `limit`; `None` as soon as it passes it.
    pub fn values_within(self, value: &serde_json::Value, limit: usize) -> Option<usize> {
        let mut count: usize = 0;
        let mut todo = vec![value];
        while let Some(v) = todo.pop() {
            count = count.saturating_add(self.counted(v));
            if count > limit {
                return None;
            }
            match v {
                serde_json::Value::Array(items) => todo.extend(items),
                serde_json::Value::Object(map) => todo.extend(map.values()),
                _ => {}
            }
        }
        Some(count)
    }

    /// What `value` itself counts for (not what it holds).
    fn counted(self, value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => self.object,
            _ => 1,
        }
    }
}

/// The length of `value`'s compact JSON text if it is at most `limit` bytes, without
/// building the text; `None` as soon as it passes `limit`, so measuring costs at most
/// `limit` bytes of writing whatever the value holds.
pub fn text_len_within<T: serde::Serialize + ?Sized>(value: &T, limit: usize) -> Option<usize> {
    struct Count {
        len: usize,
        limit: usize,
    }
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.len += buf.len();
            if self.len > self.limit {
                return Err(std::io::ErrorKind::FileTooLarge.into());
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count { len: 0, limit };
    // A parsed `Value` always writes: the only error is the counter's own.
    serde_json::to_writer(&mut count, value).ok()?;
    Some(count.len)
}

/// Checks JSON `text` (named `what`) against [`MAX_JSON_DEPTH`] before it is parsed.
pub fn check_text_depth(what: &str, text: &str) -> Result<(), String> {
    let d = text_depth(text);
    if d > MAX_JSON_DEPTH {
        Err(format!(
            "{what} is nested {d} levels deep; at most {MAX_JSON_DEPTH} are allowed"
        ))
    } else {
        Ok(())
    }
}

/// Why a document that starts with U+FEFF is refused: JSON has no byte order mark, and
/// serde_json's "expected value at 1:1" named nothing a writer could see in a file an editor
/// saved "with BOM" (round 30 hostile-input review).
pub const BYTE_ORDER_MARK: &str =
    "it starts with a byte order mark (U+FEFF); save it as UTF-8 without one";

/// Parses JSON `text` (named `what` in errors), refusing nesting beyond [`MAX_JSON_DEPTH`]
/// and an object that names a key twice.
pub fn parse(what: &str, text: &str) -> Result<Value, String> {
    if text.starts_with('\u{feff}') {
        return Err(format!("{what}: at line 1, column 1: {BYTE_ORDER_MARK}"));
    }
    check_text_depth(what, text)?;
    if let Some(found) = inexact_integer(text) {
        return Err(format!(
            "{what}: at line {}, column {}: {}",
            found.line,
            found.column,
            found.message()
        ));
    }
    from_str(text).map_err(|e| {
        format!(
            "{what}: invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        )
    })
}

/// Parses JSON `text` as serde_json does, except that an object naming a key twice is an
/// error at that key (its line and column): serde_json keeps the last value, so `{"approve":
/// false, "approve": true}` read as approval where a reader of the text, or another parser,
/// sees a refusal, and an error about the first was reported at the second. So is an
/// integer outside -2^63..2^64-1, which serde_json reads as the nearest float
/// (`98765432109876543210` and `…211` compared equal; review).
pub fn from_str(text: &str) -> Result<Value, serde_json::Error> {
    if let Some(found) = inexact_integer(text) {
        return Err(serde::de::Error::custom(found));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde::de::DeserializeSeed::deserialize(Unique, &mut de)?;
    de.end()?;
    Ok(value)
}

/// Builds a [`Value`], refusing duplicate keys.
struct Unique;

impl<'de> serde::de::DeserializeSeed<'de> for Unique {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Unique {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text has no NaN or infinity: every f64 it yields is finite.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Unique)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{}` appears twice in one object",
                    crate::text::clip(&key)
                )));
            }
            let value = map.next_value_seed(Unique)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// The length of `value`'s compact JSON text, without building the text.
pub fn text_len(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter fails only if the value cannot be written, which a parsed
    // `Value` always can; the count so far is the answer then.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// A field given, `null` included, as `Some` (with `#[serde(default, deserialize_with =
/// …)]`): serde reads a `null` into an `Option` as no field, so an expectation of
/// `"output": null` checked nothing (polyglot review) and the API's `"event": null` was run
/// as `{}` where the CLI's `--event null` is `null` (round 23 hostile-input review).
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

/// A field that may be left out but, given, is a `T` and not `null` (with `#[serde(default,
/// deserialize_with = …)]`): serde reads a `null` into an `Option` as no field, so a
/// restriction update's `"set_collaborators": null` (a reference that found nobody) left
/// every collaborator on the case it restricted (round 25 hostile-input review).
pub(crate) fn given<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// What is said of a record given as an array.
const ARRAY_FOR_A_RECORD: &str = "an array where an object is expected";

/// `Err` naming `what` if `value`, read as a record (a struct), is an array: serde reads a
/// struct from an array too, its fields in order and the rest defaulted, so a body or a
/// step's input of `[]` was a record of nothing given (round 27 steps review).
pub(crate) fn not_an_array(what: &str, value: &serde_json::Value) -> Result<(), String> {
    if value.is_array() {
        return Err(format!("{what}: {ARRAY_FOR_A_RECORD}"));
    }
    Ok(())
}

/// A record field (a struct) given as a JSON object, never as an array (with
/// `#[serde(deserialize_with = …)]`): `"filter": []`, a reference that found an empty list,
/// was a filter of nothing, every case the run sees (round 27 steps review). Read through
/// the caller's deserializer, so what is wrong inside it is named by its whole path. For a
/// struct field only: an `Option`, an enum or a newtype would read its `null`, variant or
/// inner value through [`ObjectOnly`], which takes only a struct's map.
pub(crate) fn record<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(ObjectOnly(d))
}

/// A deserializer whose structs are read from maps only: serde's derive reads one from a
/// sequence too, its fields in order.
struct ObjectOnly<D>(D);

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The caps' costs ([`OBJECT_VALUES`], 32 bytes a value) are those of serde_json's B-tree
    /// map, the one the shipped binary has: a dependency turning on `preserve_order` (an
    /// `IndexMap`, a larger `Value`, keys in the order sent) gave every test build another
    /// map than the product's (round 25 hostile-input review), so the tests measured a map
    /// nobody runs and a keyed request's digest hung on the order of its fields.
    #[test]
    fn the_tests_read_json_into_the_map_the_product_ships() {
        assert_eq!(std::mem::size_of::<serde_json::Value>(), 32);
        let keys: Vec<_> = json!({"b": 1, "a": 2})
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(keys, ["a", "b"], "keys come out sorted");
    }

    #[test]
    fn an_integer_json_would_not_carry_exactly_is_refused_where_it_is() {
        for exact in [
            "[9223372036854775807, -9223372036854775808, 18446744073709551615]",
            r#"{"a": 1e30, "b": -1.5E+300, "c": "98765432109876543210", "d": true}"#,
        ] {
            assert!(from_str(exact).is_ok(), "{exact}");
        }
        let why = from_str("{\"id\":\n  98765432109876543210}")
            .expect_err("past 2^64")
            .to_string();
        assert!(
            why.contains("the integer 98765432109876543210 is outside")
                && why.contains("(line 2, column 3)")
                && !why.contains(" at line "),
            "{why}"
        );
        // A double as JavaScript writes it is that double: 2^64 and -2^70.
        for double in ["18446744073709552000", "-1180591620717411300000"] {
            assert_eq!(
                from_str(double).expect("a float's text").as_f64(),
                double.parse::<f64>().ok()
            );
        }
        let why = parse("body", "[1,\n 98765432109876543210]").expect_err("located");
        assert!(
            why.starts_with("body: at line 2, column 2: the integer"),
            "{why}"
        );
        assert!(from_str("[-9223372036854775809]").is_err(), "below -2^63");
        assert!(from_str("18446744073709551616").is_err(), "a lone scalar");
    }

    /// Floats read back exactly as written (serde_json's `float_roundtrip`): by default a
    /// step's `1/11` reached the next step as `0.09090909090909093` (review).
    #[test]
    fn a_float_reads_back_as_the_number_it_was_written_from() {
        for x in [
            1.0 / 11.0,
            0.1 + 0.2,
            2.0f64.sqrt(),
            1e-310,
            123_456.789_012_345_67,
        ] {
            let text = serde_json::to_string(&x).expect("a number");
            assert_eq!(from_str(&text).expect("parses").as_f64(), Some(x), "{text}");
        }
    }

    fn nested(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn values_are_counted_outside_strings() {
        assert_eq!(text_values(""), 0);
        assert_eq!(text_values(" 7 "), 1);
        assert_eq!(text_values("[0,0,0]"), 4);
        // An object holding anything counts for its node; an empty one for one value.
        assert_eq!(text_values(r#"{"a":1,"b":[2,3]}"#), OBJECT_VALUES + 4);
        // (On the text, an empty container counts one more, as it did.)
        let text = r#"[{ },{"":0}]"#;
        assert_eq!(text_values(text), 1 + 1 + 1 + OBJECT_VALUES + 1);
        let value: serde_json::Value = serde_json::from_str(text).expect("json");
        assert_eq!(value_count(&value), 1 + 1 + OBJECT_VALUES + 1);
        assert_eq!(text_values(r#"["[,{,\",]"]"#), 2);
        // The parsed count agrees with the count on the text.
        for text in [
            "7",
            "[0,0,0]",
            r#"{"a":1,"b":[2,3]}"#,
            r#"[{"":0},{"a":{"b":0}}]"#,
            r#"["[,{,\",]"]"#,
        ] {
            let value: serde_json::Value = serde_json::from_str(text).expect("json");
            assert_eq!(value_count(&value), text_values(text), "{text}");
        }
    }

    #[test]
    fn a_key_named_twice_in_one_object_is_refused_where_it_is_named_again() {
        let e = from_str("{\"approve\": false,\n \"approve\": true}").expect_err("twice");
        assert!(
            e.to_string().contains("the key `approve` appears twice"),
            "{e}"
        );
        assert_eq!(e.line(), 2, "{e}");
        let e = parse("the body", r#"[{"a": 1}, {"b": {"c": 1, "c": 2}}]"#).expect_err("twice");
        assert!(
            e.contains("the body: invalid JSON at line 1") && e.contains("`c`"),
            "{e}"
        );
        // The same key in different objects, and everything else, reads as serde_json reads it.
        for text in [
            r#"{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}"#,
            r#"[1, -2, 3.5, 1e300, 18446744073709551615, "x\u0041", true, null, {}]"#,
            "  7  ",
        ] {
            let ours = from_str(text).expect("reads");
            let theirs: Value = serde_json::from_str(text).expect("reads");
            assert_eq!(ours, theirs, "{text}");
        }
        assert!(from_str("[1] 2").is_err(), "trailing text");
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({"a": [1]})), 2);
        assert_eq!(depth(&json!([[], {"b": {"c": "[[[["}}])), 3);
        assert_eq!(text_depth(r#"[[], {"b": {"c": "[[[[\"{"}}]"#), 3);
    }

    #[test]
    fn the_first_bracket_too_deep_is_located() {
        let text = format!("{{\n  \"a\": {}", nested(MAX_JSON_DEPTH + 5));
        assert_eq!(too_deep_at(&text), Some((2, 8 + MAX_JSON_DEPTH - 1)));
        assert_eq!(too_deep_at(&nested(MAX_JSON_DEPTH)), None);
    }

    #[test]
    fn the_limit_is_inclusive_and_text_and_value_agree() {
        for levels in [
            MAX_JSON_DEPTH - 1,
            MAX_JSON_DEPTH,
            MAX_JSON_DEPTH + 1,
            125,
            200,
        ] {
            let text = nested(levels);
            assert_eq!(text_depth(&text), levels);
            let parsed = parse("x", &text);
            assert_eq!(parsed.is_ok(), levels <= MAX_JSON_DEPTH, "{levels}");
            if let Ok(v) = parsed {
                assert_eq!(depth(&v), levels);
                assert!(check_depth("x", &v).is_ok());
            } else {
                let err = parsed.expect_err("too deep");
                assert!(err.contains(&format!("nested {levels} levels")), "{err}");
            }
        }
    }
}
