//! External case ids. A case created full-access is `C-<n>`, numbered among the workspace's
//! full-access-created cases; one created restricted is `C-` and 16 random hex digits. Numbered
//! with the others, a restricted case told everyone it is hidden from that it exists, how
//! many such cases there are and when each came (SPEC CS-2: absent from counts; round 16
//! leak review). Either way an id says nothing about any other workspace (SPEC ID-4).

/// The external id of the case shown as number `number` in its workspace: `C-<number>`.
pub fn case_id_text(number: i64) -> String {
    format!("C-{number}")
}

/// A new opaque external id, for a case created restricted.
pub(super) fn opaque_case_id() -> Result<String, crate::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| crate::Error::Internal(format!("no randomness for a case id: {e}")))?;
    Ok(format!("C-{}", crate::encoding::hex(&bytes).to_uppercase()))
}

/// An external case id as stored (`C-<n>`, or `C-` and 16 hex digits, upper case), if
/// `text` reads as one.
pub(super) fn parse_case_id(text: &str) -> Option<String> {
    // Its prefix in either case, as run and interaction ids are read (round 17).
    let text = text.trim();
    let rest = text
        .strip_prefix("C-")
        .or_else(|| text.strip_prefix("c-"))?;
    let digits = !rest.is_empty() && rest.len() <= 19 && rest.bytes().all(|b| b.is_ascii_digit());
    let hex = rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit());
    // Sixteen hex digits are an opaque id, digits only too (no workspace numbers 10^15).
    if hex {
        Some(format!("C-{}", rest.to_ascii_uppercase()))
    } else if digits {
        // As a number reads: `C-007` is `C-7`.
        rest.parse::<i64>().ok().map(case_id_text)
    } else {
        None
    }
}

/// The answer for a case that does not exist (or is not the caller's to know of).
pub(crate) fn not_found(text: &str) -> crate::Error {
    crate::Error::NotFound(format!("there is no case `{text}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_read_as_numbers_or_opaque_hex() {
        assert_eq!(parse_case_id(" C-7 ").as_deref(), Some("C-7"));
        assert_eq!(parse_case_id("C-007").as_deref(), Some("C-7"));
        assert_eq!(parse_case_id("c-7").as_deref(), Some("C-7"));
        assert_eq!(
            parse_case_id("C-0123456789abcdef").as_deref(),
            Some("C-0123456789ABCDEF")
        );
        for bad in [
            "C-",
            "C-x",
            "7",
            "C-0123456789abcdeg",
            "C-99999999999999999999",
        ] {
            assert_eq!(parse_case_id(bad), None, "{bad}");
        }
        let opaque = opaque_case_id().expect("random");
        assert_eq!(parse_case_id(&opaque).as_deref(), Some(opaque.as_str()));
    }
}
