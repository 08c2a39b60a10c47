//! External case ids: `C-<number>`, numbered within a workspace.

/// The external id of the case numbered `number` in its workspace: `C-<number>`. Numbers
/// count within a workspace, so an id says nothing about any other workspace (SPEC ID-4).
pub fn case_id_text(number: i64) -> String {
    format!("C-{number}")
}

/// The number of an external case id.
pub(super) fn parse_case_id(text: &str) -> Option<i64> {
    text.trim().strip_prefix("C-").and_then(|n| n.parse().ok())
}

/// The answer for a case that does not exist (or is not the caller's to know of).
pub(crate) fn not_found(text: &str) -> crate::Error {
    crate::Error::NotFound(format!("there is no case `{text}`"))
}
