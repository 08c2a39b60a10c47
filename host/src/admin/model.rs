//! The data of administration as the operations return it and its storage reads and writes
//! it: groups, keys, members, claim rules, IdPs' OIDC settings. Plain data, so that `store.rs` and the operations
//! beside it both depend on it and not on each other.

use serde::{Deserialize, Serialize};

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

pub use crate::access::GroupKind;

/// A group as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub description: String,
    pub kind: GroupKind,
    pub claim_value: Option<String>,
    pub members: Vec<String>,
}

/// New OIDC settings for an IdP, as a person gives them.
#[derive(Clone, Debug)]
pub struct NewOidc {
    pub idp: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Space-separated; `openid` is added if missing. Default [`super::oidc::DEFAULT_SCOPES`].
    pub scopes: Option<String>,
    /// Default [`super::oidc::DEFAULT_GROUPS_CLAIM`].
    pub groups_claim: Option<String>,
}

/// The OIDC settings of one IdP as shown: never the client secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OidcSettings {
    pub idp: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: String,
    pub groups_claim: String,
}

/// The settings and the secret, for the sign-in itself (never leaves the host).
#[derive(Clone, Debug)]
pub(crate) struct OidcClient {
    pub settings: OidcSettings,
    pub client_secret: String,
}
