//! A group's membership type (SPEC GR-1): data the access layer reads back from storage
//! (explain names groups by kind) and administration writes, so it sits below both.

use serde::{Deserialize, Serialize};

/// A group's membership type, fixed at creation (SPEC GR-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    Static,
    Dynamic,
}

impl GroupKind {
    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Static => "static",
            GroupKind::Dynamic => "dynamic",
        }
    }

    /// Parses `static` or `dynamic`.
    pub fn parse(s: &str) -> Result<Self, UnknownGroupKind> {
        match s {
            "static" => Ok(GroupKind::Static),
            "dynamic" => Ok(GroupKind::Dynamic),
            _ => Err(UnknownGroupKind(s.to_owned())),
        }
    }
}

/// A group type that is neither `static` nor `dynamic`: the access layer's own error, so it
/// imports nothing above it; the service error takes it as `Invalid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("group type must be `static` or `dynamic`, not `{0}`")]
pub struct UnknownGroupKind(pub String);
