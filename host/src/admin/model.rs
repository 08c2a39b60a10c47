//! The data of administration as the operations return it and its storage reads and writes
//! it: groups, keys, members, claim rules. Plain data, so that `store.rs` and the operations
//! beside it both depend on it and not on each other.

use serde::{Deserialize, Serialize};

use crate::Error;

/// A member as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberInfo {
    pub email: String,
    pub role: String,
    pub source: String,
    pub break_glass: bool,
}

/// A key as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub owner: Option<String>,
    pub role: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked: bool,
}

/// A claim-mapping rule (SPEC SSO-2). `rank` is 1-based; lower ranks are tried first. Made
/// (checked, normalized) and matched in `sso.rs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRule {
    #[serde(default, skip_deserializing)]
    pub rank: u32,
    pub claim: String,
    pub value: String,
    pub role: String,
}

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
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "static" => Ok(GroupKind::Static),
            "dynamic" => Ok(GroupKind::Dynamic),
            _ => Err(Error::Invalid(format!(
                "group type must be `static` or `dynamic`, not `{s}`"
            ))),
        }
    }
}

/// A group as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub description: String,
    pub kind: GroupKind,
    pub claim_value: Option<String>,
    pub members: Vec<String>,
}
