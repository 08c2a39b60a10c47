//! The in-memory access index: every decision is answered from here, without a query.
//! It is rebuilt from the database after each committed change (and at start-up).

use std::collections::HashMap;

use rusqlite::Connection;

use crate::clock;
use crate::principal::{Email, Principal, SignIn};

use super::decision::{AccessDecision, Reason};
use super::role::RoleName;
use super::scope::{Scope, ScopeSet};

/// How a membership came to be (SPEC ID-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Invited by an Owner (or declared in a tenant file).
    Invite,
    /// Provisioned by an SSO claim rule.
    Sso,
}

/// The latest SSO login outcome of an identity in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsoOutcome {
    /// A claim rule gave a workspace role.
    Member,
    /// A claim rule admitted the identity as external (SPEC ID-3).
    External,
    /// No rule matched (SPEC SSO-3, SSO-5).
    Denied,
}

/// A member's access in one workspace.
#[derive(Clone, Debug)]
pub struct Member {
    pub role: RoleName,
    /// The role's scopes, resolved when the index was built; `None` if the role is gone.
    pub scopes: Option<ScopeSet>,
    pub source: Source,
    /// The claim rule that produced an SSO membership.
    pub rule_rank: Option<u32>,
    pub break_glass: bool,
}

/// One workspace's access data.
#[derive(Clone, Debug, Default)]
pub struct WorkspaceAccess {
    pub id: i64,
    pub org: String,
    pub sso_only: bool,
    pub members: HashMap<String, Member>,
    pub custom_roles: HashMap<String, ScopeSet>,
    pub sso: HashMap<String, SsoOutcome>,
}

impl WorkspaceAccess {
    /// The scopes of `role` here, if it exists.
    pub fn role_scopes(&self, role: &RoleName) -> Option<ScopeSet> {
        match role {
            RoleName::Builtin(b) => Some(b.scopes()),
            RoleName::Custom(name) => self.custom_roles.get(&**name).copied(),
        }
    }

    /// Members holding the built-in Owner role.
    pub fn owner_count(&self) -> usize {
        self.members.values().filter(|m| m.role.is_owner()).count()
    }
}

/// What kind of key, and what it acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Acts with its owner's current role (SPEC RB-4).
    Personal { owner: Email },
    /// Carries a role chosen by an Owner at creation.
    Service { role: RoleName },
}

/// An API key's access data.
#[derive(Clone, Debug)]
pub struct KeyAccess {
    pub workspace: String,
    pub kind: KeyKind,
    pub expires_at: Option<i64>,
    pub revoked: bool,
}

/// Every workspace and key, keyed for O(1) decisions.
#[derive(Clone, Debug, Default)]
pub struct AccessIndex {
    workspaces: HashMap<String, WorkspaceAccess>,
    keys: HashMap<String, KeyAccess>,
}

impl AccessIndex {
    /// Builds the index from the database.
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let mut index = AccessIndex::default();
        let mut by_id: HashMap<i64, String> = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT w.id, w.name, o.name, w.sso_only FROM workspaces w JOIN organizations o ON o.id = w.org_id",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))? {
            let (id, name, org, sso_only): (i64, String, String, bool) = row?;
            by_id.insert(id, name.clone());
            let ws = WorkspaceAccess {
                id,
                org,
                sso_only,
                ..WorkspaceAccess::default()
            };
            index.workspaces.insert(name, ws);
        }

        let mut stmt = conn.prepare("SELECT workspace_id, name, scopes FROM custom_roles")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            let (ws_id, name, scopes): (i64, String, String) = row?;
            let scopes = ScopeSet::parse(scopes.split_whitespace()).unwrap_or_default();
            if let Some(ws) = ws_mut(&mut index.workspaces, &by_id, ws_id) {
                ws.custom_roles.insert(name, scopes);
            }
        }

        let mut stmt = conn.prepare(
            "SELECT m.workspace_id, u.email, m.role, m.source, m.rule_rank, m.break_glass
             FROM memberships m JOIN users u ON u.id = m.user_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        for row in rows {
            let (ws_id, email, role, source, rule_rank, break_glass): (
                i64,
                String,
                String,
                String,
                Option<u32>,
                bool,
            ) = row?;
            if let Some(ws) = ws_mut(&mut index.workspaces, &by_id, ws_id) {
                let role = RoleName::parse(&role);
                let member = Member {
                    scopes: ws.role_scopes(&role),
                    role,
                    source: if source == "sso" {
                        Source::Sso
                    } else {
                        Source::Invite
                    },
                    rule_rank,
                    break_glass,
                };
                ws.members.insert(email, member);
            }
        }

        let mut stmt = conn.prepare("SELECT workspace_id, email, outcome FROM sso_identities")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            let (ws_id, email, outcome): (i64, String, String) = row?;
            let outcome = match outcome.as_str() {
                "member" => SsoOutcome::Member,
                "external" => SsoOutcome::External,
                _ => SsoOutcome::Denied,
            };
            if let Some(ws) = ws_mut(&mut index.workspaces, &by_id, ws_id) {
                ws.sso.insert(email, outcome);
            }
        }

        let mut stmt = conn.prepare(
            "SELECT id, workspace_id, kind, owner_email, role, expires_at, revoked_at FROM api_keys",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?;
        for row in rows {
            let (id, ws_id, kind, owner, role, expires_at, revoked_at): (
                String,
                i64,
                String,
                Option<String>,
                Option<String>,
                Option<i64>,
                Option<i64>,
            ) = row?;
            let Some(workspace) = by_id.get(&ws_id).cloned() else {
                continue;
            };
            let kind = match (kind.as_str(), owner, role) {
                ("personal", Some(owner), _) => match Email::parse(&owner) {
                    Ok(owner) => KeyKind::Personal { owner },
                    Err(_) => continue,
                },
                (_, _, Some(role)) => KeyKind::Service {
                    role: RoleName::parse(&role),
                },
                _ => continue,
            };
            let key = KeyAccess {
                workspace,
                kind,
                expires_at,
                revoked: revoked_at.is_some(),
            };
            index.keys.insert(id, key);
        }
        Ok(index)
    }

    /// The workspace named `name`.
    pub fn workspace(&self, name: &str) -> Option<&WorkspaceAccess> {
        self.workspaces.get(name)
    }

    /// Every workspace name.
    pub fn workspace_names(&self) -> impl Iterator<Item = &str> {
        self.workspaces.keys().map(String::as_str)
    }

    /// The key `id`.
    pub fn key(&self, id: &str) -> Option<&KeyAccess> {
        self.keys.get(id)
    }

    /// Does `principal` hold `scope` in `workspace`? (SPEC RB-3: default deny, with a reason.)
    pub fn check(&self, principal: &Principal, workspace: &str, scope: Scope) -> AccessDecision {
        let Some(ws) = self.workspaces.get(workspace) else {
            return AccessDecision::deny(Reason::UnknownWorkspace(workspace.to_owned()));
        };
        match principal {
            Principal::Anonymous => AccessDecision::deny(Reason::Anonymous),
            Principal::User { email, via } => match member_of(ws, workspace, email, *via) {
                Ok(member) => decide(member.role.clone(), member.scopes, scope, None),
                Err(reason) => AccessDecision::deny(reason),
            },
            Principal::ApiKey(id) => self.check_key(ws, workspace, id, scope),
        }
    }

    fn check_key(
        &self,
        ws: &WorkspaceAccess,
        workspace: &str,
        id: &str,
        scope: Scope,
    ) -> AccessDecision {
        let deny = AccessDecision::deny;
        let Some(key) = self.keys.get(id) else {
            return deny(Reason::UnknownKey(id.to_owned()));
        };
        if key.workspace != workspace {
            return deny(Reason::KeyOtherWorkspace {
                key: id.to_owned(),
                workspace: workspace.to_owned(),
            });
        }
        if key.revoked {
            return deny(Reason::KeyRevoked(id.to_owned()));
        }
        if key.expires_at.is_some_and(|t| clock::now_unix() >= t) {
            return deny(Reason::KeyExpired(id.to_owned()));
        }
        let (role, scopes, owner) = match &key.kind {
            KeyKind::Service { role } => (role.clone(), ws.role_scopes(role), None),
            KeyKind::Personal { owner } => {
                // The owner's *current* role; SSO-only applies to interactive sign-in, not keys.
                let member = match member_of(ws, workspace, owner, SignIn::Local) {
                    Ok(m) => Some(m),
                    Err(Reason::SsoOnly { .. }) => ws.members.get(owner.as_str()),
                    Err(_) => None,
                };
                let Some(member) = member else {
                    return deny(Reason::KeyOwnerGone {
                        key: id.to_owned(),
                        owner: owner.clone(),
                    });
                };
                (member.role.clone(), member.scopes, Some(owner.clone()))
            }
        };
        decide(role, scopes, scope, Some((id, owner)))
    }
}

fn ws_mut<'a>(
    workspaces: &'a mut HashMap<String, WorkspaceAccess>,
    by_id: &HashMap<i64, String>,
    id: i64,
) -> Option<&'a mut WorkspaceAccess> {
    by_id.get(&id).and_then(|name| workspaces.get_mut(name))
}

/// The membership through which `email`, signed in `via`, acts in `ws`, or why there is none.
pub fn member_of<'a>(
    ws: &'a WorkspaceAccess,
    workspace: &str,
    email: &Email,
    via: SignIn,
) -> Result<&'a Member, Reason> {
    let who = || (email.clone(), workspace.to_owned());
    let sso = ws.sso.get(email.as_str()).copied();
    if sso == Some(SsoOutcome::Denied) {
        let (email, workspace) = who();
        return Err(Reason::SsoDenied { email, workspace });
    }
    let Some(member) = ws.members.get(email.as_str()) else {
        let (email, workspace) = who();
        return Err(if sso == Some(SsoOutcome::External) {
            Reason::External { email, workspace }
        } else {
            Reason::NotMember { email, workspace }
        });
    };
    match via {
        SignIn::Local if ws.sso_only && !member.break_glass => {
            let (email, workspace) = who();
            Err(Reason::SsoOnly { email, workspace })
        }
        SignIn::Sso if sso != Some(SsoOutcome::Member) => {
            let (email, workspace) = who();
            Err(Reason::NoSsoLogin { email, workspace })
        }
        _ => Ok(member),
    }
}

fn decide(
    role: RoleName,
    scopes: Option<ScopeSet>,
    scope: Scope,
    key: Option<(&str, Option<Email>)>,
) -> AccessDecision {
    let Some(scopes) = scopes else {
        return AccessDecision::deny(Reason::RoleGone(role));
    };
    if !scopes.contains(scope) {
        return AccessDecision::deny(Reason::Missing { role, scope });
    }
    let reason = match key {
        None => Reason::Granted { role, scope },
        Some((key, owner)) => Reason::GrantedToKey {
            key: key.to_owned(),
            owner,
            role,
            scope,
        },
    };
    AccessDecision {
        allowed: true,
        reason,
    }
}
