//! Custom events emitted by steps (SPEC WF-2, ST-3): validation before they are recorded.

use serde::Serialize;

use super::caps::{
    self, MAX_EVENT_KIND_BYTES as MAX_KIND_LEN, MAX_EVENT_PAYLOAD_BYTES,
    MAX_EVENT_VALUES_PER_EXECUTION,
};
use crate::Error;

/// `Ok` if `kind` may name a custom event: 1 to [`MAX_KIND_LEN`] letters, digits, `_`, `-`
/// and `.`, not a case event's `case_` prefix nor another trigger's name. A step's `emit` and a `custom_event` trigger
/// are checked alike, so no trigger waits for a kind no step can emit.
pub fn check_kind(kind: &str) -> Result<(), String> {
    if kind.is_empty() || kind.len() > MAX_KIND_LEN {
        return Err(format!(
            "event kind must be 1..={MAX_KIND_LEN} characters, got {}",
            kind.len()
        ));
    }
    if let Some(bad) = kind
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "event kind `{kind}` has the character {bad:?}; use letters, digits, `_`, `-`, `.`"
        ));
    }
    if kind.starts_with("case_") {
        return Err(format!(
            "event kind `{kind}` is reserved: case events come only from the case service"
        ));
    }
    if names_a_trigger(kind) {
        return Err(format!(
            "event kind `{kind}` is reserved: it names a kind of trigger"
        ));
    }
    Ok(())
}

/// Whether `kind` is another trigger's name, which no event may take: dispatch read such an
/// event as theirs, and parsed every manual workflow of the workspace for it (hostile-input
/// review).
pub fn names_a_trigger(kind: &str) -> bool {
    matches!(kind, "manual" | "webhook" | "interaction" | "custom_event")
}

/// A validated custom event, not yet stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomEvent {
    /// Letters, digits, `_`, `-` and `.`.
    pub kind: String,
    /// A JSON object.
    pub payload: serde_json::Value,
}

impl CustomEvent {
    /// Validates a step's `emit(kind, payload-json)`; errors name what is wrong.
    pub fn parse(kind: &str, payload_json: &str) -> Result<Self, Error> {
        Self::parse_within(kind, payload_json, usize::MAX).map(|(event, _)| event)
    }

    /// [`CustomEvent::parse`] for a payload that may hold at most `values_left` JSON values
    /// (counted on the text, before it is parsed: [`crate::json_limits::text_values`]);
    /// returns the event and how many values it holds.
    pub fn parse_within(
        kind: &str,
        payload_json: &str,
        values_left: usize,
    ) -> Result<(Self, usize), Error> {
        check_kind(kind).map_err(Error::Invalid)?;
        // Size and nesting before parsing: the parser's work is what the caps bound (ST-4).
        caps::check_len(
            &format!("event `{kind}` payload"),
            payload_json.len(),
            MAX_EVENT_PAYLOAD_BYTES,
            "bytes",
        )?;
        caps::check_json_depth(&format!("event `{kind}` payload"), payload_json)?;
        let values = crate::json_limits::text_values(payload_json);
        if values > values_left {
            return Err(Error::Invalid(format!(
                "event `{kind}` payload holds {values} JSON values (an object holding anything \
                 counts as 20); the events of one execution \
                 may hold {MAX_EVENT_VALUES_PER_EXECUTION} in all and {values_left} are left (SPEC ST-4)"
            )));
        }
        let payload: serde_json::Value = crate::json_limits::from_str(payload_json)
            .map_err(|e| Error::Invalid(format!("event `{kind}` payload is not JSON: {e}")))?;
        if !payload.is_object() {
            return Err(Error::Invalid(format!(
                "event `{kind}` payload must be a JSON object"
            )));
        }
        // Listeners read the event's kind as `$.event.kind`: a member of that name was
        // replaced by it, its value lost and conditions on it silently false (round 19
        // engine review).
        if payload.get("kind").is_some() {
            return Err(Error::Invalid(format!(
                "event `{kind}` payload has a member `kind`: that is the event's own kind, \
                 as listeners read it (`$.event.kind`); name the member otherwise"
            )));
        }
        // Again as stored: the host writes the payload as it re-serializes it, and a number
        // written short is stored long (`1e15` as `1000000000000000.0`), so 256 KiB of them
        // were stored as about 1 MB (round 19 hostile-step review; case `fields` are checked
        // both ways).
        if crate::json_limits::text_len_within(&payload, MAX_EVENT_PAYLOAD_BYTES).is_none() {
            return Err(Error::Invalid(format!(
                "event `{kind}` payload is more than {MAX_EVENT_PAYLOAD_BYTES} bytes as stored \
                 (its numbers written out in full; SPEC ST-4)"
            )));
        }
        let event = Self {
            kind: kind.to_owned(),
            payload,
        };
        Ok((event, values))
    }

    /// The bytes its payload takes as stored, which budgets are charged.
    pub fn stored_len(&self) -> usize {
        crate::json_limits::text_len(&self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_member_named_kind_is_refused() {
        let refused = CustomEvent::parse("alert", r#"{"kind":"phishing"}"#).expect_err("kind");
        assert!(refused.to_string().contains("member `kind`"), "{refused}");
        assert!(CustomEvent::parse("alert", r#"{"category":"phishing"}"#).is_ok());
    }

    #[test]
    fn a_payload_is_capped_as_stored_too() {
        // 4 bytes written, 18 stored each: within the cap as sent, four times it as stored.
        let sent = format!("{{\"a\":[{}]}}", vec!["1e15"; 52_000].join(","));
        assert!(sent.len() <= MAX_EVENT_PAYLOAD_BYTES);
        let refused = CustomEvent::parse("grow", &sent).expect_err("past the cap as stored");
        assert!(refused.to_string().contains("as stored"), "{refused}");
        let fits = format!("{{\"a\":[{}]}}", vec!["1e15"; 10_000].join(","));
        let event = CustomEvent::parse("grow", &fits).expect("within the cap as stored");
        assert!(event.stored_len() > fits.len(), "charged as stored");
    }

    #[test]
    fn accepts_a_well_formed_event() {
        let e = CustomEvent::parse("ioc.found", r#"{"ip":"10.0.0.1"}"#).expect("valid");
        assert_eq!(e.kind, "ioc.found");
        assert_eq!(e.payload["ip"], "10.0.0.1");
    }

    #[test]
    fn rejects_bad_kinds_and_payloads_naming_the_problem() {
        let cases = [
            ("", "{}", "1..=64"),
            ("a b", "{}", "' '"),
            ("ok", "[1]", "JSON object"),
            ("ok", "{", "not JSON"),
            ("case_access_mode_updated", "{}", "reserved"),
            // Another trigger's name: dispatch read it as that trigger's (round 14).
            ("manual", "{}", "names a kind of trigger"),
            ("webhook", "{}", "names a kind of trigger"),
        ];
        for (kind, payload, needle) in cases {
            let err = CustomEvent::parse(kind, payload)
                .expect_err(kind)
                .to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
        let long = "k".repeat(MAX_KIND_LEN + 1);
        assert!(CustomEvent::parse(&long, "{}").is_err());
    }

    #[test]
    fn payloads_past_their_size_or_depth_cap_are_refused_naming_the_cap() {
        let big = format!(r#"{{"x":"{}"}}"#, "y".repeat(MAX_EVENT_PAYLOAD_BYTES));
        let err = CustomEvent::parse("big", &big)
            .expect_err("too big")
            .to_string();
        assert!(
            err.contains("event `big` payload is 262152 bytes; the cap is 262144"),
            "{err}"
        );
        let deep = format!(r#"{{"a":{}1{}}}"#, "[".repeat(32), "]".repeat(32));
        let err = CustomEvent::parse("deep", &deep)
            .expect_err("too deep")
            .to_string();
        assert!(err.contains("nests 33 levels deep; the cap is 32"), "{err}");
        let ok = format!(r#"{{"a":{}1{}}}"#, "[".repeat(31), "]".repeat(31));
        assert!(CustomEvent::parse("ok", &ok).is_ok());
    }
}
