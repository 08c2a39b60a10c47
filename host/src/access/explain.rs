//! `explain`: the whole path behind a decision (SPEC RB-3, beyond) — principal, workspace,
//! membership or key, the role and where it came from (invite, claim rule), groups.

use serde::Serialize;

use crate::clock;
use crate::principal::{Principal, SignIn};
use crate::store::access as stored;
use crate::store::{Connection, StoreError};
use crate::stored_value::UnreadableValue;

use super::index::{AccessIndex, KeyKind, Source};
use super::scope::Scope;
use super::{AccessDecision, Reason};

/// A decision and the facts that led to it, in order. The decision keeps its reason as data
/// until the door prints it; as JSON it reads `{"allowed", "reason", "path"}`.
#[derive(Clone, Debug)]
pub struct Explanation {
    pub decision: AccessDecision,
    pub path: Vec<String>,
}

impl Serialize for Explanation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Explanation", 3)?;
        out.serialize_field("allowed", &self.decision.allowed())?;
        out.serialize_field("reason", &self.decision.reason().to_string())?;
        out.serialize_field("path", &self.path)?;
        out.end()
    }
}

/// Explains the decision for `principal`, `workspace`, `scope` (a name, so that an unknown
/// scope is explained too). Only a principal with a standing in the workspace gets an
/// explanation ([`AccessIndex::may_ask`]); anyone else gets one denial, the same for every
/// workspace and scope. Stored access data that does not read is an error, not a shorter path.
pub fn explain(
    index: &AccessIndex,
    conn: &Connection,
    principal: &Principal,
    workspace: &str,
    scope: &str,
) -> Result<Explanation, StoreError> {
    let mut path = vec![format!("principal: {principal}")];
    // An outsider learns nothing of the workspace, not even whether it exists (SPEC ID-4).
    if let Err(outsider) = index.may_ask(principal, workspace) {
        path.push("decision: deny".into());
        return Ok(Explanation {
            decision: AccessDecision::deny(outsider),
            path,
        });
    }
    let decision = match Scope::parse(scope) {
        Some(s) => index.check(principal, workspace, s),
        // Quoted as every door quotes input (an 8 KB scope was echoed whole; door review).
        None => AccessDecision::deny(Reason::UnknownScope(crate::text::clip(scope).into_owned())),
    };
    // An outsider is told nothing about the workspace, not even that it exists or which
    // organization holds it (SPEC ID-4): the decision is asked again with a known scope, so
    // that an unknown scope does not hide the membership question.
    let standing = index.check(principal, workspace, Scope::PlaybookGet);
    if standing.reason().is_outsider() {
        return Ok(Explanation {
            decision: AccessDecision::deny(standing.into_reason()),
            path,
        });
    }
    if let Some(ws) = index.workspace(workspace) {
        path.push(format!(
            "workspace: `{workspace}` of organization `{}`{}",
            ws.org,
            if ws.sso_only {
                ", SSO-only sign-in enforced"
            } else {
                ""
            }
        ));
        let email = match principal {
            Principal::User { email, .. } => Some(email.clone()),
            Principal::ApiKey(id) => {
                if let Some(key) = index.key(id) {
                    let state = if key.revoked {
                        "revoked".to_owned()
                    } else {
                        key.expires_at.map_or("no expiry".into(), |t| {
                            format!("expires {}", clock::rfc3339(t))
                        })
                    };
                    match &key.kind {
                        KeyKind::Personal { owner } => {
                            path.push(format!("key `{id}`: personal, of workspace `{}`, {state}; acts with its owner's current role", key.workspace));
                            path.push(format!("key owner: {owner}"));
                            Some(owner.clone())
                        }
                        KeyKind::Service { role } => {
                            path.push(format!("key `{id}`: service key of workspace `{}` with role `{role}`, {state}", key.workspace));
                            None
                        }
                    }
                } else {
                    None
                }
            }
            Principal::Anonymous => None,
            Principal::Run(run) => {
                path.push(format!(
                    "a workflow run as {}, published by {}: it holds what both hold now (SPEC WF-10)",
                    run.identity, run.publisher
                ));
                None
            }
        };
        if let Some(email) = email {
            if let Some(outcome) = ws.sso.get(email.as_str()) {
                path.push(format!("latest SSO login outcome: {outcome:?}").to_lowercase());
            }
            match ws.members.get(email.as_str()) {
                Some(m) => {
                    let source = match (m.source, m.rule_rank) {
                        // The rule at that rank now, only if it still gives the role: rules
                        // re-ranked, added or deleted since the sign-in put another rule there
                        // (round 23 identity review; SPEC RB-3, the whole path).
                        // Its claim and value only to who may read the rules (`user.read`, as
                        // `sso rules list` asks): a rule can name another person's email
                        // (round 26 identity review).
                        (Source::Sso, Some(rank)) => match rule_text(conn, ws.id, rank)? {
                            Some((text, role)) if role.eq_ignore_ascii_case(m.role.as_str()) => {
                                if index.check(principal, workspace, Scope::UserRead).allowed() {
                                    format!("SSO claim rule {rank} ({text})")
                                } else {
                                    format!("SSO claim rule {rank}")
                                }
                            }
                            _ => format!(
                                "the SSO claim rule ranked {rank} at their last sign-in (the \
                                 rules changed since)"
                            ),
                        },
                        (Source::Sso, None) => "SSO".into(),
                        (Source::Invite, _) => "invitation".into(),
                    };
                    let kind = match &m.role {
                        super::RoleName::Builtin(_) => "built-in",
                        super::RoleName::Custom(_) => "custom",
                    };
                    path.push(format!(
                        "membership: role `{}` ({kind}) from {source}{}",
                        m.role,
                        if m.break_glass {
                            ", break-glass account"
                        } else {
                            ""
                        }
                    ));
                    if let Some(scopes) = m.scopes {
                        path.push(format!(
                            "role `{}` scopes: {}",
                            m.role,
                            scopes.names().join(", ")
                        ));
                    }
                    let groups = groups(conn, ws.id, email.as_str())?;
                    if !groups.is_empty() {
                        path.push(format!("groups: {}", groups.join(", ")));
                    }
                }
                None => path.push(format!("membership: {email} is not a member")),
            }
            if let Principal::User {
                via: SignIn::Sso, ..
            } = principal
            {
                path.push("signed in through SSO".into());
            }
        }
    } else {
        path.push(format!("workspace: `{workspace}` does not exist"));
    }
    path.push(format!(
        "decision: {}",
        if decision.allowed() { "allow" } else { "deny" }
    ));
    Ok(Explanation { decision, path })
}

/// The claim rule of rank `rank` and the role it gives, if there still is one (rules change
/// after logins); a failure to read it is an error, not a missing rule.
fn rule_text(
    conn: &Connection,
    ws: i64,
    rank: u32,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(stored::claim_rule(conn, ws, rank)?
        .map(|(claim, value, role)| (format!("{claim} = {value} → {role}"), role)))
}

/// The groups `email` is in, as `name (kind)`; a group whose kind is none the host writes is
/// an error naming it (never shown as if it were static).
fn groups(conn: &Connection, ws: i64, email: &str) -> Result<Vec<String>, StoreError> {
    stored::groups_of_member(conn, ws, email)?
        .into_iter()
        .map(|g| {
            if super::GroupKind::parse(&g.kind).is_err() {
                let row = format!("group {} ({})", g.id, g.name);
                let expected = "`static` or `dynamic`";
                return Err(
                    UnreadableValue::new("groups", "kind", row, &g.kind, expected).into_sql(2),
                );
            }
            Ok(format!("{} ({})", g.name, g.kind))
        })
        .collect()
}
