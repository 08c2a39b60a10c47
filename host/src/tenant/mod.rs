//! Tenant files: an organization described in one JSON document, applied declaratively and
//! idempotently (applying twice changes nothing), exported back in the same format.

mod apply;
mod export;
mod export_access;
mod store;
mod validate;

use serde::{Deserialize, Serialize};

use crate::admin::groups::GroupKind;
use crate::json_locate::{JsonPath, Seg};
pub use crate::json_locate::{Located, SpecError};

pub use apply::{ApplyError, ApplyReport, apply, bootstrap};
pub(crate) use export::export;
pub(crate) use export_access::export_for;

/// An organization and its workspaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub organization: String,
    #[serde(default)]
    pub workspaces: Vec<WorkspaceSpec>,
}

/// One workspace: who is in it with which role, and how SSO maps identities to roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub sso_only: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idps: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_roles: Vec<RoleSpec>,
    /// Invited members. SSO-provisioned members are runtime state, not listed here.
    #[serde(default)]
    pub members: Vec<MemberSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupSpec>,
    /// In rank order: the first match wins (SPEC SSO-2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claim_rules: Vec<RuleSpec>,
}

/// A custom role (SPEC RB-2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    pub scopes: Vec<String>,
}

/// A member: invited, or (`"sso": true`) an Owner provisioned through SSO.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSpec {
    pub email: String,
    pub role: String,
    /// May sign in locally even when the workspace enforces SSO (SPEC SSO-4).
    #[serde(default, skip_serializing_if = "is_false")]
    pub break_glass: bool,
    /// Provisioned through SSO, not invited. SSO-provisioned members are runtime state and
    /// left out of an export, except Owners: a workspace whose Owners all came through SSO
    /// must still name one to re-apply (SPEC UA-3). Applied, it is an SSO membership, whose
    /// role the next SSO login derives from the claim rules again (SPEC SSO-3).
    #[serde(default, skip_serializing_if = "is_false")]
    pub sso: bool,
}

/// A group (SPEC GR-1..3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub kind: GroupKind,
    /// The IdP group a dynamic group mirrors (default: its name). Given as `null` refused,
    /// as a blank one is: a group re-applied so followed its name instead, silently (round
    /// 29 hostile-input review).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::json_limits::given"
    )]
    pub claim_value: Option<String>,
    /// Members of a static group (workspace members only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// A claim-mapping rule; `role` may be `external` to admit external SSO identities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub claim: String,
    pub value: String,
    pub role: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A tenant file read from `origin`: its text (to locate errors) and its parsed spec.
pub struct TenantFile {
    pub origin: String,
    pub text: String,
    pub spec: TenantSpec,
}

impl TenantFile {
    /// Parses and validates `text`; every error names the path and line:column.
    pub fn parse(origin: &str, text: &str) -> Result<TenantFile, Vec<SpecError>> {
        // Capped nesting (issue 14 item 9), located like every other error.
        if let Some(e) =
            SpecError::byte_order_mark(origin, text).or_else(|| SpecError::too_deep(origin, text))
        {
            return Err(vec![e]);
        }
        let located = |path: String, inner: &serde_json::Error| {
            vec![SpecError {
                origin: origin.to_owned(),
                line: inner.line(),
                column: inner.column(),
                path: crate::text::decoder_words(&path),
                message: crate::text::decoder_words(
                    inner
                        .to_string()
                        .split(" at line ")
                        .next()
                        .unwrap_or_default(),
                ),
            }]
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let spec: TenantSpec = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| located(e.path().to_string(), e.inner()))?;
        // One document: two exports written into one file applied the first and dropped the
        // second without a word (round 18 hostile-input review).
        de.end().map_err(|e| located(String::from("."), &e))?;
        let file = TenantFile {
            origin: origin.to_owned(),
            text: text.to_owned(),
            spec,
        };
        let problems = validate::validate(&file.spec);
        if problems.is_empty() {
            Ok(file)
        } else {
            Err(file.locate(problems))
        }
    }

    /// Attaches line:column to problems found at paths of this file.
    pub fn locate(&self, problems: Vec<Located>) -> Vec<SpecError> {
        crate::json_locate::locate_all(&self.origin, &self.text, problems)
    }
}

/// `workspaces[i]`.
pub(crate) fn ws_path(i: usize) -> JsonPath {
    JsonPath(vec![Seg::Key("workspaces".into()), Seg::Index(i)])
}
