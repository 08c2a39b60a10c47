//! SSO: trusted IdPs, ranked claim-mapping rules (first match wins), SSO-only enforcement, and
//! logins that provision, re-role or lock out identities (SPEC SSO-1..5, GR-3).

use serde::Serialize;
use serde_json::json;

use crate::Error;
use crate::access::{RoleName, Scope, Source};
use crate::audit::{self, Actor};
use crate::platform::Platform;
use crate::principal::{Email, Principal};
use crate::store::{Connection, Transaction};

pub use super::model::ClaimRule;
use super::store::{self, SsoLogin};
use super::{ensure_user, existing_role, member_role, other_usable_owners, user_id, workspace_id};

pub(crate) use super::store::{rules, store_rules};

/// The role name that admits an identity as an external SSO identity (SPEC ID-3), not a member.
pub const EXTERNAL: &str = "external";

/// Whether a claim rule's `role` names [`EXTERNAL`], in any case and spacing, as every role
/// name is read (round 25 identity review: `External` was refused at every door, and
/// `external ` taken by one and refused by the other).
pub(crate) fn is_external(role: &str) -> bool {
    role.trim().eq_ignore_ascii_case(EXTERNAL)
}

impl ClaimRule {
    /// A rule as written by a person (CLI, tenant file), checked and normalized the same way
    /// for every door: claim name and value trimmed, a value that is an email normalized like
    /// every email (SPEC SSO-2, ID-2). An empty claim name or value is an error.
    pub fn new(claim: &str, value: &str, role: &str) -> Result<ClaimRule, String> {
        let (claim, value) = (claim.trim(), value.trim());
        if claim.is_empty() || value.is_empty() {
            return Err("a claim rule needs a claim name and a value".into());
        }
        // No IdP sends a name or value holding an invisible character: such a rule matches
        // nothing, and a returning member lost their role and keys unseen (round 17
        // hostile-input review).
        for (what, text) in [("claim name", claim), ("claim value", value)] {
            if let Some(c) = crate::text::first_hidden(text) {
                return Err(format!(
                    "a claim rule's {what} `{}` holds U+{:04X}, an invisible character no IdP \
                     sends",
                    crate::text::written_out(text, crate::text::is_hidden_at),
                    u32::from(c)
                ));
            }
        }
        let value = match Email::parse(value) {
            Ok(email) => email.to_string(),
            Err(_) => value.to_owned(),
        };
        Ok(ClaimRule {
            rank: 0,
            claim: claim.to_owned(),
            value,
            // As the role it names is read (`RoleName::parse` trims): stored as typed, a rule
            // for `"tier2 "` held role `tier2` unseen by the checks of who holds a role, so a
            // people-admin could delete and recreate it wider (authority review, RB-4).
            role: role.trim().to_owned(),
        })
    }

    /// Whether the claims carry `claim` = `value` (or a list containing `value`).
    pub fn matches(&self, claims: &serde_json::Value) -> bool {
        claimed_values(&claims[self.claim.trim()])
            .iter()
            .any(|s| same_value(&self.value, s))
    }
}

/// The values a claim presents, as text: a text as it is, a boolean or a number as JSON
/// writes it, each item of a list so. Rules and groups hold text, and an IdP sends `true`
/// or `1001` as often as `"true"`: read as no value, a returning member was removed, their
/// personal keys with them, saying nothing of why (round 16 hostile-input review).
fn claimed_values(claim: &serde_json::Value) -> Vec<std::borrow::Cow<'_, str>> {
    match claim {
        serde_json::Value::Array(items) => items.iter().filter_map(claimed_value).collect(),
        other => claimed_value(other).into_iter().collect(),
    }
}

/// One presented claim value as text ([`claimed_values`]); `None` for what holds no value.
fn claimed_value(v: &serde_json::Value) -> Option<std::borrow::Cow<'_, str>> {
    use serde_json::Value;
    match v {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
        // A whole number sent as a float by its integer: `3.0` read as "3.0" matched no rule
        // `3`, and a returning member lost their role and keys (round 18 hostile-input
        // review). Within 2^53, where a float holds every integer exactly.
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64()?;
            let whole = f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0;
            Some(std::borrow::Cow::Owned(if whole {
                format!("{}", f as i64)
            } else {
                v.to_string()
            }))
        }
        Value::Bool(_) | Value::Number(_) => Some(std::borrow::Cow::Owned(v.to_string())),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A rule value against a presented claim value: trimmed; emails compare as emails
/// (case-insensitively), so a claim `Olivia@Acme.test ` matches the rule `olivia@acme.test`;
/// other text as it reads, in Unicode's composed form (NFC): an IdP fed from a directory
/// that stores `Sécurité` decomposed matched no rule written composed, and a returning member
/// lost their role and keys unseen (round 30 hostile-input review).
fn same_value(rule: &str, claimed: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let (rule, claimed) = (rule.trim(), claimed.trim());
    match (Email::parse(rule), Email::parse(claimed)) {
        (Ok(a), Ok(b)) => a == b,
        _ => rule == claimed || rule.nfc().eq(claimed.nfc()),
    }
}

/// The first rule, in rank order, that the claims match (SPEC SSO-2).
pub fn first_match<'a>(
    rules: &'a [ClaimRule],
    claims: &serde_json::Value,
) -> Option<&'a ClaimRule> {
    rules.iter().find(|r| r.matches(claims))
}

/// What one SSO login did in one workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoginResult {
    pub workspace: String,
    /// `member`, `external` or `denied`.
    pub outcome: String,
    /// The matching rule's rank, if any.
    pub rule: Option<u32>,
    /// The role held after the login, if a member.
    pub role: Option<String>,
    /// What changed, for the person reading it.
    pub changes: Vec<String>,
}

/// A rule's role must be `external` or a role of the workspace; the role as it is stored (a
/// custom one's spelling, a built-in's name), which the rule is stored with.
pub(crate) fn check_rule_role(
    conn: &Connection,
    ws: i64,
    ws_name: &str,
    role: &str,
) -> Result<String, Error> {
    if is_external(role) {
        return Ok(EXTERNAL.to_owned());
    }
    existing_role(conn, ws, ws_name, role)
        .map(|r| r.to_string())
        .map_err(|e| match e {
            Error::Invalid(why) => Error::Invalid(format!("{why}; or `{EXTERNAL}`")),
            other => other,
        })
}

fn rank_error(rank: u32, len: usize) -> Error {
    Error::Invalid(format!(
        "rank {rank} is out of range: the workspace has {len} rule(s), ranked from 1"
    ))
}

impl Platform {
    /// Adds a rule at `rank` (default: last), moving later rules down.
    pub(crate) fn add_claim_rule(
        &self,
        actor: &Principal,
        workspace: &str,
        rule: ClaimRule,
        rank: Option<u32>,
    ) -> Result<u32, Error> {
        for (what, value) in [
            ("a claim name", &rule.claim),
            ("a claim value", &rule.value),
        ] {
            crate::text::check_len(what, value, crate::text::MAX_CLAIM_CHARS)
                .map_err(Error::Invalid)?;
        }
        // The same checks as a tenant file's rules (SPEC SSO-2).
        let rule = ClaimRule::new(&rule.claim, &rule.value, &rule.role).map_err(Error::Invalid)?;
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            let ws = workspace_id(tx, workspace)?;
            // Who may not configure SSO learns nothing of which roles exist (round 20
            // authority review: the role was looked up first).
            self.may_configure_sso(actor, workspace)?;
            let rule = ClaimRule {
                role: check_rule_role(tx, ws, workspace, &rule.role)?,
                ..rule.clone()
            };
            let mut list = rules(tx, ws)?;
            let at = rank.unwrap_or(list.len() as u32 + 1);
            if at == 0 || at as usize > list.len() + 1 {
                return Err(rank_error(at, list.len()));
            }
            list.insert(at as usize - 1, rule.clone());
            store_rules(tx, ws, &list)?;
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "sso.rule.add",
                &format!("rank {at}"),
                json!({ "claim": rule.claim, "value": rule.value, "role": rule.role }),
            )?;
            Ok(at)
        })
    }

    /// Moves the rule at rank `from` to rank `to` (SPEC SSO-2: re-ranking moves one rule).
    pub(crate) fn move_claim_rule(
        &self,
        actor: &Principal,
        workspace: &str,
        from: u32,
        to: u32,
    ) -> Result<(), Error> {
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            self.may_configure_sso(actor, workspace)?;
            let ws = workspace_id(tx, workspace)?;
            let mut list = rules(tx, ws)?;
            for r in [from, to] {
                if r == 0 || r as usize > list.len() {
                    return Err(rank_error(r, list.len()));
                }
            }
            if from == to {
                return Ok(());
            }
            let rule = list.remove(from as usize - 1);
            list.insert(to as usize - 1, rule.clone());
            store_rules(tx, ws, &list)?;
            audit::record(tx, &Actor::Principal(actor), workspace, "sso.rule.move", &format!("rank {from}"),
                json!({ "before": from, "after": to, "claim": rule.claim, "value": rule.value, "role": rule.role }))
        })
    }

    /// Deletes the rule at `rank`, moving later rules up.
    pub(crate) fn delete_claim_rule(
        &self,
        actor: &Principal,
        workspace: &str,
        rank: u32,
    ) -> Result<(), Error> {
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            self.may_configure_sso(actor, workspace)?;
            let ws = workspace_id(tx, workspace)?;
            let mut list = rules(tx, ws)?;
            if rank == 0 || rank as usize > list.len() {
                return Err(rank_error(rank, list.len()));
            }
            let rule = list.remove(rank as usize - 1);
            store_rules(tx, ws, &list)?;
            super::keeps_a_usable_owner(tx, ws, workspace)?;
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "sso.rule.delete",
                &format!("rank {rank}"),
                json!({ "claim": rule.claim, "value": rule.value, "role": rule.role }),
            )
        })
    }

    /// The rules in rank order; needs `user.read`.
    pub(crate) fn list_claim_rules(
        &self,
        actor: &Principal,
        workspace: &str,
    ) -> Result<Vec<ClaimRule>, Error> {
        self.authorize(actor, workspace, Scope::UserRead)?;
        let db = self.db()?;
        let ws = workspace_id(db.conn(), workspace)?;
        rules(db.conn(), ws)
    }

    /// Turns SSO-only sign-in on or off (SPEC SSO-4).
    pub(crate) fn set_sso_only(
        &self,
        actor: &Principal,
        workspace: &str,
        on: bool,
    ) -> Result<(), Error> {
        self.write_as(actor, workspace, Scope::UserWrite, |tx| {
            self.may_configure_sso(actor, workspace)?;
            let ws = workspace_id(tx, workspace)?;
            if !store::set_sso_only(tx, ws, on)? {
                return Ok(());
            }
            if on {
                super::keeps_a_usable_owner(tx, ws, workspace)?;
                store::end_local_sessions_under_sso_only(tx, ws)?;
            }
            audit::record(
                tx,
                &Actor::Principal(actor),
                workspace,
                "sso.enforce",
                workspace,
                json!({ "before": !on, "after": on }),
            )
        })
    }

    /// An SSO login: `claims` (with an `email` claim) presented by IdP `idp`, applied to every
    /// workspace that trusts it. Returns what happened in each.
    pub(crate) fn sso_login(
        &self,
        idp: &str,
        claims: &serde_json::Value,
    ) -> Result<Vec<LoginResult>, Error> {
        let email = checked_claims(claims)?;
        self.write(|tx| {
            let workspaces = store::workspaces_trusting(tx, idp)?;
            if workspaces.is_empty() {
                return Err(Error::NotFound(format!("no workspace trusts IdP `{idp}`")));
            }
            workspaces
                .into_iter()
                .map(|(ws, name)| login_in_workspace(tx, ws, &name, idp, &email, claims))
                .collect()
        })
    }

    /// An SSO login applied to `workspace` alone: the browser's OIDC sign-in, whose token was
    /// verified with that workspace's settings of IdP `idp` (another workspace trusting an
    /// IdP of the same name may have configured another issuer, so it is not vouched for).
    pub(crate) fn sso_login_in(
        &self,
        workspace: &str,
        idp: &str,
        claims: &serde_json::Value,
    ) -> Result<LoginResult, Error> {
        let email = checked_claims(claims)?;
        self.write(|tx| {
            let ws = super::workspace_id(tx, workspace)?;
            if !store::trusts_idp(tx, ws, idp)? {
                return Err(Error::NotFound(format!(
                    "`{workspace}` does not trust IdP `{idp}`"
                )));
            }
            login_in_workspace(tx, ws, workspace, idp, &email, claims)
        })
    }
}

/// The presented claims checked (an object, with an `email`, within the documented caps);
/// the email they name.
fn checked_claims(claims: &serde_json::Value) -> Result<Email, Error> {
    let raw = claims["email"]
        .as_str()
        .ok_or_else(|| Error::Invalid("the claims need an `email` string".into()))?;
    let email = Email::parse(raw).map_err(Error::Invalid)?;
    if !claims.is_object() {
        return Err(Error::Invalid("claims must be a JSON object".into()));
    }
    // Documented caps on presented claims (crate::text, issue 13 item 8).
    for (name, value) in claims.as_object().into_iter().flatten() {
        crate::text::check_len("a claim name", name, crate::text::MAX_CLAIM_CHARS)
            .map_err(Error::Invalid)?;
        let values: Vec<&serde_json::Value> = match value {
            serde_json::Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for v in values.into_iter().filter_map(serde_json::Value::as_str) {
            crate::text::check_len(
                &format!("claim `{}`", crate::text::clip(name)),
                v,
                crate::text::MAX_CLAIM_CHARS,
            )
            .map_err(Error::Invalid)?;
        }
    }
    Ok(email)
}

/// `claims` as the claim rules and dynamic groups of a workspace read them: the IdP's groups
/// claim as this workspace's OIDC settings of it name it (`groups_claim`) presented as
/// `groups` too (and a `groups` claim of another name dropped), at every door: the browser's
/// sign-in renamed it and `sso login` did not, so a rule matched at one door and never at the
/// other, and a returning member lost their role and keys (round 23 identity review). The
/// claim keeps its own name as well: a rule written on it before (or for another IdP of the
/// workspace that sends that claim as it is) matches as it did (round 24 review: refusing
/// such rules stranded those stored, and their members were removed at their next sign-in).
pub(crate) fn presented_groups<'a>(
    claims: &'a serde_json::Value,
    groups_claim: &str,
) -> std::borrow::Cow<'a, serde_json::Value> {
    if groups_claim == "groups" || !claims.is_object() {
        return std::borrow::Cow::Borrowed(claims);
    }
    let mut claims = claims.clone();
    if let Some(map) = claims.as_object_mut() {
        match map.get(groups_claim).cloned() {
            Some(groups) => map.insert("groups".to_owned(), groups),
            None => map.remove("groups"),
        };
    }
    std::borrow::Cow::Owned(claims)
}

fn login_in_workspace(
    tx: &Transaction<'_>,
    ws: i64,
    workspace: &str,
    idp: &str,
    email: &Email,
    claims: &serde_json::Value,
) -> Result<LoginResult, Error> {
    let client = store::oidc_client(tx, ws, idp)?;
    let presented = match &client {
        Some(client) => presented_groups(claims, &client.settings.groups_claim),
        None => std::borrow::Cow::Borrowed(claims),
    };
    let claims = &*presented;
    let list = rules(tx, ws)?;
    let matched = first_match(&list, claims).cloned();
    let user = user_id(tx, email)?;
    // A person an IdP names for the first time enters as an invited address does: what a
    // mail client or a link brings along (`<a@b.test>`, `a@b.test;`) made a person no one
    // could invite, find or grant otherwise (round 21; round 20 refused it at invitations).
    // One known before signs in as they are: a person, or an identity whose earlier login
    // this workspace recorded (an external one has no person; refused, its stale outcome
    // could never be replaced, even by a denial: round 22 identity review).
    if user.is_none() && store::sso_outcome(tx, ws, email)?.is_none() {
        Email::parse_new(email.as_str())
            .map_err(|e| Error::Invalid(format!("the IdP's `email` claim: {e}")))?;
    }
    let current = match user {
        Some(u) => membership(tx, ws, u)?,
        None => None,
    };
    let mut changes = Vec::new();
    let mut role_after = None;
    let outcome = match &matched {
        Some(rule) if !is_external(&rule.role) => {
            let role = RoleName::parse(&rule.role);
            let user = ensure_user(tx, email)?;
            match &current {
                None => {
                    store::insert_sso_member(tx, ws, user, role.as_str(), rule.rank)?;
                    changes.push(format!(
                        "provisioned with role `{role}` by rule {}",
                        rule.rank
                    ));
                }
                // An invitation is an Owner's decision (SPEC UA-1): a login records its
                // outcome beside it (below) and leaves the invited role and break-glass alone.
                Some((old, Source::Invite)) => {
                    if *old != role {
                        changes.push(format!(
                            "kept invited role `{old}` (rule {} maps to `{role}`)",
                            rule.rank
                        ));
                    }
                }
                Some((old, Source::Sso))
                    if *old != role
                        && old.is_owner()
                        && other_usable_owners(tx, ws, user)? == 0 =>
                {
                    changes.push(format!(
                        "kept role `{old}`: last Owner of the workspace who can act (SPEC UA-3)"
                    ));
                }
                Some((old, Source::Sso)) => {
                    store::set_sso_member_role(tx, ws, user, role.as_str(), rule.rank)?;
                    if *old != role {
                        changes.push(format!("role `{old}` → `{role}` by rule {}", rule.rank));
                    }
                }
            }
            role_after = member_role(tx, ws, user)?.map(|r| r.to_string());
            changes.extend(sync_dynamic_groups(tx, ws, user, claims)?);
            "member"
        }
        _ => {
            // No match (locked out) or admitted as external: no workspace role either way.
            if let (Some(user), Some((old, source))) = (user, &current) {
                match source {
                    // The invitation stays; the outcome recorded below shuts them out while
                    // it is a denial (SPEC SSO-5), and a later admitting login lets them in.
                    Source::Invite => {
                        role_after = Some(old.to_string());
                        changes.push(format!(
                            "kept invited role `{old}`; no access through this login"
                        ));
                    }
                    // Kept, not removed (SPEC UA-3), but shut out by this outcome like any
                    // denied identity (SPEC SSO-5): told so, not as one who can act (round 23
                    // authority review).
                    Source::Sso if old.is_owner() && other_usable_owners(tx, ws, user)? == 0 => {
                        role_after = Some(old.to_string());
                        changes.push(format!(
                            "kept role `{old}` as the workspace's last Owner (SPEC UA-3), but \
                             without access through this login (SPEC SSO-5) until a login \
                             admits them again: no Owner can act here meanwhile"
                        ));
                    }
                    Source::Sso => {
                        // What went with the membership is told, as `users delete` tells it
                        // (SPEC UA-4; round 26 identity review).
                        let (groups, keys) = super::users::remove_member(tx, ws, user, email)?;
                        changes.push(format!(
                            "lost role `{old}`, left {groups} group(s), {keys} personal key(s) \
                             deleted"
                        ));
                    }
                }
                changes.extend(sync_dynamic_groups(tx, ws, user, &serde_json::Value::Null)?);
            }
            if matched.is_some() {
                "external"
            } else {
                "denied"
            }
        }
    };
    let rank = matched.as_ref().map(|r| r.rank);
    let existing = store::sso_outcome(tx, ws, email)?;
    store::record_sso_login(
        tx,
        &SsoLogin {
            ws,
            email,
            idp,
            outcome,
            rank,
            claims,
        },
    )?;
    if existing.as_deref() != Some(outcome) {
        changes.push(format!("SSO outcome: {outcome}"));
    }
    // A login that lets a member shut out by an earlier one act again widens to them the
    // restricted cases naming them, as inviting them again does (`store::sight`): shut out,
    // they saw nothing of those cases, and they were shown it all "as read" on their return
    // (round 29 leak review). Shut out: denied, or admitted as external keeping an SSO
    // membership (its last Owner); acting: a member, or external beside an invitation.
    let shut_out = |outcome: &str, source: Option<Source>| {
        outcome == "denied" || (outcome == "external" && source == Some(Source::Sso))
    };
    if let Some(before) = existing.as_deref()
        && shut_out(before, current.as_ref().map(|(_, s)| *s))
        && let Some(user) = user_id(tx, email)?
        && let Some((role, source)) = membership(tx, ws, user)?
        && !shut_out(outcome, Some(source))
    {
        store::widen_if_reading_now(tx, ws, user, None, role.as_str())?;
    }
    audit::record(
        tx,
        &Actor::Sso(email.as_str()),
        workspace,
        "sso.login",
        email.as_str(),
        json!({ "idp": idp, "outcome": outcome, "rule": rank, "changes": changes }),
    )?;
    Ok(LoginResult {
        workspace: workspace.to_owned(),
        outcome: outcome.to_owned(),
        rule: rank,
        role: role_after,
        changes,
    })
}

/// The role and source of user `user`'s membership of `ws`, if a member.
fn membership(conn: &Connection, ws: i64, user: i64) -> Result<Option<(RoleName, Source)>, Error> {
    store::membership(conn, ws, user)?
        .map(|(role, source)| {
            let source = match source.as_str() {
                "invite" => Source::Invite,
                "sso" => Source::Sso,
                // Never read a stored value back as a default (a corrupt row is an error).
                other => {
                    return Err(Error::Internal(format!(
                        "membership source `{other}` is neither `invite` nor `sso`"
                    )));
                }
            };
            Ok((RoleName::parse(&role), source))
        })
        .transpose()
}

/// Makes the user's dynamic-group memberships in `ws` mirror the `groups` claim (SPEC GR-3).
fn sync_dynamic_groups(
    tx: &Connection,
    ws: i64,
    user: i64,
    claims: &serde_json::Value,
) -> Result<Vec<String>, Error> {
    let claimed = claimed_values(&claims["groups"]);
    let groups = store::dynamic_groups(tx, ws)?;
    let mut changes = Vec::new();
    for (id, name, claim_value) in groups {
        // Compared as claim rules compare (trimmed): a group `soc-admins ` an IdP sent, or a
        // rule written with a space, matched the rule and never the group (review).
        let wanted = claimed.iter().any(|c| same_value(&claim_value, c));
        let changed = if wanted {
            store::join_group(tx, id, user)?
        } else {
            store::leave_group(tx, id, user)?
        };
        if changed {
            changes.push(format!(
                "{} dynamic group `{name}`",
                if wanted { "joined" } else { "left" }
            ));
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_groups_claim_is_presented_as_groups() {
        use serde_json::json;
        let claims = json!({"email": "a@b.test", "roles": ["x"], "groups": ["forged"]});
        let shown = presented_groups(&claims, "roles");
        assert_eq!(
            *shown,
            json!({"email": "a@b.test", "roles": ["x"], "groups": ["x"]})
        );
        let forged = json!({"groups": ["forged"]});
        let missing = presented_groups(&forged, "roles");
        assert_eq!(*missing, json!({}), "a forged `groups` counts for nothing");
        let plain = json!({"groups": ["g"]});
        let same = presented_groups(&plain, "groups");
        assert!(matches!(same, std::borrow::Cow::Borrowed(_)), "not copied");
        assert_eq!(*same, plain);
    }

    #[test]
    fn claim_values_compare_trimmed_and_emails_case_insensitively() {
        assert!(same_value("olivia@acme.test", " Olivia@ACME.test "));
        assert!(same_value("Olivia@Acme.test", "olivia@acme.test"));
        assert!(same_value("soc-admins", " soc-admins"));
        // Other values keep their case: group names are the IdP's to define.
        assert!(!same_value("soc-admins", "SOC-Admins"));
        assert!(!same_value("olivia@acme.test", "olivia@acme.test.evil"));
    }

    /// A boolean or a number an IdP sends matches the rule written as its text, in a list
    /// too; what is no value (null, an object) matches nothing (round 16 hostile-input
    /// review: `true` never matched `soc_admin = true`, and the member was removed).
    #[test]
    fn a_claim_sent_as_a_boolean_or_number_matches_its_text() {
        let rule =
            |claim: &str, value: &str| ClaimRule::new(claim, value, "operator").expect("valid");
        let claims = serde_json::json!({
            "soc_admin": true, "tier": 3, "groups": [1001, "soc"], "off": false,
            "nothing": null, "object": { "a": 1 }
        });
        assert!(rule("soc_admin", "true").matches(&claims));
        assert!(rule("tier", "3").matches(&claims));
        assert!(rule("groups", "1001").matches(&claims));
        assert!(rule("groups", "soc").matches(&claims));
        assert!(!rule("off", "true").matches(&claims));
        assert!(!rule("tier", "4").matches(&claims));
        assert!(!rule("nothing", "null").matches(&claims));
        assert!(!rule("object", "{\"a\":1}").matches(&claims));
        assert_eq!(claimed_values(&claims["groups"]), ["1001", "soc"]);
        // A whole number sent as a float is its integer (round 18); a fraction stays one.
        let floats = serde_json::json!({ "tier": 3.0, "groups": [1e3], "ratio": 2.5 });
        assert!(rule("tier", "3").matches(&floats));
        assert!(rule("groups", "1000").matches(&floats));
        assert!(rule("ratio", "2.5").matches(&floats));
        assert!(!rule("ratio", "2").matches(&floats));
    }

    #[test]
    fn a_rule_is_normalized_once_for_every_door() {
        let rule = ClaimRule::new(" email ", " Olivia@Acme.TEST ", " tier2 ").expect("valid");
        assert_eq!(
            (rule.claim.as_str(), rule.value.as_str(), rule.role.as_str()),
            ("email", "olivia@acme.test", "tier2")
        );
        for (claim, value) in [("", "x"), ("  ", "x"), ("groups", ""), ("groups", " \t ")] {
            let err = ClaimRule::new(claim, value, "viewer").expect_err("empty");
            assert!(err.contains("needs a claim name and a value"), "{err}");
        }
    }
}
