//! Custom events emitted by steps (SPEC WF-2, ST-3): validation before they are recorded.

use serde::Serialize;

use super::HostError;

/// Longest accepted event kind.
pub const MAX_KIND_LEN: usize = 64;
/// Largest accepted payload, in bytes of JSON.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

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
    pub fn parse(kind: &str, payload_json: &str) -> Result<Self, HostError> {
        if kind.is_empty() || kind.len() > MAX_KIND_LEN {
            return Err(HostError::Invalid(format!(
                "event kind must be 1..={MAX_KIND_LEN} characters, got {}",
                kind.len()
            )));
        }
        if let Some(bad) = kind
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            return Err(HostError::Invalid(format!(
                "event kind `{kind}` has the character {bad:?}; use letters, digits, `_`, `-`, `.`"
            )));
        }
        if kind.starts_with("case_") {
            return Err(HostError::Invalid(format!(
                "event kind `{kind}` is reserved: case events come only from the case service"
            )));
        }
        if payload_json.len() > MAX_PAYLOAD_BYTES {
            return Err(HostError::Invalid(format!(
                "event `{kind}` payload is {} bytes; the limit is {MAX_PAYLOAD_BYTES}",
                payload_json.len()
            )));
        }
        // Capped nesting: the stored event wraps the payload and must parse when read back
        // (issue 14 item 9).
        crate::json_limits::check_text_depth(&format!("event `{kind}` payload"), payload_json)
            .map_err(HostError::Invalid)?;
        let payload: serde_json::Value = serde_json::from_str(payload_json)
            .map_err(|e| HostError::Invalid(format!("event `{kind}` payload is not JSON: {e}")))?;
        if !payload.is_object() {
            return Err(HostError::Invalid(format!(
                "event `{kind}` payload must be a JSON object"
            )));
        }
        Ok(Self {
            kind: kind.to_owned(),
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
