//! Checks of a tenant spec that need no database: names, scopes, roles, owners, groups.

use std::collections::HashSet;

use crate::access::{BuiltinRole, ScopeSet};
use crate::admin::groups::{GroupKind, claim_value_refusal};
use crate::admin::roles::validate_role_name;
use crate::admin::sso::{ClaimRule, is_external};
use crate::principal::Email;
use crate::text::{MAX_CLAIM_CHARS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, check_len, check_name};

use super::{Located, TenantSpec, ws_path};

/// The longest workspace name, in bytes: names appear in every decision key and message.
const MAX_WORKSPACE_NAME: usize = 64;

/// Every problem found, in document order.
pub fn validate(spec: &TenantSpec) -> Vec<Located> {
    let mut out = Vec::new();
    // Names shown in listings and compared by people are one visible line, untrimmed never
    // (an IdP ` okta` could never be given OIDC settings, which are set trimmed; a name
    // holding a line break forged lines; hostile-input review).
    if let Err(e) = check_name("an organization name", &spec.organization, MAX_NAME_CHARS) {
        out.push(Located::new(Default::default(), e));
    }
    if spec.organization.trim().is_empty() {
        out.push(Located::new(
            Default::default(),
            "`organization` must name the organization",
        ));
    }
    let mut names = HashSet::new();
    for (i, ws) in spec.workspaces.iter().enumerate() {
        let at = ws_path(i);
        // Invisible characters are refused in a new workspace's name (`apply.rs`): one
        // created before still applies.
        if ws.name.trim().is_empty()
            || ws.name.len() > MAX_WORKSPACE_NAME
            || ws.name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            out.push(Located::new(
                at.key("name"),
                format!(
                    "a workspace name is 1 to {MAX_WORKSPACE_NAME} bytes without spaces or \
                     control characters"
                ),
            ));
        } else if !names.insert(ws.name.as_str()) {
            out.push(Located::new(
                at.key("name"),
                format!("workspace `{}` is declared twice", ws.name),
            ));
        }

        let mut idps = HashSet::new();
        for (j, idp) in ws.idps.iter().enumerate() {
            // Its name keys the workspace's IdPs in every store: bounded as every name is.
            // Two that differ only by case read as one (`tenant apply` refuses them too).
            if let Err(e) = check_name("an IdP's name", idp, MAX_NAME_CHARS) {
                out.push(Located::new(at.key("idps").index(j), e));
            } else if idp.trim().is_empty() || !idps.insert(idp.to_lowercase()) {
                out.push(Located::new(
                    at.key("idps").index(j),
                    format!(
                        "IdP `{idp}` is empty or listed twice (names differ by more than case)"
                    ),
                ));
            }
        }

        // Two that differ only by case read as one (`tenant apply` refused them unlocated).
        let mut folded_roles = HashSet::new();
        for (j, role) in ws.custom_roles.iter().enumerate() {
            let rp = at.key("custom_roles").index(j);
            if let Err(e) = validate_role_name(&role.name) {
                out.push(Located::new(rp.key("name"), e.to_string()));
            } else if !folded_roles.insert(role.name.to_ascii_lowercase()) {
                out.push(Located::new(
                    rp.key("name"),
                    format!(
                        "custom role `{}` is declared twice (names differ by more than case)",
                        role.name
                    ),
                ));
            }
            for (k, scope) in role.scopes.iter().enumerate() {
                if let Err(e) = ScopeSet::parse([scope.as_str()]) {
                    out.push(Located::new(
                        rp.key("scopes").index(k),
                        format!("{e} (SPEC RB-2)"),
                    ));
                }
            }
        }
        // A custom role named in any case, as every door names one (round 24 doors review).
        let role_exists = |name: &str| {
            BuiltinRole::parse(name).is_some()
                || folded_roles.contains(&name.trim().to_ascii_lowercase())
        };

        let mut members = HashSet::new();
        // Who a static group may name: members invited by this file, not those provisioned
        // through SSO (their group memberships are the IdP's): one named applied once, then
        // every later apply of the same file failed on a raw storage error (round 19
        // identity review); the export lists invited members only too.
        let mut invited = HashSet::new();
        let mut owners = 0;
        for (j, m) in ws.members.iter().enumerate() {
            let mp = at.key("members").index(j);
            match Email::parse(&m.email) {
                Ok(email) if !members.insert(email.clone()) => out.push(Located::new(
                    mp.key("email"),
                    format!("{email} is listed twice (emails compare case-insensitively)"),
                )),
                Ok(email) => {
                    if !m.sso {
                        invited.insert(email);
                    }
                }
                Err(e) => out.push(Located::new(mp.key("email"), e)),
            }
            if !role_exists(&m.role) {
                out.push(Located::new(
                    mp.key("role"),
                    format!(
                        "there is no role `{}` in workspace `{}` (declare it under custom_roles)",
                        crate::text::clip(&m.role),
                        crate::text::clip(&ws.name)
                    ),
                ));
            }
            if BuiltinRole::parse(&m.role) == Some(BuiltinRole::Owner) {
                owners += 1;
            } else if m.sso {
                // Only Owners are carried as SSO members (see `MemberSpec::sso`).
                out.push(Located::new(
                    mp.key("sso"),
                    "only an Owner is listed as provisioned through SSO; invite other members or leave them to SSO".to_owned(),
                ));
            }
            if m.sso && m.break_glass {
                out.push(Located::new(
                    mp.key("break_glass"),
                    "break-glass is for invited members; an SSO-provisioned member cannot be one (SPEC SSO-4)".to_owned(),
                ));
            }
        }
        if owners == 0 {
            out.push(Located::new(
                at.key("members"),
                format!(
                    "workspace `{}` needs at least one owner (SPEC UA-3)",
                    ws.name
                ),
            ));
        }

        let mut groups = HashSet::new();
        for (j, g) in ws.groups.iter().enumerate() {
            let gp = at.key("groups").index(j);
            let caps = [
                ("name", "a group name", g.name.as_str(), MAX_NAME_CHARS),
                (
                    "description",
                    "a group description",
                    g.description.as_str(),
                    MAX_DESCRIPTION_CHARS,
                ),
                (
                    "claim_value",
                    "a claim value",
                    g.claim_value.as_deref().unwrap_or_default(),
                    MAX_CLAIM_CHARS,
                ),
            ];
            for (key, what, value, max) in caps {
                if let Err(e) = check_len(what, value, max) {
                    out.push(Located::new(gp.key(key), e));
                }
            }
            if let Some(why) = g.claim_value.as_deref().and_then(claim_value_refusal) {
                out.push(Located::new(gp.key("claim_value"), why));
            }
            if let Err(e) = check_name("a group name", &g.name, MAX_NAME_CHARS)
                && !g.name.trim().is_empty()
                && check_len("a group name", &g.name, MAX_NAME_CHARS).is_ok()
            {
                out.push(Located::new(gp.key("name"), e));
            }
            if g.name.trim().is_empty() || !groups.insert(g.name.as_str()) {
                out.push(Located::new(
                    gp.key("name"),
                    format!(
                        "group `{}` is empty or declared twice (SPEC GR-1)",
                        crate::text::clip(&g.name)
                    ),
                ));
            }
            match g.kind {
                GroupKind::Dynamic => {
                    if ws.idps.is_empty() {
                        out.push(Located::new(
                            gp.key("type"),
                            format!(
                                "dynamic group `{}` needs an IdP in `idps` (SPEC GR-3)",
                                crate::text::clip(&g.name)
                            ),
                        ));
                    }
                    if !g.members.is_empty() {
                        out.push(Located::new(gp.key("members"), format!("dynamic group `{}` gets its members from SSO logins; it cannot list members (SPEC GR-3)", crate::text::clip(&g.name))));
                    }
                }
                GroupKind::Static => {
                    if g.claim_value.is_some() {
                        out.push(Located::new(
                            gp.key("claim_value"),
                            "only dynamic groups mirror an IdP group",
                        ));
                    }
                    for (k, email) in g.members.iter().enumerate() {
                        let parsed = Email::parse(email).ok();
                        let why = match &parsed {
                            Some(e) if invited.contains(e) => continue,
                            Some(e) if members.contains(e) => {
                                "is listed as provisioned through SSO; a file's static groups name invited members only"
                            }
                            _ => {
                                "is not a member of this workspace; only members can join its groups (SPEC GR-2)"
                            }
                        };
                        out.push(Located::new(
                            gp.key("members").index(k),
                            format!(
                                "{} {why} (`{}`)",
                                crate::text::clip(email),
                                crate::text::clip(&ws.name)
                            ),
                        ));
                    }
                }
            }
        }

        for (j, r) in ws.claim_rules.iter().enumerate() {
            let rp = at.key("claim_rules").index(j);
            for (key, what, value) in [
                ("claim", "a claim name", &r.claim),
                ("value", "a claim value", &r.value),
            ] {
                if let Err(e) = check_len(what, value, MAX_CLAIM_CHARS) {
                    out.push(Located::new(rp.key(key), e));
                }
            }
            // The same checks as `sso rules add` (SPEC SSO-2).
            if let Err(e) = ClaimRule::new(&r.claim, &r.value, &r.role) {
                out.push(Located::new(rp.clone(), e));
            }
            if !is_external(&r.role) && !role_exists(&r.role) {
                out.push(Located::new(
                    rp.key("role"),
                    format!(
                        "there is no role `{}` in workspace `{}` (or use `external`)",
                        crate::text::clip(&r.role),
                        crate::text::clip(&ws.name)
                    ),
                ));
            }
        }
    }
    out
}
